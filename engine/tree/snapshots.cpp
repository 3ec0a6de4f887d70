#include "snapshots.h"

#include "paths.h"
#include "removal.h"
#include "treewriter.h"
#include "views.h"

#include "storage/collection.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace vd::tree {

QString changeName(DiffEntry::Change change)
{
    switch (change) {
    case DiffEntry::Change::Added:
        return QStringLiteral("added");
    case DiffEntry::Change::Removed:
        return QStringLiteral("removed");
    case DiffEntry::Change::Modified:
        return QStringLiteral("modified");
    case DiffEntry::Change::Moved:
        return QStringLiteral("moved");
    }
    return QString();
}

Result<SnapshotInfo> Snapshots::create(const QString &name)
{
    storage::Collection &col = m_w.collection();
    VD_TRY(col.checkWritable());
    VD_TRY(validateName(name).withContext(QStringLiteral("snapshot name")));
    VD_TRY_ASSIGN(const auto taken, col.findSnapshot(name));
    if (taken)
        return Status::alreadyExists(QStringLiteral("a snapshot named '%1' exists").arg(name));
    // A snapshot is a committed generation's root: commit what is pending,
    // then record that root.
    VD_TRY(m_w.commit());
    storage::SnapshotRecord rec;
    Status st = [&]() -> Status {
        VD_TRY_ASSIGN(rec, col.addSnapshot(name, TreeWriter::nowMs()));
        m_w.feed().noteSnapshot(ChangeOp::SnapshotCreate, name);
        return m_w.commit();
    }();
    VD_TRY(m_w.guard(st));
    return SnapshotInfo{name, rec.generation, rec.createdMs, rec.vnodes, rec.fileBytes, std::nullopt};
}

Result<std::vector<SnapshotInfo>> Snapshots::list(bool withUniqueBytes, const storage::ProgressFn &progress)
{
    storage::Collection &col = m_w.collection();
    VD_TRY(col.checkUsable());
    VD_TRY_ASSIGN(const auto recs, col.snapshotRecords());
    std::vector<SnapshotInfo> out;
    for (const auto &[name, rec] : recs)
        out.push_back(SnapshotInfo{name, rec.generation, rec.createdMs, rec.vnodes, rec.fileBytes, std::nullopt});
    std::sort(out.begin(), out.end(), [](const SnapshotInfo &a, const SnapshotInfo &b) { return a.generation < b.generation; });
    if (!withUniqueBytes || out.empty())
        return out;
    VD_TRY_ASSIGN(const auto unique, col.snapshotUniqueBytes(progress));
    for (SnapshotInfo &s : out)
        if (const auto it = unique.find(s.name); it != unique.end())
            s.uniqueBytes = it->second;
    return out;
}

Status Snapshots::remove(const QString &name)
{
    storage::Collection &col = m_w.collection();
    VD_TRY(col.checkWritable());
    VD_TRY_ASSIGN(const auto found, col.findSnapshot(name));
    if (!found)
        return Status::notFound(QStringLiteral("no snapshot '%1'").arg(name));
    Status st = col.removeSnapshot(name);
    if (st)
        m_w.feed().noteSnapshot(ChangeOp::SnapshotDelete, name);
    m_w.views().dropSnapshot(name);
    return m_w.guard(st);
}

namespace {
struct Placed
{
    Ruid parent;
    QString name;
    VersionVector version;
};

Status indexEntries(storage::CatalogReader &cat, const std::vector<storage::PageRef> &leaves, std::unordered_map<Ruid, Placed> *out, Ticker *ticker)
{
    for (const storage::PageRef &ref : leaves) {
        VD_TRY_ASSIGN(const storage::CatalogPage page, cat.readStored(ref));
        VD_TRY(tick(ticker, page.count()));
        for (size_t i = 0; i < page.count(); ++i) {
            const QByteArray &key = page.keys[i];
            if (key.size() != 17 || key[0] != keys::kIndex)
                continue;
            VD_TRY_ASSIGN(const IndexRecord idx, IndexRecord::decode(page.values[i]));
            (*out)[Ruid::fromView(QByteArrayView(key).sliced(1))] = Placed{idx.parent, idx.name, idx.version};
        }
    }
    return {};
}

Status scanIndex(storage::CatalogReader &cat, std::unordered_map<Ruid, Placed> *out, Ticker *ticker)
{
    Status inner;
    VD_TRY(cat.scan(QByteArray(1, keys::kIndex), QByteArray(1, keys::kIndex + 1), [&](QByteArrayView key, QByteArrayView value) {
        if (inner = tick(ticker); !inner)
            return false;
        auto idx = IndexRecord::decode(value);
        if (!idx || key.size() != 17) {
            inner = idx ? Status::corruption(QStringLiteral("malformed index key")) : idx.status();
            return false;
        }
        (*out)[Ruid::fromView(key.sliced(1))] = Placed{idx->parent, idx->name, idx->version};
        return true;
    }));
    return inner;
}

uint64_t pageIdentity(const storage::PageRef &r)
{
    return r.blockOffset + r.slot.offset;
}
} // namespace

Result<std::vector<DiffEntry>> Snapshots::diff(const QString &from, const QString &to, bool exhaustive)
{
    storage::Collection &col = m_w.collection();
    auto rootOf = [&](const QString &name) -> Result<storage::PageRef> {
        if (name.isEmpty())
            return col.committedRoot();
        VD_TRY_ASSIGN(const auto rec, col.findSnapshot(name));
        if (!rec)
            return Status::notFound(QStringLiteral("no snapshot '%1'").arg(name));
        return rec->root;
    };
    // The live tree has pages only in memory while changes are pending.
    return compare(m_w.views(), col.catalog(), rootOf, from, to, exhaustive || (to.isEmpty() && col.hasUncommittedChanges()), m_ticker);
}

Result<std::vector<DiffEntry>> Snapshots::compare(Views &views, storage::CatalogReader &cat, const RootFn &rootOf, const QString &from,
                                                  const QString &to, bool whole, Ticker *ticker)
{
    VD_TRY_ASSIGN(TreeView * a, views.view(from));
    VD_TRY_ASSIGN(TreeView * b, views.view(to));
    // Only the index entries that differ matter. Two committed trees share
    // every leaf nothing changed, so only the leaves that differ are read:
    // the cost follows the changes, not the size of the tree.
    std::unordered_map<Ruid, Placed> ia, ib;
    if (whole) {
        // Compare whole indexes.
        VD_TRY(scanIndex(a->catalog(), &ia, ticker));
        VD_TRY(scanIndex(b->catalog(), &ib, ticker));
    } else {
        VD_TRY_ASSIGN(const storage::PageRef ra, rootOf(from));
        VD_TRY_ASSIGN(const storage::PageRef rb, rootOf(to));
        const QByteArray lo(1, keys::kIndex), hi(1, keys::kIndex + 1);
        std::vector<storage::PageRef> la, lb;
        VD_TRY(cat.leavesInRange(ra, lo, hi, &la));
        VD_TRY(cat.leavesInRange(rb, lo, hi, &lb));
        std::unordered_set<uint64_t> inA, inB;
        for (const auto &r : la)
            inA.insert(pageIdentity(r));
        for (const auto &r : lb)
            inB.insert(pageIdentity(r));
        std::vector<storage::PageRef> onlyA, onlyB;
        for (const auto &r : la)
            if (!inB.count(pageIdentity(r)))
                onlyA.push_back(r);
        for (const auto &r : lb)
            if (!inA.count(pageIdentity(r)))
                onlyB.push_back(r);
        VD_TRY(indexEntries(cat, onlyA, &ia, ticker));
        VD_TRY(indexEntries(cat, onlyB, &ib, ticker));
    }
    // Equal entries on both sides are no change.
    for (auto it = ib.begin(); it != ib.end();) {
        const auto other = ia.find(it->first);
        if (other != ia.end() && other->second.parent == it->second.parent && other->second.name == it->second.name
            && other->second.version == it->second.version) {
            ia.erase(other);
            it = ib.erase(it);
        } else {
            ++it;
        }
    }
    auto kindIn = [&](TreeView &v, const Placed &p) {
        auto n = v.lookupEntry(p.parent, p.name);
        return n && *n ? (*n)->kind : Kind::File;
    };
    std::vector<DiffEntry> out;
    std::set<Ruid> added, removed;
    for (const auto &[id, pb] : ib) {
        VD_TRY(tick(ticker));
        if (id == rootId() || id == trashId())
            continue;
        const auto pathB = b->pathOf(id);
        const auto pa = ia.find(id);
        const auto pathA = pa == ia.end() ? Result<QString>(Status::notFound(QString())) : a->pathOf(id);
        DiffEntry e;
        e.id = id;
        if (pathB && !pathA) {
            e.change = DiffEntry::Change::Added;
            e.path = *pathB;
            e.kind = kindIn(*b, pb);
            added.insert(id);
        } else if (!pathB && pathA) {
            e.change = DiffEntry::Change::Removed; // to the trash
            e.path = *pathA;
            e.kind = kindIn(*a, pa->second);
            removed.insert(id);
        } else if (!pathB) {
            continue; // moved within the trash, or never attached
        } else if (pa->second.parent != pb.parent || pa->second.name != pb.name) {
            e.change = DiffEntry::Change::Moved;
            e.path = *pathB;
            e.oldPath = *pathA;
            e.kind = kindIn(*b, pb);
        } else {
            e.change = DiffEntry::Change::Modified;
            e.path = *pathB;
            e.kind = kindIn(*b, pb);
        }
        out.push_back(std::move(e));
    }
    for (const auto &[id, pa] : ia) {
        VD_TRY(tick(ticker));
        if (ib.count(id) || id == rootId() || id == trashId())
            continue;
        const auto pathA = a->pathOf(id);
        if (!pathA)
            continue;
        out.push_back(DiffEntry{DiffEntry::Change::Removed, *pathA, QString(), kindIn(*a, pa), id});
        removed.insert(id);
    }
    // A subtree added or removed as a whole is reported once, at its top.
    std::unordered_map<Ruid, Ruid> parents;
    for (const auto &[id, p] : ib)
        parents[id] = p.parent;
    std::unordered_map<Ruid, Ruid> oldParents;
    for (const auto &[id, p] : ia)
        oldParents[id] = p.parent;
    std::erase_if(out, [&](const DiffEntry &e) {
        if (e.change == DiffEntry::Change::Added)
            return added.count(parents[e.id]) > 0;
        if (e.change == DiffEntry::Change::Removed) {
            const auto it = oldParents.find(e.id);
            return it != oldParents.end() && removed.count(it->second) > 0;
        }
        return false;
    });
    std::sort(out.begin(), out.end(), [](const DiffEntry &x, const DiffEntry &y) { return x.path < y.path; });
    return out;
}

Result<VNode> Snapshots::restore(const QString &snapshot, const QString &path, const QString &to)
{
    VD_TRY(m_w.collection().checkWritable());
    if (snapshot.isEmpty())
        return Status::invalidArgument(QStringLiteral("restore needs a snapshot"));
    VD_TRY_ASSIGN(TreeView * snap, m_w.views().view(snapshot));
    VD_TRY_ASSIGN(const VNode src, snap->resolve(path));
    const QString target = to.isEmpty() ? path : to;
    VD_TRY_ASSIGN(const QStringList parts, splitPath(target));
    if (src.id == rootId() || parts.isEmpty())
        return Status::invalidArgument(QStringLiteral("restore a file or folder, not the root (restore its entries one by one)"));
    QStringList up = parts;
    const QString name = up.takeLast();
    VD_TRY(m_w.checkFolders(QLatin1Char('/') + up.join(QLatin1Char('/'))));
    VD_TRY_ASSIGN(const QStringList fromParts, splitPath(path));
    VD_TRY(snap->checkDepth(src, int(fromParts.size()), int(parts.size()),
                      QStringLiteral("restoring %1 to %2").arg(elidedPath(path), elidedPath(target))));
    VD_TRY_ASSIGN(const auto existing, m_w.live().resolveIfExists(target));
    if (existing)
        VD_TRY(Removal(m_w).remove(target, true, true));
    return m_w.guard([&]() -> Result<VNode> {
        VD_TRY_ASSIGN(const VNode parent, m_w.ensureFolders(QLatin1Char('/') + up.join(QLatin1Char('/'))));
        VD_TRY_ASSIGN(TreeView * s, m_w.views().view(snapshot));
        VD_TRY_ASSIGN(const VNode n, m_w.copyTree(*s, src, parent, name, existing ? existing->ordinal : 0, int(parts.size()), m_ticker));
        VD_TRY(m_w.touchParent(parent.id, +1));
        return n;
    }());
}

} // namespace vd::tree
