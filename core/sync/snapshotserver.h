#pragma once

#include <QFile>
#include <QObject>
#include <QPointer>
#include <QString>

#include <functional>

namespace Meridian::Internal {

class PeerConnection;

// Serves one snapshot request on an inbound replication connection: makes a consistent copy of
// the database (VACUUM INTO under a read transaction, sync metadata and cursors included) or
// reuses the one an interrupted transfer was reading, then streams it from the requested offset
// in chunks as the socket drains. Snapshot files are kept a while so a retry can resume.
// Making and hashing the copy take seconds for a large database, so they run on a worker thread
// (MakeSnapshot must therefore be thread-safe: it opens its own connection); the replica's
// thread keeps serving writes and replication meanwhile.
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
        QByteArray checksum;
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
};

} // namespace Meridian::Internal
