#pragma once

#include <QDateTime>
#include <QJsonObject>
#include <QString>

#include <optional>

namespace Meridian {

// One accepted (or pending) control action as the API shows it and the replicated store keeps
// it: what was asked, by whom, and `previous`, the parts of the control state it replaced, which
// is exactly what `revert` restores.
struct Action
{
    QString id;
    QString kind; // drain | activate | promote | dial | weight | strategy | purge | revert
    QString region;
    QJsonObject args;
    QDateTime time;
    QString actor;
    QString node;                               // the node whose leader role applied it
    QString status = QStringLiteral("applied"); // applied | pending_approval | reverted
    QJsonObject previous;
    QString revertedBy; // id of the revert action, once reverted
    QString approvedBy; // the second admin, for actions that needed approval

    QJsonObject toJson() const;
    static std::optional<Action> fromJson(const QJsonObject &object);
};

} // namespace Meridian
