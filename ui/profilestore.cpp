#include "ui/profilestore.h"

#include <qt6keychain/keychain.h>

#include <QPointer>
#include <QSettings>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

QString keyFor(const QString &name)
{
    return u"profile/"_s + name;
}

// Errors that mean "there is no keychain here", as opposed to "no entry for this key".
bool isServiceMissing(QKeychain::Error error)
{
    return error == QKeychain::NoBackendAvailable || error == QKeychain::NotImplemented
           || error == QKeychain::OtherError || error == QKeychain::AccessDeniedByUser
           || error == QKeychain::AccessDenied || error == QKeychain::CouldNotDeleteEntry;
}

} // namespace

ProfileStore::ProfileStore(QSettings *settings, QObject *parent)
    : QObject(parent)
    , m_settings(settings ? settings : new QSettings)
{
    m_settings->setParent(this);
}

ProfileStore::~ProfileStore() = default;

void ProfileStore::setKeychainEnabled(bool enabled)
{
    m_keychainEnabled = enabled;
}

QString ProfileStore::tokenStorageNote() const
{
    if (!m_keychainEnabled)
        return tr("Tokens are kept for this session only (the keychain is turned off); "
                  "you will be asked again next time.");
    if (!m_keychainWorks)
        return tr("No desktop keychain service answered, so tokens are kept for this session "
                  "only: you will be asked again next time. They are never written to the "
                  "settings file.");
    return tr("Tokens are kept in the desktop keychain (service \"%1\"), never in the settings "
              "file.")
            .arg(keychainService());
}

QList<ClusterProfile> ProfileStore::profiles() const
{
    QList<ClusterProfile> profiles;
    const int size = m_settings->beginReadArray(u"profiles"_s);
    for (int i = 0; i < size; ++i) {
        m_settings->setArrayIndex(i);
        ClusterProfile profile;
        profile.name = m_settings->value(u"name"_s).toString();
        profile.endpoints = m_settings->value(u"endpoints"_s).toStringList();
        profile.caFile = m_settings->value(u"ca_file"_s).toString();
        if (!profile.name.isEmpty())
            profiles.append(profile);
    }
    m_settings->endArray();
    return profiles;
}

QStringList ProfileStore::names() const
{
    QStringList names;
    for (const ClusterProfile &profile : profiles())
        names.append(profile.name);
    return names;
}

std::optional<ClusterProfile> ProfileStore::profile(const QString &name) const
{
    for (ClusterProfile &profile : profiles()) {
        if (profile.name == name) {
            profile.token = m_sessionTokens.value(name);
            return profile;
        }
    }
    return std::nullopt;
}

QString ProfileStore::lastUsed() const
{
    return m_settings->value(u"lastProfile"_s).toString();
}

void ProfileStore::setLastUsed(const QString &name)
{
    m_settings->setValue(u"lastProfile"_s, name);
    m_settings->sync();
}

void ProfileStore::writeProfiles(const QList<ClusterProfile> &profiles)
{
    m_settings->remove(u"profiles"_s);
    m_settings->beginWriteArray(u"profiles"_s, int(profiles.size()));
    for (int i = 0; i < profiles.size(); ++i) {
        m_settings->setArrayIndex(i);
        m_settings->setValue(u"name"_s, profiles.at(i).name);
        m_settings->setValue(u"endpoints"_s, profiles.at(i).endpoints);
        if (!profiles.at(i).caFile.isEmpty())
            m_settings->setValue(u"ca_file"_s, profiles.at(i).caFile);
    }
    m_settings->endArray();
    m_settings->sync();
    emit profilesChanged();
}

QString ProfileStore::saveProfile(const ClusterProfile &profile)
{
    const QString name = profile.name.trimmed();
    if (name.isEmpty())
        return tr("The profile needs a name.");
    QStringList endpoints;
    for (const QString &endpoint : profile.endpoints) {
        if (!endpoint.trimmed().isEmpty())
            endpoints.append(endpoint.trimmed());
    }
    if (endpoints.isEmpty())
        return tr("The profile needs at least one control endpoint (host:port).");
    QList<ClusterProfile> all = profiles();
    ClusterProfile stored{name, endpoints, {}, profile.caFile.trimmed()};
    bool replaced = false;
    for (ClusterProfile &existing : all) {
        if (existing.name == name) {
            existing = stored;
            replaced = true;
        }
    }
    if (!replaced)
        all.append(stored);
    writeProfiles(all);
    if (profile.token != m_sessionTokens.value(name) || !m_sessionTokens.contains(name))
        storeToken(name, profile.token);
    return {};
}

void ProfileStore::removeProfile(const QString &name)
{
    QList<ClusterProfile> all = profiles();
    all.removeIf([&name](const ClusterProfile &p) { return p.name == name; });
    writeProfiles(all);
    m_sessionTokens.remove(name);
    deleteToken(name);
}

QString ProfileStore::renameProfile(const QString &from, const QString &to)
{
    std::optional<ClusterProfile> old = profile(from);
    if (!old)
        return tr("There is no profile named %1.").arg(from);
    if (from == to)
        return {};
    if (profile(to))
        return tr("A profile named %1 exists already.").arg(to);
    const QString token = m_sessionTokens.value(from);
    QList<ClusterProfile> all = profiles();
    for (ClusterProfile &p : all) {
        if (p.name == from)
            p.name = to;
    }
    writeProfiles(all);
    m_sessionTokens.remove(from);
    deleteToken(from);
    storeToken(to, token);
    return {};
}

void ProfileStore::checkKeychain()
{
    if (m_keychainChecked || m_keychainChecking)
        return;
    if (!m_keychainEnabled) {
        m_keychainChecked = true;
        QMetaObject::invokeMethod(
                this, [this] { emit keychainChecked(false); }, Qt::QueuedConnection);
        return;
    }
    m_keychainChecking = true;
    auto *job = new QKeychain::ReadPasswordJob(keychainService(), this);
    job->setAutoDelete(true);
    job->setInsecureFallback(false);
    job->setKey(u"probe"_s);
    connect(job, &QKeychain::Job::finished, this, [this](QKeychain::Job *j) {
        m_keychainChecking = false;
        m_keychainChecked = true;
        // "No such entry" is the keychain answering; anything else means there is none.
        if (j->error() != QKeychain::NoError && j->error() != QKeychain::EntryNotFound)
            keychainFailed(j->errorString());
        emit keychainChecked(keychainAvailable());
    });
    job->start();
}

void ProfileStore::keychainFailed(const QString &reason)
{
    m_keychainWorks = false;
    m_keychainError = reason;
}

void ProfileStore::storeToken(const QString &name, const QString &token)
{
    m_sessionTokens.insert(name, token);
    if (!keychainAvailable()) {
        emit tokenStored(name, false, tokenStorageNote());
        return;
    }
    if (token.isEmpty()) {
        deleteToken(name);
        emit tokenStored(name, true, tokenStorageNote());
        return;
    }
    auto *job = new QKeychain::WritePasswordJob(keychainService(), this);
    job->setAutoDelete(true);
    job->setInsecureFallback(false);
    job->setKey(keyFor(name));
    job->setTextData(token);
    connect(job, &QKeychain::Job::finished, this, [this, name](QKeychain::Job *done) {
        if (done->error() != QKeychain::NoError) {
            keychainFailed(done->errorString());
            emit tokenStored(name, false, tokenStorageNote());
            return;
        }
        emit tokenStored(name, true, tokenStorageNote());
    });
    job->start();
}

void ProfileStore::deleteToken(const QString &name)
{
    if (!keychainAvailable())
        return;
    auto *job = new QKeychain::DeletePasswordJob(keychainService(), this);
    job->setAutoDelete(true);
    job->setInsecureFallback(false);
    job->setKey(keyFor(name));
    job->start();
}

void ProfileStore::loadToken(const QString &name,
                             QObject *context,
                             std::function<void(QString)> done)
{
    if (m_sessionTokens.contains(name) || !keychainAvailable()) {
        const QString token = m_sessionTokens.value(name);
        QMetaObject::invokeMethod(
                context, [done, token] { done(token); }, Qt::QueuedConnection);
        return;
    }
    auto *job = new QKeychain::ReadPasswordJob(keychainService(), this);
    job->setAutoDelete(true);
    job->setInsecureFallback(false);
    job->setKey(keyFor(name));
    QPointer<QObject> guard(context);
    connect(job, &QKeychain::Job::finished, this, [this, name, guard, done](QKeychain::Job *j) {
        QString token;
        if (j->error() == QKeychain::NoError) {
            token = static_cast<QKeychain::ReadPasswordJob *>(j)->textData();
            m_sessionTokens.insert(name, token);
        } else if (j->error() != QKeychain::EntryNotFound && isServiceMissing(j->error())) {
            keychainFailed(j->errorString());
        }
        if (guard)
            done(token);
    });
    job->start();
}

} // namespace Meridian
