#include "ui/regionstyle.h"

#include <QCoreApplication>
#include <QHash>
#include <QPalette>

#include <algorithm>
#include <cmath>

namespace Meridian::RegionStyle {

namespace {
QString tr(const char *text)
{
    return QCoreApplication::translate("RegionStyle", text);
}
} // namespace

QColor healthy()
{
    return QColor(0x2e, 0xa0, 0x5a);
}

QColor degraded()
{
    return QColor(0xe6, 0x9a, 0x1e);
}

QColor unhealthy()
{
    return QColor(0xd9, 0x3f, 0x3f);
}

QColor unknown()
{
    return QColor(0x6f, 0x86, 0xa6);
}

QColor unreachable()
{
    return QColor(0x8c, 0x8c, 0x8c);
}

QColor lagColor(double lagS, const QString &linkState)
{
    if (isLinkBroken(linkState))
        return unreachable();
    if (linkState == u"needs_resync" || linkState == u"schema_mismatch" || lagS >= kLagBadS)
        return unhealthy();
    // `lagging` alone is a link moving a backlog, which every link under writes is for a moment:
    // the colour follows the seconds behind, as the legend says.
    if (lagS >= kLagWarnS)
        return degraded();
    return healthy();
}

QColor regionColor(const Api::RegionStatus &region)
{
    if (!region.reachable)
        return unreachable();
    if (region.health == u"healthy")
        return healthy();
    if (region.health == u"unhealthy")
        return unhealthy();
    if (region.health == u"degraded")
        return degraded();
    return unknown();
}

QString healthText(const Api::RegionStatus &region)
{
    return region.reachable ? region.health : tr("unreachable");
}

int linkStateSeverity(const QString &state)
{
    if (state == u"caught_up")
        return 0;
    if (state == u"lagging")
        return 1;
    if (state == u"stalled")
        return 2;
    if (state == u"needs_resync" || state == u"schema_mismatch")
        return 3;
    if (state == u"disconnected")
        return 4;
    return 0;
}

bool isLinkBroken(const QString &state)
{
    return state == u"disconnected" || state == u"stalled";
}

QString formatShare(double share)
{
    return QStringLiteral("%1 %").arg(share * 100.0, 0, 'f', 1);
}

QString formatMs(double ms)
{
    if (ms <= 0.0)
        return QStringLiteral("–"); // no sample in the window
    if (ms < 1.0)                   // an edge next to its regions answers in microseconds
        return QStringLiteral("%1 µs").arg(std::max(1.0, std::round(ms * 1000.0)), 0, 'f', 0);
    if (ms >= 1000.0)
        return QStringLiteral("%1 s").arg(ms / 1000.0, 0, 'f', 2);
    return QStringLiteral("%1 ms").arg(ms, 0, 'f', ms < 10.0 ? 1 : 0);
}

QString formatLag(double seconds)
{
    if (seconds < 60.0)
        return QStringLiteral("%1 s").arg(seconds, 0, 'f', seconds < 10.0 ? 1 : 0);
    const qint64 s = qint64(std::llround(seconds));
    if (s < 3600)
        return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60);
    return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

QString formatRate(double perSecond)
{
    return QString::number(perSecond, 'f', perSecond < 10.0 ? 1 : 0);
}

QString resyncText(const Api::RegionStatus &region)
{
    if (!region.resync)
        return {};
    const Api::ResyncProgress &r = *region.resync;
    if (r.state != u"running")
        return r.state;
    if (r.bytesTotal > 0)
        return QStringLiteral("%1 %2 %").arg(r.phase).arg(100.0 * r.bytesDone / r.bytesTotal,
                                                          0,
                                                          'f',
                                                          0);
    return r.phase;
}

QString regionToolTip(const Api::RegionStatus &region)
{
    QString html = QStringLiteral("<b>%1</b> (%2)%3<br/>")
                           .arg(region.name.toHtmlEscaped(),
                                region.id.toHtmlEscaped(),
                                region.primary ? tr(" · primary") : QString());
    if (!region.reachable) {
        html += tr("<b>unreachable</b>: no answer from its node; the figures below are the last "
                   "known")
                + QStringLiteral("<br/>");
    }
    html += tr("state %1 · health %2<br/>").arg(region.state, healthText(region));
    html += tr("traffic %1 · %2 req/s · in flight %3<br/>")
                    .arg(formatShare(region.trafficShare), formatRate(region.rps))
                    .arg(region.inFlight);
    html += tr("latency p50 %1 · p99 %2<br/>").arg(formatMs(region.p50Ms), formatMs(region.p99Ms));
    html += tr("worst inbound lag %1 (%2)")
                    .arg(formatLag(region.worstLagS),
                         region.worstLinkState.isEmpty() ? tr("no links") : region.worstLinkState);
    const QString resync = resyncText(region);
    if (!resync.isEmpty())
        html += QStringLiteral("<br/>") + tr("resync: %1").arg(resync);
    return html;
}

QString pairToolTip(const RegionPair &pair, const QString &nameA, const QString &nameB)
{
    return tr("<b>%1 ↔ %2</b><br/>RTT %3<br/>worst lag %4 · %5 entries behind<br/>link %6")
            .arg(nameA.toHtmlEscaped(),
                 nameB.toHtmlEscaped(),
                 pair.rttMs > 0 ? formatMs(pair.rttMs) : tr("unknown"),
                 formatLag(pair.worstLagS))
            .arg(pair.entriesBehind)
            .arg(pair.worstState.isEmpty() ? tr("unknown") : pair.worstState);
}

QList<RegionPair> pairLinks(const QList<Api::LinkStatus> &links)
{
    QList<RegionPair> pairs;
    QHash<QString, qsizetype> index;
    for (const Api::LinkStatus &link : links) {
        if (link.origin == link.replica)
            continue;
        const bool ordered = link.origin < link.replica;
        const QString a = ordered ? link.origin : link.replica;
        const QString b = ordered ? link.replica : link.origin;
        const QString key = a + QChar(u'\n') + b;
        auto it = index.constFind(key);
        if (it == index.constEnd()) {
            it = index.insert(key, pairs.size());
            RegionPair pair;
            pair.a = a;
            pair.b = b;
            pair.worstState = link.state;
            pairs.append(pair);
        }
        RegionPair &pair = pairs[*it];
        pair.directions += 1;
        if (link.rttMs > 0)
            pair.rttMs = pair.rttMs > 0 ? std::max(pair.rttMs, link.rttMs) : link.rttMs;
        pair.worstLagS = std::max(pair.worstLagS, link.secondsBehind);
        pair.entriesBehind = std::max(pair.entriesBehind, link.entriesBehind);
        if (linkStateSeverity(link.state) > linkStateSeverity(pair.worstState))
            pair.worstState = link.state;
    }
    return pairs;
}

bool isDark(const QPalette &palette)
{
    return palette.color(QPalette::Window).lightness() < 128;
}

} // namespace Meridian::RegionStyle
