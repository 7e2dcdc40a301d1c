#include "core/util/descriptorlistener.h"

namespace Meridian {

void DescriptorListener::incomingConnection(qintptr descriptor)
{
    emit accepted(descriptor);
}

} // namespace Meridian
