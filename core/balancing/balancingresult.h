#pragma once

#include <QString>

#include <utility>
#include <variant>

namespace Meridian {

// A value or an error message that says what was wrong and what to do: the balancing core's
// small expected-style return. BalancingResult<> carries no value.
template<typename T = std::monostate>
class BalancingResult
{
public:
    BalancingResult() requires std::is_same_v<T, std::monostate> : m_ok(true) {}
    BalancingResult(T value)
        : m_value(std::move(value))
        , m_ok(true)
    {}

    static BalancingResult failure(QString message)
    {
        BalancingResult result{Failure{}};
        result.m_error = std::move(message);
        return result;
    }

    bool ok() const { return m_ok; }
    explicit operator bool() const { return m_ok; }
    const T &value() const { return m_value; }
    T &value() { return m_value; }
    const QString &error() const { return m_error; }

private:
    struct Failure
    {};
    explicit BalancingResult(Failure) {}

    T m_value{};
    QString m_error;
    bool m_ok = false;
};

} // namespace Meridian
