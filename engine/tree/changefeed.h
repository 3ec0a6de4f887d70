// ChangeFeed: the change feed's writer and its registered consumers.
//
// Recording happens at the lowest level: TreeWriter tells touch() the id of
// every VNode whose entry or index record it puts or erases, and at commit
// write() compares, for each id touched, the committed tree's record (old)
// with the live one (new) and writes one ChangeRecord per VNode that
// differs: Create, Remove, Move or Modify, with both sides. So every
// operation is covered without code of its own (cp -r, imports, array
// renumbering, trash, rm -r, restore), and a node touched several times in
// a transaction gets one record. Snapshot create and delete are noted
// (noteSnapshot()) and written as records of their own.
//
// Records are kept until every registered consumer has read them, within a
// bound (Limits). A reader asking for a sequence the feed no longer holds
// gets Resync, never a silent gap.
//
// Owns: the set of ids touched in the open transaction and the snapshot
// events noted; the records and consumers live in the collection's catalog.
//
// Thread safety: not thread-safe; the writer's thread (the Drive's) only.
// read() is static and reads only the catalog it is given.
#pragma once

#include "vnode.h"

#include "core/status.h"
#include "storage/records.h"

#include <QString>

#include <optional>
#include <unordered_map>
#include <vector>

namespace vd::storage {
class Collection;
class CatalogReader;
} // namespace vd::storage

namespace vd::tree {

struct ConsumerInfo
{
    QString name;
    uint64_t next = 0; // the first sequence it has not read
    int64_t updatedMs = 0;
};

class ChangeFeed
{
public:
    // How many records are kept (FORMAT.md §The change feed). keep: the
    // newest records kept whoever has read them (for readers without a
    // cursor: `changes --since`, the node's notifications). maxKept: the
    // bound; records a consumer has not read yet are kept up to it, and a
    // consumer further behind gets Resync. At most twice what the commit
    // wrote plus trimBatch records go per commit: enough to hold the bound,
    // and a commit on a full disk never removes a long run at once.
    struct Limits
    {
        uint64_t keep = 100000;
        uint64_t maxKept = 500000;
        uint64_t trimBatch = 256;
    };

    explicit ChangeFeed(storage::Collection &collection);
    void setLimits(const Limits &limits) { m_limits = limits; }
    const Limits &limits() const { return m_limits; }

    // Whose entry a removal's version increments (TreeWriter::setNode).
    void setNode(uint64_t shortId) { m_node = shortId; }
    // The VNode `id` changed in this transaction; created: it is new (it
    // had no committed record), so write() need not look for one.
    // versionBytes: the encoded size of the version it was put or erased
    // with (what its record will carry, pendingBytes() counts it).
    void touch(const Ruid &id, bool created, qsizetype versionBytes);
    void noteSnapshot(ChangeOp op, const QString &name);
    // At most what write() will put into the catalog (a commit that must
    // fit on a full disk counts it: Collection::commitMayNotFit).
    uint64_t pendingBytes() const;
    // The transaction is gone (rollback, failure): so is what was noted.
    void forget();

    // A node this transaction removes takes this version in its Remove
    // record and tombstone, not one of this node's (a removal applied from
    // a peer carries the peer's).
    void noteRemovalVersion(const Ruid &id, const VersionVector &version);

    // What write() found removed for good: each node's tombstone.
    using Removed = std::vector<std::pair<Ruid, Tombstone>>;
    // Just before the collection commits: the records of this transaction,
    // then trimming. Leaves nothing noted. removed (optional) gets a
    // tombstone for every node removed for good.
    Status write(Removed *removed = nullptr);
    // A writable open: drops the records an earlier build wrote (format 1,
    // incomplete: the leading ones, or all when the newest is one), so a
    // reader from before them gets Resync.
    Status upgrade();

    // Records with a sequence >= from, at most limit, from catalog; first is
    // the oldest sequence kept. Resync when from is before it (and records
    // were dropped in between).
    static Result<std::vector<ChangeRecord>> read(storage::CatalogReader &catalog, uint64_t first, uint64_t from, size_t limit);

    // Consumers. register: at the feed's end when new, else where it is.
    Result<uint64_t> registerConsumer(const QString &name);
    // Moves a consumer on to next (between where it is and the feed's end).
    Status advanceConsumer(const QString &name, uint64_t next);
    Status unregisterConsumer(const QString &name);
    static Result<std::vector<ConsumerInfo>> consumers(storage::CatalogReader &catalog);
    static Result<ConsumerInfo> consumer(storage::CatalogReader &catalog, const QString &name);

    // What identifies a node's bytes: a file's the SHA-256 of its cluster
    // list (each cluster's start, each piece's kind, length and content
    // hash — never where it is stored), a JSON scalar's the SHA-256 of its
    // literal; empty for containers.
    static Result<QByteArray> contentId(storage::CatalogReader &catalog, const VNode &n);
    // A file's content id from its cluster records (start -> record).
    using Clusters = std::vector<std::pair<uint64_t, storage::ClusterRecord>>;
    static QByteArray contentIdOf(const Clusters &clusters);

private:
    struct Found
    {
        VNode node;
        QByteArray content;
    };
    // The node with this id in catalog (its index record and its entry).
    static Result<std::optional<Found>> find(storage::CatalogReader &catalog, const Ruid &id);
    Status trim(uint64_t written);

    storage::Collection &m_col;
    Limits m_limits;
    struct Touched
    {
        bool created = false;        // no committed record to look for
        qsizetype versionBytes = 0;  // the largest version it was put or erased with
    };
    std::vector<Ruid> m_order; // first touch order
    std::unordered_map<Ruid, Touched> m_touched;
    std::unordered_map<Ruid, VersionVector> m_removalVersions;
    uint64_t m_node = 0;
    std::vector<std::pair<ChangeOp, QString>> m_snapshots;
};

} // namespace vd::tree
