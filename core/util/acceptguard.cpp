#include "core/util/acceptguard.h"

#include <QLoggingCategory>
#include <QTcpServer>
#include <QTimer>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace Meridian {

Q_LOGGING_CATEGORY(lcAccept, "meridian.net")

AcceptGuard::AcceptGuard(QTcpServer *server, QString what, std::function<qint64()> openConnections)
    : QObject(server)
    , m_server(server)
    , m_what(std::move(what))
    , m_openConnections(std::move(openConnections))
{
    connect(server, &QTcpServer::acceptError, this, [this] { rest(m_server->errorString()); });
}

void AcceptGuard::accepted()
{
    if (!descriptorFree())
        rest(u"out of file descriptors"_s);
}

bool AcceptGuard::descriptorFree() const
{
    // Duplicating the listening socket takes (and here gives back) one descriptor.
    const int probe = ::fcntl(int(m_server->socketDescriptor()), F_DUPFD_CLOEXEC, 0);
    if (probe < 0)
        return !(errno == EMFILE || errno == ENFILE);
    ::close(probe);
    return true;
}

void AcceptGuard::rest(const QString &why)
{
    m_server->pauseAccepting();
    if (!m_sinceWarning.isValid() || m_sinceWarning.hasExpired(60'000)) {
        m_sinceWarning.start();
        QString held;
        if (m_openConnections)
            held = u" with %1 connections open"_s.arg(m_openConnections());
        qCWarning(lcAccept).noquote()
                << u"cannot accept connections on %1 (port %2): %3%4; waiting (raise the "
                   "open-files limit, LimitNOFILE)"_s.arg(m_what)
                           .arg(m_server->serverPort())
                           .arg(why, held);
    }
    QTimer::singleShot(100, this, [this] {
        if (!m_server->isListening())
            return;
        if (descriptorFree())
            m_server->resumeAccepting();
        else
            rest(u"out of file descriptors"_s);
    });
}

} // namespace Meridian
