#include "ui/connectdialog.h"

#include "core/control/controlclient.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace Meridian {

ConnectDialog::ConnectDialog(ProfileStore *store, QWidget *parent)
    : QDialog(parent)
    , m_store(store)
    , m_client(new ControlClient(this))
    , m_list(new QListWidget)
    , m_name(new QLineEdit)
    , m_endpoints(new QPlainTextEdit)
    , m_token(new QLineEdit)
    , m_caFile(new QLineEdit)
    , m_tokenNote(new QLabel)
    , m_result(new QLabel)
{
    setWindowTitle(tr("Connect to a cluster"));
    m_client->setTimeout(std::chrono::milliseconds(5000));

    m_list->setAccessibleName(tr("Cluster profiles"));
    m_list->setMinimumWidth(160);
    auto *add = new QPushButton(tr("&New"));
    m_remove = new QPushButton(tr("&Remove"));
    auto *listButtons = new QHBoxLayout;
    listButtons->addWidget(add);
    listButtons->addWidget(m_remove);
    auto *left = new QVBoxLayout;
    left->addWidget(new QLabel(tr("Profiles")));
    left->addWidget(m_list, 1);
    left->addLayout(listButtons);

    m_name->setPlaceholderText(tr("production"));
    m_endpoints->setPlaceholderText(tr("One control endpoint per line, tried in order:\n"
                                       "https://eu-west.example.net:9443\n127.0.0.1:42001"));
    m_endpoints->setTabChangesFocus(true);
    m_endpoints->setMinimumHeight(m_endpoints->fontMetrics().lineSpacing() * 5);
    m_token->setEchoMode(QLineEdit::Password);
    m_token->setPlaceholderText(tr("Bearer token (admin or viewer)"));
    auto *show = new QCheckBox(tr("S&how"));
    show->setToolTip(tr("Show or hide the token"));
    connect(show, &QCheckBox::toggled, this, [this](bool on) {
        m_token->setEchoMode(on ? QLineEdit::Normal : QLineEdit::Password);
    });
    m_caFile->setPlaceholderText(tr("Optional (PEM)"));
    m_caFile->setToolTip(tr("For https:// endpoints whose certificate comes from the cluster's "
                            "own certificate authority; the system's CAs are always trusted."));
    auto *browse = new QPushButton(tr("&Browse…"));
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this,
                                                          tr("CA certificate"),
                                                          m_caFile->text(),
                                                          tr("PEM certificates (*.pem *.crt);;"
                                                             "All files (*)"));
        if (!file.isEmpty())
            m_caFile->setText(file);
    });
    auto *caRow = new QHBoxLayout;
    caRow->addWidget(m_caFile, 1);
    caRow->addWidget(browse);
    auto *tokenRow = new QHBoxLayout;
    tokenRow->addWidget(m_token, 1);
    tokenRow->addWidget(show);
    m_tokenNote->setWordWrap(true);
    m_tokenNote->setText(m_store->tokenStorageNote());
    QFont small = m_tokenNote->font();
    small.setPointSizeF(small.pointSizeF() * 0.9);
    m_tokenNote->setFont(small);
    m_result->setWordWrap(true);
    m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_result->setMinimumHeight(m_result->fontMetrics().lineSpacing() * 3);

    auto *form = new QFormLayout;
    form->addRow(tr("&Name:"), m_name);
    form->addRow(tr("&Endpoints:"), m_endpoints);
    auto *tokenLabel = new QLabel(tr("&Token:"));
    tokenLabel->setBuddy(m_token);
    form->addRow(tokenLabel, tokenRow);
    form->addRow(QString(), m_tokenNote);
    auto *caLabel = new QLabel(tr("C&A certificate:"));
    caLabel->setBuddy(m_caFile);
    form->addRow(caLabel, caRow);
    auto *right = new QVBoxLayout;
    right->addLayout(form);
    right->addWidget(m_result);
    right->addStretch(1);

    auto *buttons = new QDialogButtonBox;
    m_test = buttons->addButton(tr("&Test connection"), QDialogButtonBox::ActionRole);
    m_connect = buttons->addButton(tr("&Connect"), QDialogButtonBox::AcceptRole);
    buttons->addButton(QDialogButtonBox::Cancel);
    m_connect->setDefault(true);

    auto *columns = new QHBoxLayout;
    columns->addLayout(left);
    columns->addLayout(right, 1);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(columns, 1);
    layout->addWidget(buttons);

    connect(buttons, &QDialogButtonBox::accepted, this, &ConnectDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &ConnectDialog::reject);
    connect(m_test, &QPushButton::clicked, this, &ConnectDialog::testConnection);
    connect(add, &QPushButton::clicked, this, [this] {
        m_list->clearSelection();
        setProfile({});
        m_name->setFocus();
    });
    connect(m_remove, &QPushButton::clicked, this, [this] {
        const QString name = m_list->currentItem() ? m_list->currentItem()->text() : QString();
        if (name.isEmpty())
            return;
        m_store->removeProfile(name);
        setProfile({});
    });
    // Selection, not the current item: focusing the list makes its first row current without
    // selecting it, and that must not replace a profile being typed in.
    connect(m_list, &QListWidget::itemSelectionChanged, this, [this] {
        const QList<QListWidgetItem *> selected = m_list->selectedItems();
        if (!selected.isEmpty())
            showProfile(selected.first()->text());
    });
    connect(m_store, &ProfileStore::profilesChanged, this, &ConnectDialog::reloadList);
    connect(m_store,
            &ProfileStore::tokenStored,
            this,
            [this](const QString &, bool, const QString &note) { m_tokenNote->setText(note); });
    connect(m_store, &ProfileStore::keychainChecked, this, [this] {
        m_tokenNote->setText(m_store->tokenStorageNote());
        m_tokenNote->setToolTip(m_store->keychainError());
    });
    m_store->checkKeychain();

    reloadList();
    const QString last = m_store->lastUsed();
    if (!last.isEmpty())
        selectProfile(last);
    else if (m_list->count() > 0)
        m_list->setCurrentRow(0);
    resize(620, 360);
}

ConnectDialog::~ConnectDialog() = default;

void ConnectDialog::reloadList()
{
    const QString current = m_list->currentItem() ? m_list->currentItem()->text() : QString();
    const QSignalBlocker blocker(m_list);
    m_list->clear();
    m_list->addItems(m_store->names());
    const QList<QListWidgetItem *> found = m_list->findItems(current, Qt::MatchExactly);
    if (!found.isEmpty())
        m_list->setCurrentItem(found.first());
    m_remove->setEnabled(m_list->count() > 0);
}

void ConnectDialog::selectProfile(const QString &name)
{
    const QList<QListWidgetItem *> found = m_list->findItems(name, Qt::MatchExactly);
    if (found.isEmpty())
        return;
    m_list->setCurrentItem(found.first());
    showProfile(name);
}

void ConnectDialog::showProfile(const QString &name)
{
    if (name.isEmpty() || name == m_loadedName)
        return;
    const std::optional<ClusterProfile> profile = m_store->profile(name);
    if (!profile)
        return;
    setProfile(*profile);
    m_loadedName = name;
    if (profile->token.isEmpty()) {
        m_token->setPlaceholderText(tr("Reading the token from the keychain…"));
        const int generation = ++m_generation;
        m_store->loadToken(name, this, [this, generation](const QString &token) {
            if (generation != m_generation)
                return;
            m_token->setPlaceholderText(tr("Bearer token (admin or viewer)"));
            if (m_token->text().isEmpty())
                m_token->setText(token);
            m_tokenNote->setText(m_store->tokenStorageNote());
        });
    }
}

void ConnectDialog::setProfile(const ClusterProfile &profile)
{
    ++m_generation;
    {
        const QSignalBlocker blocker(m_list);
        const QList<QListWidgetItem *> found = m_list->findItems(profile.name, Qt::MatchExactly);
        m_list->clearSelection();
        if (!found.isEmpty())
            m_list->setCurrentItem(found.first());
    }
    m_loadedName = profile.name;
    m_name->setText(profile.name);
    m_endpoints->setPlainText(profile.endpoints.join(u'\n'));
    m_token->setText(profile.token);
    m_caFile->setText(profile.caFile);
    m_result->clear();
}

ClusterProfile ConnectDialog::profile() const
{
    ClusterProfile profile;
    profile.name = m_name->text().trimmed();
    for (const QString &line : m_endpoints->toPlainText().split(u'\n')) {
        if (!line.trimmed().isEmpty())
            profile.endpoints.append(line.trimmed());
    }
    profile.token = m_token->text().trimmed();
    profile.caFile = m_caFile->text().trimmed();
    return profile;
}

void ConnectDialog::setBusy(bool busy)
{
    m_test->setEnabled(!busy);
    m_connect->setEnabled(!busy);
}

void ConnectDialog::testConnection()
{
    const ClusterProfile p = profile();
    if (p.endpoints.isEmpty()) {
        finishTest(false, tr("Enter at least one control endpoint (host:port)."), false);
        return;
    }
    setBusy(true);
    m_result->setText(tr("Testing %1…").arg(p.endpoints.first()));
    tryEndpoint(0, p.endpoints, false, {});
}

void ConnectDialog::accept()
{
    const ClusterProfile p = profile();
    const QString problem = m_store->saveProfile(p);
    if (!problem.isEmpty()) {
        finishTest(false, problem, false);
        return;
    }
    m_store->setLastUsed(p.name);
    selectProfile(p.name);
    setBusy(true);
    m_result->setText(tr("Testing %1…").arg(p.endpoints.first()));
    tryEndpoint(0, p.endpoints, true, {});
}

void ConnectDialog::tryEndpoint(int index,
                                const QStringList &endpoints,
                                bool acceptAfter,
                                QStringList errors)
{
    if (index >= endpoints.size()) {
        finishTest(false,
                   tr("No endpoint answered:\n%1\nCheck the addresses and that meridiand runs.")
                           .arg(errors.join(u'\n')),
                   acceptAfter);
        return;
    }
    if (index == 0) {
        if (const QString problem = m_client->setCaCertificatesFile(m_caFile->text().trimmed());
            !problem.isEmpty()) {
            finishTest(false, problem, acceptAfter);
            return;
        }
    }
    const QString endpoint = endpoints.at(index);
    const Api::ApiResult<QUrl> url = m_client->setEndpoint(endpoint);
    if (!url) {
        errors.append(u"%1: %2"_s.arg(endpoint, url.error().message));
        tryEndpoint(index + 1, endpoints, acceptAfter, errors);
        return;
    }
    m_client->setToken(m_token->text().trimmed());
    m_call = m_client->status(this,
                              [this, index, endpoints, acceptAfter, errors, endpoint](
                                      const Api::ApiResult<Api::NodeStatus> &result) mutable {
                                  if (!result) {
                                      QString reason = result.error().toString();
                                      if (result.error().isAuthError())
                                          reason += tr(" (check the token)");
                                      errors.append(u"%1: %2"_s.arg(endpoint, reason));
                                      tryEndpoint(index + 1, endpoints, acceptAfter, errors);
                                      return;
                                  }
                                  m_status = result.value();
                                  m_connectedEndpoint = endpoint;
                                  finishTest(true,
                                             tr("Connected to %1: region %2 (%3, %4), meridiand "
                                                "%5; control leader %6.")
                                                     .arg(endpoint,
                                                          m_status.region,
                                                          m_status.state,
                                                          m_status.health,
                                                          m_status.version,
                                                          m_status.leader),
                                             acceptAfter);
                              });
}

void ConnectDialog::finishTest(bool ok, const QString &message, bool acceptAfter)
{
    setBusy(false);
    m_result->setText(message);
    m_result->setStyleSheet(ok ? u"QLabel { color: #2e7d32; }"_s : u"QLabel { color: #c62828; }"_s);
    emit connectionTested(ok, message);
    if (ok && acceptAfter)
        QDialog::accept();
}

} // namespace Meridian
