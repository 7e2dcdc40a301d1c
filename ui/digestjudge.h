#pragma once

#include "core/control/apitypes.h"

#include <QMap>
#include <QString>

namespace Meridian {

// Tells divergence from replication in flight when regions' digests differ. With writes
// streaming in, regions answer a digest request at slightly different moments, so a difference
// while links are applying entries, or while a region's digest is still moving between two
// comparisons, is expected; only a difference that holds still is divergence. The status bar and
// the replication dashboard each keep one and feed it every report they get, so they say the
// same thing.
class DigestJudge
{
public:
    enum class Verdict {
        Agree,               // every region holds the same data
        AgreeAmongAnswering, // those that answered agree; nothing is known of the others
        InFlight,            // they differ while replication is moving
        Differ,              // they differ and nothing is moving: divergence
    };

    Verdict judge(const Api::DigestReport &report, const QList<Api::LinkStatus> &links);

private:
    QMap<QString, QString> m_lastDigests;
};

} // namespace Meridian
