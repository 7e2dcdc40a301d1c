#include "core/http/httpworker.h"

#include "core/http/httpconnection.h"
#include "core/http/httplogging.h"

#include <QTimer>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace Meridian::Internal {

void HttpListener::incomingConnection(qintptr descriptor)
{
    emit accepted(descriptor);
}

HttpWorker::HttpWorker(std::shared_ptr<ServerContext> context, qintptr listenDescriptor)
    : m_context(std::move(context))
    , m_listenDescriptor(listenDescriptor)
{}

HttpWorker::~HttpWorker()
{
    if (!m_listener && m_listenDescriptor >= 0)
        ::close(int(m_listenDescriptor));
}

void HttpWorker::start()
{
    m_listener = new HttpListener(this);
    m_listener->setMaxPendingConnections(m_context->config.listenBacklog);
    connect(m_listener, &HttpListener::accepted, this, &HttpWorker::accept);
    connect(m_listener, &QTcpServer::acceptError, this, &HttpWorker::acceptFailed);
    if (!m_listener->setSocketDescriptor(m_listenDescriptor)) {
        qCCritical(lcHttp) << "cannot adopt listening socket:" << m_listener->errorString();
        ::close(int(m_listenDescriptor));
    }
    m_listenDescriptor = -1;
}

void HttpWorker::accept(qintptr descriptor)
{
    if (m_shuttingDown || m_context->openConnections.load() >= m_context->config.maxConnections) {
        qCWarning(lcHttp) << "refusing a connection: shutting down or at the limit of"
                          << m_context->config.maxConnections;
        ::close(int(descriptor));
        return;
    }
    auto *connection = new HttpConnection(descriptor, m_context, this);
    if (!descriptorFree()) // that was the last one: rest before Qt's next accept fails
        restListener(u"out of file descriptors"_s);
    connect(connection, &HttpConnection::closed, this, [this, connection] {
        connection->deleteLater();
        emit connectionClosed();
    });
}

void HttpWorker::acceptFailed()
{
    restListener(m_listener->errorString());
}

bool HttpWorker::descriptorFree() const
{
    // Duplicating the listening socket takes (and here gives back) one descriptor.
    const int probe = ::fcntl(int(m_listener->socketDescriptor()), F_DUPFD_CLOEXEC, 0);
    if (probe < 0)
        return !(errno == EMFILE || errno == ENFILE);
    ::close(probe);
    return true;
}

void HttpWorker::restListener(const QString &why)
{
    // Qt's server socket does not cope with running out of descriptors: it either stops
    // accepting for good or retries at once, forever (a core at 100 %). So stop accepting
    // while no descriptor is free, and look again every 100 ms.
    m_listener->pauseAccepting();
    if (!m_sinceAcceptWarning.isValid() || m_sinceAcceptWarning.hasExpired(60'000)) {
        m_sinceAcceptWarning.start();
        qCWarning(lcHttp).noquote()
                << "cannot accept connections on port" << m_listener->serverPort() << "-" << why
                << "with" << m_context->openConnections.load()
                << "open; waiting (raise the open-files limit, LimitNOFILE)";
    }
    QTimer::singleShot(100, m_listener, [this] {
        if (m_shuttingDown || !m_listener->isListening())
            return;
        if (descriptorFree())
            m_listener->resumeAccepting();
        else
            restListener(u"out of file descriptors"_s);
    });
}

void HttpWorker::stopListening()
{
    if (m_listener)
        m_listener->close();
}

void HttpWorker::beginShutdown()
{
    m_shuttingDown = true;
    stopListening();
    for (HttpConnection *c : findChildren<HttpConnection *>(Qt::FindDirectChildrenOnly))
        c->beginShutdown();
}

void HttpWorker::abortAll()
{
    m_shuttingDown = true;
    stopListening();
    for (HttpConnection *c : findChildren<HttpConnection *>(Qt::FindDirectChildrenOnly))
        c->abortNow();
}

} // namespace Meridian::Internal
