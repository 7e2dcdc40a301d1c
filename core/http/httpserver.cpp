#include "core/http/httpserver.h"

#include "core/http/httpconnection.h"
#include "core/http/httplogging.h"
#include "core/http/httpworker.h"

#include <QThread>
#include <QTimer>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

// A listening TCP socket made by hand, so SO_REUSEPORT can be set before bind() (QTcpServer
// cannot). Returns the descriptor, or -1 with `error` set.
int makeListeningSocket(const QHostAddress &address,
                        quint16 port,
                        bool reusePort,
                        int backlog,
                        quint16 *boundPort,
                        QString *error)
{
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family = AF_INET;
    bool v6only = false;
    if (address == QHostAddress::Any || address.protocol() == QAbstractSocket::IPv6Protocol) {
        family = AF_INET6;
        auto *sa = reinterpret_cast<sockaddr_in6 *>(&storage);
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons(port);
        if (address == QHostAddress::Any) {
            sa->sin6_addr = in6addr_any;
        } else {
            const Q_IPV6ADDR a = address.toIPv6Address();
            std::memcpy(&sa->sin6_addr, &a, sizeof a);
            sa->sin6_scope_id = address.scopeId().toUInt();
            v6only = true;
        }
        length = sizeof(sockaddr_in6);
    } else if (address.protocol() == QAbstractSocket::IPv4Protocol) {
        auto *sa = reinterpret_cast<sockaddr_in *>(&storage);
        sa->sin_family = AF_INET;
        sa->sin_port = htons(port);
        sa->sin_addr.s_addr = htonl(address.toIPv4Address());
        length = sizeof(sockaddr_in);
    } else {
        *error = u"cannot listen on %1: not an IP address"_s.arg(address.toString());
        return -1;
    }
    const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *error = u"socket(): %1"_s.arg(QString::fromLocal8Bit(std::strerror(errno)));
        return -1;
    }
    const int one = 1;
    const int zero = 0;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reusePort)
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (family == AF_INET6)
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? &one : &zero, sizeof one);
    if (::bind(fd, reinterpret_cast<sockaddr *>(&storage), length) != 0
        || ::listen(fd, backlog) != 0) {
        *error = u"cannot listen on %1 port %2: %3"_s.arg(address.toString())
                         .arg(port)
                         .arg(QString::fromLocal8Bit(std::strerror(errno)));
        ::close(fd);
        return -1;
    }
    sockaddr_storage bound{};
    socklen_t boundLength = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&bound), &boundLength);
    *boundPort = bound.ss_family == AF_INET6
                         ? ntohs(reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port)
                         : ntohs(reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
    return fd;
}

} // namespace

HttpServer::HttpServer(HttpServerConfig config, QObject *parent)
    : QObject(parent)
    , m_context(std::make_shared<Internal::ServerContext>())
{
    m_context->config = std::move(config);
}

HttpServer::~HttpServer()
{
    stopWorkers();
}

void HttpServer::setHandler(HttpHandler handler)
{
    if (m_listening) {
        qCWarning(lcHttp) << "HttpServer::setHandler() after listen() is ignored";
        return;
    }
    m_context->handler = std::move(handler);
}

void HttpServer::setRequestObserver(RequestObserver observer)
{
    if (m_listening) {
        qCWarning(lcHttp) << "HttpServer::setRequestObserver() after listen() is ignored";
        return;
    }
    m_context->observer = std::move(observer);
}

const HttpServerConfig &HttpServer::config() const
{
    return m_context->config;
}

bool HttpServer::listen(const QHostAddress &address, quint16 port)
{
    if (m_listening) {
        m_errorString = u"already listening"_s;
        return false;
    }
    if (m_context->config.tls.isEnabled()) {
        if (const TlsFiles::Loaded loaded = m_context->config.tls.load(
                    TlsFiles::PeerCertificate::NotRequested);
            !loaded.ok()) {
            m_errorString = u"cannot serve TLS: %1"_s.arg(loaded.errorText());
            return false;
        }
    }
    const int threads = qMax(0, m_context->config.workerThreads);
    const int sockets = qMax(1, threads);
    QList<int> fds;
    quint16 bound = port;
    for (int i = 0; i < sockets; ++i) {
        const int fd = makeListeningSocket(address,
                                           bound,
                                           threads > 1,
                                           m_context->config.listenBacklog,
                                           &bound,
                                           &m_errorString);
        if (fd < 0) {
            for (int f : std::as_const(fds))
                ::close(f);
            return false;
        }
        fds.append(fd);
    }
    m_address = address;
    m_port = bound;
    for (int i = 0; i < sockets; ++i) {
        auto *worker = new Internal::HttpWorker(m_context, fds[i]);
        m_workers.append(worker);
        if (threads == 0) {
            worker->setParent(this);
            connect(worker,
                    &Internal::HttpWorker::connectionClosed,
                    this,
                    &HttpServer::onConnectionClosed);
            worker->start();
            continue;
        }
        auto *thread = new QThread(this);
        thread->setObjectName(u"http-worker-%1"_s.arg(i));
        worker->moveToThread(thread);
        connect(worker,
                &Internal::HttpWorker::connectionClosed,
                this,
                &HttpServer::onConnectionClosed,
                Qt::QueuedConnection);
        connect(thread, &QThread::finished, worker, &QObject::deleteLater);
        m_threads.append(thread);
        thread->start();
        QMetaObject::invokeMethod(worker, &Internal::HttpWorker::start, Qt::QueuedConnection);
    }
    m_listening = true;
    qCInfo(lcHttp).noquote() << "listening on" << address.toString() << "port" << m_port << "with"
                             << sockets << "event loop(s)";
    return true;
}

qint64 HttpServer::openConnections() const
{
    return m_context->openConnections.load();
}

qint64 HttpServer::inFlightRequests() const
{
    return m_context->inFlight.load();
}

template<typename F>
void HttpServer::forEachWorker(F f)
{
    for (Internal::HttpWorker *w : std::as_const(m_workers))
        QMetaObject::invokeMethod(
                w, [w, f] { f(w); }, Qt::AutoConnection);
}

void HttpServer::shutdown(std::chrono::milliseconds deadline)
{
    if (m_shuttingDown)
        return;
    m_shuttingDown = true;
    forEachWorker([](Internal::HttpWorker *w) { w->beginShutdown(); });
    m_shutdownTimer = new QTimer(this);
    m_shutdownTimer->setSingleShot(true);
    connect(m_shutdownTimer, &QTimer::timeout, this, [this] {
        qCInfo(lcHttp) << "shutdown deadline reached with" << openConnections()
                       << "connection(s) open; closing them";
        forEachWorker([](Internal::HttpWorker *w) { w->abortAll(); });
    });
    m_shutdownTimer->start(deadline);
    onConnectionClosed();
}

void HttpServer::close()
{
    forEachWorker([](Internal::HttpWorker *w) { w->abortAll(); });
    m_listening = false;
}

void HttpServer::onConnectionClosed()
{
    if (!m_shuttingDown || m_shutdownReported || openConnections() > 0)
        return;
    m_shutdownReported = true;
    if (m_shutdownTimer)
        m_shutdownTimer->stop();
    m_listening = false;
    emit shutdownFinished();
}

void HttpServer::stopWorkers()
{
    for (QThread *t : std::as_const(m_threads)) {
        t->quit();
        t->wait();
    }
    // Threaded workers were deleted as their thread finished; the others are our children.
    m_threads.clear();
    m_workers.clear();
}

} // namespace Meridian
