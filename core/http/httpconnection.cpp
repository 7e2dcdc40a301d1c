#include "core/http/httpconnection.h"

#include "core/http/httpdate.h"
#include "core/http/httplogging.h"
#include "core/http/httpserver.h"

#include <QIODevice>
#include <QSslSocket>
#include <QTimerEvent>

#include <sys/socket.h>
#include <unistd.h>

#include <exception>

using namespace Qt::StringLiterals;

namespace Meridian::Internal {

namespace {

constexpr qint64 kSocketReadBuffer = 64 * 1024;
constexpr qint64 kWriteHighWater = 256 * 1024;
constexpr qint64 kFileChunk = 64 * 1024;

bool statusHasBody(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

bool isFramingHeader(QByteArrayView name)
{
    return HttpHeaders::nameEquals(name, "Content-Length")
           || HttpHeaders::nameEquals(name, "Transfer-Encoding")
           || HttpHeaders::nameEquals(name, "Connection")
           || HttpHeaders::nameEquals(name, "Keep-Alive");
}

} // namespace

ResponderState::~ResponderState()
{
    if (!handle)
        return;
    QMutexLocker lock(&handle->mutex);
    if (phase == Phase::Finished || closed || !handle->connection)
        return;
    HttpConnection *connection = handle->connection;
    const quint64 s = seq;
    QMetaObject::invokeMethod(
            connection,
            [connection, s] { connection->responderAbandoned(s); },
            Qt::QueuedConnection);
}

HttpConnection::HttpConnection(qintptr descriptor,
                               std::shared_ptr<ServerContext> context,
                               QObject *parent)
    : QObject(parent)
    , m_context(std::move(context))
    , m_handle(std::make_shared<ConnectionHandle>())
    , m_socket(m_context->config.tls.isEnabled() ? new QSslSocket(this) : new QTcpSocket(this))
    , m_parser(HttpRequestParser::Limits{m_context->config.maxHeaderBytes,
                                         m_context->config.maxBodyBytes,
                                         m_context->config.maxHeaderCount})
{
    m_handle->connection = this;
    ++m_context->openConnections;
    const auto now = Clock::now();
    m_lastRead = m_lastWrite = m_lastActivity = m_requestStart = now;
    if (!m_socket->setSocketDescriptor(descriptor)) {
        qCWarning(lcHttp) << "cannot adopt accepted socket:" << m_socket->errorString();
        ::close(int(descriptor));
        m_dead = true;
        --m_context->openConnections;
        QMetaObject::invokeMethod(this, &HttpConnection::closed, Qt::QueuedConnection);
        return;
    }
    m_socket->setReadBufferSize(kSocketReadBuffer);
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_peerAddress = m_socket->peerAddress();
    m_peerPort = m_socket->peerPort();
    connect(m_socket, &QTcpSocket::readyRead, this, &HttpConnection::onReadyRead);
    connect(m_socket, &QTcpSocket::bytesWritten, this, &HttpConnection::onBytesWritten);
    if (auto *ssl = qobject_cast<QSslSocket *>(m_socket)) {
        m_ssl = ssl;
        // Encrypted bytes wait in the plain socket below: count them as unsent.
        connect(ssl, &QSslSocket::encryptedBytesWritten, this, &HttpConnection::onBytesWritten);
        // Read anew for each connection, so a renewed certificate applies without a restart.
        const TlsFiles::Loaded loaded = m_context->config.tls.load(
                TlsFiles::PeerCertificate::NotRequested);
        if (!loaded.ok()) {
            qCWarning(lcHttp).noquote() << "cannot serve TLS:" << loaded.errorText();
            QMetaObject::invokeMethod(this, &HttpConnection::closeNow, Qt::QueuedConnection);
        } else {
            ssl->setSslConfiguration(loaded.configuration);
            // A client that stalls in the handshake has sent no request: the idle timeout
            // bounds it, as it bounds a connection that never says anything.
            ssl->startServerEncryption();
        }
    }
    connect(m_socket, &QTcpSocket::disconnected, this, &HttpConnection::closeNow);
    connect(m_socket, &QTcpSocket::errorOccurred, this, [this](QAbstractSocket::SocketError e) {
        if (e != QAbstractSocket::RemoteHostClosedError)
            qCDebug(lcHttp) << "socket error from" << m_peerAddress << m_socket->errorString();
        closeNow();
    });
    updateTimer();
    // Data may already be waiting (a client that sent its request with the handshake).
    if (m_socket->bytesAvailable() > 0)
        QMetaObject::invokeMethod(this, &HttpConnection::onReadyRead, Qt::QueuedConnection);
}

qint64 HttpConnection::unsentBytes() const
{
    if (m_ssl)
        return m_ssl->bytesToWrite() + m_ssl->encryptedBytesToWrite();
    return m_socket->bytesToWrite();
}

HttpConnection::~HttpConnection()
{
    if (!m_dead) {
        // Destroyed with its worker: release responders, but emit nothing.
        const QSignalBlocker blocker(this);
        closeNow();
    }
}

void HttpConnection::onReadyRead()
{
    if (m_dead)
        return;
    if (m_lingering || m_stopParsing) {
        // Nothing more will be parsed on this connection: drain and discard.
        m_socket->skip(m_socket->bytesAvailable());
        return;
    }
    if (m_paused)
        return;
    readIntoBuffer();
    processInput();
    updateTimer();
}

void HttpConnection::readIntoBuffer()
{
    const qint64 available = m_socket->bytesAvailable();
    if (available <= 0)
        return;
    if (m_inPos > 0 && m_inPos == m_in.size()) {
        m_in.resize(0);
        m_inPos = 0;
    } else if (m_inPos > 0 && m_inPos >= m_in.size() / 2) {
        m_in.remove(0, m_inPos);
        m_inPos = 0;
    }
    const qsizetype old = m_in.size();
    m_in.resize(old + qsizetype(available));
    const qint64 n = m_socket->read(m_in.data() + old, available);
    m_in.resize(old + qsizetype(qMax<qint64>(n, 0)));
    m_lastRead = m_lastActivity = Clock::now();
}

void HttpConnection::processInput()
{
    if (m_inProcess)
        return;
    m_inProcess = true;
    while (!m_dead && !m_stopParsing) {
        if (qsizetype(m_slots.size()) >= m_context->config.maxPipelinedRequests) {
            m_paused = true;
            break;
        }
        if (m_paused) {
            m_paused = false;
            readIntoBuffer();
        }
        const qsizetype available = m_in.size() - m_inPos;
        if (available == 0)
            break;
        if (!m_parser.inProgress())
            m_requestStart = Clock::now();
        m_inPos += m_parser.feed(m_in.constData() + m_inPos, available);
        const auto status = m_parser.status();
        if (status == HttpRequestParser::Status::NeedMore) {
            if (m_parser.expectsContinue() && !m_continueSent && m_slots.empty()) {
                m_socket->write("HTTP/1.1 100 Continue\r\n\r\n");
                m_continueSent = true;
            }
            break;
        }
        if (status == HttpRequestParser::Status::Error) {
            const auto error = m_parser.error();
            qCDebug(lcHttp) << "rejecting request from" << m_peerAddress << error.status
                            << error.message;
            queueError(error.status, error.message);
            break;
        }
        HttpRequest request = m_parser.takeRequest();
        m_parser.reset();
        m_continueSent = false;
        dispatch(std::move(request));
    }
    m_inProcess = false;
}

void HttpConnection::dispatch(HttpRequest &&request)
{
    request.setPeer(m_peerAddress, m_peerPort);
    const HttpHeaders &h = request.headers();
    bool keepAlive = request.minorVersion() >= 1 ? !h.containsToken("Connection", "close")
                                                 : h.containsToken("Connection", "keep-alive");
    if (m_shuttingDown)
        keepAlive = false;
    if (!keepAlive)
        m_stopParsing = true;

    Slot slot;
    slot.seq = m_nextSeq++;
    slot.method = request.method();
    slot.path = request.path();
    if (m_context->observer) {
        slot.target = request.target();
        slot.userAgent = request.header("User-Agent");
    }
    slot.headRequest = request.method() == "HEAD";
    slot.http10 = request.minorVersion() == 0;
    slot.keepAlive = keepAlive;
    slot.start = m_requestStart;
    auto state = std::make_shared<ResponderState>();
    state->handle = m_handle;
    state->seq = slot.seq;
    slot.state = state;
    const quint64 seq = slot.seq;
    m_slots.push_back(std::move(slot));
    ++m_context->inFlight;

    m_inDispatch = true;
    try {
        if (m_context->handler)
            m_context->handler(request, HttpResponder(std::move(state)));
        else
            responderSend(seq, HttpResponse::jsonError(404, u"not_found", u"no handler"));
    } catch (const std::exception &e) {
        qCWarning(lcHttp) << "handler for" << request.method() << request.path()
                          << "threw:" << e.what();
        responderSend(seq, HttpResponse::jsonError(500, u"internal", u"internal error"));
    }
    m_inDispatch = false;
}

void HttpConnection::queueError(int status, const QString &message)
{
    m_stopParsing = true;
    Slot slot;
    slot.seq = m_nextSeq++;
    slot.keepAlive = false;
    slot.start = m_requestStart;
    const quint64 seq = slot.seq;
    m_slots.push_back(std::move(slot));
    ++m_context->inFlight;
    responderSend(seq,
                  HttpResponse::jsonError(status, HttpResponse::defaultErrorCode(status), message));
}

HttpConnection::Slot *HttpConnection::findSlot(quint64 seq)
{
    if (m_dead || m_slots.empty() || seq < m_slots.front().seq)
        return nullptr;
    const quint64 index = seq - m_slots.front().seq;
    return index < m_slots.size() ? &m_slots[index] : nullptr;
}

QByteArray HttpConnection::serializeHead(const HttpResponse &response,
                                         Slot &slot,
                                         qint64 contentLength)
{
    if (response.headers().containsToken("Connection", "close"))
        slot.keepAlive = false;
    if (slot.framing == Slot::Framing::UntilClose)
        slot.keepAlive = false;
    if (!slot.keepAlive)
        m_stopParsing = true;
    slot.status = response.status();

    QByteArray out;
    out.reserve(256 + response.headers().size() * 48);
    out += "HTTP/1.1 ";
    out += QByteArray::number(response.status());
    out += ' ';
    out += response.reasonPhrase(response.status());
    out += "\r\n";
    bool hasDate = false;
    for (const auto &[name, value] : response.headers()) {
        if (isFramingHeader(name))
            continue;
        if (!hasDate && HttpHeaders::nameEquals(name, "Date"))
            hasDate = true;
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    }
    if (!hasDate) {
        out += "Date: ";
        out += HttpDate::now();
        out += "\r\n";
    }
    for (const auto &[name, value] : m_context->config.defaultHeaders) {
        if (!response.headers().contains(name)) {
            out += name;
            out += ": ";
            out += value;
            out += "\r\n";
        }
    }
    if (!m_context->config.serverHeader.isEmpty()) {
        out += "Server: ";
        out += m_context->config.serverHeader;
        out += "\r\n";
    }
    if (statusHasBody(response.status())) {
        if (slot.framing == Slot::Framing::Chunked) {
            out += "Transfer-Encoding: chunked\r\n";
        } else if (slot.framing == Slot::Framing::Length) {
            out += "Content-Length: ";
            out += QByteArray::number(contentLength);
            out += "\r\n";
        }
    }
    if (!slot.keepAlive)
        out += "Connection: close\r\n";
    else if (slot.http10)
        out += "Connection: keep-alive\r\n";
    out += "\r\n";
    return out;
}

void HttpConnection::append(Slot &slot, const QByteArray &bytes)
{
    if (slot.out.isEmpty())
        slot.out = bytes;
    else
        slot.out += bytes;
}

void HttpConnection::responderSend(quint64 seq, HttpResponse response)
{
    Slot *slot = findSlot(seq);
    if (!slot || slot->phase != Slot::Phase::Waiting)
        return;
    const bool body = statusHasBody(response.status());
    qint64 length = response.contentLength();
    if (slot->headRequest && !response.bodyDevice() && response.body().isEmpty()) {
        // HEAD answered by a handler that states the length without producing the body.
        bool ok = false;
        const qint64 declared = response.headers().value("Content-Length").toLongLong(&ok);
        if (ok && declared >= 0)
            length = declared;
    }
    slot->framing = Slot::Framing::Length;
    append(*slot, serializeHead(response, *slot, length));
    if (body && !slot->headRequest) {
        if (response.bodyDevice()) {
            slot->device = response.bodyDevice();
            slot->deviceRemaining = response.bodyDeviceLength();
        } else if (!response.body().isEmpty()) {
            append(*slot, response.body());
        }
    }
    slot->phase = Slot::Phase::Done;
    flush();
    if (!m_inDispatch)
        processInput();
    updateTimer();
}

void HttpConnection::responderBegin(quint64 seq, HttpResponse head)
{
    Slot *slot = findSlot(seq);
    if (!slot || slot->phase != Slot::Phase::Waiting)
        return;
    bool ok = false;
    const qint64 declared = head.headers().value("Content-Length").toLongLong(&ok);
    if (ok && declared >= 0) {
        slot->framing = Slot::Framing::Length;
        slot->streamRemaining = declared;
    } else {
        slot->framing = slot->http10 ? Slot::Framing::UntilClose : Slot::Framing::Chunked;
    }
    append(*slot, serializeHead(head, *slot, declared));
    slot->phase = statusHasBody(head.status()) ? Slot::Phase::Streaming : Slot::Phase::Done;
    flush();
    updateTimer();
}

void HttpConnection::responderWrite(quint64 seq, const QByteArray &data)
{
    Slot *slot = findSlot(seq);
    if (!slot || slot->phase != Slot::Phase::Streaming || data.isEmpty() || slot->headRequest)
        return;
    switch (slot->framing) {
    case Slot::Framing::Chunked: {
        QByteArray frame;
        frame.reserve(data.size() + 20);
        frame += QByteArray::number(data.size(), 16);
        frame += "\r\n";
        frame += data;
        frame += "\r\n";
        append(*slot, frame);
        break;
    }
    case Slot::Framing::Length:
        if (data.size() > slot->streamRemaining) {
            qCWarning(lcHttp) << "streamed body longer than its Content-Length; closing";
            abortNow();
            return;
        }
        slot->streamRemaining -= data.size();
        append(*slot, data);
        break;
    case Slot::Framing::UntilClose:
        append(*slot, data);
        break;
    }
    const qint64 buffered = slot->out.size() + unsentBytes();
    if (buffered > m_context->config.maxStreamBufferBytes) {
        qCInfo(lcHttp) << "client" << m_peerAddress << "reads too slowly; dropping its stream";
        abortNow();
        return;
    }
    flush();
    updateTimer();
}

void HttpConnection::responderEnd(quint64 seq)
{
    Slot *slot = findSlot(seq);
    if (!slot || slot->phase != Slot::Phase::Streaming)
        return;
    if (!slot->headRequest) {
        if (slot->framing == Slot::Framing::Chunked)
            append(*slot, QByteArrayLiteral("0\r\n\r\n"));
        else if (slot->framing == Slot::Framing::Length && slot->streamRemaining > 0)
            slot->keepAlive = false; // the body came up short: only closing tells the client
    }
    if (!slot->keepAlive)
        m_stopParsing = true;
    slot->phase = Slot::Phase::Done;
    flush();
    if (!m_inDispatch)
        processInput();
    updateTimer();
}

void HttpConnection::responderAbandoned(quint64 seq)
{
    Slot *slot = findSlot(seq);
    if (!slot)
        return;
    if (slot->phase == Slot::Phase::Waiting) {
        qCWarning(lcHttp) << "handler for" << slot->method << slot->path
                          << "dropped its responder without answering";
        responderSend(seq,
                      HttpResponse::jsonError(500,
                                              u"internal",
                                              u"the handler produced no response"));
    } else if (slot->phase == Slot::Phase::Streaming) {
        responderEnd(seq);
    }
}

void HttpConnection::flush()
{
    // The write timeout measures a stalled reader from when a burst of output starts, not from
    // the previous answer (a handler may take longer than the timeout to reply).
    if (!m_dead && unsentBytes() == 0)
        m_lastWrite = Clock::now();
    while (!m_dead && !m_slots.empty()) {
        Slot &s = m_slots.front();
        if (!s.out.isEmpty()) {
            m_socket->write(s.out);
            s.bytesSent += s.out.size();
            s.out.clear();
        }
        if (s.device) {
            if (m_fileBuffer.size() < kFileChunk)
                m_fileBuffer.resize(kFileChunk);
            while (s.deviceRemaining > 0 && unsentBytes() < kWriteHighWater) {
                const qint64 n = s.device->read(m_fileBuffer.data(),
                                                qMin<qint64>(s.deviceRemaining, kFileChunk));
                if (n <= 0) {
                    qCWarning(lcHttp) << "body source for" << s.path
                                      << "ended early:" << s.device->errorString();
                    abortNow();
                    return;
                }
                m_socket->write(m_fileBuffer.constData(), n);
                s.deviceRemaining -= n;
                s.bytesSent += n;
            }
            if (s.deviceRemaining > 0)
                return; // continue on bytesWritten
            s.device.reset();
        }
        if (s.phase != Slot::Phase::Done)
            return;
        finishFront();
    }
    afterFlush();
}

void HttpConnection::finishFront()
{
    Slot s = std::move(m_slots.front());
    m_slots.pop_front();
    --m_context->inFlight;
    m_lastActivity = Clock::now();
    if (auto state = s.state.lock()) {
        QMutexLocker lock(&m_handle->mutex);
        state->phase = ResponderState::Phase::Finished;
    }
    if (m_context->observer) {
        HttpAccessRecord record;
        record.method = s.method;
        record.path = s.path;
        record.target = s.target;
        record.userAgent = s.userAgent;
        record.status = s.status;
        record.bytesSent = s.bytesSent;
        record.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now()
                                                                               - s.start);
        record.peerAddress = m_peerAddress;
        m_context->observer(record);
    }
    if (!s.keepAlive) {
        m_closeAfterFlush = true;
        m_stopParsing = true;
        // Requests pipelined behind a closing response are not answered; release them.
        while (!m_slots.empty()) {
            Slot dropped = std::move(m_slots.front());
            m_slots.pop_front();
            --m_context->inFlight;
            if (auto state = dropped.state.lock()) {
                std::function<void()> callback;
                {
                    QMutexLocker lock(&m_handle->mutex);
                    state->closed = true;
                    callback = std::move(state->onClosed);
                }
                if (callback)
                    callback();
            }
        }
    }
}

void HttpConnection::afterFlush()
{
    if (!readyToClose())
        return;
    if (!m_ssl) {
        startLingeringClose();
        return;
    }
    // QSslSocket emits bytesWritten once it has encrypted the bytes, but before it hands the
    // encrypted bytes to the plain socket below, so here they may be counted nowhere yet. A
    // half-close now would drop them (a clean FIN with the end of the body missing): decide
    // again once the TLS layer has returned to the event loop.
    if (!m_closeCheckQueued) {
        m_closeCheckQueued = true;
        QMetaObject::invokeMethod(this, &HttpConnection::closeOnceEncrypted, Qt::QueuedConnection);
    }
}

bool HttpConnection::readyToClose() const
{
    if (m_dead || m_lingering || !m_slots.empty() || unsentBytes() > 0)
        return false;
    return m_closeAfterFlush || (m_shuttingDown && !m_parser.inProgress());
}

void HttpConnection::closeOnceEncrypted()
{
    m_closeCheckQueued = false;
    // Bytes still unsent now sit in the plain socket; its encryptedBytesWritten checks again.
    if (readyToClose())
        startLingeringClose();
}

void HttpConnection::onBytesWritten()
{
    if (m_dead)
        return;
    m_lastWrite = m_lastActivity = Clock::now();
    flush();
    updateTimer();
}

void HttpConnection::startLingeringClose()
{
    // Half-close so the client sees the whole response before the FIN, then drain what it still
    // sends for a moment: closing with unread input would reset the connection and could destroy
    // the response in flight.
    m_lingering = true;
    m_lingerStart = Clock::now();
    {
        QMutexLocker lock(&m_handle->mutex);
        m_handle->connection = nullptr;
    }
    m_socket->flush();
    ::shutdown(int(m_socket->socketDescriptor()), SHUT_WR);
    m_socket->skip(m_socket->bytesAvailable());
    updateTimer();
}

void HttpConnection::beginShutdown()
{
    if (m_dead)
        return;
    m_shuttingDown = true;
    if (m_slots.empty()) {
        afterFlush(); // closes once the last answer's bytes have left
        return;
    }
    m_slots.back().keepAlive = false;
    m_stopParsing = true;
}

void HttpConnection::abortNow()
{
    closeNow();
}

void HttpConnection::closeNow()
{
    if (m_dead)
        return;
    m_dead = true;
    --m_context->openConnections;
    m_timer.stop();
    {
        QMutexLocker lock(&m_handle->mutex);
        m_handle->connection = nullptr;
    }
    m_context->inFlight -= qint64(m_slots.size());
    std::deque<Slot> pending;
    pending.swap(m_slots);
    for (Slot &s : pending) {
        if (auto state = s.state.lock()) {
            std::function<void()> callback;
            {
                QMutexLocker lock(&m_handle->mutex);
                state->closed = true;
                callback = std::move(state->onClosed);
            }
            if (callback)
                callback();
        }
    }
    m_socket->disconnect(this);
    m_socket->abort();
    emit closed();
}

std::pair<HttpConnection::Clock::time_point, HttpConnection::Wait> HttpConnection::nextDeadline() const
{
    const HttpServerConfig &c = m_context->config;
    if (m_dead)
        return {{}, Wait::None};
    if (m_lingering)
        return {m_lingerStart + c.lingerTimeout, Wait::Linger};
    const bool writing = unsentBytes() > 0
                         || (!m_slots.empty() && m_slots.front().deviceRemaining > 0);
    if (writing)
        return {m_lastWrite + c.writeTimeout, Wait::Write};
    if (!m_stopParsing && !m_paused && m_parser.inProgress()) {
        if (!m_parser.headComplete())
            return {m_requestStart + c.headerTimeout, Wait::Header};
        return {std::min(m_lastRead + c.bodyTimeout, m_requestStart + c.requestTimeout), Wait::Body};
    }
    if (m_slots.empty())
        return {m_lastActivity + c.idleTimeout, Wait::Idle};
    return {{}, Wait::None};
}

void HttpConnection::updateTimer()
{
    const auto [deadline, wait] = nextDeadline();
    if (wait == Wait::None)
        return;
    if (m_timer.isActive() && m_timerDeadline <= deadline)
        return; // fires early, re-evaluates then
    const auto now = Clock::now();
    const auto ms = deadline > now
                            ? std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count()
                            : 0;
    m_timerDeadline = deadline;
    m_timer.start(int(qMin<qint64>(ms, 24 * 3600 * 1000)), Qt::PreciseTimer, this);
}

void HttpConnection::timerEvent(QTimerEvent *event)
{
    if (event->timerId() != m_timer.timerId()) {
        QObject::timerEvent(event);
        return;
    }
    m_timer.stop();
    const auto [deadline, wait] = nextDeadline();
    if (wait == Wait::None)
        return;
    if (deadline > Clock::now()) {
        updateTimer();
        return;
    }
    switch (wait) {
    case Wait::None:
        return;
    case Wait::Linger:
    case Wait::Idle:
        closeNow();
        return;
    case Wait::Write:
        qCInfo(lcHttp) << "client" << m_peerAddress << "stopped reading; closing";
        closeNow();
        return;
    case Wait::Header:
    case Wait::Body:
        qCDebug(lcHttp) << "client" << m_peerAddress << "too slow sending its request";
        m_parser.reset();
        queueError(408,
                   wait == Wait::Header ? u"request headers not received in time"_s
                                        : u"request body not received in time"_s);
        updateTimer();
        return;
    }
}

} // namespace Meridian::Internal
