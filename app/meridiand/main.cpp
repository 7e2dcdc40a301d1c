#include "core/version.h"

#include <QCommandLineParser>
#include <QCoreApplication>

#include <cstdio>

int main(int argc, char *argv[])
{
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
    std::fputs("meridiand: the node runtime is not built yet\n", stderr);
    return 1;
}
