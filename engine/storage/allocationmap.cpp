// The allocation picture of idvd (allocationmap.h) and Collection::allocationMap().
#include "allocationmap.h"

#include "blockallocator.h"
#include "catalog.h"
#include "catalogstore.h"
#include "collection.h"
#include "readertable.h"
#include "records.h"
#include "smallblock.h"
#include "space.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <map>

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

namespace {

// The picture from its parts, the same for the writer's working state and
// for a pinned generation: every allocated block of the allocator's words,
// then what the head, the reserve, the catalog's segment table and the
// block and location records say of each. smallLive: a SmallBlock's live
// bytes, given its record's state.
Result<AllocationMap> buildMap(uint64_t generation, std::vector<uint32_t> words, const std::vector<Extent> &reserve,
                               const std::map<uint64_t, SegmentInfo> &segments, CatalogReader &catalog,
                               const std::function<uint64_t(const Ruid &, const SmallBlockState &)> &smallLive)
{
    VD_TRY_ASSIGN(const BlockAllocator alloc, BlockAllocator::fromWords(words));
    AllocationMap map;
    map.generation = generation;
    map.words = std::move(words);
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
    for (const Extent &e : reserve)
        mark(e, BlockUse::Reserve, 0);
    for (const auto &[offset, seg] : segments)
        mark(seg.extent, BlockUse::Catalog, seg.liveBytes);
    Status inner;
    VD_TRY(catalog.scan(QByteArray(1, keys::kBlock), QByteArray(1, keys::kBlock + 1), [&](QByteArrayView key, QByteArrayView value) {
        Ruid id;
        uint64_t version = 0;
        auto rec = BlockRecord::decode(value);
        if (!rec || !keys::parseBlockKey(key, &id, &version)) {
            inner = rec ? Status::corruption(QStringLiteral("malformed block key")) : rec.status();
            return false;
        }
        if (rec->kind == BlockKind::Data)
            mark(rec->extent, BlockUse::Data, rec->length);
        else
            mark(rec->extent, BlockUse::Small, smallLive(id, rec->small));
        return true;
    }));
    VD_TRY(inner);
    VD_TRY(catalog.scan(QByteArray(1, keys::kLocation), QByteArray(1, keys::kLocation + 1), [&](QByteArrayView, QByteArrayView value) {
        auto loc = LocationRecord::decode(value);
        if (!loc) {
            inner = loc.status();
            return false;
        }
        if (loc->placement == LocationRecord::Placement::Block)
            mark(loc->extent, BlockUse::Data, loc->length);
        return true;
    }));
    VD_TRY(inner);
    return map;
}

} // namespace

Result<AllocationMap> Collection::allocationMap()
{
    VD_TRY(checkUsable());
    // The working state: allocations not committed yet included, an open
    // SmallBlock's live bytes as its log has them now.
    return buildMap(m_meta.generation, m_space->allocator().words(), m_space->reserve(), m_catalogStore->segments(), catalog(),
                    [this](const Ruid &id, const SmallBlockState &recorded) {
                        const SmallBlockLog *log = openSmallLog(id);
                        return (log ? log->state() : recorded).liveBytes;
                    });
}

Result<AllocationMap> GenerationReader::allocationMap()
{
    if (!m_words)
        return Status::internal(QStringLiteral("no allocator state was published with generation %1").arg(m_generation));
    std::map<uint64_t, SegmentInfo> segments;
    if (!m_root.segmentTable.isNull()) {
        VD_TRY_ASSIGN(const QByteArray table, m_pages->readPage(m_root.segmentTable));
        VD_TRY_ASSIGN(segments, CatalogStore::decodeTable(table));
        auto it = segments.find(m_root.segmentTable.blockOffset);
        if (it == segments.end())
            return Status::corruption(QStringLiteral("catalog segment table lies in a block it does not list"));
        it->second.liveBytes += m_root.segmentTable.slot.storedLength; // the table does not count itself
    }
    return buildMap(m_generation, *m_words, m_root.reserve, segments, *m_catalog,
                    [](const Ruid &, const SmallBlockState &recorded) { return recorded.liveBytes; });
}

bool AllocationMap::isCorrupt(uint64_t offset) const
{
    return std::binary_search(corrupt.begin(), corrupt.end(), offset);
}

} // namespace vd::storage
