// The geometry of idvd: 16 MiB units, each carved into blocks of 1, 2, 4, 8
// or 16 MiB (size classes 0..4). A block is aligned to its own size inside
// its unit, so a block of class c starts at a multiple of 2^c MiB.
// Thread-safety: constants and pure functions.
#pragma once

#include <compare>
#include <cstdint>

namespace vd::storage {

inline constexpr uint64_t kSlotSize = uint64_t(1) << 20; // 1 MiB, the smallest block
inline constexpr uint64_t kUnitSize = uint64_t(1) << 24; // 16 MiB, the largest block
inline constexpr int kSlotsPerUnit = 16;
inline constexpr int kClassCount = 5;                   // 1, 2, 4, 8, 16 MiB
inline constexpr uint32_t kMaxUnits = uint32_t(1) << 22; // 64 TiB per collection

inline constexpr uint64_t classSize(int sizeClass) { return kSlotSize << sizeClass; }
inline constexpr int classSlots(int sizeClass) { return 1 << sizeClass; }
inline constexpr bool isValidClass(int sizeClass) { return sizeClass >= 0 && sizeClass < kClassCount; }

// One allocated block of idvd: where it starts and how big it is.
struct Extent
{
    uint64_t offset = 0; // byte offset in idvd, a multiple of classSize(sizeClass)
    uint8_t sizeClass = 0;

    uint64_t size() const { return classSize(sizeClass); }
    uint64_t end() const { return offset + size(); }
    uint32_t unit() const { return uint32_t(offset / kUnitSize); }
    int slot() const { return int((offset % kUnitSize) / kSlotSize); }
    bool isValid() const
    {
        return isValidClass(sizeClass) && offset % classSize(sizeClass) == 0 && offset / kUnitSize < kMaxUnits;
    }
    auto operator<=>(const Extent &) const = default;
};

// A run of bytes of idvd (not necessarily one block).
struct ByteRange
{
    uint64_t offset = 0;
    uint64_t length = 0;
    bool operator==(const ByteRange &) const = default;
};

} // namespace vd::storage
