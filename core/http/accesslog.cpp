#include "core/http/accesslog.h"

#include "core/http/httplogging.h"

#include <QFile>
#include <QLoggingCategory>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <fcntl.h>
#include <unistd.h>

using namespace Qt::StringLiterals;
using namespace std::string_view_literals;

namespace Meridian {

namespace {

constexpr size_t kFlushBytes = 64 * 1024;
constexpr int64_t kFlushMs = 1000;

int openForAppend(const QString &path, QString *error)
{
    const int fd = ::open(QFile::encodeName(path).constData(),
                          O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                          0640);
    const int openError = errno;
    if (fd < 0 && error)
        *error = u"cannot open the access log %1: %2"_s.arg(path,
                                                            QString::fromLocal8Bit(
                                                                    std::strerror(openError)));
    return fd;
}

} // namespace

AccessLog::~AccessLog()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

bool AccessLog::open(const QString &path, QString *error)
{
    const int fd = openForAppend(path, error);
    if (fd < 0)
        return false;
    std::lock_guard lock(m_mutex);
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = fd;
    m_path = path;
    return true;
}

bool AccessLog::reopen(QString *error)
{
    std::lock_guard lock(m_mutex);
    const int fd = openForAppend(m_path, error);
    if (fd < 0)
        return false;
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = fd;
    m_warned = false;
    return true;
}

void AccessLog::write(std::string_view lines)
{
    std::lock_guard lock(m_mutex);
    while (!lines.empty() && m_fd >= 0) {
        const ssize_t n = ::write(m_fd, lines.data(), lines.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int writeError = n < 0 ? errno : EIO;
            // A full disk must not stop the gateway: the lines are dropped, said once.
            if (!m_warned)
                qCWarning(lcHttp).noquote()
                        << u"cannot write the access log %1: %2; dropping lines until it can"_s
                                   .arg(m_path, QString::fromLocal8Bit(std::strerror(writeError)));
            m_warned = true;
            return;
        }
        lines.remove_prefix(size_t(n));
    }
    m_warned = false;
}

void AccessLog::Buffer::appendTime()
{
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != m_second) {
        m_second = ts.tv_sec;
        tm utc{};
        gmtime_r(&ts.tv_sec, &utc);
        std::strftime(m_stamp, sizeof m_stamp, "%Y-%m-%dT%H:%M:%S.", &utc);
    }
    m_text.append(m_stamp);
    const long ms = ts.tv_nsec / 1000000;
    m_text.push_back(char('0' + ms / 100));
    m_text.push_back(char('0' + ms / 10 % 10));
    m_text.push_back(char('0' + ms % 10));
    m_text.push_back('Z');
}

// JSON string content: quotes, backslashes and control bytes escaped; other bytes as they are
// (a target's bytes were checked by the parser; the log is read as UTF-8 or bytes).
void AccessLog::Buffer::appendString(std::string_view s)
{
    m_text.push_back('"');
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            m_text.push_back('\\');
            m_text.push_back(ch);
        } else if (c < 0x20 || c == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            m_text.append(escaped);
        } else {
            m_text.push_back(ch);
        }
    }
    m_text.push_back('"');
}

void AccessLog::Buffer::append(const Entry &e, int64_t nowMs)
{
    if (m_text.empty())
        m_firstMs = nowMs;
    m_text.append(R"({"time":")"sv);
    appendTime();
    m_text.append(R"(","client":)"sv);
    appendString(e.client);
    m_text.append(R"(,"method":)"sv);
    appendString(e.method);
    m_text.append(R"(,"target":)"sv);
    appendString(e.target);
    m_text.append(R"(,"status":)"sv);
    m_text.append(std::to_string(e.status));
    m_text.append(R"(,"bytes":)"sv);
    m_text.append(std::to_string(e.bytes));
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.3f", double(e.durationUs) / 1000.0);
    m_text.append(R"(,"ms":)"sv);
    m_text.append(ms);
    m_text.append(R"(,"region":)"sv);
    if (e.region.empty())
        m_text.append("null"sv);
    else
        appendString(e.region);
    if (e.attempts >= 0) {
        m_text.append(R"(,"attempts":)"sv);
        m_text.append(std::to_string(e.attempts));
        m_text.append(R"(,"cache":)"sv);
        if (e.cache.empty())
            m_text.append("null"sv);
        else
            appendString(e.cache);
    }
    m_text.append("}\n"sv);
}

bool AccessLog::Buffer::due(int64_t nowMs) const
{
    return !m_text.empty() && (m_text.size() >= kFlushBytes || nowMs - m_firstMs >= kFlushMs);
}

void AccessLog::Buffer::writeTo(AccessLog &log)
{
    if (!m_text.empty())
        log.write(m_text);
    m_text.clear();
}

} // namespace Meridian
