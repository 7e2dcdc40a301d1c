#include "ui/actioncontroller.h"

#include "core/control/controlclient.h"

#include <QAction>
#include <QDeadlineTimer>
#include <QInputDialog>
#include <QJsonDocument>
#include <QLocale>
#include <QMessageBox>
#include <QProgressDialog>
#include <QPushButton>
#include <QTimer>
#include <QWidget>

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

qint64 nowMs()
{
    return QDeadlineTimer::current().deadline();
}

QString percentText(double share)
{
    return QLocale::c().toString(share * 100.0, 'f', 1) + u" %"_s;
}

// "10,000": counts are easier to read grouped, the same on every system.
QString grouped(qint64 value)
{
    QLocale locale = QLocale::c();
    locale.setNumberOptions({});
    return locale.toString(value);
}

// Drains that the server lets run forever still stop being followed after this.
constexpr double kDefaultDrainFollowS = 300.0;
// A purge reaches every reachable edge within seconds; an unreachable one may take much longer.
constexpr double kPurgeFollowS = 60.0;

// The action `id` in a list of recent actions, for describing it; null when absent.
const Api::ActionInfo *findAction(const Api::ApiResult<QList<Api::ActionInfo>> &actions,
                                  const QString &id)
{
    if (!actions)
        return nullptr;
    for (const Api::ActionInfo &info : actions.value()) {
        if (info.id == id)
            return &info;
    }
    return nullptr;
}

// " of eu-west" for an action on a region, "" for a cluster-wide one (a strategy change).
QString ofRegion(const Api::ActionInfo &info)
{
    return info.region.isEmpty() ? QString() : u" of "_s + info.region;
}

} // namespace

ActionController::ActionController(ControlClient *client, QWidget *dialogParent, QObject *parent)
    : QObject(parent)
    , m_client(client)
    , m_dialogParent(dialogParent)
{
    qRegisterMetaType<OperationProgress>();
    auto make = [this](const QString &text, const QString &tip, const QKeySequence &keys) {
        auto *action = new QAction(text, this);
        action->setToolTip(tip);
        action->setStatusTip(tip);
        action->setShortcut(keys);
        action->setShortcutContext(Qt::WindowShortcut);
        return action;
    };
    m_drain = make(tr("Drain…"),
                   tr("Stop sending new requests to the region; in-flight ones finish"),
                   QKeySequence(u"Ctrl+Shift+D"_s));
    m_activate = make(tr("Activate…"),
                      tr("Send new requests to the region again"),
                      QKeySequence(u"Ctrl+Shift+A"_s));
    m_promote = make(tr("Promote…"),
                     tr("Make the region active and first in failover order (the primary)"),
                     QKeySequence(u"Ctrl+Shift+P"_s));
    m_dial = make(tr("Dial…"),
                  tr("Set the share of its traffic the region keeps (0–100 %)"),
                  QKeySequence(u"Ctrl+Shift+L"_s));
    m_resync = make(tr("Resync…"),
                    tr("Copy the region's data afresh from a peer"),
                    QKeySequence(u"Ctrl+Shift+Y"_s));
    m_revert = make(tr("Revert…"),
                    tr("Undo a recent action, restoring the state it replaced"),
                    QKeySequence(u"Ctrl+Shift+Z"_s));

    m_approve = make(tr("Approve…"),
                     tr("Apply an action that waits for a second admin's approval"),
                     QKeySequence());
    connect(m_approve, &QAction::triggered, this, &ActionController::promptApprove);
    m_purge = make(tr("Purge edge cache…"),
                   tr("Remove cached responses from every edge gateway (after a deploy)"),
                   QKeySequence());
    connect(m_purge, &QAction::triggered, this, &ActionController::promptPurge);
    connect(m_drain, &QAction::triggered, this, &ActionController::promptDrain);
    connect(m_activate, &QAction::triggered, this, [this] { activate(m_selected); });
    connect(m_promote, &QAction::triggered, this, [this] { promote(m_selected); });
    connect(m_dial, &QAction::triggered, this, &ActionController::promptDial);
    connect(m_resync, &QAction::triggered, this, &ActionController::promptResync);
    connect(m_revert, &QAction::triggered, this, &ActionController::promptRevert);
    updateActionStates();
}

ActionController::~ActionController()
{
    for (Operation &operation : m_operations) {
        if (operation.dialog)
            operation.dialog->deleteLater();
    }
}

void ActionController::setConfirmationPolicy(ConfirmationPolicy policy)
{
    m_policy = std::move(policy);
}

QList<QAction *> ActionController::regionActions() const
{
    return {m_drain, m_activate, m_promote, m_dial, m_resync, m_revert};
}

void ActionController::setCluster(const Api::ClusterView &view)
{
    m_cluster = view;
    updateActionStates();
}

void ActionController::setSelectedRegion(const QString &regionId)
{
    m_selected = regionId;
    updateActionStates();
}

const Api::RegionStatus *ActionController::findRegion(const QString &id) const
{
    for (const Api::RegionStatus &region : m_cluster.regions) {
        if (region.id == id)
            return &region;
    }
    return nullptr;
}

QString ActionController::regionLabel(const QString &id) const
{
    const Api::RegionStatus *region = findRegion(id);
    if (!region || region->name.isEmpty() || region->name == id)
        return id;
    return u"%1 (%2)"_s.arg(id, region->name);
}

void ActionController::updateActionStates()
{
    const Api::RegionStatus *region = findRegion(m_selected);
    const bool has = region && m_client;
    const QString id = region ? region->id : QString();
    const bool resyncRunning = region
                               && ((region->resync && !region->resync->finished())
                                   || m_operations.contains(u"resync:"_s + id));
    m_drain->setEnabled(has && region->state == u"active");
    m_activate->setEnabled(has && region->state != u"active");
    m_promote->setEnabled(has && !region->primary);
    m_dial->setEnabled(has);
    m_resync->setEnabled(has && !resyncRunning);
    m_revert->setEnabled(m_client != nullptr);
    m_approve->setEnabled(m_client != nullptr);
    m_purge->setEnabled(m_client != nullptr);

    const QString suffix = has ? u" "_s + id : QString();
    m_drain->setText(tr("Drain%1…").arg(suffix));
    m_activate->setText(tr("Activate%1…").arg(suffix));
    m_promote->setText(tr("Promote%1…").arg(suffix));
    m_dial->setText(tr("Dial%1…").arg(suffix));
    m_resync->setText(tr("Resync%1…").arg(suffix));
}

// ---- questions and notices ----

void ActionController::ask(const ConfirmationRequest &request, std::function<void(bool)> decide)
{
    if (m_policy) {
        m_policy(request, std::move(decide));
        return;
    }
    if (!m_dialogParent) {
        qWarning("meridian: no dialog parent to ask \"%s\"; declined", qPrintable(request.title));
        decide(false);
        return;
    }
    const bool notice = request.kind == ConfirmationRequest::Kind::Notice;
    auto *box = new QMessageBox(request.warning ? QMessageBox::Warning : QMessageBox::Question,
                                request.title,
                                request.text,
                                QMessageBox::NoButton,
                                m_dialogParent);
    if (notice)
        box->setIcon(request.warning ? QMessageBox::Warning : QMessageBox::Information);
    box->setTextFormat(Qt::PlainText);
    // The first paragraph is the question, the rest the impact; wide enough for a share table.
    const qsizetype split = request.text.indexOf(u"\n\n"_s);
    if (split > 0) {
        box->setText(request.text.left(split));
        box->setInformativeText(request.text.mid(split + 2));
    }
    box->setStyleSheet(u"QLabel#qt_msgbox_label, QLabel#qt_msgbox_informativelabel "
                       "{ min-width: 460px; }"_s);
    box->setAttribute(Qt::WA_DeleteOnClose);
    QAbstractButton *accept = nullptr;
    if (notice) {
        accept = box->addButton(QMessageBox::Ok);
    } else {
        accept = box->addButton(request.acceptLabel.isEmpty() ? tr("OK") : request.acceptLabel,
                                QMessageBox::AcceptRole);
        QPushButton *cancel = box->addButton(QMessageBox::Cancel);
        // A forced action is never the default: Enter must not force anything.
        box->setDefaultButton(request.kind == ConfirmationRequest::Kind::Confirm
                                      ? static_cast<QPushButton *>(accept)
                                      : cancel);
    }
    connect(box, &QMessageBox::finished, this, [box, accept, decide = std::move(decide)](int) {
        decide(box->clickedButton() == accept);
    });
    box->open();
}

void ActionController::notify(const QString &action,
                              const QString &region,
                              const QString &title,
                              const QString &text,
                              bool warning)
{
    ConfirmationRequest request;
    request.kind = ConfirmationRequest::Kind::Notice;
    request.action = action;
    request.region = region;
    request.title = title;
    request.text = text;
    request.warning = warning;
    ask(request, [](bool) {});
}

QString ActionController::describeShares(const Api::Preview &preview,
                                         const Api::ClusterView &cluster)
{
    QStringList ids = preview.before.keys();
    for (const QString &id : preview.after.keys()) {
        if (!ids.contains(id))
            ids.append(id);
    }
    std::sort(ids.begin(), ids.end());
    QStringList lines;
    for (const QString &id : std::as_const(ids)) {
        QString label = id;
        for (const Api::RegionStatus &region : cluster.regions) {
            if (region.id == id && !region.name.isEmpty() && region.name != id)
                label = u"%1 (%2)"_s.arg(id, region.name);
        }
        const double before = preview.before.value(id);
        const double after = preview.after.value(id);
        QString line = u"  %1: %2 → %3"_s.arg(label, percentText(before), percentText(after));
        if (std::abs(after - before) >= 0.0005)
            line += after > before ? u"  ▲"_s : u"  ▼"_s;
        lines.append(line);
    }
    return lines.join(u'\n');
}

QString ActionController::describeInboundLag(const QString &region, const Api::ClusterView &cluster)
{
    QStringList lines;
    for (const Api::RegionStatus &status : cluster.regions) {
        if (status.id != region)
            continue;
        lines.append(u"Worst inbound lag: %1 s (%2)"_s
                             .arg(QLocale::c().toString(status.worstLagS, 'f', 2),
                                  status.worstLinkState.isEmpty() ? u"unknown"_s
                                                                  : status.worstLinkState));
    }
    for (const Api::LinkStatus &link : cluster.links) {
        if (link.replica != region)
            continue;
        lines.append(u"  from %1: %2 s behind, %3 entries behind, %4"_s
                             .arg(link.origin,
                                  QLocale::c().toString(link.secondsBehind, 'f', 2),
                                  grouped(link.entriesBehind),
                                  link.state));
    }
    if (lines.isEmpty())
        return u"No replication figures for %1 yet."_s.arg(region);
    return lines.join(u'\n');
}

QString ActionController::formatBytes(qint64 bytes)
{
    const QLocale c = QLocale::c();
    if (bytes < 1024)
        return u"%1 B"_s.arg(bytes);
    if (bytes < 1024 * 1024)
        return c.toString(bytes / 1024.0, 'f', 1) + u" KiB"_s;
    if (bytes < 1024LL * 1024 * 1024)
        return c.toString(bytes / (1024.0 * 1024.0), 'f', 1) + u" MiB"_s;
    return c.toString(bytes / (1024.0 * 1024.0 * 1024.0), 'f', 2) + u" GiB"_s;
}

QString ActionController::formatDuration(double seconds)
{
    if (seconds < 0 || !std::isfinite(seconds))
        return {};
    const qint64 s = qint64(std::ceil(seconds));
    if (s < 60)
        return u"%1 s"_s.arg(s);
    if (s < 3600)
        return u"%1 min %2 s"_s.arg(s / 60).arg(s % 60);
    return u"%1 h %2 min"_s.arg(s / 3600).arg((s % 3600) / 60);
}

ResyncDescription ActionController::describeResync(const Api::ResyncProgress &progress)
{
    ResyncDescription d;
    d.phase = progress.phase;
    d.finished = progress.finished();
    d.failed = progress.state == u"failed" || progress.state == u"cancelled";
    if (progress.bytesTotal > 0) {
        d.percent = int(std::clamp<qint64>(progress.bytesDone * 100 / progress.bytesTotal, 0, 100));
        d.bytes = u"%1 of %2"_s.arg(formatBytes(progress.bytesDone),
                                    formatBytes(progress.bytesTotal));
    } else {
        d.bytes = formatBytes(progress.bytesDone);
    }
    if (progress.state == u"done")
        d.percent = 100;
    if (progress.etaS && !d.finished)
        d.eta = formatDuration(*progress.etaS);

    QString phase = progress.phase;
    phase.replace(u'_', u'-');
    QStringList parts;
    if (progress.state == u"running") {
        parts.append(d.percent >= 0 ? u"%1 %2 %"_s.arg(phase).arg(d.percent) : phase);
    } else if (progress.state == u"failed") {
        parts.append(u"failed in %1: %2"_s.arg(phase,
                                               progress.error.isEmpty() ? u"no reason given"_s
                                                                        : progress.error));
    } else {
        parts.append(progress.state); // done | cancelled
    }
    parts.append(d.bytes);
    // Rows are counted in the verified snapshot: before that, 0 means "not counted yet".
    if (progress.rows > 0
        || (progress.phase != u"snapshot" && progress.phase != u"transfer"
            && progress.phase != u"verify"))
        parts.append(u"%1 rows"_s.arg(grouped(progress.rows)));
    if (!d.eta.isEmpty())
        parts.append(u"ETA "_s + d.eta);
    d.text = parts.join(u" · "_s);
    return d;
}

// ---- the actions ----

void ActionController::confirmThenRun(const QString &action,
                                      const QString &region,
                                      const QString &title,
                                      const QString &intro,
                                      const std::optional<Api::PreviewRequest> &preview,
                                      const QString &extra,
                                      const QString &acceptLabel,
                                      Call call,
                                      Success onSuccess,
                                      bool forceable)
{
    if (!m_client)
        return;
    auto confirm =
            [this, action, region, title, intro, extra, acceptLabel, call, onSuccess, forceable](
                    const QString &impact) {
                ConfirmationRequest request;
                request.kind = ConfirmationRequest::Kind::Confirm;
                request.action = action;
                request.region = region;
                request.title = title;
                QStringList parts{intro};
                if (!impact.isEmpty())
                    parts.append(impact);
                if (!extra.isEmpty())
                    parts.append(extra);
                request.text = parts.join(u"\n\n"_s);
                request.acceptLabel = acceptLabel;
                ask(request, [this, action, region, call, onSuccess, forceable](bool yes) {
                    if (yes)
                        run(action, region, call, false, forceable, onSuccess);
                    else
                        emit actionDeclined(action, region);
                });
            };
    if (!preview) {
        confirm({});
        return;
    }
    m_client->preview(*preview, this, [this, confirm](const Api::ApiResult<Api::Preview> &result) {
        if (!result) {
            confirm(tr("The traffic preview is not available: %1").arg(result.error().toString()));
            return;
        }
        confirm(tr("Expected share of new requests (server preview), before → after:\n%1")
                        .arg(describeShares(result.value(), m_cluster)));
    });
}

bool ActionController::isForceableRefusal(const Api::ApiError &error)
{
    return error.code == u"min_active_regions" || error.code == u"promote_lag"
           || error.code == u"leader_unavailable" || error.code == u"no_quorum";
}

void ActionController::run(const QString &action,
                           const QString &region,
                           Call call,
                           bool force,
                           bool forceable,
                           Success onSuccess)
{
    const QString what = region.isEmpty() ? action : u"%1 of %2"_s.arg(action, region);
    call(force, [=, this](const Api::ApiResult<Api::ActionResult> &result) {
        if (result) {
            if (result.value().action.status == u"pending_approval") {
                notify(action,
                       region,
                       tr("Waiting for approval"),
                       tr("The %1 is recorded as %2 and waits for a second admin to approve it "
                          "(meridianctl approve %2, with another admin token).")
                               .arg(what, result.value().action.id),
                       false);
            } else if (onSuccess) {
                onSuccess(result.value());
            }
            emit actionFinished(action, region, result.value());
            return;
        }
        const Api::ApiError error = result.error();
        if (!force && forceable && isForceableRefusal(error)) {
            ConfirmationRequest request;
            request.kind = ConfirmationRequest::Kind::ForceAfterRefusal;
            request.action = action;
            request.region = region;
            request.title = tr("Refused: %1").arg(what);
            request.text = tr("The server refused the %1:\n%2\n\nForcing it skips the safety "
                              "rules (minimum active regions, promote lag) and the control "
                              "leader; it is audited like any other call.")
                                   .arg(what, error.toString());
            request.acceptLabel = tr("Force…");
            request.warning = true;
            ask(request, [=, this](bool yes) {
                if (!yes) {
                    emit actionRefused(action, region, error);
                    return;
                }
                ConfirmationRequest second;
                second.kind = ConfirmationRequest::Kind::ConfirmForce;
                second.action = action;
                second.region = region;
                second.title = tr("Force the %1?").arg(what);
                second.text = tr("Really force the %1 against the rule \"%2\"?\n%3")
                                      .arg(what, error.code, error.message);
                second.acceptLabel = tr("Force %1").arg(action);
                second.warning = true;
                ask(second, [=, this](bool sure) {
                    if (sure)
                        run(action, region, call, true, forceable, onSuccess);
                    else
                        emit actionRefused(action, region, error);
                });
            });
            return;
        }
        QString text = tr("The server refused the %1:\n%2").arg(what, error.toString());
        if (error.isAuthError())
            text += tr("\n\nThis profile's token may not change the cluster: connect with an "
                       "admin token.");
        else if (error.isNetworkError())
            text += tr("\n\nThe answer was lost: check the connection and the cluster's state "
                       "before trying again.");
        notify(action, region, tr("Refused: %1").arg(what), text, true);
        emit actionRefused(action, region, error);
    });
}

void ActionController::drain(const QString &region, double deadlineS)
{
    const QString deadline = deadlineS > 0 ? tr("%1 s").arg(deadlineS) : tr("the server's default");
    confirmThenRun(
            u"drain"_s,
            region,
            tr("Drain %1?").arg(region),
            tr("Drain %1: no new requests go there; requests in flight may finish within %2.")
                    .arg(regionLabel(region), deadline),
            Api::PreviewRequest::drain(region),
            {},
            tr("Drain"),
            [this, region, deadlineS](bool force, ResultHandler done) {
                m_client->drain(region, deadlineS, force, this, std::move(done));
            },
            [this, region, deadlineS](const Api::ActionResult &) {
                startDrainWatch(region, deadlineS);
            });
}

void ActionController::activate(const QString &region)
{
    confirmThenRun(u"activate"_s,
                   region,
                   tr("Activate %1?").arg(region),
                   tr("Activate %1: it takes new requests again as soon as it is healthy.")
                           .arg(regionLabel(region)),
                   Api::PreviewRequest::activate(region),
                   {},
                   tr("Activate"),
                   [this, region](bool force, ResultHandler done) {
                       m_client->activate(region, force, this, std::move(done));
                   });
}

void ActionController::promote(const QString &region)
{
    confirmThenRun(u"promote"_s,
                   region,
                   tr("Promote %1?").arg(region),
                   tr("Promote %1 to primary: it becomes active and first in failover order.")
                           .arg(regionLabel(region)),
                   Api::PreviewRequest::promote(region),
                   tr("Replication into %1 (writes it has not applied yet are missing there):\n%2")
                           .arg(region, describeInboundLag(region, m_cluster)),
                   tr("Promote"),
                   [this, region](bool force, ResultHandler done) {
                       m_client->promote(region, force, this, std::move(done));
                   });
}

void ActionController::dial(const QString &region, int percent)
{
    const Api::RegionStatus *status = findRegion(region);
    const QString from = status ? tr("from %1 % ").arg(status->dial) : QString();
    confirmThenRun(u"dial"_s,
                   region,
                   tr("Dial %1 to %2 %?").arg(region).arg(percent),
                   tr("Set the traffic dial of %1 %2to %3 %: it keeps that share of the requests "
                      "it would get, the rest goes to the others.")
                           .arg(regionLabel(region), from)
                           .arg(percent),
                   Api::PreviewRequest::dial(region, percent),
                   {},
                   tr("Set dial"),
                   [this, region, percent](bool force, ResultHandler done) {
                       m_client->setDial(region, percent, force, this, std::move(done));
                   });
}

void ActionController::setWeight(const QString &region, int weight)
{
    const Api::RegionStatus *status = findRegion(region);
    const QString from = status ? tr("from %1 ").arg(status->weight) : QString();
    confirmThenRun(u"weight"_s,
                   region,
                   tr("Weight %1 to %2?").arg(region).arg(weight),
                   tr("Set the weight of %1 %2to %3.").arg(regionLabel(region), from).arg(weight),
                   Api::PreviewRequest::setWeight(region, weight),
                   {},
                   tr("Set weight"),
                   [this, region, weight](bool force, ResultHandler done) {
                       m_client->setWeight(region, weight, force, this, std::move(done));
                   });
}

void ActionController::setStrategy(const Api::StrategyInfo &strategy)
{
    const QString params
            = strategy.params.isEmpty()
                      ? tr("no parameters")
                      : QString::fromUtf8(
                              QJsonDocument(strategy.params).toJson(QJsonDocument::Compact));
    confirmThenRun(u"strategy"_s,
                   {},
                   tr("Switch to %1?").arg(strategy.name),
                   tr("Balance with %1 (%2), replacing %3.")
                           .arg(strategy.name,
                                params,
                                m_cluster.strategy.name.isEmpty() ? tr("the current strategy")
                                                                  : m_cluster.strategy.name),
                   Api::PreviewRequest::changeStrategy(strategy),
                   {},
                   tr("Apply strategy"),
                   [this, strategy](bool force, ResultHandler done) {
                       m_client->setStrategy(strategy, force, this, std::move(done));
                   });
}

void ActionController::revert(const QString &actionId)
{
    if (!m_client)
        return;
    // The confirmation says what the action did; the list is only for that description.
    m_client->actions(100,
                      this,
                      [this, actionId](const Api::ApiResult<QList<Api::ActionInfo>> &result) {
                          QString what = tr("Revert action %1.").arg(actionId);
                          if (const Api::ActionInfo *info = findAction(result, actionId)) {
                              what = tr("Revert %1: the %2%3 by %4 at %5 (%6); the state it "
                                        "replaced is restored.")
                                             .arg(actionId,
                                                  info->kind,
                                                  ofRegion(*info),
                                                  info->actor.isEmpty() ? tr("unknown")
                                                                        : info->actor,
                                                  info->time.toUTC().toString(Qt::ISODate),
                                                  info->status);
                          }
                          confirmThenRun(u"revert"_s,
                                         {},
                                         tr("Revert %1?").arg(actionId),
                                         what,
                                         std::nullopt,
                                         {},
                                         tr("Revert"),
                                         [this, actionId](bool force, ResultHandler done) {
                                             m_client->revert(actionId,
                                                              force,
                                                              this,
                                                              std::move(done));
                                         });
                      });
}

void ActionController::approve(const QString &actionId)
{
    if (!m_client)
        return;
    m_client->actions(100,
                      this,
                      [this, actionId](const Api::ApiResult<QList<Api::ActionInfo>> &result) {
                          QString what = tr("Approve action %1.").arg(actionId);
                          if (const Api::ActionInfo *info = findAction(result, actionId)) {
                              what = tr("Approve %1: the %2%3 that %4 asked for at %5; it is "
                                        "applied now, under your token.")
                                             .arg(actionId,
                                                  info->kind,
                                                  ofRegion(*info),
                                                  info->actor.isEmpty() ? tr("someone")
                                                                        : info->actor,
                                                  info->time.toUTC().toString(Qt::ISODate));
                          }
                          confirmThenRun(
                                  u"approve"_s,
                                  {},
                                  tr("Approve %1?").arg(actionId),
                                  what,
                                  std::nullopt,
                                  {},
                                  tr("Approve"),
                                  [this, actionId](bool, ResultHandler done) {
                                      m_client->approve(actionId, this, std::move(done));
                                  },
                                  {},
                                  false); // the API has no forced approval
                      });
}

void ActionController::resync(const QString &region, const QString &from)
{
    if (!m_client)
        return;
    ConfirmationRequest request;
    request.kind = ConfirmationRequest::Kind::Confirm;
    request.action = u"resync"_s;
    request.region = region;
    request.title = tr("Resync %1?").arg(region);
    request.text = tr("Resync %1 from %2: its data is copied afresh from the peer (snapshot, "
                      "transfer, verify, catch-up); local writes that never replicated are "
                      "replaced.\n\n%3")
                           .arg(regionLabel(region),
                                from.isEmpty() ? tr("a peer the node chooses") : from,
                                describeInboundLag(region, m_cluster));
    request.acceptLabel = tr("Resync");
    request.warning = true;
    ask(request, [this, region, from](bool yes) {
        if (!yes) {
            emit actionDeclined(u"resync"_s, region);
            return;
        }
        m_client->startResync(region,
                              from,
                              this,
                              [this, region](const Api::ApiResult<Api::ResyncProgress> &result) {
                                  if (!result) {
                                      notify(u"resync"_s,
                                             region,
                                             tr("Refused: resync of %1").arg(region),
                                             tr("The server refused the resync of %1:\n%2")
                                                     .arg(region, result.error().toString()),
                                             true);
                                      emit actionRefused(u"resync"_s, region, result.error());
                                      return;
                                  }
                                  startResyncWatch(region, result.value());
                              });
    });
}

// ---- operations: drains and resyncs followed until done ----

ActionController::Operation &ActionController::beginOperation(const QString &kind,
                                                              const QString &region)
{
    const QString id = kind + u':' + region;
    endOperation(id);
    Operation &operation = m_operations[id];
    operation.progress.id = id;
    operation.progress.kind = kind;
    operation.progress.region = region;
    operation.timer = new QTimer(this);
    operation.timer->setSingleShot(true);
    operation.timer->setInterval(m_pollIntervalMs);
    if (m_showProgressDialogs && m_dialogParent) {
        auto *dialog = new QProgressDialog(m_dialogParent);
        dialog->setWindowTitle(kind == u"drain"   ? tr("Draining %1").arg(region)
                               : kind == u"purge" ? tr("Cache purge %1").arg(region)
                                                  : tr("Resync of %1").arg(region));
        dialog->setWindowModality(Qt::NonModal);
        dialog->setAutoClose(false);
        dialog->setAutoReset(false);
        dialog->setMinimumDuration(0);
        dialog->setMinimumWidth(420);
        dialog->setCancelButtonText(kind == u"resync" ? tr("Cancel resync") : tr("Stop following"));
        connect(dialog, &QProgressDialog::canceled, this, [this, id, dialog] {
            if (m_operations.contains(id))
                cancelOperation(id);
            dialog->deleteLater();
        });
        operation.dialog = dialog;
        dialog->show();
    }
    updateActionStates();
    return operation;
}

void ActionController::publish(Operation &operation)
{
    const OperationProgress &p = operation.progress;
    if (operation.dialog) {
        operation.dialog->setLabelText(p.text);
        operation.dialog->setMaximum(p.finished ? std::max(1, p.maximum) : p.maximum);
        operation.dialog->setValue(p.finished ? std::max(1, p.maximum) : p.value);
        if (p.finished)
            operation.dialog->setCancelButtonText(tr("Close"));
    }
    emit operationProgress(p);
}

void ActionController::endOperation(const QString &id)
{
    auto it = m_operations.find(id);
    if (it == m_operations.end())
        return;
    if (it->timer) {
        it->timer->stop();
        it->timer->deleteLater();
    }
    m_operations.erase(it);
    updateActionStates();
}

void ActionController::cancelOperation(const QString &id)
{
    auto it = m_operations.find(id);
    if (it == m_operations.end())
        return;
    Operation &operation = *it;
    const QString region = operation.progress.region;
    if (operation.progress.kind == u"resync") {
        m_client->cancelResync(region,
                               this,
                               [this, region](const Api::ApiResult<Api::ResyncProgress> &result) {
                                   if (!result) {
                                       notify(u"resync"_s,
                                              region,
                                              tr("Cancel refused"),
                                              tr("The resync of %1 could not be cancelled:\n%2")
                                                      .arg(region, result.error().toString()),
                                              true);
                                   }
                               });
        operation.progress.text = tr("%1: resync cancelled").arg(region);
    } else if (operation.progress.kind == u"purge") {
        operation.progress.text
                = tr("%1: no longer followed (the edges still apply it)").arg(region);
    } else {
        operation.progress.text = tr("%1: no longer followed (the drain goes on)").arg(region);
    }
    operation.progress.finished = true;
    operation.progress.failed = true;
    publish(operation);
    endOperation(id);
}

void ActionController::follow(const QString &kind,
                              const QString &subject,
                              double followS,
                              const QString &text,
                              void (ActionController::*poll)(const QString &id))
{
    Operation &operation = beginOperation(kind, subject);
    operation.deadlineMs = nowMs() + qint64(followS * 1000.0);
    operation.progress.text = text;
    const QString id = operation.progress.id;
    connect(operation.timer, &QTimer::timeout, this, [this, id, poll] { (this->*poll)(id); });
    publish(operation);
    (this->*poll)(id);
}

void ActionController::settle(Operation &operation, bool done)
{
    operation.progress.finished = done;
    publish(operation);
    const QString id = operation.progress.id; // endOperation() removes the operation
    if (done)
        endOperation(id);
    else
        operation.timer->start();
}

void ActionController::startDrainWatch(const QString &region, double deadlineS)
{
    follow(u"drain"_s,
           region,
           (deadlineS > 0 ? deadlineS : kDefaultDrainFollowS) + 30.0,
           tr("%1: draining…").arg(region),
           &ActionController::pollDrain);
}

void ActionController::pollDrain(const QString &id)
{
    if (!m_operations.contains(id))
        return;
    const QString region = m_operations.value(id).progress.region;
    m_client->region(region, this, [this, id, region](const Api::ApiResult<Api::RegionStatus> &r) {
        auto it = m_operations.find(id);
        if (it == m_operations.end())
            return;
        Operation &operation = *it;
        OperationProgress &p = operation.progress;
        bool done = false;
        if (!r) {
            p.text = tr("%1: state unknown (%2); still trying").arg(region, r.error().toString());
        } else if (r.value().state == u"draining") {
            p.text = tr("%1: draining, %n request(s) in flight", nullptr, int(r.value().inFlight))
                             .arg(region);
            p.value = 0;
            p.maximum = 0;
        } else if (r.value().state == u"drained") {
            p.text = tr("%1: drained, no request in flight").arg(region);
            done = true;
        } else {
            p.text = tr("%1 is %2 again: the drain ended").arg(region, r.value().state);
            p.failed = true;
            done = true;
        }
        if (!done && nowMs() > operation.deadlineMs) {
            p.text += tr(" (no longer followed)");
            done = true;
        }
        settle(operation, done);
    });
}

void ActionController::purgeCache(const QStringList &paths)
{
    confirmThenRun(
            u"purge"_s,
            {},
            tr("Purge the edge cache?"),
            tr("Remove %1 from the cache of every edge gateway. The next requests for them go to "
               "the regions, which see more traffic until the edges have them again. A purge "
               "cannot be reverted.")
                    .arg(paths.join(u", "_s)),
            std::nullopt,
            {},
            tr("Purge"),
            [this, paths](bool force, ResultHandler done) {
                m_client->purgeCache(paths, {}, force, this, std::move(done));
            },
            [this](const Api::ActionResult &result) { startPurgeWatch(result.action.id); });
}

void ActionController::startPurgeWatch(const QString &actionId)
{
    follow(u"purge"_s,
           actionId,
           kPurgeFollowS,
           tr("%1: reaching the edges…").arg(actionId),
           &ActionController::pollPurge);
}

void ActionController::pollPurge(const QString &id)
{
    if (!m_operations.contains(id))
        return;
    const QString actionId = m_operations.value(id).progress.region;
    m_client->purgeStatus(
            actionId, this, [this, id, actionId](const Api::ApiResult<Api::PurgeStatus> &r) {
                auto it = m_operations.find(id);
                if (it == m_operations.end())
                    return;
                Operation &operation = *it;
                OperationProgress &p = operation.progress;
                bool done = false;
                if (!r) {
                    // 404 for a moment: the answering node has not got the leader's record yet.
                    p.text = tr("%1: not known here yet (%2); still trying")
                                     .arg(actionId, r.error().toString());
                } else {
                    const Api::PurgeStatus &s = r.value();
                    QStringList waiting;
                    qint64 removed = 0;
                    for (const Api::PurgeEdge &edge : s.edges) {
                        if (edge.state == u"pending" || edge.state == u"unreachable")
                            waiting.append(u"%1 %2"_s.arg(edge.id, edge.state));
                        removed += std::max<qint64>(0, edge.removed);
                    }
                    p.value = s.applied;
                    p.maximum = std::max(1, s.total);
                    p.text = tr("%1: applied at %2 of %3 edge(s), %n cached response(s) removed",
                                nullptr,
                                int(removed))
                                     .arg(actionId)
                                     .arg(s.applied)
                                     .arg(s.total);
                    if (!waiting.isEmpty())
                        p.text += tr("; waiting for %1").arg(waiting.join(u", "_s));
                    done = s.done;
                }
                if (!done && nowMs() > operation.deadlineMs) {
                    p.text += tr(" (no longer followed: the edges apply it when they catch up)");
                    p.failed = true;
                    done = true;
                }
                settle(operation, done);
            });
}

void ActionController::startResyncWatch(const QString &region, const Api::ResyncProgress &first)
{
    Operation &operation = beginOperation(u"resync"_s, region);
    const QString id = operation.progress.id;
    connect(operation.timer, &QTimer::timeout, this, [this, id] { pollResync(id); });
    const ResyncDescription d = describeResync(first);
    operation.progress.text = region + u": "_s + d.text;
    operation.progress.maximum = d.percent >= 0 ? 100 : 0;
    operation.progress.value = std::max(0, d.percent);
    operation.progress.failed = d.failed;
    settle(operation, d.finished);
}

void ActionController::pollResync(const QString &id)
{
    if (!m_operations.contains(id))
        return;
    const QString region = m_operations.value(id).progress.region;
    m_client->resync(region, this, [this, id, region](const Api::ApiResult<Api::ResyncProgress> &r) {
        auto it = m_operations.find(id);
        if (it == m_operations.end())
            return;
        Operation &operation = *it;
        OperationProgress &p = operation.progress;
        if (!r) {
            p.text = tr("%1: resync state unknown (%2); still trying")
                             .arg(region, r.error().toString());
            settle(operation, false);
            return;
        }
        const ResyncDescription d = describeResync(r.value());
        p.text = region + u": "_s + d.text;
        p.maximum = d.percent >= 0 ? 100 : 0;
        p.value = std::max(0, d.percent);
        p.failed = d.failed;
        settle(operation, d.finished);
    });
}

// ---- the QActions' input dialogs ----

namespace {

QInputDialog *newInput(QWidget *parent, const QString &title, const QString &label)
{
    auto *dialog = new QInputDialog(parent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(title);
    dialog->setLabelText(label);
    return dialog;
}

} // namespace

void ActionController::promptDrain()
{
    const QString region = m_selected;
    if (region.isEmpty() || !m_dialogParent)
        return;
    QInputDialog *dialog = newInput(m_dialogParent,
                                    tr("Drain %1").arg(region),
                                    tr("Seconds to let requests in flight finish\n"
                                       "(0: the server's default):"));
    dialog->setInputMode(QInputDialog::DoubleInput);
    dialog->setDoubleRange(0, 3600);
    dialog->setDoubleDecimals(0);
    dialog->setDoubleValue(30);
    connect(dialog, &QInputDialog::doubleValueSelected, this, [this, region](double value) {
        drain(region, value);
    });
    dialog->open();
}

void ActionController::promptDial()
{
    const QString region = m_selected;
    if (region.isEmpty() || !m_dialogParent)
        return;
    const Api::RegionStatus *status = findRegion(region);
    QInputDialog *dialog = newInput(m_dialogParent,
                                    tr("Dial %1").arg(region),
                                    tr("Share of its traffic %1 keeps (%):").arg(region));
    dialog->setInputMode(QInputDialog::IntInput);
    dialog->setIntRange(0, 100);
    dialog->setIntStep(5);
    dialog->setIntValue(status ? status->dial : 100);
    connect(dialog, &QInputDialog::intValueSelected, this, [this, region](int value) {
        dial(region, value);
    });
    dialog->open();
}

void ActionController::promptResync()
{
    const QString region = m_selected;
    if (region.isEmpty() || !m_dialogParent)
        return;
    const QString any = tr("Any peer (the node chooses)");
    QStringList peers{any};
    for (const Api::RegionStatus &status : std::as_const(m_cluster.regions)) {
        if (status.id != region)
            peers.append(status.id);
    }
    QInputDialog *dialog = newInput(m_dialogParent,
                                    tr("Resync %1").arg(region),
                                    tr("Copy the data of %1 from:").arg(region));
    dialog->setComboBoxItems(peers);
    dialog->setComboBoxEditable(false);
    connect(dialog, &QInputDialog::textValueSelected, this, [this, region, any](const QString &v) {
        resync(region, v == any ? QString() : v);
    });
    dialog->open();
}

void ActionController::promptRevert()
{
    chooseAction(u"applied"_s,
                 tr("Revert an action"),
                 tr("No recent action is in the applied state."),
                 [this](const QString &id) { revert(id); });
}

void ActionController::promptPurge()
{
    if (!m_dialogParent)
        return;
    QInputDialog *dialog = newInput(
            m_dialogParent,
            tr("Purge the edge cache"),
            tr("Paths to remove from every edge gateway, one per line:\n"
               "/index.html (with any query string), /assets/* (a prefix), /* (everything)"));
    dialog->setOption(QInputDialog::UsePlainTextEditForTextInput);
    connect(dialog, &QInputDialog::textValueSelected, this, [this](const QString &text) {
        QStringList paths;
        for (const QString &line : text.split(u'\n')) {
            if (const QString path = line.trimmed(); !path.isEmpty())
                paths.append(path);
        }
        if (!paths.isEmpty())
            purgeCache(paths);
    });
    dialog->open();
}

void ActionController::promptApprove()
{
    chooseAction(u"pending_approval"_s,
                 tr("Approve an action"),
                 tr("No action waits for approval."),
                 [this](const QString &id) { approve(id); });
}

void ActionController::chooseAction(const QString &status,
                                    const QString &title,
                                    const QString &emptyText,
                                    std::function<void(const QString &)> chosen)
{
    if (!m_client || !m_dialogParent)
        return;
    m_client->actions(
            30,
            this,
            [this, status, title, emptyText, chosen](
                    const Api::ApiResult<QList<Api::ActionInfo>> &result) {
                if (!result) {
                    notify({},
                           {},
                           title,
                           tr("The recent actions could not be read:\n%1")
                                   .arg(result.error().toString()),
                           true);
                    return;
                }
                QStringList items;
                for (const Api::ActionInfo &info : result.value()) {
                    // A purge is applied but cannot be reverted.
                    if (info.status != status || (status == u"applied" && info.kind == u"purge"))
                        continue;
                    items.append(u"%1  %2 %3  by %4 at %5"_s.arg(info.id,
                                                                 info.kind,
                                                                 info.region,
                                                                 info.actor,
                                                                 info.time.toLocalTime().toString(
                                                                         u"HH:mm:ss"_s)));
                }
                if (items.isEmpty()) {
                    notify({}, {}, title, emptyText, false);
                    return;
                }
                QInputDialog *dialog = newInput(m_dialogParent, title, tr("Action (newest first):"));
                dialog->setComboBoxItems(items);
                dialog->setComboBoxEditable(false);
                connect(dialog,
                        &QInputDialog::textValueSelected,
                        this,
                        [chosen](const QString &item) { chosen(item.section(u' ', 0, 0)); });
                dialog->open();
            });
}

} // namespace Meridian
