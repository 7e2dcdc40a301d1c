#include "core/node/node.h"
#include "core/node/nodeconfig.h"
#include "core/node/unixsignalnotifier.h"
#include "core/util/allocator.h"
#include "core/version.h"

#include <QCommandLineParser>
#include <QCoreApplication>

#include <QLoggingCategory>

#include <cstdio>

using namespace Qt::StringLiterals;

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
