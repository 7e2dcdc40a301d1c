#include "core/http/httpdate.h"
#include "core/http/httprequestparser.h"

#include <QTest>

using namespace Meridian;
using namespace Qt::StringLiterals;

namespace {

// Feeds `wire` in pieces of `step` bytes the way a connection does (unconsumed bytes are offered
// again with the next piece) and returns the parser's final status.
HttpRequestParser::Status feedInSteps(HttpRequestParser &parser,
                                      const QByteArray &wire,
                                      qsizetype step,
                                      qsizetype *consumedTotal = nullptr)
{
    QByteArray pending;
    qsizetype consumed = 0;
    for (qsizetype pos = 0; pos < wire.size(); pos += step) {
        pending += wire.mid(pos, step);
        const qsizetype n = parser.feed(pending.constData(), pending.size());
        consumed += n;
        pending.remove(0, n);
        if (parser.status() != HttpRequestParser::Status::NeedMore)
            break;
    }
    if (consumedTotal)
        *consumedTotal = consumed;
    return parser.status();
}

} // namespace

class tst_HttpRequestParser final : public QObject
{
    Q_OBJECT

private slots:
    void validRequests_data();
    void validRequests();
    void invalidRequests_data();
    void invalidRequests();
    void pipelinedMessagesAreSeparated();
    void limits();
    void expectContinue();
    void percentDecoding();
    void httpDates_data();
    void httpDates();
};

void tst_HttpRequestParser::validRequests_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QByteArray>("query");
    QTest::addColumn<QByteArray>("host");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("minor");

    QTest::addRow("simple get") << QByteArray("GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h\r\n\r\n")
                                << QByteArray("GET") << QByteArray("/a/b") << QByteArray("x=1&y=2")
                                << QByteArray("h") << QByteArray() << 1;
    QTest::addRow("lf only") << QByteArray("GET / HTTP/1.1\nHost: h\n\n") << QByteArray("GET")
                             << QByteArray("/") << QByteArray() << QByteArray("h") << QByteArray()
                             << 1;
    QTest::addRow("leading blank lines")
            << QByteArray("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") << QByteArray("GET")
            << QByteArray("/") << QByteArray() << QByteArray("h") << QByteArray() << 1;
    QTest::addRow("http/1.0 without host")
            << QByteArray("GET /x HTTP/1.0\r\n\r\n") << QByteArray("GET") << QByteArray("/x")
            << QByteArray() << QByteArray() << QByteArray() << 0;
    QTest::addRow("ows around value")
            << QByteArray("GET / HTTP/1.1\r\nHost:  \t h \t\r\n\r\n") << QByteArray("GET")
            << QByteArray("/") << QByteArray() << QByteArray("h") << QByteArray() << 1;
    QTest::addRow("header name case")
            << QByteArray("GET / HTTP/1.1\r\nhOsT: h\r\n\r\n") << QByteArray("GET")
            << QByteArray("/") << QByteArray() << QByteArray("h") << QByteArray() << 1;
    QTest::addRow("content-length body")
            << QByteArray("PUT /api/kv/k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
            << QByteArray("PUT") << QByteArray("/api/kv/k") << QByteArray() << QByteArray("h")
            << QByteArray("hello") << 1;
    QTest::addRow("equal duplicate lengths")
            << QByteArray("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\n\r\nhi")
            << QByteArray("PUT") << QByteArray("/") << QByteArray() << QByteArray("h")
            << QByteArray("hi") << 1;
    QTest::addRow("chunked") << QByteArray(
            "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            "3\r\nabc\r\nA;name=value\r\n0123456789\r\n0\r\nT: 1\r\n\r\n")
                             << QByteArray("POST") << QByteArray("/p") << QByteArray()
                             << QByteArray("h") << QByteArray("abc0123456789") << 1;
    QTest::addRow("chunked lf only")
            << QByteArray("POST /p HTTP/1.1\nHost: h\nTransfer-Encoding: Chunked\n\n"
                          "2\nab\n0\n\n")
            << QByteArray("POST") << QByteArray("/p") << QByteArray() << QByteArray("h")
            << QByteArray("ab") << 1;
    QTest::addRow("absolute form")
            << QByteArray("GET http://example.com:8080/x?q HTTP/1.1\r\nHost: ignored\r\n\r\n")
            << QByteArray("GET") << QByteArray("/x") << QByteArray("q") << QByteArray("ignored")
            << QByteArray() << 1;
    QTest::addRow("absolute form no path")
            << QByteArray("GET http://example.com HTTP/1.1\r\nHost: e\r\n\r\n") << QByteArray("GET")
            << QByteArray("/") << QByteArray() << QByteArray("e") << QByteArray() << 1;
    QTest::addRow("options star") << QByteArray("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
                                  << QByteArray("OPTIONS") << QByteArray("*") << QByteArray()
                                  << QByteArray("h") << QByteArray() << 1;
    QTest::addRow("fragment dropped")
            << QByteArray("GET /a?b#frag HTTP/1.1\r\nHost: h\r\n\r\n") << QByteArray("GET")
            << QByteArray("/a") << QByteArray("b") << QByteArray("h") << QByteArray() << 1;
    QTest::addRow("obs-text value")
            << QByteArray("GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9\r\n\r\n")
            << QByteArray("GET") << QByteArray("/") << QByteArray() << QByteArray("h")
            << QByteArray() << 1;
}

void tst_HttpRequestParser::validRequests()
{
    QFETCH(QByteArray, wire);
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, query);
    QFETCH(QByteArray, host);
    QFETCH(QByteArray, body);
    QFETCH(int, minor);
    // Whole, in two halves, and byte by byte: the result must not depend on how TCP splits it.
    for (qsizetype step : {wire.size(), wire.size() / 2 + 1, qsizetype(1)}) {
        HttpRequestParser parser;
        qsizetype consumed = 0;
        QCOMPARE(feedInSteps(parser, wire, step, &consumed), HttpRequestParser::Status::Complete);
        QCOMPARE(consumed, wire.size());
        const HttpRequest r = parser.takeRequest();
        QCOMPARE(r.method(), method);
        QCOMPARE(r.path(), path);
        QCOMPARE(r.query(), query);
        QCOMPARE(r.header("host"), host);
        QCOMPARE(r.body(), body);
        QCOMPARE(r.minorVersion(), minor);
    }
}

void tst_HttpRequestParser::invalidRequests_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<int>("status");
    QTest::addRow("lowercase version") << QByteArray("GET / http/1.1\r\nHost: h\r\n\r\n") << 400;
    QTest::addRow("http/0.9") << QByteArray("GET /\r\n\r\n") << 400;
    QTest::addRow("http/3") << QByteArray("GET / HTTP/3.0\r\nHost: h\r\n\r\n") << 505;
    QTest::addRow("tab in line") << QByteArray("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n") << 400;
    QTest::addRow("space in target") << QByteArray("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n") << 400;
    QTest::addRow("raw utf-8 target")
            << QByteArray("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n") << 400;
    QTest::addRow("empty header name")
            << QByteArray("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n") << 400;
    QTest::addRow("te in http/1.0")
            << QByteArray("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") << 400;
    QTest::addRow("te chunked twice") << QByteArray(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n")
                                      << 501;
    QTest::addRow("te gzip chunked")
            << QByteArray("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
            << 501;
    QTest::addRow("length with sign")
            << QByteArray("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello") << 400;
    QTest::addRow("length overflow") << QByteArray(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n")
                                     << 400;
    QTest::addRow("chunk size overflow")
            << QByteArray("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "fffffffffffffffff\r\n")
            << 400;
    QTest::addRow("chunk without crlf")
            << QByteArray("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "1\r\naX\r\n0\r\n\r\n")
            << 400;
    QTest::addRow("bad trailer") << QByteArray(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            "0\r\nno colon here\r\n\r\n")
                                 << 400;
    QTest::addRow("del in value") << QByteArray("GET / HTTP/1.1\r\nHost: h\x7f\r\n\r\n") << 400;
}

void tst_HttpRequestParser::invalidRequests()
{
    QFETCH(QByteArray, wire);
    QFETCH(int, status);
    for (qsizetype step : {wire.size(), qsizetype(1)}) {
        HttpRequestParser parser;
        QCOMPARE(feedInSteps(parser, wire, step), HttpRequestParser::Status::Error);
        QCOMPARE(parser.error().status, status);
        QVERIFY(!parser.error().message.isEmpty());
    }
}

void tst_HttpRequestParser::pipelinedMessagesAreSeparated()
{
    const QByteArray first = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
    const QByteArray second = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    const QByteArray wire = first + second;
    HttpRequestParser parser;
    const qsizetype n = parser.feed(wire.constData(), wire.size());
    QCOMPARE(parser.status(), HttpRequestParser::Status::Complete);
    QCOMPARE(n, first.size());
    QCOMPARE(parser.takeRequest().body(), "abc");
    parser.reset();
    QCOMPARE(parser.feed(wire.constData() + n, wire.size() - n), second.size());
    QCOMPARE(parser.status(), HttpRequestParser::Status::Complete);
    QCOMPARE(parser.takeRequest().path(), "/b");
}

void tst_HttpRequestParser::limits()
{
    HttpRequestLimits limits;
    limits.maxHeaderBytes = 64;
    limits.maxBodyBytes = 10;
    limits.maxHeaderCount = 2;
    {
        HttpRequestParser parser(limits);
        const QByteArray wire = "GET / HTTP/1.1\r\nHost: h\r\nX: " + QByteArray(100, 'a');
        QCOMPARE(feedInSteps(parser, wire, 7), HttpRequestParser::Status::Error);
        QCOMPARE(parser.error().status, 431); // detected before the head ends
    }
    {
        HttpRequestParser parser(limits);
        const QByteArray wire = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
        QCOMPARE(feedInSteps(parser, wire, wire.size()), HttpRequestParser::Status::Error);
        QCOMPARE(parser.error().status, 431);
    }
    {
        HttpRequestParser parser(limits);
        const QByteArray wire = "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n";
        QCOMPARE(feedInSteps(parser, wire, wire.size()), HttpRequestParser::Status::Error);
        QCOMPARE(parser.error().status, 413); // refused before reading the body
    }
    {
        HttpRequestParser parser(limits);
        const QByteArray wire = "PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n";
        QCOMPARE(feedInSteps(parser, wire, 1), HttpRequestParser::Status::Error);
        QCOMPARE(parser.error().status, 413);
    }
}

void tst_HttpRequestParser::expectContinue()
{
    HttpRequestParser parser;
    const QByteArray head = "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                            "Content-Length: 2\r\n\r\n";
    QCOMPARE(parser.feed(head.constData(), head.size()), head.size());
    QCOMPARE(parser.status(), HttpRequestParser::Status::NeedMore);
    QVERIFY(parser.headComplete());
    QVERIFY(parser.expectsContinue());
    QCOMPARE(parser.feed("ok", 2), 2);
    QCOMPARE(parser.status(), HttpRequestParser::Status::Complete);
    QVERIFY(!parser.expectsContinue());
}

void tst_HttpRequestParser::percentDecoding()
{
    QCOMPARE(HttpRequest::percentDecode("a%20b%2Fc"), u"a b/c"_s);
    QCOMPARE(HttpRequest::percentDecode("caf%C3%A9"), u"café"_s);
    QCOMPARE(HttpRequest::percentDecode("100%"), u"100%"_s);
    QCOMPARE(HttpRequest::percentDecode("%zz%4"), u"%zz%4"_s);
    QCOMPARE(HttpRequest::percentDecode("a+b", true), u"a b"_s);
    QCOMPARE(HttpRequest::percentDecode("a+b", false), u"a+b"_s);
}

void tst_HttpRequestParser::httpDates_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<qint64>("secs");
    QTest::addRow("imf-fixdate") << QByteArray("Sun, 06 Nov 1994 08:49:37 GMT")
                                 << qint64(784111777);
    QTest::addRow("rfc 850") << QByteArray("Sunday, 06-Nov-94 08:49:37 GMT") << qint64(784111777);
    QTest::addRow("asctime") << QByteArray("Sun Nov  6 08:49:37 1994") << qint64(784111777);
    QTest::addRow("garbage") << QByteArray("yesterday") << qint64(-1);
    QTest::addRow("bad day") << QByteArray("Sun, 32 Nov 1994 08:49:37 GMT") << qint64(-1);
    QTest::addRow("not gmt") << QByteArray("Sun, 06 Nov 1994 08:49:37 PST") << qint64(-1);
}

void tst_HttpRequestParser::httpDates()
{
    QFETCH(QByteArray, text);
    QFETCH(qint64, secs);
    const auto parsed = HttpDate::parse(text);
    if (secs < 0) {
        QVERIFY(!parsed);
        return;
    }
    QVERIFY(parsed);
    QCOMPARE(parsed->toSecsSinceEpoch(), secs);
    QCOMPARE(HttpDate::formatSecs(secs), "Sun, 06 Nov 1994 08:49:37 GMT");
}

QTEST_GUILESS_MAIN(tst_HttpRequestParser)
#include "tst_httprequestparser.moc"
