#include "ui/trafficgenerator.h"

#include "core/cluster/localcluster.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>

#include <algorithm>

namespace Meridian {

namespace {
constexpr int kEdgeFailuresBeforeFallback = 3;
constexpr qint64 kEdgeProbeIntervalMs = 15000;
constexpr qint64 kRegionBackoffMs = 5000;
constexpr int kRequestTimeoutMs = 5000;
constexpr int kKeysPerCity = 20;
} // namespace

TrafficGenerator::TrafficGenerator(QObject *parent)
    : QObject(parent)
{
    qRegisterMetaType<Meridian::TrafficStats>();
    qRegisterMetaType<Meridian::TrafficGenerator::Target>();
    qRegisterMetaType<QList<Meridian::TrafficGenerator::Target>>();
}

TrafficGenerator::~TrafficGenerator() = default;

const QList<TrafficGenerator::City> &TrafficGenerator::cities()
{
    static const QList<City> list = {
            {QStringLiteral("New York"), 40.71, -74.01},
            {QStringLiteral("Toronto"), 43.65, -79.38},
            {QStringLiteral("Los Angeles"), 34.05, -118.24},
            {QStringLiteral("Mexico City"), 19.43, -99.13},
            {QStringLiteral("London"), 51.51, -0.13},
            {QStringLiteral("Paris"), 48.86, 2.35},
            {QStringLiteral("Berlin"), 52.52, 13.40},
            {QStringLiteral("Lagos"), 6.52, 3.38},
            {QStringLiteral("Nairobi"), -1.29, 36.82},
            {QStringLiteral("Mumbai"), 19.08, 72.88},
            {QStringLiteral("Singapore"), 1.35, 103.82},
            {QStringLiteral("Tokyo"), 35.68, 139.69},
            {QStringLiteral("Sydney"), -33.87, 151.21},
            {QStringLiteral("S\u00e3o Paulo"), -23.55, -46.63},
            {QStringLiteral("Buenos Aires"), -34.60, -58.38},
    };
    return list;
}

void TrafficGenerator::start(const QUrl &edgeUrl,
                             const QList<Target> &regions,
                             double ratePerS,
                             int maxInFlight)
{
    if (!m_network) {
        m_network = new QNetworkAccessManager(this);
        m_timer = new QTimer(this);
        m_statsTimer = new QTimer(this);
        connect(m_timer, &QTimer::timeout, this, &TrafficGenerator::tick);
        connect(m_statsTimer, &QTimer::timeout, this, [this] {
            m_stats.ratePerS = double(m_stats.sent - m_lastStatsSent);
            m_lastStatsSent = m_stats.sent;
            m_stats.viaEdge = m_useEdge;
            emit statsChanged(m_stats);
        });
    }
    m_edgeUrl = edgeUrl;
    m_regions = regions;
    m_useEdge = edgeUrl.isValid() && !edgeUrl.isEmpty();
    m_edgeFailures = 0;
    m_maxInFlight = std::clamp(maxInFlight, 1, 64);
    m_clock.start();
    const double rate = std::clamp(ratePerS, 0.5, 200.0);
    m_timer->start(std::max(5, int(1000.0 / rate)));
    m_statsTimer->start(1000);
}

void TrafficGenerator::stop()
{
    if (m_timer)
        m_timer->stop();
    if (m_statsTimer)
        m_statsTimer->stop();
    if (m_network) {
        const auto replies = m_network->findChildren<QNetworkReply *>();
        for (QNetworkReply *reply : replies)
            reply->abort();
    }
}

void TrafficGenerator::tick()
{
    if (m_inFlight < m_maxInFlight)
        send();
}

const TrafficGenerator::Target *TrafficGenerator::nearestRegion(const City &city) const
{
    const qint64 now = m_clock.elapsed();
    const Target *best = nullptr;
    double bestKm = 0;
    for (const Target &t : m_regions) {
        if (m_regionDownUntilMs.value(t.id) > now)
            continue;
        const double km = LocalCluster::distanceKm(city.lat, city.lon, t.lat, t.lon);
        if (!best || km < bestKm) {
            best = &t;
            bestKm = km;
        }
    }
    return best;
}

void TrafficGenerator::send()
{
    const QList<City> &all = cities();
    const City &city = all.at(int(m_random() % all.size()));
    const int keyIndex = int(m_random() % kKeysPerCity);
    const bool write = m_random() % 4 == 0;

    // Through the edge while it works; probe it again now and then once it did not.
    bool viaEdge = m_useEdge;
    if (!viaEdge && m_edgeUrl.isValid() && !m_edgeUrl.isEmpty()
        && m_clock.elapsed() >= m_nextEdgeProbeMs) {
        viaEdge = true;
        m_nextEdgeProbeMs = m_clock.elapsed() + kEdgeProbeIntervalMs;
    }
    QUrl base;
    QString regionId;
    if (viaEdge) {
        base = m_edgeUrl;
    } else {
        const Target *target = nearestRegion(city);
        if (!target)
            return;
        base = target->dataUrl;
        regionId = target->id;
    }
    QUrl url = base;
    QString cityKey = city.name.toLower();
    cityKey.replace(u' ', u'-');
    // One read in three is a page view (the page or its stylesheet), which the edge answers
    // from its cache; the others read and write keys through to a region.
    if (!write && keyIndex % 3 == 0)
        url.setPath(keyIndex % 2 ? QStringLiteral("/index.html")
                                 : QStringLiteral("/assets/site.css"));
    else
        url.setPath(QStringLiteral("/api/kv/demo/%1/%2").arg(cityKey).arg(keyIndex));
    QNetworkRequest request(url);
    request.setTransferTimeout(kRequestTimeoutMs);
    request.setRawHeader("X-Client-Location",
                         QByteArray::number(city.lat, 'f', 2) + ','
                                 + QByteArray::number(city.lon, 'f', 2));
    request.setRawHeader("User-Agent", "meridian-demo-traffic");
    QNetworkReply *reply = nullptr;
    if (write) {
        request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
        const QByteArray body = QByteArrayLiteral("{\"city\":\"") + city.name.toUtf8()
                                + QByteArrayLiteral("\",\"visit\":")
                                + QByteArray::number(m_stats.sent) + '}';
        reply = m_network->put(request, body);
    } else {
        reply = m_network->get(request);
    }
    ++m_inFlight;
    ++m_stats.sent;
    connect(reply, &QNetworkReply::finished, this, [this, reply, viaEdge, regionId] {
        finished(reply, viaEdge, regionId);
    });
}

void TrafficGenerator::finished(QNetworkReply *reply, bool viaEdge, const QString &regionId)
{
    reply->deleteLater();
    --m_inFlight;
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    // A region answered (directly or behind the edge): it says which one. 404 for a key not
    // written yet is a fine answer.
    const bool answeredByRegion = reply->hasRawHeader("X-Meridian-Region")
                                  && (status < 500 || status == 503);
    const bool ok = answeredByRegion && (status < 400 || status == 404);
    if (ok)
        ++m_stats.succeeded;
    else
        ++m_stats.failed;
    if (viaEdge) {
        if (answeredByRegion) {
            m_edgeFailures = 0;
            m_useEdge = true;
        } else if (++m_edgeFailures >= kEdgeFailuresBeforeFallback && m_useEdge) {
            m_useEdge = false;
            m_nextEdgeProbeMs = m_clock.elapsed() + kEdgeProbeIntervalMs;
        } else if (!m_useEdge) {
            m_nextEdgeProbeMs = m_clock.elapsed() + kEdgeProbeIntervalMs;
        }
    } else if (!answeredByRegion && !regionId.isEmpty()) {
        m_regionDownUntilMs.insert(regionId, m_clock.elapsed() + kRegionBackoffMs);
    }
}

} // namespace Meridian
