#pragma once

#include <QByteArray>
#include <QString>

#include <cstdint>

namespace Meridian::Internal {

// Compact binary encoding used by the replication log and the wire protocol: LEB128 varints,
// zigzag for signed values, length-prefixed strings. Readers never read past the end and report
// truncation instead of crashing on malformed input from a peer.
class ByteWriter
{
public:
    explicit ByteWriter(QByteArray *out)
        : m_out(out)
    {}

    void u8(quint8 v);
    void varint(quint64 v);
    void svarint(qint64 v);
    void fixed64(quint64 v);
    void bytes(const QByteArray &b);
    void bytes(const char *data, qsizetype size);
    void string(const QString &s);

private:
    QByteArray *m_out;
};

class ByteReader
{
public:
    ByteReader(const char *data, qsizetype size)
        : m_p(data)
        , m_end(data + size)
    {}
    explicit ByteReader(const QByteArray &b)
        : ByteReader(b.constData(), b.size())
    {}

    bool u8(quint8 *v);
    bool varint(quint64 *v);
    bool svarint(qint64 *v);
    bool fixed64(quint64 *v);
    bool bytes(QByteArray *b);
    bool string(QString *s);
    bool atEnd() const { return m_p == m_end; }
    const char *position() const { return m_p; }
    qsizetype remaining() const { return m_end - m_p; }

private:
    const char *m_p;
    const char *m_end;
};

quint32 crc32(const char *data, qsizetype size, quint32 seed = 0);
inline quint32 crc32(const QByteArray &b, quint32 seed = 0)
{
    return crc32(b.constData(), b.size(), seed);
}

// 64-bit FNV-1a with a splitmix64 finaliser; `seed` selects an independent lane.
quint64 hash64(const char *data, qsizetype size, quint64 seed);
// hash64() with two seeds, fed in pieces: the result of add(x), add(y) equals hash64Pair() of
// x followed by y.
class HashPair
{
public:
    HashPair(quint64 seedA, quint64 seedB);
    void add(const char *data, qsizetype size);
    void result(quint64 *a, quint64 *b) const;

private:
    quint64 m_a;
    quint64 m_b;
    qsizetype m_size = 0;
};

// hash64() with two seeds in one pass over the data.
void hash64Pair(
        const char *data, qsizetype size, quint64 seedA, quint64 seedB, quint64 *a, quint64 *b);

} // namespace Meridian::Internal
