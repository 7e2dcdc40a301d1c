#pragma once

#include <QJsonObject>
#include <QString>

namespace Meridian {

// An error a control call answers with: the HTTP status, the stable machine-readable code of
// docs/control-api.md and a message that says what was wrong and what to do.
struct ControlError
{
    int status = 400;
    QString code;
    QString message;

    QJsonObject toJson() const;

    static ControlError badRequest(const QString &message);
    static ControlError invalidParameter(const QString &message);
    static ControlError unknownRegion(const QString &region);
    static ControlError notFound(const QString &message);
    static ControlError conflict(const QString &code, const QString &message);
};

// A value or a ControlError: the control layer's small expected-style return.
template<typename T>
class ControlResult
{
public:
    ControlResult(T value)
        : m_value(std::move(value))
        , m_ok(true)
    {}
    ControlResult(ControlError error)
        : m_error(std::move(error))
    {}

    bool ok() const { return m_ok; }
    explicit operator bool() const { return m_ok; }
    const T &value() const { return m_value; }
    T &value() { return m_value; }
    const ControlError &error() const { return m_error; }

private:
    T m_value{};
    ControlError m_error;
    bool m_ok = false;
};

} // namespace Meridian
