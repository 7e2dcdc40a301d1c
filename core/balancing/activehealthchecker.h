#pragma once

#include "core/balancing/endpointref.h"
#include "core/balancing/healthchecksettings.h"
#include "core/balancing/healthcounter.h"
#include "core/util/clock.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QSslCertificate>
#include <QTimer>

class QNetworkAccessManager;
class QNetworkReply;

namespace Meridian {

// Active health checking: an HTTP GET of the configured path on every endpoint each interval,
// with a timeout and rise/fall thresholds (HAProxy's inter/rise/fall). Emits healthChanged when
// an endpoint's state changes; connect it to Balancer::setEndpointHealth.
//
// Scheduling reads the injected Clock: runDueChecks() starts every probe that is due. start()
// drives it from a QTimer; tests with a ManualClock call runDueChecks() themselves after
// advancing the clock, so the schedule is exact. Lives on one thread (its event loop).
class ActiveHealthChecker final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ActiveHealthChecker)

public:
    ActiveHealthChecker(const Clock &clock, QObject *parent = nullptr);
    ~ActiveHealthChecker() override;

    // On error nothing changes. Counters are kept; the new rise/fall apply from the next result.
    BalancingResult<> setSettings(const HealthCheckSettings &settings);
    // The CA certificates trusted for https:// endpoints instead of the system's (none given:
    // the system's), as the edge's own connections trust them (edge.upstream_ca_file).
    void setCaCertificates(const QList<QSslCertificate> &certificates);
    const HealthCheckSettings &settings() const { return m_settings; }

    // The endpoints to check. Known ones keep their state and schedule; new ones are due now;
    // the others are forgotten (their probes are abandoned).
    void setTargets(const QList<EndpointRef> &targets);
    QList<EndpointRef> targets() const;

    void start();
    void stop();
    bool isRunning() const { return m_running; }

    // Starts the probes that are due and not already running; returns how many were started.
    int runDueChecks();
    int probesInFlight() const;
    HealthState health(const EndpointRef &target) const;

    // Probes say who they are (User-Agent "meridian-health/<version>"), so a region can keep them
    // out of its users' traffic figures whatever health_check.path an edge is configured with.
    static bool isProbeUserAgent(QByteArrayView userAgent);

signals:
    void healthChanged(const QString &regionId, const QString &url, Meridian::HealthState health);
    // Every probe's outcome: success, and what was seen ("HTTP 200", "timeout after 1000 ms", …).
    void probeFinished(const QString &regionId,
                       const QString &url,
                       bool success,
                       const QString &detail);

private:
    struct Target
    {
        HealthCounter counter;
        Clock::Duration nextDue{};
        QNetworkReply *reply = nullptr;
    };

    void probe(const EndpointRef &ref, Target &target);
    void onReplyFinished(const EndpointRef &ref, QNetworkReply *reply);
    void scheduleTimer();

    const Clock &m_clock;
    HealthCheckSettings m_settings;
    QNetworkAccessManager *m_network = nullptr;
    QList<QSslCertificate> m_caCertificates;
    QTimer m_timer;
    QHash<EndpointRef, Target> m_targets;
    QList<EndpointRef> m_order;
    bool m_running = false;
};

} // namespace Meridian
