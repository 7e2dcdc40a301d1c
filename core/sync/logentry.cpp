#include "core/sync/logentry.h"

#include "core/sync/bytecodec.h"

namespace Meridian {

using namespace Internal;

namespace {

void writeCursors(ByteWriter &w, const CursorVector &cursors)
{
    w.varint(quint64(cursors.size()));
    for (auto it = cursors.cbegin(); it != cursors.cend(); ++it) {
        w.string(it.key());
        w.varint(it.value());
    }
}

bool readCursors(ByteReader &r, CursorVector *cursors)
{
    quint64 n = 0;
    if (!r.varint(&n) || n > 100000)
        return false;
    cursors->clear();
    for (quint64 i = 0; i < n; ++i) {
        QString origin;
        quint64 seq = 0;
        if (!r.string(&origin) || !r.varint(&seq))
            return false;
        cursors->insert(origin, seq);
    }
    return true;
}

} // namespace

quint32 LogEntry::computeChecksum() const
{
    QByteArray head;
    ByteWriter w(&head);
    w.string(origin);
    w.varint(seq);
    w.varint(hlc);
    w.svarint(schemaVersion);
    writeCursors(w, seen);
    return crc32(payload, crc32(head));
}

void LogEntry::encode(ByteWriter &w) const
{
    w.string(origin);
    w.varint(seq);
    w.varint(hlc);
    w.svarint(schemaVersion);
    writeCursors(w, seen);
    w.bytes(payload);
    w.varint(checksum);
}

bool LogEntry::decode(ByteReader &r)
{
    qint64 schema = 0;
    quint64 sum = 0;
    if (!r.string(&origin) || !r.varint(&seq) || !r.varint(&hlc) || !r.svarint(&schema)
        || !readCursors(r, &seen) || !r.bytes(&payload) || !r.varint(&sum))
        return false;
    schemaVersion = int(schema);
    checksum = quint32(sum);
    return true;
}

QByteArray LogEntry::encodeCursors(const CursorVector &cursors)
{
    QByteArray out;
    ByteWriter w(&out);
    writeCursors(w, cursors);
    return out;
}

std::optional<CursorVector> LogEntry::decodeCursors(const QByteArray &bytes)
{
    ByteReader r(bytes);
    CursorVector c;
    if (!readCursors(r, &c))
        return std::nullopt;
    return c;
}

} // namespace Meridian
