#include "core/version.h"

#include <QCommandLineParser>
#include <QCoreApplication>

#include <cstdio>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("meridianctl"));
    QCoreApplication::setApplicationVersion(Meridian::versionString());

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Meridian command line."));
    parser.addHelpOption();
    const QCommandLineOption versionOption({QStringLiteral("V"), QStringLiteral("version")},
                                           QStringLiteral("Print the version and exit."));
    parser.addOption(versionOption);
    parser.addPositionalArgument(QStringLiteral("command"), QStringLiteral("The command to run."));
    parser.process(app);

    if (parser.isSet(versionOption)) {
        std::fputs(qPrintable(Meridian::versionBanner(QStringLiteral("meridianctl")) + u'\n'),
                   stdout);
        return 0;
    }
    std::fputs("meridianctl: no commands are built yet\n", stderr);
    return 1;
}
