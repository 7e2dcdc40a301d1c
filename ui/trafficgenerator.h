#pragma once

#include <QElapsedTimer>
#include <QHash>
#include <QList>
#include <QObject>
#include <QString>
#include <QUrl>

#include <random>

class QNetworkAccessManager;
class QNetworkReply;
class QTimer;

namespace Meridian {

// What the demo's synthetic traffic is doing, for the status bar.
struct TrafficStats
{
    qint64 sent = 0;
    qint64 succeeded = 0;
    qint64 failed = 0;
    double ratePerS = 0;
    bool viaEdge = false; // false: straight at the nearest region
};

// Synthetic website traffic for the demo: clients in world cities reading and writing keys of
// /api/kv and viewing the site's page and stylesheet (cached at the edge), at a bounded rate with a
// bounded number of requests in flight. Requests go through the edge gateway (with the city's
// location in X-Client-Location) while the edge answers for a region (X-Meridian-Region); otherwise
// straight to the nearest region that answers, probing the edge again now and then. Lives in its
// own thread; all slots are called through queued connections.
class TrafficGenerator final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TrafficGenerator)

public:
    struct Target
    {
        QString id;
        QUrl dataUrl;
        double lat = 0;
        double lon = 0;
    };
    struct City
    {
        QString name;
        double lat;
        double lon;
    };

    explicit TrafficGenerator(QObject *parent = nullptr);
    ~TrafficGenerator() override;

    static const QList<City> &cities();

public slots:
    // `edgeUrl` may be empty (no edge). Starts sending at `ratePerS` (capped at 200).
    void start(const QUrl &edgeUrl,
               const QList<Meridian::TrafficGenerator::Target> &regions,
               double ratePerS,
               int maxInFlight);
    void stop();

signals:
    void statsChanged(const Meridian::TrafficStats &stats);

private:
    void tick();
    void send();
    void finished(QNetworkReply *reply, bool viaEdge, const QString &regionId);
    const Target *nearestRegion(const City &city) const;

    QNetworkAccessManager *m_network = nullptr;
    QTimer *m_timer = nullptr;
    QTimer *m_statsTimer = nullptr;
    QUrl m_edgeUrl;
    QList<Target> m_regions;
    QHash<QString, qint64> m_regionDownUntilMs;
    std::mt19937 m_random{20261125};
    QElapsedTimer m_clock;
    TrafficStats m_stats;
    qint64 m_lastStatsSent = 0;
    int m_inFlight = 0;
    int m_maxInFlight = 16;
    int m_edgeFailures = 0;
    bool m_useEdge = false;
    qint64 m_nextEdgeProbeMs = 0;
};

} // namespace Meridian

Q_DECLARE_METATYPE(Meridian::TrafficStats)
Q_DECLARE_METATYPE(Meridian::TrafficGenerator::Target)
