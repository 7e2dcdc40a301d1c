#include "ctlrunner.h"

#include "textoutput.h"

#include "core/cluster/localcluster.h"
#include "core/control/controlclient.h"
#include "core/control/eventstream.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTimer>

#include <chrono>
#include <cmath>

using namespace Qt::StringLiterals;
using namespace std::chrono_literals;

namespace Meridian::Ctl {

using namespace Api;

namespace {

constexpr auto kPollInterval = 500ms;
constexpr double kDrainWaitGraceS = 10.0;
constexpr double kDefaultDrainDeadlineS = 30.0;
constexpr double kDefaultPurgeWaitS = 30.0;
// How long an action accepted by the control leader may take to reach the answering node.
constexpr double kActionReplicationS = 5.0;

QString yesNo(bool value)
{
    return value ? u"yes"_s : u"no"_s;
}

QString compactJson(const QJsonObject &object)
{
    return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

QString shareText(double share)
{
    return u"%1%"_s.arg(QString::number(share * 100.0, 'f', 1));
}

// "k=v" -> (k, JSON value): numbers, booleans, null and quoted JSON as JSON, anything else a string.
std::optional<QPair<QString, QJsonValue>> parseParam(const QString &text)
{
    const qsizetype eq = text.indexOf(u'=');
    if (eq <= 0)
        return std::nullopt;
    const QString key = text.left(eq).trimmed();
    const QString raw = text.mid(eq + 1);
    const QJsonDocument document = QJsonDocument::fromJson(u"[%1]"_s.arg(raw).toUtf8());
    if (document.isArray() && document.array().size() == 1 && !raw.trimmed().isEmpty())
        return QPair<QString, QJsonValue>{key, document.array().first()};
    return QPair<QString, QJsonValue>{key, raw};
}

} // namespace

CtlRunner::CtlRunner(Invocation invocation, QObject *parent)
    : QObject(parent)
    , m_invocation(std::move(invocation))
{}

void CtlRunner::done(int code)
{
    if (m_finished)
        return;
    m_finished = true;
    if (m_events)
        m_events->stop();
    emit finished(code);
}

void CtlRunner::failApi(const ApiError &error)
{
    // The server's words are cleaned of control characters; the hint's line break is ours.
    QString message = clean(
            error.httpStatus > 0
                    ? u"%1 (HTTP %2 %3)"_s.arg(error.message).arg(error.httpStatus).arg(error.code)
                    : error.message);
    if (error.httpStatus == 401)
        message += u"\nhint: pass a valid token with --token or MERIDIAN_TOKEN"_s;
    else if (error.httpStatus == 403)
        message += u"\nhint: this command needs an admin token"_s;
    else if (error.httpStatus == 404 && error.code == u"not_found"_s
             && (error.message == u"not found"_s
                 || error.message.startsWith(u"this region serves no static site"_s)
                 || error.message.startsWith(u"HTTP 404 from "_s))) // no JSON error body
        // What a region's website (or a server that is not meridiand) answers to /v1/...; the
        // control API's own 404s say what they did not find.
        message += u"\nhint: %1 does not serve the control API: give a node's control URL "
                   "(its listen.control), not its website's"_s.arg(m_client->endpoint().toString());
    writeErr(u"meridianctl: "_s + message + u'\n');
    if (error.httpStatus > 0)
        done(ExitRefused);
    else if (error.isNetworkError())
        done(ExitConnection);
    else
        done(ExitFailure);
}

void CtlRunner::failUsage(const QString &message)
{
    writeErr(u"meridianctl: %1\nSee `meridianctl %2 --help`.\n"_s.arg(message,
                                                                      m_invocation.command->name));
    done(ExitUsage);
}

std::optional<double> CtlRunner::durationOption(const QString &name,
                                                double fallback,
                                                const QString &examples)
{
    if (!m_invocation.isSet(name))
        return fallback;
    const QString value = m_invocation.value(name);
    const auto parsed = parseDuration(value);
    if (!parsed || *parsed <= 0) {
        failUsage(u"--%1 must be a duration such as %2, not \"%3\""_s.arg(name, examples, value));
        return std::nullopt;
    }
    return *parsed;
}

void CtlRunner::failOperation(const QString &message)
{
    writeErr(u"meridianctl: "_s + clean(message) + u'\n');
    done(ExitFailure);
}

void CtlRunner::printBody(const QByteArray &body)
{
    QByteArray text = body.trimmed();
    writeOut(QString::fromUtf8(text) + u'\n');
}

void CtlRunner::interrupt()
{
    if (m_invocation.command && m_invocation.command->name == u"events"_s) {
        done(ExitOk);
        return;
    }
    if (m_progressOnTerminal)
        writeOut(u"\n"_s);
    writeErr(u"meridianctl: interrupted; the operation goes on in the cluster\n"_s);
    done(130);
}

void CtlRunner::start()
{
    const CommandSpec &command = *m_invocation.command;
    const QString output = m_invocation.value(u"output"_s, u"table"_s);
    if (output != u"table"_s && output != u"json"_s) {
        failUsage(u"-o must be table or json, not \"%1\""_s.arg(output));
        return;
    }
    m_json = output == u"json"_s;

    if (command.needsEndpoint) {
        m_client = new ControlClient(this);
        const QString endpoint = m_invocation.value(u"endpoint"_s,
                                                    qEnvironmentVariable("MERIDIAN_ENDPOINT"));
        const ApiResult<QUrl> url = m_client->setEndpoint(endpoint);
        if (!url) {
            failUsage(url.error().message);
            return;
        }
        m_client->setToken(m_invocation.value(u"token"_s, qEnvironmentVariable("MERIDIAN_TOKEN")));
        if (const QString ca = m_invocation.value(u"cacert"_s,
                                                  qEnvironmentVariable("MERIDIAN_CACERT"));
            !ca.isEmpty()) {
            if (const QString error = m_client->setCaCertificatesFile(ca); !error.isEmpty()) {
                failUsage(error);
                return;
            }
        }
        if (m_invocation.isSet(u"request-timeout"_s)) {
            const auto timeout = durationOption(u"request-timeout"_s, 0, u"10s or 500ms"_s);
            if (!timeout)
                return;
            m_client->setTimeout(std::chrono::milliseconds(qint64(*timeout * 1000)));
        }
    }

    const QString &name = command.name;
    if (name == u"status"_s)
        runStatus();
    else if (name == u"regions"_s)
        runRegions();
    else if (name == u"drain"_s)
        runDrain();
    else if (name == u"activate"_s)
        runActivate();
    else if (name == u"promote"_s)
        runPromote();
    else if (name == u"strategy get"_s)
        runStrategyGet();
    else if (name == u"strategy set"_s)
        runStrategySet();
    else if (name == u"dial"_s)
        runDial();
    else if (name == u"revert"_s)
        runRevert();
    else if (name == u"approve"_s)
        runApprove();
    else if (name == u"actions"_s)
        runActions();
    else if (name == u"resync"_s)
        runResync();
    else if (name == u"lag"_s)
        runLag();
    else if (name == u"digest"_s)
        runDigest();
    else if (name == u"events"_s)
        runEvents();
    else if (name == u"audit"_s)
        runAudit();
    else if (name == u"overwritten"_s)
        runOverwritten();
    else if (name == u"cache purge"_s)
        runCachePurge();
    else if (name == u"cache status"_s)
        runCacheStatus();
    else if (name == u"cache stats"_s)
        runCacheStats();
    else if (name.startsWith(u"local "_s))
        runLocal();
    else
        failUsage(u"command \"%1\" is not implemented"_s.arg(name));
}

// ---------------------------------------------------------------------------------------------
// Reading commands

void CtlRunner::runStatus()
{
    m_client->status(this, [this](const ApiResult<NodeStatus> &result) {
        if (!result)
            return failApi(result.error());
        if (json())
            return printBody(result.body()), done(ExitOk);
        const NodeStatus &s = result.value();
        QString quorumText = u"-"_s; // older nodes' answers have no quorum
        if (s.quorum) {
            quorumText = u"%1 of %2 nodes"_s.arg(s.quorum->reachable).arg(s.quorum->voters);
            if (!s.quorum->hasQuorum)
                quorumText += u" (no quorum)"_s;
        }
        writeOut(keyValues({{u"endpoint"_s, m_client->endpoint().toString()},
                            {u"node"_s, s.nodeId},
                            {u"region"_s, s.region.isEmpty() ? u"-"_s : s.region},
                            {u"role"_s, s.role},
                            {u"state"_s, s.state},
                            {u"health"_s, s.health},
                            {u"leader"_s, s.leader.isEmpty() ? u"-"_s : s.leader},
                            {u"quorum"_s, quorumText},
                            {u"primary"_s, s.primary.isEmpty() ? u"-"_s : s.primary},
                            {u"version"_s, s.version},
                            {u"uptime"_s, formatDuration(s.uptimeS)}}));
        done(ExitOk);
    });
}

void CtlRunner::runRegions()
{
    m_client->regions(this, [this](const ApiResult<QList<RegionStatus>> &result) {
        if (!result)
            return failApi(result.error());
        if (json())
            return printBody(result.body()), done(ExitOk);
        Table table({u"REGION"_s,
                     u"NAME"_s,
                     u"STATE"_s,
                     u"HEALTH"_s,
                     u"PRIMARY"_s,
                     u"WEIGHT"_s,
                     u"DIAL"_s,
                     u"SHARE"_s,
                     u"RPS"_s,
                     u"P99 MS"_s,
                     u"IN-FLIGHT"_s,
                     u"LAG S"_s,
                     u"LINKS"_s,
                     u"RESYNC"_s});
        table.setRightAligned({5, 6, 7, 8, 9, 10, 11});
        for (const RegionStatus &r : result.value()) {
            QString health = r.health;
            if (!r.reachable)
                health += u" (unreachable)"_s;
            table.addRow({r.id,
                          r.name,
                          r.state,
                          health,
                          r.primary ? u"*"_s : QString(),
                          QString::number(r.weight),
                          u"%1%"_s.arg(r.dial),
                          shareText(r.trafficShare),
                          formatNumber(r.rps),
                          formatNumber(r.p99Ms),
                          QString::number(r.inFlight),
                          formatNumber(r.worstLagS, 2),
                          r.worstLinkState.isEmpty() ? u"-"_s : r.worstLinkState,
                          r.resync ? u"%1 %2"_s.arg(r.resync->phase, r.resync->state) : u"-"_s});
        }
        writeOut(table.render());
        done(ExitOk);
    });
}

void CtlRunner::runStrategyGet()
{
    m_client->strategy(this, [this](const ApiResult<StrategyInfo> &result) {
        if (!result)
            return failApi(result.error());
        if (json())
            return printBody(result.body()), done(ExitOk);
        QList<QPair<QString, QString>> lines = {{u"strategy"_s, result.value().name}};
        const QJsonObject &params = result.value().params;
        for (auto it = params.begin(); it != params.end(); ++it) {
            const QJsonValue value = it.value();
            const QString text = value.isString()
                                         ? value.toString()
                                         : QString::fromUtf8(QJsonDocument(QJsonArray{value})
                                                                     .toJson(QJsonDocument::Compact))
                                                   .mid(1)
                                                   .chopped(1);
            lines.append({u"  "_s + it.key(), text});
        }
        writeOut(keyValues(lines));
        done(ExitOk);
    });
}

void CtlRunner::runActions()
{
    bool ok = true;
    const int limit = m_invocation.isSet(u"limit"_s) ? m_invocation.value(u"limit"_s).toInt(&ok)
                                                     : 0;
    if (!ok || limit < 0)
        return failUsage(u"--limit must be a positive whole number"_s);
    m_client->actions(limit, this, [this](const ApiResult<QList<ActionInfo>> &result) {
        if (!result)
            return failApi(result.error());
        if (json())
            return printBody(result.body()), done(ExitOk);
        Table table(
                {u"ACTION"_s, u"TIME"_s, u"KIND"_s, u"REGION"_s, u"ACTOR"_s, u"STATUS"_s, u"ARGS"_s});
        for (const ActionInfo &a : result.value()) {
            QString status = a.status;
            if (!a.revertedBy.isEmpty())
                status += u" by "_s + a.revertedBy;
            table.addRow({a.id,
                          formatTime(a.time),
                          a.kind,
                          a.region.isEmpty() ? u"-"_s : a.region,
                          a.actor,
                          status,
                          a.args.isEmpty() ? QString() : compactJson(a.args)});
        }
        writeOut(table.render());
        done(ExitOk);
    });
}

void CtlRunner::runLag()
{
    m_client->links(this, [this](const ApiResult<QList<LinkStatus>> &result) {
        if (!result)
            return failApi(result.error());
        if (json())
            return printBody(result.body()), done(ExitOk);
        Table table({u"ORIGIN"_s,
                     u"REPLICA"_s,
                     u"STATE"_s,
                     u"BEHIND"_s,
                     u"LAG S"_s,
                     u"APPLY/S"_s,
                     u"RTT MS"_s,
                     u"LAST CONTACT"_s,
                     u"DETAIL"_s});
        table.setRightAligned({3, 4, 5, 6});
        for (const LinkStatus &l : result.value()) {
            table.addRow({l.origin,
                          l.replica,
                          l.state,
                          QString::number(l.entriesBehind),
                          formatNumber(l.secondsBehind, 2),
                          formatNumber(l.applyRate),
                          formatNumber(l.rttMs),
                          formatTime(l.lastContact),
                          l.reason()});
        }
        writeOut(table.isEmpty() ? u"no replication links\n"_s : table.render());
        done(ExitOk);
    });
}

void CtlRunner::runDigest()
{
    m_client->digest(this, [this](const ApiResult<DigestReport> &result) {
        if (!result)
            return failApi(result.error());
        if (json())
            return printBody(result.body()), done(ExitOk);
        const DigestReport &report = result.value();
        Table table({u"REGION"_s, u"REACHABLE"_s, u"DIGEST"_s, u"OVERWRITTEN"_s, u"DETAIL"_s});
        table.setRightAligned({3});
        for (const RegionDigest &d : report.regions) {
            QStringList detail;
            for (auto table = d.overwritten.begin(); table != d.overwritten.end(); ++table) {
                for (auto origin = table->begin(); origin != table->end(); ++origin)
                    detail.append(
                            u"%1 from %2: %3"_s.arg(table.key(), origin.key()).arg(origin.value()));
            }
            table.addRow({d.region,
                          yesNo(d.reachable),
                          d.digest.isEmpty() ? u"-"_s : d.digest,
                          QString::number(d.overwrittenTotal()),
                          detail.join(u", "_s)});
        }
        writeOut(table.render());
        writeOut(report.agree ? u"\nall %1 regions agree\n"_s.arg(report.regions.size())
                              : u"\nregions DISAGREE (or some are unreachable)\n"_s);
        done(ExitOk);
    });
}

void CtlRunner::runAudit()
{
    bool ok = true;
    const int limit = m_invocation.isSet(u"limit"_s) ? m_invocation.value(u"limit"_s).toInt(&ok)
                                                     : 0;
    if (!ok || limit < 0)
        return failUsage(u"--limit must be a positive whole number"_s);
    m_client->audit(limit, this, [this](const ApiResult<QList<AuditEntry>> &result) {
        if (!result)
            return failApi(result.error());
        if (json())
            return printBody(result.body()), done(ExitOk);
        Table table({u"TIME"_s, u"TOKEN"_s, u"CLIENT"_s, u"ACTION"_s, u"RESULT"_s, u"ARGS"_s});
        for (const AuditEntry &e : result.value()) {
            table.addRow({formatTime(e.time),
                          e.token.isEmpty() ? u"-"_s : e.token,
                          e.client,
                          e.action,
                          e.result.isEmpty() ? QString::number(e.status) : e.result,
                          e.args.isEmpty() ? QString() : compactJson(e.args)});
        }
        writeOut(table.isEmpty() ? u"the audit log is empty\n"_s : table.render());
        done(ExitOk);
    });
}

void CtlRunner::runOverwritten()
{
    const QString region = m_invocation.args.at(0);
    bool ok = true;
    const int limit = m_invocation.isSet(u"limit"_s) ? m_invocation.value(u"limit"_s).toInt(&ok)
                                                     : 0;
    if (!ok || limit < 0 || limit > 10000)
        return failUsage(u"--limit must be a whole number from 1 to 10000"_s);
    m_client->overwritten(region, limit, this, [this, region](const ApiResult<QList<OverwrittenEntry>> &result) {
        if (!result)
            return failApi(result.error());
        if (json())
            return printBody(result.body()), done(ExitOk);
        Table table({u"SEEN"_s, u"TABLE"_s, u"KEY"_s, u"LOST"_s, u"LOSING VALUES"_s, u"WON"_s});
        auto version = [](const RowVersion &v) {
            // Conflicting writes are milliseconds apart: show them.
            const QString time = v.time.isValid()
                                         ? v.time.toUTC().toString(u"yyyy-MM-dd HH:mm:ss.zzz'Z'"_s)
                                         : u"-"_s;
            return u"%1 @ %2"_s.arg(v.origin, time);
        };
        for (const OverwrittenEntry &e : result.value()) {
            table.addRow({formatTime(e.at),
                          e.table,
                          compactJson(e.primaryKey),
                          version(e.loser),
                          e.loser.deleted ? u"(delete)"_s : compactJson(e.loser.row),
                          version(e.winner)});
        }
        writeOut(table.isEmpty() ? u"no write has lost a conflict in %1\n"_s.arg(region)
                                 : table.render());
        done(ExitOk);
    });
}

// ---------------------------------------------------------------------------------------------
// Mutating commands

CtlRunner::ActionCallback CtlRunner::finishAction(const QString &verb)
{
    return [this, verb](const ApiResult<ActionResult> &result) {
        if (!result)
            return failApi(result.error());
        reportAction(result, verb);
        done(ExitOk);
    };
}

void CtlRunner::reportAction(const ApiResult<ActionResult> &result, const QString &verb)
{
    const ActionInfo &action = result.value().action;
    if (json()) {
        printBody(result.body());
    } else if (action.status == u"pending_approval"_s) {
        writeOut(u"%1 waits for a second admin's approval (action %2).\n"
                 "Approve with: meridianctl approve %2\n"_s.arg(verb, action.id));
    } else {
        // A purge is done once every edge has applied it (`cache status`).
        QString line = u"%1: %2 (action %3"_s.arg(verb,
                                                  action.kind == u"purge"_s ? u"accepted"_s
                                                                            : u"done"_s,
                                                  action.id);
        if (action.kind != u"revert"_s && action.kind != u"purge"_s)
            line += u"; undo with `meridianctl revert %1`"_s.arg(action.id);
        line += u")\n"_s;
        if (const auto &region = result.value().region) {
            line += u"%1 is now %2, dial %3%, %4 in flight\n"_s.arg(region->id, region->state)
                            .arg(region->dial)
                            .arg(region->inFlight);
        }
        if (const auto &strategy = result.value().strategy) {
            line += u"strategy is now "_s + strategy->name;
            if (!strategy->params.isEmpty())
                line += u' ' + compactJson(strategy->params);
            line += u'\n';
        }
        writeOut(line);
    }
}

void CtlRunner::runDrain()
{
    const QString region = m_invocation.args.at(0);
    const auto timeout = durationOption(u"timeout"_s, 0, u"30s, 2m or 500ms"_s);
    if (!timeout)
        return;
    const double deadlineS = *timeout;
    const bool wait = m_invocation.isSet(u"wait"_s);
    m_client->drain(region,
                    deadlineS,
                    m_invocation.isSet(u"force"_s),
                    this,
                    [this, region, wait, deadlineS](const ApiResult<ActionResult> &result) {
                        if (!result)
                            return failApi(result.error());
                        reportAction(result, u"drain %1"_s.arg(region));
                        const ActionInfo &action = result.value().action;
                        if (!wait || action.status == u"pending_approval"_s)
                            return done(ExitOk);
                        if (result.value().region && result.value().region->state == u"drained"_s) {
                            if (!json())
                                writeOut(u"%1 is drained\n"_s.arg(region));
                            return done(ExitOk);
                        }
                        m_waitClock.start();
                        pollDrain(region, deadlineS > 0 ? deadlineS : kDefaultDrainDeadlineS);
                    });
}

void CtlRunner::pollDrain(const QString &region, double deadlineS)
{
    m_progressOnTerminal = !json() && stdoutIsTerminal();
    m_client->region(region, this, [this, region, deadlineS](const ApiResult<RegionStatus> &result) {
        if (m_finished)
            return;
        if (!result) {
            if (m_progressOnTerminal)
                writeOut(u"\n"_s);
            return failApi(result.error());
        }
        const RegionStatus &r = result.value();
        const double elapsed = double(m_waitClock.elapsed()) / 1000.0;
        const QString line = u"%1: %2, %3 in flight, %4 elapsed"_s.arg(region, r.state)
                                     .arg(r.inFlight)
                                     .arg(formatDuration(elapsed));
        if (r.state != u"draining"_s) {
            if (m_progressOnTerminal)
                writeOut(u"\r\033[K"_s);
            if (r.state == u"drained"_s) {
                if (!json())
                    writeOut(u"%1 is drained (%2)\n"_s.arg(region, formatDuration(elapsed)));
                return done(ExitOk);
            }
            return failOperation(u"%1 is %2, not drained: another action changed it while waiting"_s
                                         .arg(region, r.state));
        }
        if (!json()) {
            if (m_progressOnTerminal)
                writeOut(u"\r\033[K"_s + clean(line));
            else if (line.section(u',', 0, 1) != m_lastProgressLine.section(u',', 0, 1))
                writeOut(clean(line) + u'\n');
            m_lastProgressLine = line;
        }
        if (elapsed > deadlineS + kDrainWaitGraceS) {
            if (m_progressOnTerminal)
                writeOut(u"\n"_s);
            return failOperation(
                    u"%1 is still draining %2 after the %3 deadline (%4 in flight); "
                    "stopped waiting"_s
                            .arg(region, formatDuration(elapsed), formatDuration(deadlineS))
                            .arg(r.inFlight));
        }
        QTimer::singleShot(kPollInterval, this, [this, region, deadlineS] {
            pollDrain(region, deadlineS);
        });
    });
}

void CtlRunner::runCachePurge()
{
    // A full URL, as pasted from a browser, gives its host and its path and query.
    QStringList paths;
    QString host = m_invocation.value(u"host"_s);
    for (const QString &arg : m_invocation.args) {
        if (!arg.startsWith(u"http://"_s) && !arg.startsWith(u"https://"_s)) {
            paths.append(arg);
            continue;
        }
        const QUrl url(arg, QUrl::StrictMode);
        if (!url.isValid() || url.host().isEmpty())
            return failUsage(u"\"%1\" is not a URL: %2"_s.arg(arg, url.errorString()));
        QString urlHost = url.host(QUrl::FullyEncoded);
        if (urlHost.contains(u':'))
            urlHost = u'[' + urlHost + u']';
        if (url.port() > 0)
            urlHost += u':' + QString::number(url.port());
        if (!host.isEmpty() && host.compare(urlHost, Qt::CaseInsensitive) != 0)
            return failUsage(u"one purge is for one host: %1 and %2 differ (run one purge each)"_s
                                     .arg(host, urlHost));
        host = urlHost;
        QString path = url.path(QUrl::FullyEncoded);
        if (path.isEmpty())
            path = u"/"_s;
        if (url.hasQuery())
            path += u'?' + url.query(QUrl::FullyEncoded);
        paths.append(path);
    }
    const auto waitTimeout = durationOption(u"wait-timeout"_s, kDefaultPurgeWaitS, u"30s or 2m"_s);
    if (!waitTimeout)
        return;
    const double timeoutS = *waitTimeout;
    const bool wait = m_invocation.isSet(u"wait"_s);
    m_client->purgeCache(paths,
                         host,
                         m_invocation.isSet(u"force"_s),
                         this,
                         [this, paths, wait, timeoutS](const ApiResult<ActionResult> &result) {
                             if (!result)
                                 return failApi(result.error());
                             reportAction(result, u"cache purge %1"_s.arg(paths.join(u' ')));
                             const ActionInfo &action = result.value().action;
                             if (!wait || action.status == u"pending_approval"_s)
                                 return done(ExitOk);
                             m_waitClock.start();
                             pollPurge(action.id, timeoutS);
                         });
}

void CtlRunner::runCacheStatus()
{
    m_client->purgeStatus(m_invocation.args.at(0),
                          this,
                          [this](const ApiResult<PurgeStatus> &result) {
                              if (!result)
                                  return failApi(result.error());
                              if (json())
                                  printBody(result.body());
                              else
                                  showPurge(result.value());
                              done(ExitOk);
                          });
}

void CtlRunner::runCacheStats()
{
    m_client->cacheStats(this, [this](const ApiResult<QList<EdgeCacheStats>> &result) {
        if (!result)
            return failApi(result.error());
        if (json())
            return printBody(result.body()), done(ExitOk);
        if (result.value().isEmpty()) {
            writeOut(u"no edge gateway in this cluster\n"_s);
            return done(ExitOk);
        }
        Table table({u"EDGE"_s,
                     u"ENTRIES"_s,
                     u"SIZE"_s,
                     u"HIT RATIO"_s,
                     u"HITS"_s,
                     u"MISSES"_s,
                     u"UPDATING"_s,
                     u"STALE"_s,
                     u"EVICTED"_s,
                     u"PURGED"_s});
        table.setRightAligned({1, 3, 4, 5, 6, 7, 8, 9});
        for (const EdgeCacheStats &e : result.value()) {
            if (!e.reachable || !e.enabled) {
                table.addRow({e.id, u"-"_s, e.reachable ? u"no cache"_s : u"unreachable"_s});
                continue;
            }
            const double ratio = e.hitRatio();
            table.addRow({e.id,
                          QString::number(e.entries),
                          u"%1 of %2"_s.arg(formatBytes(e.bytes), formatBytes(e.maxBytes)),
                          ratio < 0 ? u"-"_s : u"%1 %"_s.arg(ratio * 100.0, 0, 'f', 1),
                          QString::number(e.hits),
                          QString::number(e.misses),
                          QString::number(e.updating),
                          QString::number(e.stale),
                          QString::number(e.evictions),
                          QString::number(e.purged)});
        }
        writeOut(table.render());
        done(ExitOk);
    });
}

void CtlRunner::showPurge(const PurgeStatus &status)
{
    QStringList paths;
    for (const QJsonValue &path : status.action.args.value(u"paths"_s).toArray())
        paths.append(path.toString());
    QString text = u"%1 (cache purge %2%3): applied at %4 of %5 edge(s)\n"_s
                           .arg(status.action.id,
                                paths.join(u' '),
                                status.action.args.contains(u"host"_s)
                                        ? u" on "_s + status.action.args.value(u"host"_s).toString()
                                        : QString())
                           .arg(status.applied)
                           .arg(status.total);
    for (const PurgeEdge &edge : status.edges) {
        text += u"  %1  %2"_s.arg(edge.id.leftJustified(20), edge.state);
        if (edge.removed >= 0)
            text += u", %1 cached response(s) removed"_s.arg(edge.removed);
        else if (edge.state == u"applied"_s)
            text += u" (its cache started after the purge)"_s;
        else if (edge.state == u"unreachable"_s)
            text += u" (applies it once it is back; a restarted edge starts empty)"_s;
        text += u'\n';
    }
    // Server-given words are cleaned of control characters line by line; the breaks are ours.
    QStringList lines = text.split(u'\n');
    for (QString &line : lines)
        line = clean(line);
    writeOut(lines.join(u'\n'));
}

void CtlRunner::pollPurge(const QString &actionId, double timeoutS)
{
    m_client->purgeStatus(actionId,
                          this,
                          [this, actionId, timeoutS](const ApiResult<PurgeStatus> &result) {
                              if (m_finished)
                                  return;
                              const double elapsed = double(m_waitClock.elapsed()) / 1000.0;
                              // The answering node may not have the leader's record of the action
                              // for a moment.
                              const bool notHereYet = !result && result.error().httpStatus == 404
                                                      && elapsed < kActionReplicationS;
                              if (!result && !notHereYet)
                                  return failApi(result.error());
                              if (result && result.value().done) {
                                  // With -o json stdout holds the one answer already printed
                                  // (`cache status -o json` gives the edges), as drain --wait.
                                  if (!json())
                                      writeOut(u"purged at every edge in %1\n"_s.arg(
                                              formatDuration(elapsed)));
                                  return done(ExitOk);
                              }
                              if (elapsed > timeoutS) {
                                  if (!json() && result)
                                      showPurge(result.value());
                                  return failOperation(
                                          u"%1 was not applied at every edge within %2; it stays "
                                          u"recorded, and edges "
                                          "apply it as they catch up (`meridianctl cache status %1`)"_s
                                                  .arg(actionId, formatDuration(timeoutS)));
                              }
                              QTimer::singleShot(kPollInterval, this, [this, actionId, timeoutS] {
                                  pollPurge(actionId, timeoutS);
                              });
                          });
}

void CtlRunner::runActivate()
{
    const QString region = m_invocation.args.at(0);
    m_client->activate(region,
                       m_invocation.isSet(u"force"_s),
                       this,
                       finishAction(u"activate %1"_s.arg(region)));
}

void CtlRunner::runPromote()
{
    const QString region = m_invocation.args.at(0);
    m_client->promote(region,
                      m_invocation.isSet(u"force"_s),
                      this,
                      finishAction(u"promote %1"_s.arg(region)));
}

void CtlRunner::runStrategySet()
{
    StrategyInfo strategy;
    strategy.name = m_invocation.args.at(0);
    for (const QString &param : m_invocation.values(u"param"_s)) {
        const auto parsed = parseParam(param);
        if (!parsed)
            return failUsage(u"--param needs KEY=VALUE, not \"%1\""_s.arg(param));
        if (strategy.params.contains(parsed->first))
            return failUsage(u"--param %1 given twice"_s.arg(parsed->first));
        strategy.params.insert(parsed->first, parsed->second);
    }
    m_client->setStrategy(strategy,
                          m_invocation.isSet(u"force"_s),
                          this,
                          finishAction(u"strategy %1"_s.arg(strategy.name)));
}

void CtlRunner::runDial()
{
    const QString region = m_invocation.args.at(0);
    QString text = m_invocation.args.at(1);
    if (text.endsWith(u'%'))
        text.chop(1);
    bool ok = false;
    const int percent = text.toInt(&ok);
    if (!ok || percent < 0 || percent > 100)
        return failUsage(u"PERCENT must be a whole number from 0 to 100, not \"%1\""_s.arg(
                m_invocation.args.at(1)));
    m_client->setDial(region,
                      percent,
                      m_invocation.isSet(u"force"_s),
                      this,
                      finishAction(u"dial %1 to %2%"_s.arg(region).arg(percent)));
}

void CtlRunner::runRevert()
{
    const QString id = m_invocation.args.at(0);
    m_client->revert(id, m_invocation.isSet(u"force"_s), this, finishAction(u"revert %1"_s.arg(id)));
}

void CtlRunner::runApprove()
{
    const QString id = m_invocation.args.at(0);
    m_client->approve(id, this, finishAction(u"approve %1"_s.arg(id)));
}

// ---------------------------------------------------------------------------------------------
// Resync

void CtlRunner::runResync()
{
    const QString region = m_invocation.args.at(0);
    const bool wait = m_invocation.isSet(u"wait"_s);
    auto handle = [this, region, wait](const ApiResult<ResyncProgress> &result) {
        if (!result)
            return failApi(result.error());
        if (!wait || result.value().finished()) {
            if (json())
                printBody(result.body());
            else
                showResync(result.value(), true);
            if (result.value().state == u"failed"_s)
                return failOperation(u"resync of %1 failed: %2"_s.arg(region, result.value().error));
            return done(ExitOk);
        }
        m_progressOnTerminal = !json() && stdoutIsTerminal();
        m_waitClock.start();
        pollResync(region);
    };
    if (m_invocation.isSet(u"cancel"_s)) {
        if (m_invocation.isSet(u"from"_s) || wait)
            return failUsage(u"--cancel takes neither --from nor --wait"_s);
        m_client->cancelResync(region, this, handle);
        return;
    }
    m_client->startResync(region, m_invocation.value(u"from"_s), this, handle);
}

void CtlRunner::pollResync(const QString &region)
{
    m_client->resync(region, this, [this, region](const ApiResult<ResyncProgress> &result) {
        if (m_finished)
            return;
        if (!result) {
            if (m_progressOnTerminal)
                writeOut(u"\n"_s);
            return failApi(result.error());
        }
        const ResyncProgress &progress = result.value();
        if (progress.finished()) {
            if (json())
                printBody(result.body());
            else
                showResync(progress, true);
            if (progress.state == u"done"_s)
                return done(ExitOk);
            return failOperation(
                    u"resync %1 of %2 %3%4"_s.arg(progress.id, region, progress.state)
                            .arg(progress.error.isEmpty() ? QString() : u": "_s + progress.error));
        }
        if (!json())
            showResync(progress, false);
        QTimer::singleShot(kPollInterval, this, [this, region] { pollResync(region); });
    });
}

void CtlRunner::showResync(const ResyncProgress &p, bool final)
{
    const double fraction = p.bytesTotal > 0 ? double(p.bytesDone) / double(p.bytesTotal) : 0.0;
    QString detail = u"%1 %2 / %3"_s.arg(p.phase.leftJustified(9),
                                         formatBytes(p.bytesDone),
                                         p.bytesTotal > 0 ? formatBytes(p.bytesTotal) : u"?"_s);
    // Rows are counted in the verified snapshot: before that, 0 means "not counted yet".
    if (p.rows > 0
        || (p.phase != u"snapshot"_s && p.phase != u"transfer"_s && p.phase != u"verify"_s))
        detail += u", %1 rows"_s.arg(p.rows);
    if (!final && p.etaS)
        detail += u", ETA "_s + formatDuration(*p.etaS);
    if (m_progressOnTerminal) {
        // One line, redrawn in place.
        const double shown = final && p.state == u"done"_s ? 1.0 : fraction;
        QString line = u"resync %1 from %2 %3 %4"_s.arg(p.region.isEmpty() ? p.id : p.region,
                                                        p.from.isEmpty() ? u"?"_s : p.from,
                                                        progressBar(shown),
                                                        detail);
        if (final)
            line += u" - "_s + p.state;
        writeOut(u"\r\033[K"_s + clean(line) + (final ? u"\n"_s : QString()));
        return;
    }
    // Plain lines: on a phase change, every 2 s of progress, and at the end.
    const qint64 now = m_waitClock.isValid() ? m_waitClock.elapsed() : 0;
    const QString line
            = u"resync %1 (%2): %3 %4%"_s.arg(p.id, p.state, detail).arg(int(fraction * 100));
    if (final || p.phase != m_lastProgressLine || m_lastProgressMs < 0
        || now - m_lastProgressMs >= 2000) {
        writeOut(clean(line) + u'\n');
        m_lastProgressMs = now;
        m_lastProgressLine = p.phase;
    }
}

// ---------------------------------------------------------------------------------------------
// Events

void CtlRunner::runEvents()
{
    m_events = new EventStream(m_client, this);
    connect(m_events, &EventStream::eventReceived, this, [this](const ApiEvent &event) {
        if (json()) {
            const QJsonObject line{{u"event"_s, event.type},
                                   {u"id"_s,
                                    event.id.isEmpty() ? QJsonValue() : QJsonValue(event.id)},
                                   {u"data"_s, event.data}};
            writeOut(compactJson(line) + u'\n');
            return;
        }
        QString summary;
        const QJsonObject data = event.dataObject();
        if (event.type == u"action"_s) {
            const ApiResult<ActionInfo> action = event.action();
            summary = action ? u"%1 %2 %3 by %4 (%5)"_s.arg(action.value().id,
                                                            action.value().kind,
                                                            action.value().region,
                                                            action.value().actor,
                                                            action.value().status)
                             : compactJson(data);
        } else if (event.type == u"state"_s && data.value(u"regions"_s).isArray()) {
            QStringList states;
            for (const QJsonValue &region : data.value(u"regions"_s).toArray())
                states.append(
                        u"%1=%2"_s.arg(region[u"id"_s].toString(), region[u"state"_s].toString()));
            summary = states.join(u' ');
        } else {
            summary = event.data.isObject()
                              ? compactJson(data)
                              : QString::fromUtf8(QJsonDocument(QJsonArray{event.data})
                                                          .toJson(QJsonDocument::Compact));
        }
        writeOut(clean(u"%1  %2  %3\n"_s.arg(formatTime(QDateTime::currentDateTimeUtc()),
                                             event.type.leftJustified(7),
                                             summary)));
    });
    connect(m_events, &EventStream::stateChanged, this, [this](EventStream::State state) {
        if (state == EventStream::State::Connected)
            writeErr(u"meridianctl: following events of %1 (Ctrl-C to stop)\n"_s.arg(
                    m_client->endpoint().toString()));
    });
    connect(m_events, &EventStream::errorOccurred, this, [this](const ApiError &error) {
        if (m_events->state() == EventStream::State::Stopped)
            return failApi(error); // final: authentication refused
        if (m_events->state() == EventStream::State::WaitingToReconnect) {
            writeErr(u"meridianctl: %1; reconnecting\n"_s.arg(clean(error.message)));
            return;
        }
        writeErr(u"meridianctl: skipped an event: %1\n"_s.arg(clean(error.message)));
    });
    m_events->start();
}

// ---------------------------------------------------------------------------------------------
// Local cluster

void CtlRunner::runLocal()
{
    const QString name = m_invocation.command->name;
    const QString dir = m_invocation.value(u"dir"_s, u"meridian-local"_s);
    LocalCluster cluster(dir);
    QString error;

    if (name == u"local up"_s) {
        LocalClusterOptions options;
        bool ok = true;
        if (m_invocation.isSet(u"regions"_s)) {
            options.regions = m_invocation.value(u"regions"_s).toInt(&ok);
            if (!ok || options.regions < 1 || options.regions > LocalCluster::knownRegions().size())
                return failUsage(u"--regions must be a whole number from 1 to %1"_s.arg(
                        LocalCluster::knownRegions().size()));
        }
        const int edgeChoices = int(m_invocation.isSet(u"edge"_s))
                                + int(m_invocation.isSet(u"no-edge"_s))
                                + int(m_invocation.isSet(u"edges"_s));
        if (edgeChoices > 1)
            return failUsage(u"give only one of --edge, --no-edge and --edges"_s);
        if (m_invocation.isSet(u"no-edge"_s))
            options.edges = 0;
        if (m_invocation.isSet(u"edges"_s)) {
            options.edges = m_invocation.value(u"edges"_s).toInt(&ok);
            if (!ok || options.edges < 0 || options.edges > 4)
                return failUsage(u"--edges must be a whole number from 0 to 4"_s);
        }
        options.simulateWan = m_invocation.isSet(u"wan"_s);
        options.tls = {m_invocation.value(u"tls-cert"_s),
                       m_invocation.value(u"tls-key"_s),
                       m_invocation.value(u"tls-ca"_s)};
        if (options.tls.isEnabled()
            && (options.tls.certificateFile.isEmpty() || options.tls.privateKeyFile.isEmpty()
                || options.tls.caFile.isEmpty()))
            return failUsage(u"--tls-cert, --tls-key and --tls-ca go together"_s);
        if (!cluster.up(options, &error))
            return failOperation(u"local up failed: "_s + error);
        if (json()) {
            writeOut(QString::fromUtf8(
                    QJsonDocument(cluster.toJson()).toJson(QJsonDocument::Indented)));
            return done(ExitOk);
        }
        Table table({u"ID"_s, u"ROLE"_s, u"DATA URL"_s, u"CONTROL URL"_s, u"PID"_s});
        table.setRightAligned({4});
        for (const LocalNode &node : cluster.nodes()) {
            table.addRow({node.id,
                          node.role,
                          node.httpsUrl.isEmpty()
                                  ? node.dataUrl.toString()
                                  : node.dataUrl.toString() + u" "_s + node.httpsUrl.toString(),
                          node.controlUrl.toString(),
                          QString::number(node.pid)});
        }
        QString endpoint;
        for (const LocalNode &node : cluster.nodes()) {
            if (node.role == u"region"_s) {
                endpoint = node.controlUrl.toString();
                break;
            }
        }
        writeOut(table.render());
        writeOut(u"\nadmin token:  %1\nviewer token: %2\n(also in %3)\n\n"
                 "export MERIDIAN_ENDPOINT=%4 MERIDIAN_TOKEN=%1%5\n"_s
                         .arg(QString::fromLatin1(cluster.adminToken()),
                              QString::fromLatin1(cluster.viewerToken()),
                              cluster.clusterFile(),
                              endpoint,
                              cluster.caFile().isEmpty()
                                      ? QString()
                                      : u" MERIDIAN_CACERT="_s + cluster.caFile()));
        return done(ExitOk);
    }

    if (!QFileInfo::exists(cluster.clusterFile()))
        return failOperation(u"%1 holds no local cluster (no cluster.json); start one with "
                             "`meridianctl local up --dir %2`"_s.arg(cluster.dir(), dir));
    if (!cluster.load(&error))
        return failOperation(error);

    if (name == u"local down"_s) {
        double graceS = 10;
        if (m_invocation.isSet(u"grace"_s)) {
            const auto parsed = parseDuration(m_invocation.value(u"grace"_s));
            if (!parsed)
                return failUsage(u"--grace must be a duration such as 10s"_s);
            graceS = *parsed;
        }
        if (!cluster.down(int(graceS * 1000), &error))
            return failOperation(u"local down: "_s + error);
        if (!json())
            writeOut(u"stopped the local cluster in %1\n"_s.arg(cluster.dir()));
        else
            writeOut(QString::fromUtf8(
                    QJsonDocument(cluster.toJson()).toJson(QJsonDocument::Indented)));
        return done(ExitOk);
    }

    const QString id = m_invocation.args.at(0);
    if (!cluster.node(id)) {
        QStringList ids;
        for (const LocalNode &node : cluster.nodes())
            ids.append(node.id);
        return failOperation(u"no node \"%1\" in %2; its nodes are %3"_s.arg(id,
                                                                             cluster.dir(),
                                                                             ids.join(u", "_s)));
    }
    const bool ok = name == u"local kill"_s ? cluster.kill(id, &error) : cluster.start(id, &error);
    if (!ok)
        return failOperation(u"%1 %2: %3"_s.arg(name, id, error));
    if (json()) {
        writeOut(compactJson(cluster.node(id)->toJson()) + u'\n');
    } else if (name == u"local kill"_s) {
        writeOut(u"killed %1 (SIGKILL); bring it back with `meridianctl local start %1 --dir %2`\n"_s
                         .arg(id, dir));
    } else {
        writeOut(u"started %1 (pid %2), control API %3\n"_s.arg(id)
                         .arg(cluster.node(id)->pid)
                         .arg(cluster.node(id)->controlUrl.toString()));
    }
    done(ExitOk);
}

} // namespace Meridian::Ctl
