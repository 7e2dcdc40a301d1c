#pragma once

#include "core/control/apitypes.h"

#include <QColor>
#include <QList>
#include <QString>

class QPalette;

namespace Meridian {

// One line on the map between two regions: both directions of replication combined (the worse
// of the two) and their round-trip time.
struct RegionPair
{
    QString a;
    QString b;
    double rttMs = 0;
    double worstLagS = 0;
    qint64 entriesBehind = 0;
    QString worstState; // caught_up | lagging | stalled | disconnected | ...
    int directions = 0; // 1 or 2 links seen
};

// How regions and links look and read everywhere in the control room (map, tables, legend,
// tooltips), so the colours and words agree.
namespace RegionStyle {

// Lag thresholds of the colour scale, in seconds.
inline constexpr double kLagWarnS = 1.0;
inline constexpr double kLagBadS = 5.0;

QColor healthy();
QColor degraded();
QColor unhealthy();
QColor unknown();
QColor unreachable();
// Link colour: grey when broken (disconnected, stalled), red for needs_resync, schema_mismatch or
// >= 5 s behind, orange from 1 s behind, green below.
QColor lagColor(double lagS, const QString &linkState);
// Marker colour: grey when unreachable, otherwise by health.
QColor regionColor(const Api::RegionStatus &region);
// "unreachable", or the health as reported.
QString healthText(const Api::RegionStatus &region);
// How bad a link state is (0 caught_up … 4 disconnected), for picking the worst.
int linkStateSeverity(const QString &state);
bool isLinkBroken(const QString &state);

QString formatShare(double share); // 0.234 → "23.4 %"
QString formatMs(double ms);       // "45 µs", "4.2 ms", "1.25 s"; "–" for none
QString formatLag(double seconds); // "0.3 s", "2 min 5 s"
QString formatRate(double perSecond);
QString resyncText(const Api::RegionStatus &region); // "" when none
QString regionToolTip(const Api::RegionStatus &region);
QString pairToolTip(const RegionPair &pair, const QString &nameA, const QString &nameB);

QList<RegionPair> pairLinks(const QList<Api::LinkStatus> &links);
bool isDark(const QPalette &palette);

} // namespace RegionStyle
} // namespace Meridian
