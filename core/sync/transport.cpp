#include "core/sync/transport.h"

namespace Meridian {

Transport::Transport(TransportHost *host, QObject *parent)
    : QObject(parent)
    , m_host(host)
{}

Transport::~Transport() = default;

quint16 Transport::listenPort() const
{
    return 0;
}

} // namespace Meridian
