// LmdbCache: an on-disk cache of one collection's tree, kept outside the
// collection folder so that a cold process can resolve paths without reading
// the tree. Three maps: path → VNode id, VNode id → VNode record, block key →
// block location (records and locations are opaque bytes to the cache).
//
// The tree in the collection is the truth; this is only a copy. Losing the
// cache never loses data, so anything doubtful is thrown away instead of
// repaired: a lookup answers either a miss or exactly a value that was put
// (the last one put, or after a reopen the last one flushed, with the stamp
// flushed with it), never a damaged one.
//
// The folder holds:
//   data.mdb    the LMDB environment: named databases "meta", "paths",
//               "records", "blocks".
//   data.seal   written at a clean close: size and SHA-256 of data.mdb.
//   cache.lock  held (open-file-description lock) while a cache is open.
// LMDB maps data.mdb (and its lock.mdb) itself; every other file access —
// the folder, the lock, the seal and reading data.mdb to check it, removing
// the files when starting over — goes through an io::Env (Options::env), so
// a test can make any of those steps fail.
//
// Why a seal: LMDB trusts its file. It checks the magic and version of its
// meta pages and little else, so a damaged page can make it read past its
// map (SIGSEGV/SIGBUS; about 1 in 100 random garbles of a sealed file did,
// with the seal bypassed) or fail an internal assert (abort()); and with
// MDB_NOSYNC, which a cache wants, a system crash can leave a torn file. So
// open() lets LMDB map data.mdb only when it is byte for byte the file the
// last clean close sealed; otherwise the files are deleted and the cache
// starts empty. The price: after a process crash (no close) the next open
// starts empty too, and open() and a close after changes read the whole file
// once (SHA-256, about 1.5 GB/s).
//
// Inside the file every value is checksummed as well (see "Values" below),
// so damage done while the cache is open is still never returned.
//
// Writes are buffered in one LMDB write transaction that flush() commits, so
// a batch of puts costs one commit, and the stamp committed with a batch
// always describes exactly the entries committed with it. Reads go through
// that transaction and see the unflushed writes. Writes not flushed when the
// cache is destroyed are discarded: the committed stamp and entries stay
// consistent with each other.
//
// Resets: a checksum mismatch, an LMDB error (MDB_CORRUPTED,
// MDB_PAGE_NOTFOUND, MDB_MAP_FULL, …) or a failed commit closes LMDB,
// deletes the files and starts an empty cache (resets() counts them). The
// call that found the problem answers a miss or does nothing; a put that hit
// a full map is retried once in the empty cache. Unflushed writes are lost
// with the rest. A reset only ever removes entries, so it can never make a
// lookup return something that was not put.
//
// Keys: LMDB keys are at most 511 bytes. A key up to kInlineKeyBytes (400)
// is stored as is; a longer one (a deep path, an odd block key) is stored as
// its first 400 bytes followed by its SHA-256 (432 bytes), with the full key
// inside the value, compared on every read. Because the first 400 bytes are
// kept, keys stay in path order for any prefix of up to 400 bytes, so
// invalidatePaths() walks one cursor range over the subtree's prefix and
// costs the entries it removes; only when the prefix itself is longer than
// 400 bytes can the range contain a few entries outside the subtree, which
// the full key in their value tells apart.
//
// Values: value := format: u8 (1) | checksum: u64 (LE; the first 8 bytes of
//   SHA-256 of db: u8 | key length: u16 | key | format | body) | body
//   body := [key: varint length + bytes, only for hashed keys] payload
// and a "meta" record, key "format", holds the magic "VDRVCACH" and the
// cache format number (kFormat); a file without it is not ours.
//
// Seal (data.seal, 56 bytes): magic "VDLMSEAL" | format: u16 (1) |
//   reserved: u16, u32 (0) | size of data.mdb: u64 | SHA-256 of data.mdb.
//
// Thread safety: not thread-safe. Use a cache from one thread at a time;
// successive calls may come from different threads (LMDB runs with
// MDB_NOLOCK, so its write transaction is not tied to the thread that began
// it, which it would be with LMDB's own writer mutex). One LmdbCache per
// folder at a time: a second open() of a folder in use, from this process or
// another one, fails with Busy.
#pragma once

#include "core/ruid.h"
#include "core/status.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

struct MDB_env;
struct MDB_txn;

namespace vd::io {
class Env;
class FileLock;
}

namespace vd::cache {

// Outside the class only so that `= {}` can be its default argument (a
// nested struct's member initialisers are not usable inside its enclosing
// class); spelled LmdbCache::Options.
struct LmdbCacheOptions
{
    // LMDB map size: address space reserved, not disk used (the file grows
    // as entries are added). A put that does not fit resets the cache.
    qint64 mapSizeBytes = qint64(1) << 30;
    // The file system of the cache's own files (the folder, cache.lock,
    // data.seal, and data.mdb when it is checked or removed); null: the real
    // one. It must reach the files LMDB opens (the real file system, or a
    // FaultEnv over it): LMDB itself always uses the real one. Not owned; it
    // must outlive the cache.
    io::Env *env = nullptr;
};

class LmdbCache
{
public:
    using Options = LmdbCacheOptions;

    static constexpr uint16_t kFormat = 1;
    static constexpr qsizetype kInlineKeyBytes = 400;
    // Bounds on what is cached. A put above them is not cached and removes any
    // earlier value of the key, so it never leaves a stale one behind.
    static constexpr qsizetype kMaxPathBytes = 32 * 1024; // UTF-8
    static constexpr qsizetype kMaxRecordBytes = 16 * 1024 * 1024;
    static constexpr qsizetype kMaxBlockKeyBytes = 4096;
    static constexpr qsizetype kMaxBlockLocationBytes = 64 * 1024;
    static constexpr qsizetype kMaxStampBytes = 64 * 1024;

    // Opens (creating if needed) the cache in folder dir (created with
    // parents). A file that is not sealed, does not match its seal, cannot be
    // opened by LMDB or is not ours (format record) is deleted and an empty
    // cache created instead; wasReset() then says so and resetReason() says
    // why. Errors: Busy when another LmdbCache (in any process) has dir open;
    // IoError, naming the path and the reason, when no empty cache can be
    // created (e.g. dir is not writable); InvalidArgument for a map size <= 0.
    static Result<std::unique_ptr<LmdbCache>> open(const QString &dir, const Options &options = {});
    // Discards unflushed writes, closes LMDB and, when the file changed since
    // it was opened, writes the seal. Cannot fail: an unsealed file only means
    // the next open starts empty.
    ~LmdbCache();
    LmdbCache(const LmdbCache &) = delete;
    LmdbCache &operator=(const LmdbCache &) = delete;

    // Whether the cache has been reset since open (including at open), how
    // many times, and why the last time.
    bool wasReset() const { return m_resets > 0; }
    QString resetReason() const { return m_resetReason; }
    int resets() const { return m_resets; }

    // The committed state the entries reflect (opaque bytes chosen by the
    // caller, e.g. generation + root hash); empty when the cache is new, was
    // reset or cleared. A stamp over kMaxStampBytes is stored as empty.
    QByteArray stamp();
    void setStamp(QByteArrayView stamp);

    // Paths are compared as UTF-8 bytes, exactly as given: absolute and
    // normalised by the caller, no trailing "/". The empty path is never cached.
    std::optional<Ruid> pathId(const QString &path);
    void putPath(const QString &path, const Ruid &id);
    // Forgets path and every path under it (path + "/" prefix); "/" or ""
    // forgets all paths. Costs the entries removed, not the size of the map.
    void invalidatePaths(const QString &path);

    std::optional<QByteArray> record(const Ruid &id);
    void putRecord(const Ruid &id, QByteArrayView record);
    void removeRecord(const Ruid &id);

    // An empty block key is never cached.
    std::optional<QByteArray> blockLocation(QByteArrayView blockKey);
    void putBlockLocation(QByteArrayView blockKey, QByteArrayView location);
    void removeBlockLocation(QByteArrayView blockKey);

    // Forgets every entry and the stamp (at the next flush() on disk).
    void clear();
    // Commits the writes made since the last flush in one LMDB transaction
    // (not synced: a system crash loses it, and the seal catches that). A
    // failed commit resets the cache and is not an error; the only error is
    // IoError when a reset could not even create an empty cache, after which
    // every lookup misses and every write is ignored.
    Status flush();

    struct Stats
    {
        uint64_t paths = 0, records = 0, blockLocations = 0;
    };
    Stats stats(); // including unflushed writes

private:
    enum Db : uint8_t { MetaDb, PathsDb, RecordsDb, BlocksDb, DbCount };
    struct Entry
    {
        QByteArray key; // the full key
        QByteArray payload;
    };

    LmdbCache(QString dir, Options options);

    Status openEnv(bool fresh);
    Status startFresh();
    void closeEnv();
    void reset(const QString &reason);
    MDB_txn *txn();
    bool failed(int rc, const char *what, Db db);

    std::optional<QByteArray> get(Db db, QByteArrayView key);
    void put(Db db, QByteArrayView key, QByteArrayView payload);
    void remove(Db db, QByteArrayView key);
    // The entry, or nullopt when the value fails its checks.
    static std::optional<Entry> decode(Db db, QByteArrayView storedKey, QByteArrayView value);
    void removeRange(const QByteArray &prefix);

    QString m_dir;
    Options m_options;
    io::Env &m_files; // the cache's own files (Options::env)
    std::unique_ptr<io::FileLock> m_lock;
    MDB_env *m_env = nullptr;
    MDB_txn *m_txn = nullptr; // the pending write transaction, begun on first use
    std::array<unsigned int, DbCount> m_dbi{};
    bool m_txnWrote = false; // m_txn changed something
    bool m_fileChanged = false; // data.mdb differs from its seal (or has none)
    int m_resets = 0;
    QString m_resetReason;
    Status m_broken; // set when a reset could not create an empty cache
};

} // namespace vd::cache
