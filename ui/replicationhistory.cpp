#include "ui/replicationhistory.h"

#include <QLocale>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Meridian {

ReplicationHistory::ReplicationHistory(int capacityPerLink)
    : m_capacity(std::max(1, capacityPerLink))
{}

QString ReplicationHistory::linkKey(const QString &origin, const QString &replica)
{
    return origin + u"→"_s + replica;
}

void ReplicationHistory::addView(const Api::ClusterView &view, const QDateTime &fallbackTime)
{
    QDateTime at = view.generatedAt.isValid() ? view.generatedAt : fallbackTime;
    if (!at.isValid())
        at = QDateTime::currentDateTimeUtc();
    const qint64 ms = at.toMSecsSinceEpoch();
    if (ms < m_newestMs)
        return;
    for (const Api::LinkStatus &link : view.links) {
        LinkSample sample;
        sample.timeMs = ms;
        sample.state = link.state;
        sample.secondsBehind = link.secondsBehind;
        sample.entriesBehind = link.entriesBehind;
        sample.applyRate = link.applyRate;
        sample.rttMs = link.rttMs;
        addSample(link.origin, link.replica, sample);
    }
}

void ReplicationHistory::addSample(const QString &origin,
                                   const QString &replica,
                                   const LinkSample &sample)
{
    Link &link = m_links[linkKey(origin, replica)];
    link.origin = origin;
    link.replica = replica;
    // The same view seen twice (a poll and an event) is one sample.
    if (!link.samples.empty() && link.samples.back().timeMs == sample.timeMs)
        link.samples.back() = sample;
    else
        link.samples.push_back(sample);
    while (link.samples.size() > size_t(m_capacity))
        link.samples.pop_front();
    m_newestMs = std::max(m_newestMs, sample.timeMs);
}

void ReplicationHistory::clear()
{
    m_links.clear();
    m_newestMs = 0;
}

QStringList ReplicationHistory::links() const
{
    QStringList keys = m_links.keys();
    keys.sort();
    return keys;
}

const std::deque<LinkSample> &ReplicationHistory::samples(const QString &key) const
{
    static const std::deque<LinkSample> none;
    const auto it = m_links.constFind(key);
    return it == m_links.cend() ? none : it->samples;
}

qsizetype ReplicationHistory::sampleCount() const
{
    qsizetype count = 0;
    for (const Link &link : m_links)
        count += qsizetype(link.samples.size());
    return count;
}

QByteArray ReplicationHistory::toCsv(qint64 sinceMs) const
{
    struct Line
    {
        qint64 timeMs;
        QString key;
        const Link *link;
        const LinkSample *sample;
    };
    QList<Line> lines;
    for (auto it = m_links.cbegin(); it != m_links.cend(); ++it) {
        for (const LinkSample &sample : it->samples) {
            if (sample.timeMs >= sinceMs)
                lines.append({sample.timeMs, it.key(), &it.value(), &sample});
        }
    }
    std::sort(lines.begin(), lines.end(), [](const Line &a, const Line &b) {
        return a.timeMs != b.timeMs ? a.timeMs < b.timeMs : a.key < b.key;
    });
    const QLocale c = QLocale::c();
    QByteArray csv = "time,origin,replica,state,seconds_behind,entries_behind,apply_rate,rtt_ms\n";
    for (const Line &line : std::as_const(lines)) {
        const LinkSample &s = *line.sample;
        const QString row
                = u"%1,%2,%3,%4,%5,%6,%7,%8\n"_s
                          .arg(Api::toApiTime(QDateTime::fromMSecsSinceEpoch(s.timeMs, Qt::UTC)),
                               line.link->origin,
                               line.link->replica,
                               s.state,
                               c.toString(s.secondsBehind, 'f', 3),
                               QString::number(s.entriesBehind),
                               c.toString(s.applyRate, 'f', 2),
                               c.toString(s.rttMs, 'f', 1));
        csv += row.toUtf8();
    }
    return csv;
}

} // namespace Meridian
