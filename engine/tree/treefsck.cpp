#include "treefsck.h"

#include "tombstones.h"
#include "treewriter.h"
#include "views.h"

#include "core/utf8.h"

#include <QStringList>

#include <algorithm>
#include <functional>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace vd::tree {

namespace {
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

storage::FsckReport TreeFsck::run()
{
    storage::Collection &col = m_w.collection();
    m_w.dropCaches();
    storage::FsckReport r = col.fsck(
        [&](const Ruid &owner) {
            auto p = m_w.live().pathOf(owner);
            return p ? *p : QString();
        },
        m_ticker);
    if (r.status && col.checkUsable().isOk()) {
        if (Status st = checkTree(&r); st.code() == ErrorCode::Cancelled)
            r.status = st;
        else if (!st)
            r.faults.push_back(QStringLiteral("tree: the check stopped: %1").arg(st.toString()));
    }
    return r;
}

Status TreeFsck::checkTree(storage::FsckReport *r)
{
    auto fault = [&](const QString &m) { r->faults.push_back(m); };
    // A keyspace that cannot be read is a fault of its own, and what it
    // holds goes unchecked.
    auto unreadable = [&](const QString &what, const Status &st) {
        if (!st)
            fault(QStringLiteral("tree: cannot read %1: %2").arg(what, st.toString()));
        return !st;
    };
    storage::Collection &col = m_w.collection();
    storage::CatalogReader &cat = col.catalog();
    // A step per record visited; the scan stops when the caller asked to,
    // and the check returns what the ticker said.
    Status cancelled;
    auto step = [&] {
        cancelled = m_ticker.step();
        return cancelled.isOk();
    };
    // Every entry: decodable, indexed where it hangs, its clusters adding up.
    std::unordered_map<Ruid, Seen> nodes;
    std::unordered_map<Ruid, uint64_t> childCount;
    uint64_t fileBytes = 0;
    std::vector<VNode> files;
    const bool entriesUnreadable = unreadable(QStringLiteral("the folder entries"), cat.scan(QByteArray(1, keys::kEntry), QByteArray(1, keys::kEntry + 1), [&](QByteArrayView key, QByteArrayView value) {
        if (!step())
            return false;
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
    VD_TRY(cancelled);
    uint64_t indexed = 0;
    const bool indexUnreadable = unreadable(QStringLiteral("the index"), cat.scan(QByteArray(1, keys::kIndex), QByteArray(1, keys::kIndex + 1), [&](QByteArrayView key, QByteArrayView value) {
        if (!step())
            return false;
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
    VD_TRY(cancelled);
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
        VD_TRY(m_ticker.step());
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
    auto objects = col.listObjects();
    const bool ownersKnown = !unreadable(QStringLiteral("the objects (so clusters are not matched with their owners)"), objects.status()) && !entriesUnreadable;
    if (objects)
        for (const auto &o : *objects)
            owners.insert(o.id);
    unreadable(QStringLiteral("the clusters"), cat.scan(QByteArray(1, storage::keys::kCluster), QByteArray(1, storage::keys::kCluster + 1), [&](QByteArrayView key, QByteArrayView) {
        if (!step())
            return false;
        Ruid owner;
        uint64_t start = 0;
        if (!storage::keys::parseClusterKey(key, &owner, &start))
            fault(QStringLiteral("tree: malformed cluster key"));
        else if (ownersKnown && !owners.count(owner))
            fault(QStringLiteral("tree: a cluster of %1 belongs to no file or object").arg(owner.toString()));
        return true;
    }));
    VD_TRY(cancelled);
    const uint64_t vnodeCount = col.vnodeCount(), countedBytes = col.fileBytes();
    if (!entriesUnreadable && !nodes.empty() && (vnodeCount != nodes.size() || countedBytes != fileBytes))
        fault(QStringLiteral("tree: the root record counts %1 nodes and %2 bytes; the tree holds %3 and %4")
                  .arg(vnodeCount)
                  .arg(countedBytes)
                  .arg(nodes.size())
                  .arg(fileBytes));
    // Trash records and trash entries agree.
    uint64_t trashRecords = 0;
    const bool trashUnreadable = unreadable(QStringLiteral("the trash records"), cat.scan(QByteArray(1, keys::kTrash), QByteArray(1, keys::kTrash + 1), [&](QByteArrayView key, QByteArrayView value) {
        if (!step())
            return false;
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
    VD_TRY(cancelled);
    const uint64_t inTrash = childCount.count(trashId()) ? childCount[trashId()] : 0;
    if (!entriesUnreadable && !trashUnreadable && trashRecords != inTrash)
        fault(QStringLiteral("tree: %1 trash records for %2 nodes in the trash").arg(trashRecords).arg(inTrash));
    // Tombstones: each decodes, none is of a live node, the count matches.
    uint64_t tombstones = 0;
    const bool tombstonesUnreadable = unreadable(QStringLiteral("the tombstones"), Tombstones::forEach(cat, [&](const Ruid &id, const Tombstone &) -> Result<bool> {
        if (!step())
            return false;
        ++tombstones;
        if (!entriesUnreadable && nodes.count(id))
            fault(QStringLiteral("tree: node %1 is in the tree and has a tombstone").arg(id.toString()));
        return true;
    }));
    VD_TRY(cancelled);
    auto counted = Tombstones::count(cat);
    if (!unreadable(QStringLiteral("the tombstone count"), counted.status()) && !tombstonesUnreadable && *counted != tombstones)
        fault(QStringLiteral("tree: the tombstone count says %1, there are %2").arg(*counted).arg(tombstones));
    r->vnodesChecked += nodes.size();
    return {};
}

} // namespace vd::tree
