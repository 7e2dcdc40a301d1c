#include "core/sync/sqlvalue.h"

#include "core/sync/bytecodec.h"

#include <cstring>

namespace Meridian::Internal {

SqlValue SqlValue::fromVariant(const QVariant &v)
{
    SqlValue out;
    if (!v.isValid() || v.isNull())
        return out;
    switch (v.typeId()) {
    case QMetaType::Bool:
    case QMetaType::Int:
    case QMetaType::UInt:
    case QMetaType::Long:
    case QMetaType::LongLong:
    case QMetaType::ULong:
    case QMetaType::ULongLong:
    case QMetaType::Short:
    case QMetaType::UShort:
        out.type = Integer;
        out.integer = v.toLongLong();
        break;
    case QMetaType::Double:
    case QMetaType::Float:
        out.type = Real;
        out.real = v.toDouble();
        break;
    case QMetaType::QByteArray:
        out.type = Blob;
        out.bytes = v.toByteArray();
        break;
    default:
        out.type = Text;
        out.bytes = v.toString().toUtf8();
        break;
    }
    return out;
}

QVariant SqlValue::toVariant() const
{
    switch (type) {
    case Null:
        return {};
    case Integer:
        return QVariant(integer);
    case Real:
        return QVariant(real);
    case Text:
        return QVariant(QString::fromUtf8(bytes));
    case Blob:
        return QVariant(bytes);
    }
    return {};
}

QJsonValue SqlValue::toJson() const
{
    switch (type) {
    case Null:
        return QJsonValue::Null;
    case Integer:
        return QJsonValue(integer);
    case Real:
        return QJsonValue(real);
    case Text:
        return QJsonValue(QString::fromUtf8(bytes));
    case Blob:
        return QJsonValue(QString::fromLatin1(bytes.toBase64()));
    }
    return {};
}

void SqlValue::encode(ByteWriter &w) const
{
    w.u8(type);
    switch (type) {
    case Null:
        break;
    case Integer:
        w.svarint(integer);
        break;
    case Real: {
        quint64 bits = 0;
        std::memcpy(&bits, &real, sizeof bits);
        w.fixed64(bits);
        break;
    }
    case Text:
    case Blob:
        w.bytes(bytes);
        break;
    }
}

bool SqlValue::decode(ByteReader &r)
{
    quint8 t = 0;
    if (!r.u8(&t))
        return false;
    bytes.clear();
    switch (t) {
    case Null:
        type = Null;
        return true;
    case Integer:
        type = Integer;
        return r.svarint(&integer);
    case Real: {
        type = Real;
        quint64 bits = 0;
        if (!r.fixed64(&bits))
            return false;
        std::memcpy(&real, &bits, sizeof bits);
        return true;
    }
    case Text:
    case Blob:
        type = Type(t);
        return r.bytes(&bytes);
    default:
        return false;
    }
}

bool operator==(const SqlValue &a, const SqlValue &b)
{
    if (a.type != b.type)
        return false;
    switch (a.type) {
    case SqlValue::Null:
        return true;
    case SqlValue::Integer:
        return a.integer == b.integer;
    case SqlValue::Real:
        return std::memcmp(&a.real, &b.real, sizeof a.real) == 0;
    case SqlValue::Text:
    case SqlValue::Blob:
        return a.bytes == b.bytes;
    }
    return false;
}

QByteArray encodeRow(const SqlRow &row)
{
    QByteArray out;
    ByteWriter w(&out);
    for (const SqlValue &v : row)
        v.encode(w);
    return out;
}

} // namespace Meridian::Internal
