#include "treeview.h"

#include "lmdbtreecache.h"
#include "paths.h"

#include "storage/catalogreader.h"
#include "storage/collection.h"

#include <algorithm>

namespace vd::tree {

namespace {
constexpr int kMaxDepth = VNode::kMaxDepth;

qint64 costOf(const VNode &n)
{
    return 160 + n.name.size() * 2 + n.value.size();
}
} // namespace

TreeView::TreeView(storage::CatalogReader &catalog, QString snapshot, qint64 cacheBytes)
    : m_catalog(&catalog)
    , m_snapshot(std::move(snapshot))
{
    m_entries.setMaxCost(cacheBytes);
}

TreeView::TreeView(std::unique_ptr<storage::CatalogReader> catalog, QString snapshot, qint64 cacheBytes)
    : m_own(std::move(catalog))
    , m_catalog(m_own.get())
    , m_snapshot(std::move(snapshot))
{
    m_entries.setMaxCost(cacheBytes);
}

TreeView::~TreeView() = default;

void TreeView::useLmdb(LmdbTreeCache *cache, std::function<bool()> current)
{
    m_lmdb = cache;
    m_lmdbCurrent = std::move(current);
}

void TreeView::remember(const VNode &n)
{
    m_entries.insert(keys::entry(n.parent, n.name), new VNode(n), costOf(n));
}

void TreeView::forget(const Ruid &parent, const QString &name)
{
    m_entries.remove(keys::entry(parent, name));
}

void TreeView::clearCache()
{
    m_entries.clear();
}

Result<std::optional<VNode>> TreeView::lookupEntry(const Ruid &parent, const QString &name)
{
    const QByteArray key = keys::entry(parent, name);
    if (const VNode *hit = m_entries.object(key)) {
        ++m_stats.entryHits;
        return std::optional<VNode>(*hit);
    }
    ++m_stats.entryMisses;
    VD_TRY_ASSIGN(const auto raw, m_catalog->get(key));
    if (!raw) {
        if (parent.isNull() && name.isEmpty()) {
            // A collection no one has written a tree into yet: an empty root.
            VNode root;
            root.id = rootId();
            root.kind = Kind::Directory;
            return std::optional<VNode>(root);
        }
        return std::optional<VNode>();
    }
    VD_TRY_ASSIGN(VNode n, VNode::decode(*raw, parent, name));
    m_entries.insert(key, new VNode(n), costOf(n));
    return std::optional<VNode>(std::move(n));
}

Result<VNode> TreeView::resolve(const QString &path)
{
    VD_TRY_ASSIGN(const auto found, resolveIfExists(path));
    if (!found)
        return Status::notFound(QStringLiteral("no such file or folder: %1%2").arg(path, m_snapshot.isEmpty() ? QString() : QStringLiteral(" (in snapshot '%1')").arg(m_snapshot)));
    return *found;
}

Result<std::optional<VNode>> TreeView::resolveIfExists(const QString &path)
{
    VD_TRY_ASSIGN(const QStringList parts, splitPath(path));
    // The LMDB cache answers for the committed state it describes only.
    const bool useLmdb = m_lmdb && !parts.isEmpty() && m_lmdbCurrent && m_lmdbCurrent();
    if (useLmdb) {
        // Memory first: a warm walk costs a hash look-up per component.
        VD_TRY_ASSIGN(const auto root, lookupEntry(Ruid(), QString()));
        VNode cur = *root;
        bool complete = true;
        for (const QString &part : parts) {
            const VNode *hit = cur.isContainer() ? m_entries.object(keys::entry(cur.id, part)) : nullptr;
            if (!hit) {
                complete = false;
                break;
            }
            cur = *hit;
        }
        if (complete) {
            m_stats.entryHits += uint64_t(parts.size());
            return std::optional<VNode>(cur);
        }
    }
    const QString canonical = useLmdb ? QLatin1Char('/') + parts.join(QLatin1Char('/')) : QString();
    if (useLmdb) {
        if (auto n = m_lmdb->node(canonical)) {
            ++m_stats.lmdbHits;
            return std::optional<VNode>(std::move(n));
        }
    }
    VD_TRY_ASSIGN(auto found, walk(parts, path));
    if (useLmdb && found)
        m_lmdb->remember(canonical, *found);
    return found;
}

Result<std::optional<VNode>> TreeView::walk(const QStringList &parts, const QString &path)
{
    VD_TRY_ASSIGN(auto node, lookupEntry(Ruid(), QString()));
    for (qsizetype i = 0; i < parts.size(); ++i) {
        if (!node->isContainer()) {
            const QString walked = QLatin1Char('/') + parts.first(i).join(QLatin1Char('/'));
            return Status::notFound(QStringLiteral("%1 is a %2, not a folder: no %3 inside it").arg(walked, kindName(node->kind), path));
        }
        VD_TRY_ASSIGN(auto next, lookupEntry(node->id, parts[i]));
        if (!next)
            return std::optional<VNode>();
        node = std::move(next);
    }
    return node;
}

Result<VNode> TreeView::nodeById(const Ruid &id)
{
    if (id == rootId()) {
        VD_TRY_ASSIGN(const auto root, lookupEntry(Ruid(), QString()));
        return *root;
    }
    // Where it hangs, then up to the root: a node whose ancestor is gone is
    // detached and never served.
    Ruid cur = id;
    std::optional<VNode> found;
    // A node kMaxDepth levels deep meets the root after as many steps.
    for (int depth = 0; depth <= kMaxDepth; ++depth) {
        if (cur == rootId())
            return *found;
        VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::index(cur)));
        if (!raw)
            return Status::notFound(QStringLiteral("no node %1 is attached to the tree").arg(id.toString()));
        VD_TRY_ASSIGN(const IndexRecord idx, IndexRecord::decode(*raw));
        VD_TRY_ASSIGN(const auto entry, lookupEntry(idx.parent, idx.name));
        if (!entry || entry->id != cur)
            return Status::corruption(QStringLiteral("node %1: its index and its folder entry disagree").arg(cur.toString()));
        if (!found)
            found = entry;
        if (idx.parent.isNull())
            return Status::notFound(QStringLiteral("node %1 is not attached to the tree (it is in the trash)").arg(id.toString()));
        cur = idx.parent;
    }
    return Status::corruption(QStringLiteral("node %1: its parents form a cycle or go more than %2 levels up (run fsck)").arg(id.toString()).arg(kMaxDepth));
}

Result<QString> TreeView::pathOf(const Ruid &id)
{
    QStringList parts;
    Ruid cur = id;
    for (int depth = 0; cur != rootId(); ++depth) {
        if (depth == kMaxDepth)
            return Status::corruption(QStringLiteral("node %1: its parents form a cycle or go more than %2 levels up (run fsck)").arg(id.toString()).arg(kMaxDepth));
        VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::index(cur)));
        if (!raw)
            return Status::notFound(QStringLiteral("no node %1 is attached to the tree").arg(id.toString()));
        VD_TRY_ASSIGN(const IndexRecord idx, IndexRecord::decode(*raw));
        if (idx.parent.isNull())
            return Status::notFound(QStringLiteral("node %1 is in the trash").arg(id.toString()));
        parts.prepend(idx.name);
        cur = idx.parent;
    }
    return QLatin1Char('/') + parts.join(QLatin1Char('/'));
}

Result<std::vector<VNode>> TreeView::children(const VNode &dir)
{
    std::vector<VNode> out;
    Status inner;
    const QByteArray prefix = keys::entryPrefix(dir.id);
    VD_TRY(m_catalog->scan(prefix, keys::entryPrefixEnd(dir.id), [&](QByteArrayView key, QByteArrayView value) {
        // Names from disk are checked like names from users: a damaged entry
        // named "../x" or "a/b" is never handed to anyone who would write it
        // to a local file system.
        auto name = decodeStoredName(dir.id, key.sliced(prefix.size()), QStringLiteral("entry name"));
        if (!name) {
            inner = Status::corruption(QStringLiteral("folder %1 holds an entry with an invalid name (run fsck): %2").arg(dir.id.toString(), name.status().message()));
            return false;
        }
        auto n = VNode::decode(value, dir.id, *name);
        if (!n) {
            inner = n.status();
            return false;
        }
        out.push_back(std::move(n).value());
        return true;
    }));
    VD_TRY(inner);
    if (dir.kind == Kind::JsonObject)
        std::sort(out.begin(), out.end(), [](const VNode &a, const VNode &b) { return a.ordinal < b.ordinal; });
    else if (dir.kind == Kind::JsonArray)
        std::sort(out.begin(), out.end(), [](const VNode &a, const VNode &b) { return a.name.toULongLong() < b.name.toULongLong(); });
    return out;
}

Status TreeView::walkBelow(const VNode &top, int maxLevel, const std::function<Result<Step>(const VNode &, int level)> &enter,
                           const std::function<Status(const VNode &, int level)> &leave, Ticker *ticker)
{
    struct Frame
    {
        VNode node;
        int level = 0;
        std::vector<VNode> kids;
        size_t next = 0;
    };
    std::vector<Frame> stack;
    auto visit = [&](const VNode &n, int level) -> Status {
        VD_TRY(tick(ticker));
        VD_TRY_ASSIGN(const Step step, enter(n, level));
        if (step != Step::Descend || !n.isContainer())
            return {};
        VD_TRY_ASSIGN(auto kids, children(n));
        if (!kids.empty() && level >= maxLevel)
            return Status::corruption(QStringLiteral("'%1' holds entries more than %2 levels below it: a cycle, or a tree deeper than a drive holds (run fsck)")
                                          .arg(top.name)
                                          .arg(maxLevel));
        stack.push_back(Frame{n, level, std::move(kids), 0});
        return {};
    };
    VD_TRY(visit(top, 0));
    while (!stack.empty()) {
        Frame &f = stack.back();
        if (f.next < f.kids.size()) {
            const VNode kid = std::move(f.kids[f.next++]); // visit() may grow the stack
            VD_TRY(visit(kid, f.level + 1));
            continue;
        }
        const Frame done = std::move(f);
        stack.pop_back();
        if (leave)
            VD_TRY(leave(done.node, done.level));
    }
    return {};
}

Status TreeView::checkDepth(const VNode &node, int depthNow, int depth, const QString &what)
{
    // Nothing in the tree is deeper than kMaxDepth, so a node goes no
    // deeper than it is without anything below it passing the limit.
    if (depth <= depthNow || !node.isContainer())
        return {};
    const int room = kMaxDepth - depth; // levels allowed below the node
    // Level by level, the containers only, each record read no further than
    // its kind and id. An entry `room + 1` levels down is one too many (a
    // cycle below the node, too, ends there).
    std::vector<Ruid> level{node.id};
    for (int below = 1; !level.empty(); ++below) {
        std::vector<Ruid> next;
        bool tooDeep = false;
        Status inner;
        for (const Ruid &dir : level) {
            VD_TRY(m_catalog->scan(keys::entryPrefix(dir), keys::entryPrefixEnd(dir), [&](QByteArrayView, QByteArrayView value) {
                if (below > room)
                    return !(tooDeep = true);
                auto container = VNode::containerIdOf(value);
                if (!container) {
                    inner = container.status();
                    return false;
                }
                if (*container)
                    next.push_back(**container);
                return true;
            }));
            VD_TRY(inner);
            if (tooDeep)
                return Status::invalidArgument(
                    QStringLiteral("%1 would put what lies below it past level %2: a drive is at most %2 levels deep").arg(what).arg(kMaxDepth));
        }
        level = std::move(next);
    }
    return {};
}

Result<std::vector<ClusterInfo>> TreeView::clusters(const QString &path)
{
    VD_TRY_ASSIGN(const VNode n, resolve(path));
    std::vector<ClusterInfo> out;
    VD_TRY(storage::Collection::forEachCluster(*m_catalog, n.id, [&](uint64_t start, const storage::ClusterRecord &c) -> Status {
        ClusterInfo ci;
        ci.start = start;
        ci.length = c.length();
        ci.birth = c.birth;
        for (const storage::Piece &p : c.pieces) {
            PieceInfo pi;
            if (p.isZero()) {
                pi.zero = true;
                pi.length = p.length;
                ci.pieces.push_back(pi);
                continue;
            }
            if (p.kind == storage::Piece::Kind::Content) {
                // Named content: where this node keeps it, from the location map.
                pi.blockId = Ruid::fromView(p.name.view().first(16));
                pi.length = p.length;
                pi.hash = p.name.toHex();
                VD_TRY_ASSIGN(const auto raw, m_catalog->get(storage::keys::location(p.name)));
                auto loc = raw ? storage::LocationRecord::decode(*raw) : Result<storage::LocationRecord>(Status::notFound(QString()));
                if (!loc || !loc->isHere()) {
                    pi.notHere = true;
                } else if (loc->placement == storage::LocationRecord::Placement::Slot) {
                    pi.packed = true;
                    pi.storedLength = loc->slot.storedLength;
                } else {
                    pi.sizeClass = loc->extent.sizeClass;
                    pi.storedLength = loc->extent.size();
                }
                ci.pieces.push_back(pi);
                continue;
            }
            pi.packed = p.kind == storage::Piece::Kind::Slot;
            pi.blockId = p.blockId;
            pi.version = p.version;
            pi.sizeClass = p.sizeClass;
            pi.length = p.length;
            pi.storedLength = pi.packed ? p.slot.storedLength : storage::BlockHeader::capacity(p.sizeClass) + storage::BlockHeader::kSize;
            pi.hash = (pi.packed ? p.slot.rawHash : p.hash).toHex();
            ci.pieces.push_back(pi);
        }
        out.push_back(std::move(ci));
        return {};
    }));
    return out;
}

Result<DuInfo> TreeView::du(const QString &path, Ticker *ticker)
{
    VD_TRY_ASSIGN(const VNode top, resolve(path));
    VD_TRY_ASSIGN(const QStringList parts, splitPath(path));
    DuInfo info;
    VD_TRY(walkBelow(top, kMaxDepth - int(parts.size()), [&](const VNode &n, int) -> Result<Step> {
        switch (n.kind) {
        case Kind::Directory:
            ++info.directories;
            break;
        case Kind::File:
            ++info.files;
            info.logicalBytes += n.size;
            break;
        default:
            ++info.jsonNodes;
            if (n.kind == Kind::JsonValue)
                info.logicalBytes += n.size;
        }
        return Step::Descend;
    }, {}, ticker));
    return info;
}

Result<std::vector<TrashEntry>> TreeView::trash()
{
    std::vector<TrashEntry> out;
    std::vector<std::pair<Ruid, TrashRecord>> recs;
    Status inner;
    VD_TRY(m_catalog->scan(QByteArray(1, keys::kTrash), QByteArray(1, keys::kTrash + 1), [&](QByteArrayView key, QByteArrayView value) {
        auto rec = TrashRecord::decode(value);
        if (!rec || key.size() != 17) {
            inner = rec ? Status::corruption(QStringLiteral("malformed trash key")) : rec.status();
            return false;
        }
        recs.emplace_back(Ruid::fromView(key.sliced(1)), std::move(rec).value());
        return true;
    }));
    VD_TRY(inner);
    for (const auto &[id, rec] : recs) {
        VD_TRY_ASSIGN(const auto n, lookupEntry(trashId(), id.toString()));
        if (!n)
            return Status::corruption(QStringLiteral("trash entry %1 has no node").arg(id.toString()));
        out.push_back(TrashEntry{id, rec.originalPath, rec.deletedMs, n->kind, n->size});
    }
    std::sort(out.begin(), out.end(), [](const TrashEntry &a, const TrashEntry &b) { return a.deletedMs > b.deletedMs; });
    return out;
}

} // namespace vd::tree
