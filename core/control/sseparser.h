#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>

#include <optional>

namespace Meridian {

// One dispatched Server-Sent Event.
struct SseMessage
{
    QString event; // empty means the default type, "message"
    QString data;  // the data lines joined with '\n'
    QString id;    // the last event id seen on the stream (it persists across events)
};

// An incremental parser of the text/event-stream format (WHATWG HTML, "Server-sent events"):
// bytes go in as they arrive, in chunks split anywhere (even inside a CRLF), and complete events
// come out. Handles CR, LF and CRLF line ends, comments (heartbeats), multi-line data, id and
// retry fields, a leading BOM. A line longer than maxLineBytes puts the parser in error (a
// misbehaving or hostile server cannot make the client buffer without bound).
class SseParser
{
public:
    explicit SseParser(qsizetype maxLineBytes = 4 * 1024 * 1024);

    // Parses a chunk; returns the events it completed, in order.
    QList<SseMessage> feed(QByteArrayView chunk);
    // Forgets a partial event (after a reconnect); the last event id is kept, as the spec says.
    void reset();

    bool hasError() const { return !m_error.isEmpty(); }
    QString errorString() const { return m_error; }
    QString lastEventId() const { return m_lastEventId; }
    // The reconnection time the server asked for with a `retry:` field, if any.
    std::optional<int> retryMs() const { return m_retryMs; }
    // Comment lines seen so far (each heartbeat is one).
    qint64 commentCount() const { return m_comments; }

private:
    void processLine(QByteArrayView line, QList<SseMessage> &out);

    QByteArray m_line;
    QString m_data;
    QString m_event;
    QString m_lastEventId;
    QString m_error;
    std::optional<int> m_retryMs;
    qint64 m_comments = 0;
    qsizetype m_maxLineBytes;
    bool m_skipLf = false;
    bool m_atStart = true;
    bool m_haveData = false;
};

} // namespace Meridian
