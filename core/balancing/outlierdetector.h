#pragma once

#include "core/balancing/endpointref.h"
#include "core/balancing/outliersettings.h"
#include "core/util/clock.h"

#include <QHash>
#include <QList>
#include <QMutex>
#include <QObject>
#include <QTimer>

#include <optional>

namespace Meridian {

// Passive outlier detection: watches the outcome of real requests and ejects endpoints that
// fail repeatedly (OutlierSettings says how). Emits ejected/returned; connect them to
// Balancer::setEndpointEjected.
//
// recordSuccess/recordFailure are thread-safe (gateway workers call them per response); the
// signals are emitted on the calling thread. Time comes from the injected Clock: process() ends
// the ejections that are due; start() drives it from a QTimer, tests call it after advancing a
// ManualClock.
class OutlierDetector final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(OutlierDetector)

public:
    OutlierDetector(const Clock &clock, QObject *parent = nullptr);

    BalancingResult<> setSettings(const OutlierSettings &settings);
    OutlierSettings settings() const;
    // Known endpoints keep their state; others are forgotten.
    void setTargets(const QList<EndpointRef> &targets);

    void recordSuccess(const EndpointRef &target);
    void recordFailure(const EndpointRef &target);
    void recordResult(const EndpointRef &target, bool success);

    // Returns the endpoints whose ejection ended now.
    QList<EndpointRef> process();
    void start();
    void stop();

    bool isEjected(const EndpointRef &target) const;
    int ejectionCount(const EndpointRef &target) const;
    int ejectedCount() const;

signals:
    void ejected(const QString &regionId, const QString &url, std::chrono::milliseconds duration);
    void returned(const QString &regionId, const QString &url);

private:
    struct State
    {
        int consecutiveFailures = 0;
        int ejections = 0; // the multiplier of the next ejection, decays in hold-down steps
        bool ejected = false;
        Clock::Duration ejectedUntil{};
        Clock::Duration decayFrom{}; // start of the current clean hold-down period
        bool returnedOnce = false;
    };

    void decay(State &state, Clock::Duration now) const;
    int allowedEjections() const;
    void scheduleTimer();

    const Clock &m_clock;
    mutable QMutex m_mutex;
    OutlierSettings m_settings;
    QHash<EndpointRef, State> m_states;
    int m_ejected = 0;
    QTimer m_timer;
    bool m_running = false;
};

} // namespace Meridian
