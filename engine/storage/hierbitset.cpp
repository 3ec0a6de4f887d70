#include "hierbitset.h"

namespace vd::storage {

void HierBitset::resize(uint64_t n)
{
    // Rebuild the summary levels from level 0; resizing is rare (idvd grows
    // or shrinks by a unit) and O(n / 64).
    std::vector<uint64_t> bits = m_levels.empty() ? std::vector<uint64_t>{} : std::move(m_levels[0]);
    bits.resize((n + 63) / 64, 0);
    if (n % 64 && !bits.empty())
        bits.back() &= (uint64_t(1) << (n % 64)) - 1;
    m_size = n;
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
    if (m_levels.empty() || m_levels.back().empty() || m_levels.back()[0] == 0)
        return npos;
    uint64_t index = 0;
    for (size_t l = m_levels.size(); l-- > 0;) {
        const uint64_t word = m_levels[l][index];
        index = (index << 6) | uint64_t(std::countr_zero(word));
    }
    return index;
}

} // namespace vd::storage
