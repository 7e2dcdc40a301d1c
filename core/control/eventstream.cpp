#include "core/control/eventstream.h"

#include "core/control/controlclient.h"

#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QRandomGenerator>
#include <QTimer>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Meridian {

Q_LOGGING_CATEGORY(lcEvents, "meridian.control.events", QtInfoMsg)

using namespace Api;

EventStream::EventStream(ControlClient *client, QObject *parent)
    : QObject(parent)
    , m_client(client)
    , m_retryTimer(new QTimer(this))
    , m_idleTimer(new QTimer(this))
{
    m_retryTimer->setSingleShot(true);
    m_idleTimer->setSingleShot(true);
    connect(m_retryTimer, &QTimer::timeout, this, &EventStream::connectNow);
    connect(m_idleTimer, &QTimer::timeout, this, [this] {
        ApiError error;
        error.code = u"timeout"_s;
        error.url = m_client ? m_client->urlFor(u"/v1/events"_s).toString() : QString();
        error.message = u"no event or heartbeat from %1 for %2 s: reconnecting"_s
                                .arg(error.url,
                                     QString::number(double(m_idleTimeout.count()) / 1000.0));
        dropReply();
        scheduleReconnect(error);
    });
}

EventStream::~EventStream()
{
    dropReply();
}

void EventStream::setReconnectDelays(std::chrono::milliseconds initial,
                                     std::chrono::milliseconds maximum)
{
    m_initialDelay = initial;
    m_maxDelay = std::max(initial, maximum);
    m_currentDelay = initial;
}

void EventStream::start()
{
    if (m_state != State::Stopped)
        return;
    m_currentDelay = m_initialDelay;
    connectNow();
}

void EventStream::stop()
{
    m_retryTimer->stop();
    m_idleTimer->stop();
    dropReply();
    setState(State::Stopped);
}

void EventStream::setState(State state)
{
    if (m_state == state)
        return;
    m_state = state;
    emit stateChanged(state);
}

void EventStream::dropReply()
{
    if (!m_reply)
        return;
    QNetworkReply *reply = m_reply;
    m_reply = nullptr;
    reply->disconnect(this);
    reply->abort();
    reply->deleteLater();
}

void EventStream::connectNow()
{
    if (!m_client) {
        stop();
        return;
    }
    dropReply();
    m_parser.reset();
    m_gotHeaders = false;
    QNetworkRequest request(m_client->urlFor(u"/v1/events"_s));
    request.setSslConfiguration(m_client->sslConfiguration());
    request.setRawHeader("Accept", "text/event-stream");
    request.setRawHeader("Cache-Control", "no-cache");
    request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    request.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
    if (!m_client->token().isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_client->token().toUtf8());
    if (!m_parser.lastEventId().isEmpty())
        request.setRawHeader("Last-Event-ID", m_parser.lastEventId().toUtf8());
    setState(State::Connecting);
    m_reply = m_client->networkAccess()->get(request);
    connect(m_reply, &QNetworkReply::metaDataChanged, this, [this] {
        const int status = m_reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        if (status != 200 || m_gotHeaders)
            return;
        m_gotHeaders = true;
        ++m_connections;
        m_currentDelay = m_initialDelay;
        setState(State::Connected);
        qCInfo(lcEvents) << "connected to" << m_reply->url().toString();
    });
    connect(m_reply, &QNetworkReply::readyRead, this, &EventStream::onReadyRead);
    connect(m_reply, &QNetworkReply::finished, this, &EventStream::onFinished);
    m_idleTimer->start(m_idleTimeout);
}

void EventStream::onReadyRead()
{
    if (!m_reply)
        return;
    const int status = m_reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (status != 200)
        return; // an error body: read whole in onFinished
    m_idleTimer->start(m_idleTimeout);
    const QList<SseMessage> messages = m_parser.feed(m_reply->readAll());
    QPointer<EventStream> self(this);
    for (const SseMessage &message : messages) {
        dispatch(message);
        if (!self || !m_reply)
            return; // a slot stopped or deleted the stream
    }
    if (m_parser.hasError()) {
        ApiError error = ApiError::invalidResponse(m_parser.errorString(),
                                                   m_reply->url().toString());
        dropReply();
        scheduleReconnect(error);
    }
}

void EventStream::dispatch(const SseMessage &message)
{
    ApiResult<ApiEvent> event = ApiEvent::fromSse(message.event, message.id, message.data);
    if (!event) {
        emit errorOccurred(event.error());
        return;
    }
    emit eventReceived(event.value());
    const QString &type = event.value().type;
    if (type == u"state"_s) {
        emit stateEvent(event.value().dataObject());
    } else if (type == u"health"_s) {
        emit healthEvent(event.value().dataObject());
    } else if (type == u"lag"_s) {
        emit lagEvent(event.value().dataObject());
    } else if (type == u"traffic"_s) {
        emit trafficEvent(event.value().dataObject());
    } else if (type == u"action"_s) {
        const ApiResult<ActionInfo> action = event.value().action();
        if (action)
            emit actionEvent(action.value());
        else
            emit errorOccurred(action.error());
    }
}

void EventStream::onFinished()
{
    if (!m_reply)
        return;
    QNetworkReply *reply = m_reply;
    const QString url = reply->url().toString();
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    ApiError error;
    if (status >= 400) {
        error = ApiError::fromHttp(status, reply->readAll(), url);
    } else if (status == 0) {
        error = ControlClient::networkError(reply, url);
    } else if (status != 200) {
        error = ApiError::invalidResponse(u"unexpected HTTP %1 for the event stream"_s.arg(status),
                                          url);
    } else {
        onReadyRead();
        error.code = u"network"_s;
        error.url = url;
        error.message = u"%1 ended the event stream"_s.arg(url);
    }
    dropReply();
    if (error.isAuthError()) {
        m_lastError = error;
        m_retryTimer->stop();
        m_idleTimer->stop();
        emit errorOccurred(error);
        setState(State::Stopped);
        return;
    }
    scheduleReconnect(error);
}

void EventStream::scheduleReconnect(const ApiError &error)
{
    m_idleTimer->stop();
    m_lastError = error;
    if (m_parser.retryMs())
        m_currentDelay = std::max(m_currentDelay, std::chrono::milliseconds(*m_parser.retryMs()));
    // +-20 % jitter, so that many control rooms do not reconnect in lock-step after a restart.
    const double jitter = 0.8 + 0.4 * QRandomGenerator::global()->generateDouble();
    const auto delay = std::chrono::milliseconds(qint64(double(m_currentDelay.count()) * jitter));
    qCInfo(lcEvents).noquote() << error.message << "- retrying in" << delay.count() << "ms";
    setState(State::WaitingToReconnect);
    m_retryTimer->start(delay);
    m_currentDelay = std::min(m_currentDelay * 2, m_maxDelay);
    emit errorOccurred(error);
}

} // namespace Meridian
