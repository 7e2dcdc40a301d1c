// The Server-Sent Events parser: line ends, chunking anywhere, comments, ids, retry, limits.
#include "core/control/sseparser.h"

#include <QTest>

using namespace Qt::StringLiterals;
using Meridian::SseMessage;
using Meridian::SseParser;

namespace {

QList<SseMessage> feedAll(SseParser &parser, const QByteArray &stream, qsizetype chunkSize)
{
    QList<SseMessage> out;
    for (qsizetype i = 0; i < stream.size(); i += chunkSize)
        out += parser.feed(QByteArrayView(stream).sliced(i, qMin(chunkSize, stream.size() - i)));
    return out;
}

} // namespace

class tst_SseParser final : public QObject
{
    Q_OBJECT

private slots:
    void chunking_data();
    void chunking();
    void defaultsAndIgnoredFields();
    void idPersistsAndRetry();
    void eventWithoutDataIsDropped();
    void incompleteEventIsHeld();
    void resetDropsPartialEvent();
    void lineLimit();
};

void tst_SseParser::chunking_data()
{
    QTest::addColumn<QByteArray>("lineEnd");
    QTest::addColumn<int>("chunkSize");
    const QList<QPair<const char *, QByteArray>> ends
            = {{"lf", "\n"}, {"crlf", "\r\n"}, {"cr", "\r"}};
    for (const auto &[name, end] : ends) {
        for (const int chunk : {1, 2, 3, 7, 1000})
            QTest::addRow("%s/%d", name, chunk) << end << chunk;
    }
}

void tst_SseParser::chunking()
{
    QFETCH(QByteArray, lineEnd);
    QFETCH(int, chunkSize);
    QByteArray stream = "\xEF\xBB\xBF: heartbeat\n"
                        "event: state\n"
                        "id: 1\n"
                        "data: {\"region\":\"eu-west\",\n"
                        "data:  \"state\":\"drained\"}\n"
                        "\n"
                        ": heartbeat\n"
                        "event: lag\n"
                        "data:{\"s\":0.5}\n"
                        "\n"
                        "data: caf\xC3\xA9\n"
                        "\n";
    stream.replace("\n", lineEnd);
    SseParser parser;
    const QList<SseMessage> messages = feedAll(parser, stream, chunkSize);
    QVERIFY(!parser.hasError());
    QCOMPARE(messages.size(), 3);
    QCOMPARE(messages.at(0).event, u"state"_s);
    QCOMPARE(messages.at(0).id, u"1"_s);
    QCOMPARE(messages.at(0).data, u"{\"region\":\"eu-west\",\n \"state\":\"drained\"}"_s);
    QCOMPARE(messages.at(1).event, u"lag"_s);
    QCOMPARE(messages.at(1).data, u"{\"s\":0.5}"_s);
    QCOMPARE(messages.at(1).id, u"1"_s);
    QCOMPARE(messages.at(2).event, QString());
    QCOMPARE(messages.at(2).data, u"café"_s);
    QCOMPARE(parser.commentCount(), 2);
}

void tst_SseParser::defaultsAndIgnoredFields()
{
    SseParser parser;
    const QList<SseMessage> messages = parser.feed("data\nunknown: x\ndata:\n\n");
    QCOMPARE(messages.size(), 1);
    QCOMPARE(messages.first().data, u"\n"_s); // two empty data lines
}

void tst_SseParser::idPersistsAndRetry()
{
    SseParser parser;
    QList<SseMessage> messages = parser.feed(
            "id: 41\nretry: 2500\ndata: a\n\nretry: soon\ndata: b\n\n");
    QCOMPARE(messages.size(), 2);
    QCOMPARE(messages.at(1).id, u"41"_s);
    QCOMPARE(parser.retryMs(), std::optional<int>(2500));
    QCOMPARE(parser.lastEventId(), u"41"_s);
    messages = parser.feed(QByteArrayView("id: bad\0id\ndata: c\n\n", 21));
    QCOMPARE(messages.size(), 1);
    QCOMPARE(messages.first().id, u"41"_s); // an id containing NUL is ignored
}

void tst_SseParser::eventWithoutDataIsDropped()
{
    SseParser parser;
    const QList<SseMessage> messages = parser.feed("event: state\n\ndata: x\n\n");
    QCOMPARE(messages.size(), 1);
    QCOMPARE(messages.first().event, QString()); // the type was reset by the empty event
}

void tst_SseParser::incompleteEventIsHeld()
{
    SseParser parser;
    QVERIFY(parser.feed("event: action\ndata: {}\n").isEmpty());
    QVERIFY(parser.feed("\r").size() == 1);
    QVERIFY(parser.feed("\ndata: y\n\n").size() == 1); // the LF of CRLF is not a second line end
}

void tst_SseParser::resetDropsPartialEvent()
{
    SseParser parser;
    QVERIFY(parser.feed("id: 9\n\nevent: state\ndata: partial").isEmpty());
    parser.reset();
    const QList<SseMessage> messages = parser.feed("data: whole\n\n");
    QCOMPARE(messages.size(), 1);
    QCOMPARE(messages.first().data, u"whole"_s);
    QCOMPARE(messages.first().event, QString());
    QCOMPARE(messages.first().id, u"9"_s);
}

void tst_SseParser::lineLimit()
{
    SseParser parser(16);
    QVERIFY(parser.feed("data: 0123456789").isEmpty());
    QVERIFY(!parser.hasError());
    QVERIFY(parser.feed("abcdef").isEmpty());
    QVERIFY(parser.hasError());
    QVERIFY(parser.errorString().contains(u"16 bytes"_s));
    QVERIFY(parser.feed("\n\n").isEmpty());
}

QTEST_GUILESS_MAIN(tst_SseParser)
#include "tst_sseparser.moc"
