#include "core/control/action.h"

#include "core/control/controlstate.h"

using namespace Qt::StringLiterals;

namespace Meridian {

QJsonObject Action::toJson() const
{
    QJsonObject object{{u"id"_s, id},
                       {u"kind"_s, kind},
                       {u"region"_s, region.isEmpty() ? QJsonValue() : QJsonValue(region)},
                       {u"args"_s, args},
                       {u"time"_s, toIsoTime(time)},
                       {u"actor"_s, actor},
                       {u"node"_s, node},
                       {u"status"_s, status},
                       {u"previous"_s, previous}};
    if (!revertedBy.isEmpty())
        object.insert(u"reverted_by"_s, revertedBy);
    if (!approvedBy.isEmpty())
        object.insert(u"approved_by"_s, approvedBy);
    return object;
}

std::optional<Action> Action::fromJson(const QJsonObject &object)
{
    Action action;
    action.id = object.value(u"id"_s).toString();
    action.kind = object.value(u"kind"_s).toString();
    if (action.id.isEmpty() || action.kind.isEmpty())
        return std::nullopt;
    action.region = object.value(u"region"_s).toString();
    action.args = object.value(u"args"_s).toObject();
    action.time = QDateTime::fromString(object.value(u"time"_s).toString(), Qt::ISODateWithMs);
    action.actor = object.value(u"actor"_s).toString();
    action.node = object.value(u"node"_s).toString();
    action.status = object.value(u"status"_s).toString(u"applied"_s);
    action.previous = object.value(u"previous"_s).toObject();
    action.revertedBy = object.value(u"reverted_by"_s).toString();
    action.approvedBy = object.value(u"approved_by"_s).toString();
    return action;
}

} // namespace Meridian
