// DriveApi: what a front asks of a node — the explorer's models and
// dialogs, and later a peer — as asynchronous calls, the same whether the
// node runs in this process (LocalDriveApi, over node::Node) or in another
// one reached through its control socket.
//
// Every call returns at once with a QFuture; nothing waits for a disk, LMDB
// or a socket on the caller's thread, so the GUI thread may call anything
// here. A result arrives through the future (watch it with a QFutureWatcher,
// or .then(context, ...) to land on the GUI thread). Long calls (remove,
// copy, restore, import, export, fsck) report progress through the future and
// stop when it is cancelled; what they committed before stays, and their
// error says so.
//
// Collections are named by RUID: a name can change, a RUID cannot.
//
// Reads answer for the last committed generation when they start (MVCC: a
// running import never delays them) and say which generation that was
// (FolderListing::generation): a model applies only the change records of
// later generations (changed()), so a change is never lost between a
// listing and the notification, nor applied twice.
//
// Thread safety: every method may be called from any thread; the signals
// come from another thread (queued connections, the default across threads).
#pragma once

#include "client/jsontree.h"
#include "core/ruid.h"
#include "core/status.h"
#include "storage/allocationmap.h"
#include "storage/collection.h"
#include "storage/datadir.h"
#include "transfer/observer.h"
#include "tree/blockowners.h"
#include "tree/treetypes.h"
#include "tree/vnode.h"

#include <QFuture>
#include <QObject>
#include <QString>
#include <QStringList>

#include <atomic>
#include <memory>
#include <optional>
#include <mutex>
#include <vector>

namespace vd::client {

// A collection of the node's data directory, as a switcher lists it.
struct CollectionSummary
{
    Ruid ruid;
    QString name;
    uint64_t generation = 0;
    int64_t createdMs = 0;
    // Why it cannot be opened (its .meta unreadable, ...); ok when healthy.
    Status problem;

    static CollectionSummary from(const storage::CollectionEntry &entry);
};

// A folder (or a JSON container) and its entries, as of one generation.
struct FolderListing
{
    tree::VNode folder;
    std::vector<tree::VNode> entries; // by name (JSON: in document order)
    uint64_t generation = 0;          // what the listing saw: later changes come through changed()
};

// How full a collection is: what a status bar shows.
struct Usage
{
    uint64_t logicalBytes = 0;   // what the files hold
    uint64_t allocatedBytes = 0; // blocks in use in idvd
    uint64_t idvdBytes = 0;      // idvd's size on the disk (sparse)
    uint64_t diskFreeBytes = 0;  // what the file system holding the data directory has left
    uint64_t vnodes = 0;
    uint64_t snapshots = 0;
    double paddingRatio = 0; // see storage::CollectionInfo
};

// A copy between local files and a collection in progress: how far it got
// (written by the transfer's thread, read by anyone: a dialog polls it on a
// timer) and how to stop it. The transfer's future says how it ended.
class TransferState
{
public:
    transfer::TransferProgress progress() const
    {
        std::lock_guard lock(m_mutex);
        return m_progress;
    }
    QStringList warnings() const
    {
        std::lock_guard lock(m_mutex);
        return m_warnings;
    }
    // Stops the transfer at its next check; what it committed stays.
    void cancel() { m_cancelled = true; }
    bool isCancelled() const { return m_cancelled.load(); }

    // The transfer's side.
    void setProgress(const transfer::TransferProgress &p)
    {
        std::lock_guard lock(m_mutex);
        m_progress = p;
    }
    void addWarning(const QString &w)
    {
        std::lock_guard lock(m_mutex);
        if (m_warnings.size() < kMaxWarnings)
            m_warnings.append(w);
    }
    static constexpr qsizetype kMaxWarnings = 1000; // what a dialog can show; the count is in progress().skipped

private:
    mutable std::mutex m_mutex;
    transfer::TransferProgress m_progress;
    QStringList m_warnings;
    std::atomic<bool> m_cancelled{false};
};

struct TransferReport
{
    uint64_t files = 0, folders = 0, bytes = 0, skipped = 0;
    QStringList targets; // where each item went (the drive's paths, or local ones)
};

// A transfer started: follow `state`, wait for `done`.
struct Transfer
{
    std::shared_ptr<TransferState> state;
    QFuture<Result<TransferReport>> done;
};

// A search by name in progress: what it found so far (appended by the
// search's thread, taken by anyone — a results view polls it), how many
// nodes it looked at, and how to stop it.
class SearchState
{
public:
    struct Found
    {
        QString path;
        tree::VNode node;
    };
    // The matches found since `from` (the number already taken).
    std::vector<Found> takeFrom(size_t from) const
    {
        std::lock_guard lock(m_mutex);
        return from < m_found.size() ? std::vector<Found>(m_found.begin() + qsizetype(from), m_found.end()) : std::vector<Found>{};
    }
    uint64_t visited() const { return m_visited.load(); }
    void cancel() { m_cancelled = true; }
    bool isCancelled() const { return m_cancelled.load(); }

    // The search's side.
    void add(Found f)
    {
        std::lock_guard lock(m_mutex);
        m_found.push_back(std::move(f));
    }
    void setVisited(uint64_t n) { m_visited = n; }

private:
    mutable std::mutex m_mutex;
    std::vector<Found> m_found;
    std::atomic<uint64_t> m_visited{0};
    std::atomic<bool> m_cancelled{false};
};

// A search started: follow `state`; `done` says how it ended. It stops at
// kMaxMatches matches (truncated), or when cancelled (Cancelled).
struct SearchOutcome
{
    uint64_t matches = 0;
    uint64_t visited = 0;
    bool truncated = false; // stopped at kMaxMatches
};
struct Search
{
    static constexpr uint64_t kMaxMatches = 10000;
    std::shared_ptr<SearchState> state;
    QFuture<Result<SearchOutcome>> done;
};

class DriveApi : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    ~DriveApi() override = default;

    // Where the node keeps its collections (for titles and messages).
    virtual QString dataDir() const = 0;

    // Collections.
    virtual QFuture<Result<std::vector<CollectionSummary>>> collections() = 0;
    virtual QFuture<Result<CollectionSummary>> createCollection(const QString &name) = 0;
    virtual QFuture<Result<Usage>> usage(const Ruid &collection) = 0;
    // Renames a collection (its RUID stays): AlreadyExists when another has
    // the name. Returns it as renamed.
    virtual QFuture<Result<CollectionSummary>> renameCollection(const Ruid &collection, const QString &newName) = 0;
    // Deletes a collection and everything in it, for good: Busy while it is
    // in use (requests running or queued, another process holding it).
    // Returns true.
    virtual QFuture<Result<bool>> deleteCollection(const Ruid &collection) = 0;

    // Look-ups (`at`: a snapshot's name; empty: the live tree).
    virtual QFuture<Result<FolderListing>> list(const Ruid &collection, const QString &path, const QString &at = {}) = 0;
    virtual QFuture<Result<tree::VNode>> stat(const Ruid &collection, const QString &path, const QString &at = {}) = 0;
    virtual QFuture<Result<QString>> pathOf(const Ruid &collection, const Ruid &id, const QString &at = {}) = 0;
    virtual QFuture<Result<std::vector<tree::ClusterInfo>>> clusters(const Ruid &collection, const QString &path, const QString &at = {}) = 0;

    // Changes. Each is committed before its future reports; a failure
    // leaves nothing behind.
    virtual QFuture<Result<tree::VNode>> mkdir(const Ruid &collection, const QString &path) = 0;
    // Renames or moves from to exactly `to`.
    virtual QFuture<Result<tree::VNode>> move(const Ruid &collection, const QString &from, const QString &to) = 0;
    virtual QFuture<Result<tree::VNode>> copy(const Ruid &collection, const QString &from, const QString &to, const QString &at = {}) = 0;
    // Removes every path (folders with what is in them), to the trash
    // unless permanently; all or nothing. Returns how many went.
    virtual QFuture<Result<uint64_t>> remove(const Ruid &collection, const QStringList &paths, bool permanently = false) = 0;
    virtual QFuture<Result<std::vector<tree::TrashEntry>>> trash(const Ruid &collection) = 0;
    virtual QFuture<Result<tree::VNode>> restoreFromTrash(const Ruid &collection, const Ruid &id, const QString &to = {}) = 0;

    // Snapshots.
    virtual QFuture<Result<std::vector<tree::SnapshotInfo>>> snapshots(const Ruid &collection, bool withUniqueBytes = false) = 0;
    virtual QFuture<Result<tree::SnapshotInfo>> createSnapshot(const Ruid &collection, const QString &name) = 0;
    virtual QFuture<Result<std::vector<tree::DiffEntry>>> diff(const Ruid &collection, const QString &from, const QString &to = {}) = 0;
    virtual QFuture<Result<tree::VNode>> restore(const Ruid &collection, const QString &snapshot, const QString &path, const QString &to = {}) = 0;

    // Copies local files and folders (by their paths on this machine) into
    // the folder `into`, each under its own name: what a drop does. Folders
    // merge into existing ones and files replace existing ones, as
    // `vdrive put -r` (the same code: transfer/localimport.h). Runs alone
    // on the writer; commits in batches, so a cancelled import keeps what
    // its earlier batches stored and its error says how much.
    virtual Transfer importLocal(const Ruid &collection, const QStringList &localPaths, const QString &into) = 0;
    // Copies files and folders of the drive (at: a snapshot's) into the
    // local folder `into`, each under its own name, as `vdrive get -r`
    // (transfer/localexport.h): checked before the first byte is written,
    // put in place atomically. force: replace existing local files.
    virtual Transfer exportLocal(const Ruid &collection, const QStringList &paths, const QString &into, const QString &at = {}, bool force = false) = 0;

    // Finds the nodes below `under` (at: a snapshot's) whose names match
    // pattern: with '*' or '?', a wildcard for the whole name; else a
    // part of it. Case-insensitive. Walks the folders (and JSON documents)
    // breadth-first on a reader, so the nearest matches come first.
    virtual Search search(const Ruid &collection, const QString &under, const QString &pattern, const QString &at = {}) = 0;
    // Snapshots, continued (the explorer's snapshot panel). Deletes the
    // snapshot `name`; the bytes only it kept are freed by the next gc.
    // Returns true (NotFound when there is no such snapshot).
    virtual QFuture<Result<bool>> deleteSnapshot(const Ruid &collection, const QString &name) = 0;
    // JSON documents (tree/drive.h: a document is part of the tree). path
    // names a document or a value inside one.
    // The whole value at path in one read (at: a snapshot's): keys in
    // document order, scalars as their exact literals. InvalidArgument for
    // a path that is not JSON, or past JsonTree::kMaxNodes values.
    virtual QFuture<Result<JsonTree>> jsonTree(const Ruid &collection, const QString &path, const QString &at = {}) = 0;
    // Sets the member or element at path to jsonText (any JSON), creating a
    // member or appending an element (index == size) as needed; as
    // Drive::setJson. Returns the node set.
    virtual QFuture<Result<tree::VNode>> setJson(const Ruid &collection, const QString &path, const QByteArray &jsonText) = 0;
    // Removes a member or element; later elements move up by one.
    virtual QFuture<Result<bool>> deleteJson(const Ruid &collection, const QString &path) = 0;
    // Reads the local file localFile (on this machine) as a document at
    // vpath; replace: over an existing document.
    virtual QFuture<Result<tree::VNode>> importJson(const Ruid &collection, const QString &localFile, const QString &vpath, bool replace = false) = 0;
    // Writes the document at vpath (at: a snapshot's) to the local file
    // localFile, pretty-printed, whole or not at all (a temporary file
    // renamed over it); replaces an existing file, never through a
    // symbolic link. Returns the bytes written.
    virtual QFuture<Result<qint64>> exportJson(const Ruid &collection, const QString &vpath, const QString &localFile, const QString &at = {}) = 0;
    // The trash, continued (the explorer's trash panel). Deletes trash
    // entries for good, with what is in them: those of `ids` (all or
    // nothing: NotFound when one is not in the trash), or with no list
    // (nullopt) every entry. Long: reports progress, stops when cancelled
    // (entries already gone stay gone). Returns how many went.
    virtual QFuture<Result<uint64_t>> emptyTrash(const Ruid &collection, const std::optional<std::vector<Ruid>> &ids = std::nullopt) = 0;

    // Where the bytes are: the block map, in two calls so that a picture
    // shows at once and its details fill in. blockMap is cheap: every
    // allocated block of idvd with its kind and fill, read off the
    // allocator (4 bytes per 16 MiB unit) and the block, location and
    // catalog records, no tree walked (storage/allocationmap.h; healthOf()
    // reads the allocator's health off it). It is the last commit's picture,
    // made on a reader: it never waits for the writer (an import holding it
    // for minutes included).
    virtual QFuture<Result<storage::AllocationMap>> blockMap(const Ruid &collection) = 0;
    // Which files use each block, live and in snapshots (tree/blockowners.h):
    // walks every tree's cluster records on a reader, which takes time on
    // a large drive (progress counts records and paths; cancel through the
    // future). Its generation may differ from blockMap's: match by offset.
    virtual QFuture<Result<tree::BlockOwners>> blockOwners(const Ruid &collection) = 0;
    // Checks everything in the collection, as `vdrive fsck` does (without
    // --repair: nothing changes): every checksum the committed generation
    // reaches, the tree, the bitmap. Long: runs alone on the writer,
    // reports progress (items checked) and stops when cancelled (then
    // Cancelled). The report's faults say what is wrong, its
    // corruptOffsets which blocks; the node keeps the last finished report
    // (a cancelled check leaves the previous one) and blockMap carries its
    // corrupt blocks.
    virtual QFuture<Result<storage::FsckReport>> fsck(const Ruid &collection) = 0;

Q_SIGNALS:
    // Every change a commit of collection made, in feed order (one emission
    // per commit), whoever made it: this front, another client, a peer.
    void changed(const vd::Ruid &collection, const std::vector<vd::tree::ChangeRecord> &records);
    // The change feed could not be followed: list again. A null collection
    // means every collection (a remote node's notifications were lost).
    void resyncNeeded(const vd::Ruid &collection, const QString &why);
    // A collection was created, renamed or deleted, by anyone: a switcher
    // lists them again (collections()).
    void collectionsChanged();
};

} // namespace vd::client
