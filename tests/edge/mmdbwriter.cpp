#include "mmdbwriter.h"

#include <QtEndian>

#include <array>
#include <cstring>
#include <vector>

namespace {

// The data section's types (MaxMind DB File Format Specification 2.0, "Data Field Format").
enum Type : quint8 {
    Utf8String = 2,
    Double = 3,
    Uint16 = 5,
    Uint32 = 6,
    Map = 7,
    Uint64 = 9,
    Array = 11,
};

void control(QByteArray &out, Type type, int size)
{
    Q_ASSERT(size < 29); // every field here is small
    if (type <= Map) {
        out.append(char((type << 5) | size));
    } else {
        out.append(char(size)); // extended type: 0 in the top bits, then type - 7
        out.append(char(type - 7));
    }
}

void string(QByteArray &out, const QByteArray &s)
{
    control(out, Utf8String, int(s.size()));
    out.append(s);
}

void unsignedInt(QByteArray &out, Type type, quint64 value)
{
    QByteArray bytes;
    for (; value != 0; value >>= 8)
        bytes.prepend(char(value & 0xff));
    control(out, type, int(bytes.size()));
    out.append(bytes);
}

void doubleValue(QByteArray &out, double value)
{
    control(out, Double, 8);
    quint64 bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    char big[8];
    qToBigEndian(bits, big);
    out.append(big, 8);
}

} // namespace

QByteArray MmdbWriter::build() const
{
    // Data section: one map per network.
    QByteArray data;
    std::vector<quint32> offsets;
    for (const Network &n : m_networks) {
        offsets.push_back(quint32(data.size()));
        control(data, Map, 1);
        if (!n.countryIsoCode.isEmpty()) {
            string(data, "country");
            control(data, Map, 1);
            string(data, "iso_code");
            string(data, n.countryIsoCode);
        } else {
            string(data, "location");
            control(data, Map, 2);
            string(data, "latitude");
            doubleValue(data, n.latitude);
            string(data, "longitude");
            doubleValue(data, n.longitude);
        }
    }

    // Search tree: a binary trie over the address bits. Records hold a node number, the node
    // count for "no data", or node count + 16 + a data offset.
    constexpr quint32 kEmpty = 0xffffffff; // fixed up once the node count is known
    std::vector<std::array<quint32, 2>> nodes(1, {kEmpty, kEmpty});
    std::vector<std::array<qint64, 2>> dataOf(1, {-1, -1});
    for (size_t i = 0; i < size_t(m_networks.size()); ++i) {
        const Network &n = m_networks[qsizetype(i)];
        quint32 node = 0;
        for (int bit = 0; bit < n.prefixLength; ++bit) {
            const int side = (n.address >> (31 - bit)) & 1;
            if (bit == n.prefixLength - 1) {
                dataOf[node][size_t(side)] = offsets[i];
                break;
            }
            if (nodes[node][size_t(side)] == kEmpty) {
                nodes[node][size_t(side)] = quint32(nodes.size());
                nodes.push_back({kEmpty, kEmpty});
                dataOf.push_back({-1, -1});
            }
            node = nodes[node][size_t(side)];
        }
    }
    const quint32 nodeCount = quint32(nodes.size());
    QByteArray out;
    for (size_t i = 0; i < nodes.size(); ++i) {
        for (size_t side = 0; side < 2; ++side) {
            quint32 record = nodes[i][side];
            if (dataOf[i][side] >= 0)
                record = nodeCount + 16 + quint32(dataOf[i][side]);
            else if (record == kEmpty)
                record = nodeCount;
            char big[4];
            qToBigEndian(record, big);
            out.append(big, 4);
        }
    }
    out.append(QByteArray(16, '\0')); // the data section separator
    out.append(data);

    // Metadata, after its marker.
    out.append("\xAB\xCD\xEFMaxMind.com");
    control(out, Map, 9);
    string(out, "binary_format_major_version");
    unsignedInt(out, Uint16, 2);
    string(out, "binary_format_minor_version");
    unsignedInt(out, Uint16, 0);
    string(out, "build_epoch");
    unsignedInt(out, Uint64, 1764000000);
    string(out, "database_type");
    string(out, "Meridian-Test");
    string(out, "description");
    control(out, Map, 0);
    string(out, "ip_version");
    unsignedInt(out, Uint16, 4);
    string(out, "languages");
    control(out, Array, 0);
    string(out, "node_count");
    unsignedInt(out, Uint32, nodeCount);
    string(out, "record_size");
    unsignedInt(out, Uint16, 32);
    return out;
}
