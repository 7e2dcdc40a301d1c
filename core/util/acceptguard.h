#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QString>

#include <functional>

class QTcpServer;

namespace Meridian {

// Keeps a QTcpServer accepting through file-descriptor exhaustion. Qt's server socket does not
// cope with it: depending on the error it stops accepting for good (the port stays dead after
// one burst of connections) or retries at once, forever (a core at 100 %). The guard rests the
// server while the process has no descriptor left (100 ms at a time, with a warning a minute)
// and resumes it once one is free.
class AcceptGuard final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AcceptGuard)

public:
    // `what` names the port in the warning ("the data port"); `openConnections`, if given,
    // counts what holds the descriptors.
    AcceptGuard(QTcpServer *server, QString what, std::function<qint64()> openConnections = {});

    // Call after each accepted connection: if it took the last descriptor, the server rests
    // before its next accept fails.
    void accepted();

private:
    bool descriptorFree() const;
    void rest(const QString &why);

    QTcpServer *m_server;
    QString m_what;
    std::function<qint64()> m_openConnections;
    QElapsedTimer m_sinceWarning;
};

} // namespace Meridian
