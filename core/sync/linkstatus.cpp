#include "core/sync/linkstatus.h"

using namespace Qt::StringLiterals;

namespace Meridian {

QString linkStateName(LinkState state)
{
    switch (state) {
    case LinkState::CaughtUp:
        return u"caught_up"_s;
    case LinkState::Lagging:
        return u"lagging"_s;
    case LinkState::Stalled:
        return u"stalled"_s;
    case LinkState::Disconnected:
        return u"disconnected"_s;
    case LinkState::SchemaMismatch:
        return u"schema_mismatch"_s;
    case LinkState::NeedsResync:
        return u"needs_resync"_s;
    }
    return {};
}

std::optional<LinkState> parseLinkState(const QString &name)
{
    for (LinkState s : {LinkState::CaughtUp,
                        LinkState::Lagging,
                        LinkState::Stalled,
                        LinkState::Disconnected,
                        LinkState::SchemaMismatch,
                        LinkState::NeedsResync}) {
        if (linkStateName(s) == name)
            return s;
    }
    return std::nullopt;
}

QJsonObject LinkStatus::toJson() const
{
    return QJsonObject{
            {u"origin"_s, origin},
            {u"replica"_s, replica},
            {u"state"_s, linkStateName(state)},
            {u"applied_seq"_s, qint64(appliedSeq)},
            {u"head_seq"_s, qint64(headSeq)},
            {u"entries_behind"_s, qint64(entriesBehind)},
            {u"seconds_behind"_s, secondsBehind},
            {u"apply_rate"_s, applyRate},
            {u"last_contact_ms"_s, lastContactMs},
            {u"clock_skew_ms"_s, clockSkewMs},
            {u"detail"_s, detail},
    };
}

} // namespace Meridian
