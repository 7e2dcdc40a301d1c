#pragma once

#include "core/control/apitypes.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QStringList>

#include <chrono>

class QTimer;

namespace Meridian {

class ControlCall;
class ControlClient;
class EventStream;

// Keeps the control room's picture of one cluster fresh: polls GET /v1/cluster (about once a
// second) and follows the event stream, through one ControlClient. A profile may list several
// endpoints (any node of the cluster answers): when the current one stops answering, the watcher
// moves on to the next and follows its event stream instead. Everything is asynchronous on the
// owner's thread; nothing here blocks it.
class ClusterWatcher final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ClusterWatcher)

public:
    enum class ConnectionState {
        Idle,       // not started, or no endpoint
        Connecting, // no good answer yet from the current endpoint
        Connected,  // the last poll answered
        Failing,    // the last poll failed; trying the next endpoint
        AuthFailed, // the token was refused (401/403); polling goes on, the user must act
    };
    Q_ENUM(ConnectionState)

    explicit ClusterWatcher(QObject *parent = nullptr);
    ~ClusterWatcher() override;

    // Endpoints of one cluster ("http://127.0.0.1:42001", ...) and the token for all of them.
    // Returns false (and says why) if none is a usable endpoint.
    bool setEndpoints(const QStringList &endpoints, const QString &token, QString *error = nullptr);
    QStringList endpoints() const { return m_endpoints; }
    QString currentEndpoint() const;
    void setPollInterval(std::chrono::milliseconds interval);

    void start();
    void stop();
    bool isRunning() const { return m_running; }

    // The client of the endpoint in use, for actions (its endpoint follows failovers).
    ControlClient *client() const { return m_client; }
    EventStream *eventStream() const { return m_events; }
    ConnectionState connectionState() const { return m_state; }
    QString connectionText() const;
    Api::ApiError lastError() const { return m_lastError; }
    const Api::ClusterView &lastView() const { return m_view; }
    bool hasView() const { return m_hasView; }
    // Seconds since the last good answer; negative before the first.
    double stalenessSeconds() const;
    int failoverCount() const { return m_failovers; }

public slots:
    // Polls now (e.g. right after an action), unless a poll is in flight.
    void refresh();

signals:
    void clusterUpdated(const Meridian::Api::ClusterView &view);
    void eventReceived(const Meridian::Api::ApiEvent &event);
    void connectionStateChanged(Meridian::ClusterWatcher::ConnectionState state,
                                const QString &text);
    // About once a second while running.
    void stalenessChanged(double seconds);
    void endpointChanged(const QString &endpoint);
    void errorOccurred(const Meridian::Api::ApiError &error);

private:
    void poll();
    void onAnswer(const Api::ApiResult<Api::ClusterView> &result);
    void failover();
    void useEndpoint(int index);
    void setState(ConnectionState state);

    ControlClient *m_client;
    EventStream *m_events;
    QTimer *m_pollTimer;
    QTimer *m_staleTimer;
    QPointer<ControlCall> m_inFlight;
    QStringList m_endpoints;
    int m_current = 0;
    int m_failuresOnCurrent = 0;
    int m_consecutiveFailures = 0;
    int m_failovers = 0;
    ConnectionState m_state = ConnectionState::Idle;
    Api::ApiError m_lastError;
    Api::ClusterView m_view;
    bool m_hasView = false;
    bool m_running = false;
    QElapsedTimer m_sinceGood;
};

} // namespace Meridian
