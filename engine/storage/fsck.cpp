// Collection::fsck: verify everything the committed generation reaches.
#include "collection.h"

#include "catalog.h"
#include "catalogstore.h"
#include "idvdfile.h"
#include "smallblock.h"
#include "space.h"
#include "ticker.h"

#include <QDateTime>

#include <algorithm>
#include <map>
#include <set>

namespace vd::storage {

namespace {

// Walks a SmallBlock's directory chain from its last directory back to the
// first; returns the slots of every batch, or the first fault.
Result<std::vector<SlotLocation>> readDirectoryChain(IdvdFile &idvd, const Extent &extent, uint32_t lastDir, uint32_t writtenEnd, uint32_t sequence)
{
    std::vector<SlotLocation> slots;
    uint32_t dirOffset = lastDir;
    uint32_t expectSeq = sequence;
    uint32_t end = writtenEnd;
    while (expectSeq > 0) {
        if (dirOffset < BlockHeader::kSize || dirOffset >= end)
            return Status::corruption(QStringLiteral("directory %1 lies outside the written part of the block").arg(expectSeq));
        VD_TRY_ASSIGN(const QByteArray raw, idvd.read(extent.offset + dirOffset, end - dirOffset));
        VD_TRY_ASSIGN(const SmallDirectory dir, SmallDirectory::decode(raw, dirOffset, extent.size()));
        if (dir.sequence != expectSeq || dir.encodedSize() != end - dirOffset)
            return Status::corruption(QStringLiteral("directory at offset %1 is number %2 of %3 bytes; expected number %4 ending at %5")
                                          .arg(dirOffset)
                                          .arg(dir.sequence)
                                          .arg(dir.encodedSize())
                                          .arg(expectSeq)
                                          .arg(end));
        slots.insert(slots.begin(), dir.slots.begin(), dir.slots.end());
        end = dir.slots.front().offset;
        dirOffset = dir.prevOffset;
        --expectSeq;
    }
    if (end != BlockHeader::kSize && sequence > 0)
        return Status::corruption(QStringLiteral("the first batch does not start right after the header"));
    return slots;
}

} // namespace

// Past the bound a block is counted, not remembered: one named twice then
// counts twice (corruptNotListed is a bound, not an exact count).
void FsckReport::markCorrupt(uint64_t offset)
{
    if (!corruptOffsets.empty() && corruptOffsets.back() == offset)
        return;
    if (corruptOffsets.size() >= kMaxCorruptOffsets) {
        finishCorrupt(); // the same block named twice takes one place
        if (std::binary_search(corruptOffsets.begin(), corruptOffsets.end(), offset))
            return;
        if (corruptOffsets.size() >= kMaxCorruptOffsets) {
            ++corruptNotListed;
            return;
        }
    }
    corruptOffsets.push_back(offset);
}

void FsckReport::finishCorrupt()
{
    std::sort(corruptOffsets.begin(), corruptOffsets.end());
    corruptOffsets.erase(std::unique(corruptOffsets.begin(), corruptOffsets.end()), corruptOffsets.end());
}

std::optional<uint64_t> Collection::blockOffsetOf(const Piece &piece)
{
    if (piece.isZero())
        return std::nullopt;
    auto smallBlockAt = [&](const Ruid &id) -> std::optional<uint64_t> {
        if (const SmallBlockLog *log = openSmallLog(id))
            return log->state().extent.offset;
        auto raw = m_catalog->get(keys::block(id, 0));
        if (!raw || !*raw)
            return std::nullopt;
        auto rec = BlockRecord::decode(**raw);
        return rec ? std::optional<uint64_t>(rec->extent.offset) : std::nullopt;
    };
    if (piece.kind == Piece::Kind::Block) {
        auto extent = locateDataBlock(piece);
        return extent ? std::optional<uint64_t>(extent->offset) : std::nullopt;
    }
    if (piece.kind == Piece::Kind::Content) {
        auto raw = locationOf(piece.name, nullptr);
        if (!raw || !*raw)
            return std::nullopt;
        auto loc = LocationRecord::decode(**raw);
        if (!loc || !loc->isHere())
            return std::nullopt;
        if (loc->placement == LocationRecord::Placement::Block)
            return loc->extent.offset;
        return smallBlockAt(loc->smallBlock);
    }
    return smallBlockAt(piece.blockId);
}

Status Collection::collectReachable(std::vector<std::pair<Extent, QString>> *out, FsckReport *report)
{
    auto fault = [&](const QString &msg) -> Status {
        if (!report)
            return Status::corruption(msg);
        report->faults.push_back(msg);
        return {};
    };
    out->emplace_back(Extent{0, 0}, QStringLiteral("the head block"));
    for (const Extent &e : m_space->reserve())
        out->emplace_back(e, QStringLiteral("a block of the free-space reserve"));
    for (const auto &[offset, seg] : m_catalogStore->segments())
        out->emplace_back(seg.extent, QStringLiteral("catalog block at %1").arg(offset));
    Status inner;
    VD_TRY(m_catalog->scan(QByteArray(1, keys::kBlock), QByteArray(1, keys::kBlock + 1), [&](QByteArrayView key, QByteArrayView value) {
        Ruid id;
        uint64_t version = 0;
        auto rec = BlockRecord::decode(value);
        if (!keys::parseBlockKey(key, &id, &version) || !rec) {
            inner = fault(QStringLiteral("undecodable block record: %1").arg(rec ? QStringLiteral("bad key") : rec.status().message()));
            return inner.isOk();
        }
        out->emplace_back(rec->extent, QStringLiteral("%1 block %2").arg(blockKindName(rec->kind), id.toString()));
        return true;
    }));
    VD_TRY(inner);
    VD_TRY(m_catalog->scan(QByteArray(1, keys::kLocation), QByteArray(1, keys::kLocation + 1), [&](QByteArrayView key, QByteArrayView value) {
        Hash256 name;
        auto rec = LocationRecord::decode(value);
        if (!keys::parseLocationKey(key, &name) || !rec) {
            inner = fault(QStringLiteral("undecodable location record: %1").arg(rec ? QStringLiteral("bad key") : rec.status().message()));
            return inner.isOk();
        }
        if (rec->placement == LocationRecord::Placement::Block)
            out->emplace_back(rec->extent, QStringLiteral("the data block of content %1").arg(name.shortHex()));
        return true;
    }));
    return inner;
}

FsckReport Collection::fsck(const std::function<QString(const Ruid &)> &name, const ProgressFn &progress)
{
    Ticker ticker(progress, QStringLiteral("fsck"));
    FsckReport r = fsck(name, ticker);
    if (r.status)
        r.status = ticker.finish();
    r.finishCorrupt();
    r.generation = m_meta.generation;
    r.finishedMs = QDateTime::currentMSecsSinceEpoch();
    return r;
}

FsckReport Collection::fsck(const std::function<QString(const Ruid &)> &name, Ticker &ticker)
{
    FsckReport r;
    auto fault = [&](const QString &msg) { r.faults.push_back(msg); };
    if (m_dirty) {
        Status st = rollback();
        if (!st) {
            fault(st.toString());
            return r;
        }
    }
    if (!m_broken.isOk()) {
        fault(m_broken.toString());
        return r;
    }

    // What opening found wrong with .meta and has not been repaired yet.
    if (!m_metaFault.isEmpty())
        fault(m_metaFault);
    // The head slot of the committed generation must hold what .meta holds.
    {
        auto slot = readHeadSlot(m_meta.generation, m_meta.ruid);
        if (!slot)
            fault(QStringLiteral("idvd head: %1 (vdrive fsck --repair commits a new one)").arg(slot.status().message()));
        else if (slot->isComplete() ? !(slot->state == m_meta) : slot->state.root.encode(false) != m_meta.root.encode(false))
            fault(QStringLiteral("idvd head: its slot for generation %1 differs from .meta's copy (vdrive fsck --repair commits a new one)")
                      .arg(m_meta.generation));
    }

    // Every tree (the live one and each snapshot's), each distinct page and
    // cluster version once: pages and pieces read back and verified, and
    // references counted.
    std::map<Ruid, QString> objectNames;
    if (auto objects = listObjects())
        for (const ObjectInfo &o : *objects)
            objectNames[o.id] = o.key;
    const OwnerNamer describe = [&](const Ruid &owner) {
        const auto it = objectNames.find(owner);
        if (it != objectNames.end())
            return QStringLiteral("object '%1'").arg(it->second);
        return name ? name(owner) : QString();
    };
    Census census;
    Status counted = takeCensus(&census, &r, describe, &ticker);
    if (counted.code() == ErrorCode::Cancelled) {
        r.status = counted;
        return r;
    }
    if (!counted)
        fault(QStringLiteral("catalog: %1").arg(counted.message()));
    r.pagesChecked = census.pages;
    for (const auto &[offset, seg] : m_catalogStore->segments()) {
        auto header = m_idvd->readHeader(seg.extent);
        if (!header || header->kind != BlockKind::CatalogLog) {
            fault(QStringLiteral("catalog block at %1: %2").arg(offset).arg(header ? QStringLiteral("its header is not a catalog block's") : header.status().message()));
            r.markCorrupt(seg.extent.offset);
        }
        auto chain = readDirectoryChain(*m_idvd, seg.extent, seg.lastDirOffset, seg.writtenEnd, seg.sequence);
        if (!chain) {
            fault(QStringLiteral("catalog block at %1: %2").arg(offset).arg(chain.status().message()));
            r.markCorrupt(seg.extent.offset);
        }
        const uint64_t bytes = census.pageBytes.count(offset) ? census.pageBytes.at(offset) : 0;
        if (counted && bytes > seg.liveBytes)
            fault(QStringLiteral("catalog block at %1: the segment table says %2 live bytes, the pages add up to %3")
                      .arg(offset)
                      .arg(seg.liveBytes)
                      .arg(bytes));
        else if (counted && bytes < seg.liveBytes)
            r.reclaimableBytes += seg.liveBytes - bytes;
    }
    for (const auto &[offset, bytes] : census.pageBytes)
        if (!m_catalogStore->segments().count(offset))
            fault(QStringLiteral("catalog pages lie in a block at %1 that the segment table does not list").arg(offset));

    // Objects: their clusters follow each other and add up to their size.
    uint64_t logical = 0;
    auto objects = listObjects();
    if (!objects) {
        fault(QStringLiteral("objects: %1").arg(objects.status().message()));
    } else {
        for (const ObjectInfo &o : *objects) {
            if (r.status = ticker.step(); !r.status)
                return r;
            ++r.objectsChecked;
            logical += o.size;
            uint64_t expected = 0;
            Status st = forEachCluster(o.id, [&](uint64_t start, const ClusterRecord &c) -> Status {
                if (start != expected)
                    return Status::corruption(QStringLiteral("a cluster starts at %1 where %2 was expected").arg(start).arg(expected));
                expected += c.length();
                return {};
            });
            if (!st)
                fault(QStringLiteral("object '%1': %2").arg(o.key, st.message()));
            else if (expected != o.size)
                fault(QStringLiteral("object '%1': its clusters hold %2 bytes, its record says %3").arg(o.key).arg(expected).arg(o.size));
        }
        if (objects->size() != m_root.objectCount || logical != m_root.logicalBytes)
            fault(QStringLiteral("the root record counts %1 objects and %2 bytes; the catalog holds %3 and %4")
                      .arg(m_root.objectCount)
                      .arg(m_root.logicalBytes)
                      .arg(objects->size())
                      .arg(logical));
    }

    // Block records: reference counts never below the census (a fault), above
    // it only until garbage collection recounts (counted, not a fault: what a
    // deleted snapshot alone referenced stays counted until then); each
    // SmallBlock's directories intact.
    Status scan = m_catalog->scan(QByteArray(1, keys::kBlock), QByteArray(1, keys::kBlock + 1), [&](QByteArrayView key, QByteArrayView value) {
        Ruid id;
        uint64_t version = 0;
        auto rec = BlockRecord::decode(value);
        if (r.status = ticker.step(); !r.status)
            return false;
        if (!keys::parseBlockKey(key, &id, &version) || !rec)
            return true; // reported by collectReachable below
        ++r.blocksChecked;
        if (rec->kind == BlockKind::Data) {
            const auto it = census.blockRefs.find({id, version});
            const uint32_t refs = it == census.blockRefs.end() ? 0 : it->second;
            if (counted && refs > rec->refs)
                fault(QStringLiteral("data block %1 v%2 is referenced %3 times but its record counts %4").arg(id.toString()).arg(version).arg(refs).arg(rec->refs));
            else if (counted && refs == 0)
                r.reclaimableBytes += rec->extent.size();
            else if (counted && refs < rec->refs)
                ++r.overcountedBlocks;
            return true;
        }
        const SmallBlockLog *log = openSmallLog(id);
        const SmallBlockState st = log ? log->state() : rec->small;
        const auto it = census.slotUse.find(id);
        const auto use = it == census.slotUse.end() ? std::pair<uint64_t, uint32_t>{0, 0} : it->second;
        if (counted && (use.first > st.liveBytes || use.second > st.liveSlots))
            fault(QStringLiteral("SmallBlock %1: its record counts %2 live slots (%3 bytes), %4 (%5 bytes) are referenced")
                      .arg(id.toString())
                      .arg(st.liveSlots)
                      .arg(st.liveBytes)
                      .arg(use.second)
                      .arg(use.first));
        else if (counted && use.second == 0 && !log)
            r.reclaimableBytes += rec->extent.size();
        else if (counted && (use.first < st.liveBytes || use.second < st.liveSlots))
            ++r.overcountedBlocks;
        auto header = m_idvd->readHeader(rec->extent);
        if (!header || header->kind != BlockKind::SmallData || header->blockId != id) {
            fault(QStringLiteral("SmallBlock %1: %2").arg(id.toString(), header ? QStringLiteral("its header names another block") : header.status().message()));
            r.markCorrupt(rec->extent.offset);
        }
        auto chain = readDirectoryChain(*m_idvd, rec->extent, st.lastDirOffset, st.writtenEnd, st.sequence);
        if (!chain) {
            fault(QStringLiteral("SmallBlock %1: %2").arg(id.toString(), chain.status().message()));
            r.markCorrupt(rec->extent.offset);
        }
        return true;
    });
    if (!r.status)
        return r;
    if (!scan)
        fault(QStringLiteral("block records: %1").arg(scan.message()));
    // The location map: references never above a record's count (a fault),
    // above the census only until gc recounts; content referenced but held
    // elsewhere is counted apart, not a fault.
    Status located = m_catalog->scan(QByteArray(1, keys::kLocation), QByteArray(1, keys::kLocation + 1), [&](QByteArrayView key, QByteArrayView value) {
        Hash256 contentName;
        auto rec = LocationRecord::decode(value);
        if (r.status = ticker.step(); !r.status)
            return false;
        if (!keys::parseLocationKey(key, &contentName) || !rec)
            return true; // reported by collectReachable below
        if (rec->placement == LocationRecord::Placement::Block)
            ++r.blocksChecked;
        const auto it = census.contentRefs.find(contentName);
        const uint32_t refs = it == census.contentRefs.end() ? 0 : it->second;
        if (counted && refs > rec->refs)
            fault(QStringLiteral("content %1 is referenced %2 times but its location record counts %3").arg(contentName.toHex()).arg(refs).arg(rec->refs));
        else if (counted && refs == 0 && rec->placement == LocationRecord::Placement::Block)
            r.reclaimableBytes += rec->extent.size();
        else if (counted && refs < rec->refs)
            ++r.overcountedBlocks;
        return true;
    });
    if (!r.status)
        return r;
    if (!located)
        fault(QStringLiteral("location records: %1").arg(located.message()));
    r.contentNotHere = census.notHere.size();
    if (r.contentNotHere > 0)
        r.notes.push_back(QStringLiteral("%1 pieces of content are referenced here but held by other nodes (not here; not damage)").arg(r.contentNotHere));
    for (const auto &[ref, count] : census.blockRefs) {
        auto raw = m_catalog->get(keys::block(ref.first, ref.second));
        if (raw && !*raw)
            fault(QStringLiteral("data block %1 v%2 is referenced but has no record").arg(ref.first.toString()).arg(ref.second));
    }
    for (const auto &[id, use] : census.slotUse) {
        auto raw = m_catalog->get(keys::block(id, 0));
        if (raw && !*raw)
            fault(QStringLiteral("SmallBlock %1 is referenced but has no record").arg(id.toString()));
    }

    // The bitmap must say exactly: these blocks are in use, nothing else.
    std::vector<std::pair<Extent, QString>> reachable;
    Status st = collectReachable(&reachable, &r);
    if (!st)
        fault(st.message());
    // Blocks in limbo (held for readers) are free in .bitmap: compare with that.
    const BlockAllocator recorded = m_space->durableAllocator();
    BlockAllocator expected(1);
    for (const auto &[extent, what] : reachable) {
        Status mark = expected.markAllocated(extent);
        if (!mark)
            fault(QStringLiteral("%1 at offset %2: %3").arg(what).arg(extent.offset).arg(mark.message()));
        else if (!recorded.isAllocated(extent))
            fault(QStringLiteral(".bitmap: %1 at offset %2 (%3 MiB) is in use but marked free").arg(what).arg(extent.offset).arg(extent.size() >> 20));
    }
    for (const Extent &e : recorded.blocks())
        if (!expected.isAllocated(e))
            fault(QStringLiteral(".bitmap: the %1 MiB block at offset %2 is allocated but nothing uses it (leaked)").arg(e.size() >> 20).arg(e.offset));
    Status inv = recorded.checkInvariants();
    if (!inv)
        fault(QStringLiteral(".bitmap: %1").arg(inv.message()));
    return r;
}

} // namespace vd::storage
