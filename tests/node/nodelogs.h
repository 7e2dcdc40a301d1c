#pragma once

// What the cluster integration tests check in the nodes' logs once they are done.
#include "core/cluster/localcluster.h"

#include <QFile>
#include <QStringList>

namespace MeridianTest {

// Every "critical" line the nodes logged. A critical message is a programming error (a metric
// that cannot be registered, a socket that cannot be adopted), so none is ever expected,
// whatever a test did to the cluster.
inline QStringList criticalLogLines(const QList<Meridian::LocalNode> &nodes)
{
    QStringList found;
    for (const Meridian::LocalNode &node : nodes) {
        QFile log(node.logPath);
        if (!log.open(QIODevice::ReadOnly))
            continue;
        for (const QByteArray &line : log.readAll().split('\n')) {
            if (line.contains(" critical "))
                found.append(node.id + QStringLiteral(": ") + QString::fromUtf8(line));
        }
    }
    return found;
}

} // namespace MeridianTest
