// Every executable answers --help and --version properly (exit 0, the right name and version),
// also where there is no display (a script, an ssh session): the control room included.
#include "core/version.h"

#include <QProcess>
#include <QTest>

using namespace Qt::StringLiterals;

class tst_Cli final : public QObject
{
    Q_OBJECT

private slots:
    void helpAndVersion_data();
    void helpAndVersion();
};

void tst_Cli::helpAndVersion_data()
{
    QTest::addColumn<QString>("program");
    QStringList programs = {u"meridiand"_s, u"meridianctl"_s};
#ifdef MERIDIAN_HAVE_GUI
    programs << u"meridian"_s;
#endif
    for (const QString &program : programs)
        QTest::addRow("%s", qPrintable(program)) << program;
}

void tst_Cli::helpAndVersion()
{
    QFETCH(QString, program);
    const QString path = QStringLiteral(MERIDIAN_BIN_DIR) + program;
    QProcessEnvironment noDisplay = QProcessEnvironment::systemEnvironment();
    for (const QString &name : {u"DISPLAY"_s, u"WAYLAND_DISPLAY"_s, u"QT_QPA_PLATFORM"_s})
        noDisplay.remove(name);

    QProcess version;
    version.setProcessEnvironment(noDisplay);
    version.start(path, {u"--version"_s});
    QVERIFY2(version.waitForFinished(30000), qPrintable(version.errorString()));
    QCOMPARE(version.exitStatus(), QProcess::NormalExit);
    QCOMPARE(version.exitCode(), 0);
    const QString versionOut = QString::fromUtf8(version.readAllStandardOutput());
    QVERIFY2(versionOut.startsWith(program + u' ' + Meridian::versionString()),
             qPrintable(versionOut));

    QProcess help;
    help.setProcessEnvironment(noDisplay);
    help.start(path, {u"--help"_s});
    QVERIFY2(help.waitForFinished(30000), qPrintable(help.errorString()));
    QCOMPARE(help.exitCode(), 0);
    const QString helpOut = QString::fromUtf8(help.readAllStandardOutput());
    QVERIFY2(helpOut.contains(u"Usage: "_s), qPrintable(helpOut));
    QVERIFY2(helpOut.contains(u"--version"_s), qPrintable(helpOut));
}

QTEST_GUILESS_MAIN(tst_Cli)
#include "tst_cli.moc"
