#include "core/edge/clientlocator.h"
#include "core/edge/edgeconfig.h"
#include "core/http/accesslog.h"
#include "core/http/staticfilehandler.h"
#include "core/node/node.h"
#include "core/node/nodeconfig.h"
#include "core/node/unixsignalnotifier.h"
#include "core/util/allocator.h"
#include "core/version.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>

#include <QLoggingCategory>

#include <algorithm>
#include <cstdio>

#include <sys/resource.h>

using namespace Qt::StringLiterals;

namespace {

// Every client, region and peer connection is a descriptor, and services start with a soft
// limit of 1,024 (systemd's default) while the edge accepts 10,000 clients per worker. Take
// what the hard limit allows, as nginx's worker_rlimit_nofile would be set to.
void raiseOpenFilesLimit()
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return;
    // An unlimited hard limit still stops at the kernel's nr_open (1,048,576 by default).
    const rlim_t target = std::min<rlim_t>(limit.rlim_max, rlim_t(1) << 20);
    if (limit.rlim_cur >= target)
        return;
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0)
        qInfo("open-files limit raised from %llu to %llu",
              static_cast<unsigned long long>(before),
              static_cast<unsigned long long>(limit.rlim_cur));
}

// What --check verifies beyond the file itself: the files it names, as the node would open them
// at start (the static site's root, the MaxMind database, the access logs, which are created as
// `nginx -t` does). Empty when they are usable.
QString checkNamedFiles(const Meridian::NodeConfig &config)
{
    if (config.roleRegion && !config.staticRoot.isEmpty()) {
        const Meridian::StaticFileHandler site(config.staticRoot, {});
        if (!site.isValid())
            return u"static.root: "_s + site.errorString();
    }
    QString error;
    if (!config.dataAccessLog.isEmpty()) {
        if (Meridian::AccessLog log; !log.open(config.dataAccessLog, &error))
            return u"http.access_log: "_s + error;
    }
    if (config.roleEdge) {
        const auto edge = Meridian::EdgeConfig::fromJson(config.edgeSection, &error);
        if (edge && !Meridian::ClientLocator::create(*edge, &error))
            return error;
        if (Meridian::AccessLog log;
            edge && !edge->accessLog.isEmpty() && !log.open(edge->accessLog, &error))
            return u"edge.access_log: "_s + error;
    }
    return {};
}

// What --check tells about the certificates the node presents.
QString describeCertificates(const Meridian::NodeConfig &config)
{
    QString out;
    for (const auto &[field, port, tls] : config.presentedTls()) {
        const QDateTime expiry = tls->certificateExpiry();
        if (!expiry.isValid())
            continue;
        out += u"  %1: %2 expires %3 (in %4 days)\n"_s
                       .arg(QLatin1StringView(field),
                            tls->certificateFile,
                            expiry.toString(Qt::ISODate),
                            QString::number(QDateTime::currentDateTimeUtc().daysTo(expiry)));
    }
    return out;
}

} // namespace

int main(int argc, char *argv[])
{
    Meridian::tuneAllocatorForLargeBuffers();
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("meridiand"));
    QCoreApplication::setApplicationVersion(Meridian::versionString());

    QCommandLineParser parser;
    parser.setApplicationDescription(
            QStringLiteral("Meridian node daemon: a region node, an edge gateway, or both."));
    parser.addHelpOption();
    const QCommandLineOption versionOption({QStringLiteral("V"), QStringLiteral("version")},
                                           QStringLiteral("Print the version and exit."));
    parser.addOption(versionOption);
    const QCommandLineOption configOption({QStringLiteral("c"), QStringLiteral("config")},
                                          QStringLiteral("Node configuration file (JSON)."),
                                          QStringLiteral("FILE"));
    parser.addOption(configOption);
    const QCommandLineOption checkOption(
            {QStringLiteral("t"), QStringLiteral("check")},
            QStringLiteral("Check the configuration file and exit (0: valid, 2: invalid, with the "
                           "reason), starting nothing: before a restart, as with nginx -t."));
    parser.addOption(checkOption);
    parser.process(app);

    if (parser.isSet(versionOption)) {
        std::fputs(qPrintable(Meridian::versionBanner(QStringLiteral("meridiand")) + u'\n'), stdout);
        return 0;
    }
    if (!parser.isSet(configOption)) {
        std::fputs("meridiand: missing --config FILE (see meridiand --help)\n", stderr);
        return 2;
    }

    // One line per event on stderr, no colour. Under systemd (JOURNAL_STREAM set) each line
    // starts with a syslog priority (<6>) that journald turns into the entry's level and the
    // journal adds the time; elsewhere the line carries its own UTC time stamp.
    if (qEnvironmentVariableIsSet("JOURNAL_STREAM")) {
        qSetMessagePattern(QStringLiteral(
                "%{if-debug}<7>%{endif}%{if-info}<6>%{endif}%{if-warning}<4>%{endif}"
                "%{if-critical}<2>%{endif}%{if-fatal}<0>%{endif}%{category}: %{message}"));
    } else {
        qSetMessagePattern(QStringLiteral(
                "%{time yyyy-MM-ddTHH:mm:ss.zzz} %{if-debug}debug%{endif}%{if-info}info%{endif}"
                "%{if-warning}warning%{endif}%{if-critical}critical%{endif}%{if-fatal}fatal%{endif}"
                " %{category}: %{message}"));
    }
    if (!qEnvironmentVariableIsSet("QT_LOGGING_RULES"))
        QLoggingCategory::setFilterRules(
                QStringLiteral("meridian.*.debug=false\nmeridian.*.info=true"));

    const auto loaded = Meridian::NodeConfigLoader::load(parser.value(configOption));
    if (const auto *error = std::get_if<Meridian::ConfigError>(&loaded)) {
        std::fputs(qPrintable(u"meridiand: invalid configuration: "_s + error->toString() + u'\n'),
                   stderr);
        return 2;
    }
    if (parser.isSet(checkOption)) {
        const auto &config = std::get<Meridian::NodeConfig>(loaded);
        if (const QString problem = checkNamedFiles(config); !problem.isEmpty()) {
            std::fputs(qPrintable(u"meridiand: invalid configuration: %1: %2\n"_s
                                          .arg(parser.value(configOption), problem)),
                       stderr);
            return 2;
        }
        std::fputs(qPrintable(u"meridiand: %1 is valid: node %2, role %3\n%4"_s
                                      .arg(parser.value(configOption),
                                           config.nodeId,
                                           config.roleName(),
                                           describeCertificates(config))),
                   stdout);
        return 0;
    }

    raiseOpenFilesLimit();
    Meridian::UnixSignalNotifier signalNotifier;
    Meridian::Node node(std::get<Meridian::NodeConfig>(loaded));
    QObject::connect(&signalNotifier,
                     &Meridian::UnixSignalNotifier::terminateRequested,
                     &node,
                     [&node](int signal) {
                         qInfo("received signal %d", signal);
                         node.shutdown();
                     });
    QObject::connect(&signalNotifier,
                     &Meridian::UnixSignalNotifier::hangup,
                     &node,
                     &Meridian::Node::reopenLogs);
    QObject::connect(&node, &Meridian::Node::stopped, &app, [] { QCoreApplication::exit(0); });
    if (const QString error = node.start(); !error.isEmpty()) {
        std::fputs(qPrintable(u"meridiand: "_s + error + u'\n'), stderr);
        return 1;
    }
    return app.exec();
}
