// Collection: one virtual drive on this node — the folder <RUID>/ with idvd,
// .bitmap and .meta — and the engine's API to it.
//
// Changes (putObject, removeObject, …) are made in memory and in unused
// parts of idvd; nothing of them is visible after a crash until commit()
// returns OK, and everything is after it does. commit() writes the changed
// catalog pages, the root record and a new .bitmap copy, syncs idvd and
// .bitmap, then writes and syncs the other copy of .meta: that last sync is
// the commit point. rollback() forgets uncommitted changes by reloading the
// committed state. A change or commit that fails (or is cancelled) also
// rolls back every uncommitted change, so memory and disk never disagree.
//
// One writer at a time: opening for writing takes an exclusive lock on idvd
// (an open-file-description lock, which dies with its process); opening
// read-only takes a shared one. A second writer gets Busy, naming the holder.
//
// Thread safety: a Collection is not thread-safe. Use it from one thread at
// a time, the writer's (the GUI drives it from an engine thread); distinct
// Collection objects are independent. Readers on other threads read
// committed generations through readers() (readertable.h), never through
// the Collection itself.
#pragma once

#include "geometry.h"
#include "allocationmap.h"
#include "blockheader.h"
#include "catalogreader.h"
#include "metafile.h"
#include "records.h"

#include "core/status.h"
#include "io/env.h"
#include "io/zeroruns.h"

#include <QCache>
#include <QFuture>
#include <QIODevice>
#include <QString>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

namespace vd::storage {

class BlockAllocator;
class Catalog;
class CatalogStore;
class IdvdFile;
class ReadCache;
class ReaderTable;
class Space;
class SmallBlockLog;
struct PieceRead;
struct PackedPayload;
class Ticker;

enum class Access { ReadOnly, ReadWrite };

struct CreateOptions
{
    uint32_t smallThreshold = uint32_t(BlockHeader::capacity(0)); // below: packed into SmallBlocks
    int smallBlockClass = 2;   // 4 MiB SmallData blocks
    int catalogBlockClass = 0; // 1 MiB CatalogLog blocks: pages are small, and a small block fits the gaps big objects leave
    int clusterMaxBlocks = 4;  // blocks per cluster (a cluster then spans up to 64 MiB)
};

struct ObjectInfo
{
    QString key;
    Ruid id;
    uint64_t size = 0;
    int64_t createdMs = 0;
    int64_t modifiedMs = 0;
    uint32_t clusters = 0;
};

struct CollectionInfo
{
    Ruid ruid;
    QString name;
    QString path;
    uint64_t generation = 0;
    int64_t createdMs = 0;
    int64_t committedMs = 0;
    uint32_t units = 0;
    uint64_t idvdBytes = 0;      // apparent size of idvd (sparse)
    uint64_t allocatedBytes = 0; // all allocated blocks
    std::array<uint64_t, kClassCount> blocksPerClass{};
    uint64_t dataBlocks = 0;
    uint64_t dataBlockBytes = 0; // allocated to data blocks
    uint64_t smallBlocks = 0;
    uint64_t smallBlockBytes = 0; // allocated to SmallData blocks
    uint64_t smallSlots = 0;      // live packed payloads
    uint64_t smallStoredBytes = 0; // their bytes on disk (after compression)
    uint64_t catalogBlocks = 0;
    uint64_t catalogBytes = 0;
    uint64_t catalogLiveBytes = 0;
    uint64_t reserveBytes = 0; // the free-space reserve (see Space)
    uint64_t objects = 0;
    uint64_t logicalBytes = 0; // objects' bytes plus the tree's (files and JSON leaves)
    uint64_t objectBytes = 0;
    uint64_t vnodes = 0;       // the tree's nodes, the root and the trash included
    uint64_t treeBytes = 0;
    uint64_t snapshots = 0;
    // (data block bytes + SmallData block bytes) / logical bytes; 0 when empty.
    double paddingRatio = 0;
    std::vector<QString> warnings; // Collection::warnings()
};

struct FsckReport
{
    std::vector<QString> faults; // empty when everything checked out
    uint64_t objectsChecked = 0;
    uint64_t vnodesChecked = 0;
    uint64_t blocksChecked = 0;
    uint64_t slotsChecked = 0;
    uint64_t pagesChecked = 0;
    uint64_t bytesVerified = 0;
    // Counted but no longer referenced (after a snapshot was deleted):
    // garbage collection gives it back. Not a fault.
    uint64_t reclaimableBytes = 0;
    // Block records that count more references than the trees hold (after a
    // snapshot was deleted): garbage collection recounts them, so right
    // after it this is 0. Not a fault; a count below the references is.
    uint64_t overcountedBlocks = 0;
    // Content the trees reference that this node does not hold (no
    // location record, or one that says elsewhere): a normal state for a
    // replica, not a fault. Distinct names.
    uint64_t contentNotHere = 0;
    std::vector<QString> notes;
    // The blocks of idvd (their offsets) whose own checks failed: a bad
    // header, a hash or checksum that does not match, a directory chain
    // that breaks, a read that fails — what the block map paints corrupt.
    // A fault of the records alone (a count, the bitmap) names no block.
    // Sorted, each once; at most kMaxCorruptOffsets, the rest counted.
    static constexpr size_t kMaxCorruptOffsets = 65536;
    std::vector<uint64_t> corruptOffsets;
    uint64_t corruptNotListed = 0;
    // Adds a block's offset (once: later duplicates are dropped by
    // finishCorrupt(), which sorts).
    void markCorrupt(uint64_t offset);
    void finishCorrupt();
    // What was checked and when (set by Drive::fsck): the committed
    // generation and the wall-clock end, in ms since the epoch.
    uint64_t generation = 0;
    int64_t finishedMs = 0;
    // OK when every check ran; Cancelled when the caller's ProgressFn asked
    // to stop: the checks did not all run, so the report is not clean
    // whatever faults it holds.
    Status status;
    bool isClean() const { return status.isOk() && faults.empty(); }
};

struct GcReport
{
    uint64_t blocksFreed = 0;  // data blocks and SmallBlocks nothing references any more
    uint64_t bytesFreed = 0;
    uint64_t catalogBlocksFreed = 0;
    uint64_t smallBlocksRepacked = 0;
    uint64_t slotsMoved = 0;
    uint64_t countsFixed = 0;  // reference counts lowered to the census (after snapshots went)
    uint64_t trashExpired = 0; // filled in by the tree
};

// References counted over every tree (the live one and each snapshot's),
// each distinct page and each distinct cluster version once.
struct Census
{
    std::map<uint64_t, uint64_t> pageBytes; // catalog block offset -> live page bytes (the segment table included)
    uint64_t pages = 0;
    uint64_t clusterVersions = 0;
    std::map<std::pair<Ruid, uint64_t>, uint32_t> blockRefs;     // data block (catalog format <= 2) -> references
    std::map<Hash256, uint32_t> contentRefs;                     // content name -> references
    std::set<Hash256> notHere;                                   // referenced, not held here
    std::map<Ruid, std::pair<uint64_t, uint32_t>> slotUse;       // SmallBlock -> stored bytes, slots
    std::set<Ruid> pinnedBySnapshot;                             // blocks some snapshot references
};

// Called with the bytes done so far; return false to cancel.
using ProgressFn = std::function<bool(uint64_t done)>;

// Remembers where data blocks lie (the tree's LMDB cache does, across
// processes). Only a hint: every block read is checked against its header
// and hash, and a wrong hint falls back to the catalog.
class BlockLocator
{
public:
    virtual ~BlockLocator() = default;
    virtual std::optional<Extent> find(const Ruid &blockId, uint64_t version) = 0;
    virtual void remember(const Ruid &blockId, uint64_t version, const Extent &extent) = 0;
};

struct StreamWritten
{
    uint64_t bytes = 0;
    uint32_t clusters = 0; // cluster records written
    uint32_t replaced = 0; // cluster records a range write replaced
};

class Collection
{
public:
    static constexpr const char *kDataFile = "idvd";
    static constexpr const char *kBitmapFile = ".bitmap";
    static constexpr const char *kMetaFile = ".meta";

    ~Collection();
    Collection(const Collection &) = delete;
    Collection &operator=(const Collection &) = delete;

    // Creates <parentDir>/<new RUID>/ and returns it open for writing.
    static Result<std::unique_ptr<Collection>> create(io::Env &env, const QString &parentDir, const QString &name,
                                                      const CreateOptions &options = {});
    // Opens the collection in folder dir. Every file is checked before
    // anything is trusted; nothing is written when opening read-only.
    //
    // When one .meta copy does not decode, idvd's head slot for the
    // generation after the valid copy's decides (a torn commit and a damaged
    // copy look alike, but an acknowledged commit's head slot and everything
    // it wrote were synced before its .meta copy): if that generation's head
    // slot is intact and everything the generation wrote verifies, it is
    // opened (rolled forward); otherwise the valid copy's generation is, and
    // warnings() says what may be lost. Opening for writing then rewrites a
    // damaged copy that holds nothing worth keeping as evidence (after a
    // roll-forward, or when it held an older generation), and upgrades a
    // head slot written by an earlier build by committing once.
    static Result<std::unique_ptr<Collection>> open(io::Env &env, const QString &dir, Access access);
    // Reads only .meta (no lock): what `vdrive collections` lists.
    static Result<Meta> peekMeta(io::Env &env, const QString &dir);
    // Reads only idvd's head slots (no lock): the newest complete state
    // they hold, to name a collection whose .meta is unreadable.
    static Result<Meta> peekHead(io::Env &env, const QString &dir);
    // Rebuilds .meta and .bitmap from idvd alone (either or both may be
    // missing or garbled): the newest generation in idvd's head slots whose
    // writes all verify (else the one before it, with a warning), its
    // .bitmap from what its catalog reaches. The new files replace the old
    // ones by rename, then a commit makes the head slot and .meta agree.
    // Returns the collection open for writing; warnings() says what was
    // found on the way, *recovered which generation was.
    static Result<std::unique_ptr<Collection>> recover(io::Env &env, const QString &dir, uint64_t *recovered = nullptr);

    // What opening found and worked around (a damaged .meta copy, a
    // generation that did not verify); empty for a healthy collection.
    const std::vector<QString> &warnings() const { return m_warnings; }

    Ruid ruid() const;
    QString name() const;
    // Renames the collection (its RUID stays): the name is in .meta and
    // idvd's head slot, so the next commit() writes it and a rollback takes
    // it back. InvalidArgument for a name metafile.h refuses. Whether
    // another collection of the data directory has it is datadir.h's
    // concern (renameCollection()).
    Status setName(const QString &name);
    QString path() const { return m_dir; }
    uint64_t generation() const;
    bool isReadOnly() const { return m_access == Access::ReadOnly; }
    bool hasUncommittedChanges() const { return m_dirty; }

    // Objects: a flat namespace of keys (1–1000 bytes of UTF-8).
    // Stores the bytes of `in` (read to its end) under key, replacing what
    // was there. Memory use is bounded (one 16 MiB block) whatever the size.
    Status putObject(const QString &key, QIODevice &in, const ProgressFn &progress = {});
    Status putObjectBytes(const QString &key, QByteArrayView bytes);
    // Writes the object's bytes to out, each block verified before it is written.
    Status getObject(const QString &key, QIODevice &out, const ProgressFn &progress = {});
    Result<QByteArray> readObject(const QString &key, uint64_t offset, uint64_t length);
    Result<ObjectInfo> statObject(const QString &key);
    Result<std::vector<ObjectInfo>> listObjects();
    // NotFound if there is no such key.
    Status removeObject(const QString &key);

    Status commit();
    Status rollback();

    // The free-space reserve (see Space): blocks of the catalog's size class
    // kept allocated on disk so that deleting always works on a full disk.
    static constexpr size_t kReserveBlocks = 2;
    // Marks the transaction as one that only deletes, so its commit may use
    // the reserve; only when nothing else is pending. Anything that adds
    // data afterwards (noteGrowth) takes the permission away again.
    void beginDelete();
    void noteGrowth();
    // True when the pending commit may not find room on the disk (with the
    // reserve, if this transaction may use it): a long delete then commits
    // what it has done so far and goes on in a new transaction.
    // pendingBytes: records the caller will still put before committing
    // (the tree's change feed writes its records at commit).
    Result<bool> commitMayNotFit(uint64_t pendingBytes = 0);

    // Caches. Packed payloads read recently are kept in memory, up to this
    // many bytes (keyed by their SHA-256, so an entry is never stale).
    void setPayloadCacheBytes(qint64 bytes);
    // Not owned; null: none.
    void setBlockLocator(BlockLocator *locator) { m_locator = locator; }
    struct CacheCounters
    {
        uint64_t payloadHits = 0, payloadMisses = 0, locatorHits = 0;
    };
    // (The payload cache is shared with the readers: its counts are theirs too.)
    CacheCounters cacheCounters() const;

    // Readers of committed generations on any thread (see readertable.h):
    // the table outlives the collection as long as a reader holds it. The
    // writer publishes each generation there at its commit point.
    const std::shared_ptr<ReaderTable> &readers() const { return m_readers; }
    // Gives back the blocks in limbo that no reader's pin needs any more
    // (Space::releaseLimbo); commit() does it too. The writer calls it when
    // a transaction starts. Failing loses nothing but disk space for now.
    Status releaseLimbo();
    // Bytes held in limbo for readers of older generations.
    uint64_t limboBytes() const;

    // Commits what is pending, counts every reference from the live tree and
    // the snapshots, frees what nothing references, repacks SmallBlocks that
    // are mostly dead, and commits; idvd's free tail goes back to the disk.
    Result<GcReport> collectGarbage(const ProgressFn &progress = {});

    Result<CollectionInfo> info();
    // Every allocated block of idvd with what it holds, from the allocator
    // and the block, location and catalog records (allocationmap.h): no
    // tree is walked. The working state, which on the writer between
    // requests is the last commit's.
    Result<AllocationMap> allocationMap();
    // Verifies every checksum reachable from the committed root and that
    // .bitmap matches exactly the blocks in use. Uncommitted changes are
    // rolled back first.
    // name describes a cluster's owner in faults ("object 'k'", a path).
    // progress hears the items checked so far (pages, stored pieces, block,
    // location and object records), every Ticker::kEvery and at the end;
    // false stops the check: report.status is then Cancelled.
    FsckReport fsck(const std::function<QString(const Ruid &owner)> &name = {}, const ProgressFn &progress = {});
    // The same, counting on the caller's ticker, which goes on counting
    // after it (the tree's fsck adds its own checks); no final report.
    FsckReport fsck(const std::function<QString(const Ruid &owner)> &name, Ticker &ticker);
    // Opens for writing even when .bitmap is unreadable or missing, rebuilds
    // the bitmap from what the committed catalog reaches and commits it if it
    // differs from the stored one (what `vdrive fsck --repair` does). Blocks
    // that nothing reaches become free; nothing reachable is touched. A
    // damaged .meta copy or head slot is replaced by committing too.
    // progress, when there is something to commit, is asked (with 0) just
    // before: false commits nothing and returns Cancelled.
    static Result<std::unique_ptr<Collection>> openAndRepair(io::Env &env, const QString &dir, bool *bitmapChanged, const ProgressFn &progress = {});

    // ---- The storage API the tree is built on -------------------------------
    // engine/tree keeps its records in this collection's catalog beside the
    // object records, its counters in the root record, and its files' bytes
    // as cluster records, as objects' are. What follows, with the calls
    // above (commit, rollback, beginDelete, noteGrowth, commitMayNotFit,
    // the caches, collectGarbage, fsck, listObjects), is all it uses; it
    // reaches no member. Unless said otherwise a call that changes something
    // changes the open transaction only: commit() makes it durable,
    // rollback() or a failure (abandonTransaction()) forgets it.

    // Checks. Usable: the committed state is loaded (when a failed change
    // could not even reload it, the collection stays broken until reopened
    // and this says why). Writable: usable, and open for writing.
    Status checkUsable() const;
    Status checkWritable() const;
    // Ends a change that failed part way: forgets every uncommitted change
    // by reloading the committed state, and returns cause. If the reload
    // fails too, the collection is broken (checkUsable() says why).
    Status abandonTransaction(Status cause);

    // Catalogs (see catalogreader.h). The working catalog: the committed
    // tree with this transaction's changes; the reference lives as long as
    // the collection.
    CatalogReader &catalog();
    // The tree of the last commit, or of a snapshot (NotFound if there is
    // none by that name), read-only: only committed pages are read, so the
    // open transaction, a commit or a rollback do not change its answers.
    // Must not outlive the collection. These do not pin: a later commit may
    // free and reuse the pages of an older generation, and a reader kept
    // across it then reads Corruption, never another tree's records. A
    // reader that must outlive commits (or run on another thread) pins its
    // generation through readers().
    Result<std::unique_ptr<CatalogReader>> committedCatalog();
    Result<std::unique_ptr<CatalogReader>> snapshotCatalog(const QString &name);
    // The root of the last commit: with ruid() and generation(), what
    // names the committed state (a cache stamps its entries with it).
    PageRef committedRoot() const;
    // Raw records: puts or removes one record of the working catalog (keys
    // of 1 to Catalog::kMaxKey bytes, values up to Catalog::kMaxValue) and
    // marks the transaction dirty; needs a writable collection. Nothing
    // checks that a record makes sense: the tree keeps its keyspaces
    // (tree/vnode.h) consistent, and tests damage a catalog through these
    // on purpose to see fsck name what that breaks. removeRecord: whether
    // the key was there.
    Status putRecord(QByteArrayView key, QByteArrayView value);
    Result<bool> removeRecord(QByteArrayView key);

    // The tree's counters, kept in the root record and committed with it;
    // reads give the working values. Every change marks the transaction dirty.
    // origin names this replica in versions; takeVersion() takes the next
    // value of the version counter (a Lamport clock).
    Ruid origin() const;
    uint64_t takeVersion();
    // A version received from another node: the clock moves past its
    // counters (a Lamport clock's receive), so later changes here follow it.
    void raiseVersionCounter(uint64_t atLeast);
    // Attached VNodes, the root included.
    uint64_t vnodeCount() const;
    void addVnodes(int64_t delta);
    // Logical bytes of files and JSON leaves in the live tree; subtracting
    // stops at 0.
    uint64_t fileBytes() const;
    void addFileBytes(uint64_t bytes);
    void subtractFileBytes(uint64_t bytes);
    // The change feed's window: the sequence number the next change takes
    // (takeChangeSequence() takes it) and that of the oldest change kept
    // (dropOldestChange() moves it up by one, after the record is removed).
    uint64_t nextChange() const;
    uint64_t firstChange() const;
    uint64_t takeChangeSequence();
    void dropOldestChange();

    // Data: the bytes of one owner (an object or a file of the tree), as
    // cluster records keyed by owner id and start offset. Writers mark the
    // transaction dirty and leave rolling back a failure to their caller.
    static constexpr uint64_t kMaxRangeWrite = uint64_t(64) << 20;
    // Stores the bytes of `in` (to its end) from startOffset on; what = a
    // name for errors. holes (optional) tells where the input is known to
    // be zero, so it is not read (a sparse file's holes). packed (optional):
    // the whole input packed ahead (packPayload of exactly its bytes, any
    // thread; its hash is trusted), used when the input is one small
    // payload of the same length.
    // Payloads below this many bytes are packed into SmallBlocks.
    uint32_t smallThreshold() const { return m_meta.smallThreshold; }
    Result<StreamWritten> writeStream(const Ruid &owner, uint64_t startOffset, QIODevice &in, const ProgressFn &progress, const QString &what,
                                      io::ZeroRuns *holes = nullptr, const PackedPayload *packed = nullptr);
    // Writes data (at most kMaxRangeWrite bytes) at offset into an owner of
    // `size` bytes, rewriting only the clusters the range touches.
    Status writeRange(const Ruid &owner, uint64_t size, uint64_t offset, QByteArrayView data, StreamWritten *result);
    // Releases every cluster of the owner (its blocks go when nothing else
    // references them) and removes its cluster records.
    Status releaseData(const Ruid &owner);
    // Copies the owner's cluster records from source (the working catalog
    // or a committed one) to a new owner, sharing their blocks.
    Status copyData(CatalogReader &source, const Ruid &from, const Ruid &to);
    // Imports content given its name and bytes (what a peer sends):
    // verified against the name (chunk hashes, then the name) before
    // anything is stored, and refused with Corruption, nothing stored, on a
    // mismatch. Idempotent: content held here already adds nothing (false).
    // References that read NotHere read it afterwards. Part of the open
    // transaction (commit() makes it durable); the writer's call, like every
    // change here (not thread-safe).
    Result<bool> importContent(const Hash256 &name, QByteArrayView bytes);
    // Replaces the owner's cluster records by clusters (start -> record,
    // as another node sent them), referencing their blocks as copyData()
    // does; each becomes a cluster version of this transaction.
    Status adoptData(const Ruid &owner, const std::vector<std::pair<uint64_t, ClusterRecord>> &clusters);
    // Reads an owner of `size` bytes out of catalog, every block verified.
    // Content referenced here but held by other nodes reads as NotHere.
    Status streamData(CatalogReader &catalog, const Ruid &owner, uint64_t size, QIODevice &out, const ProgressFn &progress, const QString &what);
    Result<QByteArray> readData(CatalogReader &catalog, const Ruid &owner, uint64_t size, uint64_t offset, uint64_t length, const QString &what);
    // Visits the owner's cluster records in catalog in order of their start.
    using ClusterFn = std::function<Status(uint64_t start, const ClusterRecord &)>;
    static Status forEachCluster(CatalogReader &catalog, const Ruid &owner, const ClusterFn &fn);

    // Snapshots: a snapshot is a committed generation's catalog root,
    // recorded in the catalog under its name.
    Result<std::vector<std::pair<QString, SnapshotRecord>>> snapshotRecords();
    Result<std::optional<SnapshotRecord>> findSnapshot(const QString &name);
    // Records the committed state as snapshot `name`, in a transaction that
    // holds nothing else (InvalidArgument otherwise: commit first), and pins
    // what it references; AlreadyExists if the name is taken.
    Result<SnapshotRecord> addSnapshot(const QString &name, int64_t createdMs);
    // Removes snapshot `name` (NotFound if there is none) and lowers the
    // pin to the newest one left: what it alone held stays counted until
    // collectGarbage() recounts. Works on a full disk (see beginDelete()).
    Status removeSnapshot(const QString &name);
    // The bytes on disk each snapshot alone keeps (pages, data blocks and
    // packed slots in no other snapshot nor in the committed tree), by name:
    // what deleting it would free after collectGarbage(). Walks every tree:
    // progress hears the pages and pieces counted so far (every
    // Ticker::kEvery and at the end); false stops it with Cancelled.
    Result<std::map<QString, uint64_t>> snapshotUniqueBytes(const ProgressFn &progress = {});

private:
    // Where loadState takes the allocator from.
    enum class BitmapSource {
        File,        // the .bitmap copy the state names; unreadable is an error
        Repair,      // rebuilt from what the catalog reaches; dirty if it differs from the file
        RollForward, // the named copy, else rebuilt, which must then hash to the named copy
        Rebuild,     // rebuilt, the file not read (recovery)
    };

    Collection(io::Env &env, QString dir, Access access);
    Status loadCommitted(bool repairBitmap = false, bool *bitmapChanged = nullptr);
    Status loadState(const Meta &meta, BitmapSource source, bool *bitmapChanged);
    Status loadAfterDamagedCopy(const MetaCopies &copies, BitmapSource source, bool *bitmapChanged);
    // Everything generation g wrote reads back verified: its catalog pages,
    // the pieces of its cluster versions, the last directory of every
    // SmallBlock and catalog block its records name.
    Status verifyGeneration(uint64_t g);
    Status checkLastDirectory(const Extent &extent, BlockKind kind, uint32_t lastDir, uint32_t writtenEnd, uint32_t sequence);
    Result<BlockAllocator> rebuildAllocator();
    Status checkHeadBlock(const Ruid &ruid);
    Result<HeadSlot> readHeadSlot(uint64_t generation, const Ruid &ruid);
    Status checkIdvdLength();
    // On a writable open: rewrites what loadCommitted found damaged and
    // replaceable, and upgrades an earlier build's head slot.
    Status repairOnOpen();
    static Result<std::unique_ptr<Collection>> openImpl(io::Env &env, const QString &dir, Access access, bool repair, bool *changed);
    // Every extent the committed state uses, with what uses it.
    Status collectReachable(std::vector<std::pair<Extent, QString>> *out, FsckReport *report);
    // What a commit may write into catalog blocks without new disk space
    // (the open block, and the reserve if allowed), and at most what the
    // pending one writes (precise: from the dirty pages' sizes).
    uint64_t commitRoom() const;
    uint64_t commitNeed(bool precise, uint64_t pendingBytes = 0) const;
    Status failAndReload(Status cause);

    // data blocks and packed payloads
    // Named content (catalog format 3): the location map's record of name.
    Result<std::optional<LocationRecord>> findLocation(const Hash256 &name);
    // Adds a reference to content held here; false (nothing changed) when
    // it is not held here.
    Result<bool> referenceHeld(const Hash256 &name, uint32_t length);
    // Records content just stored here with newRefs references more than
    // its record (an Elsewhere one) counted.
    Status recordLocation(const Hash256 &name, LocationRecord rec, uint32_t newRefs);
    Result<LocationRecord> writeNamedBlock(int sizeClass, QByteArrayView payload, const NamedContent &named);
    Result<LocationRecord> appendSlot(QByteArrayView payload, const Hash256 &rawHash);
    Result<LocationRecord> appendPacked(const PackedPayload &packed);
    Result<uint32_t> countReferences(const Hash256 &name);
    Status releaseContent(const Hash256 &name);
    Status releaseSlotStorage(const Ruid &smallBlock, uint32_t storedLength);
    Result<QByteArray> readSlotBytes(const Ruid &smallBlock, const SlotLocation &slot);
    // Where content lies: the working catalog's map, else (content this
    // transaction released) source's, the catalog the reference came from.
    Result<std::optional<QByteArray>> locationOf(const Hash256 &name, CatalogReader *source);
    Result<QByteArray> readContent(const Piece &piece, uint64_t from, uint64_t length, CatalogReader *source = nullptr);
    Result<QByteArray> readPieceRange(const Piece &piece, uint64_t from, uint64_t length, CatalogReader *source);
    // A payload as a content piece: a reference to what is held here by
    // its name, else a new data block of sizeClass or packed slot.
    Result<Piece> writeBlockPiece(int sizeClass, QByteArrayView payload);
    Result<PieceRead> startReadPiece(const Piece &piece, CatalogReader *source);
    Result<Piece> writeSlotPiece(QByteArrayView payload, const PackedPayload *packed = nullptr);
    Result<QByteArray> readPiece(const Piece &piece);
    // The offset in idvd of the block a piece's bytes lie in (a data block,
    // or the SmallBlock of a slot), as the working catalog records it; none
    // for zeros, content held elsewhere, or a record that is missing (fsck
    // marks the block corrupt when reading the piece fails).
    std::optional<uint64_t> blockOffsetOf(const Piece &piece);
    Status releasePiece(const Piece &piece);
    Result<SmallBlockLog *> smallLogWithRoom(uint32_t storedLength);
    Status sealSmallLog(size_t index);
    Status flushSmallLogs();
    SmallBlockLog *openSmallLog(const Ruid &id) const;
    Result<std::optional<ObjectRecord>> findObject(const QString &key);
    Status removeObjectData(const ObjectRecord &obj);
    // The owner's clusters in the working catalog.
    Status forEachCluster(const Ruid &owner, const ClusterFn &fn);
    Status releaseCluster(const ClusterRecord &cluster);
    Status shareCluster(const ClusterRecord &cluster);
    Status addPieceRef(const Piece &piece);
    struct BlockEntry
    {
        QByteArray key;
        Ruid id;
        uint64_t version = 0;
        BlockRecord record;
    };
    // Every block record of the live catalog, decoded (the first that does
    // not decode is the error).
    Result<std::vector<BlockEntry>> blockRecords();
    // Every location record of the live catalog, decoded.
    Result<std::vector<std::pair<Hash256, LocationRecord>>> locationRecords();
    // Needs a committed state. With verify, every piece is also read back.
    using OwnerNamer = std::function<QString(const Ruid &owner)>;
    // ticker (may be null) counts each leaf page and each piece: Cancelled
    // when its caller asks to stop.
    Status takeCensus(Census *census, FsckReport *verify, const OwnerNamer &name = {}, Ticker *ticker = nullptr);
    Status repackSmallBlocks(const Census &census, GcReport *report);

    io::Env &m_env;
    QString m_dir;
    Access m_access;
    std::unique_ptr<io::FileLock> m_lock;
    std::unique_ptr<io::File> m_metaFile;
    std::unique_ptr<io::File> m_bitmapFile;
    std::shared_ptr<IdvdFile> m_idvd; // shared with the readers
    std::shared_ptr<ReaderTable> m_readers;
    Meta m_meta; // as committed
    std::vector<QString> m_warnings;
    QString m_metaFault; // what fsck reports while a .meta copy stays damaged
    int m_damagedCopy = -1; // that copy, kept as evidence until a commit replaces it
    std::vector<std::pair<int, Meta>> m_metaRewrite; // damaged .meta copies and what they should hold
    QByteArray m_bitmapRewrite; // a rebuilt .bitmap copy to write where m_meta.bitmap says
    bool m_headIsOld = false;   // the current head slot is an earlier build's (format 2)
    RootRecord m_root; // working copy of the counters and open blocks
    std::unique_ptr<Space> m_space;
    // Shared with the committed catalogs handed out, which read through it
    // after a reload has replaced it here.
    std::shared_ptr<CatalogStore> m_catalogStore;
    std::unique_ptr<Catalog> m_catalog;
    class WorkingCatalog;
    std::unique_ptr<WorkingCatalog> m_workingCatalog;
    std::vector<std::unique_ptr<SmallBlockLog>> m_openSmall;
    bool m_dirty = false;
    Status m_broken;
    std::shared_ptr<ReadCache> m_payloads; // shared with the readers
    BlockLocator *m_locator = nullptr;
    uint64_t m_locatorHits = 0;
    Result<Extent> locateDataBlock(const Piece &piece); // set when the committed state could not be reloaded
};

} // namespace vd::storage
