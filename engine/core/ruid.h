// RUID: a random 128-bit identifier (collections, blocks, objects).
// Text form: 32 lower-case hex digits, the name of a collection's folder.
// Thread-safety: a Ruid is a plain value; generate() and generateOrdered()
// may be called from any thread at once (the system's random source).
#pragma once

#include "status.h"

#include <QByteArrayView>
#include <QString>

#include <array>
#include <compare>
#include <cstdint>
#include <functional>

namespace vd {

struct Ruid
{
    std::array<uint8_t, 16> bytes{};

    static constexpr int size = 16;
    static Ruid generate(); // from the operating system's CSPRNG
    // Time-ordered (as UUIDv7): 48 bits of milliseconds since the epoch, then
    // 80 random bits. Ids made together sort together, so records keyed by
    // them land in the same catalog pages and a commit rewrites few pages.
    static Ruid generateOrdered();
    static Result<Ruid> parse(const QString &text); // strict: exactly 32 hex digits
    static Ruid fromView(QByteArrayView v); // v must be 16 bytes; otherwise null

    bool isNull() const;
    QString toString() const;
    QString shortString() const { return toString().left(8); }
    QByteArrayView view() const { return {reinterpret_cast<const char *>(bytes.data()), size}; }
    auto operator<=>(const Ruid &) const = default;
};

} // namespace vd

template<>
struct std::hash<vd::Ruid>
{
    size_t operator()(const vd::Ruid &r) const noexcept
    {
        size_t h = 0;
        for (int i = 0; i < 8; ++i)
            h = (h << 8) | r.bytes[size_t(i)];
        return h;
    }
};
