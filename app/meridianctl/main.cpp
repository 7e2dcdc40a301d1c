// meridianctl: the command line for every control action (docs/meridianctl.md).
#include "cliparser.h"
#include "ctlrunner.h"
#include "textoutput.h"

#include "core/node/unixsignalnotifier.h"
#include "core/version.h"

#include <QCoreApplication>
#include <QLoggingCategory>
#include <QTimer>

using namespace Qt::StringLiterals;
using namespace Meridian::Ctl;

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    // The command prints its own messages; library chatter only when QT_LOGGING_RULES asks.
    QLoggingCategory::setFilterRules(u"meridian.*.debug=false\nmeridian.*.info=false"_s);
    QCoreApplication::setApplicationName(u"meridianctl"_s);
    QCoreApplication::setApplicationVersion(Meridian::versionString());

    const CliParser parser;
    Invocation invocation;
    if (const auto error = parser.parse(app.arguments().mid(1), &invocation)) {
        QString hint = error->command.isEmpty() ? u"meridianctl --help"_s
                                                : u"meridianctl %1 --help"_s.arg(error->command);
        writeErr(u"meridianctl: %1\nSee `%2`.\n"_s.arg(clean(error->message), hint));
        return ExitUsage;
    }
    if (invocation.version && !invocation.help) {
        writeOut(Meridian::versionBanner(u"meridianctl"_s) + u'\n');
        return ExitOk;
    }
    if (invocation.help) {
        if (invocation.command)
            writeOut(parser.commandHelp(*invocation.command));
        else if (!invocation.group.isEmpty())
            writeOut(parser.groupHelp(invocation.group));
        else
            writeOut(parser.mainHelp());
        return ExitOk;
    }

    CtlRunner runner(invocation);
    Meridian::UnixSignalNotifier unixSignals;
    QObject::connect(&unixSignals,
                     &Meridian::UnixSignalNotifier::terminateRequested,
                     &runner,
                     &CtlRunner::interrupt);
    QObject::connect(&runner, &CtlRunner::finished, &app, [](int code) {
        QCoreApplication::exit(code);
    });
    QTimer::singleShot(0, &runner, &CtlRunner::start);
    return app.exec();
}
