#pragma once

// ReplicationHistory: the recent samples of every replication link (origin → replica) taken from
// successive cluster views, in a bounded ring per link, for the dashboard's charts and its CSV
// export. Plain value class, no widgets.
//
//   Meridian::ReplicationHistory history; // 3600 samples per link by default
//   history.addView(view);                // each ClusterView (time: view.generatedAt, else now)
//   const auto &ring = history.samples(u"us-east→eu-west"_s);
//   QByteArray csv = history.toCsv(since);

#include "core/control/apitypes.h"

#include <QDateTime>
#include <QHash>
#include <QStringList>

#include <deque>

namespace Meridian {

struct LinkSample
{
    qint64 timeMs = 0; // UTC ms since the epoch
    QString state;
    double secondsBehind = 0;
    qint64 entriesBehind = 0;
    double applyRate = 0;
    double rttMs = 0;
};

class ReplicationHistory final
{
public:
    explicit ReplicationHistory(int capacityPerLink = 3600);

    static QString linkKey(const QString &origin, const QString &replica);
    static QString linkKey(const Api::LinkStatus &link)
    {
        return linkKey(link.origin, link.replica);
    }

    // One sample per link of `view`; a view older than the newest sample is ignored.
    void addView(const Api::ClusterView &view, const QDateTime &fallbackTime = {});
    void addSample(const QString &origin, const QString &replica, const LinkSample &sample);
    void clear();

    int capacityPerLink() const { return m_capacity; }
    QStringList links() const; // sorted keys
    const std::deque<LinkSample> &samples(const QString &key) const;
    qint64 newestMs() const { return m_newestMs; }
    qsizetype sampleCount() const;

    // time,origin,replica,state,seconds_behind,entries_behind,apply_rate,rtt_ms; one line per
    // sample at or after `sinceMs`, oldest first, times in RFC 3339 UTC.
    QByteArray toCsv(qint64 sinceMs = 0) const;

private:
    struct Link
    {
        QString origin;
        QString replica;
        std::deque<LinkSample> samples;
    };
    int m_capacity;
    qint64 m_newestMs = 0;
    QHash<QString, Link> m_links;
};

} // namespace Meridian
