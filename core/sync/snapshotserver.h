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
