#include "core/http/httpworker.h"

#include "core/http/httpconnection.h"
#include "core/http/httplogging.h"
#include "core/util/acceptguard.h"
#include "core/util/descriptorlistener.h"

#include <unistd.h>

using namespace Qt::StringLiterals;

namespace Meridian::Internal {

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
    m_listener = new DescriptorListener(this);
    m_listener->setMaxPendingConnections(m_context->config.listenBacklog);
    connect(m_listener, &DescriptorListener::accepted, this, &HttpWorker::accept);
    m_acceptGuard = new AcceptGuard(m_listener, u"the HTTP port"_s, [context = m_context] {
        return qint64(context->openConnections.load());
    });
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
    m_acceptGuard->accepted();
    connect(connection, &HttpConnection::closed, this, [this, connection] {
        connection->deleteLater();
        emit connectionClosed();
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
