// Token hashing, bearer parsing and verification of the control API's tokens.
#include "core/control/tokenauth.h"
#include "core/util/constanttime.h"

#include <QTest>

using namespace Qt::StringLiterals;
using namespace Meridian;

class tst_TokenAuth final : public QObject
{
    Q_OBJECT

private slots:
    void hashIsSha256Hex();
    void verifyFindsTheRightEntry();
    void bearerParsing_data();
    void bearerParsing();
    void constantTimeEquals();
    void generatedTokensAreDistinct();
};

void tst_TokenAuth::hashIsSha256Hex()
{
    // sha256("abc"), FIPS 180-2 test vector.
    QCOMPARE(TokenAuth::hashHex("abc"),
             u"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"_s);
}

void tst_TokenAuth::verifyFindsTheRightEntry()
{
    TokenAuth auth;
    auth.setTokens({{u"alice"_s,
                     TokenRole::Admin,
                     QByteArray::fromHex(TokenAuth::hashHex("secret-a").toLatin1())},
                    {u"bob"_s,
                     TokenRole::Viewer,
                     QByteArray::fromHex(TokenAuth::hashHex("secret-b").toLatin1())}});
    const auto alice = auth.verify("secret-a");
    QVERIFY(alice);
    QCOMPARE(alice->name, u"alice"_s);
    QCOMPARE(alice->role, TokenRole::Admin);
    const auto bob = auth.verify("secret-b");
    QVERIFY(bob);
    QCOMPARE(bob->role, TokenRole::Viewer);
    QVERIFY(!auth.verify("secret-c"));
    QVERIFY(!auth.verify("secret-"));
    QVERIFY(!auth.verify(""));
    // The hash itself is not a token.
    QVERIFY(!auth.verify(TokenAuth::hashHex("secret-a").toLatin1()));
}

void tst_TokenAuth::bearerParsing_data()
{
    QTest::addColumn<QByteArray>("header");
    QTest::addColumn<QByteArray>("token");
    QTest::addRow("plain") << QByteArray("Bearer abc") << QByteArray("abc");
    QTest::addRow("lower-case scheme") << QByteArray("bearer abc") << QByteArray("abc");
    QTest::addRow("spaces") << QByteArray("  Bearer   abc  ") << QByteArray("abc");
    QTest::addRow("basic") << QByteArray("Basic abc") << QByteArray();
    QTest::addRow("empty token") << QByteArray("Bearer ") << QByteArray();
    QTest::addRow("empty") << QByteArray() << QByteArray();
    QTest::addRow("no space") << QByteArray("Bearerabc") << QByteArray();
}

void tst_TokenAuth::bearerParsing()
{
    QFETCH(QByteArray, header);
    QFETCH(QByteArray, token);
    const auto parsed = TokenAuth::bearerToken(header);
    QCOMPARE(parsed.value_or(QByteArray()), token);
}

void tst_TokenAuth::constantTimeEquals()
{
    QVERIFY(Meridian::constantTimeEquals("abcd", "abcd"));
    QVERIFY(!Meridian::constantTimeEquals("abcd", "abce"));
    QVERIFY(!Meridian::constantTimeEquals("abcd", "abc"));
    QVERIFY(Meridian::constantTimeEquals("", ""));
}

void tst_TokenAuth::generatedTokensAreDistinct()
{
    const QByteArray a = TokenAuth::generateToken();
    const QByteArray b = TokenAuth::generateToken();
    QVERIFY(a != b);
    QCOMPARE(a.size(), 43); // 32 bytes, base64url without padding
    for (const char c : a)
        QVERIFY(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
    // Tokens go on command lines: none may read as an option. 1 in 64 base64url strings starts
    // with '-', so 2,000 tokens would show that with certainty.
    for (int i = 0; i < 2000; ++i)
        QVERIFY(!TokenAuth::generateToken().startsWith('-'));
}

QTEST_GUILESS_MAIN(tst_TokenAuth)
#include "tst_tokenauth.moc"
