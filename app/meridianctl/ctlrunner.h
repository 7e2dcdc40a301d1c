#pragma once

#include "cliparser.h"

#include "core/control/apitypes.h"

#include <QElapsedTimer>
#include <QObject>

#include <functional>

namespace Meridian {
class ControlClient;
class EventStream;
} // namespace Meridian

namespace Meridian::Ctl {

// Runs one parsed meridianctl command on the event loop and emits finished(exit code) once. All
// network work goes through ControlClient callbacks and timers; nothing blocks or busy-waits,
// except the `local` commands, which use LocalCluster's own bounded waits.
class CtlRunner final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(CtlRunner)

public:
    explicit CtlRunner(Invocation invocation, QObject *parent = nullptr);

    void start();
    // SIGINT/SIGTERM: `events` ends normally, a --wait stops waiting.
    void interrupt();

signals:
    void finished(int exitCode);

private:
    bool json() const { return m_json; }
    void done(int code);
    void failApi(const Api::ApiError &error);
    void failUsage(const QString &message);
    // The positive duration option --`name` in seconds, `fallback` when it is not given;
    // nullopt after failing with a usage error that names the option and `examples`.
    std::optional<double> durationOption(const QString &name,
                                         double fallback,
                                         const QString &examples);
    void failOperation(const QString &message);
    void printBody(const QByteArray &body);
    void reportAction(const Api::ApiResult<Api::ActionResult> &result, const QString &verb);
    using ActionCallback = std::function<void(const Api::ApiResult<Api::ActionResult> &)>;
    // Reports an action's answer as `verb` ("drain eu-west") and ends the command.
    ActionCallback finishAction(const QString &verb);

    void runStatus();
    void runRegions();
    void runDrain();
    void runActivate();
    void runPromote();
    void runStrategyGet();
    void runStrategySet();
    void runDial();
    void runRevert();
    void runApprove();
    void runActions();
    void runResync();
    void runLag();
    void runDigest();
    void runEvents();
    void runAudit();
    void runOverwritten();
    void runCachePurge();
    void runCacheStatus();
    void runCacheStats();
    void runLocal();

    void pollDrain(const QString &region, double deadlineS);
    void pollResync(const QString &region);
    void pollPurge(const QString &actionId, double timeoutS);
    void showPurge(const Api::PurgeStatus &status);
    void showResync(const Api::ResyncProgress &progress, bool final);

    Invocation m_invocation;
    ControlClient *m_client = nullptr;
    EventStream *m_events = nullptr;
    QElapsedTimer m_waitClock;
    QString m_lastProgressLine;
    qint64 m_lastProgressMs = -1;
    bool m_json = false;
    bool m_finished = false;
    bool m_progressOnTerminal = false;
};

} // namespace Meridian::Ctl
