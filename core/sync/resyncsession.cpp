#include "core/sync/resyncsession.h"

#include "core/sync/peerconnection.h"
#include "core/sync/sqlitedb.h"
#include "core/sync/wireprotocol.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QPointer>
#include <QTimer>

#include <thread>

using namespace Qt::StringLiterals;

namespace Meridian::Internal {

Q_LOGGING_CATEGORY(lcResync, "meridian.sync.resync")

ResyncSession::ResyncSession(QString regionId,
                             PeerConfig peer,
                             QString databasePath,
                             int timeoutMs,
                             QByteArray secret,
                             TlsFiles tls,
                             QObject *parent)
    : QObject(parent)
    , m_regionId(std::move(regionId))
    , m_peer(std::move(peer))
    , m_dbPath(std::move(databasePath))
    , m_timeoutMs(timeoutMs)
    , m_secret(std::move(secret))
    , m_tls(std::move(tls))
{}

ResyncSession::~ResyncSession()
{
    if (m_conn)
        m_conn->close(u"resync session ended"_s);
}

void ResyncSession::report(ResyncProgress::Phase phase, const QString &message)
{
    ResyncProgress p;
    p.phase = phase;
    p.peer = m_peer.regionId;
    p.bytesDone = m_done;
    p.bytesTotal = m_size;
    p.message = message;
    const qint64 elapsed = m_clock.isValid() ? m_clock.elapsed() : 0;
    const qint64 moved = m_done - m_resumedFrom;
    if (phase == ResyncProgress::Phase::Transfer && moved > 0 && elapsed > 0)
        p.etaSeconds = double(m_size - m_done) / (double(moved) / (elapsed / 1000.0));
    emit progress(p);
}

void ResyncSession::start()
{
    QString resumeId;
    quint64 offset = 0;
    QFile state(statePath());
    if (state.open(QIODevice::ReadOnly)) {
        const QJsonObject o = QJsonDocument::fromJson(state.readAll()).object();
        if (o.value(u"peer"_s).toString() == m_peer.regionId) {
            resumeId = o.value(u"snapshot_id"_s).toString();
            offset = quint64(QFileInfo(partialPath()).size());
        }
    }
    report(ResyncProgress::Phase::Snapshot,
           resumeId.isEmpty() ? u"asking %1 for a snapshot"_s.arg(m_peer.regionId)
                              : u"resuming snapshot %1 at byte %2"_s.arg(resumeId).arg(offset));
    m_conn = new PeerConnection(m_tls, this);
    m_conn->requireAuthentication(m_secret);
    connect(m_conn, &PeerConnection::connected, this, [this, resumeId, offset] {
        m_conn->send(quint8(Wire::Type::SnapshotRequest),
                     Wire::snapshotRequest({m_regionId, resumeId, offset}));
    });
    connect(m_conn, &PeerConnection::frameReceived, this, &ResyncSession::onFrame);
    connect(m_conn, &PeerConnection::closed, this, [this](const QString &reason) {
        m_conn = nullptr;
        if (!m_finished)
            fail(u"connection to %1 lost: %2"_s.arg(m_peer.regionId, reason));
    });
    m_conn->connectToHost(m_peer.host, m_peer.port);
    // Making a large snapshot takes a while; only silence beyond the timeout is fatal.
    auto *watchdog = new QTimer(this);
    watchdog->setInterval(std::max(100, m_timeoutMs / 4));
    connect(watchdog, &QTimer::timeout, this, [this] {
        const int limit = m_snapshotId.isEmpty() ? m_timeoutMs * 12 : m_timeoutMs;
        if (m_conn && !m_finished && m_conn->msSinceLastFrame() > limit)
            m_conn->close(u"no data for %1 ms"_s.arg(m_conn->msSinceLastFrame()));
    });
    watchdog->start();
}

void ResyncSession::cancel()
{
    fail(u"cancelled; the partial snapshot is kept and a retry resumes it"_s, true);
}

void ResyncSession::discardFiles()
{
    m_file.close();
    QFile::remove(partialPath());
    QFile::remove(statePath());
}

void ResyncSession::fail(const QString &message, bool cancelled)
{
    if (m_finished)
        return;
    m_finished = true;
    m_file.close();
    if (m_conn) {
        PeerConnection *c = m_conn;
        m_conn = nullptr;
        c->close(message);
    }
    qCWarning(lcResync) << "resync from" << m_peer.regionId << "stopped:" << message;
    report(cancelled ? ResyncProgress::Phase::Cancelled : ResyncProgress::Phase::Failed, message);
    emit failed(message, cancelled);
}

void ResyncSession::onFrame(quint8 type, const QByteArray &body)
{
    switch (Wire::Type(type)) {
    case Wire::Type::Hello: // every listener greets first; a snapshot client ignores it
        break;
    case Wire::Type::SnapshotMeta:
        onMeta(body);
        break;
    case Wire::Type::SnapshotChunk:
        onChunk(body);
        break;
    case Wire::Type::SnapshotEnd:
        onEnd(body);
        break;
    case Wire::Type::Error:
        fail(u"%1 refused: %2"_s.arg(m_peer.regionId, Wire::parseError(body)));
        break;
    default:
        fail(u"unexpected frame %1 during resync"_s.arg(type));
        break;
    }
}

void ResyncSession::onMeta(const QByteArray &body)
{
    const auto meta = Wire::parseSnapshotMeta(body);
    if (!meta) {
        fail(u"malformed snapshot description"_s);
        return;
    }
    m_snapshotId = meta->snapshotId;
    m_size = qint64(meta->size);
    QFile state(statePath());
    if (!state.open(QIODevice::WriteOnly | QIODevice::Truncate)
        || state.write(QJsonDocument(QJsonObject{{u"peer"_s, m_peer.regionId},
                                                 {u"snapshot_id"_s, m_snapshotId},
                                                 {u"size"_s, m_size}})
                               .toJson())
                   < 0) {
        fail(u"cannot write %1"_s.arg(statePath()));
        return;
    }
    state.close();
    m_file.setFileName(partialPath());
    if (!m_file.open(QIODevice::ReadWrite) || !m_file.resize(qint64(meta->offset))
        || !m_file.seek(qint64(meta->offset))) {
        fail(u"cannot write %1: %2"_s.arg(partialPath(), m_file.errorString()));
        return;
    }
    // A resumed transfer hashes the part it already has once; new chunks are hashed as they
    // arrive, so verifying needs no second pass over the file.
    m_hash.reset();
    if (meta->offset > 0) {
        if (!m_file.seek(0) || !m_hash.addData(&m_file) || m_file.pos() != qint64(meta->offset)) {
            fail(u"cannot read back %1"_s.arg(partialPath()));
            return;
        }
    }
    m_done = m_resumedFrom = qint64(meta->offset);
    m_clock.start();
    report(ResyncProgress::Phase::Transfer,
           m_resumedFrom > 0 ? u"resumed at byte %1"_s.arg(m_resumedFrom) : QString());
}

void ResyncSession::onChunk(const QByteArray &body)
{
    quint64 offset = 0;
    QByteArray data;
    if (!m_file.isOpen() || !Wire::parseSnapshotChunk(body, &offset, &data)
        || qint64(offset) != m_done || m_done + data.size() > m_size) {
        fail(u"snapshot chunk out of sequence"_s);
        return;
    }
    if (m_file.write(data) != data.size()) {
        fail(u"cannot write %1: %2"_s.arg(partialPath(), m_file.errorString()));
        return;
    }
    m_hash.addData(data);
    m_done += data.size();
    if (m_clock.elapsed() - m_lastReportMs >= 100 || m_done == m_size) {
        m_lastReportMs = m_clock.elapsed();
        report(ResyncProgress::Phase::Transfer);
    }
}

void ResyncSession::onEnd(const QByteArray &body)
{
    const auto checksum = Wire::parseSnapshotEnd(body);
    if (!checksum || !m_file.isOpen() || m_done != m_size) {
        fail(u"snapshot ended out of sequence"_s);
        return;
    }
    m_checksum = *checksum;
    verify();
}

void ResyncSession::verify()
{
    report(ResyncProgress::Phase::Verify, u"checking the checksum and SQLite integrity"_s);
    if (m_finished)
        return; // cancelled from a progress handler
    if (!m_file.flush()) {
        fail(u"cannot write %1: %2"_s.arg(partialPath(), m_file.errorString()));
        return;
    }
    m_file.close();
    // Every byte has arrived: the connection has nothing more to give, and its closing is no
    // failure.
    if (m_conn) {
        PeerConnection *c = m_conn;
        m_conn = nullptr;
        disconnect(c, nullptr, this, nullptr);
        c->close(u"snapshot received"_s);
    }
    if (m_hash.result() != m_checksum) {
        discardFiles();
        fail(u"snapshot checksum mismatch; the partial file was discarded, retry to fetch it "
             "again"_s);
        return;
    }
    // quick_check reads the whole file (seconds for a large database): a worker thread with its
    // own connection does it, and its answer comes back through a guarded queued call.
    QPointer<ResyncSession> self(this);
    std::thread([self, path = partialPath()] {
        const SnapshotCheck check = checkSnapshot(path);
        QMetaObject::invokeMethod(
                QCoreApplication::instance(),
                [self, check] {
                    if (self)
                        self->finishVerify(check);
                },
                Qt::QueuedConnection);
    }).detach();
}

ResyncSession::SnapshotCheck ResyncSession::checkSnapshot(const QString &path)
{
    SnapshotCheck out;
    SqliteDb db;
    if (auto r = db.open(path, true); !r) {
        out.error = r.error().message;
        return out;
    }
    QueryResult check;
    auto ok = db.run(u"PRAGMA quick_check"_s, {}, &check);
    if (!ok || check.rows.value(0).value(0).toString() != "ok"_L1) {
        out.error = u"snapshot failed SQLite's quick_check"_s;
        return out;
    }
    QueryResult rows;
    if (db.run(u"SELECT count(*) FROM _meridian_rowmeta WHERE deleted = 0"_s, {}, &rows))
        out.rows = rows.rows.value(0).value(0).toLongLong();
    return out;
}

void ResyncSession::finishVerify(const SnapshotCheck &check)
{
    if (m_finished)
        return; // cancelled meanwhile; the verified file stays for a retry to resume
    if (!check.error.isEmpty()) {
        discardFiles();
        fail(check.error);
        return;
    }
    m_finished = true;
    emit verified(partialPath(), check.rows);
}

} // namespace Meridian::Internal
