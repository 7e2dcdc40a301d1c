#pragma once

#include "core/control/apitypes.h"
#include "ui/maphittester.h"
#include "ui/mapprojection.h"
#include "ui/regionstyle.h"

#include <QHash>
#include <QPixmap>
#include <QWidget>

namespace Meridian {

// The live world map: land outlines, a line per pair of regions coloured by replication lag and
// labelled with the RTT, a marker per region coloured by health, ringed by state and sized by
// traffic share; unreachable regions are grey, hatched and crossed out. Wheel or +/- zoom, drag or
// arrow keys pan, 0 resets; click or [ / ] selects; hover shows details; the context menu is left
// to the owner (regionContextMenuRequested).
class MapWidget final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MapWidget)

public:
    explicit MapWidget(QWidget *parent = nullptr);
    ~MapWidget() override;

    void setCluster(const Api::ClusterView &view);
    const Api::ClusterView &cluster() const { return m_view; }
    QString selectedRegion() const { return m_selected; }
    // Seconds since the data was fresh; above a few seconds the map says so.
    void setStaleness(double seconds);
    // Shown in the middle of the map while there is no region to draw.
    void setPlaceholderText(const QString &text);
    void setLegendVisible(bool visible);

    MapViewport &viewport() { return m_viewport; }
    const MapHitTester &hitTester() const { return m_hitTester; }
    // Where region `id`'s marker is drawn (widget coordinates); null point when unknown.
    QPointF markerPosition(const QString &id) const;
    MapHitTester::Hit hitTest(const QPointF &point) const { return m_hitTester.hitTest(point); }
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

public slots:
    void setSelectedRegion(const QString &id);

signals:
    void selectedRegionChanged(const QString &id);
    void regionActivated(const QString &id);
    void regionContextMenuRequested(const QString &id, const QPoint &globalPos);

protected:
    bool event(QEvent *event) override;
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;
    void contextMenuEvent(QContextMenuEvent *event) override;
    void leaveEvent(QEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    // A link line as laid out for the current viewport.
    struct LinkGeometry
    {
        qsizetype pair = 0; // index into m_pairs
        QPolygonF path;     // the curve, flattened
        QPointF mid;        // where the RTT label goes
        QPointF normal;     // unit normal of the chord, for thickening
    };
    void relayout();
    void paintLand(QPainter &painter);
    void paintLinks(QPainter &painter);
    void paintMarkers(QPainter &painter);
    void paintLegend(QPainter &painter);
    void paintOverlay(QPainter &painter);
    void selectStep(int step);
    const Api::RegionStatus *region(const QString &id) const;
    double markerRadius(const Api::RegionStatus &region) const;

    Api::ClusterView m_view;
    QList<RegionPair> m_pairs;
    QList<LinkGeometry> m_links;
    QHash<QString, qsizetype> m_regionIndex;
    MapViewport m_viewport;
    MapHitTester m_hitTester;
    QString m_selected;
    QString m_hovered;
    QString m_placeholder;
    double m_staleS = 0;
    bool m_legendVisible = true;

    QPixmap m_landCache;
    QString m_landCacheKey;

    QPointF m_pressPos;
    QPointF m_lastDragPos;
    bool m_pressed = false;
    bool m_dragging = false;
};

} // namespace Meridian
