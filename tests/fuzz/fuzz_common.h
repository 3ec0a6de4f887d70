// Helpers shared by the libFuzzer targets in tests/fuzz/.
//
// Most on-disk structures end in a SHA-256 of what precedes them, and a
// mutated input almost never carries a valid one. So every target decodes
// its input twice: once exactly as given (the checksum and framing checks),
// and once "fixed up" — sizes and checksum patched so that the decoder gets
// past them and the fuzzer reaches the parsing behind them. Both must only
// ever return a Status.
//
// FUZZ_CHECK(cond) traps when a property that must hold for every accepted
// input does not (a decode/encode round trip, an allocator invariant): that
// is a real bug, not a rejected input.
#pragma once

#include "core/hash.h"
#include "core/ruid.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#define FUZZ_CHECK(cond)                                                                                                            \
    do {                                                                                                                            \
        if (!(cond)) {                                                                                                              \
            std::fprintf(stderr, "FUZZ_CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__);                                   \
            __builtin_trap();                                                                                                       \
        }                                                                                                                           \
    } while (false)

namespace vd::fuzz {

inline QByteArrayView view(const uint8_t *data, size_t size)
{
    return {reinterpret_cast<const char *>(data), qsizetype(size)};
}

inline uint32_t readU32(QByteArrayView b, qsizetype at)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v |= uint32_t(uint8_t(b[at + i])) << (8 * i);
    return v;
}

inline uint16_t readU16(QByteArrayView b, qsizetype at) { return uint16_t(uint8_t(b[at]) | (uint8_t(b[at + 1]) << 8)); }

inline void writeU32(QByteArray *b, qsizetype at, uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        (*b)[at + i] = char(uint8_t(v >> (8 * i)));
}

// Writes SHA-256 of b[0, covered) at b[covered, covered + 32).
inline void patchSha256(QByteArray *b, qsizetype covered)
{
    const Hash256 h = sha256(QByteArrayView(*b).first(covered));
    std::memcpy(b->data() + covered, h.bytes.data(), Hash256::size);
}

// The collection RUID the seed corpus uses for head slots (make_corpus.cpp).
inline Ruid seedCollection()
{
    Ruid r;
    for (int i = 0; i < Ruid::size; ++i)
        r.bytes[size_t(i)] = uint8_t(0xc0 + i);
    return r;
}

// A VNode record does not hold its own parent and name (they are its key),
// so fuzz_tree decodes every one under these, as make_corpus encodes them.
inline Ruid treeParent()
{
    Ruid r;
    r.bytes[15] = 1; // the root folder's id
    return r;
}
inline QString treeName() { return QStringLiteral("fuzzed name"); }
// Likewise the sequence number a change record is decoded with (its key's).
inline constexpr uint64_t kChangeSequence = 4242;

} // namespace vd::fuzz
