#include "core/http/httpdate.h"
#include "core/http/httprouter.h"
#include "core/http/httpserver.h"
#include "core/http/staticfilehandler.h"

#include "rawhttpclient.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace Meridian;
using namespace Meridian::Test;
using namespace Qt::StringLiterals;

namespace {

QByteArray get(QByteArrayView path, QByteArrayView extra = {})
{
    return "GET " + path.toByteArray() + " HTTP/1.1\r\nHost: test\r\n" + extra.toByteArray()
           + "\r\n";
}

void writeFile(const QString &path, const QByteArray &content)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly | QIODevice::Truncate), qPrintable(path));
    QCOMPARE(f.write(content), content.size());
}

} // namespace

class tst_StaticFileHandler final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void servesFileWithValidators();
    void contentType_data();
    void contentType();
    void etagRevalidation();
    void etagIsContentBased();
    void ifModifiedSince();
    void ranges_data();
    void ranges();
    void ifRange();
    void gzipNegotiation();
    void directoryIndexAndRedirect();
    void traversalRefused_data();
    void traversalRefused();
    void symlinkInsideRootAllowed();
    void cacheControlRules();
    void globMatching_data();
    void globMatching();
    void headAndMethods();
    void largeFileIsStreamed();
    void urlPrefix();
    void invalidRoot();

private:
    void startServer(StaticFileOptions options = {});
    std::optional<RawHttpClient::Response> fetchPath(QByteArrayView path, QByteArrayView extra = {});

    QTemporaryDir m_outside;
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_root;
    std::unique_ptr<HttpServer> m_server;
};

void tst_StaticFileHandler::initTestCase()
{
    QVERIFY(m_outside.isValid());
    writeFile(m_outside.filePath(u"secret.txt"_s), "top secret");
}

void tst_StaticFileHandler::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_root = m_dir->filePath(u"site"_s);
    // Right above the root, where "/../secret.txt" would land without protection.
    writeFile(m_dir->filePath(u"secret.txt"_s), "top secret");
    writeFile(m_root + u"/index.html"_s, "<h1>home</h1>");
    writeFile(m_root + u"/hello.txt"_s, "hello, world\n");
    writeFile(m_root + u"/app.js"_s, "console.log(1);");
    writeFile(m_root + u"/app.js.gz"_s, "GZIPPED-JS");
    writeFile(m_root + u"/style.css"_s, "body{}");
    writeFile(m_root + u"/data.json"_s, "{}");
    writeFile(m_root + u"/logo.png"_s, "\x89PNG");
    writeFile(m_root + u"/blob.unknownext"_s, "?");
    writeFile(m_root + u"/assets/v1/app.css"_s, "a{}");
    writeFile(m_root + u"/docs/index.html"_s, "docs");
    writeFile(m_root + u"/.env"_s, "PASSWORD=1");
    writeFile(m_root + u"/digits.txt"_s, "0123456789");
}

void tst_StaticFileHandler::cleanup()
{
    m_server.reset();
    m_dir.reset();
}

void tst_StaticFileHandler::startServer(StaticFileOptions options)
{
    StaticFileHandler files(m_root, options);
    QVERIFY2(files.isValid(), qPrintable(files.errorString()));
    m_server = std::make_unique<HttpServer>();
    m_server->setHandler(files.handler());
    QVERIFY(m_server->listen(QHostAddress::LocalHost, 0));
}

std::optional<RawHttpClient::Response> tst_StaticFileHandler::fetchPath(QByteArrayView path,
                                                                        QByteArrayView extra)
{
    return fetch(m_server->serverPort(), get(path, extra));
}

void tst_StaticFileHandler::servesFileWithValidators()
{
    startServer();
    const auto r = fetchPath("/hello.txt");
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(r->body, "hello, world\n");
    QCOMPARE(r->headers.value("Content-Type"), "text/plain; charset=utf-8");
    QCOMPARE(r->headers.value("Accept-Ranges"), "bytes");
    const QByteArray etag = r->headers.value("ETag");
    QVERIFY(etag.startsWith('"') && etag.endsWith('"') && etag.size() > 10);
    const auto lastModified = HttpDate::parse(r->headers.value("Last-Modified"));
    QVERIFY(lastModified);
    QCOMPARE(lastModified->toSecsSinceEpoch(),
             QFileInfo(m_root + u"/hello.txt"_s).lastModified().toSecsSinceEpoch());
    QVERIFY(!r->headers.contains("Vary")); // no .gz variant of this file
}

void tst_StaticFileHandler::contentType_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QByteArray>("type");
    QTest::addRow("html") << QByteArray("/index.html") << QByteArray("text/html; charset=utf-8");
    QTest::addRow("css") << QByteArray("/style.css") << QByteArray("text/css; charset=utf-8");
    QTest::addRow("js") << QByteArray("/app.js")
                        << QByteArray("application/javascript; charset=utf-8");
    QTest::addRow("json") << QByteArray("/data.json")
                          << QByteArray("application/json; charset=utf-8");
    QTest::addRow("png") << QByteArray("/logo.png") << QByteArray("image/png");
    QTest::addRow("unknown") << QByteArray("/blob.unknownext")
                             << QByteArray("application/octet-stream");
}

void tst_StaticFileHandler::contentType()
{
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, type);
    startServer();
    const auto r = fetchPath(path);
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(r->headers.value("Content-Type"), type);
    QCOMPARE(r->headers.value("X-Content-Type-Options"), "nosniff");
}

void tst_StaticFileHandler::etagRevalidation()
{
    startServer();
    const auto first = fetchPath("/hello.txt");
    QVERIFY(first);
    const QByteArray etag = first->headers.value("ETag");
    auto r = fetchPath("/hello.txt", "If-None-Match: " + etag + "\r\n");
    QVERIFY(r);
    QCOMPARE(r->status, 304);
    QVERIFY(r->body.isEmpty());
    QCOMPARE(r->headers.value("ETag"), etag);
    r = fetchPath("/hello.txt", "If-None-Match: \"other\", W/" + etag + "\r\n");
    QCOMPARE(r->status, 304); // weak comparison, list
    r = fetchPath("/hello.txt", "If-None-Match: *\r\n");
    QCOMPARE(r->status, 304);
    r = fetchPath("/hello.txt", "If-None-Match: \"other\"\r\n");
    QCOMPARE(r->status, 200);
    // If-None-Match takes precedence over If-Modified-Since.
    r = fetchPath("/hello.txt",
                  "If-None-Match: \"other\"\r\nIf-Modified-Since: "
                          + HttpDate::format(QDateTime::currentDateTimeUtc().addDays(1)) + "\r\n");
    QCOMPARE(r->status, 200);

    // Changing the file changes the tag.
    writeFile(m_root + u"/hello.txt"_s, "changed content");
    r = fetchPath("/hello.txt", "If-None-Match: " + etag + "\r\n");
    QCOMPARE(r->status, 200);
    QCOMPARE(r->body, "changed content");
    QVERIFY(r->headers.value("ETag") != etag);
}

void tst_StaticFileHandler::etagIsContentBased()
{
    // The same content in two places (two regions' copies) has the same tag.
    writeFile(m_root + u"/copy.txt"_s, "hello, world\n");
    startServer();
    const auto a = fetchPath("/hello.txt");
    const auto b = fetchPath("/copy.txt");
    QVERIFY(a && b);
    QCOMPARE(a->headers.value("ETag"), b->headers.value("ETag"));
}

void tst_StaticFileHandler::ifModifiedSince()
{
    startServer();
    const QDateTime mtime = QFileInfo(m_root + u"/hello.txt"_s).lastModified().toUTC();
    auto r = fetchPath("/hello.txt", "If-Modified-Since: " + HttpDate::format(mtime) + "\r\n");
    QVERIFY(r);
    QCOMPARE(r->status, 304);
    r = fetchPath("/hello.txt",
                  "If-Modified-Since: " + HttpDate::format(mtime.addSecs(-3600)) + "\r\n");
    QCOMPARE(r->status, 200);
    r = fetchPath("/hello.txt", "If-Modified-Since: not a date\r\n");
    QCOMPARE(r->status, 200);
    // RFC 850 form.
    r = fetchPath("/hello.txt",
                  "If-Modified-Since: "
                          + mtime.addDays(1).toString(u"dddd, dd-MMM-yy hh:mm:ss 'GMT'"_s).toLatin1()
                          + "\r\n");
    QCOMPARE(r->status, 304);
}

void tst_StaticFileHandler::ranges_data()
{
    QTest::addColumn<QByteArray>("range");
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QByteArray>("contentRange");
    QTest::addRow("first bytes") << QByteArray("bytes=0-3") << 206 << QByteArray("0123")
                                 << QByteArray("bytes 0-3/10");
    QTest::addRow("middle") << QByteArray("bytes=2-5") << 206 << QByteArray("2345")
                            << QByteArray("bytes 2-5/10");
    QTest::addRow("open end") << QByteArray("bytes=7-") << 206 << QByteArray("789")
                              << QByteArray("bytes 7-9/10");
    QTest::addRow("suffix") << QByteArray("bytes=-2") << 206 << QByteArray("89")
                            << QByteArray("bytes 8-9/10");
    QTest::addRow("end clamped") << QByteArray("bytes=8-100") << 206 << QByteArray("89")
                                 << QByteArray("bytes 8-9/10");
    QTest::addRow("past end") << QByteArray("bytes=10-") << 416 << QByteArray()
                              << QByteArray("bytes */10");
    QTest::addRow("empty suffix") << QByteArray("bytes=-0") << 416 << QByteArray()
                                  << QByteArray("bytes */10");
    QTest::addRow("multiple ignored")
            << QByteArray("bytes=0-1,4-5") << 200 << QByteArray("0123456789") << QByteArray();
    QTest::addRow("garbage ignored")
            << QByteArray("bytes=x-y") << 200 << QByteArray("0123456789") << QByteArray();
    QTest::addRow("other unit ignored")
            << QByteArray("items=0-1") << 200 << QByteArray("0123456789") << QByteArray();
}

void tst_StaticFileHandler::ranges()
{
    QFETCH(QByteArray, range);
    QFETCH(int, status);
    QFETCH(QByteArray, body);
    QFETCH(QByteArray, contentRange);
    startServer();
    const auto r = fetchPath("/digits.txt", "Range: " + range + "\r\n");
    QVERIFY(r);
    QCOMPARE(r->status, status);
    QCOMPARE(r->headers.value("Content-Range"), contentRange);
    if (status != 416)
        QCOMPARE(r->body, body);
}

void tst_StaticFileHandler::ifRange()
{
    startServer();
    const auto full = fetchPath("/digits.txt");
    QVERIFY(full);
    const QByteArray etag = full->headers.value("ETag");
    auto r = fetchPath("/digits.txt", "Range: bytes=0-1\r\nIf-Range: " + etag + "\r\n");
    QCOMPARE(r->status, 206);
    r = fetchPath("/digits.txt", "Range: bytes=0-1\r\nIf-Range: \"stale\"\r\n");
    QCOMPARE(r->status, 200);
    QCOMPARE(r->body, "0123456789");
}

void tst_StaticFileHandler::gzipNegotiation()
{
    startServer();
    auto r = fetchPath("/app.js", "Accept-Encoding: gzip, deflate, br\r\n");
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(r->headers.value("Content-Encoding"), "gzip");
    QCOMPARE(r->body, "GZIPPED-JS");
    QCOMPARE(r->headers.value("Content-Type"), "application/javascript; charset=utf-8");
    QCOMPARE(r->headers.value("Vary"), "Accept-Encoding");
    const QByteArray gzTag = r->headers.value("ETag");

    r = fetchPath("/app.js");
    QVERIFY(!r->headers.contains("Content-Encoding"));
    QCOMPARE(r->body, "console.log(1);");
    QCOMPARE(r->headers.value("Vary"), "Accept-Encoding");
    QVERIFY(r->headers.value("ETag") != gzTag); // distinct representations, distinct tags

    r = fetchPath("/app.js", "Accept-Encoding: gzip;q=0, br\r\n");
    QVERIFY(!r->headers.contains("Content-Encoding"));
    r = fetchPath("/app.js", "Accept-Encoding: *\r\n");
    QCOMPARE(r->headers.value("Content-Encoding"), "gzip");
    r = fetchPath("/app.js", "Accept-Encoding: identity\r\n");
    QVERIFY(!r->headers.contains("Content-Encoding"));
    r = fetchPath("/app.js", "Accept-Encoding: gzip\r\nIf-None-Match: " + gzTag + "\r\n");
    QCOMPARE(r->status, 304);
}

void tst_StaticFileHandler::directoryIndexAndRedirect()
{
    startServer();
    auto r = fetchPath("/");
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(r->body, "<h1>home</h1>");
    r = fetchPath("/docs/");
    QCOMPARE(r->body, "docs");
    r = fetchPath("/docs?x=1");
    QCOMPARE(r->status, 301);
    QCOMPARE(r->headers.value("Location"), "/docs/?x=1");
    r = fetchPath("/assets/");
    QCOMPARE(r->status, 404); // no index, no listing
}

void tst_StaticFileHandler::traversalRefused_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::addRow("dot-dot") << QByteArray("/../secret.txt");
    QTest::addRow("deep dot-dot") << QByteArray("/docs/../../secret.txt");
    QTest::addRow("encoded") << QByteArray("/%2e%2e/secret.txt");
    QTest::addRow("encoded upper") << QByteArray("/%2E%2E/%2E%2E/secret.txt");
    QTest::addRow("encoded slash") << QByteArray("/docs%2f..%2f..%2fsecret.txt");
    QTest::addRow("symlink file") << QByteArray("/leak.txt");
    QTest::addRow("symlink dir") << QByteArray("/outside/secret.txt");
    QTest::addRow("dot file") << QByteArray("/.env");
    QTest::addRow("encoded dot file") << QByteArray("/%2eenv");
    QTest::addRow("backslash") << QByteArray("/..%5csecret.txt");
    QTest::addRow("nul") << QByteArray("/hello.txt%00.png");
}

void tst_StaticFileHandler::traversalRefused()
{
    QFETCH(QByteArray, path);
    QVERIFY(QFile::link(m_outside.filePath(u"secret.txt"_s), m_root + u"/leak.txt"_s));
    QVERIFY(QFile::link(m_outside.path(), m_root + u"/outside"_s));
    startServer();
    const auto r = fetchPath(path);
    QVERIFY(r);
    QVERIFY2(r->status == 400 || r->status == 404, qPrintable(QString::number(r->status)));
    QVERIFY(!r->body.contains("secret"));
    QVERIFY(!r->body.contains("PASSWORD"));
}

void tst_StaticFileHandler::symlinkInsideRootAllowed()
{
    QVERIFY(QFile::link(m_root + u"/hello.txt"_s, m_root + u"/alias.txt"_s));
    startServer();
    const auto r = fetchPath("/alias.txt");
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(r->body, "hello, world\n");
}

void tst_StaticFileHandler::cacheControlRules()
{
    StaticFileOptions options;
    options.cacheRules = {
            {u"/assets/**"_s, "public, max-age=31536000, immutable"},
            {u"*.html"_s, "no-cache"},
            {u"*.css"_s, "public, max-age=60"}, // /assets/v1/app.css matched the first rule
    };
    startServer(options);
    auto r = fetchPath("/assets/v1/app.css");
    QCOMPARE(r->headers.value("Cache-Control"), "public, max-age=31536000, immutable");
    r = fetchPath("/style.css");
    QCOMPARE(r->headers.value("Cache-Control"), "public, max-age=60");
    r = fetchPath("/docs/");
    QCOMPARE(r->headers.value("Cache-Control"), "no-cache"); // index.html of a directory
    r = fetchPath("/hello.txt");
    QVERIFY(!r->headers.contains("Cache-Control"));
    // 304s carry the same Cache-Control.
    r = fetchPath("/style.css", "If-None-Match: *\r\n");
    QCOMPARE(r->status, 304);
    QCOMPARE(r->headers.value("Cache-Control"), "public, max-age=60");
}

void tst_StaticFileHandler::globMatching_data()
{
    QTest::addColumn<QString>("pattern");
    QTest::addColumn<QString>("path");
    QTest::addColumn<bool>("match");
    QTest::addRow("ext") << u"*.html"_s << u"/a/b/index.html"_s << true;
    QTest::addRow("ext no") << u"*.html"_s << u"/a/b/index.htm"_s << false;
    QTest::addRow("star no slash") << u"/assets/*"_s << u"/assets/v1/app.css"_s << false;
    QTest::addRow("star") << u"/assets/*"_s << u"/assets/app.css"_s << true;
    QTest::addRow("double star") << u"/assets/**"_s << u"/assets/v1/app.css"_s << true;
    QTest::addRow("question") << u"/a?.txt"_s << u"/ab.txt"_s << true;
    QTest::addRow("question slash") << u"/a?b"_s << u"/a/b"_s << false;
    QTest::addRow("exact") << u"/robots.txt"_s << u"/robots.txt"_s << true;
    QTest::addRow("middle star") << u"/img/*.png"_s << u"/img/logo.png"_s << true;
}

void tst_StaticFileHandler::globMatching()
{
    QFETCH(QString, pattern);
    QFETCH(QString, path);
    QFETCH(bool, match);
    QCOMPARE(StaticFileHandler::globMatch(pattern, path), match);
}

void tst_StaticFileHandler::headAndMethods()
{
    startServer();
    RawHttpClient client(m_server->serverPort());
    client.send("HEAD /digits.txt HTTP/1.1\r\nHost: t\r\n\r\n" + get("/hello.txt"));
    const auto head = client.read(true);
    QVERIFY(head);
    QCOMPARE(head->status, 200);
    QCOMPARE(head->headers.value("Content-Length"), "10");
    const auto next = client.read();
    QVERIFY(next);
    QCOMPARE(next->body, "hello, world\n");

    const auto post = fetch(m_server->serverPort(),
                            "POST /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    QVERIFY(post);
    QCOMPARE(post->status, 405);
    QCOMPARE(post->headers.value("Allow"), "GET, HEAD");
}

void tst_StaticFileHandler::largeFileIsStreamed()
{
    QByteArray big;
    big.reserve(3 * 1024 * 1024);
    for (int i = 0; big.size() < 3 * 1024 * 1024; ++i)
        big += QByteArray::number(i) + ',';
    writeFile(m_root + u"/big.bin"_s, big);
    StaticFileOptions options;
    options.maxHashedFileBytes = 1024 * 1024; // exercise the size+mtime tag too
    startServer(options);
    RawHttpClient client(m_server->serverPort());
    client.send(get("/big.bin") + get("/big.bin", "Range: bytes=1000000-1000009\r\n"));
    const auto r = client.read(false, 30000);
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(r->body.size(), big.size());
    QVERIFY(r->body == big);
    QVERIFY(r->headers.value("ETag").contains('-'));
    const auto part = client.read();
    QVERIFY(part);
    QCOMPARE(part->status, 206);
    QCOMPARE(part->body, big.mid(1000000, 10));
}

void tst_StaticFileHandler::urlPrefix()
{
    StaticFileOptions options;
    options.urlPrefix = u"/static"_s;
    StaticFileHandler files(m_root, options);
    HttpRouter router;
    router.route("GET", u"/static/{*path}", files.handler());
    router.route("GET", u"/api/ping", [](const HttpRequest &) { return HttpResponse(204); });
    m_server = std::make_unique<HttpServer>();
    m_server->setHandler(router.handler());
    QVERIFY(m_server->listen(QHostAddress::LocalHost, 0));
    auto r = fetchPath("/static/hello.txt");
    QVERIFY(r);
    QCOMPARE(r->body, "hello, world\n");
    r = fetchPath("/static/");
    QCOMPARE(r->body, "<h1>home</h1>");
    r = fetchPath("/api/ping");
    QCOMPARE(r->status, 204);
}

void tst_StaticFileHandler::invalidRoot()
{
    StaticFileHandler files(m_dir->filePath(u"missing"_s));
    QVERIFY(!files.isValid());
    QVERIFY(files.errorString().contains(u"missing"_s));
}

QTEST_GUILESS_MAIN(tst_StaticFileHandler)
#include "tst_staticfilehandler.moc"
