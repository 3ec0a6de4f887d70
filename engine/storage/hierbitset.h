// A bit set over [0, n) that finds its lowest set bit in O(log64 n): each
// level keeps one bit per 64-bit word of the level below ("this word is not
// empty"). The allocator keeps one per question it asks ("which is the first
// unit with a free 4 MiB block?"). Growing is amortised O(1): the capacity
// doubles, so appending one bit at a time never rebuilds more than a few times.
// Thread-safety: none: one owner (the allocator, on the writer's thread).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vd::storage {

class HierBitset
{
public:
    static constexpr uint64_t npos = ~uint64_t(0);

    void resize(uint64_t n);
    uint64_t size() const { return m_size; }
    void set(uint64_t i);
    void clear(uint64_t i);
    void assign(uint64_t i, bool v) { v ? set(i) : clear(i); }
    bool test(uint64_t i) const { return (m_levels[0][i >> 6] >> (i & 63)) & 1; }
    uint64_t findFirst() const;

private:
    std::vector<std::vector<uint64_t>> m_levels; // [0] is the bits themselves, sized for m_capacity
    uint64_t m_size = 0;
    uint64_t m_capacity = 0; // a power of two >= 64, or 0
};

} // namespace vd::storage
