#pragma once

#include <QByteArray>
#include <QList>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

// A small bounded HTTP/1.1 load client for the edge's integration tests and failover/drain
// benchmarks: `connections` threads, each with one keep-alive connection (reopened after an
// error) sending GET requests back to back to 127.0.0.1:port. Every exchange is recorded with
// its send and finish time, status (0: no valid response) and the X-Meridian-Region header, so
// a caller can tell which region served what and when. It stops by itself after `maxRequests`
// per connection or `maxMs`, or when stop() is called.
class EdgeLoad
{
public:
    struct Sample
    {
        qint64 sentUs = 0; // steady clock (nowUs)
        qint64 doneUs = 0;
        int status = 0;
        QByteArray region;
        QByteArray key; // the extraHeaders index used (see setHeaderVariants)
    };

    EdgeLoad(quint16 port, QByteArray path, int connections);
    ~EdgeLoad();
    EdgeLoad(const EdgeLoad &) = delete;
    EdgeLoad &operator=(const EdgeLoad &) = delete;

    // Each request carries one of these header blocks ("Name: value\r\n..."), in turn.
    void setHeaderVariants(const QList<QByteArray> &variants) { m_variants = variants; }
    void start(int maxRequests = 1'000'000, int maxMs = 60'000);
    void stop();
    // Waits until every connection has sent its requests (or hit the time bound).
    void wait();
    bool running() const { return m_running.load(); }

    std::vector<Sample> samples() const;
    qint64 count() const { return m_count.load(); }
    static qint64 nowUs();

private:
    void run(int index, int maxRequests, qint64 untilUs);

    quint16 m_port;
    QByteArray m_path;
    int m_connections;
    QList<QByteArray> m_variants;
    std::vector<std::thread> m_threads;
    std::atomic<bool> m_stop{false};
    std::atomic<bool> m_running{false};
    std::atomic<qint64> m_count{0};
    mutable std::mutex m_mutex;
    std::vector<Sample> m_samples;
};
