#pragma once

// ProfileStore: the cluster profiles of the control room (a name, the control endpoints to try
// in order, a token). Names and endpoints live in QSettings; the token NEVER does: it goes to
// the desktop keychain (QtKeychain: Secret Service, KWallet, ...). Where no keychain service
// runs (CI, Xvfb, a bare session) the token is kept in memory for this session only and
// tokenStorageNote() says so, for the UI to tell the operator.
//
// How to wire it (main.cpp / MainWindow):
//   auto *profiles = new Meridian::ProfileStore(nullptr, this); // QSettings() of the app
//   Meridian::ConnectDialog dialog(profiles, this);                // ui/connectdialog.h
// Tests: new ProfileStore(new QSettings(iniPath, QSettings::IniFormat), parent) and
// setKeychainEnabled(false) for a session-only store that never touches the keychain.

#include <QHash>
#include <QObject>
#include <QStringList>

#include <functional>
#include <optional>

class QSettings;

namespace Meridian {

struct ClusterProfile
{
    QString name;
    QStringList endpoints; // "http://127.0.0.1:42001", tried in order
    QString token;         // never written to QSettings
    QString caFile;        // PEM CA trusted for https:// endpoints besides the system's; "" = none
};

class ProfileStore final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ProfileStore)

public:
    // Takes ownership of `settings`; null: the application's QSettings().
    explicit ProfileStore(QSettings *settings = nullptr, QObject *parent = nullptr);
    ~ProfileStore() override;

    // false: tokens are kept for the session only, the keychain is never asked.
    void setKeychainEnabled(bool enabled);
    bool keychainEnabled() const { return m_keychainEnabled; }
    // false once the keychain failed (no service): tokens are then session-only.
    bool keychainAvailable() const { return m_keychainEnabled && m_keychainWorks; }
    // Asks the keychain once whether it answers at all (async; keychainChecked follows), so
    // that tokenStorageNote() is right before the first token is stored.
    void checkKeychain();
    bool isKeychainChecked() const { return m_keychainChecked; }
    // The keychain's own words when it failed (for a tooltip; often just "Unknown error").
    QString keychainError() const { return m_keychainError; }
    // What the operator is told about where tokens are kept.
    QString tokenStorageNote() const;

    // Profiles without their tokens (see token()/loadToken()), in the order saved.
    QList<ClusterProfile> profiles() const;
    QStringList names() const;
    std::optional<ClusterProfile> profile(const QString &name) const;
    QString lastUsed() const;
    void setLastUsed(const QString &name);

    // Adds or replaces the profile `profile.name`; its token goes to the keychain (async,
    // tokenStored tells how it went) or the session. Returns the reason when unusable.
    QString saveProfile(const ClusterProfile &profile);
    void removeProfile(const QString &name);
    // Renames keep the token: the old keychain entry is moved.
    QString renameProfile(const QString &from, const QString &to);

    // The token known in this session ("" if none yet).
    QString token(const QString &name) const { return m_sessionTokens.value(name); }
    // Reads the token from the keychain when this session does not have it; `done` runs once
    // on this object's thread with the token ("" when none).
    void loadToken(const QString &name, QObject *context, std::function<void(QString)> done);

    static QString keychainService() { return QStringLiteral("meridian"); }

signals:
    void profilesChanged();
    // inKeychain false: the token is kept for this session only (`note` says why).
    void tokenStored(const QString &name, bool inKeychain, const QString &note);
    void keychainChecked(bool available);

private:
    void writeProfiles(const QList<ClusterProfile> &profiles);
    void storeToken(const QString &name, const QString &token);
    void deleteToken(const QString &name);
    void keychainFailed(const QString &reason);

    QSettings *m_settings;
    bool m_keychainEnabled = true;
    bool m_keychainWorks = true;
    bool m_keychainChecked = false;
    bool m_keychainChecking = false;
    QString m_keychainError;
    QHash<QString, QString> m_sessionTokens;
};

} // namespace Meridian
