#include "core/http/httpresponder.h"

#include "core/http/httpconnection.h"

#include <QThread>

#include <algorithm>

namespace Meridian {

using Internal::HttpConnection;
using Internal::ResponderState;
using Phase = ResponderState::Phase;

namespace {

// Runs op(connection) on the connection's thread: directly when already there and nothing is
// queued for this request (keeps order), otherwise as a queued call. `from` is the phase the
// responder must be in; `to` the phase after the call.
template<typename Op>
bool deliver(const std::shared_ptr<ResponderState> &state,
             std::initializer_list<Phase> from,
             Phase to,
             Op op)
{
    if (!state)
        return false;
    QMutexLocker lock(&state->handle->mutex);
    HttpConnection *connection = state->handle->connection;
    if (!connection || state->closed)
        return false;
    if (std::find(from.begin(), from.end(), state->phase) == from.end())
        return false;
    state->phase = to;
    if (state->pendingPosts == 0 && QThread::currentThread() == connection->thread()) {
        lock.unlock();
        op(connection);
        return true;
    }
    ++state->pendingPosts;
    QMetaObject::invokeMethod(
            connection,
            [state, op = std::move(op)]() mutable {
                HttpConnection *c = nullptr;
                {
                    QMutexLocker l(&state->handle->mutex);
                    --state->pendingPosts;
                    c = state->handle->connection;
                }
                if (c)
                    op(c);
            },
            Qt::QueuedConnection);
    return true;
}

} // namespace

HttpResponder::HttpResponder(std::shared_ptr<Internal::ResponderState> state)
    : m_state(std::move(state))
{}

bool HttpResponder::send(HttpResponse response)
{
    const quint64 seq = m_state ? m_state->seq : 0;
    return deliver(m_state,
                   {Phase::Waiting},
                   Phase::Finished,
                   [seq, response = std::move(response)](HttpConnection *c) mutable {
                       c->responderSend(seq, std::move(response));
                   });
}

bool HttpResponder::send(int status, const QJsonObject &object)
{
    return send(HttpResponse::json(status, object));
}

bool HttpResponder::sendError(int status, QStringView code, QStringView message)
{
    return send(HttpResponse::jsonError(status, code, message));
}

bool HttpResponder::beginStream(HttpResponse head)
{
    const quint64 seq = m_state ? m_state->seq : 0;
    return deliver(m_state,
                   {Phase::Waiting},
                   Phase::Streaming,
                   [seq, head = std::move(head)](HttpConnection *c) mutable {
                       c->responderBegin(seq, std::move(head));
                   });
}

bool HttpResponder::beginEventStream()
{
    HttpResponse head(200);
    head.setHeader("Content-Type", "text/event-stream");
    head.setHeader("Cache-Control", "no-cache");
    head.setHeader("X-Accel-Buffering", "no");
    return beginStream(std::move(head));
}

bool HttpResponder::write(QByteArray data)
{
    const quint64 seq = m_state ? m_state->seq : 0;
    return deliver(m_state,
                   {Phase::Streaming},
                   Phase::Streaming,
                   [seq, data = std::move(data)](HttpConnection *c) {
                       c->responderWrite(seq, data);
                   });
}

QByteArray HttpResponder::formatEvent(QByteArrayView event, QByteArrayView data, QByteArrayView id)
{
    QByteArray frame;
    frame.reserve(data.size() + event.size() + id.size() + 32);
    if (!id.isEmpty()) {
        frame += "id: ";
        frame += id;
        frame += '\n';
    }
    if (!event.isEmpty()) {
        frame += "event: ";
        frame += event;
        frame += '\n';
    }
    qsizetype start = 0;
    do {
        qsizetype end = data.indexOf('\n', start);
        if (end < 0)
            end = data.size();
        QByteArrayView line = data.sliced(start, end - start);
        if (line.endsWith('\r'))
            line.chop(1);
        frame += "data: ";
        frame += line;
        frame += '\n';
        start = end + 1;
    } while (start <= data.size() - 1);
    frame += '\n';
    return frame;
}

bool HttpResponder::sendEvent(QByteArrayView event, QByteArrayView data, QByteArrayView id)
{
    return write(formatEvent(event, data, id));
}

bool HttpResponder::sendComment(QByteArrayView text)
{
    QByteArray frame = ": ";
    frame += text;
    frame += "\n\n";
    return write(std::move(frame));
}

bool HttpResponder::end()
{
    const quint64 seq = m_state ? m_state->seq : 0;
    return deliver(m_state, {Phase::Streaming}, Phase::Finished, [seq](HttpConnection *c) {
        c->responderEnd(seq);
    });
}

bool HttpResponder::isOpen() const
{
    if (!m_state)
        return false;
    QMutexLocker lock(&m_state->handle->mutex);
    return m_state->handle->connection && !m_state->closed && m_state->phase != Phase::Finished;
}

void HttpResponder::setOnClosed(std::function<void()> callback)
{
    if (!m_state || !callback)
        return;
    {
        QMutexLocker lock(&m_state->handle->mutex);
        if (m_state->handle->connection && !m_state->closed) {
            m_state->onClosed = std::move(callback);
            return;
        }
        if (m_state->phase == Phase::Finished)
            return; // answered completely: there is nothing left to be interrupted
    }
    callback();
}

} // namespace Meridian
