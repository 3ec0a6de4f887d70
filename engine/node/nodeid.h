// NodeId: who a node is. The SHA-256 of its certificate's public key (the
// SubjectPublicKeyInfo, DER), so the same on every machine that sees the
// certificate, and unchanged when a certificate is made again for the same
// key (identity.h).
//
// Text form, as Syncthing prints device ids, for a person to compare and
// type: the 32 bytes in base32 (RFC 4648 alphabet A-Z 2-7, no padding: 52
// characters), cut into 4 runs of 13, each followed by its check character
// (Luhn mod 32), the 56 characters then in 8 groups of 7 joined by dashes.
// The id of the bytes 00 01 02 … 1f:
//
//   AAAQEAY-EAUDAO5-CAJBIFQ-YDIOB4X-IBCEQTC-QKRMFYM-YDENBWH-A5DYPQS
//
// Parsing takes upper or lower case, ignores dashes and white space, reads the
// digits 0, 1 and 8 (never in the alphabet) as the letters O, I and B, and
// checks each run against its check character: one mistyped character, or
// two neighbours swapped (but A and 7), is refused with a message saying in
// which two groups. The check character is standard Luhn mod N, which
// Syncthing's is not (see nodeid.cpp): the form is the same, the check
// characters differ. Nothing reads Syncthing's ids, so nothing is lost.
//
// Thread safety: a value type; every function is safe from any thread.
#pragma once

#include "core/status.h"

#include <QByteArrayView>
#include <QString>
#include <QStringView>

#include <array>
#include <compare>
#include <cstdint>

namespace vd::node {

struct NodeId
{
    std::array<uint8_t, 32> bytes{};

    static constexpr int size = 32;
    static constexpr int kTextLength = 63;  // 56 characters, 7 dashes
    static constexpr int kMaxParseLength = 256; // longer text is refused before it is looked at

    // SHA-256 of a SubjectPublicKeyInfo in DER.
    static NodeId fromSpki(QByteArrayView spkiDer);
    static NodeId fromView(QByteArrayView v); // v must be 32 bytes; otherwise null
    // The text form back to an id; InvalidArgument saying what is wrong.
    static Result<NodeId> parse(QStringView text);

    bool isNull() const;
    QString toString() const; // the dashed form above
    // The first 8 bytes, big-endian: the short id version vectors carry
    // (core/versionvector.h), as Syncthing's short device ids.
    uint64_t shortId() const;
    QString shortIdHex() const; // the short id as 16 lower-case hex digits
    QByteArrayView view() const { return {reinterpret_cast<const char *>(bytes.data()), size}; }
    auto operator<=>(const NodeId &) const = default;
};

} // namespace vd::node
