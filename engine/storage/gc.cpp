// Collection: the reference census (every tree: the live one and each
// snapshot's) and garbage collection built on it.
#include "collection.h"
#include "core/utf8.h"

#include "catalog.h"
#include "catalogstore.h"
#include "idvdfile.h"
#include "smallblock.h"
#include "space.h"
#include "ticker.h"

#include <QSet>

#include <unordered_set>

namespace vd::storage {

Result<std::vector<std::pair<QString, SnapshotRecord>>> Collection::snapshotRecords()
{
    std::vector<std::pair<QString, SnapshotRecord>> out;
    Status inner;
    VD_TRY(m_catalog->scan(QByteArray(1, keys::kSnapshot), QByteArray(1, keys::kSnapshot + 1), [&](QByteArrayView key, QByteArrayView value) {
        auto rec = SnapshotRecord::decode(value);
        if (!rec) {
            inner = rec.status().withContext(QStringLiteral("snapshot '%1'").arg(utf8ToString(key.sliced(1))));
            return false;
        }
        out.emplace_back(utf8ToString(key.sliced(1)), std::move(rec).value());
        return true;
    }));
    VD_TRY(inner);
    return out;
}

Result<std::vector<Collection::BlockEntry>> Collection::blockRecords()
{
    std::vector<BlockEntry> out;
    Status inner;
    VD_TRY(m_catalog->scan(QByteArray(1, keys::kBlock), QByteArray(1, keys::kBlock + 1), [&](QByteArrayView key, QByteArrayView value) {
        BlockEntry e;
        auto rec = BlockRecord::decode(value);
        if (!rec || !keys::parseBlockKey(key, &e.id, &e.version)) {
            inner = rec ? Status::corruption(QStringLiteral("malformed block key")) : rec.status();
            return false;
        }
        e.key = key.toByteArray();
        e.record = std::move(rec).value();
        out.push_back(std::move(e));
        return true;
    }));
    VD_TRY(inner);
    return out;
}

Status Collection::takeCensus(Census *census, FsckReport *verify, const OwnerNamer &name, Ticker *ticker)
{
    // The slot a packed piece (or packed named content) lies in, read from
    // idvd past every cache; OK for anything else.
    auto slotOnDisk = [this](const Piece &p) -> Status {
        Ruid smallBlock = p.blockId;
        SlotLocation slot = p.slot;
        if (p.kind == Piece::Kind::Content) {
            VD_TRY_ASSIGN(const auto raw, locationOf(p.name, nullptr));
            if (!raw)
                return {};
            VD_TRY_ASSIGN(const LocationRecord loc, LocationRecord::decode(*raw));
            if (loc.placement != LocationRecord::Placement::Slot)
                return {};
            smallBlock = loc.smallBlock;
            slot = loc.slot;
        }
        if (const SmallBlockLog *log = openSmallLog(smallBlock))
            return log->read(slot).status();
        VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::block(smallBlock, 0)));
        if (!raw)
            return {}; // reported where the references are counted
        VD_TRY_ASSIGN(const BlockRecord rec, BlockRecord::decode(*raw));
        SmallBlockState st = rec.small;
        st.id = smallBlock;
        return SmallBlockLog(m_idvd.get(), BlockKind::SmallData, st).read(slot).status();
    };
    if (m_dirty)
        return Status::internal(QStringLiteral("a census needs a committed state"));
    VD_TRY_ASSIGN(const auto snapshots, snapshotRecords());
    // Snapshots first: whatever they reach is marked pinned, and pages the
    // live tree shares with them are then skipped as already counted.
    std::vector<std::pair<PageRef, bool>> trees;
    for (const auto &snapshot : snapshots)
        trees.emplace_back(snapshot.second.root, true);
    trees.emplace_back(m_meta.root.catalogRoot, false);

    std::unordered_set<uint64_t> visitedPages;
    QSet<QByteArray> seenVersions;
    const PageRef table = m_catalogStore->segmentTableRef();
    if (!table.isNull())
        census->pageBytes[table.blockOffset] += table.slot.storedLength;
    for (const auto &[root, isSnapshot] : trees) {
        const bool snapshotTree = isSnapshot;
        auto enter = [&](const PageRef &ref, int) {
            if (!visitedPages.insert(ref.blockOffset + ref.slot.offset).second)
                return false;
            ++census->pages;
            census->pageBytes[ref.blockOffset] += ref.slot.storedLength;
            return true;
        };
        auto leaf = [&](const PageRef &, const CatalogPage &page) -> Status {
            VD_TRY(tick(ticker)); // the leaf page
            for (size_t i = 0; i < page.count(); ++i) {
                const QByteArray &key = page.keys[i];
                if (key.isEmpty() || key[0] != keys::kCluster)
                    continue;
                VD_TRY_ASSIGN(const ClusterRecord c, ClusterRecord::decode(page.values[i]));
                QByteArray version = key;
                version.append(reinterpret_cast<const char *>(&c.birth), sizeof c.birth);
                if (seenVersions.contains(version))
                    continue;
                seenVersions.insert(version);
                ++census->clusterVersions;
                VD_TRY(tick(ticker, c.pieces.size()));
                for (const Piece &p : c.pieces) {
                    if (p.isZero())
                        continue; // nothing stored, nothing to count or verify
                    if (p.kind == Piece::Kind::Content)
                        ++census->contentRefs[p.name];
                    else if (p.kind == Piece::Kind::Block)
                        ++census->blockRefs[{p.blockId, p.version}];
                    else {
                        auto &use = census->slotUse[p.blockId];
                        use.first += p.slot.storedLength;
                        ++use.second;
                    }
                    if (snapshotTree && p.kind != Piece::Kind::Content)
                        census->pinnedBySnapshot.insert(p.blockId);
                    if (verify) {
                        auto bytes = readPiece(p);
                        // A packed payload may come from the read cache: the
                        // check reads its slot from the disk again, so damage
                        // behind a cached copy is found too.
                        if (bytes && p.kind != Piece::Kind::Block)
                            if (const Status onDisk = slotOnDisk(p); !onDisk)
                                bytes = onDisk;
                        if (!bytes && bytes.status().code() == ErrorCode::NotHere) {
                            // counted below, once per name: not a fault
                        } else if (!bytes) {
                            Ruid owner;
                            uint64_t start = 0;
                            keys::parseClusterKey(key, &owner, &start);
                            const QString who = name ? name(owner) : QString();
                            verify->faults.push_back(QStringLiteral("%1 at byte %2%3: %4")
                                                         .arg(who.isEmpty() ? owner.toString() : who)
                                                         .arg(start)
                                                         .arg(snapshotTree ? QStringLiteral(" (in a snapshot)") : QString())
                                                         .arg(bytes.status().message()));
                            if (const auto offset = blockOffsetOf(p))
                                verify->markCorrupt(*offset);
                        } else {
                            verify->bytesVerified += uint64_t(bytes->size());
                            if (p.kind != Piece::Kind::Block)
                                ++verify->slotsChecked;
                        }
                    }
                }
            }
            return {};
        };
        VD_TRY(m_catalog->walkStored(root, enter, leaf));
    }
    // Named content: held here or not, and a packed payload's SmallBlock
    // keeps it once however many references it has.
    for (const auto &[contentName, refs] : census->contentRefs) {
        VD_TRY_ASSIGN(const auto loc, findLocation(contentName));
        if (!loc || !loc->isHere()) {
            census->notHere.insert(contentName);
        } else if (loc->placement == LocationRecord::Placement::Slot) {
            auto &use = census->slotUse[loc->smallBlock];
            use.first += loc->slot.storedLength;
            ++use.second;
        }
    }
    return {};
}

Result<std::vector<std::pair<Hash256, LocationRecord>>> Collection::locationRecords()
{
    std::vector<std::pair<Hash256, LocationRecord>> out;
    Status inner;
    VD_TRY(m_catalog->scan(QByteArray(1, keys::kLocation), QByteArray(1, keys::kLocation + 1), [&](QByteArrayView key, QByteArrayView value) {
        Hash256 name;
        auto rec = LocationRecord::decode(value);
        if (!rec || !keys::parseLocationKey(key, &name)) {
            inner = rec ? Status::corruption(QStringLiteral("malformed location key")) : rec.status();
            return false;
        }
        out.emplace_back(name, std::move(rec).value());
        return true;
    }));
    VD_TRY(inner);
    return out;
}

Result<GcReport> Collection::collectGarbage(const ProgressFn &progress)
{
    VD_TRY(checkWritable());
    if (m_dirty)
        VD_TRY(commit());
    GcReport report;
    Census census;
    VD_TRY(takeCensus(&census, nullptr));
    if (progress && !progress(1))
        return Status::cancelled(QStringLiteral("garbage collection was cancelled"));

    // First the exact counts and the frees, committed on their own: they
    // only delete, so on a full disk they may draw on the reserve, and the
    // space they free is back on the disk before anything is repacked.
    beginDelete();
    Status st = [&]() -> Status {
        m_dirty = true;
        VD_TRY_ASSIGN(const auto snapshots, snapshotRecords());
        uint64_t pinned = 0;
        for (const auto &[name, snap] : snapshots)
            pinned = std::max(pinned, snap.generation);
        m_root.pinnedThrough = pinned;
        m_root.snapshotCount = snapshots.size();
        m_catalogStore->setPinnedThrough(pinned);
        // Pages first, before any change below releases one: from here on
        // every release is counted against the exact figures.
        const size_t segmentsBefore = m_catalogStore->segments().size();
        m_catalogStore->recount(census.pageBytes);
        report.catalogBlocksFreed = segmentsBefore - m_catalogStore->segments().size();

        // Block records: the census's counts are exact; anything nothing
        // references any more is freed.
        VD_TRY_ASSIGN(auto records, blockRecords());
        for (auto &[key, id, version, rec] : records) {
            if (rec.kind == BlockKind::Data) {
                const auto it = census.blockRefs.find({id, version});
                const uint32_t refs = it == census.blockRefs.end() ? 0 : it->second;
                if (refs == 0) {
                    m_space->freeLater(rec.extent);
                    VD_TRY(m_catalog->remove(key).status());
                    ++report.blocksFreed;
                    report.bytesFreed += rec.extent.size();
                } else if (refs != rec.refs) {
                    rec.refs = refs;
                    VD_TRY(m_catalog->put(key, rec.encode()));
                    ++report.countsFixed;
                }
                continue;
            }
            const auto it = census.slotUse.find(id);
            const std::pair<uint64_t, uint32_t> use = it == census.slotUse.end() ? std::pair<uint64_t, uint32_t>{0, 0} : it->second;
            if (SmallBlockLog *log = openSmallLog(id)) {
                log->state().liveBytes = use.first;
                log->state().liveSlots = use.second;
                continue;
            }
            if (use.second == 0) {
                m_space->freeLater(rec.extent);
                VD_TRY(m_catalog->remove(key).status());
                ++report.blocksFreed;
                report.bytesFreed += rec.extent.size();
            } else if (use.first != rec.small.liveBytes || use.second != rec.small.liveSlots) {
                rec.small.liveBytes = use.first;
                rec.small.liveSlots = use.second;
                VD_TRY(m_catalog->put(key, rec.encode()));
                ++report.countsFixed;
            }
        }
        // The location map: the same for named content.
        VD_TRY_ASSIGN(auto locations, locationRecords());
        for (auto &[contentName, loc] : locations) {
            const auto it = census.contentRefs.find(contentName);
            const uint32_t refs = it == census.contentRefs.end() ? 0 : it->second;
            const QByteArray key = keys::location(contentName);
            if (refs == 0) {
                VD_TRY(m_catalog->remove(key).status());
                if (loc.placement == LocationRecord::Placement::Block) {
                    m_space->freeLater(loc.extent);
                    ++report.blocksFreed;
                    report.bytesFreed += loc.extent.size();
                }
            } else if (refs != loc.refs) {
                loc.refs = refs;
                VD_TRY(m_catalog->put(key, loc.encode()));
                ++report.countsFixed;
            }
        }
        return {};
    }();
    if (!st)
        return failAndReload(st);
    VD_TRY(commit());

    // Then the repack, which writes payloads anew and so needs room: on a
    // full disk it is left for a later gc, and what was freed stays freed.
    st = repackSmallBlocks(census, &report);
    if (st && m_dirty)
        st = commit();
    if (!st) {
        if (m_dirty)
            (void)failAndReload(st);
        if (st.code() != ErrorCode::NoSpace)
            return st;
        report.smallBlocksRepacked = 0;
        report.slotsMoved = 0;
    }
    // Every free part of idvd goes back to the file system, including what
    // an interrupted commit or an older vdrive left allocated there.
    (void)m_space->punchAllFree();
    return report;
}

Status Collection::repackSmallBlocks(const Census &census, GcReport *report)
{
    // SmallBlocks less than half full of live payloads, and that no snapshot
    // references, have their live payloads moved into the open SmallBlocks;
    // the drained blocks are then freed.
    std::set<Ruid> victims;
    VD_TRY_ASSIGN(const auto records, blockRecords());
    for (const BlockEntry &b : records) {
        if (b.record.kind != BlockKind::SmallData || openSmallLog(b.id) || census.pinnedBySnapshot.count(b.id))
            continue;
        const uint64_t used = b.record.small.writtenEnd - BlockHeader::kSize;
        if (b.record.small.liveBytes * 2 < used)
            victims.insert(b.id);
    }
    Status inner;
    if (victims.empty())
        return {};
    noteGrowth();
    m_dirty = true;
    // Named payloads move by their location record alone: every reference
    // (live or in a snapshot) names the content, not where it lies.
    VD_TRY_ASSIGN(const auto locations, locationRecords());
    for (const auto &[contentName, loc] : locations) {
        if (loc.placement != LocationRecord::Placement::Slot || !victims.count(loc.smallBlock))
            continue;
        VD_TRY_ASSIGN(const QByteArray bytes, readContent(Piece::content(contentName, loc.length), 0, loc.length));
        VD_TRY_ASSIGN(LocationRecord moved, appendSlot(bytes, loc.slot.rawHash));
        moved.refs = loc.refs;
        VD_TRY(m_catalog->put(keys::location(contentName), moved.encode()));
        VD_TRY(releaseSlotStorage(loc.smallBlock, loc.slot.storedLength));
        ++report->slotsMoved;
    }
    std::vector<std::pair<QByteArray, ClusterRecord>> moving;
    VD_TRY(m_catalog->scan(QByteArray(1, keys::kCluster), QByteArray(1, keys::kCluster + 1), [&](QByteArrayView key, QByteArrayView value) {
        auto rec = ClusterRecord::decode(value);
        if (!rec) {
            inner = rec.status();
            return false;
        }
        for (const Piece &p : rec->pieces)
            if (p.kind == Piece::Kind::Slot && victims.count(p.blockId)) {
                moving.emplace_back(key.toByteArray(), std::move(rec).value());
                break;
            }
        return true;
    }));
    VD_TRY(inner);
    for (const auto &[key, old] : moving) {
        ClusterRecord fresh;
        fresh.birth = m_meta.generation + 1;
        for (const Piece &p : old.pieces) {
            if (p.kind == Piece::Kind::Slot && victims.count(p.blockId)) {
                VD_TRY_ASSIGN(const QByteArray bytes, readPiece(p));
                VD_TRY_ASSIGN(const Piece moved, writeSlotPiece(bytes));
                fresh.pieces.push_back(moved);
                ++report->slotsMoved;
            } else {
                VD_TRY(addPieceRef(p));
                fresh.pieces.push_back(p);
            }
        }
        VD_TRY(releaseCluster(old));
        VD_TRY(m_catalog->put(key, fresh.encode()));
    }
    report->smallBlocksRepacked = victims.size();
    return {};
}

} // namespace vd::storage
