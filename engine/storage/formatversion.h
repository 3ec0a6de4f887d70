// The format numbers of on-disk structures, and what a decoder does with one.
//
// Every structure that carries magic + format + checksum is decoded in this
// order (FORMAT.md, "Versioning"): the magic, then the checksum over the
// framing every format of the structure keeps, and only then the format
// number. A damaged byte anywhere, the format field included, is therefore
// Corruption; a format number is believed only once its checksum holds.
// Thread-safety: constants and pure functions.
#pragma once

#include "core/status.h"

#include <cstdint>

namespace vd::storage {

// What a checksummed format number means to this build: OK for the formats
// it reads (oldestReadable..current, the caller upgrading older ones it
// still reads); VersionMismatch "made by a newer vdrive" above current;
// VersionMismatch "made by an older vdrive: <olderAdvice>" below
// oldestReadable; Corruption for 0, which no vdrive ever wrote.
inline Status checkFormat(const QString &what, uint16_t format, uint16_t oldestReadable, uint16_t current, const QString &olderAdvice = {})
{
    if (format > current)
        return Status::versionMismatch(QStringLiteral("%1 is format %2, made by a newer vdrive (this build reads up to format %3): use a newer vdrive")
                                           .arg(what)
                                           .arg(format)
                                           .arg(current));
    if (format == 0)
        return Status::corruption(QStringLiteral("%1: format 0, which no vdrive writes").arg(what));
    if (format < oldestReadable)
        return Status::versionMismatch(QStringLiteral("%1 is format %2, made by an older vdrive: %3").arg(what).arg(format).arg(olderAdvice));
    return {};
}

} // namespace vd::storage
