#pragma once

// StrategyPanel: the balancing strategy and its parameters (docs/balancing.md); choosing another
// strategy or editing a parameter asks the server for a preview and shows the expected share of
// new requests per region before → after (bars) before anything is applied; Apply goes through
// ActionController (confirmation with the same preview, refusals, force). Below, each region's
// weight and dial can be edited and applied the same way.
//
// How to wire it (MainWindow):
//   auto *strategy = new Meridian::StrategyPanel(client, actions, this); // actions: the window's
//                                                                        // ActionController
//   connect(watcher, &ClusterWatcher::clusterUpdated,
//           strategy, &Meridian::StrategyPanel::setCluster);
//   a dock: dock->setWidget(strategy);
// With `actions` null the panel makes its own ActionController (dialogs parented to the panel).

#include "core/control/apitypes.h"

#include <QPointer>
#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QPushButton;
class QTableWidget;
class QTimer;

namespace Meridian {

class ActionController;
class ControlCall;
class ControlClient;
class ShareBars;

class StrategyPanel final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StrategyPanel)

public:
    StrategyPanel(ControlClient *client, ActionController *actions, QWidget *parent = nullptr);
    ~StrategyPanel() override;

    // The strategy as edited in the panel (name and parameters).
    Api::StrategyInfo editedStrategy() const;
    // Selects a strategy and parameters in the editor (not applied); a preview follows.
    void setEditedStrategy(const Api::StrategyInfo &strategy);
    bool isModified() const;
    ShareBars *bars() const { return m_bars; }
    QComboBox *strategyBox() const { return m_strategy; }
    QPushButton *applyButton() const { return m_apply; }
    QLabel *currentLabel() const { return m_current; }
    QTableWidget *regionsTable() const { return m_regions; }
    ActionController *actions() const { return m_actions; }

    // A default value, unit and range for each parameter (the UI's side of docs/balancing.md).
    struct ParameterSpec
    {
        QString key;
        QString label;
        double minimum;
        double maximum;
        double defaultValue;
        int decimals;
        QString suffix;
        QString help;
    };
    static QList<ParameterSpec> parameterSpecs(const QString &strategy);
    static QString describeStrategy(const QString &name);

public slots:
    void setCluster(const Meridian::Api::ClusterView &view);
    // Asks the server for the preview of the edited strategy now.
    void requestPreview();
    // Applies the edited strategy through the ActionController (asks for confirmation).
    void apply();

signals:
    void previewUpdated(const Meridian::Api::Preview &preview);
    void previewFailed(const QString &message);

private:
    void rebuildParameters(const QString &strategy, const QJsonObject &values);
    void editorChanged();
    void updateRegionsTable();
    const Api::RegionStatus *findRegion(const QString &id) const;
    QString paramsText(const Api::StrategyInfo &strategy) const;

    ControlClient *m_client;
    ActionController *m_actions;
    Api::ClusterView m_cluster;
    bool m_haveCluster = false;
    QLabel *m_current;
    QComboBox *m_strategy;
    QLabel *m_description;
    QFormLayout *m_params;
    QList<QPair<QString, QDoubleSpinBox *>> m_paramEditors;
    QLabel *m_validation;
    ShareBars *m_bars;
    QPushButton *m_preview;
    QPushButton *m_apply;
    QPushButton *m_reset;
    QTableWidget *m_regions;
    QTimer *m_previewDelay;
    QPointer<ControlCall> m_previewCall;
    int m_previewGeneration = 0;
};

} // namespace Meridian
