#include "core/edge/edgeworker.h"

namespace Meridian {

EdgeWorker::EdgeWorker(int index, std::shared_ptr<const EdgeShared> shared, QObject *parent)
    : QThread(parent)
    , m_loop(std::make_unique<EdgeLoop>(index, std::move(shared)))
{
    setObjectName(QStringLiteral("edge-worker-%1").arg(index));
}

EdgeWorker::~EdgeWorker()
{
    if (isRunning()) {
        m_loop->stop(0);
        wait();
    }
}

bool EdgeWorker::listen(quint16 port, quint16 tlsPort, QString *error)
{
    return m_loop->listen(port, tlsPort, error);
}

quint16 EdgeWorker::port() const
{
    return m_loop->port();
}

quint16 EdgeWorker::tlsPort() const
{
    return m_loop->tlsPort();
}

void EdgeWorker::requestStop(int graceMs)
{
    m_loop->stop(graceMs);
}

void EdgeWorker::run()
{
    m_loop->run();
}

} // namespace Meridian
