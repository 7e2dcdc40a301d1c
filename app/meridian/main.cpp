#include "core/version.h"
#include "ui/mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <cstdio>

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("meridian"));
    QApplication::setOrganizationName(QStringLiteral("Meridian"));
    QApplication::setApplicationVersion(Meridian::versionString());

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Meridian control room."));
    parser.addHelpOption();
    const QCommandLineOption versionOption({QStringLiteral("V"), QStringLiteral("version")},
                                           QStringLiteral("Print the version and exit."));
    const QCommandLineOption
            screenshotOption(QStringLiteral("screenshot"),
                             QStringLiteral("Render the main window to a PNG file and exit."),
                             QStringLiteral("FILE"));
    const QCommandLineOption
            afterOption(QStringLiteral("after"),
                        QStringLiteral(
                                "With --screenshot: wait this many seconds first (default 2)."),
                        QStringLiteral("SECONDS"),
                        QStringLiteral("2"));
    parser.addOptions({versionOption, screenshotOption, afterOption});
    parser.process(app);

    if (parser.isSet(versionOption)) {
        std::fputs(qPrintable(Meridian::versionBanner(QStringLiteral("meridian")) + u'\n'), stdout);
        return 0;
    }

    Meridian::MainWindow window;
    window.show();

    if (parser.isSet(screenshotOption)) {
        bool ok = false;
        const double after = parser.value(afterOption).toDouble(&ok);
        if (!ok || after < 0) {
            std::fputs("meridian: --after needs a non-negative number of seconds\n", stderr);
            return 2;
        }
        const QString file = parser.value(screenshotOption);
        QTimer::singleShot(int(after * 1000), &app, [&window, file] {
            const bool saved = window.grab().save(file, "PNG");
            if (!saved)
                std::fprintf(stderr, "meridian: could not write %s\n", qPrintable(file));
            QApplication::exit(saved ? 0 : 1);
        });
    }
    return app.exec();
}
