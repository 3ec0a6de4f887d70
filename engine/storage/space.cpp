#include "space.h"

#include <algorithm>

namespace vd::storage {

Result<Extent> Space::allocate(int sizeClass)
{
    // The file is not extended here: writing a block extends it, and the
    // commit makes it whole units long before it syncs. (Extending it on
    // every new unit made ftruncate contend with the block writers.)
    return m_alloc.allocate(sizeClass);
}

void Space::unallocate(const Extent &e)
{
    // It was free in the committed generation and nothing refers to it:
    // give back whatever part the disk had already allocated, and the slot.
    (void)m_idvd->punchHole(ByteRange{e.offset, e.size()});
    (void)m_alloc.free(e);
}

Result<Extent> Space::allocateBacked(int sizeClass)
{
    VD_TRY_ASSIGN(const Extent e, m_alloc.allocate(sizeClass));
    const Status st = m_idvd->allocate(e);
    if (st)
        return e;
    unallocate(e);
    if (st.code() == ErrorCode::NoSpace && m_reserveAllowed) {
        const auto it = std::find_if(m_reserve.begin(), m_reserve.end(), [&](const Extent &r) { return r.sizeClass == sizeClass; });
        if (it != m_reserve.end()) {
            const Extent r = *it;
            m_reserve.erase(it);
            return r;
        }
    }
    return st;
}

Status Space::applyFrees(uint64_t generation, bool hold)
{
    m_freed.clear();
    if (hold && !m_pendingFrees.empty()) {
        for (const Extent &e : m_pendingFrees)
            if (!m_alloc.isAllocated(e))
                return Status::internal(QStringLiteral("releasing a block at commit: the block at %1 is not allocated").arg(e.offset));
        auto &held = m_limbo[generation];
        held.insert(held.end(), m_pendingFrees.begin(), m_pendingFrees.end());
        m_pendingFrees.clear();
        return {};
    }
    for (const Extent &e : m_pendingFrees) {
        Status st = m_alloc.free(e);
        if (!st)
            return Status::internal(QStringLiteral("releasing a block at commit: %1").arg(st.message()));
        m_freed.push_back(e);
    }
    m_pendingFrees.clear();
    return {};
}

Status Space::settleFrees(uint64_t generation, std::optional<uint64_t> oldestPin)
{
    Status first;
    if (oldestPin && *oldestPin < generation && !m_freed.empty()) {
        // A reader pinned the previous generation between applyFrees() and
        // the commit point: nothing was allocated since, so the blocks are
        // still as it needs them. Back to allocated, in limbo.
        auto &held = m_limbo[generation];
        for (const Extent &e : m_freed) {
            Status st = m_alloc.markAllocated(e);
            if (!st && first)
                first = Status::internal(QStringLiteral("holding a freed block for a reader: %1").arg(st.message()));
            held.push_back(e);
        }
        m_freed.clear();
    } else {
        first = punchFreed();
    }
    Status released = releaseLimbo(oldestPin);
    return first ? released : first;
}

Status Space::releaseLimbo(std::optional<uint64_t> oldestPin)
{
    Status first;
    for (auto it = m_limbo.begin(); it != m_limbo.end() && (!oldestPin || it->first <= *oldestPin);) {
        for (const Extent &e : it->second) {
            Status st = m_alloc.free(e);
            if (!st && first)
                first = Status::internal(QStringLiteral("releasing a block from limbo: %1").arg(st.message()));
            else if (st)
                m_freed.push_back(e);
        }
        it = m_limbo.erase(it);
    }
    Status punched = punchFreed();
    return first ? punched : first;
}

BlockAllocator Space::durableAllocator() const
{
    BlockAllocator copy = m_alloc;
    for (const auto &[generation, extents] : m_limbo)
        for (const Extent &e : extents)
            (void)copy.free(e);
    return copy;
}

Status Space::holdLimbo(std::map<uint64_t, std::vector<Extent>> limbo)
{
    Status first;
    for (const auto &[generation, extents] : limbo)
        for (const Extent &e : extents) {
            Status st = m_alloc.markAllocated(e);
            if (!st && first)
                first = Status::internal(QStringLiteral("holding a block in limbo after a reload: %1").arg(st.message()));
        }
    m_limbo = std::move(limbo);
    return first;
}

uint64_t Space::limboBytes() const
{
    uint64_t n = 0;
    for (const auto &[generation, extents] : m_limbo)
        for (const Extent &e : extents)
            n += e.size();
    return n;
}

Status Space::punchFreed()
{
    std::vector<Extent> freed = std::move(m_freed);
    m_freed.clear();
    std::sort(freed.begin(), freed.end());
    const uint64_t fileEnd = uint64_t(m_alloc.unitCount()) * kUnitSize; // the tail beyond is cut off instead
    std::vector<ByteRange> runs;
    for (const Extent &e : freed) {
        if (e.offset >= fileEnd)
            continue;
        if (!runs.empty() && runs.back().offset + runs.back().length == e.offset)
            runs.back().length += e.size();
        else
            runs.push_back(ByteRange{e.offset, e.size()});
    }
    Status first;
    for (const ByteRange &r : runs) {
        Status st = m_idvd->punchHole(r);
        if (!st && first)
            first = st;
    }
    return first;
}

Status Space::punchAllFree()
{
    Status first;
    for (const ByteRange &r : m_alloc.freeRanges()) {
        Status st = m_idvd->punchHole(r);
        if (!st && first)
            first = st;
    }
    return first;
}

Status Space::shrinkTail()
{
    if (m_alloc.shrinkTail() == 0)
        return {};
    return m_idvd->resizeToUnits(m_alloc.unitCount());
}

Status Space::refillReserve(int sizeClass, size_t count)
{
    while (m_reserve.size() < count) {
        VD_TRY_ASSIGN(const Extent e, m_alloc.allocate(sizeClass));
        const Status st = m_idvd->allocate(e);
        if (!st) {
            unallocate(e);
            return st;
        }
        m_reserve.push_back(e);
    }
    return {};
}

uint64_t Space::reserveBytes() const
{
    uint64_t n = 0;
    for (const Extent &e : m_reserve)
        n += e.size();
    return n;
}

} // namespace vd::storage
