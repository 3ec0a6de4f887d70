// LmdbTreeCache: how the tree uses the on-disk LMDB cache (cache/lmdbcache.h)
// of its collection: canonical path -> VNode of the committed live tree, and
// block locations for the collection's reads (lent to it as its
// BlockLocator for as long as this object lives).
//
// Owns the LmdbCache and the locator. The cache describes one committed
// state, named by a stamp (the collection's RUID, generation and catalog
// root hash): opened on another state it starts over, and committed() moves
// it to the new one. Look-ups made while the tree holds uncommitted changes
// must not be answered from it or remembered in it (TreeView asks before
// using it); invalidations go in at any time, since forgetting is always
// safe.
//
// Thread safety: not thread-safe; the writer's thread (the Drive's) only.
#pragma once

#include "vnode.h"

#include <QString>

#include <memory>
#include <optional>

namespace vd::cache {
class LmdbCache;
}
namespace vd::storage {
class Collection;
}

namespace vd::tree {

class LmdbTreeCache
{
public:
    // Opens the cache in dir for collection's committed state and lends the
    // collection its block locator. Null when it cannot be opened (another
    // process has it, the folder is not writable): *problem says why, and
    // the tree runs without it.
    static std::unique_ptr<LmdbTreeCache> open(const QString &dir, storage::Collection &collection, QString *problem);
    // Takes the locator back. Look-ups remembered since the last commit
    // describe the state the stamp names and are kept, unless the
    // collection holds uncommitted changes (then nothing unflushed is).
    ~LmdbTreeCache();
    LmdbTreeCache(const LmdbTreeCache &) = delete;
    LmdbTreeCache &operator=(const LmdbTreeCache &) = delete;

    // The node at a canonical path ("/a/b") of the committed live tree, if cached.
    std::optional<VNode> node(const QString &canonicalPath);
    void remember(const QString &canonicalPath, const VNode &node);
    // A node changed or went: its record, and every path through it.
    void forgetNode(const Ruid &id);
    void forgetPaths(const QString &canonicalPath);
    // After a commit: the entries now describe the collection's new state.
    void committed();
    // How often the cache was found damaged and started over.
    uint64_t resets() const;

private:
    class Locator;
    LmdbTreeCache(std::unique_ptr<cache::LmdbCache> cache, storage::Collection &collection);
    QByteArray stamp() const;

    std::unique_ptr<cache::LmdbCache> m_cache;
    storage::Collection &m_collection;
    std::unique_ptr<Locator> m_locator;
};

} // namespace vd::tree
