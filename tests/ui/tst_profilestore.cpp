// ProfileStore: profiles round-trip through QSettings, and the token never reaches the settings
// file, whether the keychain is off, missing (session only) or present.
#include "ui/profilestore.h"

#include <QFile>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Meridian;

namespace {

const QString kToken = u"s3cret-Token-0123456789abcdef"_s;

QByteArray fileBytes(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

} // namespace

class tst_ProfileStore final : public QObject
{
    Q_OBJECT

private slots:
    void roundTripWithoutToken();
    void sessionOnlyToken();
    void validation();
    void renameAndRemove();
    void keychainOrSessionNeverSettings();
};

void tst_ProfileStore::roundTripWithoutToken()
{
    QTemporaryDir dir;
    const QString ini = dir.filePath(u"meridian.ini"_s);
    {
        ProfileStore store(new QSettings(ini, QSettings::IniFormat));
        store.setKeychainEnabled(false);
        QVERIFY(store.saveProfile({u"prod"_s,
                                   {u"https://eu-west.example.net:9443"_s, u"127.0.0.1:42001"_s},
                                   kToken,
                                   u" /etc/meridian/ca.pem "_s})
                        .isEmpty());
        QVERIFY(store.saveProfile({u"demo"_s, {u"127.0.0.1:42002"_s}, u"other-token"_s, {}})
                        .isEmpty());
        store.setLastUsed(u"demo"_s);
        QCOMPARE(store.token(u"prod"_s), kToken);
        QCOMPARE(store.profile(u"prod"_s)->token, kToken);
    }
    const QByteArray written = fileBytes(ini);
    QVERIFY2(written.contains("eu-west.example.net"), written.constData());
    QVERIFY2(!written.contains(kToken.toUtf8()), written.constData());
    QVERIFY(!written.contains("other-token"));

    ProfileStore again(new QSettings(ini, QSettings::IniFormat));
    again.setKeychainEnabled(false);
    QCOMPARE(again.names(), (QStringList{u"prod"_s, u"demo"_s}));
    QCOMPARE(again.profile(u"prod"_s)->endpoints,
             (QStringList{u"https://eu-west.example.net:9443"_s, u"127.0.0.1:42001"_s}));
    QCOMPARE(again.lastUsed(), u"demo"_s);
    QCOMPARE(again.profile(u"prod"_s)->caFile, u"/etc/meridian/ca.pem"_s);
    QCOMPARE(again.profile(u"demo"_s)->caFile, QString());
    // A new session without a keychain does not know the token.
    QCOMPARE(again.profile(u"prod"_s)->token, QString());
}

void tst_ProfileStore::sessionOnlyToken()
{
    QTemporaryDir dir;
    ProfileStore store(new QSettings(dir.filePath(u"m.ini"_s), QSettings::IniFormat));
    store.setKeychainEnabled(false);
    QVERIFY(!store.keychainAvailable());
    QVERIFY(store.tokenStorageNote().contains(u"this session only"_s));
    QSignalSpy stored(&store, &ProfileStore::tokenStored);
    QVERIFY(store.saveProfile({u"prod"_s, {u"127.0.0.1:1"_s}, kToken, {}}).isEmpty());
    QCOMPARE(stored.size(), 1);
    QCOMPARE(stored.first().at(1).toBool(), false);
    QVERIFY(stored.first().at(2).toString().contains(u"session only"_s));

    QString loaded = u"unset"_s;
    store.loadToken(u"prod"_s, this, [&loaded](const QString &token) { loaded = token; });
    QTRY_COMPARE(loaded, kToken);
}

void tst_ProfileStore::validation()
{
    QTemporaryDir dir;
    ProfileStore store(new QSettings(dir.filePath(u"m.ini"_s), QSettings::IniFormat));
    store.setKeychainEnabled(false);
    QVERIFY(!store.saveProfile({u"  "_s, {u"127.0.0.1:1"_s}, {}, {}}).isEmpty());
    QVERIFY(!store.saveProfile({u"x"_s, {u" "_s, {}}, {}, {}}).isEmpty());
    QVERIFY(store.names().isEmpty());
    // Blank endpoint lines are dropped, names trimmed.
    QVERIFY(store.saveProfile({u" x "_s, {u""_s, u" 127.0.0.1:1 "_s}, {}, {}}).isEmpty());
    QCOMPARE(store.profile(u"x"_s)->endpoints, QStringList{u"127.0.0.1:1"_s});
}

void tst_ProfileStore::renameAndRemove()
{
    QTemporaryDir dir;
    ProfileStore store(new QSettings(dir.filePath(u"m.ini"_s), QSettings::IniFormat));
    store.setKeychainEnabled(false);
    QSignalSpy changed(&store, &ProfileStore::profilesChanged);
    QVERIFY(store.saveProfile({u"a"_s, {u"127.0.0.1:1"_s}, kToken, {}}).isEmpty());
    QVERIFY(store.saveProfile({u"b"_s, {u"127.0.0.1:2"_s}, {}, {}}).isEmpty());
    QVERIFY(!store.renameProfile(u"a"_s, u"b"_s).isEmpty()); // taken
    QVERIFY(store.renameProfile(u"a"_s, u"c"_s).isEmpty());
    QCOMPARE(store.names(), (QStringList{u"c"_s, u"b"_s}));
    QCOMPARE(store.token(u"c"_s), kToken);
    QCOMPARE(store.token(u"a"_s), QString());
    store.removeProfile(u"c"_s);
    QCOMPARE(store.names(), QStringList{u"b"_s});
    QCOMPARE(store.token(u"c"_s), QString());
    QVERIFY(changed.size() >= 4);
}

void tst_ProfileStore::keychainOrSessionNeverSettings()
{
    // The real keychain path: with a keychain service the token goes there, without one (CI,
    // offscreen) it is kept for the session. Either way the settings file never has it.
    QTemporaryDir dir;
    const QString ini = dir.filePath(u"m.ini"_s);
    const QString name = u"tst_profilestore-%1"_s.arg(QCoreApplication::applicationPid());
    ProfileStore store(new QSettings(ini, QSettings::IniFormat));
    QVERIFY(store.keychainEnabled());
    QSignalSpy stored(&store, &ProfileStore::tokenStored);
    QVERIFY(store.saveProfile({name, {u"127.0.0.1:1"_s}, kToken, {}}).isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(stored.size(), 1, 60000);
    const bool inKeychain = stored.first().at(1).toBool();
    qInfo("token stored %s", inKeychain ? "in the keychain" : "for the session only");
    QCOMPARE(store.keychainAvailable(), inKeychain);
    if (!inKeychain)
        QVERIFY(store.tokenStorageNote().contains(u"session only"_s));
    QCOMPARE(store.token(name), kToken);
    QVERIFY(!fileBytes(ini).contains(kToken.toUtf8()));
    QVERIFY(fileBytes(ini).contains("127.0.0.1:1"));
    store.removeProfile(name); // also removes the keychain entry
}

QTEST_MAIN(tst_ProfileStore)
#include "tst_profilestore.moc"
