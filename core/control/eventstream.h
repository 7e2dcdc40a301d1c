#pragma once

#include "core/control/apitypes.h"
#include "core/control/sseparser.h"

#include <QObject>
#include <QPointer>

#include <chrono>

class QNetworkReply;
class QTimer;

namespace Meridian {

class ControlClient;

// The live event stream of one node (GET /v1/events, Server-Sent Events), for the control room
// and `meridianctl events`. It reconnects by itself with exponential back-off (with jitter, reset
// after each successful connection), sends Last-Event-ID on reconnect, and treats a silence longer
// than the idle timeout (three missed heartbeats by default) as a dead connection. Authentication
// refusals (401/403) are final: it reports the error and stops rather than retry forever.
class EventStream final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventStream)

public:
    enum class State { Stopped, Connecting, Connected, WaitingToReconnect };
    Q_ENUM(State)

    // Uses the client's endpoint, token and network access manager.
    explicit EventStream(ControlClient *client, QObject *parent = nullptr);
    ~EventStream() override;

    void start();
    void stop();
    State state() const { return m_state; }
    Api::ApiError lastError() const { return m_lastError; }
    int connectionCount() const { return m_connections; }
    // Delay before the next reconnection attempt (for display: "retrying in 4 s").
    std::chrono::milliseconds nextRetryDelay() const { return m_currentDelay; }

    void setReconnectDelays(std::chrono::milliseconds initial, std::chrono::milliseconds maximum);
    void setIdleTimeout(std::chrono::milliseconds timeout) { m_idleTimeout = timeout; }

signals:
    void stateChanged(Meridian::EventStream::State state);
    // Every event, whatever its type.
    void eventReceived(const Meridian::Api::ApiEvent &event);
    // Per type, for the documented types (state, health, lag, action, traffic).
    void stateEvent(const QJsonObject &data);
    void healthEvent(const QJsonObject &data);
    void lagEvent(const QJsonObject &data);
    void actionEvent(const Meridian::Api::ActionInfo &action);
    void trafficEvent(const QJsonObject &data);
    // A connection failed or dropped (the stream retries unless state() is Stopped), or an event
    // could not be read (the stream goes on).
    void errorOccurred(const Meridian::Api::ApiError &error);

private:
    void connectNow();
    void onReadyRead();
    void onFinished();
    void scheduleReconnect(const Api::ApiError &error);
    void setState(State state);
    void dispatch(const SseMessage &message);
    void dropReply();

    QPointer<ControlClient> m_client;
    QPointer<QNetworkReply> m_reply;
    QTimer *m_retryTimer;
    QTimer *m_idleTimer;
    SseParser m_parser;
    Api::ApiError m_lastError;
    State m_state = State::Stopped;
    std::chrono::milliseconds m_initialDelay{500};
    std::chrono::milliseconds m_maxDelay{30000};
    std::chrono::milliseconds m_currentDelay{500};
    std::chrono::milliseconds m_idleTimeout{15000};
    int m_connections = 0;
    bool m_gotHeaders = false;
};

} // namespace Meridian
