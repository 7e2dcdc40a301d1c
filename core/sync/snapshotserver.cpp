#include "core/sync/snapshotserver.h"

#include "core/sync/peerconnection.h"
#include "core/sync/wireprotocol.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QLoggingCategory>
#include <QRegularExpression>
#include <QUuid>

using namespace Qt::StringLiterals;

namespace Meridian::Internal {

Q_LOGGING_CATEGORY(lcSnapshot, "meridian.sync.snapshot")

namespace {
constexpr qint64 kKeepSnapshotsMs = 3600 * 1000;
}

SnapshotServer::SnapshotServer(PeerConnection *connection,
                               QString snapshotDir,
                               MakeSnapshot make,
                               qint64 chunkBytes,
                               QObject *parent)
    : QObject(parent)
    , m_conn(connection)
    , m_dir(std::move(snapshotDir))
    , m_make(std::move(make))
    , m_chunkBytes(chunkBytes)
{
    connect(m_conn, &PeerConnection::drained, this, &SnapshotServer::sendMore);
    connect(m_conn, &PeerConnection::closed, this, &QObject::deleteLater);
    connect(m_conn, &QObject::destroyed, this, &QObject::deleteLater);
}

SnapshotServer::~SnapshotServer() = default;

void SnapshotServer::fail(const QString &message)
{
    qCWarning(lcSnapshot) << "snapshot request failed:" << message;
    if (!m_conn)
        return;
    m_conn->send(quint8(Wire::Type::Error), Wire::error(message));
    m_conn->close(message);
}

void SnapshotServer::handle(const QByteArray &body)
{
    const auto req = Wire::parseSnapshotRequest(body);
    if (!req) {
        fail(u"malformed snapshot request"_s);
        return;
    }
    QDir dir(m_dir);
    if (!dir.exists() && !QDir().mkpath(m_dir)) {
        fail(u"cannot create %1"_s.arg(m_dir));
        return;
    }
    const QDateTime cutoff = QDateTime::currentDateTimeUtc().addMSecs(-kKeepSnapshotsMs);
    for (const QFileInfo &fi : dir.entryInfoList({u"*.db"_s}, QDir::Files)) {
        if (fi.lastModified() < cutoff)
            QFile::remove(fi.filePath());
    }
    static const QRegularExpression idPattern(u"^[0-9a-f]{32}$"_s);
    QString id = req->snapshotId;
    quint64 offset = req->offset;
    if (id.isEmpty() || !idPattern.match(id).hasMatch()
        || !QFile::exists(dir.filePath(id + u".db"_s))) {
        id = QUuid::createUuid().toString(QUuid::Id128);
        offset = 0;
        const QString err = m_make(dir.filePath(id + u".db"_s));
        if (!err.isEmpty()) {
            QFile::remove(dir.filePath(id + u".db"_s));
            fail(u"cannot make a snapshot: "_s + err);
            return;
        }
        qCInfo(lcSnapshot) << "made snapshot" << id << "for" << req->regionId;
    } else {
        qCInfo(lcSnapshot) << "resuming snapshot" << id << "for" << req->regionId << "at" << offset;
    }
    m_file.setFileName(dir.filePath(id + u".db"_s));
    if (!m_file.open(QIODevice::ReadOnly)) {
        fail(u"cannot read snapshot %1"_s.arg(id));
        return;
    }
    QCryptographicHash sha(QCryptographicHash::Sha256);
    if (!sha.addData(&m_file)) {
        fail(u"cannot hash snapshot %1"_s.arg(id));
        return;
    }
    if (offset > quint64(m_file.size()))
        offset = 0;
    Wire::SnapshotMeta meta{id, quint64(m_file.size()), sha.result(), offset};
    m_conn->send(quint8(Wire::Type::SnapshotMeta), Wire::snapshotMeta(meta));
    m_offset = qint64(offset);
    m_file.seek(m_offset);
    sendMore();
}

void SnapshotServer::sendMore()
{
    if (!m_file.isOpen() || !m_conn || !m_conn->isOpen())
        return;
    while (m_conn->bytesToWrite() < 4 * m_chunkBytes && m_offset < m_file.size()) {
        const QByteArray data = m_file.read(m_chunkBytes);
        if (data.isEmpty()) {
            fail(u"snapshot read error"_s);
            return;
        }
        m_conn->send(quint8(Wire::Type::SnapshotChunk),
                     Wire::snapshotChunk(quint64(m_offset), data));
        m_offset += data.size();
    }
}

} // namespace Meridian::Internal
