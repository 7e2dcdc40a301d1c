// meridian-bench-edge: the Meridian edge data plane on its own, for bench/edge/run.sh. Runs an
// EdgeServer in front of fixed regions given on the command line, without a cluster.
#include "core/edge/edgeconfig.h"
#include "core/edge/edgerouter.h"
#include "core/edge/edgeserver.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QUrl>

#include <csignal>
#include <cstdio>

using namespace Qt::StringLiterals;

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(u"Runs the Meridian edge gateway in front of fixed regions."_s);
    parser.addHelpOption();
    const QCommandLineOption listenOption(u"listen"_s,
                                          u"ADDRESS:PORT to listen on."_s,
                                          u"ADDR"_s,
                                          u"127.0.0.1:8080"_s);
    const QCommandLineOption workersOption(u"workers"_s, u"Worker threads."_s, u"N"_s, u"1"_s);
    const QCommandLineOption regionOption(u"region"_s, u"A region: ID=URL (repeat)."_s, u"ID=URL"_s);
    const QCommandLineOption noCacheOption(u"no-cache"_s, u"Disable the edge cache."_s);
    const QCommandLineOption accessLogOption(u"access-log"_s,
                                             u"Write the access log to FILE."_s,
                                             u"FILE"_s);
    const QCommandLineOption tlsCertOption(u"tls-cert"_s,
                                           u"Serve HTTPS too, with this certificate (PEM)."_s,
                                           u"FILE"_s);
    const QCommandLineOption tlsKeyOption(u"tls-key"_s,
                                          u"The certificate's key (PEM)."_s,
                                          u"FILE"_s);
    const QCommandLineOption tlsListenOption(u"tls-listen"_s,
                                             u"ADDRESS:PORT for HTTPS (with --tls-cert)."_s,
                                             u"ADDR"_s,
                                             u"127.0.0.1:8443"_s);
    const QCommandLineOption upstreamCaOption(u"upstream-ca"_s,
                                              u"CA certificates trusted for https:// regions."_s,
                                              u"FILE"_s);
    const QCommandLineOption
            busyPollOption(u"busy-poll-us"_s,
                           u"Longest poll before a worker sleeps (edge.busy_poll_us; 0: none)."_s,
                           u"US"_s,
                           u"50"_s);
    parser.addOptions({upstreamCaOption,
                       busyPollOption,
                       listenOption,
                       workersOption,
                       regionOption,
                       noCacheOption,
                       accessLogOption,
                       tlsCertOption,
                       tlsKeyOption,
                       tlsListenOption});
    parser.process(app);

    QJsonObject edge{{u"listen"_s, parser.value(listenOption)},
                     {u"workers"_s, parser.value(workersOption).toInt()},
                     {u"busy_poll_us"_s, parser.value(busyPollOption).toInt()}};
    if (parser.isSet(tlsCertOption) || parser.isSet(tlsKeyOption))
        edge.insert(u"tls"_s,
                    QJsonObject{{u"cert_file"_s, parser.value(tlsCertOption)},
                                {u"key_file"_s, parser.value(tlsKeyOption)},
                                {u"listen"_s, parser.value(tlsListenOption)}});
    QString error;
    auto config = Meridian::EdgeConfig::fromJson(edge, &error);
    if (!config) {
        std::fprintf(stderr, "meridian-bench-edge: %s\n", qPrintable(error));
        return 2;
    }
    config->cacheEnabled = !parser.isSet(noCacheOption);
    config->accessLog = parser.value(accessLogOption);
    config->upstreamCaFile = parser.value(upstreamCaOption);
    QList<Meridian::EdgeRouter::Region> regions;
    for (const QString &r : parser.values(regionOption)) {
        const qsizetype eq = r.indexOf(u'=');
        const QUrl url(r.mid(eq + 1));
        if (eq <= 0 || !url.isValid() || url.host().isEmpty()) {
            std::fprintf(stderr,
                         "meridian-bench-edge: --region %s: expected ID=http[s]://HOST:PORT\n",
                         qPrintable(r));
            return 2;
        }
        regions.append({r.left(eq), {url}});
    }
    if (regions.isEmpty()) {
        std::fprintf(stderr, "meridian-bench-edge: give at least one --region ID=URL\n");
        return 2;
    }
    auto router = std::make_shared<Meridian::EdgeRouter>(*config, regions);
    Meridian::EdgeServer gateway(*config, router);
    if (!gateway.start(&error)) {
        std::fprintf(stderr, "meridian-bench-edge: %s\n", qPrintable(error));
        return 1;
    }
    std::signal(SIGTERM, [](int) { QCoreApplication::quit(); });
    std::signal(SIGINT, [](int) { QCoreApplication::quit(); });
    const int rc = app.exec();
    gateway.stop(1000);
    return rc;
}
