// SHA-256 through OpenSSL's libcrypto (SHA-NI where the CPU has it).
// Every content hash and checksum in the on-disk format is SHA-256.
// Thread-safety: the functions are reentrant (each call has its own context);
// a Hash256 is a plain value.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <array>
#include <compare>
#include <cstdint>
#include <memory>

namespace vd {

struct Hash256
{
    std::array<uint8_t, 32> bytes{};

    static constexpr int size = 32;
    bool isNull() const;
    QByteArrayView view() const { return {reinterpret_cast<const char *>(bytes.data()), size}; }
    static Hash256 fromView(QByteArrayView v); // v must be 32 bytes; otherwise null
    QString toHex() const;
    QString shortHex() const { return toHex().left(12); }
    auto operator<=>(const Hash256 &) const = default;
};

// For Qt's hash containers: a SHA-256 is already uniformly spread.
inline size_t qHash(const Hash256 &h, size_t seed = 0) noexcept
{
    size_t v = 0;
    for (size_t i = 0; i < sizeof v; ++i)
        v = (v << 8) | h.bytes[i];
    return v ^ seed;
}

// One-shot hash.
Hash256 sha256(QByteArrayView data);

// Incremental hash for streams. Not copyable; cheap to move.
class Sha256
{
public:
    Sha256();
    ~Sha256();
    Sha256(Sha256 &&) noexcept;
    Sha256 &operator=(Sha256 &&) noexcept;

    void add(QByteArrayView data);
    Hash256 finish(); // resets the state; the object can be reused

private:
    struct Ctx;
    std::unique_ptr<Ctx> m_ctx;
};

} // namespace vd
