#pragma once

#include "core/http/httprequest.h"

#include <QString>

namespace Meridian {

// What a request may be at most; exceeding answers 431 (head) or 413 (body).
struct HttpRequestLimits
{
    qsizetype maxHeaderBytes = 16 * 1024; // request line + headers (and chunked trailers)
    qint64 maxBodyBytes = 8 * 1024 * 1024;
    int maxHeaderCount = 100;
};

// Incremental, strict HTTP/1.1 request parser (RFC 9112). Feed it bytes as they arrive; it
// consumes what it can and reports NeedMore, Complete or Error (with the status to answer:
// 400, 413, 431, 501 or 505). The head is parsed only once complete (the caller keeps
// unconsumed bytes), the body is consumed incrementally and de-chunked. Ambiguous framing that
// enables request smuggling (Content-Length with Transfer-Encoding, differing Content-Lengths,
// obs-fold, whitespace before the colon) is refused rather than guessed at.
class HttpRequestParser
{
public:
    enum class Status { NeedMore, Complete, Error };

    using Limits = HttpRequestLimits;

    struct Error
    {
        int status = 400;
        QString message;
    };

    explicit HttpRequestParser(Limits limits = {});

    // Consumes a prefix of data[0, size) and returns its length. Until the head is complete
    // nothing is consumed (pass the same bytes again, plus new ones). After Complete or Error,
    // call takeRequest() / error() and reset() before feeding the next message.
    qsizetype feed(const char *data, qsizetype size);

    Status status() const { return m_status; }
    // True once the request line and headers are parsed (the body may still be pending).
    bool headComplete() const { return m_state != State::Head; }
    // True when some bytes of a message (beyond leading blank lines) have been seen.
    bool inProgress() const { return m_seenBytes; }
    // The head asked for "Expect: 100-continue" and a body is still to come.
    bool expectsContinue() const { return m_expectContinue; }
    // The declared Content-Length, or -1 for chunked / no body.
    qint64 contentLength() const { return m_contentLength; }

    const HttpRequest &request() const { return m_request; }
    HttpRequest takeRequest();
    const Error &error() const { return m_error; }
    void reset();

    void setLimits(Limits limits) { m_limits = limits; }
    const Limits &limits() const { return m_limits; }

private:
    enum class State { Head, Body, ChunkSize, ChunkData, ChunkDataEnd, Trailers, Done };

    qsizetype parseHead(const char *data, qsizetype size);
    bool parseRequestLine(QByteArrayView line);
    bool parseHeaderLine(QByteArrayView line);
    bool finishHead();
    qsizetype parseBody(const char *data, qsizetype size);
    qsizetype fail(int status, QString message);

    Limits m_limits;
    State m_state = State::Head;
    Status m_status = Status::NeedMore;
    HttpRequest m_request;
    Error m_error;
    qsizetype m_scanFrom = 0;
    qsizetype m_lineStart = 0;
    qsizetype m_trailerBytes = 0;
    qint64 m_contentLength = -1;
    qint64 m_remaining = 0;
    bool m_chunked = false;
    bool m_expectContinue = false;
    bool m_seenBytes = false;
};

} // namespace Meridian
