#pragma once

#include <QByteArray>
#include <QMap>
#include <QString>

#include <optional>

namespace Meridian {

namespace Internal {
class ByteReader;
class ByteWriter;
} // namespace Internal

// origin region id -> highest sequence number applied from that origin (all below included).
using CursorVector = QMap<QString, quint64>;

// One replicated write transaction, exactly as stored in the replication log and sent on the
// wire: who wrote it (origin, seq), when (HLC), against which schema, what the writer had seen
// (its cursor vector, used to tell real conflicts from sequential overwrites), and the row
// after-images (payload). The checksum covers every other field.
struct LogEntry
{
    QString origin;
    quint64 seq = 0;
    quint64 hlc = 0;
    int schemaVersion = 0;
    CursorVector seen;
    QByteArray payload;
    quint32 checksum = 0;

    quint32 computeChecksum() const;
    bool checksumValid() const { return checksum == computeChecksum(); }
    qsizetype approximateSize() const { return payload.size() + 64 + seen.size() * 16; }

    void encode(Internal::ByteWriter &w) const;
    bool decode(Internal::ByteReader &r);

    static QByteArray encodeCursors(const CursorVector &cursors);
    static std::optional<CursorVector> decodeCursors(const QByteArray &bytes);
};

} // namespace Meridian
