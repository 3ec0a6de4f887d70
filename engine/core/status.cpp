#include "status.h"

namespace vd {

const char *errorCodeName(ErrorCode code)
{
    switch (code) {
    case ErrorCode::Ok: return "ok";
    case ErrorCode::NotFound: return "not-found";
    case ErrorCode::AlreadyExists: return "already-exists";
    case ErrorCode::InvalidArgument: return "invalid-argument";
    case ErrorCode::IoError: return "io-error";
    case ErrorCode::NoSpace: return "no-space";
    case ErrorCode::Corruption: return "corruption";
    case ErrorCode::VersionMismatch: return "version-mismatch";
    case ErrorCode::Conflict: return "conflict";
    case ErrorCode::Busy: return "busy";
    case ErrorCode::Cancelled: return "cancelled";
    case ErrorCode::ProtocolError: return "protocol-error";
    case ErrorCode::PeerUnavailable: return "peer-unavailable";
    case ErrorCode::PermissionDenied: return "permission-denied";
    case ErrorCode::Internal: return "internal";
    case ErrorCode::Resync: return "resync";
    case ErrorCode::NotHere: return "not-here";
    }
    return "unknown";
}

Status::Status(ErrorCode code, QString message)
{
    if (code != ErrorCode::Ok)
        m_state = std::make_unique<State>(State{code, std::move(message)});
}

Status::Status(const Status &other)
    : m_state(other.m_state ? std::make_unique<State>(*other.m_state) : nullptr)
{
}

Status &Status::operator=(const Status &other)
{
    if (this != &other)
        m_state = other.m_state ? std::make_unique<State>(*other.m_state) : nullptr;
    return *this;
}

QString Status::toString() const
{
    if (isOk())
        return QStringLiteral("ok");
    return QString::fromLatin1(errorCodeName(m_state->code)) + QStringLiteral(": ") + m_state->message;
}

Status Status::withContext(const QString &context) const
{
    if (isOk())
        return {};
    return {m_state->code, context + QStringLiteral(": ") + m_state->message};
}

} // namespace vd
