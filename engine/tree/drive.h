// Drive: a collection seen as a tree of VNodes — folders, files and JSON
// documents — with snapshots, a trash and a feed of changes. This is the
// engine API the CLI and the explorer use.
//
// Paths are absolute ("/a/b"; "/" is the root); "." and ".." are not
// allowed, repeated slashes count as one. JSON documents are part of the
// tree: "/conf/app.json/servers/0/host" names a leaf inside a document.
// Nothing is more than VNode::kMaxDepth levels deep: a longer path is
// InvalidArgument, and so is any change that would put a node deeper.
//
// Changes are made in memory and in unused parts of idvd, and become
// durable and visible to other processes together at commit(). A change
// that fails rolls back everything since the last commit (and says so), so
// memory and disk never disagree. Bulk work commits in groups.
//
// Reads take an optional snapshot name (`at`): the tree as it was when the
// snapshot was taken. Snapshots are read-only.
//
// A reader's Drive (Drive::reader()) is the same API over one pinned
// committed generation (storage/readertable.h): every look-up and read
// answers for that generation, whatever the writer commits meanwhile, and
// every change fails with PermissionDenied (read-only). Snapshot reads
// (`at`) read the snapshots that generation records.
//
// Thread safety: a Drive is not thread-safe; use it from one thread at a
// time (the explorer keeps it on an engine thread). Distinct Drives on
// distinct collections are independent. Only one Drive per process may
// write a collection (the writer lock says who holds it). A reader's Drive
// may be used on any thread while the writer's Drive is used on another,
// and many readers' Drives at once.
#pragma once

#include "blockowners.h"
#include "changefeed.h"
#include "remotechanges.h"
#include "tombstones.h"
#include "treetypes.h"
#include "vnode.h"

#include "storage/collection.h"
#include "storage/readertable.h"

#include <QIODevice>
#include <QString>

#include <memory>
#include <vector>

namespace vd::tree {

class LmdbTreeCache;
class TreeWriter;
class Views;

struct DriveOptions
{
    // In-memory LRU caches, bounded in bytes.
    qint64 entryCacheBytes = 32 << 20; // (folder, name) -> VNode
    qint64 blockCacheBytes = 64 << 20; // packed payloads read recently (small files, tails)
    // Folder for the LMDB cache of this collection's tree; empty: no LMDB cache.
    QString lmdbCacheDir;
    // Trash entries older than this are removed by gc(); 0 keeps them.
    int64_t trashExpiryMs = int64_t(30) * 24 * 3600 * 1000;
    // How many change-feed records are kept (see ChangeFeed::Limits).
    ChangeFeed::Limits feed;
    // This node's short id (node/nodeid.h, NodeId::shortId()): the origin
    // of every version a change made here gets. Required to open for
    // writing (InvalidArgument without it); a reader needs none. It comes
    // from the data directory's NodeIdentity, never from the collection, so
    // a collection folder copied elsewhere does not take an identity along.
    uint64_t nodeShortId = 0;
    // How many tombstones are kept (see Tombstones::Limits).
    Tombstones::Limits tombstones;
};

class Drive
{
public:
    ~Drive();
    Drive(const Drive &) = delete;
    Drive &operator=(const Drive &) = delete;

    // Opens the collection in dir as a tree. Opening for writing creates the
    // root folder of a new collection.
    static Result<std::unique_ptr<Drive>> open(io::Env &env, const QString &dir, storage::Access access, const DriveOptions &options = {});
    static Result<std::unique_ptr<Drive>> attach(std::unique_ptr<storage::Collection> collection, const DriveOptions &options = {});

    // A read-only Drive over one pinned generation (see above); the pin
    // holds until the Drive is destroyed. It must not outlive the writer's
    // Drive's collection.
    static std::unique_ptr<Drive> reader(std::unique_ptr<storage::GenerationReader> generation, const DriveOptions &options = {});
    bool isReader() const { return m_reader != nullptr; }
    // The generation a reader's Drive reads; the writer's: the last committed.
    uint64_t generation() const;

    // The writer's collection. A reader's Drive has none: check isReader().
    storage::Collection &collection() { return *m_col; }

    // Long operations (copy, remove, emptyTrash, importJson, diff, restore,
    // du, fsck, listSnapshots with the bytes each keeps, and putFile,
    // readFile, gc) take a ProgressFn: it hears how far the call got (bytes
    // for putFile/readFile; VNodes, index entries, catalog pages, pieces or
    // reference-count steps for the others, about every 64) and cancels it by
    // returning false — the call then fails with Cancelled (fsck: its
    // report's status) and what it changed is rolled back with the
    // transaction.

    // Look-ups. A node is served only if its parents lead to the root.
    Result<VNode> stat(const QString &path, const QString &at = {});
    Result<VNode> statId(const Ruid &id, const QString &at = {});
    Result<QString> pathOf(const Ruid &id, const QString &at = {});
    // A folder's entries by name; a JSON object's members in document order;
    // a JSON array's elements by index.
    Result<std::vector<VNode>> list(const QString &path, const QString &at = {});
    Result<std::vector<ClusterInfo>> clusters(const QString &path, const QString &at = {});

    // Files.
    // Creates or replaces a file with the bytes of in (any size). Blocks of
    // zeros cost no space; holes (optional) says where in is known to be
    // zero (a sparse file's holes), which is then not even read. packed
    // (optional): in's bytes packed ahead on another thread
    // (storage::packPayload of exactly those bytes: its hash is taken as
    // theirs, not computed again; a packed form of another length is not
    // used).
    Result<VNode> putFile(const QString &path, QIODevice &in, const storage::ProgressFn &progress = {}, io::ZeroRuns *holes = nullptr,
                          const storage::PackedPayload *packed = nullptr);
    Result<VNode> putFileBytes(const QString &path, QByteArrayView bytes);
    // Writes data at offset (past the end: the gap reads as zeros), creating
    // the file if needed; only the clusters the range touches are rewritten.
    Result<VNode> writeFile(const QString &path, uint64_t offset, QByteArrayView data);
    Result<VNode> appendFile(const QString &path, QByteArrayView data);
    // A file's bytes; a JSON node's document text (pretty-printed).
    Status readFile(const QString &path, QIODevice &out, const storage::ProgressFn &progress = {}, const QString &at = {});
    Result<QByteArray> read(const QString &path, uint64_t offset, uint64_t length, const QString &at = {});

    // Folders and moves.
    Result<VNode> mkdir(const QString &path, bool parents);
    // Renames or moves from to exactly `to` (its parent must exist, the name
    // must be free). Moving a folder into itself is refused. A move to a
    // deeper level reads the folders below `from`, down to the depth limit.
    Result<VNode> move(const QString &from, const QString &to);
    // Copies a file, folder or JSON node (recursively), sharing blocks.
    // `at` copies out of a snapshot.
    Result<VNode> copy(const QString &from, const QString &to, const QString &at = {}, const storage::ProgressFn &progress = {});
    // Removes path (a folder only with recursive). toTrash keeps it in the
    // trash, where restoreFromTrash() finds it. Removing works on a full
    // disk (its commit may use the reserve); a permanent removal too large
    // for the room left commits in batches as it goes — what is left of the
    // node then waits in the trash, so a failure or crash part way leaves a
    // consistent tree and `emptyTrash` finishes the job.
    Status remove(const QString &path, bool recursive, bool toTrash, const storage::ProgressFn &progress = {});

    Result<std::vector<TrashEntry>> listTrash();
    // Puts a trashed node back where it was (or at `to`), creating missing folders.
    Result<VNode> restoreFromTrash(const Ruid &id, const QString &to = {});
    // Removes trash entries deleted before the given time (all by default).
    Result<uint64_t> emptyTrash(int64_t deletedBeforeMs = INT64_MAX, const storage::ProgressFn &progress = {});
    // Removes these trash entries (by the ids listTrash() gives) for good,
    // with what is in them; NotFound, and nothing removed, when one is not
    // in the trash. Returns how many went.
    Result<uint64_t> deleteFromTrash(const std::vector<Ruid> &ids, const storage::ProgressFn &progress = {});

    // JSON documents.
    Result<VNode> importJson(const QString &path, QIODevice &in, bool replace = false, const storage::ProgressFn &progress = {});
    Status exportJson(const QString &path, QIODevice &out, int indent = 2, const QString &at = {});
    // Sets the member or element at path (inside a document) to jsonText,
    // creating an object member or appending an array element (index ==
    // size) as needed; the rest of the document is untouched.
    Result<VNode> setJson(const QString &path, QByteArrayView jsonText);
    // Removes a member or element; later array elements move up by one.
    Status deleteJson(const QString &path);

    // Snapshots.
    Result<SnapshotInfo> createSnapshot(const QString &name);
    // withUniqueBytes walks every tree to count what each snapshot alone
    // keeps (the writer's Drive only): progress counts its pages and pieces.
    Result<std::vector<SnapshotInfo>> listSnapshots(bool withUniqueBytes = false, const storage::ProgressFn &progress = {});
    // Takes effect at once; the space comes back at the next gc().
    Status deleteSnapshot(const QString &name);
    // from and to are snapshot names; an empty `to` is the live tree. Reads
    // only the index leaves the two trees do not share; exhaustive compares
    // the whole indexes instead (the same answer, slower: a cross-check).
    Result<std::vector<DiffEntry>> diff(const QString &from, const QString &to = {}, bool exhaustive = false, const storage::ProgressFn &progress = {});
    // Puts path as it was in the snapshot back (the current one, if any,
    // goes to the trash); to restores it elsewhere.
    Result<VNode> restore(const QString &snapshot, const QString &path, const QString &to = {}, const storage::ProgressFn &progress = {});

    Result<DuInfo> du(const QString &path, const QString &at = {}, const storage::ProgressFn &progress = {});
    // Which files use each block of idvd, in the live tree and the
    // snapshots (blockowners.h): walks every tree's cluster records. A
    // reader's Drive answers for its generation.
    Result<BlockOwners> blockOwners(const storage::ProgressFn &progress = {});
    // The allocation picture of idvd (storage/allocationmap.h): a reader's
    // is its pinned generation's (it never waits for the writer); the
    // writer's is its working state.
    Result<storage::AllocationMap> allocationMap();
    Result<storage::GcReport> gc(const storage::ProgressFn &progress = {});
    // The collection's checks plus the tree's: entries and index agree,
    // every node leads to the root (no cycles, no orphans) within the depth
    // limit, sizes and clusters agree, counters match; a part of the tree
    // that cannot be read is a fault too. progress counts the items checked
    // (pages, pieces, records, nodes); cancelled, the report's status is
    // Cancelled and it is not clean.
    storage::FsckReport fsck(const storage::ProgressFn &progress = {});

    // The change feed (ChangeFeed): one record per VNode a commit changed,
    // and one per snapshot created or deleted. Committed records with a
    // sequence >= from (at most limit); Resync when from is older than the
    // oldest record kept (firstChangeSequence()): the reader lists the tree
    // again and reads on from nextChangeSequence().
    Result<std::vector<ChangeRecord>> changesSince(uint64_t from, size_t limit = 1000);
    // The sequence the next change will get, and the oldest one kept.
    uint64_t nextChangeSequence() const;
    uint64_t firstChangeSequence() const;
    // Registered consumers (stored in the collection, committed with the
    // next commit): the feed keeps what a consumer has not read, within its
    // bound. register: a new consumer starts at the feed's end; an existing
    // one stays where it is. Returns its position (the first sequence it
    // has not read), which may be before firstChangeSequence() (then
    // changesSince() answers Resync). advance: to a sequence between its
    // position and nextChangeSequence(). NotFound for an unknown name.
    Result<uint64_t> registerConsumer(const QString &name);
    Status advanceConsumer(const QString &name, uint64_t next);
    Status unregisterConsumer(const QString &name);
    Result<std::vector<ConsumerInfo>> consumers();

    // Tombstones (tombstones.h): what is left of each node removed for good,
    // in id order. forgetTombstones drops those every member has seen
    // (knowledge: what each member has applied, one vector per member) and
    // returns how many went; committed with the next commit.
    Result<std::vector<std::pair<Ruid, Tombstone>>> tombstones();
    Result<uint64_t> forgetTombstones(const std::vector<VersionVector> &knowledge);

    // Replication (remotechanges.h): applies another node's record of a
    // VNode — its version compared with the one here: taken, a conflict
    // kept as a copy, or nothing when it is not newer — or its removal.
    // Applying twice changes nothing. The change is committed with the next
    // commit; a failure rolls the transaction back, as every change does.
    // Writer only (the node: DriveHost::applyRemote).
    Result<ApplyResult> applyRemote(const RemoteNode &remote);
    Result<ApplyResult> applyRemoteRemoval(const Ruid &id, const Tombstone &tombstone);

    Status commit();
    Status rollback();
    bool hasUncommittedChanges() const;

    // Memory caches: hits and misses since open (tests, benchmarks).
    struct CacheStats
    {
        uint64_t entryHits = 0, entryMisses = 0, lmdbHits = 0, lmdbResets = 0;
    };
    // Why the LMDB cache is not in use although one was asked for (empty: it is, or none was asked for).
    QString lmdbProblem() const;
    CacheStats cacheStats() const;

private:
    explicit Drive(std::unique_ptr<storage::Collection> collection, const DriveOptions &options);
    Drive(std::unique_ptr<storage::GenerationReader> generation, const DriveOptions &options);
    // PermissionDenied on a reader's Drive.
    Status checkWriter() const;

    // What the Drive owns; the work is done by the classes of engine/tree
    // (ARCHITECTURE.md has the map), each made on these for one call.
    std::unique_ptr<storage::Collection> m_col;           // null for a reader's Drive
    std::unique_ptr<storage::GenerationReader> m_reader; // a reader's pinned generation; else null
    DriveOptions m_options;
    std::unique_ptr<LmdbTreeCache> m_lmdb; // null: none asked for, or it could not be opened
    QString m_lmdbProblem;                 // why there is none although one was asked for
    std::unique_ptr<Views> m_views;        // the live tree and the snapshots read so far
    std::unique_ptr<TreeWriter> m_writer;  // changes of the live tree, commit and rollback
};

} // namespace vd::tree
