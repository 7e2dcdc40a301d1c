// meridianctl end to end against a real local cluster it starts itself (`local up`): the
// commands operators' scripts use, their JSON output and exit codes, a drain that waits, a
// viewer token refused, a resync from a peer, an outage (`local kill`) and a restart that
// catches up, and `local down`.
#include "../node/testhttp.h"

#include <QDeadlineTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;

namespace {

struct CtlRun
{
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
    QJsonObject json() const { return QJsonDocument::fromJson(out).object(); }
};

} // namespace

class tst_MeridianctlLocal final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void statusAndRegions();
    void viewerTokenCannotDrain();
    void drainWaitsAndActivateRestores();
    void resyncFromPeerConverges();
    void outageAndRestartCatchUp();
    void auditRecordsActions();
    void overwrittenJournalShowsTheLosers();

private:
    qint64 overwrittenTotal();
    CtlRun ctl(const QStringList &args, const QString &endpoint = {}, const QString &token = {});
    QString controlUrl(const QString &id) const;
    QString dataUrl(const QString &id) const;
    QJsonObject regionState(const QString &id);
    bool digestsAgree();

    QTemporaryDir m_tmp;
    QString m_dir;
    QString m_admin;
    QString m_viewer;
    QJsonArray m_nodes;
};

CtlRun tst_MeridianctlLocal::ctl(const QStringList &args,
                                 const QString &endpoint,
                                 const QString &token)
{
    QProcess process;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(u"MERIDIAN_ENDPOINT"_s);
    env.remove(u"MERIDIAN_TOKEN"_s);
    process.setProcessEnvironment(env);
    QStringList all = args;
    if (!endpoint.isEmpty())
        all << u"--endpoint"_s << endpoint;
    if (!token.isEmpty())
        all << u"--token"_s << token;
    process.start(QStringLiteral(MERIDIAN_BIN_DIR) + u"meridianctl"_s, all);
    CtlRun run;
    if (!process.waitForFinished(120000)) {
        process.kill();
        process.waitForFinished();
        run.err = "meridianctl did not finish within 120 s";
        return run;
    }
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = process.readAllStandardOutput();
    run.err = process.readAllStandardError();
    return run;
}

QString tst_MeridianctlLocal::controlUrl(const QString &id) const
{
    for (const QJsonValue &node : m_nodes) {
        if (node[u"id"_s].toString() == id)
            return node[u"control_url"_s].toString();
    }
    return {};
}

QString tst_MeridianctlLocal::dataUrl(const QString &id) const
{
    for (const QJsonValue &node : m_nodes) {
        if (node[u"id"_s].toString() == id)
            return node[u"data_url"_s].toString();
    }
    return {};
}

QJsonObject tst_MeridianctlLocal::regionState(const QString &id)
{
    const CtlRun run = ctl({u"regions"_s, u"-o"_s, u"json"_s}, controlUrl(u"us-east"_s), m_viewer);
    for (const QJsonValue &region : run.json().value(u"regions"_s).toArray()) {
        if (region[u"id"_s].toString() == id)
            return region.toObject();
    }
    return {};
}

bool tst_MeridianctlLocal::digestsAgree()
{
    const CtlRun run = ctl({u"digest"_s, u"-o"_s, u"json"_s}, controlUrl(u"us-east"_s), m_viewer);
    return run.exitCode == 0 && run.json().value(u"agree"_s).toBool();
}

void tst_MeridianctlLocal::initTestCase()
{
    QVERIFY(m_tmp.isValid());
    m_dir = m_tmp.filePath(u"cluster"_s);
    const CtlRun up = ctl({u"local"_s,
                           u"up"_s,
                           u"--regions"_s,
                           u"3"_s,
                           u"--no-edge"_s,
                           u"--dir"_s,
                           m_dir,
                           u"-o"_s,
                           u"json"_s});
    QVERIFY2(up.exitCode == 0, up.err.constData());
    const QJsonObject cluster = up.json();
    m_admin = cluster.value(u"admin_token"_s).toString();
    m_viewer = cluster.value(u"viewer_token"_s).toString();
    m_nodes = cluster.value(u"nodes"_s).toArray();
    QCOMPARE(m_nodes.size(), 3);
    QVERIFY(!m_admin.isEmpty());
    QVERIFY(!m_viewer.isEmpty());
    QVERIFY(!controlUrl(u"us-east"_s).isEmpty());
}

void tst_MeridianctlLocal::cleanupTestCase()
{
    if (m_dir.isEmpty())
        return;
    const CtlRun down = ctl({u"local"_s, u"down"_s, u"--dir"_s, m_dir, u"--grace"_s, u"5s"_s});
    QVERIFY2(down.exitCode == 0, down.err.constData());
    for (const QJsonValue &node : std::as_const(m_nodes)) {
        const auto answer
                = MeridianTest::call("GET",
                                     QUrl(node[u"control_url"_s].toString() + u"/v1/status"_s),
                                     {},
                                     {},
                                     2000);
        QCOMPARE(answer.status, 0); // nobody answers any more
    }
}

void tst_MeridianctlLocal::statusAndRegions()
{
    const CtlRun status = ctl({u"status"_s, u"-o"_s, u"json"_s}, controlUrl(u"eu-west"_s), m_viewer);
    QVERIFY2(status.exitCode == 0, status.err.constData());
    QCOMPARE(status.json().value(u"region"_s).toString(), u"eu-west"_s);

    const CtlRun table = ctl({u"regions"_s}, controlUrl(u"eu-west"_s), m_viewer);
    QVERIFY2(table.exitCode == 0, table.err.constData());
    for (const QJsonValue &node : std::as_const(m_nodes))
        QVERIFY2(table.out.contains(node[u"id"_s].toString().toUtf8()), table.out.constData());
    QVERIFY(regionState(u"ap-southeast"_s).value(u"state"_s).toString() == u"active"_s);
}

void tst_MeridianctlLocal::viewerTokenCannotDrain()
{
    const CtlRun run = ctl({u"drain"_s, u"eu-west"_s}, controlUrl(u"us-east"_s), m_viewer);
    QCOMPARE(run.exitCode, 3);
    QVERIFY2(run.err.contains("403") || run.err.contains("admin"), run.err.constData());
    QCOMPARE(regionState(u"eu-west"_s).value(u"state"_s).toString(), u"active"_s);

    const CtlRun unknown = ctl({u"drain"_s, u"mars-north"_s}, controlUrl(u"us-east"_s), m_admin);
    QCOMPARE(unknown.exitCode, 3);
    QVERIFY2(unknown.err.contains("mars-north"), unknown.err.constData());
}

void tst_MeridianctlLocal::drainWaitsAndActivateRestores()
{
    const CtlRun drain = ctl({u"drain"_s, u"eu-west"_s, u"--wait"_s, u"--timeout"_s, u"5s"_s},
                             controlUrl(u"us-east"_s),
                             m_admin);
    QVERIFY2(drain.exitCode == 0, drain.err.constData());
    // Accepted by us-east's node, it reaches every node: ask eu-west's own node. A deadline, not
    // a wait: 12.7 s were once needed on a 2-core machine also compiling.
    QTRY_COMPARE_WITH_TIMEOUT(ctl({u"regions"_s, u"-o"_s, u"json"_s},
                                  controlUrl(u"eu-west"_s),
                                  m_viewer)
                                      .out.contains("\"drained\""),
                              true,
                              30000);

    const CtlRun activate = ctl({u"activate"_s, u"eu-west"_s}, controlUrl(u"eu-west"_s), m_admin);
    QVERIFY2(activate.exitCode == 0, activate.err.constData());
    QTRY_COMPARE_WITH_TIMEOUT(regionState(u"eu-west"_s).value(u"state"_s).toString(),
                              u"active"_s,
                              30000);
}

void tst_MeridianctlLocal::resyncFromPeerConverges()
{
    // Data written in two regions first, so the snapshot carries something.
    for (int i = 0; i < 20; ++i) {
        const QString region = i % 2 ? u"us-east"_s : u"eu-west"_s;
        const auto put = MeridianTest::call("PUT",
                                            QUrl(dataUrl(region) + u"/api/kv/ctl-%1"_s.arg(i)),
                                            {},
                                            "value " + QByteArray::number(i));
        QVERIFY2(put.status / 100 == 2, put.body.constData());
    }
    QTRY_VERIFY_WITH_TIMEOUT(digestsAgree(), 20000);

    const CtlRun resync = ctl({u"resync"_s,
                               u"ap-southeast"_s,
                               u"--from"_s,
                               u"us-east"_s,
                               u"--wait"_s,
                               u"-o"_s,
                               u"json"_s},
                              controlUrl(u"us-east"_s),
                              m_admin);
    QVERIFY2(resync.exitCode == 0, resync.err.constData());
    QCOMPARE(resync.json().value(u"state"_s).toString(), u"done"_s);
    QCOMPARE(resync.json().value(u"from"_s).toString(), u"us-east"_s);

    const auto get
            = MeridianTest::call("GET", QUrl(dataUrl(u"ap-southeast"_s) + u"/api/kv/ctl-7"_s), {});
    QCOMPARE(get.status, 200);
    QCOMPARE(get.body, QByteArray("value 7"));
    QTRY_VERIFY_WITH_TIMEOUT(digestsAgree(), 20000);
}

void tst_MeridianctlLocal::outageAndRestartCatchUp()
{
    const CtlRun kill = ctl({u"local"_s, u"kill"_s, u"ap-southeast"_s, u"--dir"_s, m_dir});
    QVERIFY2(kill.exitCode == 0, kill.err.constData());
    const CtlRun gone = ctl({u"status"_s, u"--request-timeout"_s, u"3s"_s},
                            controlUrl(u"ap-southeast"_s),
                            m_viewer);
    QCOMPARE(gone.exitCode, 4);
    // A question only the dead node can answer, asked of a live one: a clear error, not a hang.
    const CtlRun journal
            = ctl({u"overwritten"_s, u"ap-southeast"_s}, controlUrl(u"us-east"_s), m_viewer);
    QVERIFY(journal.exitCode != 0);
    QVERIFY2(journal.err.contains("the node of ap-southeast did not answer"),
             journal.err.constData());

    // Written while ap-southeast is down; it must catch up after its restart.
    const auto put = MeridianTest::call("PUT",
                                        QUrl(dataUrl(u"eu-west"_s) + u"/api/kv/during-outage"_s),
                                        {},
                                        "written while down");
    QVERIFY2(put.status / 100 == 2, put.body.constData());

    const CtlRun start = ctl({u"local"_s, u"start"_s, u"ap-southeast"_s, u"--dir"_s, m_dir});
    QVERIFY2(start.exitCode == 0, start.err.constData());
    QTRY_COMPARE_WITH_TIMEOUT(MeridianTest::call("GET",
                                                 QUrl(dataUrl(u"ap-southeast"_s)
                                                      + u"/api/kv/during-outage"_s),
                                                 {})
                                      .body,
                              QByteArray("written while down"),
                              20000);
    QTRY_VERIFY_WITH_TIMEOUT(digestsAgree(), 20000);
}

void tst_MeridianctlLocal::auditRecordsActions()
{
    const CtlRun audit = ctl({u"audit"_s, u"-o"_s, u"json"_s}, controlUrl(u"us-east"_s), m_admin);
    QVERIFY2(audit.exitCode == 0, audit.err.constData());
    const QJsonArray entries = audit.json().value(u"entries"_s).toArray();
    bool drainAccepted = false;
    bool drainRefused = false;
    for (const QJsonValue &entry : entries) {
        if (entry[u"action"_s].toString() != u"drain"_s)
            continue;
        const QString result = entry[u"result"_s].toVariant().toString();
        if (result.startsWith(u"2"_s) || result.contains(u"ok"_s) || result.contains(u"accepted"_s))
            drainAccepted = true;
        else
            drainRefused = true;
    }
    QVERIFY2(drainAccepted, audit.out.constData());
    QVERIFY2(drainRefused, audit.out.constData());
}

qint64 tst_MeridianctlLocal::overwrittenTotal()
{
    const CtlRun run = ctl({u"digest"_s, u"-o"_s, u"json"_s}, controlUrl(u"us-east"_s), m_viewer);
    qint64 total = 0;
    for (const QJsonValue &region : run.json().value(u"regions"_s).toObject()) {
        for (const QJsonValue &table : region[u"overwritten"_s].toObject())
            for (const QJsonValue &count : table.toObject())
                total += count.toInteger();
    }
    return total;
}

void tst_MeridianctlLocal::overwrittenJournalShowsTheLosers()
{
    // Two regions write the same key at the same moment until one write loses somewhere
    // (replication takes longer than the gap between the two commits); bounded in rounds.
    QNetworkAccessManager manager;
    const qint64 before = overwrittenTotal();
    int rounds = 0;
    for (; rounds < 40 && overwrittenTotal() == before; ++rounds) {
        std::vector<std::unique_ptr<QNetworkReply>> replies;
        for (const QString &region : {u"us-east"_s, u"eu-west"_s}) {
            QNetworkRequest request(QUrl(dataUrl(region) + u"/api/kv/contested"_s));
            request.setHeader(QNetworkRequest::ContentTypeHeader, u"text/plain"_s);
            replies.emplace_back(
                    manager.put(request, region.toUtf8() + " round " + QByteArray::number(rounds)));
        }
        for (auto &reply : replies) {
            QTRY_VERIFY_WITH_TIMEOUT(reply->isFinished(), 10000);
            QCOMPARE(reply->error(), QNetworkReply::NoError);
        }
        QTRY_VERIFY_WITH_TIMEOUT(digestsAgree(), 20000);
    }
    QVERIFY2(overwrittenTotal() > before, qPrintable(u"no conflict in %1 rounds"_s.arg(rounds)));

    // Every region's journal, asked through us-east (forwarded to the region's node) and
    // directly, names the losing and the winning write of the contested key.
    int entriesSeen = 0;
    for (const QString &region : {u"us-east"_s, u"eu-west"_s, u"ap-southeast"_s}) {
        const CtlRun run = ctl({u"overwritten"_s, region, u"-o"_s, u"json"_s},
                               controlUrl(u"us-east"_s),
                               m_viewer);
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QCOMPARE(run.json().value(u"region"_s).toString(), region);
        const CtlRun direct
                = ctl({u"overwritten"_s, region, u"-o"_s, u"json"_s}, controlUrl(region), m_viewer);
        QCOMPARE(direct.json(), run.json());
        for (const QJsonValue &entry : run.json().value(u"entries"_s).toArray()) {
            if (entry[u"primary_key"_s][u"key"_s].toString() != u"contested"_s)
                continue;
            ++entriesSeen;
            QCOMPARE(entry[u"table"_s].toString(), u"kv"_s);
            const QJsonObject loser = entry[u"loser"_s].toObject();
            const QJsonObject winner = entry[u"winner"_s].toObject();
            const quint64 loserHlc = loser[u"hlc"_s].toString().toULongLong();
            const quint64 winnerHlc = winner[u"hlc"_s].toString().toULongLong();
            QVERIFY(loserHlc > 0 && winnerHlc > 0);
            // Last writer wins by (HLC, origin id).
            QVERIFY(loserHlc < winnerHlc
                    || (loserHlc == winnerHlc
                        && loser[u"origin"_s].toString() < winner[u"origin"_s].toString()));
            QVERIFY(loser[u"row"_s][u"key"_s].toString() == u"contested"_s
                    || loser[u"deleted"_s].toBool());
        }
    }
    QVERIFY(entriesSeen > 0);

    const CtlRun table = ctl({u"overwritten"_s, u"eu-west"_s, u"--limit"_s, u"5"_s},
                             controlUrl(u"us-east"_s),
                             m_viewer);
    QCOMPARE(table.exitCode, 0);
    QVERIFY2(table.out.contains("LOSING VALUES") || table.out.contains("no write has lost"),
             table.out.constData());
    const CtlRun unknown = ctl({u"overwritten"_s, u"mars-1"_s}, controlUrl(u"us-east"_s), m_viewer);
    QCOMPARE(unknown.exitCode, 3);
    QVERIFY2(unknown.err.contains("mars-1"), unknown.err.constData());
    const CtlRun badLimit = ctl({u"overwritten"_s, u"eu-west"_s, u"--limit"_s, u"x"_s},
                                controlUrl(u"us-east"_s),
                                m_viewer);
    QCOMPARE(badLimit.exitCode, 2);
}

QTEST_GUILESS_MAIN(tst_MeridianctlLocal)
#include "tst_meridianctl_local.moc"
