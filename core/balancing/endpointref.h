#pragma once

#include <QHashFunctions>
#include <QString>

namespace Meridian {

// Names one endpoint of one region: what health checking and outlier detection track.
struct EndpointRef
{
    QString regionId;
    QString url;

    bool operator==(const EndpointRef &other) const = default;
};

inline size_t qHash(const EndpointRef &ref, size_t seed = 0)
{
    return qHashMulti(seed, ref.regionId, ref.url);
}

} // namespace Meridian
