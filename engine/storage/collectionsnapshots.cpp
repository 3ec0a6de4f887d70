// Collection: snapshots — their records, the pin on what they reference,
// and the bytes each one alone keeps.
#include "collection.h"

#include "catalog.h"
#include "catalogstore.h"
#include "ticker.h"

#include <QByteArray>

#include <algorithm>
#include <unordered_map>

namespace vd::storage {

Result<std::optional<SnapshotRecord>> Collection::findSnapshot(const QString &name)
{
    VD_TRY_ASSIGN(const auto raw, catalog().get(keys::snapshot(name)));
    if (!raw)
        return std::optional<SnapshotRecord>();
    VD_TRY_ASSIGN(SnapshotRecord rec, SnapshotRecord::decode(*raw));
    return std::optional<SnapshotRecord>(std::move(rec));
}

Result<SnapshotRecord> Collection::addSnapshot(const QString &name, int64_t createdMs)
{
    VD_TRY(checkWritable());
    if (m_dirty)
        return Status::invalidArgument(QStringLiteral("a snapshot records the committed state: commit the pending changes first"));
    VD_TRY_ASSIGN(const auto taken, findSnapshot(name));
    if (taken)
        return Status::alreadyExists(QStringLiteral("a snapshot named '%1' exists").arg(name));
    // A snapshot is a committed generation's root: nothing is copied,
    // whatever the tree's size.
    SnapshotRecord rec;
    rec.root = m_meta.root.catalogRoot;
    rec.generation = m_meta.generation;
    rec.createdMs = createdMs;
    rec.vnodes = m_root.vnodeCount;
    rec.fileBytes = m_root.fileBytes;
    // Pinned first: the page the record goes into is part of the snapshot.
    m_dirty = true;
    m_root.pinnedThrough = rec.generation;
    ++m_root.snapshotCount;
    m_catalogStore->setPinnedThrough(rec.generation);
    VD_TRY(m_catalog->put(keys::snapshot(name), rec.encode()));
    return rec;
}

Status Collection::removeSnapshot(const QString &name)
{
    VD_TRY(checkWritable());
    VD_TRY_ASSIGN(const auto found, findSnapshot(name));
    if (!found)
        return Status::notFound(QStringLiteral("no snapshot '%1'").arg(name));
    beginDelete(); // works on a full disk
    m_dirty = true;
    VD_TRY(m_catalog->remove(keys::snapshot(name)).status());
    VD_TRY_ASSIGN(const auto rest, snapshotRecords());
    uint64_t pinned = 0;
    for (const auto &r : rest)
        pinned = std::max(pinned, r.second.generation);
    // Lowering the pin is safe: what the deleted snapshot alone held stays
    // counted until collectGarbage() recounts, so nothing is freed early.
    m_root.pinnedThrough = pinned;
    m_root.snapshotCount = rest.size();
    m_catalogStore->setPinnedThrough(pinned);
    return {};
}

Result<std::map<QString, uint64_t>> Collection::snapshotUniqueBytes(const ProgressFn &progress)
{
    Ticker ticker(progress, QStringLiteral("counting snapshot sizes"));
    VD_TRY(checkUsable());
    VD_TRY_ASSIGN(const auto recs, snapshotRecords());
    // Every page, data block and packed slot counted per tree (the committed
    // live one too); those in exactly one snapshot and nowhere else are what
    // deleting it would free.
    struct Item
    {
        uint32_t trees = 0;
        int lastTree = -1;
        uint64_t bytes = 0;
        int only = -1;
    };
    std::unordered_map<QByteArray, Item> items;
    std::vector<PageRef> roots;
    for (const auto &[name, rec] : recs)
        roots.push_back(rec.root);
    roots.push_back(m_meta.root.catalogRoot);
    auto note = [&](const QByteArray &id, uint64_t bytes, int tree) {
        Item &it = items[id];
        if (it.lastTree == tree)
            return;
        it.lastTree = tree;
        it.bytes = bytes;
        it.only = ++it.trees == 1 ? tree : -1;
    };
    for (int t = 0; t < int(roots.size()); ++t) {
        VD_TRY(m_catalog->walkStored(
            roots[size_t(t)],
            [&](const PageRef &ref, int) {
                QByteArray id("P");
                const uint64_t loc = ref.blockOffset + ref.slot.offset;
                id.append(reinterpret_cast<const char *>(&loc), sizeof loc);
                note(id, ref.slot.storedLength, t);
                return true;
            },
            [&](const PageRef &, const CatalogPage &page) -> Status {
                VD_TRY(ticker.step()); // the leaf page
                for (size_t i = 0; i < page.count(); ++i) {
                    if (page.keys[i].isEmpty() || page.keys[i][0] != keys::kCluster)
                        continue;
                    VD_TRY_ASSIGN(const ClusterRecord c, ClusterRecord::decode(page.values[i]));
                    VD_TRY(ticker.step(c.pieces.size()));
                    for (const Piece &p : c.pieces) {
                        if (p.isZero())
                            continue; // takes no space
                        if (p.kind == Piece::Kind::Content) {
                            // Stored once however many trees name it; here only if held here.
                            VD_TRY_ASSIGN(const auto loc, findLocation(p.name));
                            QByteArray id("N");
                            id.append(p.name.view());
                            if (loc && loc->placement == LocationRecord::Placement::Block)
                                note(id, loc->extent.size(), t);
                            else if (loc && loc->placement == LocationRecord::Placement::Slot)
                                note(id, loc->slot.storedLength, t);
                            continue;
                        }
                        QByteArray id(p.kind == Piece::Kind::Block ? "D" : "S");
                        id.append(p.blockId.view());
                        if (p.kind == Piece::Kind::Block)
                            note(id, BlockHeader::capacity(p.sizeClass) + BlockHeader::kSize, t);
                        else {
                            id.append(reinterpret_cast<const char *>(&p.slot.offset), sizeof p.slot.offset);
                            note(id, p.slot.storedLength, t);
                        }
                    }
                }
                return {};
            }));
    }
    std::map<QString, uint64_t> out;
    for (const auto &[name, rec] : recs)
        out[name] = 0;
    for (const auto &[id, it] : items)
        if (it.only >= 0 && it.only < int(recs.size()))
            out[recs[size_t(it.only)].first] += it.bytes;
    return ticker.finished(Result<std::map<QString, uint64_t>>(std::move(out)));
}

} // namespace vd::storage
