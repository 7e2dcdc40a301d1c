#include "core/sync/natstransport.h"

#include "core/sync/bytecodec.h"
#include "core/sync/wireprotocol.h"

#include <QDateTime>
#include <QLoggingCategory>

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

using namespace Qt::StringLiterals;

namespace Meridian {

Q_LOGGING_CATEGORY(lcNats, "meridian.sync.nats")

namespace Internal {

namespace {

constexpr int kApiWaitMs = 3000;   // JetStream API calls and publish acknowledgements
constexpr int kFetchWaitMs = 1000; // a pull waits this long for new entries
constexpr int kRetryMs = 500;      // after a failed publish or setup step
constexpr int kConsumerIdleS = 30; // the server drops an ephemeral consumer unused this long
constexpr qint64 kMsToNs = 1000 * 1000;
// Writes left unpublished before entriesAvailable() publishes without waiting for the event
// loop: a thread that writes without returning to its loop still publishes, in batches.
constexpr quint64 kPublishEagerEntries = 16;

QString statusText(natsStatus s, jsErrCode code = jsErrCode(0))
{
    QString text = QString::fromUtf8(natsStatus_GetText(s));
    if (code != 0)
        text += u" (JetStream error %1)"_s.arg(int(code));
    return text;
}

// The sequence in a message id "<origin>:<seq>", 0 if the message has none of that origin.
quint64 msgIdSeq(natsMsg *msg, const QString &origin)
{
    const char *value = nullptr;
    if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &value) != NATS_OK || !value)
        return 0;
    const QString id = QString::fromUtf8(value);
    const QString prefix = origin + u':';
    if (!id.startsWith(prefix))
        return 0;
    return id.mid(prefix.size()).toULongLong();
}

} // namespace

// One fetched batch on its way to the owner's thread, and the outcome back to the fetcher.
struct NatsBatch
{
    const NatsSession *session = nullptr;
    QString origin;
    QList<LogEntry> entries;
    bool done = false; // the rest is written by the owner's thread under NatsSession::mutex
    bool ok = false;
    quint64 cursor = 0;
};

// What libnats callbacks reach. Never freed: the client may still run a callback after
// natsConnection_Destroy() returns; such a late callback finds owner == nullptr and returns.
struct NatsBridge
{
    std::mutex mutex;
    NatsTransport *owner = nullptr;
    NatsSession *session = nullptr; // to wake its publishing thread
    QString regionId;
    std::atomic<bool> publishFailed{false};
    QString publishError; // the first failure since publishFailed was cleared

    template<typename F>
    void post(F &&f)
    {
        std::lock_guard lock(mutex);
        if (!owner)
            return;
        NatsTransport *o = owner;
        QMetaObject::invokeMethod(
                o, [o, f = std::forward<F>(f)]() mutable { f(o); }, Qt::QueuedConnection);
    }
};

// The NATS side of a running NatsTransport: connection, threads and queues.
struct NatsSession
{
    NatsSession(const SyncConfig &config, NatsTransport *owner);
    ~NatsSession();

    void start();
    void stop();
    void enqueue(quint64 generation, quint64 seq, QByteArray payload, bool skip = false);
    void resetPublishing(quint64 generation);
    void publishHeartbeat(const QByteArray &body);
    void ensureFetcher(const QString &origin, quint64 next);
    void complete(const std::shared_ptr<NatsBatch> &batch, const SyncResult<CursorVector> &r);

    static void onConnected(natsConnection *, void *closure);
    static void onDisconnected(natsConnection *, void *closure);
    static void onReconnected(natsConnection *, void *closure);
    static void onHeartbeatMsg(natsConnection *, natsSubscription *, natsMsg *msg, void *closure);
    static void onPubAck(jsCtx *, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure);

    std::mutex mutex;
    std::condition_variable cv;

private:
    struct Outgoing
    {
        quint64 generation = 0;
        quint64 seq = 0;
        QByteArray payload;
        bool skip = false; // no entry: the stream's next sequence becomes `seq`
    };

    void controlLoop();
    void fetchLoop(QString origin, quint64 next);
    bool stopping();
    bool sleepFor(int ms); // false when stopping
    bool connect(QString *error);
    bool waitConnected();
    bool ensureOwnStream(jsCtx *js, quint64 *lastSeq, QString *error);
    // The stream's last sequence if its last message is an entry of this origin with that
    // sequence (msg-id check), else an error.
    bool verifiedLastSeq(jsCtx *js, quint64 *lastSeq, QString *error);
    void publishLoop(jsCtx *js);

    const SyncConfig m_config;
    const QByteArray m_ownStream;
    const QByteArray m_ownSubject;
    const QByteArray m_hbFilter;
    const QByteArray m_hbSubject;
    NatsBridge *m_bridge;

    bool m_stopping = false;
    bool m_ready = false;       // connected and the own stream exists: fetchers may start
    bool m_streamEmpty = false; // the own stream holds no message (publishing thread only)
    quint64 m_generation = 0;
    std::deque<Outgoing> m_outgoing;
    natsOptions *m_opts = nullptr;
    natsConnection *m_nc = nullptr;
    natsSubscription *m_hbSub = nullptr;
    std::thread m_control;
    std::map<QString, std::thread> m_fetchers;
};

NatsSession::NatsSession(const SyncConfig &config, NatsTransport *owner)
    : m_config(config)
    , m_ownStream(config.nats.streamName(config.regionId).toUtf8())
    , m_ownSubject(config.nats.logSubject(config.regionId).toUtf8())
    , m_hbFilter((config.nats.effectiveSubjectPrefix() + u".hb.>"_s).toUtf8())
    , m_hbSubject(config.nats.heartbeatSubject(config.regionId).toUtf8())
    , m_bridge(new NatsBridge)
{
    m_bridge->owner = owner;
    m_bridge->session = this;
    m_bridge->regionId = config.regionId;
}

NatsSession::~NatsSession()
{
    stop();
}

void NatsSession::start()
{
    m_control = std::thread([this] { controlLoop(); });
}

void NatsSession::stop()
{
    {
        std::lock_guard lock(m_bridge->mutex);
        m_bridge->owner = nullptr;
        m_bridge->session = nullptr;
    }
    natsConnection *nc = nullptr;
    {
        std::lock_guard lock(mutex);
        if (m_stopping)
            return;
        m_stopping = true;
        nc = m_nc;
    }
    cv.notify_all();
    // Closing fails the network waits of every thread at once (not under our mutex: libnats
    // callbacks take it); ephemeral consumers left behind are dropped by the server after
    // kConsumerIdleS.
    if (nc)
        natsConnection_Close(nc);
    if (m_control.joinable())
        m_control.join();
    for (auto &[origin, thread] : m_fetchers) {
        if (thread.joinable())
            thread.join();
    }
    m_fetchers.clear();
    if (m_hbSub)
        natsSubscription_Destroy(m_hbSub);
    if (m_nc)
        natsConnection_Destroy(m_nc);
    if (m_opts)
        natsOptions_Destroy(m_opts);
    m_hbSub = nullptr;
    m_nc = nullptr;
    m_opts = nullptr;
}

bool NatsSession::stopping()
{
    std::lock_guard lock(mutex);
    return m_stopping;
}

bool NatsSession::sleepFor(int ms)
{
    std::unique_lock lock(mutex);
    cv.wait_for(lock, std::chrono::milliseconds(ms), [this] { return m_stopping; });
    return !m_stopping;
}

void NatsSession::enqueue(quint64 generation, quint64 seq, QByteArray payload, bool skip)
{
    {
        std::lock_guard lock(mutex);
        if (generation != m_generation)
            return;
        m_outgoing.push_back({generation, seq, std::move(payload), skip});
    }
    cv.notify_all();
}

void NatsSession::resetPublishing(quint64 generation)
{
    std::lock_guard lock(mutex);
    m_generation = generation;
    m_outgoing.clear();
}

void NatsSession::publishHeartbeat(const QByteArray &body)
{
    std::lock_guard lock(mutex);
    if (m_nc && !m_stopping)
        natsConnection_Publish(m_nc, m_hbSubject.constData(), body.constData(), int(body.size()));
}

void NatsSession::ensureFetcher(const QString &origin, quint64 next)
{
    if (m_fetchers.count(origin))
        return;
    m_fetchers.emplace(origin, std::thread([this, origin, next] { fetchLoop(origin, next); }));
}

void NatsSession::complete(const std::shared_ptr<NatsBatch> &batch,
                           const SyncResult<CursorVector> &r)
{
    {
        std::lock_guard lock(mutex);
        batch->ok = r.ok();
        if (r)
            batch->cursor = r->value(batch->origin);
        batch->done = true;
    }
    cv.notify_all();
}

bool NatsSession::connect(QString *error)
{
    natsStatus s = natsOptions_Create(&m_opts);
    std::vector<QByteArray> urls;
    for (const QString &u : m_config.nats.servers)
        urls.push_back(u.toUtf8());
    std::vector<const char *> urlPtrs;
    for (const QByteArray &u : urls)
        urlPtrs.push_back(u.constData());
    const QByteArray name = (u"meridian-"_s + m_config.regionId).toUtf8();
    if (s == NATS_OK)
        s = natsOptions_SetServers(m_opts, urlPtrs.data(), int(urlPtrs.size()));
    if (s == NATS_OK)
        s = natsOptions_SetName(m_opts, name.constData());
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(m_opts, -1); // reconnect for ever
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(m_opts, 200);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(m_opts, kApiWaitMs);
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(m_opts, 2000); // notice a dead server within seconds
    if (s == NATS_OK)
        s = natsOptions_SetRetryOnFailedConnect(m_opts, true, &NatsSession::onConnected, m_bridge);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(m_opts, &NatsSession::onDisconnected, m_bridge);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(m_opts, &NatsSession::onReconnected, m_bridge);
    if (s == NATS_OK && !m_config.nats.credentialsFile.isEmpty()) {
        const QByteArray creds = m_config.nats.credentialsFile.toUtf8();
        s = natsOptions_SetUserCredentialsFromFiles(m_opts, creds.constData(), nullptr);
    }
    if (s != NATS_OK) {
        *error = u"invalid NATS options: "_s + statusText(s);
        return false;
    }
    natsConnection *nc = nullptr;
    s = natsConnection_Connect(&nc, m_opts);
    if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
        *error = u"cannot connect to NATS at %1: %2"_s.arg(m_config.nats.servers.join(u", "_s),
                                                           statusText(s));
        return false;
    }
    {
        std::lock_guard lock(mutex);
        if (m_stopping) {
            natsConnection_Destroy(nc);
            return false;
        }
        m_nc = nc;
    }
    if (s == NATS_OK) // the connected callback only runs for a connect that was retried
        m_bridge->post([](NatsTransport *t) { t->onConnectionChanged(true, {}); });
    return true;
}

bool NatsSession::waitConnected()
{
    while (natsConnection_Status(m_nc) != NATS_CONN_STATUS_CONNECTED) {
        if (!sleepFor(20))
            return false;
    }
    return true;
}

bool NatsSession::ensureOwnStream(jsCtx *js, quint64 *lastSeq, QString *error)
{
    const NatsConfig &n = m_config.nats;
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char *subjects[] = {m_ownSubject.constData()};
    cfg.Name = m_ownStream.constData();
    cfg.Description = "Meridian replication log of one region";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy;
    cfg.Discard = js_DiscardOld;
    cfg.Replicas = n.replicas;
    cfg.MaxAge = n.maxAgeMs * kMsToNs;
    cfg.MaxBytes = n.maxBytes;
    cfg.MaxMsgs = n.maxMsgs;
    cfg.Duplicates = n.duplicateWindowMs * kMsToNs;
    jsStreamInfo *si = nullptr;
    jsErrCode code = jsErrCode(0);
    natsStatus s = js_GetStreamInfo(&si, js, m_ownStream.constData(), nullptr, &code);
    if (s == NATS_OK) {
        bool ours = si->Config && si->Config->SubjectsLen == 1
                    && QByteArray(si->Config->Subjects[0]) == m_ownSubject;
        const bool limitsDiffer = si->Config
                                  && (si->Config->MaxAge != cfg.MaxAge
                                      || si->Config->MaxBytes != cfg.MaxBytes
                                      || si->Config->MaxMsgs != cfg.MaxMsgs
                                      || si->Config->Duplicates != cfg.Duplicates);
        jsStreamInfo_Destroy(si);
        si = nullptr;
        if (!ours) {
            *error = u"stream %1 exists but does not hold exactly subject %2: another cluster or "
                     "region uses this name; choose another nats.cluster"_s
                             .arg(QString::fromUtf8(m_ownStream), QString::fromUtf8(m_ownSubject));
            return false;
        }
        if (limitsDiffer) {
            code = jsErrCode(0);
            s = js_UpdateStream(&si, js, &cfg, nullptr, &code);
            if (s != NATS_OK)
                qCWarning(lcNats) << "cannot update the limits of stream" << m_ownStream << ":"
                                  << statusText(s, code);
            else
                jsStreamInfo_Destroy(si);
            si = nullptr;
        }
    } else if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr) {
        code = jsErrCode(0);
        s = js_AddStream(&si, js, &cfg, nullptr, &code);
        if (s != NATS_OK) {
            *error = u"cannot create stream %1: %2"_s.arg(QString::fromUtf8(m_ownStream),
                                                          statusText(s, code));
            return false;
        }
        jsStreamInfo_Destroy(si);
        qCInfo(lcNats) << "created JetStream stream" << m_ownStream << "on" << m_ownSubject;
    } else {
        *error = u"cannot look up stream %1: %2"_s.arg(QString::fromUtf8(m_ownStream),
                                                       statusText(s, code));
        return false;
    }
    return verifiedLastSeq(js, lastSeq, error);
}

bool NatsSession::verifiedLastSeq(jsCtx *js, quint64 *lastSeq, QString *error)
{
    jsStreamInfo *si = nullptr;
    jsErrCode code = jsErrCode(0);
    natsStatus s = js_GetStreamInfo(&si, js, m_ownStream.constData(), nullptr, &code);
    if (s != NATS_OK) {
        *error = u"cannot read the state of stream %1: %2"_s.arg(QString::fromUtf8(m_ownStream),
                                                                 statusText(s, code));
        return false;
    }
    const quint64 last = si->State.LastSeq;
    const quint64 msgs = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    *lastSeq = last;
    m_streamEmpty = msgs == 0;
    if (msgs == 0)
        return true; // empty (or emptied by its limits): nothing to check
    natsMsg *msg = nullptr;
    code = jsErrCode(0);
    s = js_GetLastMsg(&msg, js, m_ownStream.constData(), m_ownSubject.constData(), nullptr, &code);
    if (s != NATS_OK) {
        *error = u"cannot read the last message of stream %1: %2"_s.arg(QString::fromUtf8(
                                                                                m_ownStream),
                                                                        statusText(s, code));
        return false;
    }
    const quint64 idSeq = msgIdSeq(msg, m_config.regionId);
    natsMsg_Destroy(msg);
    if (idSeq != last) {
        *error = u"stream %1 holds at sequence %2 a message that is not entry %2 of %3 (someone "
                 "else publishes on %4): stream sequences no longer match entry sequences; "
                 "delete the stream and resync the other regions"_s
                         .arg(QString::fromUtf8(m_ownStream),
                              QString::number(last),
                              m_config.regionId,
                              QString::fromUtf8(m_ownSubject));
        return false;
    }
    return true;
}

void NatsSession::controlLoop()
{
    QString error;
    while (!connect(&error)) {
        if (stopping())
            return;
        qCWarning(lcNats) << error;
        m_bridge->post([error](NatsTransport *t) { t->onConnectionChanged(false, error); });
        if (m_opts) {
            natsOptions_Destroy(m_opts);
            m_opts = nullptr;
        }
        if (!sleepFor(2000))
            return;
    }
    jsCtx *js = nullptr;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = kApiWaitMs;
    jo.PublishAsync.AckHandler = &NatsSession::onPubAck;
    jo.PublishAsync.AckHandlerClosure = m_bridge;
    jo.PublishAsync.MaxPending = m_config.nats.maxPublishAhead + 64;
    if (natsStatus s = natsConnection_JetStream(&js, m_nc, &jo); s != NATS_OK) {
        const QString why = u"cannot create a JetStream context: "_s + statusText(s);
        m_bridge->post([why](NatsTransport *t) { t->onConnectionChanged(false, why); });
        return;
    }
    if (natsStatus s = natsConnection_Subscribe(&m_hbSub,
                                                m_nc,
                                                m_hbFilter.constData(),
                                                &NatsSession::onHeartbeatMsg,
                                                m_bridge);
        s != NATS_OK) {
        const QString why = u"cannot subscribe to heartbeats: "_s + statusText(s);
        m_bridge->post([why](NatsTransport *t) { t->onConnectionChanged(false, why); });
        jsCtx_Destroy(js);
        return;
    }
    quint64 last = 0;
    for (;;) {
        if (!waitConnected())
            break;
        if (ensureOwnStream(js, &last, &error))
            break;
        qCWarning(lcNats) << error;
        m_bridge->post([error](NatsTransport *t) { t->onConnectionChanged(false, error); });
        if (!sleepFor(2000))
            break;
    }
    if (!stopping()) {
        {
            std::lock_guard lock(mutex);
            m_ready = true;
        }
        cv.notify_all(); // fetchers wait for this
        m_bridge->post([last](NatsTransport *t) { t->onOwnStream(last); });
        publishLoop(js);
    }
    jsCtx_Destroy(js);
}

void NatsSession::publishLoop(jsCtx *js)
{
    // Publishes are pipelined (asynchronous, acknowledged in order through onPubAck); the
    // expected last sequence makes JetStream refuse any entry whose predecessor is missing,
    // so after a failure everything still in flight fails too and nothing lands out of order.
    for (;;) {
        std::deque<Outgoing> batch;
        {
            std::unique_lock lock(mutex);
            cv.wait(lock, [this] {
                return m_stopping || !m_outgoing.empty() || m_bridge->publishFailed;
            });
            if (m_stopping)
                return;
            if (!m_bridge->publishFailed)
                batch.swap(m_outgoing);
        }
        for (const Outgoing &o : batch) {
            {
                std::lock_guard lock(mutex);
                if (m_stopping)
                    return;
                if (o.generation != m_generation || m_bridge->publishFailed)
                    break; // the owner reset publishing, or an earlier entry failed
            }
            if (o.skip) {
                // Entries below o.seq are gone from this region's log and were never stored:
                // the stream starts at o.seq (compacting an empty range moves its first and
                // last sequence), so stream sequences stay entry sequences.
                jsPubOptions wait;
                jsPubOptions_Init(&wait);
                wait.MaxWait = kApiWaitMs;
                js_PublishAsyncComplete(js, &wait);
                jsOptions purge;
                jsOptions_Init(&purge);
                purge.Stream.Purge.Sequence = o.seq;
                jsErrCode code = jsErrCode(0);
                const natsStatus s = js_PurgeStream(js, m_ownStream.constData(), &purge, &code);
                quint64 last = 0;
                QString error;
                if (s != NATS_OK || !verifiedLastSeq(js, &last, &error) || last + 1 != o.seq) {
                    std::lock_guard lock(m_bridge->mutex);
                    if (!m_bridge->publishFailed.exchange(true))
                        m_bridge->publishError = u"cannot start stream %1 at entry %2: %3"_s
                                                         .arg(QString::fromUtf8(m_ownStream),
                                                              QString::number(o.seq),
                                                              s != NATS_OK ? statusText(s, code)
                                                              : error.isEmpty()
                                                                      ? u"it ends at %1"_s.arg(last)
                                                                      : error);
                    break;
                }
                continue;
            }
            natsMsg *msg = nullptr;
            natsStatus s = natsMsg_Create(&msg,
                                          m_ownSubject.constData(),
                                          nullptr,
                                          o.payload.constData(),
                                          int(o.payload.size()));
            const QByteArray id = (m_config.regionId + u':' + QString::number(o.seq)).toUtf8();
            jsPubOptions po;
            jsPubOptions_Init(&po);
            po.MaxWait = kApiWaitMs; // how long to stall when too many are in flight
            po.MsgId = id.constData();
            // The stream's only subject: its last sequence is the stream's, read from the
            // store (nats-server 2.9's Expected-Last-Sequence does not see a compaction). An
            // empty stream has no last message to expect: then onPubAck checks the sequence
            // the entry got.
            po.ExpectLastSubjectSeq = m_streamEmpty ? 0 : o.seq - 1;
            if (s == NATS_OK)
                s = js_PublishMsgAsync(js, &msg, &po); // takes the message on success
            if (s == NATS_OK)
                m_streamEmpty = false;
            if (s != NATS_OK) {
                natsMsg_Destroy(msg);
                std::lock_guard lock(m_bridge->mutex);
                if (!m_bridge->publishFailed.exchange(true))
                    m_bridge->publishError
                            = u"publishing entry %1 to %2 failed: %3"_s.arg(QString::number(o.seq),
                                                                            QString::fromUtf8(
                                                                                    m_ownStream),
                                                                            statusText(s));
                break;
            }
        }
        if (!m_bridge->publishFailed)
            continue;
        // Let what is in flight settle, then tell the owner where the stream really is.
        jsPubOptions wait;
        jsPubOptions_Init(&wait);
        wait.MaxWait = kApiWaitMs;
        js_PublishAsyncComplete(js, &wait);
        quint64 streamLast = 0;
        QString infoError;
        // (Re)creates the stream if it is gone, e.g. a server that lost its store: this
        // region then publishes again from its first retained entry.
        const bool known = ensureOwnStream(js, &streamLast, &infoError);
        QString why;
        {
            std::lock_guard lock(m_bridge->mutex);
            why = m_bridge->publishError;
            m_bridge->publishError.clear();
            m_bridge->publishFailed = false;
        }
        if (!known)
            why += u"; "_s + infoError;
        {
            std::lock_guard lock(mutex);
            m_outgoing.clear();
        }
        m_bridge->post([known, streamLast, why](NatsTransport *t) {
            t->onPublishFailed(known ? streamLast : ~quint64(0), why);
        });
        if (!sleepFor(kRetryMs))
            return;
    }
}

void NatsSession::onPubAck(jsCtx *, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    auto *bridge = static_cast<NatsBridge *>(closure);
    const quint64 seq = msgIdSeq(msg, bridge->regionId);
    natsMsg_Destroy(msg);
    if (pa && pa->Sequence == seq) {
        bridge->post([seq](NatsTransport *t) { t->onPublished(seq); });
        return;
    }
    QString why = u"no acknowledgement"_s;
    if (pa) {
        why = u"stored as stream sequence %1"_s.arg(pa->Sequence);
    } else if (pae) {
        why = statusText(pae->Err, pae->ErrCode);
        const QString text = pae->ErrText ? QString::fromUtf8(pae->ErrText) : QString();
        if (!text.isEmpty() && !why.startsWith(text))
            why += u": "_s + text;
    }
    std::lock_guard lock(bridge->mutex);
    if (!bridge->publishFailed.exchange(true))
        bridge->publishError = u"publishing entry %1 failed: %2"_s.arg(QString::number(seq), why);
    if (bridge->session) {
        // Under the session's mutex, so the publishing thread cannot miss the wake-up.
        std::lock_guard sessionLock(bridge->session->mutex);
        bridge->session->cv.notify_all();
    }
}

void NatsSession::fetchLoop(QString origin, quint64 next)
{
    {
        std::unique_lock lock(mutex);
        cv.wait(lock, [this] { return m_stopping || m_ready; });
        if (m_stopping)
            return;
    }
    const QByteArray stream = m_config.nats.streamName(origin).toUtf8();
    const QByteArray subject = m_config.nats.logSubject(origin).toUtf8();
    jsCtx *js = nullptr;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = kApiWaitMs;
    if (natsConnection_JetStream(&js, m_nc, &jo) != NATS_OK)
        return;
    natsSubscription *sub = nullptr;
    const auto dropSub = [&] {
        if (sub) {
            natsSubscription_Unsubscribe(sub); // deletes the ephemeral consumer when connected
            natsSubscription_Destroy(sub);
            sub = nullptr;
        }
    };
    // Reads the stream's state and tells the owner; false if the stream cannot be read.
    const auto streamState = [&](quint64 *first, quint64 *last) {
        jsStreamInfo *si = nullptr;
        jsErrCode code = jsErrCode(0);
        if (js_GetStreamInfo(&si, js, stream.constData(), nullptr, &code) != NATS_OK)
            return false;
        *first = si->State.FirstSeq;
        *last = si->State.LastSeq;
        jsStreamInfo_Destroy(si);
        const quint64 f = *first;
        const quint64 l = *last;
        m_bridge->post([origin, f, l](NatsTransport *t) { t->onStreamState(origin, f, l); });
        return true;
    };
    while (!stopping()) {
        if (!sub) {
            quint64 first = 0;
            quint64 last = 0;
            if (!streamState(&first, &last)) {
                sleepFor(kRetryMs * 2); // not created yet (origin never started) or no NATS
                continue;
            }
            if (first > next && last >= next) {
                // The stream's limits dropped entries this replica has not applied: the owner
                // reports needs_resync; a resync restarts the transport from new cursors.
                sleepFor(kRetryMs * 4);
                continue;
            }
            jsSubOptions so;
            jsSubOptions_Init(&so);
            so.Stream = stream.constData();
            so.ManualAck = true;
            so.Config.DeliverPolicy = js_DeliverByStartSequence;
            so.Config.OptStartSeq = next;
            so.Config.AckPolicy = js_AckAll;
            so.Config.MaxAckPending = std::max(1024, 4 * m_config.nats.fetchBatch);
            so.Config.InactiveThreshold = qint64(kConsumerIdleS) * 1000 * kMsToNs;
            jsErrCode code = jsErrCode(0);
            const natsStatus s
                    = js_PullSubscribe(&sub, js, subject.constData(), nullptr, nullptr, &so, &code);
            if (s != NATS_OK) {
                qCWarning(lcNats) << "cannot create a consumer of" << stream << ":"
                                  << statusText(s, code);
                sub = nullptr;
                sleepFor(kRetryMs * 2);
                continue;
            }
        }
        // What is there now, without waiting; if nothing, wait for the next entry only (a
        // pull for more would be held by the server until it filled up or expired).
        natsMsgList list{nullptr, 0};
        jsFetchRequest req;
        jsFetchRequest_Init(&req);
        req.Batch = m_config.nats.fetchBatch;
        req.NoWait = true;
        req.Expires = qint64(kFetchWaitMs) * kMsToNs;
        natsStatus s = natsSubscription_FetchRequest(&list, sub, &req);
        if (list.Count == 0 && (s == NATS_NOT_FOUND || s == NATS_TIMEOUT)) {
            natsMsgList_Destroy(&list);
            jsFetchRequest_Init(&req);
            req.Batch = 1;
            req.Expires = qint64(kFetchWaitMs) * kMsToNs;
            s = natsSubscription_FetchRequest(&list, sub, &req);
        }
        if (list.Count == 0) {
            natsMsgList_Destroy(&list);
            if (stopping())
                break;
            quint64 first = 0;
            quint64 last = 0;
            // Nothing came although the stream has entries for us: the consumer is gone
            // (server restarted, idle too long) or the stream was recreated. Start over.
            if (s != NATS_TIMEOUT || !streamState(&first, &last) || last >= next || first > next) {
                dropSub();
                if (s != NATS_TIMEOUT)
                    sleepFor(kRetryMs / 2);
            }
            continue;
        }
        auto batch = std::make_shared<NatsBatch>();
        batch->session = this;
        batch->origin = origin;
        bool restart = false;
        for (int i = 0; i < list.Count && !restart; ++i) {
            natsMsg *msg = list.Msgs[i];
            LogEntry entry;
            ByteReader reader(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
            if (!entry.decode(reader) || entry.origin != origin) {
                qCWarning(lcNats) << "ignoring a message on" << subject
                                  << "that is not a log entry of" << origin;
                continue;
            }
            const quint64 expected = next + quint64(batch->entries.size());
            if (entry.seq < expected)
                continue; // a duplicate delivery
            if (entry.seq > expected) {
                restart = true; // a gap: entries were dropped; the stream state tells
                break;
            }
            batch->entries.append(std::move(entry));
        }
        bool applied = true;
        if (!batch->entries.isEmpty()) {
            const quint64 lastSeq = batch->entries.last().seq;
            m_bridge->post([batch](NatsTransport *t) { t->onBatch(batch); });
            std::unique_lock lock(mutex);
            cv.wait(lock, [&] { return m_stopping || batch->done; });
            if (!batch->done) {
                lock.unlock();
                natsMsgList_Destroy(&list);
                break;
            }
            if (batch->ok && batch->cursor >= lastSeq) {
                next = lastSeq + 1;
            } else {
                // Not applied (an error, or a schema mismatch): read again from the cursor.
                next = batch->ok ? batch->cursor + 1 : next;
                applied = false;
            }
        }
        if (applied && !restart)
            natsMsg_Ack(list.Msgs[list.Count - 1], nullptr); // AckAll: up to this one
        natsMsgList_Destroy(&list);
        if (!applied || restart) {
            dropSub();
            if (!applied)
                sleepFor(kRetryMs * 2);
        }
    }
    dropSub();
    jsCtx_Destroy(js);
}

void NatsSession::onConnected(natsConnection *, void *closure)
{
    static_cast<NatsBridge *>(closure)->post(
            [](NatsTransport *t) { t->onConnectionChanged(true, {}); });
}

void NatsSession::onDisconnected(natsConnection *, void *closure)
{
    static_cast<NatsBridge *>(closure)->post([](NatsTransport *t) {
        t->onConnectionChanged(false,
                               u"lost the connection to NATS at %1; reconnecting"_s.arg(
                                       t->m_config.nats.servers.join(u", "_s)));
    });
}

void NatsSession::onReconnected(natsConnection *, void *closure)
{
    static_cast<NatsBridge *>(closure)->post(
            [](NatsTransport *t) { t->onConnectionChanged(true, {}); });
}

void NatsSession::onHeartbeatMsg(natsConnection *, natsSubscription *, natsMsg *msg, void *closure)
{
    auto *bridge = static_cast<NatsBridge *>(closure);
    auto a = Wire::parseHeartbeat(QByteArray(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
    if (!a || a->regionId == bridge->regionId || !SyncConfig::isValidRegionId(a->regionId))
        return;
    bridge->post([a = *a](NatsTransport *t) { t->onHeartbeat(a); });
}

} // namespace Internal

using namespace Internal;

NatsTransport::NatsTransport(TransportHost *host, const SyncConfig &config, QObject *parent)
    : Transport(host, parent)
    , m_config(config)
{
    m_heartbeatTimer.setInterval(std::max(10, config.heartbeatIntervalMs));
    connect(&m_heartbeatTimer, &QTimer::timeout, this, &NatsTransport::sendHeartbeat);
    m_retryTimer.setSingleShot(true);
    m_retryTimer.setInterval(kRetryMs);
    connect(&m_retryTimer, &QTimer::timeout, this, &NatsTransport::pump);
    m_pumpTimer.setSingleShot(true);
    m_pumpTimer.setInterval(0);
    connect(&m_pumpTimer, &QTimer::timeout, this, &NatsTransport::pump);
}

NatsTransport::~NatsTransport()
{
    stop();
}

void NatsTransport::setSnapshotHandler(TcpTransport::SnapshotHandler handler)
{
    m_snapshotHandler = std::move(handler);
}

quint16 NatsTransport::listenPort() const
{
    return m_snapshots ? m_snapshots->listenPort() : 0;
}

SyncResult<void> NatsTransport::start()
{
    if (m_running)
        return {};
    if (const auto problem = SyncConfig::natsConfigProblem(m_config.nats))
        return syncError(SyncError::Code::InvalidArgument, u"nats."_s + problem->text());
    if (m_config.listen) {
        SyncConfig snapshotConfig = m_config;
        snapshotConfig.peers.clear();
        m_snapshots = new TcpTransport(host(), snapshotConfig, this);
        m_snapshots->setSnapshotsOnly(true);
        m_snapshots->setSnapshotHandler(m_snapshotHandler);
        if (auto r = m_snapshots->start(); !r) {
            delete m_snapshots;
            m_snapshots = nullptr;
            return r;
        }
    }
    m_running = true;
    m_ready = false;
    m_natsUp = false;
    m_downReason = u"connecting to NATS at %1"_s.arg(m_config.nats.servers.join(u", "_s));
    m_published = m_queued = 0;
    m_inFlight.clear();
    m_inFlightBytes = 0;
    m_origins.clear();
    m_session = std::make_shared<NatsSession>(m_config, this);
    m_session->start();
    syncFetchers();
    m_heartbeatTimer.start();
    updateLinks();
    return {};
}

void NatsTransport::stop()
{
    if (!m_running)
        return;
    m_running = false;
    m_heartbeatTimer.stop();
    m_retryTimer.stop();
    m_pumpTimer.stop();
    m_session->stop();
    m_session.reset();
    if (m_snapshots) {
        m_snapshots->stop();
        delete m_snapshots;
        m_snapshots = nullptr;
    }
    m_ready = false;
    m_natsUp = false;
    m_reported.clear();
    m_reportedReason.clear();
}

void NatsTransport::setPeers(const QList<PeerConfig> &peers)
{
    m_config.peers = peers;
    if (!m_running)
        return;
    syncFetchers();
    updateLinks();
}

void NatsTransport::syncFetchers()
{
    // A peer removed later keeps being read until the next restart: harmless, its entries
    // are applied like any relayed ones.
    const CursorVector cursors = host()->logHeads();
    for (const PeerConfig &p : std::as_const(m_config.peers))
        m_session->ensureFetcher(p.regionId, cursors.value(p.regionId) + 1);
}

void NatsTransport::entriesAvailable()
{
    // Publish on the next event-loop turn: writes made back to back (a burst, or an origin
    // that fell behind) are read from the log and handed to the publishing thread together,
    // one wake-up instead of one per write. Publishing one entry per write made the peers
    // fetch and fsync tiny batches and cost the origin its write rate (docs/benchmarks.md).
    if (m_ready && host()->logHeads().value(m_config.regionId) >= m_queued + kPublishEagerEntries) {
        m_pumpTimer.stop();
        pump();
        return;
    }
    if (!m_pumpTimer.isActive())
        m_pumpTimer.start();
}

QStringList NatsTransport::connectedPeers() const
{
    QStringList out;
    for (auto it = m_reported.cbegin(); it != m_reported.cend(); ++it) {
        if (it.value())
            out.append(it.key());
    }
    out.sort();
    return out;
}

void NatsTransport::onConnectionChanged(bool up, const QString &reason)
{
    if (!m_running)
        return;
    if (up != m_natsUp)
        qCInfo(lcNats).noquote() << m_config.regionId
                                 << (up ? u"connected to NATS"_s : u"NATS: "_s + reason);
    m_natsUp = up;
    if (!up)
        m_downReason = reason;
    else if (!m_ready)
        m_downReason = u"setting up stream %1 on NATS"_s.arg(
                m_config.nats.streamName(m_config.regionId));
    updateLinks();
    if (up) {
        sendHeartbeat();
        pump();
    }
}

void NatsTransport::onOwnStream(quint64 lastSeq)
{
    if (!m_running)
        return;
    const quint64 head = host()->logHeads().value(m_config.regionId);
    if (lastSeq > head)
        qCWarning(lcNats) << "stream" << m_config.nats.streamName(m_config.regionId) << "holds"
                          << lastSeq << "entries of" << m_config.regionId << "but its log only"
                          << head << ": was the region id reused?";
    m_published = m_queued = lastSeq;
    m_inFlight.clear();
    m_inFlightBytes = 0;
    m_ready = true;
    m_natsUp = true;
    qCInfo(lcNats) << m_config.regionId << "publishes to stream"
                   << m_config.nats.streamName(m_config.regionId) << "from entry" << lastSeq + 1;
    updateLinks();
    sendHeartbeat();
    pump();
}

void NatsTransport::onPublished(quint64 lastSeq)
{
    if (!m_running)
        return;
    m_published = std::max(m_published, lastSeq);
    m_queued = std::max(m_queued, m_published);
    while (!m_inFlight.empty() && m_inFlight.front().first <= m_published) {
        m_inFlightBytes -= m_inFlight.front().second;
        m_inFlight.pop_front();
    }
    pump();
}

void NatsTransport::onPublishFailed(quint64 streamLastSeq, const QString &error)
{
    if (!m_running)
        return;
    qCWarning(lcNats).noquote() << m_config.regionId << error;
    if (streamLastSeq != ~quint64(0)) {
        // The stream is the truth: entries an earlier attempt stored whose acknowledgement was
        // lost are not sent again; a stream that lost entries gets them again.
        m_published = streamLastSeq;
    }
    m_queued = m_published;
    m_inFlight.clear();
    m_inFlightBytes = 0;
    m_session->resetPublishing(++m_generation); // drops what was queued after the failure
    m_retryTimer.start();
}

void NatsTransport::pump()
{
    if (!m_running || !m_ready || !m_natsUp || m_retryTimer.isActive())
        return;
    const QString self = m_config.regionId;
    if (m_queued >= host()->logHeads().value(self))
        return; // nothing new (the common case: called on every acknowledgement)
    for (;;) {
        // Bounded by entries and bytes handed to the publisher and not yet confirmed.
        const qint64 room = qint64(m_config.nats.maxPublishAhead) - qint64(m_queued - m_published);
        if (room <= 0 || m_inFlightBytes >= 8 * m_config.batchMaxBytes)
            return;
        auto batch = host()->readLog(self,
                                     m_queued,
                                     int(std::min<qint64>(room, m_config.batchMaxEntries)),
                                     m_config.batchMaxBytes);
        if (!batch) {
            qCWarning(lcNats) << "cannot read the replication log:" << batch.error().message;
            return;
        }
        const quint64 low = host()->logLowWater().value(self);
        if (batch->isEmpty() && low > m_queued + 1) {
            // Pruned from the log and never stored in the stream (a lost or new stream; or
            // NATS was unreachable past maxLogRetentionMs): the stream starts after them, and a
            // region that had not applied them reports needs_resync from its first sequence.
            qCWarning(lcNats) << "entries" << m_queued + 1 << "to" << low - 1 << "of" << self
                              << "are no longer in its log; stream"
                              << m_config.nats.streamName(self) << "starts at" << low;
            m_session->enqueue(m_generation, low, {}, true);
            m_queued = low - 1;
            continue;
        }
        if (batch->isEmpty())
            return;
        for (const LogEntry &e : std::as_const(*batch)) {
            QByteArray payload;
            ByteWriter w(&payload);
            e.encode(w);
            m_inFlight.emplace_back(e.seq, payload.size());
            m_inFlightBytes += payload.size();
            m_session->enqueue(m_generation, e.seq, std::move(payload));
            m_queued = e.seq;
        }
    }
}

void NatsTransport::sendHeartbeat()
{
    if (!m_running)
        return;
    if (m_natsUp)
        m_session->publishHeartbeat(Wire::heartbeat(announcement()));
    updateLinks();
    pump();
}

void NatsTransport::onHeartbeat(const PeerAnnouncement &a)
{
    if (!m_running)
        return;
    const bool configured
            = std::any_of(m_config.peers.cbegin(), m_config.peers.cend(), [&](const PeerConfig &p) {
                  return p.regionId == a.regionId;
              });
    if (!configured)
        return;
    Origin &o = m_origins[a.regionId];
    o.heard = true;
    o.heardAtMs = QDateTime::currentMSecsSinceEpoch();
    o.last = a;
    updateLinks(); // connected first, so the announcement counts as fresh contact
    announce(a.regionId);
    // The heads are what the peer durably applied: entries every peer has are prunable.
    host()->peerAcknowledged(a.regionId, a.heads);
}

void NatsTransport::announce(const QString &origin)
{
    const Origin &o = m_origins[origin];
    PeerAnnouncement a;
    if (o.heard) {
        a = o.last;
        a.wallClockMs += QDateTime::currentMSecsSinceEpoch() - o.heardAtMs;
    } else {
        // Never heard of it, but its stream says entries are lost: report that anyway.
        a.regionId = origin;
        a.schemaVersion = host()->schemaVersion();
        a.wallClockMs = host()->wallClockMs();
    }
    // Replicas read the origin's stream, not its log: the stream bounds what they can get.
    a.lowWater.clear();
    if (o.streamKnown) {
        a.lowWater.insert(origin, o.streamFirst);
        a.heads[origin] = std::max(a.heads.value(origin), o.streamLast);
    }
    host()->peerAnnounced(a);
}

void NatsTransport::onStreamState(const QString &origin, quint64 firstSeq, quint64 lastSeq)
{
    if (!m_running)
        return;
    Origin &o = m_origins[origin];
    const bool changed = !o.streamKnown || o.streamFirst != firstSeq || o.streamLast != lastSeq;
    o.streamKnown = true;
    o.streamFirst = firstSeq;
    o.streamLast = lastSeq;
    const quint64 applied = host()->logHeads().value(origin);
    const bool lost = firstSeq > applied + 1 && lastSeq > applied;
    if (changed && (o.heard || lost))
        announce(origin);
}

void NatsTransport::onBatch(const std::shared_ptr<NatsBatch> &batch)
{
    if (!m_running || batch->session != m_session.get())
        return;
    const auto result = host()->applyEntries(batch->origin, batch->entries);
    if (!result)
        qCWarning(lcNats) << "applying" << batch->entries.size() << "entries of" << batch->origin
                          << "from JetStream failed:" << result.error().message;
    Origin &o = m_origins[batch->origin];
    o.streamLast = std::max(o.streamLast, batch->entries.last().seq);
    m_session->complete(batch, result);
}

void NatsTransport::updateLinks()
{
    if (!m_running)
        return;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (const PeerConfig &p : std::as_const(m_config.peers)) {
        const QString &origin = p.regionId;
        const Origin o = m_origins.value(origin);
        bool connected = false;
        QString reason;
        if (!m_natsUp || !m_ready) {
            reason = m_downReason;
        } else if (!o.heard) {
            reason = u"%1 has not announced itself on NATS (%2) yet"_s
                             .arg(origin, m_config.nats.heartbeatSubject(origin));
        } else if (now - o.heardAtMs > m_config.connectionTimeoutMs) {
            reason = u"no heartbeat from %1 over NATS: it is down or cannot reach NATS"_s.arg(
                    origin);
        } else {
            connected = true;
        }
        const auto prev = m_reported.constFind(origin);
        if (prev != m_reported.cend() && *prev == connected
            && m_reportedReason.value(origin) == reason)
            continue;
        m_reported.insert(origin, connected);
        m_reportedReason.insert(origin, reason);
        host()->peerConnectionChanged(origin, connected, reason);
    }
}

} // namespace Meridian
