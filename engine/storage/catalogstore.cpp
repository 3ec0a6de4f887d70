#include "catalogstore.h"

#include "core/bytes.h"

#include <algorithm>
#include <set>

namespace vd::storage {

CatalogStore::CatalogStore(IdvdFile *idvd, Space *space, int segmentClass)
    : m_idvd(idvd), m_space(space), m_segmentClass(segmentClass)
{
}

QByteArray CatalogStore::encodeTable(const std::map<uint64_t, SegmentInfo> &segments)
{
    QByteArray out;
    ByteWriter w(&out);
    w.u32(uint32_t(segments.size()));
    for (const auto &[offset, s] : segments) {
        w.u64(offset | s.extent.sizeClass);
        w.u32(s.writtenEnd);
        w.u32(s.lastDirOffset);
        w.u32(s.sequence);
        w.u64(s.liveBytes);
    }
    return out;
}

Result<std::map<uint64_t, SegmentInfo>> CatalogStore::decodeTable(QByteArrayView raw)
{
    ByteReader r(raw, QStringLiteral("catalog segment table"));
    const uint32_t count = r.u32();
    if (count > uint64_t(kMaxUnits) * kSlotsPerUnit || uint64_t(count) * 28 > uint64_t(r.remaining()))
        return Status::corruption(QStringLiteral("catalog segment table: %1 entries in %2 bytes").arg(count).arg(raw.size()));
    std::map<uint64_t, SegmentInfo> out;
    for (uint32_t i = 0; i < count && r.ok(); ++i) {
        SegmentInfo s;
        const uint64_t v = r.u64();
        s.extent = Extent{v & ~uint64_t(0xff), uint8_t(v & 0xff)};
        s.writtenEnd = r.u32();
        s.lastDirOffset = r.u32();
        s.sequence = r.u32();
        s.liveBytes = r.u64();
        if (!r.ok())
            break;
        if (!s.extent.isValid() || s.extent.offset < kSlotSize || s.writtenEnd < BlockHeader::kSize || s.writtenEnd > s.extent.size()
            || s.liveBytes > s.extent.size() || s.lastDirOffset >= s.writtenEnd)
            return Status::corruption(QStringLiteral("catalog segment table: entry %1 out of range").arg(i));
        if (!out.emplace(s.extent.offset, s).second)
            return Status::corruption(QStringLiteral("catalog segment table: block at %1 listed twice").arg(s.extent.offset));
    }
    VD_TRY(r.finish());
    return out;
}

Status CatalogStore::load(const RootRecord &root)
{
    m_segments.clear();
    m_retired.clear();
    m_open.reset();
    m_tableRef = root.segmentTable;
    if (!root.segmentTable.isNull()) {
        // The table is read straight from idvd: it tells where everything else is.
        const PageRef &ref = root.segmentTable;
        VD_TRY_ASSIGN(const QByteArray stored, m_idvd->read(ref.blockOffset + ref.slot.offset, ref.slot.storedLength));
        auto raw = unpackPayload(stored, ref.slot);
        if (!raw)
            return raw.status().withContext(QStringLiteral("catalog segment table"));
        VD_TRY_ASSIGN(m_segments, decodeTable(*raw));
        auto it = m_segments.find(ref.blockOffset);
        if (it == m_segments.end())
            return Status::corruption(QStringLiteral("catalog segment table lies in a block it does not list"));
        it->second.liveBytes += ref.slot.storedLength; // the table does not count itself
    }
    if (root.openSegmentOffset != 0) {
        auto it = m_segments.find(root.openSegmentOffset);
        if (it == m_segments.end() || it->second.extent.sizeClass != root.openSegmentClass)
            return Status::corruption(QStringLiteral("the open catalog block at %1 is not in the segment table").arg(root.openSegmentOffset));
        SegmentInfo &s = it->second;
        s.writtenEnd = root.openSegmentEnd;
        s.lastDirOffset = root.openSegmentLastDir;
        s.sequence = root.openSegmentSequence;
        SmallBlockState st;
        st.extent = s.extent;
        st.writtenEnd = s.writtenEnd;
        st.lastDirOffset = s.lastDirOffset;
        st.sequence = s.sequence;
        st.liveBytes = s.liveBytes;
        m_open = std::make_unique<SmallBlockLog>(m_idvd, BlockKind::CatalogLog, st);
    }
    return {};
}

void CatalogStore::syncOpenInfo()
{
    if (!m_open)
        return;
    SegmentInfo &s = m_segments[m_open->state().extent.offset];
    s.extent = m_open->state().extent;
    s.writtenEnd = m_open->state().writtenEnd;
    s.lastDirOffset = m_open->state().lastDirOffset;
    s.sequence = m_open->state().sequence;
}

Status CatalogStore::openNewSegment()
{
    if (m_open) {
        VD_TRY(m_open->flush()); // seal: its last batch is written now
        syncOpenInfo();
        const auto sealed = m_segments.find(m_open->state().extent.offset);
        if (sealed->second.liveBytes == 0)
            retire(sealed);
        m_open.reset();
    }
    // Its disk space is taken before anything is written: a commit then
    // never stops half way for want of space (and a delete's commit may be
    // given a block of the reserve).
    VD_TRY_ASSIGN(const Extent e, m_space->allocateBacked(m_segmentClass));
    SmallBlockState st;
    st.extent = e;
    VD_TRY(SmallBlockLog::writeHeader(m_idvd, BlockKind::CatalogLog, st, m_generation));
    m_open = std::make_unique<SmallBlockLog>(m_idvd, BlockKind::CatalogLog, st);
    SegmentInfo info;
    info.extent = e;
    m_segments[e.offset] = info;
    return {};
}

Result<QByteArray> CatalogStore::readPage(const PageRef &ref)
{
    if (m_open && ref.blockOffset == m_open->state().extent.offset)
        return m_open->read(ref.slot);
    auto it = m_segments.find(ref.blockOffset);
    if (it == m_segments.end()) {
        // The committed tree's page in a block this change drained.
        it = m_retired.find(ref.blockOffset);
        if (it == m_retired.end())
            return Status::corruption(QStringLiteral("a catalog page reference points at offset %1, which holds no catalog block").arg(ref.blockOffset));
    }
    if (uint64_t(ref.slot.offset) + ref.slot.storedLength > it->second.writtenEnd)
        return Status::corruption(QStringLiteral("a catalog page reference points past the written end of its block"));
    VD_TRY_ASSIGN(const QByteArray stored, m_idvd->read(ref.blockOffset + ref.slot.offset, ref.slot.storedLength));
    auto raw = unpackPayload(stored, ref.slot);
    if (!raw)
        return raw.status().withContext(QStringLiteral("catalog page in the block at offset %1").arg(ref.blockOffset));
    return raw;
}

Result<PageRef> CatalogStore::writePage(QByteArrayView raw)
{
    const PackedPayload packed = packPayload(raw);
    if (!m_open || !m_open->hasRoomFor(uint32_t(packed.stored.size())))
        VD_TRY(openNewSegment());
    if (!m_open->hasRoomFor(uint32_t(packed.stored.size())))
        return Status::internal(QStringLiteral("a catalog page of %1 bytes does not fit an empty block").arg(packed.stored.size()));
    VD_TRY_ASSIGN(const SlotLocation loc, m_open->append(packed));
    m_segments[m_open->state().extent.offset].liveBytes += loc.storedLength;
    PageRef ref;
    ref.blockOffset = m_open->state().extent.offset;
    ref.blockClass = m_open->state().extent.sizeClass;
    ref.birth = m_generation;
    ref.slot = loc;
    return ref;
}

void CatalogStore::releasePage(const PageRef &ref)
{
    if (ref.birth <= m_pinnedThrough)
        return; // a snapshot's tree holds it; garbage collection recounts when snapshots go
    releaseUnpinned(ref);
}

void CatalogStore::recount(const std::map<uint64_t, uint64_t> &liveBytesByBlock)
{
    for (auto it = m_segments.begin(); it != m_segments.end();) {
        const auto found = liveBytesByBlock.find(it->first);
        it->second.liveBytes = found == liveBytesByBlock.end() ? 0 : found->second;
        if (it->second.liveBytes == 0 && it->first != openSegmentOffset())
            retire(it++);
        else
            ++it;
    }
}

void CatalogStore::releaseUnpinned(const PageRef &ref)
{
    auto it = m_segments.find(ref.blockOffset);
    if (it == m_segments.end())
        return; // cannot happen for a page that was read through this store
    SegmentInfo &s = it->second;
    s.liveBytes -= std::min<uint64_t>(s.liveBytes, ref.slot.storedLength);
    if (s.liveBytes == 0 && ref.blockOffset != openSegmentOffset())
        retire(it);
}

void CatalogStore::retire(std::map<uint64_t, SegmentInfo>::iterator it)
{
    m_space->freeLater(it->second.extent);
    m_retired[it->first] = it->second;
    m_segments.erase(it);
}

Status CatalogStore::finishCommit(RootRecord *root)
{
    const PageRef oldTable = m_tableRef;
    // The table is written into the open block; make sure one exists and has
    // room for it (the table grows by at most one entry when a block opens).
    const QByteArray probe = encodeTable(m_segments);
    if (!m_open || !m_open->hasRoomFor(uint32_t(probe.size() + 64)))
        VD_TRY(openNewSegment());
    if (!oldTable.isNull())
        releaseUnpinned(oldTable); // no snapshot's tree holds the table
    syncOpenInfo();
    const QByteArray table = encodeTable(m_segments);
    VD_TRY_ASSIGN(m_tableRef, writePage(table));
    // writePage counted the table as live; the stored table does not count
    // itself (load() adds it back), so the numbers agree after a reopen.
    VD_TRY(m_open->flush());
    syncOpenInfo();
    root->segmentTable = m_tableRef;
    root->openSegmentOffset = m_open->state().extent.offset;
    root->openSegmentClass = m_open->state().extent.sizeClass;
    root->openSegmentEnd = m_open->state().writtenEnd;
    root->openSegmentLastDir = m_open->state().lastDirOffset;
    root->openSegmentSequence = m_open->state().sequence;
    return {};
}

bool CatalogStore::wantsCompaction() const
{
    uint64_t dead = 0;
    uint64_t live = 0;
    for (const auto &[offset, s] : m_segments) {
        live += s.liveBytes;
        if (offset != openSegmentOffset())
            dead += s.writtenEnd - BlockHeader::kSize - std::min<uint64_t>(s.liveBytes, s.writtenEnd - BlockHeader::kSize);
    }
    return dead > (uint64_t(8) << 20) && dead > live;
}

Status CatalogStore::compactWithin(Catalog &catalog, uint64_t budget)
{
    // The emptiest sealed blocks first, as long as rewriting their live
    // pages (plus a directory entry each, generously) fits the budget and
    // frees more than it writes.
    std::vector<std::pair<uint64_t, uint64_t>> candidates; // live bytes, offset
    for (const auto &[offset, s] : m_segments) {
        const uint64_t used = s.writtenEnd - BlockHeader::kSize;
        if (offset != openSegmentOffset() && s.liveBytes * 2 < used)
            candidates.emplace_back(s.liveBytes, offset);
    }
    std::sort(candidates.begin(), candidates.end());
    std::set<uint64_t> victims;
    uint64_t cost = 0;
    for (const auto &[live, offset] : candidates) {
        const uint64_t more = live + live / 4 + 256;
        if (cost + more > budget)
            break;
        cost += more;
        victims.insert(offset);
    }
    if (victims.empty())
        return {};
    return catalog.rewritePages([&](const PageRef &ref) { return victims.count(ref.blockOffset) > 0; });
}

Status CatalogStore::compact(Catalog &catalog)
{
    std::map<uint64_t, bool> victims;
    for (const auto &[offset, s] : m_segments) {
        const uint64_t used = s.writtenEnd - BlockHeader::kSize;
        if (offset != openSegmentOffset() && s.liveBytes * 2 < used)
            victims[offset] = true;
    }
    if (victims.empty())
        return {};
    return catalog.rewritePages([&](const PageRef &ref) { return victims.count(ref.blockOffset) > 0; });
}

} // namespace vd::storage
