// The edge's wire parser and body framing, byte by byte.
#include "core/edge/httpwire.h"

#include <QTest>

using namespace Meridian;
using namespace std::string_view_literals;

class tst_HttpWire final : public QObject
{
    Q_OBJECT

private slots:
    void parsesARequest()
    {
        const QByteArray raw
                = "GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nAccept:  text/html \r\n\r\nBODY";
        HttpWire::RequestHead h;
        HttpWire::Error e;
        QCOMPARE(HttpWire::parseRequest(raw.constData(), size_t(raw.size()), h, e),
                 HttpWire::Status::Complete);
        QVERIFY(h.method == "GET"sv);
        QVERIFY(h.target == "/a?b=c"sv);
        QCOMPARE(h.minorVersion, 1);
        QCOMPARE(h.headerCount, 3);
        QVERIFY(h.headers[1].value.empty());
        QVERIFY(h.headers[2].value == "text/html"sv);
        QCOMPARE(h.length, size_t(raw.indexOf("BODY")));
    }

    void higherMinorVersionIsHttp11()
    {
        // RFC 9110 6.2, as the regions' server does: HTTP/1.2 is handled as HTTP/1.1.
        const QByteArray raw = "GET / HTTP/1.2\r\nHost: x\r\n\r\n";
        HttpWire::RequestHead h;
        HttpWire::Error e;
        QCOMPARE(HttpWire::parseRequest(raw.constData(), size_t(raw.size()), h, e),
                 HttpWire::Status::Complete);
        QCOMPARE(h.minorVersion, 1);
        const QByteArray bad = "GET / HTTP/1.x\r\nHost: x\r\n\r\n";
        QCOMPARE(HttpWire::parseRequest(bad.constData(), size_t(bad.size()), h, e),
                 HttpWire::Status::Error);
    }

    void incompleteHeadsAtEverySplit()
    {
        const QByteArray raw = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n";
        for (int cut = 0; cut < raw.size(); ++cut) {
            HttpWire::RequestHead h;
            HttpWire::Error e;
            QCOMPARE(HttpWire::parseRequest(raw.constData(), size_t(cut), h, e),
                     HttpWire::Status::Incomplete);
        }
        // A scan resumed from any earlier point finds the same end.
        for (int from = 0; from <= raw.size(); ++from)
            QCOMPARE(HttpWire::findHeadEnd(raw.constData(), size_t(raw.size()), size_t(from)),
                     size_t(raw.size()));
    }

    void rejects_data()
    {
        QTest::addColumn<QByteArray>("raw");
        QTest::addColumn<int>("error");
        const int bad = int(HttpWire::Error::BadRequest);
        QTest::addRow("space before colon")
                << QByteArray("GET / HTTP/1.1\r\nHost : x\r\n\r\n") << bad;
        QTest::addRow("obs-fold") << QByteArray("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n") << bad;
        QTest::addRow("bare CR in value") << QByteArray("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n") << bad;
        QTest::addRow("NUL in value") << QByteArray("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n",
                                                    sizeof("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n") - 1)
                                      << bad;
        QTest::addRow("no colon") << QByteArray("GET / HTTP/1.1\r\nHost\r\n\r\n") << bad;
        QTest::addRow("empty name") << QByteArray("GET / HTTP/1.1\r\n: x\r\n\r\n") << bad;
        QTest::addRow("two spaces") << QByteArray("GET  / HTTP/1.1\r\n\r\n") << bad;
        QTest::addRow("no version") << QByteArray("GET /\r\n\r\n") << bad;
        QTest::addRow("bad method") << QByteArray("G(T / HTTP/1.1\r\n\r\n") << bad;
        QTest::addRow("control in target") << QByteArray("GET /\x01 HTTP/1.1\r\n\r\n") << bad;
        QTest::addRow("HTTP/2") << QByteArray("GET / HTTP/2.0\r\n\r\n")
                                << int(HttpWire::Error::VersionNotSupported);
        QByteArray many = "GET / HTTP/1.1\r\n";
        for (int i = 0; i <= HttpWire::kMaxHeaders; ++i)
            many += "X-" + QByteArray::number(i) + ": v\r\n";
        QTest::addRow("too many fields")
                << (many + "\r\n") << int(HttpWire::Error::HeadersTooLarge);
    }

    void rejects()
    {
        QFETCH(QByteArray, raw);
        QFETCH(int, error);
        HttpWire::RequestHead h;
        HttpWire::Error e;
        QCOMPARE(HttpWire::parseRequest(raw.constData(), size_t(raw.size()), h, e),
                 HttpWire::Status::Error);
        QCOMPARE(int(e), error);
    }

    void parsesAResponse()
    {
        const QByteArray raw = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        HttpWire::ResponseHead h;
        QCOMPARE(HttpWire::parseResponse(raw.constData(), size_t(raw.size()), h),
                 HttpWire::Status::Complete);
        QCOMPARE(h.status, 404);
        QVERIFY(h.reason == "Not Found"sv);
        const QByteArray noReason = "HTTP/1.1 204\r\n\r\n";
        QCOMPARE(HttpWire::parseResponse(noReason.constData(), size_t(noReason.size()), h),
                 HttpWire::Status::Complete);
        QCOMPARE(h.status, 204);
        const QByteArray bad = "HTTP/1.1 2x4 OK\r\n\r\n";
        QCOMPARE(HttpWire::parseResponse(bad.constData(), size_t(bad.size()), h),
                 HttpWire::Status::Error);
    }

    void helpers()
    {
        QVERIFY(HttpWire::listContains("keep-alive, Close"sv, "close"sv));
        QVERIFY(!HttpWire::listContains("keep-alive, closed"sv, "close"sv));
        uint64_t n = 0;
        QVERIFY(HttpWire::parseContentLength("12345"sv, n) && n == 12345);
        QVERIFY(!HttpWire::parseContentLength("+5"sv, n));
        QVERIFY(!HttpWire::parseContentLength("1234567890123456789"sv, n));
        QVERIFY(!HttpWire::parseContentLength(""sv, n));
    }

    void lengthFraming()
    {
        HttpWire::BodyFramer f;
        f.reset(HttpWire::BodyFramer::Kind::Length, 5);
        QCOMPARE(f.feed("abc", 3), size_t(3));
        QVERIFY(!f.done());
        QCOMPARE(f.feed("defGET", 6), size_t(2));
        QVERIFY(f.done());
        QCOMPARE(f.payloadBytes(), uint64_t(5));
    }

    void chunkedFramingByteByByte()
    {
        const QByteArray body
                = "5;name=v\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        HttpWire::BodyFramer whole;
        whole.reset(HttpWire::BodyFramer::Kind::Chunked);
        QCOMPARE(whole.feed(body.constData(), size_t(body.size())), size_t(body.indexOf("NEXT")));
        QVERIFY(whole.done());
        QCOMPARE(whole.payloadBytes(), uint64_t(15));
        HttpWire::BodyFramer split;
        split.reset(HttpWire::BodyFramer::Kind::Chunked);
        size_t used = 0;
        for (int i = 0; i < body.size() && !split.done(); ++i)
            used += split.feed(body.constData() + i, 1);
        QVERIFY(split.done());
        QCOMPARE(used, size_t(body.indexOf("NEXT")));
    }

    void chunkedFramingRejects_data()
    {
        QTest::addColumn<QByteArray>("body");
        QTest::addRow("not hex") << QByteArray("zz\r\n");
        QTest::addRow("no size") << QByteArray("\r\n");
        QTest::addRow("overflow") << QByteArray("10000000000000000\r\n");
        QTest::addRow("data overrun") << QByteArray("2\r\nabc\r\n");
        QTest::addRow("CR without LF") << QByteArray("2\rxab");
    }

    void chunkedFramingRejects()
    {
        QFETCH(QByteArray, body);
        HttpWire::BodyFramer f;
        f.reset(HttpWire::BodyFramer::Kind::Chunked);
        f.feed(body.constData(), size_t(body.size()));
        QVERIFY(f.failed());
    }
};

QTEST_GUILESS_MAIN(tst_HttpWire)
#include "tst_httpwire.moc"
