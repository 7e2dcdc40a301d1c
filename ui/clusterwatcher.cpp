#include "ui/clusterwatcher.h"

#include "core/control/controlclient.h"
#include "core/control/eventstream.h"

#include <QTimer>

namespace Meridian {

ClusterWatcher::ClusterWatcher(QObject *parent)
    : QObject(parent)
    , m_client(new ControlClient(this))
    , m_events(new EventStream(m_client, this))
    , m_pollTimer(new QTimer(this))
    , m_staleTimer(new QTimer(this))
{
    m_client->setTimeout(std::chrono::milliseconds(4000));
    m_pollTimer->setInterval(1000);
    m_staleTimer->setInterval(1000);
    connect(m_pollTimer, &QTimer::timeout, this, &ClusterWatcher::poll);
    connect(m_staleTimer, &QTimer::timeout, this, [this] {
        emit stalenessChanged(stalenessSeconds());
    });
    connect(m_events, &EventStream::eventReceived, this, &ClusterWatcher::eventReceived);
    // Events say something changed: ask for the whole picture now rather than at the next tick.
    connect(m_events, &EventStream::stateEvent, this, &ClusterWatcher::refresh);
    connect(m_events, &EventStream::healthEvent, this, &ClusterWatcher::refresh);
    connect(m_events, &EventStream::actionEvent, this, &ClusterWatcher::refresh);
}

ClusterWatcher::~ClusterWatcher()
{
    if (m_inFlight)
        m_inFlight->abort();
    m_events->stop();
}

bool ClusterWatcher::setEndpoints(const QStringList &endpoints, const QString &token, QString *error)
{
    QStringList usable;
    QString firstError;
    for (const QString &endpoint : endpoints) {
        const auto parsed = ControlClient::parseEndpoint(endpoint.trimmed());
        if (parsed)
            usable.append(parsed.value().toString());
        else if (firstError.isEmpty())
            firstError = parsed.error().message;
    }
    if (usable.isEmpty()) {
        if (error)
            *error = firstError.isEmpty() ? tr("no endpoint given") : firstError;
        return false;
    }
    const bool wasRunning = m_running;
    stop();
    m_endpoints = usable;
    m_client->setToken(token);
    m_hasView = false;
    m_view = {};
    useEndpoint(0);
    if (wasRunning)
        start();
    return true;
}

QString ClusterWatcher::currentEndpoint() const
{
    return m_endpoints.value(m_current);
}

void ClusterWatcher::setPollInterval(std::chrono::milliseconds interval)
{
    m_pollTimer->setInterval(int(interval.count()));
}

void ClusterWatcher::start()
{
    if (m_running || m_endpoints.isEmpty())
        return;
    m_running = true;
    setState(ConnectionState::Connecting);
    m_pollTimer->start();
    m_staleTimer->start();
    m_events->start();
    poll();
}

void ClusterWatcher::stop()
{
    m_running = false;
    m_pollTimer->stop();
    m_staleTimer->stop();
    if (m_inFlight)
        m_inFlight->abort();
    m_inFlight = nullptr;
    m_events->stop();
    setState(ConnectionState::Idle);
}

void ClusterWatcher::refresh()
{
    if (m_running)
        poll();
}

double ClusterWatcher::stalenessSeconds() const
{
    if (!m_sinceGood.isValid())
        return -1.0;
    return m_sinceGood.elapsed() / 1000.0;
}

QString ClusterWatcher::connectionText() const
{
    const QString endpoint = currentEndpoint();
    switch (m_state) {
    case ConnectionState::Idle:
        return tr("not connected");
    case ConnectionState::Connecting:
        return tr("connecting to %1").arg(endpoint);
    case ConnectionState::Connected:
        return tr("connected to %1").arg(endpoint);
    case ConnectionState::Failing:
        return tr("no answer (%1); trying %2").arg(m_lastError.toString(), endpoint);
    case ConnectionState::AuthFailed:
        return tr("refused by %1: %2; check the token in the connection settings")
                .arg(endpoint, m_lastError.message);
    }
    return {};
}

void ClusterWatcher::poll()
{
    if (m_inFlight || m_endpoints.isEmpty())
        return;
    m_inFlight = m_client->cluster(this, [this](const Api::ApiResult<Api::ClusterView> &result) {
        m_inFlight = nullptr;
        onAnswer(result);
    });
}

void ClusterWatcher::onAnswer(const Api::ApiResult<Api::ClusterView> &result)
{
    if (!m_running)
        return;
    if (result) {
        m_failuresOnCurrent = 0;
        m_consecutiveFailures = 0;
        m_view = result.value();
        m_hasView = true;
        m_sinceGood.start();
        setState(ConnectionState::Connected);
        emit clusterUpdated(m_view);
        emit stalenessChanged(0.0);
        return;
    }
    m_lastError = result.error();
    emit errorOccurred(m_lastError);
    if (m_lastError.isAuthError()) {
        setState(ConnectionState::AuthFailed);
        return;
    }
    ++m_failuresOnCurrent;
    ++m_consecutiveFailures;
    setState(ConnectionState::Failing);
    failover();
}

void ClusterWatcher::failover()
{
    if (m_endpoints.size() < 2)
        return;
    ++m_failovers;
    useEndpoint((m_current + 1) % int(m_endpoints.size()));
    if (m_running) {
        m_events->stop();
        m_events->start();
        // Try the next endpoint at once rather than a whole interval later, but only until each
        // endpoint has failed once in a row: then the poll timer paces the retries.
        if (m_consecutiveFailures < m_endpoints.size())
            QTimer::singleShot(0, this, &ClusterWatcher::refresh);
    }
}

void ClusterWatcher::useEndpoint(int index)
{
    m_current = index;
    m_failuresOnCurrent = 0;
    m_client->setEndpoint(m_endpoints.at(index));
    emit endpointChanged(m_endpoints.at(index));
}

void ClusterWatcher::setState(ConnectionState state)
{
    if (state == m_state && state != ConnectionState::Failing)
        return;
    m_state = state;
    emit connectionStateChanged(state, connectionText());
}

} // namespace Meridian
