#pragma once

#include "core/http/httpresponse.h"

#include <functional>
#include <memory>

namespace Meridian {

namespace Internal {
struct ResponderState;
}

// The handle a handler answers one request through, now or later, from any thread. Copyable;
// all copies refer to the same request. Exactly one of send() or beginStream() takes effect;
// later calls return false. If the client went away (or the server shut down) meanwhile, the
// calls are safe no-ops that return false, and the onClosed callback tells the handler. If every
// copy is dropped without an answer, the client gets 500 instead of waiting forever.
//
// Responses on one connection always leave in request order (pipelining), whatever order
// handlers complete in.
class HttpResponder
{
public:
    HttpResponder() = default;
    explicit HttpResponder(std::shared_ptr<Internal::ResponderState> state);

    // Sends the complete response.
    bool send(HttpResponse response);
    bool send(int status, const QJsonObject &object);
    bool sendError(int status, QStringView code, QStringView message);

    // Starts a streamed response: sends the status line and headers of `head` (its body is
    // ignored). Without a Content-Length header the body is sent chunked (HTTP/1.1) or
    // delimited by closing the connection (HTTP/1.0).
    bool beginStream(HttpResponse head);
    // Starts a Server-Sent Events stream (text/event-stream, no caching, no buffering).
    bool beginEventStream();
    // Appends to a streamed body.
    bool write(QByteArray data);
    // One SSE frame: "event: NAME\ndata: LINE\n...\n\n" (data split on newlines).
    bool sendEvent(QByteArrayView event, QByteArrayView data, QByteArrayView id = {});
    // An SSE comment line (": text\n\n"), for heartbeats.
    bool sendComment(QByteArrayView text);
    // Finishes a streamed body; the connection may then serve the next request.
    bool end();

    // False once the connection closed or the response finished.
    bool isOpen() const;
    // Called once, on the connection's thread, when the connection closes before the response
    // finished (client disconnect, timeout, shutdown). Called at once if that already happened.
    void setOnClosed(std::function<void()> callback);

    bool isValid() const { return m_state != nullptr; }

    static QByteArray formatEvent(QByteArrayView event, QByteArrayView data, QByteArrayView id);

private:
    std::shared_ptr<Internal::ResponderState> m_state;
};

} // namespace Meridian
