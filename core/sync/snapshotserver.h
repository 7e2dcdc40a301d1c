#pragma once

#include <QCryptographicHash>
#include <QFile>
#include <QObject>
#include <QPointer>
#include <QString>

#include <functional>
#include <memory>

namespace Meridian::Internal {

class PeerConnection;

// Serves one snapshot request on an inbound replication connection: makes a consistent copy of
// the database (VACUUM INTO under a read transaction, sync metadata and cursors included) or
// reuses the one an interrupted transfer was reading, then streams it from the requested offset
// in chunks as the socket drains. Snapshot files are kept a while so a retry can resume.
// Making the copy takes seconds for a large database, so it runs on a worker thread
// (MakeSnapshot must therefore be thread-safe: it opens its own connection); the replica's
// thread keeps serving writes and replication meanwhile. The checksum is computed over the chunks
// as they are sent and follows them (SnapshotEnd), so the transfer does not wait for a hashing
// pass; it is kept beside the snapshot (<id>.db.blake2b) for a transfer that resumes later.
class SnapshotServer final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SnapshotServer)

public:
    using MakeSnapshot = std::function<QString(const QString &path)>; // returns an error or ""

    SnapshotServer(PeerConnection *connection,
                   QString snapshotDir,
                   MakeSnapshot make,
                   qint64 chunkBytes,
                   QObject *parent);
    ~SnapshotServer() override;
    void handle(const QByteArray &request);

private:
    struct Prepared
    {
        QString error;
        QString id;
        QByteArray checksum; // empty: hash while sending (the transfer starts at 0)
        quint64 offset = 0;
    };
    static Prepared prepare(const QString &dir,
                            const MakeSnapshot &make,
                            QString id,
                            quint64 offset,
                            const QString &forRegion);
    void start(const Prepared &prepared);
    void sendMore();
    void fail(const QString &message);

    QPointer<PeerConnection> m_conn; // owned by the transport, which may go first
    QString m_dir;
    MakeSnapshot m_make;
    qint64 m_chunkBytes;
    QFile m_file;
    qint64 m_offset = 0;
    QByteArray m_checksum; // known up front (resumed transfer), or computed by m_hash
    std::unique_ptr<QCryptographicHash> m_hash; // over [0, m_offset) when hashing while sending
};

} // namespace Meridian::Internal
