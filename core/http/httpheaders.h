#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

#include <utility>

namespace Meridian {

// An ordered list of HTTP header fields with case-insensitive name lookup. Keeps the order and
// duplicates as received (a proxy must forward them faithfully) and stays a flat array, so a
// request with a dozen headers costs one allocation.
class HttpHeaders
{
public:
    using Field = std::pair<QByteArray, QByteArray>;

    HttpHeaders() = default;

    // First value of `name`, or an empty array when absent.
    QByteArray value(QByteArrayView name) const;
    // All values of `name`, in order.
    QList<QByteArray> values(QByteArrayView name) const;
    // All values of `name` joined with ", " (RFC 9110 §5.3 list combination).
    QByteArray combinedValue(QByteArrayView name) const;
    bool contains(QByteArrayView name) const;
    // True when the comma-separated list header `name` contains `token` (case-insensitive).
    bool containsToken(QByteArrayView name, QByteArrayView token) const;
    qsizetype count(QByteArrayView name) const;

    // Replaces every field called `name` with one field.
    void set(QByteArrayView name, QByteArrayView value);
    // Appends a field, keeping existing ones.
    void add(QByteArrayView name, QByteArrayView value);
    void remove(QByteArrayView name);
    void clear() { m_fields.clear(); }
    void reserve(qsizetype n) { m_fields.reserve(n); }

    qsizetype size() const { return m_fields.size(); }
    bool isEmpty() const { return m_fields.isEmpty(); }
    const QList<Field> &fields() const { return m_fields; }
    QList<Field>::const_iterator begin() const { return m_fields.cbegin(); }
    QList<Field>::const_iterator end() const { return m_fields.cend(); }

    static bool nameEquals(QByteArrayView a, QByteArrayView b);

private:
    QList<Field> m_fields;
};

} // namespace Meridian
