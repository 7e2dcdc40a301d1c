#pragma once

#include "core/http/httphandler.h"
#include "core/http/httprequestparser.h"
#include "core/http/httpserverconfig.h"

#include <QBasicTimer>
#include <QHostAddress>
#include <QMutex>
#include <QObject>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>

class QIODevice;
class QSslSocket;
class QTcpSocket;

namespace Meridian {

struct HttpAccessRecord;

namespace Internal {

class HttpConnection;

// What every connection of one server shares (read-only after listen(), except the counters).
struct ServerContext
{
    HttpServerConfig config;
    HttpHandler handler;
    std::function<void(const HttpAccessRecord &)> observer;
    std::atomic<qint64> openConnections{0};
    std::atomic<qint64> inFlight{0};
};

// The link from responders (any thread) to their connection; cleared when it closes.
struct ConnectionHandle
{
    QMutex mutex;
    HttpConnection *connection = nullptr;
};

// One request's answer state, shared by the copies of its HttpResponder.
struct ResponderState
{
    enum class Phase { Waiting, Streaming, Finished };

    ~ResponderState();

    std::shared_ptr<ConnectionHandle> handle;
    quint64 seq = 0;
    // Guarded by handle->mutex:
    Phase phase = Phase::Waiting;
    int pendingPosts = 0;
    bool closed = false;
    std::function<void()> onClosed;
};

// One accepted TCP connection: reads and parses requests, dispatches them to the handler and
// writes the answers in request order. Lives and dies on its worker's thread.
class HttpConnection final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(HttpConnection)

public:
    HttpConnection(qintptr descriptor, std::shared_ptr<ServerContext> context, QObject *parent);
    ~HttpConnection() override;

    bool isOpen() const { return !m_dead; }

    void responderSend(quint64 seq, HttpResponse response);
    void responderBegin(quint64 seq, HttpResponse head);
    void responderWrite(quint64 seq, const QByteArray &data);
    void responderEnd(quint64 seq);
    void responderAbandoned(quint64 seq);

    // Finish the requests already received, then close; closes idle connections at once.
    void beginShutdown();
    void abortNow();

signals:
    void closed();

protected:
    void timerEvent(QTimerEvent *event) override;

private:
    // Bytes of answers not yet handed to the kernel (with TLS: plaintext and ciphertext).
    qint64 unsentBytes() const;
    using Clock = std::chrono::steady_clock;

    struct Slot
    {
        enum class Phase { Waiting, Streaming, Done };
        enum class Framing { Length, Chunked, UntilClose };

        quint64 seq = 0;
        std::weak_ptr<ResponderState> state;
        QByteArray method;
        QByteArray path;
        QByteArray target; // as the request line had it, query included (for the observer)
        QByteArray userAgent;
        QByteArray out;
        std::shared_ptr<QIODevice> device;
        qint64 deviceRemaining = 0;
        qint64 streamRemaining = 0;
        Phase phase = Phase::Waiting;
        Framing framing = Framing::Length;
        bool headRequest = false;
        bool http10 = false;
        bool keepAlive = true;
        int status = 0;
        qint64 bytesSent = 0;
        Clock::time_point start;
    };

    enum class Wait { None, Linger, Write, Header, Body, Idle };

    void onReadyRead();
    void onBytesWritten();
    void readIntoBuffer();
    void processInput();
    void dispatch(HttpRequest &&request);
    void queueError(int status, const QString &message);
    Slot *findSlot(quint64 seq);
    QByteArray serializeHead(const HttpResponse &response, Slot &slot, qint64 contentLength);
    void append(Slot &slot, const QByteArray &bytes);
    void flush();
    void finishFront();
    void afterFlush();
    bool readyToClose() const;
    void closeOnceEncrypted();
    void startLingeringClose();
    void closeNow();
    std::pair<Clock::time_point, Wait> nextDeadline() const;
    void updateTimer();

    std::shared_ptr<ServerContext> m_context;
    std::shared_ptr<ConnectionHandle> m_handle;
    QTcpSocket *m_socket = nullptr;
    QSslSocket *m_ssl = nullptr; // m_socket when the server speaks TLS
    QHostAddress m_peerAddress;
    quint16 m_peerPort = 0;
    HttpRequestParser m_parser;
    QByteArray m_in;
    qsizetype m_inPos = 0;
    QByteArray m_fileBuffer;
    std::deque<Slot> m_slots;
    quint64 m_nextSeq = 0;
    QBasicTimer m_timer;
    Clock::time_point m_timerDeadline;
    Clock::time_point m_requestStart;
    Clock::time_point m_lastRead;
    Clock::time_point m_lastWrite;
    Clock::time_point m_lastActivity;
    Clock::time_point m_lingerStart;
    bool m_stopParsing = false;
    bool m_paused = false;
    bool m_inDispatch = false;
    bool m_inProcess = false;
    bool m_continueSent = false;
    bool m_closeAfterFlush = false;
    bool m_lingering = false;
    bool m_closeCheckQueued = false;
    bool m_shuttingDown = false;
    bool m_dead = false;
};

} // namespace Internal
} // namespace Meridian
