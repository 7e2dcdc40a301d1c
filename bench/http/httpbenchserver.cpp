// A minimal HttpServer for load tests with wrk (see bench/http/run-wrk.sh): answers
// GET /small with a 13-byte body and GET /json with a small JSON object, keep-alive.
// Usage: meridian-http-bench-server [WORKER_THREADS]; prints "port N" once listening.
#include "core/http/httprouter.h"
#include "core/http/httpserver.h"

#include <QCoreApplication>
#include <QJsonObject>

#include <cstdio>

using namespace Meridian;
using namespace Qt::StringLiterals;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    HttpServerConfig config;
    config.workerThreads = argc > 1 ? std::atoi(argv[1]) : 0;
    HttpRouter router;
    router.route("GET", u"/small", [](const HttpRequest &) {
        return HttpResponse::text(200, "hello, world\n");
    });
    router.route("GET", u"/json", [](const HttpRequest &) {
        return HttpResponse::json(200, QJsonObject{{u"region"_s, u"eu-west"_s}, {u"ok"_s, true}});
    });
    HttpServer server(config);
    server.setHandler(router.handler());
    if (!server.listen(QHostAddress::LocalHost, 0)) {
        std::fprintf(stderr, "%s\n", qPrintable(server.errorString()));
        return 1;
    }
    std::printf("port %u\n", unsigned(server.serverPort()));
    std::fflush(stdout);
    return app.exec();
}
