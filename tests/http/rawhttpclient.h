#pragma once

#include "core/http/httpheaders.h"

#include <QByteArray>
#include <QTcpSocket>

#include <optional>

namespace Meridian::Test {

// A deliberately dumb HTTP/1.1 client for tests: writes raw bytes on a loopback socket and reads
// responses back while the event loop keeps running (the server under test shares the thread).
class RawHttpClient
{
public:
    struct Response
    {
        int status = 0;
        HttpHeaders headers;
        QByteArray body;
    };

    explicit RawHttpClient(quint16 port);

    bool isConnected() const;
    void send(const QByteArray &bytes);
    // Reads one response; nullopt on timeout or when the connection ends first.
    std::optional<Response> read(bool headRequest = false, int timeoutMs = 10000);
    // Reads until `marker` appears in the raw stream (for streamed responses).
    bool readUntil(const QByteArray &marker, int timeoutMs = 10000);
    // True once the server closed the connection (EOF seen).
    bool waitForDisconnect(int timeoutMs = 10000);
    void disconnect();

    QByteArray &buffer() { return m_buffer; }
    QTcpSocket &socket() { return m_socket; }

private:
    bool waitForData(int timeoutMs);
    std::optional<Response> tryParse(bool headRequest, bool eof);

    QTcpSocket m_socket;
    QByteArray m_buffer;
    bool m_eof = false;
};

// One request on a fresh connection.
std::optional<RawHttpClient::Response> fetch(quint16 port, const QByteArray &request);

} // namespace Meridian::Test
