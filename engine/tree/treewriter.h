// TreeWriter: the steps every change of the live tree is made of — put and
// erase a node (its entry and index record), keep folder entry counts and
// the tree's counters, note every node changed for the feed, create, copy and remove subtrees,
// check a placement before anything changes — and the transaction around
// them: commit, rollback, and guard(), which rolls the whole transaction
// back when a change fails part way.
//
// Owns nothing: it works on the collection (records and counters through
// the storage API), the live view's entry cache and the LMDB cache, all
// owned by the Drive. Each change class (FileChanges, FolderChanges,
// Removal, JsonDocuments, Snapshots) is built on one. Callers check
// refusals (bad name, existing target) before changing anything, so a
// refusal costs nothing; a failure after that goes through guard().
//
// Thread safety: not thread-safe; the writer's thread (the Drive's) only.
#pragma once

#include "changefeed.h"
#include "tombstones.h"
#include "treeview.h"
#include "vnode.h"

#include "core/status.h"

#include <QString>

#include <utility>

namespace vd::storage {
class Collection;
}

namespace vd::tree {

class LmdbTreeCache;
class Views;

class TreeWriter
{
public:
    TreeWriter(storage::Collection &collection, Views &views);
    void setLmdb(LmdbTreeCache *lmdb) { m_lmdb = lmdb; }

    storage::Collection &collection() { return m_col; }
    Views &views() { return m_views; }
    TreeView &live();
    static int64_t nowMs();

    // A new collection gets its root folder and its trash (committed).
    Status initialize();
    Status commit();
    Status rollback();
    // After a failure: rolls the transaction back (if anything changed)
    // and forgets every cache; returns st.
    Status guard(Status st);
    template<typename T>
    Result<T> guard(Result<T> r)
    {
        if (!r)
            (void)guard(r.status());
        return r;
    }
    void dropCaches();

    // This node's short id (node/nodeid.h): whose entry a change made here
    // increments. 0 until set; a writable Drive refuses to open without one.
    void setNode(uint64_t shortId)
    {
        m_node = shortId;
        m_feed.setNode(shortId);
    }
    uint64_t node() const { return m_node; }
    // The version of a change made here to a node whose version was base:
    // base with this node's entry raised to the collection's Lamport clock,
    // which moves on by one (REPLICATION.md, "What a counter counts").
    // InvalidArgument when a counter or the vector's size would pass its
    // bound, or when no node id is set.
    Result<VersionVector> nextVersion(const VersionVector &base = {});
    // New: a node with a new id (creating: this transaction no longer only
    // deletes); EntryOnly: the entry changes, not where it hangs nor its
    // version (a folder's entry count and time), so the index stays.
    enum class PutMode { Update, New, EntryOnly };
    Status putNode(const VNode &n, PutMode mode = PutMode::Update);
    Status eraseNode(const VNode &n);
    // Drops a raw entry (damage: one that holds a folder above it).
    Status eraseEntry(const Ruid &parent, const QString &name);
    Status putTrashRecord(const Ruid &id, const TrashRecord &rec);
    Status removeTrashRecord(const Ruid &id);
    // A folder's entry count by delta, and its time now.
    Status touchParent(const Ruid &parent, int64_t delta);
    // The change feed: every putNode and eraseNode is noted there, and
    // commit() writes its records.
    ChangeFeed &feed() { return m_feed; }
    // The tombstones of nodes removed for good: commit() puts one for each
    // node the feed finds removed.
    Tombstones &tombstones() { return m_tombstones; }
    Result<VNode> createNode(const VNode &parent, const QString &name, Kind kind);
    // Counts a node in or out of the tree's counters.
    void countAdded(const VNode &n);
    void countRemoved(const VNode &n);
    // Removes n, `depth` levels deep, and everything below it.
    Status removeTree(const VNode &n, int depth, Ticker *ticker = nullptr);
    // Copies src of `from` and everything below it under dstParent as
    // dstName (files share their blocks); the copy is `depth` levels deep.
    Result<VNode> copyTree(TreeView &from, const VNode &src, const VNode &dstParent, const QString &dstName, uint64_t ordinal, int depth,
                           Ticker *ticker = nullptr);
    // The live tree's folder for path's parent, and path's last name.
    Result<std::pair<VNode, QString>> resolveParent(const QString &path);
    // Creates the missing folders of path (mkdir -p); checkFolders() first
    // refuses what it would find only half way.
    Result<VNode> ensureFolders(const QString &path);
    Status checkFolders(const QString &path);
    // Refusals shared by move and copy: the name is taken, arrays are placed
    // with json set, files stay out of documents, a folder never goes inside
    // itself.
    Status checkPlacement(const VNode &node, const VNode &dstParent, const QString &dstName, const QString &from, const QString &to, bool refuseInsideItself);
    // The ordinal a new member of a JSON object takes: after the last.
    Result<uint64_t> nextOrdinal(const VNode &object);
    // A moved or removed node's entry leaves the live view's cache.
    void invalidate(const VNode &n);

private:
    storage::Collection &m_col;
    Views &m_views;
    LmdbTreeCache *m_lmdb = nullptr;
    ChangeFeed m_feed;
    Tombstones m_tombstones;
    uint64_t m_node = 0;
};

} // namespace vd::tree
