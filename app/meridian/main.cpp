#include "core/node/unixsignalnotifier.h"
#include "core/util/tlsfiles.h"
#include "core/version.h"
#include "ui/democluster.h"
#include "ui/mainwindow.h"
#include "ui/profilestore.h"
#include "ui/theme.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QSslConfiguration>
#include <QTimer>

#include <cstdio>
#include <memory>
#include <string_view>

namespace {

QStringList splitEndpoints(const QStringList &values)
{
    QStringList endpoints;
    for (const QString &value : values) {
        for (const QString &part : value.split(u',', Qt::SkipEmptyParts))
            endpoints.append(part.trimmed());
    }
    return endpoints;
}

// --help and --version answer without a display (scripts, ssh sessions): they are handled with
// a QCoreApplication, before QApplication needs a platform plugin.
bool onlyAsksForInformation(int argc, char *argv[])
{
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg(argv[i]);
        if (arg == "-h" || arg == "-?" || arg == "--help" || arg == "--help-all" || arg == "-V"
            || arg == "--version")
            return true;
    }
    return false;
}

template<typename Application>
void describeApplication()
{
    Application::setApplicationName(QStringLiteral("meridian"));
    Application::setOrganizationName(QStringLiteral("Meridian"));
    Application::setApplicationVersion(Meridian::versionString());
}

} // namespace

int main(int argc, char *argv[])
{
    std::unique_ptr<QCoreApplication> application;
    if (onlyAsksForInformation(argc, argv)) {
        application = std::make_unique<QCoreApplication>(argc, argv);
        describeApplication<QCoreApplication>();
    } else {
        application = std::make_unique<QApplication>(argc, argv);
        describeApplication<QApplication>();
    }

    QCommandLineParser parser;
    parser.setApplicationDescription(
            QStringLiteral("Meridian control room. With no saved cluster profile (or with "
                           "--demo) it starts a local demo cluster and connects to it."));
    parser.addHelpOption();
    const QCommandLineOption versionOption({QStringLiteral("V"), QStringLiteral("version")},
                                           QStringLiteral("Print the version and exit."));
    const QCommandLineOption demoOption(QStringLiteral("demo"),
                                        QStringLiteral("Start a local demo cluster (5 regions, 1 "
                                                       "edge, simulated WAN) and show it."));
    const QCommandLineOption
            endpointOption(QStringLiteral("endpoint"),
                           QStringLiteral("Control API of a node of the cluster to show; repeat "
                                          "or separate with commas for failover (env "
                                          "MERIDIAN_ENDPOINT)."),
                           QStringLiteral("URL"));
    const QCommandLineOption tokenOption(QStringLiteral("token"),
                                         QStringLiteral("API token for --endpoint (env "
                                                        "MERIDIAN_TOKEN)."),
                                         QStringLiteral("TOKEN"));
    const QCommandLineOption caOption(QStringLiteral("cacert"),
                                      QStringLiteral("Trust the CA certificates in FILE (PEM) for "
                                                     "https:// endpoints, besides the system's "
                                                     "(env MERIDIAN_CACERT)."),
                                      QStringLiteral("FILE"));
    const QCommandLineOption themeOption(QStringLiteral("theme"),
                                         QStringLiteral("system (default), light or dark."),
                                         QStringLiteral("THEME"),
                                         QStringLiteral("system"));
    const QCommandLineOption
            screenshotOption(QStringLiteral("screenshot"),
                             QStringLiteral("Render the main window to a PNG file and exit."),
                             QStringLiteral("FILE"));
    const QCommandLineOption
            afterOption(QStringLiteral("after"),
                        QStringLiteral("With --screenshot: wait this many seconds first (default "
                                       "2), and then until the cluster's data has arrived."),
                        QStringLiteral("SECONDS"),
                        QStringLiteral("2"));
    const QCommandLineOption panelOption(
            QStringLiteral("panel"),
            QStringLiteral("With --screenshot: the bottom panel to show (regions, replication, "
                           "events, strategy or cache; default regions)."),
            QStringLiteral("PANEL"),
            QStringLiteral("regions"));
    parser.addOptions({versionOption,
                       demoOption,
                       endpointOption,
                       tokenOption,
                       caOption,
                       themeOption,
                       screenshotOption,
                       afterOption,
                       panelOption});
    parser.process(*application);

    if (parser.isSet(versionOption)) {
        std::fputs(qPrintable(Meridian::versionBanner(QStringLiteral("meridian")) + u'\n'), stdout);
        return 0;
    }
    if (!qobject_cast<QApplication *>(application.get())) {
        // The "-V" or "-h" seen above was an option's value: this run needs the GUI after all.
        application.reset();
        application = std::make_unique<QApplication>(argc, argv);
        describeApplication<QApplication>();
    }
    QCoreApplication &app = *application;
    if (!QStringList{QStringLiteral("regions"),
                     QStringLiteral("replication"),
                     QStringLiteral("events"),
                     QStringLiteral("strategy"),
                     QStringLiteral("cache")}
                 .contains(parser.value(panelOption))) {
        std::fputs("meridian: --panel is one of regions, replication, events, strategy, cache\n",
                   stderr);
        return 2;
    }
    double after = 0;
    if (parser.isSet(screenshotOption)) {
        bool ok = false;
        after = parser.value(afterOption).toDouble(&ok);
        if (!ok || after < 0) {
            std::fputs("meridian: --after needs a non-negative number of seconds\n", stderr);
            return 2;
        }
    }
    bool themeOk = false;
    const auto themeMode = Meridian::Theme::modeFromString(parser.value(themeOption), &themeOk);
    if (!themeOk) {
        std::fputs("meridian: --theme must be system, light or dark\n", stderr);
        return 2;
    }

    QStringList endpoints = splitEndpoints(parser.values(endpointOption));
    if (endpoints.isEmpty())
        endpoints = splitEndpoints({qEnvironmentVariable("MERIDIAN_ENDPOINT")});
    const QString token = parser.isSet(tokenOption) ? parser.value(tokenOption)
                                                    : qEnvironmentVariable("MERIDIAN_TOKEN");
    if (const QString ca = parser.isSet(caOption) ? parser.value(caOption)
                                                  : qEnvironmentVariable("MERIDIAN_CACERT");
        !ca.isEmpty()) {
        // Every control client made from here on starts from the default configuration.
        QString problem;
        const QList<QSslCertificate> certificates = Meridian::TlsFiles::readCertificates(ca,
                                                                                         &problem);
        if (!problem.isEmpty()) {
            std::fprintf(stderr, "meridian: %s %s\n", qPrintable(ca), qPrintable(problem));
            return 2;
        }
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.addCaCertificates(certificates);
        QSslConfiguration::setDefaultConfiguration(tls);
    }
    Meridian::ProfileStore profiles;
    const bool demoMode = parser.isSet(demoOption)
                          || (endpoints.isEmpty() && profiles.profiles().isEmpty());

    Meridian::Theme theme;
    theme.setMode(themeMode);

    // SIGINT/SIGTERM end the event loop, so the demo cluster is taken down below.
    Meridian::UnixSignalNotifier signalNotifier;
    QObject::connect(&signalNotifier,
                     &Meridian::UnixSignalNotifier::terminateRequested,
                     &app,
                     [](int signal) { QApplication::exit(128 + signal); });

    std::unique_ptr<Meridian::DemoCluster> demo;
    auto window = std::make_unique<Meridian::MainWindow>();
    window->setTheme(&theme);
    window->setProfileStore(&profiles);
    if (demoMode) {
        demo = std::make_unique<Meridian::DemoCluster>();
        window->setDemo(demo.get());
        QObject::connect(demo.get(),
                         &Meridian::DemoCluster::ready,
                         window.get(),
                         [&window](const QStringList &controlEndpoints, const QString &adminToken) {
                             window->connectToCluster(controlEndpoints,
                                                      adminToken,
                                                      QObject::tr("Demo cluster"));
                         });
        QObject::connect(demo.get(), &Meridian::DemoCluster::failed, [](const QString &error) {
            std::fprintf(stderr,
                         "meridian: the demo cluster did not start: %s\n",
                         qPrintable(error));
        });
        demo->start();
    } else if (!endpoints.isEmpty()) {
        QString error;
        if (!window->connectToCluster(endpoints, token, endpoints.first(), &error)) {
            std::fprintf(stderr, "meridian: %s\n", qPrintable(error));
            return 2;
        }
    } else {
        // The profile used last (or the first saved one); its token comes from the keychain.
        const QString last = profiles.lastUsed();
        window->connectToProfile(last.isEmpty() ? profiles.names().value(0) : last);
    }
    window->show();
    window->showPanel(parser.value(panelOption));

    if (parser.isSet(screenshotOption)) {
        const QString file = parser.value(screenshotOption);
        auto *clock = new QElapsedTimer;
        clock->start();
        auto *poll = new QTimer(&app);
        poll->setInterval(200);
        QObject::connect(poll, &QTimer::timeout, &app, [&window, file, after, clock, poll] {
            // Wait `after` seconds, then until the data is there (at most 90 s more).
            const double elapsed = clock->elapsed() / 1000.0;
            if (elapsed < after)
                return;
            const bool haveData = window->hasClusterData();
            if (!haveData && elapsed < after + 90)
                return;
            poll->stop();
            delete clock;
            window->repaint();
            const bool saved = window->grab().save(file, "PNG");
            if (!saved)
                std::fprintf(stderr, "meridian: could not write %s\n", qPrintable(file));
            if (!haveData)
                std::fputs("meridian: no cluster data arrived; the screenshot shows why\n", stderr);
            QApplication::exit(saved && haveData ? 0 : 1);
        });
        poll->start();
    }
    const int code = app.exec();
    window.reset();
    if (demo)
        demo->shutdown();
    return code;
}
