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

constexpr std::array<quint32, 256> makeCrcTable()
{
    std::array<quint32, 256> table{};
    for (quint32 i = 0; i < 256; ++i) {
        quint32 c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    return table;
}

constexpr auto kCrcTable = makeCrcTable();

} // namespace

quint32 crc32(const char *data, qsizetype size, quint32 seed)
{
    quint32 c = seed ^ 0xffffffffu;
    for (qsizetype i = 0; i < size; ++i)
        c = kCrcTable[(c ^ quint8(data[i])) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

quint64 hash64(const char *data, qsizetype size, quint64 seed)
{
    quint64 h = 0xcbf29ce484222325ull ^ (seed * 0x9e3779b97f4a7c15ull);
    for (qsizetype i = 0; i < size; ++i) {
        h ^= quint8(data[i]);
        h *= 0x100000001b3ull;
    }
    h ^= quint64(size);
    h += 0x9e3779b97f4a7c15ull;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

} // namespace Meridian::Internal
