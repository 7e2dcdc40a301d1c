#include "core/control/auditlog.h"

#include "core/control/controlstate.h"

#include <QJsonDocument>
#include <QLoggingCategory>

#include <unistd.h>

using namespace Qt::StringLiterals;

namespace Meridian {

Q_LOGGING_CATEGORY(lcAudit, "meridian.audit")

QJsonObject AuditEntry::toJson() const
{
    return {{u"time"_s, toIsoTime(time)},
            {u"token"_s, token},
            {u"client"_s, client},
            {u"action"_s, action},
            {u"args"_s, args},
            {u"result"_s, result},
            {u"status"_s, status},
            {u"node"_s, node}};
}

AuditEntry AuditEntry::fromJson(const QJsonObject &object)
{
    AuditEntry entry;
    entry.time = QDateTime::fromString(object.value(u"time"_s).toString(), Qt::ISODateWithMs);
    entry.token = object.value(u"token"_s).toString();
    entry.client = object.value(u"client"_s).toString();
    entry.action = object.value(u"action"_s).toString();
    entry.args = object.value(u"args"_s).toObject();
    entry.result = object.value(u"result"_s).toString();
    entry.status = object.value(u"status"_s).toInt();
    entry.node = object.value(u"node"_s).toString();
    return entry;
}

AuditLog::AuditLog(int memoryEntries)
    : m_memoryEntries(memoryEntries)
{}

AuditLog::~AuditLog() = default;

QString AuditLog::open(const QString &path)
{
    m_file.setFileName(path);
    if (!m_file.open(QIODevice::ReadWrite | QIODevice::Append))
        return u"cannot open audit log %1: %2"_s.arg(path, m_file.errorString());
    m_file.seek(0);
    while (!m_file.atEnd()) {
        const QByteArray line = m_file.readLine().trimmed();
        if (line.isEmpty())
            continue;
        const QJsonDocument document = QJsonDocument::fromJson(line);
        if (!document.isObject()) {
            qCWarning(lcAudit) << "skipping an unreadable line of" << path;
            continue;
        }
        m_recent.append(AuditEntry::fromJson(document.object()));
        if (m_recent.size() > m_memoryEntries)
            m_recent.removeFirst();
    }
    return {};
}

QString AuditLog::reopen()
{
    const QString path = m_file.fileName();
    if (path.isEmpty())
        return {}; // never opened: nothing to reopen
    QFile next(path);
    if (!next.open(QIODevice::WriteOnly | QIODevice::Append))
        return u"cannot reopen audit log %1: %2"_s.arg(path, next.errorString());
    next.close();
    m_file.close();
    if (!m_file.open(QIODevice::ReadWrite | QIODevice::Append))
        return u"cannot reopen audit log %1: %2"_s.arg(path, m_file.errorString());
    return {};
}

bool AuditLog::append(const AuditEntry &entry)
{
    m_recent.append(entry);
    if (m_recent.size() > m_memoryEntries)
        m_recent.removeFirst();
    const QByteArray line = QJsonDocument(entry.toJson()).toJson(QJsonDocument::Compact) + '\n';
    if (!m_file.isOpen() || m_file.write(line) != line.size() || !m_file.flush()
        || ::fsync(m_file.handle()) != 0) {
        qCCritical(lcAudit) << "could not make an audit entry durable in" << m_file.fileName()
                            << m_file.errorString();
        return false;
    }
    return true;
}

QList<AuditEntry> AuditLog::newest(int limit) const
{
    QList<AuditEntry> entries;
    for (qsizetype i = m_recent.size() - 1; i >= 0 && entries.size() < limit; --i)
        entries.append(m_recent.at(i));
    return entries;
}

} // namespace Meridian
