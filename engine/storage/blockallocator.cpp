#include "blockallocator.h"

#include <bit>

namespace vd::storage {

namespace {

constexpr uint32_t kUsedMask = 0xffff;

// For every 16-bit used mask and class, the slot where a new block of that
// class goes (best fit: inside the smallest free buddy), or -1 if none.
struct FitTable
{
    std::array<std::array<int8_t, kClassCount>, 65536> best;

    FitTable()
    {
        for (uint32_t used = 0; used < 65536; ++used) {
            // free[k]: bit i set if the aligned run i of 2^k slots is all free
            std::array<uint32_t, kClassCount> freeRuns{};
            freeRuns[0] = ~used & 0xffff;
            for (int k = 1; k < kClassCount; ++k) {
                const int runs = kSlotsPerUnit >> k;
                uint32_t f = 0;
                for (int i = 0; i < runs; ++i)
                    if (((freeRuns[size_t(k - 1)] >> (2 * i)) & 3) == 3)
                        f |= 1u << i;
                freeRuns[size_t(k)] = f;
            }
            for (int c = 0; c < kClassCount; ++c) {
                int8_t choice = -1;
                // the smallest level k >= c with a free run whose parent is not free
                for (int k = c; k < kClassCount && choice < 0; ++k) {
                    const int runs = kSlotsPerUnit >> k;
                    for (int i = 0; i < runs; ++i) {
                        if (!((freeRuns[size_t(k)] >> i) & 1))
                            continue;
                        const bool parentFree = k + 1 < kClassCount && ((freeRuns[size_t(k + 1)] >> (i / 2)) & 1);
                        if (parentFree)
                            continue;
                        choice = int8_t(i << k);
                        break;
                    }
                }
                best[used][size_t(c)] = choice;
            }
        }
    }
};

const FitTable &fitTable()
{
    static const FitTable table;
    return table;
}

uint16_t runMask(int slot, int sizeClass) { return uint16_t(((1u << classSlots(sizeClass)) - 1) << slot); }

} // namespace

BlockAllocator::BlockAllocator(uint32_t units)
{
    for (uint32_t u = 0; u < units; ++u)
        appendUnit();
}

Status BlockAllocator::checkWord(uint32_t word, uint32_t unit)
{
    const uint32_t used = word & kUsedMask;
    const uint32_t starts = word >> 16;
    auto bad = [&](const QString &why) {
        return Status::corruption(QStringLiteral("unit %1 (word %2): %3").arg(unit).arg(word, 8, 16, QLatin1Char('0')).arg(why));
    };
    if (starts & ~used)
        return bad(QStringLiteral("a block starts on a free slot"));
    int s = 0;
    while (s < kSlotsPerUnit) {
        if (!((used >> s) & 1)) {
            ++s;
            continue;
        }
        if (!((starts >> s) & 1))
            return bad(QStringLiteral("slot %1 is in use but belongs to no block").arg(s));
        int e = s + 1;
        while (e < kSlotsPerUnit && ((used >> e) & 1) && !((starts >> e) & 1))
            ++e;
        const int len = e - s;
        if (!std::has_single_bit(unsigned(len)) || s % len != 0)
            return bad(QStringLiteral("the block at slot %1 is %2 MiB, not an aligned power of two").arg(s).arg(len));
        s = e;
    }
    return {};
}

Result<BlockAllocator> BlockAllocator::fromWords(const std::vector<uint32_t> &words)
{
    if (words.size() > kMaxUnits)
        return Status::corruption(QStringLiteral("%1 units exceed the limit of %2").arg(words.size()).arg(kMaxUnits));
    for (size_t u = 0; u < words.size(); ++u)
        VD_TRY(checkWord(words[u], uint32_t(u)));
    BlockAllocator a(uint32_t(words.size()));
    a.m_words = words;
    for (uint32_t u = 0; u < a.unitCount(); ++u)
        a.refreshUnit(u);
    for (const Extent &e : a.blocks())
        ++a.m_perClass[e.sizeClass];
    return a;
}

void BlockAllocator::appendUnit()
{
    const uint64_t n = m_words.size() + 1;
    m_words.push_back(0);
    for (auto &b : m_partial)
        b.resize(n);
    m_empty.resize(n);
    refreshUnit(uint32_t(n - 1));
}

void BlockAllocator::refreshUnit(uint32_t unit)
{
    const uint32_t used = m_words[unit] & kUsedMask;
    const auto &best = fitTable().best[used];
    m_empty.assign(unit, used == 0);
    for (int c = 0; c < kClassCount - 1; ++c)
        m_partial[size_t(c)].assign(unit, used != 0 && best[size_t(c)] >= 0);
}

Result<Extent> BlockAllocator::allocate(int sizeClass)
{
    if (!isValidClass(sizeClass))
        return Status::invalidArgument(QStringLiteral("no block size class %1").arg(sizeClass));
    uint64_t unit = sizeClass < kClassCount - 1 ? m_partial[size_t(sizeClass)].findFirst() : HierBitset::npos;
    if (unit == HierBitset::npos)
        unit = m_empty.findFirst();
    if (unit == HierBitset::npos) {
        if (m_words.size() >= m_maxUnits)
            return Status::noSpace(QStringLiteral("the collection has reached its limit of %1 units (%2 GiB)")
                                       .arg(m_maxUnits)
                                       .arg(uint64_t(m_maxUnits) * kUnitSize >> 30));
        appendUnit();
        unit = m_words.size() - 1;
    }
    uint32_t &word = m_words[unit];
    const int slot = fitTable().best[word & kUsedMask][size_t(sizeClass)];
    if (slot < 0)
        return Status::internal(QStringLiteral("allocator index points at a full unit %1").arg(unit));
    word |= runMask(slot, sizeClass) | (1u << (16 + slot));
    refreshUnit(uint32_t(unit));
    ++m_perClass[size_t(sizeClass)];
    return Extent{unit * kUnitSize + uint64_t(slot) * kSlotSize, uint8_t(sizeClass)};
}

bool BlockAllocator::isAllocated(const Extent &e) const
{
    if (!e.isValid() || e.unit() >= m_words.size())
        return false;
    const uint32_t word = m_words[e.unit()];
    const int s = e.slot();
    const int end = s + classSlots(e.sizeClass);
    const uint32_t used = word & kUsedMask;
    const uint32_t starts = word >> 16;
    if (!((starts >> s) & 1) || (used & runMask(s, e.sizeClass)) != runMask(s, e.sizeClass))
        return false;
    // no other block starts inside, and the block does not run on past e
    if ((starts & runMask(s, e.sizeClass)) != (1u << s))
        return false;
    return end == kSlotsPerUnit || !((used >> end) & 1) || ((starts >> end) & 1);
}

Status BlockAllocator::free(const Extent &e)
{
    if (!isAllocated(e))
        return Status::invalidArgument(QStringLiteral("freeing a block that is not allocated: offset %1, %2 MiB")
                                           .arg(e.offset)
                                           .arg(isValidClass(e.sizeClass) ? e.size() >> 20 : 0));
    uint32_t &word = m_words[e.unit()];
    word &= ~(uint32_t(runMask(e.slot(), e.sizeClass)) | (1u << (16 + e.slot())));
    refreshUnit(e.unit());
    --m_perClass[e.sizeClass];
    return {};
}

Status BlockAllocator::markAllocated(const Extent &e)
{
    if (!e.isValid())
        return Status::invalidArgument(QStringLiteral("not a block: offset %1 class %2").arg(e.offset).arg(e.sizeClass));
    if (e.unit() >= m_maxUnits)
        return Status::noSpace(QStringLiteral("block at offset %1 lies beyond the unit limit").arg(e.offset));
    while (m_words.size() <= e.unit())
        appendUnit();
    uint32_t &word = m_words[e.unit()];
    if (word & runMask(e.slot(), e.sizeClass))
        return Status::conflict(QStringLiteral("block at offset %1 (%2 MiB) overlaps another block").arg(e.offset).arg(e.size() >> 20));
    word |= runMask(e.slot(), e.sizeClass) | (1u << (16 + e.slot()));
    refreshUnit(e.unit());
    ++m_perClass[e.sizeClass];
    return {};
}

uint32_t BlockAllocator::shrinkTail()
{
    uint32_t removed = 0;
    while (m_words.size() > 1 && (m_words.back() & kUsedMask) == 0) {
        m_words.pop_back();
        ++removed;
    }
    if (removed) {
        for (auto &b : m_partial)
            b.resize(m_words.size());
        m_empty.resize(m_words.size());
    }
    return removed;
}

std::vector<Extent> BlockAllocator::blocks() const
{
    std::vector<Extent> out;
    for (uint32_t u = 0; u < m_words.size(); ++u) {
        const uint32_t used = m_words[u] & kUsedMask;
        const uint32_t starts = m_words[u] >> 16;
        for (int s = 0; s < kSlotsPerUnit;) {
            if (!((starts >> s) & 1)) {
                ++s;
                continue;
            }
            int e = s + 1;
            while (e < kSlotsPerUnit && ((used >> e) & 1) && !((starts >> e) & 1))
                ++e;
            out.push_back(Extent{u * kUnitSize + uint64_t(s) * kSlotSize, uint8_t(std::countr_zero(unsigned(e - s)))});
            s = e;
        }
    }
    return out;
}

std::vector<ByteRange> BlockAllocator::freeRanges() const
{
    std::vector<ByteRange> ranges;
    for (uint32_t u = 0; u < m_words.size(); ++u)
        for (int s = 0; s < kSlotsPerUnit; ++s) {
            if ((m_words[u] >> s) & 1)
                continue;
            const uint64_t at = uint64_t(u) * kUnitSize + uint64_t(s) * kSlotSize;
            if (!ranges.empty() && ranges.back().offset + ranges.back().length == at)
                ranges.back().length += kSlotSize;
            else
                ranges.push_back(ByteRange{at, kSlotSize});
        }
    return ranges;
}

uint64_t BlockAllocator::allocatedBytes() const
{
    uint64_t total = 0;
    for (int c = 0; c < kClassCount; ++c)
        total += m_perClass[size_t(c)] * classSize(c);
    return total;
}

Status BlockAllocator::checkInvariants() const
{
    std::array<uint64_t, kClassCount> counts{};
    for (uint32_t u = 0; u < m_words.size(); ++u) {
        VD_TRY(checkWord(m_words[u], u));
        const uint32_t used = m_words[u] & kUsedMask;
        const auto &best = fitTable().best[used];
        if (m_empty.test(u) != (used == 0))
            return Status::internal(QStringLiteral("empty-unit index disagrees at unit %1").arg(u));
        for (int c = 0; c < kClassCount - 1; ++c)
            if (m_partial[size_t(c)].test(u) != (used != 0 && best[size_t(c)] >= 0))
                return Status::internal(QStringLiteral("class %1 index disagrees at unit %2").arg(c).arg(u));
    }
    for (const Extent &e : blocks())
        ++counts[e.sizeClass];
    if (counts != m_perClass)
        return Status::internal(QStringLiteral("per-class block counts disagree with the words"));
    if (m_empty.size() != m_words.size())
        return Status::internal(QStringLiteral("index size disagrees with the unit count"));
    return {};
}

} // namespace vd::storage
