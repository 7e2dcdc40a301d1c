#include "ui/worldmap.h"

#include <QDataStream>
#include <QFile>
#include <QLoggingCategory>

namespace Meridian {

Q_LOGGING_CATEGORY(lcWorldMap, "meridian.ui.map")

const QList<QPolygonF> &WorldMap::land()
{
    static const QList<QPolygonF> rings = [] {
        QFile file(QStringLiteral(":/map/land-110m.bin"));
        if (!file.open(QIODevice::ReadOnly)) {
            qCWarning(lcWorldMap) << "cannot open the land outlines:" << file.errorString();
            return QList<QPolygonF>();
        }
        QString error;
        QList<QPolygonF> loaded = load(file.readAll(), &error);
        if (loaded.isEmpty())
            qCWarning(lcWorldMap) << "cannot read the land outlines:" << error;
        return loaded;
    }();
    return rings;
}

QList<QPolygonF> WorldMap::load(const QByteArray &data, QString *error)
{
    QDataStream in(data);
    in.setByteOrder(QDataStream::LittleEndian);
    char magic[4] = {};
    if (in.readRawData(magic, 4) != 4 || QByteArray(magic, 4) != "MLND") {
        *error = QStringLiteral("not a Meridian land file (bad magic)");
        return {};
    }
    quint16 version = 0;
    quint32 ringCount = 0;
    in >> version >> ringCount;
    if (version != 1) {
        *error = QStringLiteral("unsupported land file version %1").arg(version);
        return {};
    }
    QList<QPolygonF> rings;
    rings.reserve(int(std::min<quint32>(ringCount, 100000)));
    for (quint32 r = 0; r < ringCount; ++r) {
        quint32 pointCount = 0;
        in >> pointCount;
        if (in.status() != QDataStream::Ok || pointCount > quint32(data.size() / 4)) {
            *error = QStringLiteral("truncated land file at ring %1").arg(r);
            return {};
        }
        QPolygonF ring;
        ring.reserve(int(pointCount));
        for (quint32 p = 0; p < pointCount; ++p) {
            qint16 lon = 0;
            qint16 lat = 0;
            in >> lon >> lat;
            ring.append(QPointF(lon / 100.0, lat / 100.0));
        }
        if (in.status() != QDataStream::Ok) {
            *error = QStringLiteral("truncated land file at ring %1").arg(r);
            return {};
        }
        rings.append(ring);
    }
    return rings;
}

} // namespace Meridian
