// ReaderTable: the readers of one collection's committed generations, after
// LMDB's reader table. Readers never wait for the writer (MVCC).
//
// The writer publishes each generation once its commit is durable; a reader
// pins the published generation (pin()) and reads it through the
// GenerationReader it gets, on any thread, while the writer builds and
// commits the next ones. Nothing a pinned generation references is freed or
// reused while the pin holds: the blocks a commit frees wait in limbo
// (see Space) until no pin older than that commit is left. A reader that
// stays long only delays reuse; one held longer than reportAfter() (60 s by
// default) is reported once (a warning in category vd.storage.pins) and
// shows in stats(), so a forgotten pin is seen, not leaked silently.
//
// A crash forgets every pin, and nothing about pins is on disk: the .bitmap
// copy of each generation already has its limbo blocks free.
//
// Thread safety: ReaderTable and ReadCache are thread-safe. A
// GenerationReader is used by one thread at a time (any thread), and many
// readers may read at once, alongside the writer. Everything read is
// verified by its checksum, so even a bug that let a block be reused early
// would read as Corruption, never as another file's bytes. A reader must
// not outlive the Env its collection was opened on.
#pragma once

#include "catalogreader.h"
#include "collection.h"
#include "rootrecord.h"

#include "core/hash.h"
#include "core/status.h"

#include <QByteArray>
#include <QCache>
#include <QString>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

namespace vd::storage {

class IdvdFile;

// Verified bytes keyed by their SHA-256 (so an entry is never stale),
// bounded in bytes, shared by the writer and the readers.
class ReadCache
{
public:
    explicit ReadCache(qint64 maxBytes) : m_cache(maxBytes) {}
    std::optional<QByteArray> find(const Hash256 &hash);
    void insert(const Hash256 &hash, const QByteArray &bytes);
    void setMaxBytes(qint64 bytes);
    uint64_t hits() const { return m_hits.load(std::memory_order_relaxed); }
    uint64_t misses() const { return m_misses.load(std::memory_order_relaxed); }

private:
    std::mutex m_mutex;
    QCache<Hash256, QByteArray> m_cache; // guarded by m_mutex
    std::atomic<uint64_t> m_hits{0}, m_misses{0};
};

struct PinStats
{
    uint64_t pins = 0;             // held now
    uint64_t pinsTaken = 0;        // since the table was made
    uint64_t oldestGeneration = 0; // of the oldest pin held (0: none)
    int64_t oldestAgeMs = 0;
    QString oldestLabel;
    uint64_t overdue = 0;          // pins held now past reportAfter()
    uint64_t reported = 0;         // pins reported as overdue, ever
};

class GenerationReader;

class ReaderTable : public std::enable_shared_from_this<ReaderTable>
{
public:
    static constexpr std::chrono::milliseconds kDefaultReportAfter{60'000};

    ReaderTable(std::shared_ptr<IdvdFile> idvd, std::shared_ptr<ReadCache> payloads);
    ~ReaderTable();
    ReaderTable(const ReaderTable &) = delete;
    ReaderTable &operator=(const ReaderTable &) = delete;

    // The writer, after a commit point (and when a state is loaded): what
    // pin() hands out from now on.
    void publish(uint64_t generation, const RootRecord &root);
    // The writer, after a commit (once its frees are settled) and when a
    // state is loaded: the allocator's words, handed to every pin from now
    // on (what GenerationReader::allocationMap() pictures).
    void publishWords(std::shared_ptr<const std::vector<uint32_t>> words);
    // The generation published last (0: none yet).
    uint64_t published() const;

    // Pins the published generation; label says who reads (shown when the
    // pin is reported). Unavailable only before anything was published
    // (Internal). The pin holds until the reader is destroyed.
    Result<std::unique_ptr<GenerationReader>> pin(const QString &label);
    // The oldest generation pinned now, if any.
    std::optional<uint64_t> oldestPin() const;
    PinStats stats() const;

    // Pins held longer than this are reported once.
    void setReportAfter(std::chrono::milliseconds age);
    // Warns about each pin held past the limit that was not reported yet;
    // returns how many pins are past it now. The writer calls it at every
    // commit and `stats()` counts them without warning.
    uint64_t reportOverdue();

    // Catalog pages read by readers, verified, keyed by their hash.
    ReadCache &pageCache() { return m_pages; }

private:
    struct Entry
    {
        uint64_t generation = 0;
        QString label;
        std::chrono::steady_clock::time_point since;
        bool reported = false;
    };
    void unpin(uint64_t id);

    std::shared_ptr<IdvdFile> m_idvd;
    std::shared_ptr<ReadCache> m_payloads;
    ReadCache m_pages{16 << 20};

    mutable std::mutex m_mutex;
    uint64_t m_generation = 0; // guarded by m_mutex, as everything below
    RootRecord m_root;
    std::shared_ptr<const std::vector<uint32_t>> m_words;
    std::map<uint64_t, Entry> m_pins; // by pin id
    uint64_t m_nextId = 1;
    uint64_t m_taken = 0;
    uint64_t m_reported = 0;
    std::chrono::milliseconds m_reportAfter = kDefaultReportAfter;
};

// One pinned generation, read-only: its tree, its snapshots, its bytes.
// Made by ReaderTable::pin(); the pin is released when it is destroyed.
class GenerationReader
{
public:
    ~GenerationReader();
    GenerationReader(const GenerationReader &) = delete;
    GenerationReader &operator=(const GenerationReader &) = delete;

    uint64_t generation() const { return m_generation; }
    const RootRecord &root() const { return m_root; }
    const QString &label() const { return m_label; }

    // The generation's catalog (lives as long as this reader).
    CatalogReader &catalog() { return *m_catalog; }
    Result<std::vector<std::pair<QString, SnapshotRecord>>> snapshotRecords();
    Result<std::optional<SnapshotRecord>> findSnapshot(const QString &name);
    // Snapshot `name` as this generation records it (NotFound if none); the
    // reader returned must not outlive this one.
    Result<std::unique_ptr<CatalogReader>> snapshotCatalog(const QString &name);

    // The allocation picture of idvd (allocationmap.h) as of this
    // generation's commit: the allocator's words the writer published after
    // it, the reserve and the catalog's blocks of its root record, the
    // block and location records of its catalog. Never waits for the
    // writer, whatever it is doing.
    Result<AllocationMap> allocationMap();

    // An owner's bytes out of catalog (this generation's or one of its
    // snapshots'), every block verified; block records are this
    // generation's. As Collection::streamData and readData.
    Status streamData(CatalogReader &catalog, const Ruid &owner, uint64_t size, QIODevice &out, const ProgressFn &progress, const QString &what);
    Result<QByteArray> readData(CatalogReader &catalog, const Ruid &owner, uint64_t size, uint64_t offset, uint64_t length, const QString &what);

    // Made by ReaderTable::pin() only (public for std::make_unique).
    struct Parts
    {
        uint64_t generation = 0;
        RootRecord root;
        QString label;
        std::shared_ptr<IdvdFile> idvd;
        std::shared_ptr<ReadCache> payloads;
        std::shared_ptr<PageStore> pages;
        std::shared_ptr<const std::vector<uint32_t>> words; // the allocator's, as published
        std::shared_ptr<void> pin; // releases the pin when the last holder goes
    };
    explicit GenerationReader(Parts parts);

private:
    Result<BlockRecord> blockRecord(const Ruid &id, uint64_t version);
    Result<QByteArray> readPiece(const Piece &piece, uint64_t from, uint64_t length);
    Result<QByteArray> readSlotBytes(const Ruid &smallBlock, const SlotLocation &slot);
    Result<PieceRead> startReadPiece(const Piece &piece);

    uint64_t m_generation;
    RootRecord m_root;
    QString m_label;
    std::shared_ptr<IdvdFile> m_idvd;
    std::shared_ptr<ReadCache> m_payloads;
    std::shared_ptr<PageStore> m_pages;
    std::shared_ptr<const std::vector<uint32_t>> m_words;
    std::shared_ptr<void> m_pin;
    std::unique_ptr<CatalogReader> m_catalog;
};

} // namespace vd::storage
