#include "core/sync/synctypes.h"

#include "core/sync/hybridlogicalclock.h"

using namespace Qt::StringLiterals;

namespace Meridian {

QJsonObject OverwrittenWrite::toJson() const
{
    return QJsonObject{
            {u"id"_s, id},
            {u"at_ms"_s, atMs},
            {u"table"_s, table},
            {u"primary_key"_s, primaryKey},
            {u"loser_origin"_s, loserOrigin},
            {u"loser_hlc"_s, HybridLogicalClock::format(loserHlc)},
            {u"loser_deleted"_s, loserDeleted},
            {u"loser_row"_s, loserRow},
            {u"winner_origin"_s, winnerOrigin},
            {u"winner_hlc"_s, HybridLogicalClock::format(winnerHlc)},
    };
}

QString ResyncProgress::phaseName(Phase p)
{
    switch (p) {
    case Phase::Idle:
        return u"idle"_s;
    case Phase::Snapshot:
        return u"snapshot"_s;
    case Phase::Transfer:
        return u"transfer"_s;
    case Phase::Verify:
        return u"verify"_s;
    case Phase::CatchUp:
        return u"catch_up"_s;
    case Phase::Done:
        return u"done"_s;
    case Phase::Failed:
        return u"failed"_s;
    case Phase::Cancelled:
        return u"cancelled"_s;
    }
    return {};
}

QJsonObject ResyncProgress::toJson() const
{
    return QJsonObject{
            {u"phase"_s, phaseName(phase)},
            {u"peer"_s, peer},
            {u"bytes_done"_s, bytesDone},
            {u"bytes_total"_s, bytesTotal},
            {u"rows"_s, rows},
            {u"eta_seconds"_s, etaSeconds},
            {u"message"_s, message},
    };
}

} // namespace Meridian
