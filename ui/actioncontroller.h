#pragma once

// ActionController: the operator's actions on regions (drain, activate, promote, dial, resync,
// revert) and on the strategy, each confirmed with its impact (the server's preview of traffic
// shares before → after), refused with the server's reason (with "force" offered where the API
// allows it, behind a second confirmation), and followed until done (a drain's in-flight
// requests, a resync's phase, bytes and ETA; both cancellable).
//
// How to wire it (MainWindow):
//   auto *actions = new Meridian::ActionController(client, this); // `this`: dialogs' parent
//   connect(watcher, &ClusterWatcher::clusterUpdated,
//           actions, &Meridian::ActionController::setCluster);
//   // when the selection in the table or on the map changes, and before a context menu opens:
//   actions->setSelectedRegion(regionId);
//   toolbar->addActions(actions->regionActions());
//   menu.addActions(actions->regionActions());
//   addActions(actions->regionActions()); // so the shortcuts work anywhere in the window
// Shortcuts: Ctrl+Shift+D drain, Ctrl+Shift+A activate, Ctrl+Shift+P promote, Ctrl+Shift+L dial,
// Ctrl+Shift+Y resync, Ctrl+Shift+Z revert; approveAction() (not region-bound) has none.
// Progress of drains and resyncs shows in non-modal progress dialogs (setShowProgressDialogs)
// and in the operationProgress signal (e.g. for the status bar).
//
// Tests replace the message boxes with setConfirmationPolicy(): the policy receives each
// question (and each notice) and answers it, synchronously or later.

#include "core/control/apitypes.h"

#include <QHash>
#include <QObject>
#include <QPointer>

#include <functional>
#include <optional>

class QAction;
class QProgressDialog;
class QTimer;
class QWidget;

namespace Meridian {

class ControlClient;

// One question (or notice) the controller puts to the operator.
struct ConfirmationRequest
{
    enum class Kind {
        Confirm,           // "do this?" with the impact spelled out
        ForceAfterRefusal, // the server refused; "force it?"
        ConfirmForce,      // second confirmation of a forced action
        Notice,            // information only (done, refused, pending approval); answer ignored
    };
    Kind kind = Kind::Confirm;
    QString action; // drain | activate | promote | dial | resync | revert | strategy | weight | purge
    QString region; // empty for strategy and revert
    QString title;
    QString text;        // the question or the outcome, with the impact
    QString acceptLabel; // "Drain", "Force drain", ...
    bool warning = false;
};

// Asks the operator and calls `decide(true)` to go ahead, `decide(false)` to stop.
using ConfirmationPolicy
        = std::function<void(const ConfirmationRequest &, std::function<void(bool)> decide)>;

// A running drain or resync, as shown to the operator.
struct OperationProgress
{
    QString id;      // "drain:eu-west", "resync:eu-west", "purge:act-000042"
    QString kind;    // drain | resync | purge
    QString region;  // the purge's action id for a purge
    QString text;    // "eu-west: 3 requests in flight", "transfer 42 % · 1.0 of 4.0 MiB · 3 s"
    int value = 0;   // 0..maximum
    int maximum = 0; // 0 while the amount is unknown (busy indicator)
    bool finished = false;
    bool failed = false;
};

// What a Resync answer means for the operator (parsed once, shown in dialogs and tests).
struct ResyncDescription
{
    QString phase;    // snapshot | transfer | verify | catch_up | done
    int percent = -1; // -1 while bytes_total is unknown
    QString bytes;    // "1.0 MiB of 4.0 MiB"
    QString eta;      // "4 s", "2 min 5 s" or empty
    QString text;     // one line with all of it
    bool finished = false;
    bool failed = false;
};

class ActionController final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ActionController)

public:
    // `dialogParent` owns the dialogs (confirmations, inputs, progress); it may be null in tests
    // that set a confirmation policy and turn progress dialogs off.
    explicit ActionController(ControlClient *client,
                              QWidget *dialogParent,
                              QObject *parent = nullptr);
    ~ActionController() override;

    void setConfirmationPolicy(ConfirmationPolicy policy);
    void setShowProgressDialogs(bool show) { m_showProgressDialogs = show; }
    // How often drains and resyncs are polled (default 1000 ms).
    void setPollInterval(int ms) { m_pollIntervalMs = ms; }

    QString selectedRegion() const { return m_selected; }
    const Api::ClusterView &cluster() const { return m_cluster; }

    QAction *drainAction() const { return m_drain; }
    QAction *activateAction() const { return m_activate; }
    QAction *promoteAction() const { return m_promote; }
    QAction *dialAction() const { return m_dial; }
    QAction *resyncAction() const { return m_resync; }
    QAction *revertAction() const { return m_revert; }
    // All six, in toolbar order.
    QList<QAction *> regionActions() const;
    // Approve an action that waits for a second admin (not region-bound, so not in
    // regionActions(); put it in a menu: actionsMenu->addAction(actions->approveAction())).
    QAction *approveAction() const { return m_approve; }
    // Purge the edge cache (not region-bound either): asks for the paths, then follows the
    // edges until each has applied it.
    QAction *purgeAction() const { return m_purge; }

    // The actions themselves, without the input dialogs the QActions open first. Each one
    // previews, asks the confirmation policy, calls the API and reports through the signals.
    void drain(const QString &region, double deadlineS = 0);
    void activate(const QString &region);
    void promote(const QString &region);
    void dial(const QString &region, int percent);
    void setWeight(const QString &region, int weight);
    void resync(const QString &region, const QString &from = {});
    void revert(const QString &actionId);
    // Applies a pending_approval action; the token must differ from the requester's.
    void approve(const QString &actionId);
    void setStrategy(const Api::StrategyInfo &strategy);
    // Removes `paths` ("/index.html", "/assets/*") from every edge gateway's cache.
    void purgeCache(const QStringList &paths);

    // Stops following (and for a resync, cancels) an operation by OperationProgress::id.
    void cancelOperation(const QString &id);
    bool isRunning(const QString &operationId) const { return m_operations.contains(operationId); }

    static ResyncDescription describeResync(const Api::ResyncProgress &progress);
    // "eu-west (Dublin)  20.0 % → 0.0 %" per region, regions named from `cluster`.
    static QString describeShares(const Api::Preview &preview, const Api::ClusterView &cluster);
    // The inbound replication of `region`: worst lag and state, then one line per link.
    static QString describeInboundLag(const QString &region, const Api::ClusterView &cluster);
    static QString formatBytes(qint64 bytes);
    static QString formatDuration(double seconds);

public slots:
    void setCluster(const Meridian::Api::ClusterView &view);
    void setSelectedRegion(const QString &regionId);

signals:
    // The server accepted the action (its status may be pending_approval).
    void actionFinished(const QString &action,
                        const QString &region,
                        const Meridian::Api::ActionResult &result);
    // The server refused and the operator did not force it (or it cannot be forced).
    void actionRefused(const QString &action,
                       const QString &region,
                       const Meridian::Api::ApiError &error);
    // The operator said no at a confirmation.
    void actionDeclined(const QString &action, const QString &region);
    void operationProgress(const Meridian::OperationProgress &progress);

private:
    struct Operation
    {
        OperationProgress progress;
        QTimer *timer = nullptr;
        QPointer<QProgressDialog> dialog;
        qint64 deadlineMs = 0; // stop following a drain after this (steady clock)
    };
    using ResultHandler = std::function<void(const Api::ApiResult<Api::ActionResult> &)>;
    // Sends the mutating call, with or without force, and hands its answer to `done`.
    using Call = std::function<void(bool force, ResultHandler done)>;
    using Success = std::function<void(const Api::ActionResult &)>;

    void updateActionStates();
    const Api::RegionStatus *findRegion(const QString &id) const;
    QString regionLabel(const QString &id) const;
    void ask(const ConfirmationRequest &request, std::function<void(bool)> decide);
    void notify(const QString &action,
                const QString &region,
                const QString &title,
                const QString &text,
                bool warning);
    // Previews (when `preview` is set), asks for confirmation with the impact, then run()s.
    void confirmThenRun(const QString &action,
                        const QString &region,
                        const QString &title,
                        const QString &intro,
                        const std::optional<Api::PreviewRequest> &preview,
                        const QString &extra,
                        const QString &acceptLabel,
                        Call call,
                        Success onSuccess = {},
                        bool forceable = true);
    // Sends the call; a refusal that the API lets force is offered as "force" (two questions),
    // any other refusal is shown with the server's reason; `onSuccess` runs for applied actions.
    void run(const QString &action,
             const QString &region,
             Call call,
             bool force,
             bool forceable,
             Success onSuccess);
    static bool isForceableRefusal(const Api::ApiError &error);

    void startDrainWatch(const QString &region, double deadlineS);
    void pollDrain(const QString &id);
    void startPurgeWatch(const QString &actionId);
    void pollPurge(const QString &id);
    void startResyncWatch(const QString &region, const Api::ResyncProgress &first);
    void pollResync(const QString &id);
    Operation &beginOperation(const QString &kind, const QString &region);
    void publish(Operation &operation);
    void endOperation(const QString &id);
    // Begins following `subject` by calling `poll` now and then every poll interval, for at most
    // `followS` seconds (drains and purges).
    void follow(const QString &kind,
                const QString &subject,
                double followS,
                const QString &text,
                void (ActionController::*poll)(const QString &id));
    // Shows the progress, then ends the operation or waits for its next poll.
    void settle(Operation &operation, bool done);

    void promptDrain();
    void promptDial();
    void promptResync();
    void promptRevert();
    void promptApprove();
    void promptPurge();
    // Recent actions with `status`, newest first, offered in a list; `chosen` gets the id.
    void chooseAction(const QString &status,
                      const QString &title,
                      const QString &emptyText,
                      std::function<void(const QString &)> chosen);

    ControlClient *m_client;
    QPointer<QWidget> m_dialogParent;
    ConfirmationPolicy m_policy;
    bool m_showProgressDialogs = true;
    int m_pollIntervalMs = 1000;
    Api::ClusterView m_cluster;
    QString m_selected;
    QHash<QString, Operation> m_operations;

    QAction *m_drain;
    QAction *m_activate;
    QAction *m_promote;
    QAction *m_dial;
    QAction *m_resync;
    QAction *m_revert;
    QAction *m_approve;
    QAction *m_purge;
};

} // namespace Meridian

Q_DECLARE_METATYPE(Meridian::OperationProgress)
