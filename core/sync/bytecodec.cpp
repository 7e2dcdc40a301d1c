#include "core/sync/bytecodec.h"

#include <array>
#include <cstring>

namespace Meridian::Internal {

void ByteWriter::u8(quint8 v)
{
    m_out->append(char(v));
}

void ByteWriter::varint(quint64 v)
{
    char buf[10];
    int n = 0;
    while (v >= 0x80) {
        buf[n++] = char((v & 0x7f) | 0x80);
        v >>= 7;
    }
    buf[n++] = char(v);
    m_out->append(buf, n);
}

void ByteWriter::svarint(qint64 v)
{
    varint((quint64(v) << 1) ^ quint64(v >> 63));
}

void ByteWriter::fixed64(quint64 v)
{
    char buf[8];
    for (int i = 0; i < 8; ++i)
        buf[i] = char((v >> (8 * i)) & 0xff);
    m_out->append(buf, 8);
}

void ByteWriter::bytes(const char *data, qsizetype size)
{
    varint(quint64(size));
    m_out->append(data, size);
}

void ByteWriter::bytes(const QByteArray &b)
{
    bytes(b.constData(), b.size());
}

void ByteWriter::string(const QString &s)
{
    bytes(s.toUtf8());
}

bool ByteReader::u8(quint8 *v)
{
    if (m_p >= m_end)
        return false;
    *v = quint8(*m_p++);
    return true;
}

bool ByteReader::varint(quint64 *v)
{
    quint64 result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (m_p >= m_end)
            return false;
        const quint8 byte = quint8(*m_p++);
        result |= quint64(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            // Only the shortest encoding is valid, so a value has exactly one encoding and a
            // row's digest can be taken from its bytes in a payload (see ReplicaStore::apply).
            if (byte == 0 && shift > 0)
                return false;
            *v = result;
            return true;
        }
    }
    return false;
}

bool ByteReader::svarint(qint64 *v)
{
    quint64 u = 0;
    if (!varint(&u))
        return false;
    *v = qint64(u >> 1) ^ -qint64(u & 1);
    return true;
}

bool ByteReader::fixed64(quint64 *v)
{
    if (m_end - m_p < 8)
        return false;
    quint64 r = 0;
    for (int i = 0; i < 8; ++i)
        r |= quint64(quint8(m_p[i])) << (8 * i);
    m_p += 8;
    *v = r;
    return true;
}

bool ByteReader::bytes(QByteArray *b)
{
    quint64 n = 0;
    if (!varint(&n) || n > quint64(m_end - m_p))
        return false;
    *b = QByteArray(m_p, qsizetype(n));
    m_p += n;
    return true;
}

bool ByteReader::string(QString *s)
{
    quint64 n = 0;
    if (!varint(&n) || n > quint64(m_end - m_p))
        return false;
    *s = QString::fromUtf8(m_p, qsizetype(n));
    m_p += n;
    return true;
}

namespace {

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes, so eight
// input bytes are folded per step with eight independent lookups (same CRC-32 as one byte at a
// time, ~5x faster).
constexpr std::array<std::array<quint32, 256>, 8> makeCrcTables()
{
    std::array<std::array<quint32, 256>, 8> t{};
    for (quint32 i = 0; i < 256; ++i) {
        quint32 c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        t[0][i] = c;
    }
    for (quint32 i = 0; i < 256; ++i) {
        for (int k = 1; k < 8; ++k)
            t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    }
    return t;
}

constexpr auto kCrcTables = makeCrcTables();

quint64 fnvFinish(quint64 h, qsizetype size)
{
    h ^= quint64(size);
    h += 0x9e3779b97f4a7c15ull;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

constexpr quint64 fnvStart(quint64 seed)
{
    return 0xcbf29ce484222325ull ^ (seed * 0x9e3779b97f4a7c15ull);
}

} // namespace

quint32 crc32(const char *data, qsizetype size, quint32 seed)
{
    const auto *p = reinterpret_cast<const quint8 *>(data);
    quint32 c = seed ^ 0xffffffffu;
    while (size >= 8) {
        const quint32 lo = c
                           ^ (quint32(p[0]) | quint32(p[1]) << 8 | quint32(p[2]) << 16
                              | quint32(p[3]) << 24);
        c = kCrcTables[7][lo & 0xff] ^ kCrcTables[6][(lo >> 8) & 0xff]
            ^ kCrcTables[5][(lo >> 16) & 0xff] ^ kCrcTables[4][lo >> 24] ^ kCrcTables[3][p[4]]
            ^ kCrcTables[2][p[5]] ^ kCrcTables[1][p[6]] ^ kCrcTables[0][p[7]];
        p += 8;
        size -= 8;
    }
    while (size-- > 0)
        c = kCrcTables[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

quint64 hash64(const char *data, qsizetype size, quint64 seed)
{
    quint64 h = fnvStart(seed);
    for (qsizetype i = 0; i < size; ++i) {
        h ^= quint8(data[i]);
        h *= 0x100000001b3ull;
    }
    return fnvFinish(h, size);
}

HashPair::HashPair(quint64 seedA, quint64 seedB)
    : m_a(fnvStart(seedA))
    , m_b(fnvStart(seedB))
{}

void HashPair::add(const char *data, qsizetype size)
{
    // The two lanes are independent multiply chains: interleaved, they run in parallel.
    quint64 ha = m_a;
    quint64 hb = m_b;
    for (qsizetype i = 0; i < size; ++i) {
        const quint8 byte = quint8(data[i]);
        ha = (ha ^ byte) * 0x100000001b3ull;
        hb = (hb ^ byte) * 0x100000001b3ull;
    }
    m_a = ha;
    m_b = hb;
    m_size += size;
}

void HashPair::result(quint64 *a, quint64 *b) const
{
    *a = fnvFinish(m_a, m_size);
    *b = fnvFinish(m_b, m_size);
}

void hash64Pair(
        const char *data, qsizetype size, quint64 seedA, quint64 seedB, quint64 *a, quint64 *b)
{
    HashPair h(seedA, seedB);
    h.add(data, size);
    h.result(a, b);
}

} // namespace Meridian::Internal
