// MapWidget paint time with 50 regions and every link between them (2 450 links, 1 225 lines),
// rendered into a QImage the size of the control room's map. Run with QT_QPA_PLATFORM=offscreen
// (set by default here) or under xvfb-run.
#include "ui/mapwidget.h"

#include <QApplication>
#include <QImage>

#include <benchmark/benchmark.h>

#include <cmath>

using namespace Meridian;

namespace {

Api::ClusterView manyRegions(int n)
{
    Api::ClusterView view;
    for (int i = 0; i < n; ++i) {
        Api::RegionStatus r;
        r.id = QStringLiteral("r%1").arg(i, 2, 10, QChar(u'0'));
        r.name = QStringLiteral("Region %1").arg(i);
        r.lat = -50 + 100.0 * ((i * 37) % n) / n;
        r.lon = -170 + 340.0 * i / n;
        r.health = QStringLiteral("healthy");
        r.trafficShare = 1.0 / n;
        r.reachable = i % 7 != 3;
        r.state = i % 5 == 1 ? QStringLiteral("draining") : QStringLiteral("active");
        view.regions.append(r);
    }
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
            if (i == j)
                continue;
            Api::LinkStatus l;
            l.origin = view.regions[i].id;
            l.replica = view.regions[j].id;
            l.rttMs = 20 + (i * j) % 200;
            l.secondsBehind = std::fmod(i * 0.37 + j * 0.11, 8.0);
            l.state = QStringLiteral("caught_up");
            view.links.append(l);
        }
    }
    return view;
}

struct Fixture
{
    MapWidget map;
    QImage image;

    explicit Fixture(int regions, bool selected)
        : image(1500, 560, QImage::Format_ARGB32_Premultiplied)
    {
        map.resize(image.size());
        map.setAttribute(Qt::WA_DontShowOnScreen);
        map.show();
        map.setCluster(manyRegions(regions));
        if (selected)
            map.setSelectedRegion(QStringLiteral("r10"));
        map.render(&image); // the land pixmap is built once, as in the running window
    }
};

// Steady state: a new cluster view every second repaints markers and links; the land is cached.
void BM_MapPaint(benchmark::State &state)
{
    Fixture f(int(state.range(0)), state.range(1) != 0);
    for (auto _ : state) {
        f.map.render(&f.image);
        benchmark::DoNotOptimize(f.image.constBits());
    }
    state.SetLabel(QStringLiteral("%1 regions, %2 links%3")
                           .arg(state.range(0))
                           .arg(state.range(0) * (state.range(0) - 1))
                           .arg(state.range(1) ? QStringLiteral(", one selected") : QString())
                           .toStdString());
}
BENCHMARK(BM_MapPaint)->Args({5, 0})->Args({50, 0})->Args({50, 1})->Unit(benchmark::kMillisecond);

// After a zoom or pan: the land is projected and painted again too.
void BM_MapPaintAfterZoom(benchmark::State &state)
{
    Fixture f(50, false);
    double factor = 1.01;
    for (auto _ : state) {
        f.map.viewport().zoomAt(QPointF(700, 280), factor);
        factor = 1.0 / factor;
        f.map.setCluster(f.map.cluster());
        f.map.render(&f.image);
        benchmark::DoNotOptimize(f.image.constBits());
    }
}
BENCHMARK(BM_MapPaintAfterZoom)->Unit(benchmark::kMillisecond);

// A cluster view arriving: pairing links and laying out markers and hit-test lines.
void BM_MapSetCluster(benchmark::State &state)
{
    Fixture f(50, false);
    const Api::ClusterView view = manyRegions(50);
    for (auto _ : state)
        f.map.setCluster(view);
}
BENCHMARK(BM_MapSetCluster)->Unit(benchmark::kMicrosecond);

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
