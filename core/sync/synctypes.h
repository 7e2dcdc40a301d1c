#pragma once

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>
#include <QVariantList>

namespace Meridian {

// What a committed local write became: its place in this region's log.
struct WriteReceipt
{
    quint64 seq = 0; // 0: the transaction changed no replicated row (nothing was logged)
    quint64 hlc = 0;
    int rowsChanged = 0;
};

// Rows of a read.
struct QueryResult
{
    QStringList columns;
    QList<QVariantList> rows;
};

// A write that lost a last-writer-wins conflict, kept in the bounded overwritten journal.
struct OverwrittenWrite
{
    qint64 id = 0;
    qint64 atMs = 0; // when this replica saw the conflict
    QString table;
    QJsonObject primaryKey;
    QString loserOrigin;
    quint64 loserHlc = 0;
    bool loserDeleted = false;
    QJsonObject loserRow; // the losing values (empty for a delete)
    QString winnerOrigin;
    quint64 winnerHlc = 0;

    QJsonObject toJson() const;
};

// How many writes of `region` lost a conflict in `table`, as counted by this replica.
struct OverwrittenCounter
{
    QString table;
    QString region;
    qint64 count = 0;
};

// Progress of a snapshot resync (see Replica::startResync).
struct ResyncProgress
{
    enum class Phase { Idle, Snapshot, Transfer, Verify, CatchUp, Done, Failed, Cancelled };
    Phase phase = Phase::Idle;
    QString peer;
    qint64 bytesDone = 0;
    qint64 bytesTotal = 0;
    qint64 rows = 0;
    double etaSeconds = -1; // -1: unknown
    QString message;

    static QString phaseName(Phase p); // snapshot, transfer, verify, catch_up, done, ...
    QJsonObject toJson() const;
};

} // namespace Meridian
