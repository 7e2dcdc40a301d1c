#pragma once

#include <QByteArray>
#include <QList>
#include <QMap>
#include <QObject>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>

#include <functional>

// A small HTTP/1.1 server on 127.0.0.1 for ControlClient tests: it records each request and
// answers from a handler (a status and body, never answering, or an open event stream).
struct RecordedRequest
{
    QByteArray method;
    QByteArray target;
    QMap<QByteArray, QByteArray> headers; // names lower-cased
    QByteArray body;
};

struct ScriptedResponse
{
    int status = 200;
    QByteArray body;
    QByteArray contentType = "application/json";
    bool hang = false;   // read the request, never answer
    bool stream = false; // answer 200 text/event-stream and keep the connection open

    static ScriptedResponse hanging()
    {
        ScriptedResponse response;
        response.hang = true;
        return response;
    }
    static ScriptedResponse eventStream()
    {
        ScriptedResponse response;
        response.stream = true;
        return response;
    }
};

class HttpTestServer final : public QObject
{
    Q_OBJECT

public:
    using Handler = std::function<ScriptedResponse(const RecordedRequest &)>;

    explicit HttpTestServer(QObject *parent = nullptr);

    bool listen();
    QString url() const;
    void setHandler(Handler handler) { m_handler = std::move(handler); }
    const QList<RecordedRequest> &requests() const { return m_requests; }

    // Writes to every open event stream.
    void sendToStreams(const QByteArray &bytes);
    void closeStreams();
    int openStreams() const;

signals:
    void requestReceived();

private:
    void onNewConnection();
    void onReadyRead(QTcpSocket *socket);

    QTcpServer m_server;
    Handler m_handler;
    QList<RecordedRequest> m_requests;
    QMap<QTcpSocket *, QByteArray> m_buffers;
    QList<QPointer<QTcpSocket>> m_streams;
};
