#pragma once

#include <QObject>
#include <QSocketNotifier>

#include <array>

namespace Meridian {

// Turns SIGTERM, SIGINT and SIGHUP into a Qt signal on the main thread (the self-pipe trick: the
// async-signal-safe handler only write()s the signal number to a socketpair, and a
// QSocketNotifier reads it in the event loop). One instance per process.
class UnixSignalNotifier final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(UnixSignalNotifier)

public:
    explicit UnixSignalNotifier(QObject *parent = nullptr);
    ~UnixSignalNotifier() override;

    bool isValid() const { return m_notifier != nullptr; }

signals:
    void terminateRequested(int signal); // SIGTERM or SIGINT
    void hangup();                       // SIGHUP

private:
    void readSignal();

    QSocketNotifier *m_notifier = nullptr;
};

} // namespace Meridian
