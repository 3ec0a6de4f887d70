// Status and Result<T>: errors as values across the whole engine API.
//
// A Status is one pointer wide and costs nothing when OK. Every failure carries
// one code from a fixed set (so callers and the CLI can act on it) and a
// human-readable message (so a user can act on it). No engine function throws
// across its API; corruption read from disk or network is a returned
// Corruption error, never an assert.
// Thread-safety: Status and Result are values (a copy owns its own state):
// one object is used by one thread at a time; copies go anywhere.
#pragma once

#include <QString>

#include <memory>
#include <optional>
#include <utility>

namespace vd {

enum class ErrorCode : unsigned char {
    Ok = 0,
    NotFound,         // the named thing does not exist
    AlreadyExists,    // creating something whose name is taken
    InvalidArgument,  // the caller passed something malformed or out of range
    IoError,          // the operating system refused a read, write or sync
    NoSpace,          // the disk (or a configured limit) is full
    Corruption,       // bytes read back do not match what was written (checksum, magic, bounds)
    VersionMismatch,  // a format or protocol version this build does not understand
    Conflict,         // concurrent changes collide
    Busy,             // held by someone else right now (e.g. the collection's writer lock)
    Cancelled,        // the caller asked to stop
    ProtocolError,    // a peer sent something that breaks the protocol
    PeerUnavailable,  // a peer cannot be reached
    PermissionDenied, // the operating system or a peer says no
    Resync,           // a change-feed reader fell behind what the feed keeps: list everything again
    NotHere,          // content referenced here is held by other nodes, not this one (a normal state: fetch it)
    Internal,         // a bug: an invariant of our own did not hold (stays last: the wire's names go up to it)
};

// Stable lower-case name of a code, as printed by the CLI and in --json output.
const char *errorCodeName(ErrorCode code);

class [[nodiscard]] Status
{
public:
    Status() = default;
    Status(ErrorCode code, QString message);

    Status(const Status &other);
    Status &operator=(const Status &other);
    Status(Status &&) noexcept = default;
    Status &operator=(Status &&) noexcept = default;
    ~Status() = default;

    static Status ok() { return Status(); }
    static Status notFound(QString msg) { return {ErrorCode::NotFound, std::move(msg)}; }
    static Status alreadyExists(QString msg) { return {ErrorCode::AlreadyExists, std::move(msg)}; }
    static Status invalidArgument(QString msg) { return {ErrorCode::InvalidArgument, std::move(msg)}; }
    static Status ioError(QString msg) { return {ErrorCode::IoError, std::move(msg)}; }
    static Status noSpace(QString msg) { return {ErrorCode::NoSpace, std::move(msg)}; }
    static Status corruption(QString msg) { return {ErrorCode::Corruption, std::move(msg)}; }
    static Status versionMismatch(QString msg) { return {ErrorCode::VersionMismatch, std::move(msg)}; }
    static Status conflict(QString msg) { return {ErrorCode::Conflict, std::move(msg)}; }
    static Status busy(QString msg) { return {ErrorCode::Busy, std::move(msg)}; }
    static Status cancelled(QString msg) { return {ErrorCode::Cancelled, std::move(msg)}; }
    static Status protocolError(QString msg) { return {ErrorCode::ProtocolError, std::move(msg)}; }
    static Status peerUnavailable(QString msg) { return {ErrorCode::PeerUnavailable, std::move(msg)}; }
    static Status permissionDenied(QString msg) { return {ErrorCode::PermissionDenied, std::move(msg)}; }
    static Status internal(QString msg) { return {ErrorCode::Internal, std::move(msg)}; }
    static Status resync(QString msg) { return {ErrorCode::Resync, std::move(msg)}; }
    static Status notHere(QString msg) { return {ErrorCode::NotHere, std::move(msg)}; }

    bool isOk() const { return !m_state; }
    explicit operator bool() const { return isOk(); }
    ErrorCode code() const { return m_state ? m_state->code : ErrorCode::Ok; }
    QString message() const { return m_state ? m_state->message : QString(); }

    // "corruption: block 3f… failed its checksum" — what the CLI prints.
    QString toString() const;

    // Returns a copy whose message is prefixed with context: "reading .meta: <message>".
    Status withContext(const QString &context) const;

private:
    struct State
    {
        ErrorCode code;
        QString message;
    };
    std::unique_ptr<State> m_state;
};

// A value or the Status that explains why there is none.
template<typename T>
class [[nodiscard]] Result
{
public:
    Result(T value) : m_value(std::move(value)) {}
    Result(Status status) : m_status(std::move(status))
    {
        if (m_status.isOk())
            m_status = Status::internal(QStringLiteral("Result built from an OK status without a value"));
    }

    bool isOk() const { return m_value.has_value(); }
    explicit operator bool() const { return isOk(); }
    const Status &status() const { return m_status; }
    Status takeStatus() { return std::move(m_status); }

    T &value() & { return *m_value; }
    const T &value() const & { return *m_value; }
    T &&value() && { return std::move(*m_value); }
    T *operator->() { return &*m_value; }
    const T *operator->() const { return &*m_value; }
    T &operator*() & { return *m_value; }
    const T &operator*() const & { return *m_value; }

private:
    std::optional<T> m_value;
    Status m_status;
};

} // namespace vd

#define VD_CONCAT_INNER(a, b) a##b
#define VD_CONCAT(a, b) VD_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if expr (a Status) is not OK.
#define VD_TRY(expr) VD_TRY_IMPL(VD_CONCAT(vd_try_status_, __COUNTER__), expr)
#define VD_TRY_IMPL(tmp, expr)                                                                     \
    do {                                                                                           \
        ::vd::Status tmp = (expr);                                                                 \
        if (!tmp.isOk())                                                                           \
            return tmp;                                                                            \
    } while (false)

// `VD_TRY_ASSIGN(auto x, f());` declares x from a Result, or returns its Status.
#define VD_TRY_ASSIGN(decl, expr) VD_TRY_ASSIGN_IMPL(VD_CONCAT(vd_result_, __COUNTER__), decl, expr)
#define VD_TRY_ASSIGN_IMPL(tmp, decl, expr)                                                        \
    auto tmp = (expr);                                                                             \
    if (!tmp.isOk())                                                                               \
        return tmp.takeStatus();                                                                   \
    decl = std::move(tmp).value()
