#include "core/control/controlerror.h"

using namespace Qt::StringLiterals;

namespace Meridian {

QJsonObject ControlError::toJson() const
{
    return QJsonObject{{u"error"_s, QJsonObject{{u"code"_s, code}, {u"message"_s, message}}}};
}

ControlError ControlError::badRequest(const QString &message)
{
    return {400, u"bad_request"_s, message};
}

ControlError ControlError::invalidParameter(const QString &message)
{
    return {400, u"invalid_parameter"_s, message};
}

ControlError ControlError::unknownRegion(const QString &region)
{
    return {404,
            u"unknown_region"_s,
            u"unknown region '%1'; GET /v1/regions lists the cluster's regions"_s.arg(region)};
}

ControlError ControlError::notFound(const QString &message)
{
    return {404, u"not_found"_s, message};
}

ControlError ControlError::conflict(const QString &code, const QString &message)
{
    return {409, code, message};
}

} // namespace Meridian
