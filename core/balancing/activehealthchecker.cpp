#include "core/balancing/activehealthchecker.h"

#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QSslConfiguration>
#include <QUrl>

using namespace Qt::StringLiterals;

namespace Meridian {

Q_LOGGING_CATEGORY(lcHealth, "meridian.balancing.health", QtInfoMsg)

namespace {
constexpr char probeUserAgentPrefix[] = "meridian-health/";
}

ActiveHealthChecker::ActiveHealthChecker(const Clock &clock, QObject *parent)
    : QObject(parent)
    , m_clock(clock)
    , m_network(new QNetworkAccessManager(this))
{
    m_network->setProxy(QNetworkProxy::NoProxy);
    m_network->setRedirectPolicy(QNetworkRequest::ManualRedirectPolicy);
    m_timer.setSingleShot(true);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        runDueChecks();
        scheduleTimer();
    });
}

ActiveHealthChecker::~ActiveHealthChecker()
{
    for (Target &target : m_targets) {
        if (target.reply) {
            target.reply->disconnect(this);
            target.reply->abort();
        }
    }
}

BalancingResult<> ActiveHealthChecker::setSettings(const HealthCheckSettings &settings)
{
    if (const auto valid = settings.validate(); !valid)
        return valid;
    const bool thresholdsChanged = settings.rise != m_settings.rise
                                   || settings.fall != m_settings.fall;
    m_settings = settings;
    if (thresholdsChanged) {
        for (Target &target : m_targets) {
            HealthCounter counter(m_settings.rise, m_settings.fall);
            // Carry the state over: replay the current streak into the new thresholds.
            if (target.counter.state() != HealthState::Unknown)
                counter.record(target.counter.state() == HealthState::Healthy);
            target.counter = counter;
        }
    }
    scheduleTimer();
    return {};
}

void ActiveHealthChecker::setTargets(const QList<EndpointRef> &targets)
{
    QHash<EndpointRef, Target> next;
    const Clock::Duration now = m_clock.now();
    for (const EndpointRef &ref : targets) {
        if (next.contains(ref))
            continue;
        auto it = m_targets.find(ref);
        if (it != m_targets.end()) {
            next.insert(ref, it.value());
            m_targets.erase(it);
        } else {
            Target target{HealthCounter(m_settings.rise, m_settings.fall), now, nullptr};
            next.insert(ref, target);
        }
    }
    for (Target &gone : m_targets) {
        if (gone.reply) {
            gone.reply->disconnect(this);
            gone.reply->abort();
            gone.reply->deleteLater();
        }
    }
    m_targets = std::move(next);
    m_order.clear();
    for (const EndpointRef &ref : targets) {
        if (!m_order.contains(ref))
            m_order.append(ref);
    }
    scheduleTimer();
}

QList<EndpointRef> ActiveHealthChecker::targets() const
{
    return m_order;
}

void ActiveHealthChecker::start()
{
    m_running = true;
    runDueChecks();
    scheduleTimer();
}

void ActiveHealthChecker::stop()
{
    m_running = false;
    m_timer.stop();
}

int ActiveHealthChecker::probesInFlight() const
{
    int count = 0;
    for (const Target &target : m_targets)
        count += target.reply ? 1 : 0;
    return count;
}

HealthState ActiveHealthChecker::health(const EndpointRef &target) const
{
    auto it = m_targets.constFind(target);
    return it == m_targets.constEnd() ? HealthState::Unknown : it->counter.state();
}

int ActiveHealthChecker::runDueChecks()
{
    const Clock::Duration now = m_clock.now();
    int started = 0;
    for (const EndpointRef &ref : std::as_const(m_order)) {
        Target &target = m_targets[ref];
        if (target.reply || target.nextDue > now)
            continue;
        // The next check is one interval after this one was due (no drift), or after now if
        // the checker fell behind by more than an interval.
        target.nextDue = std::max(target.nextDue + m_settings.interval, now);
        if (target.nextDue == now)
            target.nextDue = now + m_settings.interval;
        probe(ref, target);
        ++started;
    }
    return started;
}

bool ActiveHealthChecker::isProbeUserAgent(QByteArrayView userAgent)
{
    return userAgent.startsWith(probeUserAgentPrefix);
}

void ActiveHealthChecker::setCaCertificates(const QList<QSslCertificate> &certificates)
{
    m_caCertificates = certificates;
    // QNetworkAccessManager keeps connections (and their verdicts) per host: new trust must
    // start from new connections.
    m_network->clearConnectionCache();
}

void ActiveHealthChecker::probe(const EndpointRef &ref, Target &target)
{
    QUrl url(ref.url);
    QString path = url.path();
    if (path.endsWith(u'/'))
        path.chop(1);
    url.setPath(path + m_settings.path);
    QNetworkRequest request(url);
    request.setTransferTimeout(int(m_settings.timeout.count()));
    request.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
    request.setRawHeader("User-Agent", QByteArray(probeUserAgentPrefix) + MERIDIAN_VERSION);
    request.setRawHeader("Connection", "close");
    if (!m_caCertificates.isEmpty()) {
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setCaCertificates(m_caCertificates);
        request.setSslConfiguration(tls);
    }
    QNetworkReply *reply = m_network->get(request);
    target.reply = reply;
    connect(reply, &QNetworkReply::finished, this, [this, ref, reply] {
        onReplyFinished(ref, reply);
    });
}

void ActiveHealthChecker::onReplyFinished(const EndpointRef &ref, QNetworkReply *reply)
{
    reply->deleteLater();
    auto it = m_targets.find(ref);
    if (it == m_targets.end() || it->reply != reply)
        return;
    it->reply = nullptr;
    const QVariant statusAttribute = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
    const int status = statusAttribute.isValid() ? statusAttribute.toInt() : 0;
    bool success = false;
    QString detail;
    if (reply->error() == QNetworkReply::OperationCanceledError
        || reply->error() == QNetworkReply::TimeoutError) {
        detail = u"timeout after %1 ms"_s.arg(m_settings.timeout.count());
    } else if (status != 0) {
        success = status >= m_settings.expectStatusMin && status <= m_settings.expectStatusMax;
        detail = u"HTTP %1"_s.arg(status);
    } else {
        detail = reply->errorString();
    }
    const HealthState before = it->counter.state();
    const HealthState after = it->counter.record(success);
    emit probeFinished(ref.regionId, ref.url, success, detail);
    if (after != before) {
        qCInfo(lcHealth).noquote()
                << ref.regionId << ref.url << "is now" << toString(after) << "(" << detail << ")";
        emit healthChanged(ref.regionId, ref.url, after);
    }
    scheduleTimer();
}

void ActiveHealthChecker::scheduleTimer()
{
    if (!m_running)
        return;
    Clock::Duration earliest = Clock::Duration::max();
    for (const Target &target : std::as_const(m_targets)) {
        if (!target.reply)
            earliest = std::min(earliest, target.nextDue);
    }
    if (earliest == Clock::Duration::max()) {
        // Every endpoint is being probed: look again after one interval at the latest.
        m_timer.start(m_settings.interval);
        return;
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(earliest
                                                                            - m_clock.now());
    m_timer.start(std::max(wait, std::chrono::milliseconds(0)));
}

} // namespace Meridian
