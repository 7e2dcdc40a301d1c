#pragma once

#include "core/sync/syncconfig.h"
#include "core/sync/synctypes.h"
#include "core/sync/wireprotocol.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>
#include <QObject>

namespace Meridian::Internal {

class PeerConnection;

// The fetching half of a resync: asks a peer for a snapshot (or to resume the one a previous
// attempt was reading), writes it beside the database as <db>.resync.partial with its identity
// in <db>.resync.json, and verifies it (a BLAKE2b-256 checksum of the whole file, hashed as the
// chunks arrive and compared with the one that follows the last chunk, then SQLite quick_check on
// a worker thread, so a large snapshot does not stall the node's event loop). Swapping it in is the
// Replica's job. Cancelling or losing the connection keeps the partial file so the next attempt
// resumes where this one stopped.
class ResyncSession final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ResyncSession)

public:
    ResyncSession(QString regionId,
                  PeerConfig peer,
                  QString databasePath,
                  int timeoutMs,
                  QByteArray secret,
                  TlsFiles tls,
                  QObject *parent);
    ~ResyncSession() override;

    void start();
    void cancel();
    QString partialPath() const { return m_dbPath + QStringLiteral(".resync.partial"); }
    QString statePath() const { return m_dbPath + QStringLiteral(".resync.json"); }
    void discardFiles();

signals:
    void progress(const Meridian::ResyncProgress &progress);
    void verified(const QString &snapshotPath, qint64 rows);
    void failed(const QString &message, bool cancelled);

private:
    void onFrame(quint8 type, const QByteArray &body);
    void onMeta(const QByteArray &body);
    void onChunk(const QByteArray &body);
    void onEnd(const QByteArray &body);
    void verify();
    struct SnapshotCheck
    {
        QString error;
        qint64 rows = 0;
    };
    static SnapshotCheck checkSnapshot(const QString &path);
    void finishVerify(const SnapshotCheck &check);
    void fail(const QString &message, bool cancelled = false);
    void report(ResyncProgress::Phase phase, const QString &message = {});

    QString m_regionId;
    PeerConfig m_peer;
    QString m_dbPath;
    int m_timeoutMs;
    QByteArray m_secret;
    TlsFiles m_tls;
    PeerConnection *m_conn = nullptr;
    QFile m_file;
    QString m_snapshotId;
    QByteArray m_checksum;
    QCryptographicHash m_hash{Wire::kSnapshotChecksum}; // over bytes [0, m_done)
    qint64 m_size = 0;
    qint64 m_done = 0;
    qint64 m_resumedFrom = 0;
    QElapsedTimer m_clock;
    qint64 m_lastReportMs = -1000;
    bool m_finished = false;
};

} // namespace Meridian::Internal
