#include "hierbitset.h"

namespace vd::storage {

void HierBitset::resize(uint64_t n)
{
    if (n > m_capacity) {
        // Grow the capacity geometrically and rebuild the summaries once:
        // appending a unit at a time costs O(1) amortised.
        uint64_t cap = m_capacity ? m_capacity : 64;
        while (cap < n)
            cap *= 2;
        std::vector<uint64_t> bits = m_levels.empty() ? std::vector<uint64_t>{} : std::move(m_levels[0]);
        bits.resize(cap / 64, 0);
        m_levels.clear();
        m_levels.push_back(std::move(bits));
        while (m_levels.back().size() > 1) {
            const std::vector<uint64_t> &below = m_levels.back();
            std::vector<uint64_t> above((below.size() + 63) / 64, 0);
            for (size_t w = 0; w < below.size(); ++w)
                if (below[w])
                    above[w >> 6] |= uint64_t(1) << (w & 63);
            m_levels.push_back(std::move(above));
        }
        m_capacity = cap;
    }
    // Bits at and beyond the new size are cleared, so they neither show up
    // in findFirst() nor come back when the set grows again.
    for (uint64_t i = n; i < m_size; ++i)
        if (test(i))
            clear(i);
    m_size = n;
}

void HierBitset::set(uint64_t i)
{
    for (auto &level : m_levels) {
        uint64_t &word = level[i >> 6];
        const bool wasEmpty = word == 0;
        word |= uint64_t(1) << (i & 63);
        if (!wasEmpty)
            return;
        i >>= 6;
    }
}

void HierBitset::clear(uint64_t i)
{
    for (auto &level : m_levels) {
        uint64_t &word = level[i >> 6];
        word &= ~(uint64_t(1) << (i & 63));
        if (word != 0)
            return;
        i >>= 6;
    }
}

uint64_t HierBitset::findFirst() const
{
    if (m_levels.empty() || m_levels.back()[0] == 0)
        return npos;
    uint64_t index = 0;
    for (size_t l = m_levels.size(); l-- > 0;) {
        const uint64_t word = m_levels[l][index];
        index = (index << 6) | uint64_t(std::countr_zero(word));
    }
    return index;
}

} // namespace vd::storage
