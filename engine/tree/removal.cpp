#include "removal.h"

#include "paths.h"
#include "treewriter.h"

#include "storage/collection.h"

#include <algorithm>

namespace vd::tree {

Result<VNode> Removal::moveToTrash(const VNode &n, const QString &originalPath)
{
    VD_TRY(m_w.eraseNode(n));
    VNode t = n;
    t.parent = trashId();
    t.name = n.id.toString();
    VD_TRY_ASSIGN(t.version, m_w.nextVersion(n.version));
    VD_TRY(m_w.putNode(t));
    VD_TRY(m_w.touchParent(trashId(), +1));
    TrashRecord rec;
    rec.originalParent = n.parent;
    rec.originalName = n.name;
    rec.originalPath = originalPath;
    rec.deletedMs = TreeWriter::nowMs();
    VD_TRY(m_w.putTrashRecord(n.id, rec));
    return t;
}

Status Removal::remove(const QString &path, bool recursive, bool toTrash)
{
    storage::Collection &col = m_w.collection();
    TreeView &live = m_w.live();
    VD_TRY(col.checkWritable());
    VD_TRY_ASSIGN(const VNode n, live.resolve(path));
    if (n.id == rootId())
        return Status::invalidArgument(QStringLiteral("the root folder cannot be removed"));
    if (n.isContainer() && n.size > 0 && !recursive)
        return Status::invalidArgument(QStringLiteral("%1 is not empty (remove it recursively)").arg(path));
    if (toTrash && isJson(n.kind)) {
        VD_TRY_ASSIGN(const VNode parent, live.nodeById(n.parent));
        if (isJson(parent.kind))
            return Status::invalidArgument(QStringLiteral("%1 is inside a JSON document: delete it with json del (there is no trash inside documents)").arg(path));
    }
    VD_TRY_ASSIGN(const QString canonical, live.pathOf(n.id));
    return m_w.guard([&]() -> Status {
        // Removing never needs new space: on a full disk its commit may use
        // the reserve.
        col.beginDelete();
        m_w.invalidate(n);
        if (!toTrash && !isJson(n.kind)) {
            // Files and folders go in batches when the disk is too full for
            // one commit (a JSON document goes whole, below).
            Batch b;
            b.top = n;
            b.originalPath = canonical;
            VD_TRY(removeInBatches(b, n, pathDepth(canonical)));
            if (b.inTrash) {
                // A batch moved it to the trash (a commit said so in the feed);
                // its entry there is what went last.
                VD_TRY(m_w.touchParent(trashId(), -1));
                return m_w.removeTrashRecord(n.id);
            }
        } else if (toTrash) {
            VD_TRY(moveToTrash(n, canonical).status());
        } else {
            VD_TRY(m_w.removeTree(n, pathDepth(canonical), m_ticker));
        }
        VD_TRY(m_w.touchParent(n.parent, -1));
        if (n.parent != rootId() && isJson(n.kind)) {
            // Removing an array element renumbers the ones after it.
            VD_TRY_ASSIGN(const VNode parent, live.nodeById(n.parent));
            if (parent.kind == Kind::JsonArray)
                VD_TRY(renumberArray(parent));
        }
        return {};
    }());
}

Status Removal::removeInBatches(Batch &b, const VNode &n, int depth)
{
    storage::Collection &col = m_w.collection();
    // Children go before their folder (so a commit between two entries
    // leaves a whole tree), without recursion and no deeper than the limit.
    auto eraseOne = [&](const VNode &k) -> Status {
        const VNode &self = k.id == b.top.id ? b.top : k; // the top may have moved to the trash
        if (self.kind == Kind::File)
            VD_TRY(col.releaseData(self.id));
        m_w.countRemoved(self);
        return m_w.eraseNode(self);
    };
    // An entry of the innermost folder being emptied is gone: between two
    // entries of a folder the tree is whole, so a commit may go here when
    // the next one might not fit on the disk.
    auto entryGone = [&](const VNode &k) -> Status {
        if (k.id == b.top.id || b.pending.empty())
            return {};
        --b.pending.back().second;
        VD_TRY_ASSIGN(const bool tight, col.commitMayNotFit(m_w.feed().pendingBytes()));
        if (tight)
            VD_TRY(commitBatch(b));
        return {};
    };
    return m_w.live().walkBelow(
        n, VNode::kMaxDepth - depth,
        [&](const VNode &k, int level) -> Result<TreeView::Step> {
            if (isJson(k.kind)) {
                // A JSON document goes in one piece.
                VD_TRY(m_w.removeTree(k, depth + level, m_ticker));
                VD_TRY(entryGone(k));
                return TreeView::Step::Skip;
            }
            if (k.isContainer()) {
                const bool cycle = std::any_of(b.pending.begin(), b.pending.end(), [&](const auto &p) { return p.first == k.id; });
                if (cycle) {
                    // Damage: an entry that holds a folder being emptied
                    // above it. The entry goes; the folder goes once, at
                    // its own place.
                    VD_TRY(m_w.eraseEntry(k.parent, k.name));
                    VD_TRY(entryGone(k));
                    return TreeView::Step::Skip;
                }
                b.pending.emplace_back(k.id, 0);
                return TreeView::Step::Descend;
            }
            VD_TRY(eraseOne(k));
            VD_TRY(entryGone(k));
            return TreeView::Step::Skip;
        },
        [&](const VNode &k, int) -> Status {
            b.pending.pop_back();
            VD_TRY(eraseOne(k));
            return entryGone(k);
        },
        m_ticker);
}

Status Removal::commitBatch(Batch &b)
{
    // The folders part-way emptied get their entry counts...
    for (auto &[id, removed] : b.pending) {
        if (removed != 0)
            VD_TRY(m_w.touchParent(id, removed));
        removed = 0;
    }
    // ...and what is left of the node waits in the trash, where a crash or
    // a failure leaves it (`trash empty` finishes the job).
    if (!b.inTrash) {
        VD_TRY_ASSIGN(const auto now, m_w.live().lookupEntry(b.top.parent, b.top.name));
        if (!now || now->id != b.top.id)
            return Status::corruption(QStringLiteral("%1 has no entry any more").arg(b.originalPath));
        VD_TRY_ASSIGN(const VNode t, moveToTrash(*now, b.originalPath));
        VD_TRY(m_w.touchParent(now->parent, -1));
        b.top = t;
        b.inTrash = true;
    }
    VD_TRY(m_w.commit());
    m_w.collection().beginDelete();
    return {};
}

Status Removal::renumberArray(const VNode &array)
{
    VD_TRY_ASSIGN(const auto kids, m_w.live().children(array));
    for (size_t i = 0; i < kids.size(); ++i) {
        const QString want = QString::number(i);
        if (kids[i].name == want)
            continue;
        VD_TRY(m_w.eraseNode(kids[i]));
        VNode k = kids[i];
        k.name = want;
        // Renumbering moves the element: a change of its own to replicate.
        VD_TRY_ASSIGN(k.version, m_w.nextVersion(k.version));
        VD_TRY(m_w.putNode(k));
    }
    return {};
}

Result<VNode> Removal::restoreFromTrash(const Ruid &id, const QString &to)
{
    storage::Collection &col = m_w.collection();
    TreeView &live = m_w.live();
    VD_TRY(col.checkWritable());
    VD_TRY_ASSIGN(const auto raw, col.catalog().get(keys::trash(id)));
    if (!raw)
        return Status::notFound(QStringLiteral("nothing with id %1 is in the trash").arg(id.toString()));
    VD_TRY_ASSIGN(const TrashRecord rec, TrashRecord::decode(*raw));
    VD_TRY_ASSIGN(const auto node, live.lookupEntry(trashId(), id.toString()));
    if (!node)
        return Status::corruption(QStringLiteral("trash entry %1 has no node").arg(id.toString()));
    const QString target = to.isEmpty() ? rec.originalPath : to;
    VD_TRY_ASSIGN(const QStringList parts, splitPath(target));
    if (parts.isEmpty())
        return Status::invalidArgument(QStringLiteral("cannot restore over the root folder"));
    VD_TRY_ASSIGN(const auto existing, live.resolveIfExists(target));
    if (existing)
        return Status::alreadyExists(QStringLiteral("%1 exists; restore to another path").arg(target));
    QStringList up = parts;
    const QString name = up.takeLast();
    VD_TRY(m_w.checkFolders(QLatin1Char('/') + up.join(QLatin1Char('/'))));
    VD_TRY(live.checkDepth(*node, 1, int(parts.size()), QStringLiteral("restoring %1 to %2").arg(id.toString(), elidedPath(target))));
    return m_w.guard([&]() -> Result<VNode> {
        VD_TRY_ASSIGN(const VNode parent, m_w.ensureFolders(QLatin1Char('/') + up.join(QLatin1Char('/'))));
        VD_TRY(m_w.eraseNode(*node));
        VD_TRY(m_w.touchParent(trashId(), -1));
        VNode n = *node;
        n.parent = parent.id;
        n.name = name;
        VD_TRY_ASSIGN(n.version, m_w.nextVersion(n.version));
        VD_TRY(m_w.putNode(n));
        VD_TRY(m_w.touchParent(parent.id, +1));
        VD_TRY(m_w.removeTrashRecord(id));
        return n;
    }());
}

Result<uint64_t> Removal::emptyTrash(int64_t deletedBeforeMs)
{
    VD_TRY(m_w.collection().checkWritable());
    VD_TRY_ASSIGN(auto entries, m_w.live().trash());
    std::erase_if(entries, [deletedBeforeMs](const TrashEntry &e) { return e.deletedMs >= deletedBeforeMs; });
    return purge(entries);
}

Result<uint64_t> Removal::deleteFromTrash(const std::vector<Ruid> &ids)
{
    VD_TRY(m_w.collection().checkWritable());
    VD_TRY_ASSIGN(const auto entries, m_w.live().trash());
    // Every id checked before anything goes: all or nothing.
    std::vector<TrashEntry> chosen;
    for (const Ruid &id : ids) {
        auto it = std::find_if(entries.begin(), entries.end(), [&id](const TrashEntry &e) { return e.id == id; });
        if (it == entries.end())
            return Status::notFound(QStringLiteral("nothing with id %1 is in the trash").arg(id.toString()));
        if (std::none_of(chosen.begin(), chosen.end(), [&id](const TrashEntry &e) { return e.id == id; }))
            chosen.push_back(*it);
    }
    return purge(chosen);
}

Result<uint64_t> Removal::purge(const std::vector<TrashEntry> &entries)
{
    storage::Collection &col = m_w.collection();
    uint64_t removed = 0;
    Status st = [&]() -> Status {
        col.beginDelete();
        for (const TrashEntry &e : entries) {
            VD_TRY_ASSIGN(const auto n, m_w.live().lookupEntry(trashId(), e.id.toString()));
            if (!n)
                return Status::corruption(QStringLiteral("trash entry %1 has no node").arg(e.id.toString()));
            Batch b;
            b.top = *n;
            b.inTrash = true;
            b.originalPath = e.originalPath;
            VD_TRY(removeInBatches(b, *n, 1));
            VD_TRY(m_w.touchParent(trashId(), -1));
            VD_TRY(m_w.removeTrashRecord(e.id));
            ++removed;
        }
        return {};
    }();
    VD_TRY(m_w.guard(st));
    return removed;
}

} // namespace vd::tree
