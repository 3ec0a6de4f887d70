// Drive: snapshots, diff, restore, garbage collection and the tree's fsck.
#include "driveinternal.h"
#include "core/utf8.h"


#include <QDateTime>

#include <algorithm>
#include <functional>
#include <map>
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

Result<SnapshotInfo> Drive::createSnapshot(const QString &name)
{
    VD_TRY(m_col->checkWritable());
    VD_TRY(validateName(name).withContext(QStringLiteral("snapshot name")));
    VD_TRY_ASSIGN(const auto taken, m_col->findSnapshot(name));
    if (taken)
        return Status::alreadyExists(QStringLiteral("a snapshot named '%1' exists").arg(name));
    // A snapshot is a committed generation's root: commit what is pending,
    // then record that root. Nothing is copied, whatever the tree's size.
    VD_TRY(commit());
    storage::SnapshotRecord rec;
    Status st = [&]() -> Status {
        VD_TRY_ASSIGN(rec, m_col->addSnapshot(name, QDateTime::currentMSecsSinceEpoch()));
        return commit();
    }();
    VD_TRY(guard(st));
    return SnapshotInfo{name, rec.generation, rec.createdMs, rec.vnodes, rec.fileBytes, std::nullopt};
}

Result<std::vector<SnapshotInfo>> Drive::listSnapshots(bool withUniqueBytes)
{
    VD_TRY(m_col->checkUsable());
    VD_TRY_ASSIGN(const auto recs, m_col->snapshotRecords());
    std::vector<SnapshotInfo> out;
    for (const auto &[name, rec] : recs)
        out.push_back(SnapshotInfo{name, rec.generation, rec.createdMs, rec.vnodes, rec.fileBytes, std::nullopt});
    std::sort(out.begin(), out.end(), [](const SnapshotInfo &a, const SnapshotInfo &b) { return a.generation < b.generation; });
    if (!withUniqueBytes || out.empty())
        return out;
    VD_TRY_ASSIGN(const auto unique, m_col->snapshotUniqueBytes());
    for (SnapshotInfo &s : out)
        if (const auto it = unique.find(s.name); it != unique.end())
            s.uniqueBytes = it->second;
    return out;
}

Status Drive::deleteSnapshot(const QString &name)
{
    VD_TRY(m_col->checkWritable());
    VD_TRY_ASSIGN(const auto found, m_col->findSnapshot(name));
    if (!found)
        return Status::notFound(QStringLiteral("no snapshot '%1'").arg(name));
    Status st = m_col->removeSnapshot(name);
    m_snapshots.erase(name);
    return guard(st);
}

namespace {
struct Placed
{
    Ruid parent;
    QString name;
    Version version;
};

Status indexEntries(storage::CatalogReader &cat, const std::vector<storage::PageRef> &leaves, std::unordered_map<Ruid, Placed> *out)
{
    for (const storage::PageRef &ref : leaves) {
        VD_TRY_ASSIGN(const storage::CatalogPage page, cat.readStored(ref));
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

Status scanIndex(storage::CatalogReader &cat, std::unordered_map<Ruid, Placed> *out)
{
    Status inner;
    VD_TRY(cat.scan(QByteArray(1, keys::kIndex), QByteArray(1, keys::kIndex + 1), [&](QByteArrayView key, QByteArrayView value) {
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

// A node as fsck's scan of the entries saw it.
struct Seen
{
    Ruid parent;
    QString name;
    Kind kind;
    uint64_t size;
};

// Every node leads to the root or the trash, without cycles, and at most
// kMaxDepth levels below it. Each node's depth is found once, from the first
// ancestor whose depth is known, so this costs O(nodes) however deep the
// tree is.
void checkDepths(const std::unordered_map<Ruid, Seen> &nodes, const std::function<void(const QString &)> &fault)
{
    constexpr int kDetached = -1;
    std::unordered_map<Ruid, int> depth{{rootId(), 0}, {trashId(), 0}};
    depth.reserve(nodes.size() + 2);
    std::vector<Ruid> chain; // from a node up to (not including) the first one settled
    std::unordered_set<Ruid> onChain;
    for (const auto &[start, unused] : nodes) {
        if (depth.count(start))
            continue;
        chain.clear();
        onChain.clear();
        Ruid cur = start;
        int base = kDetached;
        QString why; // when detached
        for (;;) {
            if (const auto known = depth.find(cur); known != depth.end()) {
                base = known->second;
                if (base == kDetached)
                    why = QStringLiteral("its ancestor %1 is not attached").arg(cur.toString());
                break;
            }
            if (onChain.count(cur)) {
                QStringList members;
                for (auto it = std::find(chain.begin(), chain.end(), cur); it != chain.end(); ++it)
                    members << it->toString();
                fault(QStringLiteral("tree: nodes %1 form a cycle").arg(members.join(QStringLiteral(", "))));
                why = QStringLiteral("it is in a cycle or hangs below one");
                break;
            }
            const auto it = nodes.find(cur);
            if (it == nodes.end() || it->second.parent.isNull()) {
                why = it == nodes.end() ? QStringLiteral("its parent %1 is missing").arg(cur.toString())
                                        : QStringLiteral("%1 hangs from the null id").arg(cur.toString());
                break;
            }
            chain.push_back(cur);
            onChain.insert(cur);
            cur = it->second.parent;
        }
        for (size_t i = chain.size(); i-- > 0;) {
            const int d = base == kDetached ? kDetached : base + int(chain.size() - i);
            depth[chain[i]] = d;
            const QString &name = nodes.at(chain[i]).name;
            if (d == kDetached)
                fault(QStringLiteral("tree: node %1 ('%2') is not attached: %3").arg(chain[i].toString(), name, why));
            else if (d == VNode::kMaxDepth + 1)
                fault(QStringLiteral("tree: node %1 ('%2') is %3 levels deep, past the limit of %4 (and so is everything below it)")
                          .arg(chain[i].toString(), name)
                          .arg(d)
                          .arg(VNode::kMaxDepth));
        }
    }
}
} // namespace

Result<std::vector<DiffEntry>> Drive::diff(const QString &from, const QString &to, bool exhaustive)
{
    VD_TRY_ASSIGN(View * a, view(from));
    VD_TRY_ASSIGN(View * b, view(to));
    // Only the index entries that differ matter. Two committed trees share
    // every leaf nothing changed, so only the leaves that differ are read:
    // the cost follows the changes, not the size of the tree.
    std::unordered_map<Ruid, Placed> ia, ib;
    auto rootOf = [&](const QString &name) -> Result<storage::PageRef> {
        if (name.isEmpty())
            return m_col->committedRoot();
        VD_TRY_ASSIGN(const auto rec, m_col->findSnapshot(name));
        if (!rec)
            return Status::notFound(QStringLiteral("no snapshot '%1'").arg(name));
        return rec->root;
    };
    if (exhaustive || (to.isEmpty() && m_col->hasUncommittedChanges())) {
        // The live tree has pages only in memory: compare whole indexes.
        VD_TRY(scanIndex(a->catalog(), &ia));
        VD_TRY(scanIndex(b->catalog(), &ib));
    } else {
        VD_TRY_ASSIGN(const storage::PageRef ra, rootOf(from));
        VD_TRY_ASSIGN(const storage::PageRef rb, rootOf(to));
        const QByteArray lo(1, keys::kIndex), hi(1, keys::kIndex + 1);
        std::vector<storage::PageRef> la, lb;
        storage::CatalogReader &cat = m_col->catalog();
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
        VD_TRY(indexEntries(cat, onlyA, &ia));
        VD_TRY(indexEntries(cat, onlyB, &ib));
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
    auto kindIn = [&](View &v, const Placed &p) {
        auto n = lookupEntry(v, p.parent, p.name);
        return n && *n ? (*n)->kind : Kind::File;
    };
    std::vector<DiffEntry> out;
    std::set<Ruid> added, removed;
    for (const auto &[id, pb] : ib) {
        if (id == rootId() || id == trashId())
            continue;
        const auto pathB = pathOfIn(*b, id);
        const auto pa = ia.find(id);
        const auto pathA = pa == ia.end() ? Result<QString>(Status::notFound(QString())) : pathOfIn(*a, id);
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
        if (ib.count(id) || id == rootId() || id == trashId())
            continue;
        const auto pathA = pathOfIn(*a, id);
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

Result<VNode> Drive::restore(const QString &snapshot, const QString &path, const QString &to)
{
    VD_TRY(m_col->checkWritable());
    if (snapshot.isEmpty())
        return Status::invalidArgument(QStringLiteral("restore needs a snapshot"));
    VD_TRY_ASSIGN(View * snap, view(snapshot));
    VD_TRY_ASSIGN(const VNode src, resolve(*snap, path));
    const QString target = to.isEmpty() ? path : to;
    VD_TRY_ASSIGN(const QStringList parts, splitPath(target));
    if (src.id == rootId() || parts.isEmpty())
        return Status::invalidArgument(QStringLiteral("restore a file or folder, not the root (restore its entries one by one)"));
    QStringList up = parts;
    const QString name = up.takeLast();
    VD_TRY(checkFolders(QLatin1Char('/') + up.join(QLatin1Char('/'))));
    VD_TRY_ASSIGN(const QStringList fromParts, splitPath(path));
    VD_TRY(checkDepth(*snap, src, int(fromParts.size()), int(parts.size()),
                      QStringLiteral("restoring %1 to %2").arg(elidedPath(path), elidedPath(target))));
    VD_TRY_ASSIGN(const auto existing, resolveIfExists(*m_live, target));
    if (existing)
        VD_TRY(remove(target, true, true));
    return guard([&]() -> Result<VNode> {
        VD_TRY_ASSIGN(const VNode parent, ensureFolders(QLatin1Char('/') + up.join(QLatin1Char('/'))));
        VD_TRY_ASSIGN(View * s, view(snapshot));
        VD_TRY_ASSIGN(const VNode n, copyTree(*s, src, parent, name, existing ? existing->ordinal : 0, int(parts.size())));
        VD_TRY(touchParent(parent.id, +1));
        VD_TRY(recordChange(ChangeOp::Create, n));
        return n;
    }());
}

Result<storage::GcReport> Drive::gc(const storage::ProgressFn &progress)
{
    VD_TRY(m_col->checkWritable());
    uint64_t expired = 0;
    if (m_options.trashExpiryMs > 0) {
        VD_TRY_ASSIGN(expired, emptyTrash(QDateTime::currentMSecsSinceEpoch() - m_options.trashExpiryMs));
    }
    VD_TRY(commit());
    dropCaches();
    auto report = m_col->collectGarbage(progress);
    dropCaches();
    if (report)
        report->trashExpired = expired;
    return report;
}

storage::FsckReport Drive::fsck()
{
    dropCaches();
    storage::FsckReport r = m_col->fsck([&](const Ruid &owner) {
        auto p = pathOfIn(*m_live, owner);
        return p ? *p : QString();
    });
    if (m_col->checkUsable().isOk()) {
        if (Status st = checkTree(&r); !st)
            r.faults.push_back(QStringLiteral("tree: the check stopped: %1").arg(st.toString()));
    }
    return r;
}

Status Drive::checkTree(storage::FsckReport *r)
{
    auto fault = [&](const QString &m) { r->faults.push_back(m); };
    // A keyspace that cannot be read is a fault of its own, and what it
    // holds goes unchecked.
    auto unreadable = [&](const QString &what, const Status &st) {
        if (!st)
            fault(QStringLiteral("tree: cannot read %1: %2").arg(what, st.toString()));
        return !st;
    };
    storage::CatalogReader &cat = m_col->catalog();
    // Every entry: decodable, indexed where it hangs, its clusters adding up.
    std::unordered_map<Ruid, Seen> nodes;
    std::unordered_map<Ruid, uint64_t> childCount;
    uint64_t fileBytes = 0;
    std::vector<VNode> files;
    const bool entriesUnreadable = unreadable(QStringLiteral("the folder entries"), cat.scan(QByteArray(1, keys::kEntry), QByteArray(1, keys::kEntry + 1), [&](QByteArrayView key, QByteArrayView value) {
        if (key.size() < 17)
            return fault(QStringLiteral("tree: malformed entry key")), true;
        const Ruid parent = Ruid::fromView(key.sliced(1, 16));
        auto name = decodeStoredName(parent, key.sliced(17), QStringLiteral("the entry name"));
        const QString shown = name ? *name : utf8ToString(key.sliced(17));
        if (!name)
            fault(QStringLiteral("tree: entry '%1' in folder %2: %3").arg(shown, parent.toString(), name.status().message()));
        auto n = VNode::decode(value, parent, shown);
        if (!n)
            return fault(QStringLiteral("tree: entry '%1': %2").arg(shown, n.status().message())), true;
        if (nodes.count(n->id))
            fault(QStringLiteral("tree: node %1 has two entries").arg(n->id.toString()));
        if (parent.isNull() && n->id != (shown.isEmpty() ? rootId() : trashId()))
            fault(QStringLiteral("tree: the entry '%1' of the null id holds node %2, not the %3").arg(shown, n->id.toString(), shown.isEmpty() ? QStringLiteral("root") : QStringLiteral("trash")));
        nodes[n->id] = Seen{parent, shown, n->kind, n->size};
        if (!parent.isNull())
            ++childCount[parent];
        if (n->kind == Kind::File || n->kind == Kind::JsonValue)
            fileBytes += n->size;
        if (n->kind == Kind::File)
            files.push_back(*n);
        return true;
    }));
    uint64_t indexed = 0;
    const bool indexUnreadable = unreadable(QStringLiteral("the index"), cat.scan(QByteArray(1, keys::kIndex), QByteArray(1, keys::kIndex + 1), [&](QByteArrayView key, QByteArrayView value) {
        ++indexed;
        if (key.size() != 17)
            return fault(QStringLiteral("tree: malformed index key")), true;
        auto idx = IndexRecord::decode(value);
        const Ruid id = Ruid::fromView(key.sliced(1));
        const auto it = nodes.find(id);
        if (!idx)
            fault(QStringLiteral("tree: the index record of node %1: %2").arg(id.toString(), idx.status().message()));
        else if (it == nodes.end() || it->second.parent != idx->parent || it->second.name != idx->name)
            fault(QStringLiteral("tree: the index of node %1 does not match its entry").arg(id.toString()));
        return true;
    }));
    if (!entriesUnreadable && !indexUnreadable && indexed != nodes.size())
        fault(QStringLiteral("tree: %1 entries but %2 index records").arg(nodes.size()).arg(indexed));
    if (!entriesUnreadable)
        checkDepths(nodes, fault);
    for (const auto &[id, s] : nodes) {
        const auto p = nodes.find(s.parent);
        if (p != nodes.end() && !isContainer(p->second.kind))
            fault(QStringLiteral("tree: node '%1' hangs from a %2").arg(s.name, kindName(p->second.kind)));
        const uint64_t count = childCount.count(id) ? childCount[id] : 0;
        if (!entriesUnreadable && isContainer(s.kind) && s.size != count)
            fault(QStringLiteral("tree: folder '%1' counts %2 entries, %3 hang from it").arg(s.name).arg(s.size).arg(count));
    }
    for (const VNode &f : files) {
        uint64_t expected = 0;
        uint32_t count = 0;
        Status st = storage::Collection::forEachCluster(cat, f.id, [&](uint64_t start, const storage::ClusterRecord &c) -> Status {
            if (start != expected)
                return Status::corruption(QStringLiteral("a cluster starts at %1 where %2 was expected").arg(start).arg(expected));
            expected += c.length();
            ++count;
            return {};
        });
        if (!st || expected != f.size || count != f.clusterCount)
            fault(QStringLiteral("tree: file '%1': %2").arg(f.name, st ? QStringLiteral("its clusters hold %1 bytes in %2 clusters; its record says %3 in %4").arg(expected).arg(count).arg(f.size).arg(f.clusterCount) : st.message()));
    }
    // Clusters of owners that no longer exist (told only when every owner is known).
    std::set<Ruid> owners;
    for (const VNode &f : files)
        owners.insert(f.id);
    auto objects = m_col->listObjects();
    const bool ownersKnown = !unreadable(QStringLiteral("the objects (so clusters are not matched with their owners)"), objects.status()) && !entriesUnreadable;
    if (objects)
        for (const auto &o : *objects)
            owners.insert(o.id);
    unreadable(QStringLiteral("the clusters"), cat.scan(QByteArray(1, storage::keys::kCluster), QByteArray(1, storage::keys::kCluster + 1), [&](QByteArrayView key, QByteArrayView) {
        Ruid owner;
        uint64_t start = 0;
        if (!storage::keys::parseClusterKey(key, &owner, &start))
            fault(QStringLiteral("tree: malformed cluster key"));
        else if (ownersKnown && !owners.count(owner))
            fault(QStringLiteral("tree: a cluster of %1 belongs to no file or object").arg(owner.toString()));
        return true;
    }));
    const uint64_t vnodeCount = m_col->vnodeCount(), countedBytes = m_col->fileBytes();
    if (!entriesUnreadable && !nodes.empty() && (vnodeCount != nodes.size() || countedBytes != fileBytes))
        fault(QStringLiteral("tree: the root record counts %1 nodes and %2 bytes; the tree holds %3 and %4")
                  .arg(vnodeCount)
                  .arg(countedBytes)
                  .arg(nodes.size())
                  .arg(fileBytes));
    // Trash records and trash entries agree.
    uint64_t trashRecords = 0;
    const bool trashUnreadable = unreadable(QStringLiteral("the trash records"), cat.scan(QByteArray(1, keys::kTrash), QByteArray(1, keys::kTrash + 1), [&](QByteArrayView key, QByteArrayView value) {
        ++trashRecords;
        if (key.size() != 17)
            return fault(QStringLiteral("tree: malformed trash key")), true;
        const Ruid id = Ruid::fromView(key.sliced(1));
        if (auto rec = TrashRecord::decode(value); !rec)
            fault(QStringLiteral("tree: the trash record of node %1: %2").arg(id.toString(), rec.status().message()));
        const auto it = nodes.find(id);
        if (!entriesUnreadable && (it == nodes.end() || it->second.parent != trashId()))
            fault(QStringLiteral("tree: trash record %1 has no node in the trash").arg(id.toString()));
        return true;
    }));
    const uint64_t inTrash = childCount.count(trashId()) ? childCount[trashId()] : 0;
    if (!entriesUnreadable && !trashUnreadable && trashRecords != inTrash)
        fault(QStringLiteral("tree: %1 trash records for %2 nodes in the trash").arg(trashRecords).arg(inTrash));
    r->vnodesChecked += nodes.size();
    return {};
}

} // namespace vd::tree
