// TreeView: look-ups in one tree — the live tree or a snapshot's — read
// through one catalog reader: entries by (folder, name), paths, nodes by id
// (a node is served only if its parents lead to the root), listings, walks
// below a node, depth checks, and the answers built on them (clusters, du,
// the trash).
//
// Owns: its entry cache ((folder id, name) -> VNode, an LRU bounded in
// bytes) and its hit counters; the catalog reader when it was given one
// (a committed root: Collection::committedCatalog() or snapshotCatalog()),
// else it borrows the collection's working catalog. Optionally it asks an
// LmdbTreeCache for whole paths, while `current` says the reader's tree is
// the committed state the cache describes.
//
// A view on a committed root reads nothing of the writer's state (neither
// the Drive's nor the collection's open transaction), so it can answer for
// one generation while the writer builds the next. The live view is the
// writer's: TreeWriter keeps its entry cache up to date as it changes the
// tree (remember/forget).
//
// Thread safety: not thread-safe; use a view from one thread at a time.
#pragma once

#include "ticker.h"
#include "treetypes.h"
#include "vnode.h"

#include "core/status.h"

#include <QCache>
#include <QStringList>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace vd::storage {
class CatalogReader;
}

namespace vd::tree {

class LmdbTreeCache;

class TreeView
{
public:
    // Borrows catalog, which must outlive the view.
    TreeView(storage::CatalogReader &catalog, QString snapshot, qint64 cacheBytes);
    TreeView(std::unique_ptr<storage::CatalogReader> catalog, QString snapshot, qint64 cacheBytes);
    ~TreeView();
    TreeView(const TreeView &) = delete;
    TreeView &operator=(const TreeView &) = delete;

    storage::CatalogReader &catalog() { return *m_catalog; }
    // The snapshot's name; empty for the live tree.
    const QString &snapshot() const { return m_snapshot; }
    // Whole paths are looked up in cache (and remembered there) while
    // current() is true. Null: none.
    void useLmdb(LmdbTreeCache *cache, std::function<bool()> current);

    // The node under folder `parent` named `name`; the root is (null, "").
    Result<std::optional<VNode>> lookupEntry(const Ruid &parent, const QString &name);
    // NotFound when nothing is at path (naming the snapshot if any).
    Result<VNode> resolve(const QString &path);
    Result<std::optional<VNode>> resolveIfExists(const QString &path);
    // The node with this id, if it is attached to the tree (NotFound when
    // it is not, or is in the trash; Corruption when its parents form a
    // cycle or go past the depth limit).
    Result<VNode> nodeById(const Ruid &id);
    // Its path, from the index alone.
    Result<QString> pathOf(const Ruid &id);
    // A folder's entries by name; a JSON object's members in document
    // order; a JSON array's elements by index. Names are checked like a
    // user's: a damaged one is Corruption, never handed out.
    Result<std::vector<VNode>> children(const VNode &dir);

    // Walks top and everything below it, depth first, parents before
    // children, one listing per container, without recursion. `enter` says
    // whether to go into a container; `leave`, if given, runs after the last
    // child of a container gone into. Nothing lies more than maxLevel levels
    // below top in a sound tree (kMaxDepth minus top's depth): an entry
    // further down is a cycle or damage, Corruption. A ticker, if given,
    // counts each node entered and stops the walk when cancelled.
    enum class Step { Skip, Descend };
    Status walkBelow(const VNode &top, int maxLevel, const std::function<Result<Step>(const VNode &, int level)> &enter,
                     const std::function<Status(const VNode &, int level)> &leave = {}, Ticker *ticker = nullptr);
    // Refuses (InvalidArgument, starting with `what`) to put `node`, now
    // depthNow levels deep, at level `depth` when that puts anything below
    // it past kMaxDepth. Only a move deeper reads the subtree (the kind and
    // id of each entry), and only as far down as the limit.
    Status checkDepth(const VNode &node, int depthNow, int depth, const QString &what);

    Result<std::vector<ClusterInfo>> clusters(const QString &path);
    Result<DuInfo> du(const QString &path, Ticker *ticker = nullptr);
    // The trash's entries, newest first.
    Result<std::vector<TrashEntry>> trash();

    // The entry cache, kept by the writer of the live tree.
    void remember(const VNode &n);
    void forget(const Ruid &parent, const QString &name);
    void clearCache();

    struct Stats
    {
        uint64_t entryHits = 0, entryMisses = 0, lmdbHits = 0;
    };
    Stats stats() const { return m_stats; }

private:
    Result<std::optional<VNode>> walk(const QStringList &parts, const QString &path);

    std::unique_ptr<storage::CatalogReader> m_own;
    storage::CatalogReader *m_catalog;
    QString m_snapshot;
    QCache<QByteArray, VNode> m_entries;
    LmdbTreeCache *m_lmdb = nullptr;
    std::function<bool()> m_lmdbCurrent;
    Stats m_stats;
};

} // namespace vd::tree
