#pragma once

#include "core/sync/logentry.h"
#include "core/sync/transporthost.h"

#include <QByteArray>
#include <QCryptographicHash>
#include <QList>

#include <optional>

namespace Meridian::Internal {

// Frames of the replication protocol (docs/architecture.md, "Wire protocol"): a 4-byte
// big-endian length, one type byte, then the body in ByteWriter encoding.
namespace Wire {

constexpr quint32 kMagic = 0x4d524453; // "MRDS"
// 2: snapshot checksum is BLAKE2b-256; 3: the checksum follows the chunks (SnapshotEnd).
constexpr quint32 kProtocolVersion = 3;
constexpr quint32 kMaxFrame = 64 * 1024 * 1024;
// Snapshot checksum: BLAKE2b-256, a cryptographic hash 2.5x faster than SHA-256 in Qt 6.4.
constexpr QCryptographicHash::Algorithm kSnapshotChecksum = QCryptographicHash::Blake2b_256;

enum class Type : quint8 {
    Hello = 1,
    Batch = 2,
    Ack = 3,
    Heartbeat = 4,
    Error = 5,
    SnapshotRequest = 6,
    SnapshotMeta = 7,
    SnapshotChunk = 8,
    SnapshotEnd = 9,
    // Mutual authentication with the cluster's shared secret, before anything else is sent
    // (only when a secret is configured; see PeerConnection::requireAuthentication).
    AuthChallenge = 10, // 16 random bytes
    AuthProof = 11,     // HMAC-SHA256 over both challenges and the prover's side
};

QByteArray frame(Type type, const QByteArray &body);

QByteArray hello(const PeerAnnouncement &a);
std::optional<PeerAnnouncement> parseHello(const QByteArray &body, QString *error);
QByteArray heartbeat(const PeerAnnouncement &a);
std::optional<PeerAnnouncement> parseHeartbeat(const QByteArray &body);

QByteArray batch(quint64 id, const QList<LogEntry> &entries);
bool parseBatch(const QByteArray &body, quint64 *id, QList<LogEntry> *entries);
QByteArray ack(quint64 id, const CursorVector &applied);
bool parseAck(const QByteArray &body, quint64 *id, CursorVector *applied);
QByteArray error(const QString &message);
QString parseError(const QByteArray &body);

struct SnapshotRequest
{
    QString regionId;   // who asks
    QString snapshotId; // empty: make a new snapshot; else resume this one
    quint64 offset = 0;
};
QByteArray snapshotRequest(const SnapshotRequest &r);
std::optional<SnapshotRequest> parseSnapshotRequest(const QByteArray &body);

struct SnapshotMeta
{
    QString snapshotId;
    quint64 size = 0;
    QByteArray checksum; // unused since protocol 3 (empty); the checksum is in SnapshotEnd
    quint64 offset = 0;  // where the chunks that follow start
};
QByteArray snapshotMeta(const SnapshotMeta &m);
QByteArray snapshotChunk(quint64 offset, const QByteArray &data);
bool parseSnapshotChunk(const QByteArray &body, quint64 *offset, QByteArray *data);
std::optional<SnapshotMeta> parseSnapshotMeta(const QByteArray &body);
// After the last chunk: the kSnapshotChecksum of the whole file. The server hashes the chunks
// as it sends them, so the transfer starts as soon as the snapshot is made.
QByteArray snapshotEnd(const QByteArray &checksum);
std::optional<QByteArray> parseSnapshotEnd(const QByteArray &body);

} // namespace Wire
} // namespace Meridian::Internal
