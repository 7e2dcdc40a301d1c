#include "edgeload.h"

#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

int connectTo(quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

bool sendAll(int fd, const QByteArray &bytes)
{
    qsizetype done = 0;
    while (done < bytes.size()) {
        const ssize_t n
                = ::send(fd, bytes.constData() + done, size_t(bytes.size() - done), MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        done += n;
    }
    return true;
}

QByteArray headerValue(const QByteArray &head, const QByteArray &name)
{
    for (const QByteArray &line : head.split('\n')) {
        const qsizetype colon = line.indexOf(':');
        if (colon > 0 && line.left(colon).trimmed().compare(name, Qt::CaseInsensitive) == 0)
            return line.mid(colon + 1).trimmed();
    }
    return {};
}

// Reads one response with a Content-Length body (what regions answer); false on anything else.
bool readResponse(int fd, QByteArray &buffer, int &status, QByteArray &region, bool &keepAlive)
{
    char chunk[16384];
    qsizetype headEnd = -1;
    while ((headEnd = buffer.indexOf("\r\n\r\n")) < 0) {
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0)
            return false;
        buffer.append(chunk, n);
    }
    const QByteArray head = buffer.left(headEnd);
    const qsizetype space = head.indexOf(' ');
    status = space > 0 ? head.mid(space + 1, 3).toInt() : 0;
    region = headerValue(head, "X-Meridian-Region");
    keepAlive = headerValue(head, "Connection").compare("close", Qt::CaseInsensitive) != 0;
    bool ok = false;
    const qint64 length = headerValue(head, "Content-Length").toLongLong(&ok);
    if (!ok)
        return false;
    const qsizetype total = headEnd + 4 + length;
    while (buffer.size() < total) {
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0)
            return false;
        buffer.append(chunk, n);
    }
    buffer.remove(0, total);
    return true;
}

} // namespace

EdgeLoad::EdgeLoad(quint16 port, QByteArray path, int connections)
    : m_port(port)
    , m_path(std::move(path))
    , m_connections(connections)
{}

EdgeLoad::~EdgeLoad()
{
    stop();
}

qint64 EdgeLoad::nowUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
}

void EdgeLoad::start(int maxRequests, int maxMs)
{
    stop();
    m_stop = false;
    m_running = true;
    const qint64 until = nowUs() + qint64(maxMs) * 1000;
    for (int i = 0; i < m_connections; ++i)
        m_threads.emplace_back([this, i, maxRequests, until]() { run(i, maxRequests, until); });
}

void EdgeLoad::stop()
{
    m_stop = true;
    for (std::thread &t : m_threads)
        t.join();
    m_threads.clear();
    m_running = false;
}

void EdgeLoad::wait()
{
    for (std::thread &t : m_threads)
        t.join();
    m_threads.clear();
    m_running = false;
}

std::vector<EdgeLoad::Sample> EdgeLoad::samples() const
{
    std::lock_guard lock(m_mutex);
    return m_samples;
}

void EdgeLoad::run(int index, int maxRequests, qint64 untilUs)
{
    int fd = -1;
    QByteArray buffer;
    for (int i = 0; i < maxRequests && !m_stop.load(std::memory_order_relaxed) && nowUs() < untilUs;
         ++i) {
        if (fd < 0) {
            fd = connectTo(m_port);
            buffer.clear();
        }
        QByteArray variant;
        if (!m_variants.isEmpty())
            variant = m_variants.at((index + i * m_connections) % m_variants.size());
        const QByteArray request = "GET " + m_path + " HTTP/1.1\r\nHost: edge\r\n" + variant
                                   + "\r\n";
        Sample sample;
        sample.key = variant;
        sample.sentUs = nowUs();
        bool keepAlive = false;
        if (fd >= 0 && sendAll(fd, request)
            && readResponse(fd, buffer, sample.status, sample.region, keepAlive)) {
            if (!keepAlive) {
                ::close(fd);
                fd = -1;
            }
        } else {
            sample.status = 0;
            if (fd >= 0)
                ::close(fd);
            fd = -1;
        }
        sample.doneUs = nowUs();
        {
            std::lock_guard lock(m_mutex);
            m_samples.push_back(std::move(sample));
        }
        m_count.fetch_add(1, std::memory_order_relaxed);
    }
    if (fd >= 0)
        ::close(fd);
}
