#pragma once

#include <QByteArray>
#include <QHash>
#include <QSslSocket>

// A blocking HTTP/1.1 client for edge tests: sends raw bytes and reads one response at a time,
// decoding chunked bodies, so tests see exactly what the edge put on the wire.
class EdgeTestClient
{
public:
    struct Response
    {
        bool ok = false;
        int status = 0;
        QHash<QByteArray, QByteArray> headers; // lower-case names
        QByteArray rawHead;
        QByteArray body;
        qint64 bodyBytes = 0; // counted even when the body is discarded
    };

    explicit EdgeTestClient(quint16 port);
    // HTTPS: trusts only the CA certificates in `caFile` and expects a certificate for
    // "localhost"; `alpn` is offered when not empty. encrypted() says whether it succeeded.
    EdgeTestClient(quint16 port, const QString &caFile, const QList<QByteArray> &alpn = {});
    bool connected() const { return m_socket.state() == QAbstractSocket::ConnectedState; }
    bool encrypted() const { return m_socket.isEncrypted(); }
    QSslSocket &socket() { return m_socket; }
    void send(const QByteArray &bytes);
    // Reads one response; `keepBody` false counts the body without keeping it (large bodies).
    Response read(bool headRequest = false, int timeoutMs = 10000, bool keepBody = true);
    Response get(const QByteArray &path, const QByteArray &extraHeaders = {});
    // Reads the next response head as it comes, an interim (1xx) one included; no body.
    Response readHead(int timeoutMs = 10000);
    // True when the edge closes the connection within the timeout.
    bool waitClosed(int timeoutMs = 5000);

private:
    bool fill(int timeoutMs);
    QSslSocket m_socket;
    QByteArray m_buffer;
};
