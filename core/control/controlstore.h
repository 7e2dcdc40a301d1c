#pragma once

#include "core/control/action.h"
#include "core/control/actionplanner.h"
#include "core/control/controlstate.h"

#include <QObject>
#include <QTimer>

#include <optional>

namespace Meridian {

class Replica;

// The cluster control state and the action history, kept in two tables of the node's replicated
// store, so every node holds the same copy and it survives restarts:
//   meridian_control(key TEXT PRIMARY KEY, value TEXT)   -- "region/<id>", "strategy", "primary"
//   meridian_actions(id TEXT PRIMARY KEY, seq INTEGER, body TEXT)
// Rows are written only by actions (and by a draining region's own node when it is drained), so
// a node that starts with an empty store never overrides a newer state with its configured
// defaults: a missing row means "as configured". Replicated changes are noticed by re-reading
// the (small) control table every `pollMs` and on every local write.
class ControlStore final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ControlStore)

public:
    ControlStore(Replica *replica, ControlState initial, int pollMs, QObject *parent = nullptr);

    // Registers the tables and loads the current state. Returns an error message on failure.
    QString open();

    const ControlState &state() const { return m_state; }

    // Writes the plan's rows and the action in one durable transaction. The action takes the
    // next sequence number even when it was stored before (an approval applies it now), so
    // every node reads it again (actionRecorded): edges apply an approved purge then.
    bool apply(const ActionPlan &plan, const Action &action, QString *error);
    // Writes one action: a new pending one, or a status change (reverted) that keeps its place.
    bool saveAction(const Action &action, QString *error);
    // Writes one region row (the draining -> drained transition).
    bool setRegion(const QString &id, const RegionControl &control, QString *error);

    std::optional<Action> action(const QString &id) const;
    // The newest `limit` actions, newest first.
    QList<Action> actions(int limit) const;
    QString nextActionId() const;
    // The sequence number an action was stored with (actions are applied in this order).
    std::optional<qint64> actionSeq(const QString &id) const;
    // Every action up to this sequence number has been read (and actionRecorded emitted).
    qint64 lastActionSeq() const { return m_lastActionSeq; }

    // Re-reads the tables now; emits stateChanged / actionRecorded for what changed.
    void refresh();

signals:
    void stateChanged(const ControlState &before, const ControlState &after);
    void actionRecorded(const Action &action);

private:
    qint64 nextSeq() const;
    bool write(const ActionPlan &plan, const Action &action, bool renumber, QString *error);

    Replica *m_replica;
    ControlState m_initial;
    ControlState m_state;
    qint64 m_lastActionSeq = 0;
    bool m_loaded = false;
    bool m_refreshQueued = false;
    QTimer m_poll;
};

} // namespace Meridian
