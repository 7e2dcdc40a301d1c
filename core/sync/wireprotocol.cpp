#include "core/sync/wireprotocol.h"

#include "core/sync/bytecodec.h"

#include <QtEndian>

namespace Meridian::Internal::Wire {

namespace {

void writeCursors(ByteWriter &w, const CursorVector &c)
{
    w.varint(quint64(c.size()));
    for (auto it = c.cbegin(); it != c.cend(); ++it) {
        w.string(it.key());
        w.varint(it.value());
    }
}

bool readCursors(ByteReader &r, CursorVector *c)
{
    quint64 n = 0;
    if (!r.varint(&n) || n > 10000)
        return false;
    c->clear();
    for (quint64 i = 0; i < n; ++i) {
        QString k;
        quint64 v = 0;
        if (!r.string(&k) || !r.varint(&v))
            return false;
        c->insert(k, v);
    }
    return true;
}

void writeAnnouncement(ByteWriter &w, const PeerAnnouncement &a)
{
    w.string(a.regionId);
    w.svarint(a.schemaVersion);
    w.svarint(a.wallClockMs);
    w.varint(a.hlcWatermark);
    writeCursors(w, a.heads);
    writeCursors(w, a.lowWater);
    w.varint(quint64(a.direct.size()));
    for (const QString &d : a.direct)
        w.string(d);
    writeCursors(w, a.pendingSeq);
    writeCursors(w, a.pendingHlc);
}

bool readAnnouncement(ByteReader &r, PeerAnnouncement *a)
{
    qint64 schema = 0;
    quint64 nDirect = 0;
    if (!r.string(&a->regionId) || !r.svarint(&schema) || !r.svarint(&a->wallClockMs)
        || !r.varint(&a->hlcWatermark) || !readCursors(r, &a->heads)
        || !readCursors(r, &a->lowWater) || !r.varint(&nDirect) || nDirect > 10000)
        return false;
    a->schemaVersion = int(schema);
    for (quint64 i = 0; i < nDirect; ++i) {
        QString d;
        if (!r.string(&d))
            return false;
        a->direct.append(d);
    }
    return readCursors(r, &a->pendingSeq) && readCursors(r, &a->pendingHlc);
}

} // namespace

QByteArray frame(Type type, const QByteArray &body)
{
    QByteArray out;
    out.resize(5);
    qToBigEndian<quint32>(quint32(body.size() + 1), out.data());
    out[4] = char(type);
    out.append(body);
    return out;
}

QByteArray hello(const PeerAnnouncement &a)
{
    QByteArray out;
    ByteWriter w(&out);
    w.fixed64(kMagic);
    w.varint(kProtocolVersion);
    writeAnnouncement(w, a);
    return out;
}

std::optional<PeerAnnouncement> parseHello(const QByteArray &body, QString *error)
{
    ByteReader r(body);
    quint64 magic = 0, version = 0;
    if (!r.fixed64(&magic) || magic != kMagic) {
        *error = QStringLiteral("not a Meridian replication peer");
        return std::nullopt;
    }
    if (!r.varint(&version) || version != kProtocolVersion) {
        *error = QStringLiteral("replication protocol version %1, this build speaks %2")
                         .arg(version)
                         .arg(kProtocolVersion);
        return std::nullopt;
    }
    PeerAnnouncement a;
    if (!readAnnouncement(r, &a)) {
        *error = QStringLiteral("malformed hello");
        return std::nullopt;
    }
    return a;
}

QByteArray heartbeat(const PeerAnnouncement &a)
{
    QByteArray out;
    ByteWriter w(&out);
    writeAnnouncement(w, a);
    return out;
}

std::optional<PeerAnnouncement> parseHeartbeat(const QByteArray &body)
{
    ByteReader r(body);
    PeerAnnouncement a;
    if (!readAnnouncement(r, &a))
        return std::nullopt;
    return a;
}

QByteArray batch(quint64 id, const QList<LogEntry> &entries)
{
    QByteArray out;
    ByteWriter w(&out);
    w.varint(id);
    w.varint(quint64(entries.size()));
    for (const LogEntry &e : entries)
        e.encode(w);
    return out;
}

bool parseBatch(const QByteArray &body, quint64 *id, QList<LogEntry> *entries)
{
    ByteReader r(body);
    quint64 n = 0;
    if (!r.varint(id) || !r.varint(&n) || n > quint64(body.size()))
        return false;
    entries->clear();
    entries->reserve(qsizetype(n));
    for (quint64 i = 0; i < n; ++i) {
        LogEntry e;
        if (!e.decode(r))
            return false;
        entries->append(std::move(e));
    }
    return r.atEnd();
}

QByteArray ack(quint64 id, const CursorVector &applied)
{
    QByteArray out;
    ByteWriter w(&out);
    w.varint(id);
    writeCursors(w, applied);
    return out;
}

bool parseAck(const QByteArray &body, quint64 *id, CursorVector *applied)
{
    ByteReader r(body);
    return r.varint(id) && readCursors(r, applied);
}

QByteArray error(const QString &message)
{
    QByteArray out;
    ByteWriter w(&out);
    w.string(message);
    return out;
}

QString parseError(const QByteArray &body)
{
    ByteReader r(body);
    QString s;
    if (!r.string(&s))
        return QStringLiteral("malformed error frame");
    return s;
}

QByteArray snapshotRequest(const SnapshotRequest &q)
{
    QByteArray out;
    ByteWriter w(&out);
    w.fixed64(kMagic);
    w.varint(kProtocolVersion);
    w.string(q.regionId);
    w.string(q.snapshotId);
    w.varint(q.offset);
    return out;
}

std::optional<SnapshotRequest> parseSnapshotRequest(const QByteArray &body)
{
    ByteReader r(body);
    quint64 magic = 0, version = 0;
    SnapshotRequest q;
    if (!r.fixed64(&magic) || magic != kMagic || !r.varint(&version) || version != kProtocolVersion
        || !r.string(&q.regionId) || !r.string(&q.snapshotId) || !r.varint(&q.offset))
        return std::nullopt;
    return q;
}

QByteArray snapshotMeta(const SnapshotMeta &m)
{
    QByteArray out;
    ByteWriter w(&out);
    w.string(m.snapshotId);
    w.varint(m.size);
    w.bytes(m.checksum);
    w.varint(m.offset);
    return out;
}

std::optional<SnapshotMeta> parseSnapshotMeta(const QByteArray &body)
{
    ByteReader r(body);
    SnapshotMeta m;
    if (!r.string(&m.snapshotId) || !r.varint(&m.size) || !r.bytes(&m.checksum)
        || !r.varint(&m.offset))
        return std::nullopt;
    return m;
}

QByteArray snapshotEnd(const QByteArray &checksum)
{
    QByteArray out;
    ByteWriter w(&out);
    w.bytes(checksum);
    return out;
}

std::optional<QByteArray> parseSnapshotEnd(const QByteArray &body)
{
    ByteReader r(body);
    QByteArray checksum;
    if (!r.bytes(&checksum) || checksum.size() != QCryptographicHash::hashLength(kSnapshotChecksum))
        return std::nullopt;
    return checksum;
}

QByteArray snapshotChunk(quint64 offset, const QByteArray &data)
{
    QByteArray out;
    out.reserve(data.size() + 10);
    ByteWriter w(&out);
    w.varint(offset);
    out.append(data);
    return out;
}

bool parseSnapshotChunk(const QByteArray &body, quint64 *offset, QByteArray *data)
{
    ByteReader r(body);
    if (!r.varint(offset))
        return false;
    *data = body.right(r.remaining());
    return true;
}

} // namespace Meridian::Internal::Wire
