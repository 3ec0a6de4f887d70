// The allocation picture of idvd (allocationmap.h) and Collection::allocationMap().
#include "allocationmap.h"

#include "blockallocator.h"
#include "catalog.h"
#include "catalogstore.h"
#include "collection.h"
#include "smallblock.h"
#include "space.h"

#include <algorithm>
#include <bit>

namespace vd::storage {

bool blocksOfWord(uint32_t word, uint32_t unit, std::vector<Extent> *out)
{
    const uint32_t used = word & 0xffff;
    const uint32_t starts = word >> 16;
    if (starts & ~used)
        return false;
    int s = 0;
    while (s < kSlotsPerUnit) {
        if (!((used >> s) & 1)) {
            ++s;
            continue;
        }
        if (!((starts >> s) & 1))
            return false;
        int e = s + 1;
        while (e < kSlotsPerUnit && ((used >> e) & 1) && !((starts >> e) & 1))
            ++e;
        const int len = e - s;
        if (!std::has_single_bit(unsigned(len)) || s % len != 0)
            return false;
        out->push_back(Extent { uint64_t(unit) * kUnitSize + uint64_t(s) * kSlotSize, uint8_t(std::countr_zero(unsigned(len))) });
        s = e;
    }
    return true;
}

AllocatorHealth healthOf(const AllocationMap &map)
{
    AllocatorHealth h;
    h.units = map.words.size();
    h.idvdBytes = h.units * kUnitSize;
    for (const uint32_t word : map.words) {
        uint32_t free = ~word & 0xffff;
        if (free == 0xffff) {
            ++h.freeRuns[kClassCount - 1];
            continue;
        }
        h.fragmentedBytes += uint64_t(std::popcount(free)) * kSlotSize;
        // The largest aligned free runs first, each slot counted once.
        for (int c = kClassCount - 2; c >= 0; --c) {
            const int len = classSlots(c);
            const uint32_t run = (1u << len) - 1;
            for (int s = 0; s < kSlotsPerUnit; s += len)
                if (((free >> s) & run) == run) {
                    ++h.freeRuns[size_t(c)];
                    free &= ~(run << s);
                }
        }
    }
    for (int c = 0; c < kClassCount; ++c)
        h.freeBytes += h.freeRuns[size_t(c)] * classSize(c);
    for (const MapBlock &b : map.blocks) {
        ++h.blocksPerClass[b.sizeClass];
        h.allocatedBytes += b.size();
        switch (b.use) {
        case BlockUse::Data:
            h.dataBytes += b.size();
            h.paddingBytes += b.size() - std::min(b.used, b.size());
            break;
        case BlockUse::Small:
            h.smallBytes += b.size();
            h.paddingBytes += b.size() - std::min(b.used, b.size());
            break;
        case BlockUse::Catalog:
            h.catalogBytes += b.size();
            break;
        default:
            h.otherBytes += b.size();
        }
    }
    return h;
}

Result<AllocationMap> Collection::allocationMap()
{
    VD_TRY(checkUsable());
    AllocationMap map;
    map.generation = m_meta.generation;
    const BlockAllocator &alloc = m_space->allocator();
    map.words = alloc.words();
    for (const Extent &e : alloc.blocks())
        map.blocks.push_back(MapBlock { e.offset, e.sizeClass, BlockUse::Unrecorded, 0 });
    auto mark = [&](const Extent &e, BlockUse use, uint64_t used) {
        const auto it = std::lower_bound(
            map.blocks.begin(), map.blocks.end(), e.offset, [](const MapBlock &b, uint64_t off) { return b.offset < off; });
        if (it != map.blocks.end() && it->offset == e.offset && it->sizeClass == e.sizeClass) {
            it->use = use;
            it->used = used;
        }
    };
    mark(Extent { 0, 0 }, BlockUse::Head, 0);
    for (const Extent &e : m_space->reserve())
        mark(e, BlockUse::Reserve, 0);
    for (const auto &[offset, seg] : m_catalogStore->segments())
        mark(seg.extent, BlockUse::Catalog, seg.liveBytes);
    VD_TRY_ASSIGN(const auto records, blockRecords());
    for (const BlockEntry &b : records) {
        if (b.record.kind == BlockKind::Data) {
            mark(b.record.extent, BlockUse::Data, b.record.length);
            continue;
        }
        const SmallBlockLog *log = openSmallLog(b.id);
        mark(b.record.extent, BlockUse::Small, (log ? log->state() : b.record.small).liveBytes);
    }
    VD_TRY_ASSIGN(const auto locations, locationRecords());
    for (const auto &[name, loc] : locations)
        if (loc.placement == LocationRecord::Placement::Block)
            mark(loc.extent, BlockUse::Data, loc.length);
    return map;
}

bool AllocationMap::isCorrupt(uint64_t offset) const
{
    return std::binary_search(corrupt.begin(), corrupt.end(), offset);
}

} // namespace vd::storage
