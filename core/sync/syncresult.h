#pragma once

#include <QString>

#include <optional>
#include <utility>
#include <variant>

namespace Meridian {

// What went wrong in the sync core, with a message that says what to do about it. A small
// expected-style type: core code returns errors, it never throws across the event loop.
struct SyncError
{
    enum class Code {
        InvalidArgument, // the caller passed something unusable; nothing was changed
        Storage,         // SQLite refused (I/O, corruption, constraint, busy)
        NotOpen,         // the replica is not open
        Schema,          // table or schema version does not match
        Protocol,        // a peer sent something malformed
        Checksum,        // data failed its checksum
        Cancelled,       // an operation was cancelled
        Unavailable,     // the peer or data needed is not reachable
        Stale,           // the data is older than what it must contain
    };
    Code code = Code::Storage;
    QString message;
};

template<typename T>
class [[nodiscard]] SyncResult
{
public:
    SyncResult(T value)
        : m_value(std::move(value))
    {}
    SyncResult(SyncError error)
        : m_value(std::move(error))
    {}

    bool ok() const { return std::holds_alternative<T>(m_value); }
    explicit operator bool() const { return ok(); }
    const T &value() const & { return std::get<T>(m_value); }
    T &value() & { return std::get<T>(m_value); }
    T &&value() && { return std::get<T>(std::move(m_value)); }
    const T &operator*() const & { return value(); }
    const T *operator->() const { return &value(); }
    const SyncError &error() const { return std::get<SyncError>(m_value); }

private:
    std::variant<T, SyncError> m_value;
};

template<>
class [[nodiscard]] SyncResult<void>
{
public:
    SyncResult() = default;
    SyncResult(SyncError error)
        : m_error(std::move(error))
    {}

    bool ok() const { return !m_error.has_value(); }
    explicit operator bool() const { return ok(); }
    const SyncError &error() const { return *m_error; }

private:
    std::optional<SyncError> m_error;
};

inline SyncError syncError(SyncError::Code code, QString message)
{
    return SyncError{code, std::move(message)};
}

} // namespace Meridian
