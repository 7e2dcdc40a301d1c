#pragma once

// ConnectDialog: choose, create, edit or remove a cluster profile (name, control endpoints,
// token) and connect: the connection is tested (GET /v1/status on each endpoint in order) before
// the dialog accepts. Tokens are stored by ProfileStore (keychain, or this session only: the
// dialog says which).
//
// How to wire it (MainWindow or main.cpp):
//   Meridian::ConnectDialog dialog(profiles, this);   // profiles: a Meridian::ProfileStore *
//   connect(&dialog, &QDialog::accepted, this, [&] {
//       const Meridian::ClusterProfile p = dialog.profile();
//       client->setEndpoint(dialog.connectedEndpoint());
//       client->setToken(p.token);
//   });
//   dialog.open(); // or exec() at start-up
// Tests call testConnection() and wait for connectionTested().

#include "core/control/apitypes.h"
#include "ui/profilestore.h"

#include <QDialog>
#include <QPointer>

class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QPushButton;

namespace Meridian {

class ControlClient;
class ControlCall;

class ConnectDialog final : public QDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ConnectDialog)

public:
    explicit ConnectDialog(ProfileStore *store, QWidget *parent = nullptr);
    ~ConnectDialog() override;

    // The profile as edited (with its token).
    ClusterProfile profile() const;
    // The endpoint that answered the last successful test, and what it said.
    QString connectedEndpoint() const { return m_connectedEndpoint; }
    const Api::NodeStatus &connectedStatus() const { return m_status; }

    void selectProfile(const QString &name);
    void setProfile(const ClusterProfile &profile);
    QLineEdit *nameEdit() const { return m_name; }
    QPlainTextEdit *endpointsEdit() const { return m_endpoints; }
    QLineEdit *tokenEdit() const { return m_token; }
    QLineEdit *caFileEdit() const { return m_caFile; }
    QLabel *resultLabel() const { return m_result; }
    QLabel *tokenNoteLabel() const { return m_tokenNote; }

public slots:
    // Tries each endpoint in order; emits connectionTested.
    void testConnection();
    // Saves the profile, tests the connection and accepts on success.
    void accept() override;

signals:
    void connectionTested(bool ok, const QString &message);

private:
    void reloadList();
    void showProfile(const QString &name);
    void tryEndpoint(int index, const QStringList &endpoints, bool acceptAfter, QStringList errors);
    void finishTest(bool ok, const QString &message, bool acceptAfter);
    void setBusy(bool busy);

    ProfileStore *m_store;
    ControlClient *m_client;
    QPointer<ControlCall> m_call;
    QListWidget *m_list;
    QLineEdit *m_name;
    QPlainTextEdit *m_endpoints;
    QLineEdit *m_token;
    QLineEdit *m_caFile;
    QLabel *m_tokenNote;
    QLabel *m_result;
    QPushButton *m_test;
    QPushButton *m_connect;
    QPushButton *m_remove;
    QString m_connectedEndpoint;
    Api::NodeStatus m_status;
    QString m_loadedName;
    int m_generation = 0;
};

} // namespace Meridian
