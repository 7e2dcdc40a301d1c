#pragma once

#include <QByteArray>
#include <QJsonValue>
#include <QList>
#include <QVariant>

namespace Meridian::Internal {

class ByteReader;
class ByteWriter;

// One SQLite value with its storage class, as captured from a changeset or a row. Encoded
// byte-exactly so a row hashes the same in every region.
struct SqlValue
{
    enum Type : quint8 { Null = 0, Integer = 1, Real = 2, Text = 3, Blob = 4 };
    Type type = Null;
    qint64 integer = 0;
    double real = 0;
    QByteArray bytes; // UTF-8 for Text

    static SqlValue fromVariant(const QVariant &v);
    QVariant toVariant() const;
    QJsonValue toJson() const;
    void encode(ByteWriter &w) const;
    bool decode(ByteReader &r);
    friend bool operator==(const SqlValue &a, const SqlValue &b);
};

using SqlRow = QList<SqlValue>;

QByteArray encodeRow(const SqlRow &row);

} // namespace Meridian::Internal
