#pragma once

#include <QDateTime>
#include <QJsonObject>
#include <QMap>
#include <QString>
#include <QStringList>

#include <optional>

namespace Meridian {

// The operator-controlled part of one region: what drain/activate/promote/dial/weight change.
// Its static part (name, coordinates, URLs) comes from the node configuration.
struct RegionControl
{
    QString state = QStringLiteral("active"); // active | draining | drained | standby
    int weight = 100;
    int priority = 1;
    int dial = 100;
    QDateTime drainDeadline; // set while draining: when the region counts as drained regardless

    QJsonObject toJson() const;
    static std::optional<RegionControl> fromJson(const QJsonObject &object);
    bool operator==(const RegionControl &other) const = default;
};

struct StrategyChoice
{
    QString name;
    QJsonObject params;

    QJsonObject toJson() const;
    static std::optional<StrategyChoice> fromJson(const QJsonObject &object);
    bool operator==(const StrategyChoice &other) const = default;
};

// The cluster control state every node shares: per-region state, weights, dials and priorities,
// the strategy and the primary region. Stored as rows of a replicated table (see ControlStore):
// one row per region, one for the strategy, one for the primary, so concurrent changes to
// different regions never overwrite each other.
struct ControlState
{
    QMap<QString, RegionControl> regions;
    StrategyChoice strategy;
    QString primary;

    static const QStringList &adminStates();
    static const QStringList &strategyNames();

    int activeCount() const;

    // Row keys and values: "region/<id>", "strategy", "primary".
    QMap<QString, QJsonObject> toRows() const;
    // Applies one row onto this state; false if the key or value is not a control row.
    bool applyRow(const QString &key, const QJsonObject &value);

    // The parts of this state named by `parts` ({"regions": {id: ...}, "strategy": ..., "primary":
    // ...}) — used to record what an action replaced.
    QJsonObject toJson() const;
    // Overwrites the parts present in `parts`; regions not in this state are ignored.
    void applyParts(const QJsonObject &parts);

    bool operator==(const ControlState &other) const = default;
};

QString toIsoTime(const QDateTime &time);

} // namespace Meridian
