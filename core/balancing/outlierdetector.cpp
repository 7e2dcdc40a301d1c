#include "core/balancing/outlierdetector.h"

#include <QLoggingCategory>

#include <algorithm>

namespace Meridian {

Q_LOGGING_CATEGORY(lcOutlier, "meridian.balancing.outlier", QtInfoMsg)

OutlierDetector::OutlierDetector(const Clock &clock, QObject *parent)
    : QObject(parent)
    , m_clock(clock)
{
    m_timer.setSingleShot(true);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        process();
        scheduleTimer();
    });
}

BalancingResult<> OutlierDetector::setSettings(const OutlierSettings &settings)
{
    if (const auto valid = settings.validate(); !valid)
        return valid;
    QMutexLocker lock(&m_mutex);
    m_settings = settings;
    return {};
}

OutlierSettings OutlierDetector::settings() const
{
    QMutexLocker lock(&m_mutex);
    return m_settings;
}

void OutlierDetector::setTargets(const QList<EndpointRef> &targets)
{
    {
        QMutexLocker lock(&m_mutex);
        QHash<EndpointRef, State> next;
        for (const EndpointRef &ref : targets)
            next.insert(ref, m_states.value(ref));
        m_states = std::move(next);
        m_ejected = 0;
        for (const State &state : std::as_const(m_states))
            m_ejected += state.ejected ? 1 : 0;
    }
    scheduleTimer();
}

void OutlierDetector::recordSuccess(const EndpointRef &target)
{
    recordResult(target, true);
}

void OutlierDetector::recordFailure(const EndpointRef &target)
{
    recordResult(target, false);
}

int OutlierDetector::allowedEjections() const
{
    const auto total = static_cast<qint64>(m_states.size());
    return int(std::max<qint64>(1, total * m_settings.maxEjectionPercent / 100));
}

void OutlierDetector::decay(State &state, Clock::Duration now) const
{
    if (state.ejected || state.ejections == 0)
        return;
    const Clock::Duration period = m_settings.holdDown;
    const auto periods = (now - state.decayFrom) / period;
    if (periods <= 0)
        return;
    state.ejections = int(std::max<qint64>(0, state.ejections - periods));
    state.decayFrom += periods * period;
}

void OutlierDetector::recordResult(const EndpointRef &target, bool success)
{
    std::chrono::milliseconds duration{};
    {
        QMutexLocker lock(&m_mutex);
        auto it = m_states.find(target);
        if (it == m_states.end() || it->ejected)
            return; // unknown, or a late answer from before the ejection
        State &state = *it;
        if (success) {
            state.consecutiveFailures = 0;
            return;
        }
        ++state.consecutiveFailures;
        const Clock::Duration now = m_clock.now();
        // On probation (within hold-down of its return) one failure is enough.
        const bool probation = state.returnedOnce && now - state.decayFrom < m_settings.holdDown
                               && state.ejections > 0;
        decay(state, now);
        if (!probation && state.consecutiveFailures < m_settings.consecutiveFailures)
            return;
        if (m_ejected >= allowedEjections())
            return; // the cap: keep serving rather than eject too much of the fleet
        ++state.ejections;
        duration = std::min(m_settings.baseEjection * state.ejections, m_settings.maxEjection);
        state.ejected = true;
        state.ejectedUntil = now + duration;
        state.consecutiveFailures = 0;
        ++m_ejected;
    }
    qCInfo(lcOutlier).noquote() << "ejecting" << target.regionId << target.url << "for"
                                << duration.count() << "ms";
    emit ejected(target.regionId, target.url, duration);
    if (m_running)
        QMetaObject::invokeMethod(this, &OutlierDetector::scheduleTimer, Qt::QueuedConnection);
}

QList<EndpointRef> OutlierDetector::process()
{
    QList<EndpointRef> back;
    {
        QMutexLocker lock(&m_mutex);
        const Clock::Duration now = m_clock.now();
        for (auto it = m_states.begin(); it != m_states.end(); ++it) {
            State &state = it.value();
            if (!state.ejected || state.ejectedUntil > now)
                continue;
            state.ejected = false;
            state.returnedOnce = true;
            state.decayFrom = now;
            state.consecutiveFailures = 0;
            --m_ejected;
            back.append(it.key());
        }
    }
    for (const EndpointRef &ref : std::as_const(back)) {
        qCInfo(lcOutlier).noquote() << "returning" << ref.regionId << ref.url;
        emit returned(ref.regionId, ref.url);
    }
    return back;
}

void OutlierDetector::start()
{
    m_running = true;
    process();
    scheduleTimer();
}

void OutlierDetector::stop()
{
    m_running = false;
    m_timer.stop();
}

void OutlierDetector::scheduleTimer()
{
    if (!m_running)
        return;
    Clock::Duration earliest = Clock::Duration::max();
    {
        QMutexLocker lock(&m_mutex);
        for (const State &state : std::as_const(m_states)) {
            if (state.ejected)
                earliest = std::min(earliest, state.ejectedUntil);
        }
    }
    if (earliest == Clock::Duration::max()) {
        m_timer.stop();
        return;
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(earliest - m_clock.now());
    m_timer.start(std::max(wait, std::chrono::milliseconds(0)));
}

bool OutlierDetector::isEjected(const EndpointRef &target) const
{
    QMutexLocker lock(&m_mutex);
    return m_states.value(target).ejected;
}

int OutlierDetector::ejectionCount(const EndpointRef &target) const
{
    QMutexLocker lock(&m_mutex);
    auto it = m_states.constFind(target);
    if (it == m_states.constEnd())
        return 0;
    State state = *it;
    decay(state, m_clock.now());
    return state.ejections;
}

int OutlierDetector::ejectedCount() const
{
    QMutexLocker lock(&m_mutex);
    return m_ejected;
}

} // namespace Meridian
