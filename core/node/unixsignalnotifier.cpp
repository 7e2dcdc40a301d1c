#include "core/node/unixsignalnotifier.h"

#include <QLoggingCategory>

#include <csignal>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace Meridian {

Q_LOGGING_CATEGORY(lcSignal, "meridian.node")

namespace {

int g_signalFd[2] = {-1, -1};

void handleSignal(int signal)
{
    const unsigned char byte = static_cast<unsigned char>(signal);
    const int savedErrno = errno;
    [[maybe_unused]] const ssize_t written = ::write(g_signalFd[0], &byte, 1);
    errno = savedErrno;
}

} // namespace

UnixSignalNotifier::UnixSignalNotifier(QObject *parent)
    : QObject(parent)
{
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, g_signalFd) != 0) {
        qCCritical(lcSignal) << "cannot create the signal socketpair:" << strerror(errno);
        return;
    }
    m_notifier = new QSocketNotifier(g_signalFd[1], QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &UnixSignalNotifier::readSignal);

    struct sigaction action = {};
    action.sa_handler = handleSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (const int signal : {SIGTERM, SIGINT, SIGHUP})
        ::sigaction(signal, &action, nullptr);
    // A peer that goes away mid-write must not kill the daemon.
    ::signal(SIGPIPE, SIG_IGN);
}

UnixSignalNotifier::~UnixSignalNotifier()
{
    struct sigaction action = {};
    action.sa_handler = SIG_DFL;
    for (const int signal : {SIGTERM, SIGINT, SIGHUP})
        ::sigaction(signal, &action, nullptr);
    if (g_signalFd[0] >= 0) {
        ::close(g_signalFd[0]);
        ::close(g_signalFd[1]);
        g_signalFd[0] = g_signalFd[1] = -1;
    }
}

void UnixSignalNotifier::readSignal()
{
    unsigned char byte = 0;
    while (::read(g_signalFd[1], &byte, 1) == 1) {
        if (byte == SIGHUP)
            emit hangup();
        else
            emit terminateRequested(byte);
    }
}

} // namespace Meridian
