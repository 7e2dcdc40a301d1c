#include "core/sync/snapshotserver.h"

#include "core/sync/peerconnection.h"
#include "core/sync/wireprotocol.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QLoggingCategory>
#include <QRegularExpression>
#include <QUuid>

#include <thread>

using namespace Qt::StringLiterals;

namespace Meridian::Internal {

Q_LOGGING_CATEGORY(lcSnapshot, "meridian.sync.snapshot")

namespace {
constexpr qint64 kKeepSnapshotsMs = 3600 * 1000;

QString checksumPath(const QString &snapshotPath)
{
    return snapshotPath + u".blake2b"_s;
}
} // namespace

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
    // The worker owns copies of what it needs; its answer comes back through a guarded queued
    // call, so a server (or connection) gone meanwhile just drops it.
    QPointer<SnapshotServer> self(this);
    std::thread([self,
                 dir = m_dir,
                 make = m_make,
                 id = req->snapshotId,
                 offset = req->offset,
                 region = req->regionId] {
        const Prepared prepared = prepare(dir, make, id, offset, region);
        QMetaObject::invokeMethod(
                QCoreApplication::instance(),
                [self, prepared] {
                    if (self)
                        self->start(prepared);
                },
                Qt::QueuedConnection);
    }).detach();
}

SnapshotServer::Prepared SnapshotServer::prepare(const QString &dirPath,
                                                 const MakeSnapshot &make,
                                                 QString id,
                                                 quint64 offset,
                                                 const QString &forRegion)
{
    Prepared out;
    QDir dir(dirPath);
    if (!dir.exists() && !QDir().mkpath(dirPath)) {
        out.error = u"cannot create %1"_s.arg(dirPath);
        return out;
    }
    const QDateTime cutoff = QDateTime::currentDateTimeUtc().addMSecs(-kKeepSnapshotsMs);
    for (const QFileInfo &fi : dir.entryInfoList({u"*.db"_s, u"*.db.blake2b"_s}, QDir::Files)) {
        if (fi.lastModified() < cutoff)
            QFile::remove(fi.filePath());
    }
    static const QRegularExpression idPattern(u"^[0-9a-f]{32}$"_s);
    if (id.isEmpty() || !idPattern.match(id).hasMatch()
        || !QFile::exists(dir.filePath(id + u".db"_s))) {
        id = QUuid::createUuid().toString(QUuid::Id128);
        offset = 0;
        const QString err = make(dir.filePath(id + u".db"_s));
        if (!err.isEmpty()) {
            QFile::remove(dir.filePath(id + u".db"_s));
            out.error = u"cannot make a snapshot: "_s + err;
            return out;
        }
        qCInfo(lcSnapshot) << "made snapshot" << id << "for" << forRegion;
    } else {
        qCInfo(lcSnapshot) << "resuming snapshot" << id << "for" << forRegion << "at" << offset;
    }
    QFile file(dir.filePath(id + u".db"_s));
    if (!file.open(QIODevice::ReadOnly)) {
        out.error = u"cannot read snapshot %1"_s.arg(id);
        return out;
    }
    out.id = id;
    out.offset = offset > quint64(file.size()) ? 0 : offset;
    if (out.offset == 0)
        return out; // hashed while sending
    // A resumed transfer needs the checksum of the whole file: the one recorded when it was
    // first sent, or a hashing pass if that transfer stopped before its end.
    QFile recorded(checksumPath(file.fileName()));
    if (recorded.open(QIODevice::ReadOnly))
        out.checksum = recorded.readAll();
    if (out.checksum.size() != QCryptographicHash::hashLength(Wire::kSnapshotChecksum)) {
        QCryptographicHash hash(Wire::kSnapshotChecksum);
        if (!hash.addData(&file)) {
            out.error = u"cannot read snapshot %1"_s.arg(id);
            return out;
        }
        out.checksum = hash.result();
    }
    return out;
}

void SnapshotServer::start(const Prepared &prepared)
{
    if (!prepared.error.isEmpty()) {
        fail(prepared.error);
        return;
    }
    if (!m_conn || !m_conn->isOpen())
        return;
    m_file.setFileName(QDir(m_dir).filePath(prepared.id + u".db"_s));
    if (!m_file.open(QIODevice::ReadOnly)) {
        fail(u"cannot read snapshot %1"_s.arg(prepared.id));
        return;
    }
    Wire::SnapshotMeta meta{prepared.id, quint64(m_file.size()), prepared.checksum, prepared.offset};
    m_conn->send(quint8(Wire::Type::SnapshotMeta), Wire::snapshotMeta(meta));
    m_offset = qint64(prepared.offset);
    m_checksum = prepared.checksum;
    if (m_checksum.isEmpty())
        m_hash = std::make_unique<QCryptographicHash>(Wire::kSnapshotChecksum);
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
        if (m_hash)
            m_hash->addData(data);
        m_conn->send(quint8(Wire::Type::SnapshotChunk),
                     Wire::snapshotChunk(quint64(m_offset), data));
        m_offset += data.size();
    }
    if (m_offset < m_file.size())
        return;
    if (m_hash) {
        m_checksum = m_hash->result();
        m_hash.reset();
        // Recorded for a receiver that loses the connection now and resumes at the end.
        QFile recorded(checksumPath(m_file.fileName()));
        if (!recorded.open(QIODevice::WriteOnly | QIODevice::Truncate)
            || recorded.write(m_checksum) != m_checksum.size()) {
            qCWarning(lcSnapshot) << "cannot record the checksum of" << m_file.fileName();
        }
    }
    m_file.close();
    m_conn->send(quint8(Wire::Type::SnapshotEnd), Wire::snapshotEnd(m_checksum));
}

} // namespace Meridian::Internal
