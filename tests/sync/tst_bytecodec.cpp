// The checksum and digest hashes are part of the on-disk and wire format (docs/architecture.md):
// their fast implementations must give the reference values.
#include "core/sync/bytecodec.h"

#include <QRandomGenerator>
#include <QTest>

using namespace Meridian::Internal;

namespace {

// The reference CRC-32 (IEEE, reflected), one bit at a time.
quint32 referenceCrc32(const QByteArray &data, quint32 seed)
{
    quint32 c = seed ^ 0xffffffffu;
    for (char ch : data) {
        c ^= quint8(ch);
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

} // namespace

class tst_ByteCodec final : public QObject
{
    Q_OBJECT

private slots:
    void crc32KnownValue();
    void crc32MatchesReference();
    void hashPairMatchesSingleLanes();
    void varintHasOneEncoding();
};

void tst_ByteCodec::crc32KnownValue()
{
    QCOMPARE(crc32(QByteArray("123456789")), 0xcbf43926u);
    QCOMPARE(crc32(QByteArray()), 0u);
}

void tst_ByteCodec::crc32MatchesReference()
{
    QRandomGenerator rng(42);
    for (int size = 0; size < 300; ++size) {
        QByteArray data(size, Qt::Uninitialized);
        for (char &c : data)
            c = char(rng.bounded(256));
        const quint32 seed = rng.generate();
        QCOMPARE(crc32(data, seed), referenceCrc32(data, seed));
        // Chained over two parts as LogEntry::computeChecksum() does.
        const qsizetype cut = size / 3;
        QCOMPARE(crc32(data.mid(cut), crc32(data.left(cut))), referenceCrc32(data, 0));
    }
}

void tst_ByteCodec::hashPairMatchesSingleLanes()
{
    QRandomGenerator rng(7);
    for (int size = 0; size < 200; size += 7) {
        QByteArray data(size, Qt::Uninitialized);
        for (char &c : data)
            c = char(rng.bounded(256));
        quint64 a = 0, b = 0;
        hash64Pair(data.constData(), data.size(), 1, 2, &a, &b);
        QCOMPARE(a, hash64(data.constData(), data.size(), 1));
        QCOMPARE(b, hash64(data.constData(), data.size(), 2));
        QVERIFY(a != b);
    }
}

// A row's digest is taken from its bytes in a payload, so a value must have exactly one
// encoding: overlong varints are refused.
void tst_ByteCodec::varintHasOneEncoding()
{
    for (quint64 v : {0ull, 1ull, 127ull, 128ull, 300ull, 1ull << 63, ~0ull}) {
        QByteArray bytes;
        ByteWriter w(&bytes);
        w.varint(v);
        ByteReader r(bytes);
        quint64 back = 0;
        QVERIFY(r.varint(&back));
        QCOMPARE(back, v);
        QVERIFY(r.atEnd());
    }
    quint64 v = 0;
    const QByteArray overlongZero = QByteArray::fromHex("8000");
    QVERIFY(!ByteReader(overlongZero).varint(&v));
    const QByteArray overlongOne = QByteArray::fromHex("818000");
    QVERIFY(!ByteReader(overlongOne).varint(&v));
    const QByteArray shortest = QByteArray::fromHex("8101");
    QVERIFY(ByteReader(shortest).varint(&v));
    QCOMPARE(v, 129u);
}

QTEST_GUILESS_MAIN(tst_ByteCodec)

#include "tst_bytecodec.moc"
