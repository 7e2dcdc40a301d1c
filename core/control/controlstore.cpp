#include "core/control/controlstore.h"

#include "core/sync/replica.h"
#include "core/sync/transaction.h"

#include <QJsonDocument>
#include <QLoggingCategory>

using namespace Qt::StringLiterals;

namespace Meridian {

Q_LOGGING_CATEGORY(lcControlStore, "meridian.control")

namespace {

QString compact(const QJsonObject &object)
{
    return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

QJsonObject parseObject(const QVariant &value)
{
    return QJsonDocument::fromJson(value.toString().toUtf8()).object();
}

} // namespace

ControlStore::ControlStore(Replica *replica, ControlState initial, int pollMs, QObject *parent)
    : QObject(parent)
    , m_replica(replica)
    , m_initial(std::move(initial))
    , m_state(m_initial)
{
    m_poll.setInterval(pollMs);
    connect(&m_poll, &QTimer::timeout, this, &ControlStore::refresh);
    // A replicated change to a control row is applied by the sync core: look at once.
    connect(m_replica, &Replica::applied, this, [this]() {
        if (!m_refreshQueued) {
            m_refreshQueued = true;
            QTimer::singleShot(0, this, [this]() {
                m_refreshQueued = false;
                refresh();
            });
        }
    });
}

QString ControlStore::open()
{
    if (auto r = m_replica->registerTable(
                u"meridian_control"_s,
                u"CREATE TABLE meridian_control(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)"_s);
        !r) {
        return u"cannot register the control table: %1"_s.arg(r.error().message);
    }
    if (auto r = m_replica->registerTable(u"meridian_actions"_s,
                                          u"CREATE TABLE meridian_actions(id TEXT PRIMARY KEY NOT "
                                          u"NULL, seq INTEGER NOT NULL, "
                                          "body TEXT NOT NULL)"_s);
        !r) {
        return u"cannot register the actions table: %1"_s.arg(r.error().message);
    }
    m_lastActionSeq = 0;
    m_state = m_initial;
    m_loaded = false;
    refresh();
    m_loaded = true;
    m_poll.start();
    return {};
}

void ControlStore::refresh()
{
    if (!m_replica->isOpen())
        return;
    const auto rows = m_replica->query(u"SELECT key, value FROM meridian_control"_s);
    if (!rows) {
        qCWarning(lcControlStore) << "cannot read the control table:" << rows.error().message;
        return;
    }
    ControlState next = m_initial;
    for (const QVariantList &row : rows.value().rows) {
        const QString key = row.value(0).toString();
        if (key.startsWith(u"region/"_s) && !next.regions.contains(key.mid(7)))
            continue; // a region no longer in this node's configuration
        if (!next.applyRow(key, parseObject(row.value(1))))
            qCWarning(lcControlStore) << "ignoring an unreadable control row" << key;
    }
    if (!(next == m_state)) {
        const ControlState before = m_state;
        m_state = next;
        if (m_loaded)
            emit stateChanged(before, m_state);
    }

    const auto actions
            = m_replica->query(u"SELECT body, seq FROM meridian_actions WHERE seq > ? ORDER BY seq"_s,
                               {m_lastActionSeq});
    if (!actions)
        return;
    for (const QVariantList &row : actions.value().rows) {
        m_lastActionSeq = std::max(m_lastActionSeq, row.value(1).toLongLong());
        if (!m_loaded)
            continue;
        if (const auto action = Action::fromJson(parseObject(row.value(0))))
            emit actionRecorded(*action);
    }
}

bool ControlStore::apply(const ActionPlan &plan, const Action &action, QString *error)
{
    return write(plan, action, true, error);
}

bool ControlStore::write(const ActionPlan &plan, const Action &action, bool renumber, QString *error)
{
    const QMap<QString, QJsonObject> rows = plan.next.toRows();
    const qint64 seq = nextSeq();
    auto receipt = m_replica->write([&](Transaction &tx) -> SyncResult<void> {
        for (const QString &key : plan.touchedRows) {
            if (auto r = tx.exec(u"INSERT INTO meridian_control(key, value) VALUES(?, ?) "
                                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value"_s,
                                 {key, compact(rows.value(key))});
                !r) {
                return r.error();
            }
        }
        if (auto r
            = tx.exec(renumber ? u"INSERT INTO meridian_actions(id, seq, body) VALUES(?, ?, ?) "
                                 "ON CONFLICT(id) DO UPDATE SET body = excluded.body, "
                                 "seq = excluded.seq"_s
                               : u"INSERT INTO meridian_actions(id, seq, body) VALUES(?, ?, ?) "
                                 "ON CONFLICT(id) DO UPDATE SET body = excluded.body"_s,
                      {action.id, seq, compact(action.toJson())});
            !r) {
            return r.error();
        }
        return {};
    });
    if (!receipt) {
        *error = u"cannot store the action: %1"_s.arg(receipt.error().message);
        return false;
    }
    refresh();
    return true;
}

bool ControlStore::saveAction(const Action &action, QString *error)
{
    ActionPlan none;
    none.next = m_state;
    return write(none, action, false, error);
}

bool ControlStore::setRegion(const QString &id, const RegionControl &control, QString *error)
{
    auto receipt = m_replica->execute(u"INSERT INTO meridian_control(key, value) VALUES(?, ?) "
                                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value"_s,
                                      {u"region/"_s + id, compact(control.toJson())});
    if (!receipt) {
        *error = receipt.error().message;
        return false;
    }
    refresh();
    return true;
}

qint64 ControlStore::nextSeq() const
{
    const auto result = m_replica->query(u"SELECT COALESCE(MAX(seq), 0) FROM meridian_actions"_s);
    const qint64 max = result ? result.value().rows.value(0).value(0).toLongLong() : 0;
    return std::max(max, m_lastActionSeq) + 1;
}

QString ControlStore::nextActionId() const
{
    const qint64 seq = nextSeq();
    QString id = u"act-%1"_s.arg(seq, 6, 10, QChar(u'0'));
    // Two nodes that applied forced actions while apart can pick the same number.
    if (action(id))
        id += u'-' + m_replica->regionId();
    return id;
}

std::optional<Action> ControlStore::action(const QString &id) const
{
    const auto result = m_replica->query(u"SELECT body FROM meridian_actions WHERE id = ?"_s, {id});
    if (!result || result.value().rows.isEmpty())
        return std::nullopt;
    return Action::fromJson(parseObject(result.value().rows.first().value(0)));
}

std::optional<qint64> ControlStore::actionSeq(const QString &id) const
{
    const auto result = m_replica->query(u"SELECT seq FROM meridian_actions WHERE id = ?"_s, {id});
    if (!result || result.value().rows.isEmpty())
        return std::nullopt;
    return result.value().rows.first().value(0).toLongLong();
}

QList<Action> ControlStore::actions(int limit) const
{
    QList<Action> list;
    const auto result = m_replica->query(
            u"SELECT body FROM meridian_actions ORDER BY seq DESC, id DESC LIMIT ?"_s, {limit});
    if (!result)
        return list;
    for (const QVariantList &row : result.value().rows) {
        if (const auto action = Action::fromJson(parseObject(row.value(0))))
            list.append(*action);
    }
    return list;
}

} // namespace Meridian
