#include "treewriter.h"

#include "lmdbtreecache.h"
#include "paths.h"
#include "views.h"

#include "storage/catalog.h"
#include "storage/collection.h"

#include <QDateTime>

#include <algorithm>

namespace vd::tree {

namespace {
constexpr int kMaxDepth = VNode::kMaxDepth;
// The longest original path a trash record holds fits one catalog value.
static_assert(1 + 16 + 8 + 2 + VNode::kMaxNameBytes + 3 + VNode::kMaxPathBytes <= storage::Catalog::kMaxValue);
} // namespace

TreeWriter::TreeWriter(storage::Collection &collection, Views &views) : m_col(collection), m_views(views), m_feed(collection), m_tombstones(collection) {}

TreeView &TreeWriter::live()
{
    return m_views.live();
}

int64_t TreeWriter::nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

Status TreeWriter::initialize()
{
    VD_TRY_ASSIGN(const auto root, m_col.catalog().get(keys::entry(Ruid(), QString())));
    if (m_col.isReadOnly())
        return {};
    if (root) {
        // An earlier build's feed records go (they missed changes).
        Status st = m_feed.upgrade();
        if (st && m_col.hasUncommittedChanges())
            st = m_col.commit();
        return guard(st);
    }
    // A new collection: its root folder and its trash.
    Status st = [&]() -> Status {
        for (const auto &[id, name] : {std::pair{rootId(), QString()}, std::pair{trashId(), QStringLiteral("trash")}}) {
            VNode n;
            n.id = id;
            n.name = name;
            n.kind = Kind::Directory;
            n.createdMs = n.modifiedMs = nowMs();
            VD_TRY_ASSIGN(n.version, nextVersion());
            VD_TRY(putNode(n, PutMode::New));
            m_col.addVnodes(1);
        }
        return commit();
    }();
    return guard(st);
}

Result<VersionVector> TreeWriter::nextVersion(const VersionVector &base)
{
    if (m_node == 0)
        return Status::invalidArgument(QStringLiteral("changes need the node's identity (its short id) to version them"));
    VersionVector v = base;
    VD_TRY(v.increment(m_node, m_col.takeVersion()));
    return v;
}

Status TreeWriter::putNode(const VNode &n, PutMode mode)
{
    if (mode == PutMode::New)
        m_col.noteGrowth(); // creating is not deleting: no reserve for this transaction
    if (m_lmdb && mode != PutMode::New)
        m_lmdb->forgetNode(n.id); // a new id has nothing cached
    m_feed.touch(n.id, mode == PutMode::New, n.version.encode().size());
    VD_TRY(m_col.putRecord(keys::entry(n.parent, n.name), n.encode()));
    // The index holds where the node hangs and its version: a folder's
    // entry count and time changing touch neither.
    if (mode != PutMode::EntryOnly)
        VD_TRY(m_col.putRecord(keys::index(n.id), IndexRecord{n.parent, n.name, n.version}.encode()));
    live().remember(n);
    return {};
}

Status TreeWriter::eraseNode(const VNode &n)
{
    if (m_lmdb) {
        // Every cached path through this node goes with it; a node in the
        // trash has no path to forget.
        m_lmdb->forgetNode(n.id);
        if (auto p = live().pathOf(n.id))
            m_lmdb->forgetPaths(*p);
    }
    m_feed.touch(n.id, false, n.version.encode().size());
    VD_TRY(m_col.removeRecord(keys::entry(n.parent, n.name)).status());
    VD_TRY(m_col.removeRecord(keys::index(n.id)).status());
    live().forget(n.parent, n.name);
    return {};
}

Status TreeWriter::eraseEntry(const Ruid &parent, const QString &name)
{
    VD_TRY(m_col.removeRecord(keys::entry(parent, name)).status());
    live().forget(parent, name);
    return {};
}

Status TreeWriter::putTrashRecord(const Ruid &id, const TrashRecord &rec)
{
    return m_col.putRecord(keys::trash(id), rec.encode());
}

Status TreeWriter::removeTrashRecord(const Ruid &id)
{
    return m_col.removeRecord(keys::trash(id)).status();
}

Status TreeWriter::touchParent(const Ruid &parent, int64_t delta)
{
    VD_TRY_ASSIGN(const auto raw, m_col.catalog().get(keys::index(parent)));
    Ruid grand;
    QString name;
    if (raw) {
        VD_TRY_ASSIGN(const IndexRecord idx, IndexRecord::decode(*raw));
        grand = idx.parent;
        name = idx.name;
    }
    VD_TRY_ASSIGN(auto p, live().lookupEntry(grand, name));
    if (!p || p->id != parent)
        return Status::corruption(QStringLiteral("folder %1 has no entry").arg(parent.toString()));
    p->size = uint64_t(std::max<int64_t>(0, int64_t(p->size) + delta));
    p->modifiedMs = nowMs();
    return putNode(*p, PutMode::EntryOnly);
}

void TreeWriter::countAdded(const VNode &n)
{
    if (n.kind == Kind::File || n.kind == Kind::JsonValue)
        m_col.addFileBytes(n.size);
    m_col.addVnodes(1);
}

void TreeWriter::countRemoved(const VNode &n)
{
    if (n.kind == Kind::File || n.kind == Kind::JsonValue)
        m_col.subtractFileBytes(n.size);
    m_col.addVnodes(-1);
}

Status TreeWriter::guard(Status st)
{
    if (st)
        return st;
    // The transaction is gone (the collection reloaded its committed state):
    // so are the caches' views of it.
    if (m_col.hasUncommittedChanges())
        (void)m_col.abandonTransaction(st);
    m_feed.forget();
    dropCaches();
    return st;
}

void TreeWriter::dropCaches()
{
    m_views.drop();
}

Status TreeWriter::commit()
{
    if (!m_col.hasUncommittedChanges()) {
        m_feed.forget(); // touched, then put back by a rollback: nothing to record
        return {};
    }
    ChangeFeed::Removed removed;
    Status st = m_feed.write(&removed);
    if (st && !removed.empty()) {
        // Removing works on a full disk: tombstones that would not fit
        // there are dropped, as past their bound (tombstones.h).
        uint64_t bytes = 0;
        for (const auto &[id, t] : removed)
            bytes += 4 * uint64_t(17 + t.encode().size()); // with the margin the feed keeps
        auto tight = m_col.commitMayNotFit(bytes);
        if (!tight)
            st = tight.status();
        else if (!*tight) {
            for (const auto &[id, t] : removed)
                if (st)
                    st = m_tombstones.put(id, t);
            if (st)
                st = m_tombstones.trim();
        }
    }
    if (st)
        st = m_col.commit();
    if (!st) {
        m_feed.forget();
        dropCaches();
        return st;
    }
    if (m_lmdb)
        m_lmdb->committed();
    return st;
}

Status TreeWriter::rollback()
{
    m_feed.forget();
    dropCaches();
    return m_col.rollback();
}

Result<std::pair<VNode, QString>> TreeWriter::resolveParent(const QString &path)
{
    VD_TRY_ASSIGN(const QStringList parts, splitPath(path));
    if (parts.isEmpty())
        return Status::invalidArgument(QStringLiteral("the root folder cannot be replaced, moved or removed"));
    QStringList up = parts;
    const QString name = up.takeLast();
    const QString parentPath = QLatin1Char('/') + up.join(QLatin1Char('/'));
    VD_TRY_ASSIGN(const VNode parent, live().resolve(parentPath));
    if (!parent.isContainer())
        return Status::invalidArgument(QStringLiteral("%1 is a %2, not a folder").arg(parentPath, kindName(parent.kind)));
    return std::pair<VNode, QString>(parent, name);
}

Result<VNode> TreeWriter::createNode(const VNode &parent, const QString &name, Kind kind)
{
    VNode n;
    n.id = Ruid::generateOrdered();
    n.parent = parent.id;
    n.name = name;
    n.kind = kind;
    n.createdMs = n.modifiedMs = nowMs();
    VD_TRY_ASSIGN(n.version, nextVersion());
    VD_TRY(putNode(n, PutMode::New));
    VD_TRY(touchParent(parent.id, +1));
    countAdded(n);
    return n;
}

Status TreeWriter::checkFolders(const QString &path)
{
    // Refuses up front what ensureFolders() would find only half-way, so a
    // refusal never costs the transaction.
    VD_TRY_ASSIGN(const QStringList parts, splitPath(path));
    VD_TRY_ASSIGN(auto node, live().lookupEntry(Ruid(), QString()));
    QString walked = QStringLiteral("/");
    for (const QString &part : parts) {
        walked = joinPath(walked, part);
        VD_TRY_ASSIGN(auto next, live().lookupEntry(node->id, part));
        if (!next)
            return {};
        if (next->kind != Kind::Directory)
            return Status::alreadyExists(QStringLiteral("%1 exists and is a %2, not a folder").arg(walked, kindName(next->kind)));
        node = std::move(next);
    }
    return {};
}

Result<VNode> TreeWriter::ensureFolders(const QString &path)
{
    VD_TRY_ASSIGN(const QStringList parts, splitPath(path));
    VD_TRY_ASSIGN(VNode cur, live().nodeById(rootId()));
    QString walked = QStringLiteral("/");
    for (const QString &part : parts) {
        walked = joinPath(walked, part);
        VD_TRY_ASSIGN(auto next, live().lookupEntry(cur.id, part));
        if (next) {
            if (next->kind != Kind::Directory)
                return Status::alreadyExists(QStringLiteral("%1 exists and is a %2, not a folder").arg(walked, kindName(next->kind)));
            cur = *next;
            continue;
        }
        VD_TRY_ASSIGN(cur, createNode(cur, part, Kind::Directory));
    }
    return cur;
}

void TreeWriter::invalidate(const VNode &n)
{
    // Entries are cached by (folder, name): a moved or removed node's entry
    // is dropped here; entries below it stay keyed by their folder's id and
    // are reached only through it, so they go stale harmlessly and expire.
    live().forget(n.parent, n.name);
}

Result<uint64_t> TreeWriter::nextOrdinal(const VNode &object)
{
    VD_TRY_ASSIGN(const auto kids, live().children(object));
    return kids.empty() ? uint64_t(0) : kids.back().ordinal + 1;
}

Status TreeWriter::checkPlacement(const VNode &node, const VNode &dstParent, const QString &dstName, const QString &from, const QString &to,
                                  bool refuseInsideItself)
{
    VD_TRY_ASSIGN(const auto existing, live().lookupEntry(dstParent.id, dstName));
    if (existing)
        return Status::alreadyExists(QStringLiteral("%1 already exists").arg(to));
    if (dstParent.kind == Kind::JsonArray)
        return Status::invalidArgument(QStringLiteral("elements of a JSON array are placed with json set"));
    if (isJson(dstParent.kind) && !isJson(node.kind))
        return Status::invalidArgument(QStringLiteral("a %1 cannot go inside a JSON document").arg(kindName(node.kind)));
    if (!refuseInsideItself || !node.isContainer())
        return {};
    Ruid cur = dstParent.id;
    for (int steps = 0; !cur.isNull() && cur != rootId(); ++steps) {
        if (steps == kMaxDepth)
            return Status::corruption(QStringLiteral("the parents of %1 form a cycle or go more than %2 levels up (run fsck)").arg(to).arg(kMaxDepth));
        if (cur == node.id)
            return Status::invalidArgument(QStringLiteral("cannot put %1 inside itself (%2)").arg(from, to));
        VD_TRY_ASSIGN(const auto raw, m_col.catalog().get(keys::index(cur)));
        if (!raw)
            break;
        VD_TRY_ASSIGN(const IndexRecord idx, IndexRecord::decode(*raw));
        cur = idx.parent;
    }
    return {};
}

Result<VNode> TreeWriter::copyTree(TreeView &from, const VNode &src, const VNode &dstParent, const QString &dstName, uint64_t ordinal, int depth,
                                   Ticker *ticker)
{
    // made[level]: the copy of the node entered last at that level, which
    // is the parent of the nodes entered next one level down.
    std::vector<VNode> made;
    VD_TRY(from.walkBelow(src, kMaxDepth - depth, [&](const VNode &s, int level) -> Result<TreeView::Step> {
        VNode n = s;
        n.id = Ruid::generateOrdered();
        if (level == 0) {
            n.parent = dstParent.id;
            n.name = dstName;
            n.ordinal = ordinal;
        } else {
            n.parent = made[size_t(level - 1)].id;
        }
        n.createdMs = n.modifiedMs = nowMs();
        VD_TRY_ASSIGN(n.version, nextVersion()); // a new node: a history of its own
        if (n.kind == Kind::File)
            VD_TRY(m_col.copyData(from.catalog(), s.id, n.id));
        VD_TRY(putNode(n, PutMode::New));
        countAdded(n);
        made.resize(size_t(level));
        made.push_back(std::move(n));
        return TreeView::Step::Descend;
    }, {}, ticker));
    return made.front();
}

Status TreeWriter::removeTree(const VNode &n, int depth, Ticker *ticker)
{
    // A folder's entry goes before its children's, so the path of each
    // node below it is forgotten with the folder's, not looked up one by one.
    return live().walkBelow(n, kMaxDepth - depth, [&](const VNode &k, int) -> Result<TreeView::Step> {
        if (k.kind == Kind::File)
            VD_TRY(m_col.releaseData(k.id));
        countRemoved(k);
        VD_TRY(eraseNode(k));
        return TreeView::Step::Descend;
    }, {}, ticker);
}

} // namespace vd::tree
