#include "ui/digestjudge.h"

#include <QSet>

namespace Meridian {

DigestJudge::Verdict DigestJudge::judge(const Api::DigestReport &report,
                                        const QList<Api::LinkStatus> &links)
{
    QMap<QString, QString> digests;
    QSet<QString> reachableDigests;
    int reachable = 0;
    for (const Api::RegionDigest &d : report.regions) {
        digests.insert(d.region, d.digest);
        if (d.reachable) {
            ++reachable;
            if (!d.digest.isEmpty())
                reachableDigests.insert(d.digest);
        }
    }
    bool moving = digests != m_lastDigests;
    m_lastDigests = digests;
    for (const Api::LinkStatus &l : links)
        moving = moving || l.applyRate > 0 || l.entriesBehind > 0;

    if (report.agree)
        return Verdict::Agree;
    if (reachable < report.regions.size() && reachableDigests.size() <= 1)
        return Verdict::AgreeAmongAnswering;
    return moving ? Verdict::InFlight : Verdict::Differ;
}

} // namespace Meridian
