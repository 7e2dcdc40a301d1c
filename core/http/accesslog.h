#pragma once

#include <QString>

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace Meridian {

// An access log (the edge's, a region's data port): one JSON object per line and per request,
// appended to a file that logrotate can move away (reopen() on SIGHUP). Workers never write per
// request: each fills a Buffer of its own and hands it over when it holds 64 KiB or is a second
// old, as nginx's `access_log ... buffer=` does, so the log costs the request path no system call.
// Lines still in a buffer are lost if the process is killed; an orderly stop writes them.
class AccessLog
{
public:
    // A worker's lines not yet written.
    class Buffer
    {
    public:
        struct Entry
        {
            std::string_view client;
            std::string_view method;
            std::string_view target;
            int status = 0;     // 499: the client went away before the answer was complete
            uint64_t bytes = 0; // sent to the client, head included
            uint64_t durationUs = 0;
            std::string_view region; // empty: answered by the edge itself
            // Tries at a region, retries included; -1: not proxied (a region's own answer), and
            // the line has no "attempts" and "cache".
            int attempts = 0;
            std::string_view cache; // "HIT", "MISS" or empty
        };

        void append(const Entry &entry, int64_t nowMs);
        bool empty() const { return m_text.empty(); }
        // Whether the buffer should go to the file: 64 KiB, or its oldest line older than 1 s.
        bool due(int64_t nowMs) const;
        void writeTo(AccessLog &log);

    private:
        void appendTime();
        void appendString(std::string_view s);

        std::string m_text;
        int64_t m_firstMs = 0; // monotonic time of the oldest buffered line
        int64_t m_second = -1; // the wall-clock second m_stamp shows
        char m_stamp[24] = {}; // "2026-12-06T17:33:43." for m_second
    };

    AccessLog() = default;
    ~AccessLog();
    AccessLog(const AccessLog &) = delete;
    AccessLog &operator=(const AccessLog &) = delete;

    // Opens (creates, mode 0640) `path` for appending; false with the reason on failure.
    bool open(const QString &path, QString *error);
    // Thread-safe: the file at the path again, after logrotate moved it. On failure the old
    // file stays in use.
    bool reopen(QString *error);
    // Thread-safe: appends whole lines in one write (O_APPEND).
    void write(std::string_view lines);
    QString path() const { return m_path; }

private:
    std::mutex m_mutex;
    QString m_path;
    int m_fd = -1;
    bool m_warned = false;
};

} // namespace Meridian
