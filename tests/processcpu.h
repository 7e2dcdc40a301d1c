#pragma once

// CPU time a process has used so far, for tests that tell a resting process from a spinning one.
#include <QFile>
#include <QString>
#include <QTest>

#include <unistd.h>

namespace MeridianTest {

// User + system CPU time of process `pid` so far, in milliseconds; -1 if it cannot be read.
inline qint64 processCpuMs(qint64 pid)
{
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray line = stat.readAll();
    // The fields after the command name, which may hold spaces, in parentheses.
    const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return -1;
    const qint64 ticks = fields.at(11).toLongLong() + fields.at(12).toLongLong();
    return ticks * 1000 / sysconf(_SC_CLK_TCK);
}

// CPU time process `pid` uses over the next `ms` of wall time (the event loop runs meanwhile);
// -1 if it cannot be read.
inline qint64 processCpuMsDuring(qint64 pid, int ms)
{
    const qint64 before = processCpuMs(pid);
    QTest::qWait(ms); // the span measured, not a synchronisation
    const qint64 after = processCpuMs(pid);
    return before < 0 || after < 0 ? -1 : after - before;
}

} // namespace MeridianTest
