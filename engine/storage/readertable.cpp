#include "readertable.h"

#include "datareads.h"
#include "idvdfile.h"
#include "smallblock.h"

#include "core/utf8.h"

#include <QLoggingCategory>
#include <QtConcurrent/QtConcurrentRun>

namespace vd::storage {

Q_LOGGING_CATEGORY(lcPins, "vd.storage.pins", QtInfoMsg)

// ---- ReadCache ---------------------------------------------------------------

std::optional<QByteArray> ReadCache::find(const Hash256 &hash)
{
    std::lock_guard lock(m_mutex);
    if (const QByteArray *hit = m_cache.object(hash)) {
        m_hits.fetch_add(1, std::memory_order_relaxed);
        return *hit;
    }
    m_misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
}

void ReadCache::insert(const Hash256 &hash, const QByteArray &bytes)
{
    std::lock_guard lock(m_mutex);
    m_cache.insert(hash, new QByteArray(bytes), qsizetype(bytes.size()) + 64);
}

void ReadCache::setMaxBytes(qint64 bytes)
{
    std::lock_guard lock(m_mutex);
    m_cache.setMaxCost(bytes);
}

namespace {

// Catalog pages of committed trees, read straight from idvd by reference:
// nothing of the writer's state (its segment table, its open block) is
// consulted, so any thread may read while the writer appends. A page is
// believed only when it hashes to its reference (unpackPayload), which
// also makes the cache, keyed by that hash, safe to share.
class ReadOnlyPages final : public PageStore
{
public:
    ReadOnlyPages(std::shared_ptr<IdvdFile> idvd, ReadCache &cache) : m_idvd(std::move(idvd)), m_cache(cache) {}

    Result<QByteArray> readPage(const PageRef &ref) override
    {
        if (auto hit = m_cache.find(ref.slot.rawHash))
            return std::move(*hit);
        if (!isValidClass(ref.blockClass) || ref.slot.offset < BlockHeader::kSize
            || uint64_t(ref.slot.offset) + ref.slot.storedLength > classSize(ref.blockClass))
            return Status::corruption(QStringLiteral("a catalog page reference points outside its block at offset %1").arg(ref.blockOffset));
        VD_TRY_ASSIGN(const QByteArray stored, m_idvd->read(ref.blockOffset + ref.slot.offset, ref.slot.storedLength));
        auto raw = unpackPayload(stored, ref.slot);
        if (!raw)
            return raw.status().withContext(QStringLiteral("catalog page in the block at offset %1").arg(ref.blockOffset));
        m_cache.insert(ref.slot.rawHash, *raw);
        return raw;
    }
    Result<PageRef> writePage(QByteArrayView) override
    {
        return Status::internal(QStringLiteral("a committed generation is read-only"));
    }
    void releasePage(const PageRef &) override {}

private:
    std::shared_ptr<IdvdFile> m_idvd;
    ReadCache &m_cache; // the table's, which the pin keeps alive
};

// One committed root on the read-only store.
class PinnedCatalog final : public CatalogReader
{
public:
    PinnedCatalog(std::shared_ptr<PageStore> store, const PageRef &root) : m_store(std::move(store)), m_catalog(m_store.get())
    {
        m_catalog.reset(root);
    }

protected:
    Result<Catalog *> catalog() override { return &m_catalog; }

private:
    std::shared_ptr<PageStore> m_store;
    Catalog m_catalog;
};

} // namespace

// ---- ReaderTable -----------------------------------------------------------

ReaderTable::ReaderTable(std::shared_ptr<IdvdFile> idvd, std::shared_ptr<ReadCache> payloads)
    : m_idvd(std::move(idvd)), m_payloads(std::move(payloads))
{
}

ReaderTable::~ReaderTable() = default;

void ReaderTable::publish(uint64_t generation, const RootRecord &root)
{
    std::lock_guard lock(m_mutex);
    m_generation = generation;
    m_root = root;
}

void ReaderTable::publishWords(std::shared_ptr<const std::vector<uint32_t>> words)
{
    std::lock_guard lock(m_mutex);
    m_words = std::move(words);
}

uint64_t ReaderTable::published() const
{
    std::lock_guard lock(m_mutex);
    return m_generation;
}

Result<std::unique_ptr<GenerationReader>> ReaderTable::pin(const QString &label)
{
    GenerationReader::Parts parts;
    uint64_t id = 0;
    {
        std::lock_guard lock(m_mutex);
        if (m_generation == 0)
            return Status::internal(QStringLiteral("no committed generation to read yet"));
        id = m_nextId++;
        ++m_taken;
        m_pins.emplace(id, Entry{m_generation, label, std::chrono::steady_clock::now(), false});
        parts.generation = m_generation;
        parts.root = m_root;
        parts.words = m_words;
    }
    // The pin goes when the last thing made for this reader does (its
    // snapshots' catalogs share it): a shared handle whose deleter unpins.
    std::shared_ptr<ReaderTable> self = shared_from_this();
    parts.pin = std::shared_ptr<void>(nullptr, [self, id](void *) { self->unpin(id); });
    parts.label = label;
    parts.idvd = m_idvd;
    parts.payloads = m_payloads;
    parts.pages = std::shared_ptr<PageStore>(new ReadOnlyPages(m_idvd, m_pages), [pin = parts.pin](PageStore *p) { delete p; });
    return std::make_unique<GenerationReader>(std::move(parts));
}

void ReaderTable::unpin(uint64_t id)
{
    std::lock_guard lock(m_mutex);
    m_pins.erase(id);
}

std::optional<uint64_t> ReaderTable::oldestPin() const
{
    std::lock_guard lock(m_mutex);
    std::optional<uint64_t> oldest;
    for (const auto &[id, e] : m_pins)
        if (!oldest || e.generation < *oldest)
            oldest = e.generation;
    return oldest;
}

PinStats ReaderTable::stats() const
{
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(m_mutex);
    PinStats s;
    s.pins = m_pins.size();
    s.pinsTaken = m_taken;
    s.reported = m_reported;
    const Entry *oldest = nullptr;
    for (const auto &[id, e] : m_pins) {
        if (!oldest || e.since < oldest->since)
            oldest = &e;
        if (now - e.since >= m_reportAfter)
            ++s.overdue;
    }
    if (oldest) {
        s.oldestGeneration = oldest->generation;
        s.oldestAgeMs = std::chrono::duration_cast<std::chrono::milliseconds>(now - oldest->since).count();
        s.oldestLabel = oldest->label;
    }
    return s;
}

void ReaderTable::setReportAfter(std::chrono::milliseconds age)
{
    std::lock_guard lock(m_mutex);
    m_reportAfter = age;
}

uint64_t ReaderTable::reportOverdue()
{
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(m_mutex);
    uint64_t overdue = 0;
    for (auto &[id, e] : m_pins) {
        if (now - e.since < m_reportAfter)
            continue;
        ++overdue;
        if (e.reported)
            continue;
        e.reported = true;
        ++m_reported;
        qCWarning(lcPins).noquote() << QStringLiteral("a reader ('%1') has held generation %2 for %3 s: blocks freed since wait for it")
                                           .arg(e.label)
                                           .arg(e.generation)
                                           .arg(std::chrono::duration_cast<std::chrono::seconds>(now - e.since).count());
    }
    return overdue;
}

// ---- GenerationReader ------------------------------------------------------

GenerationReader::GenerationReader(Parts parts)
    : m_generation(parts.generation)
    , m_root(std::move(parts.root))
    , m_label(std::move(parts.label))
    , m_idvd(std::move(parts.idvd))
    , m_payloads(std::move(parts.payloads))
    , m_pages(std::move(parts.pages))
    , m_words(std::move(parts.words))
    , m_pin(std::move(parts.pin))
    , m_catalog(std::make_unique<PinnedCatalog>(m_pages, m_root.catalogRoot))
{
}

GenerationReader::~GenerationReader() = default;

Result<std::vector<std::pair<QString, SnapshotRecord>>> GenerationReader::snapshotRecords()
{
    std::vector<std::pair<QString, SnapshotRecord>> out;
    Status inner;
    VD_TRY(m_catalog->scan(QByteArray(1, keys::kSnapshot), QByteArray(1, keys::kSnapshot + 1), [&](QByteArrayView key, QByteArrayView value) {
        auto rec = SnapshotRecord::decode(value);
        if (!rec) {
            inner = rec.status().withContext(QStringLiteral("snapshot '%1'").arg(utf8ToString(key.sliced(1))));
            return false;
        }
        out.emplace_back(utf8ToString(key.sliced(1)), std::move(rec).value());
        return true;
    }));
    VD_TRY(inner);
    return out;
}

Result<std::optional<SnapshotRecord>> GenerationReader::findSnapshot(const QString &name)
{
    VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::snapshot(name)));
    if (!raw)
        return std::optional<SnapshotRecord>();
    VD_TRY_ASSIGN(SnapshotRecord rec, SnapshotRecord::decode(*raw));
    return std::optional<SnapshotRecord>(std::move(rec));
}

Result<std::unique_ptr<CatalogReader>> GenerationReader::snapshotCatalog(const QString &name)
{
    VD_TRY_ASSIGN(const auto rec, findSnapshot(name));
    if (!rec)
        return Status::notFound(QStringLiteral("no snapshot '%1'").arg(name));
    return std::unique_ptr<CatalogReader>(std::make_unique<PinnedCatalog>(m_pages, rec->root));
}

Result<BlockRecord> GenerationReader::blockRecord(const Ruid &id, uint64_t version)
{
    VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::block(id, version)));
    if (!raw)
        return Status::corruption(QStringLiteral("block %1 v%2 is referenced but not stored on this node").arg(id.toString()).arg(version));
    return BlockRecord::decode(*raw);
}

Result<QByteArray> GenerationReader::readSlotBytes(const Ruid &smallBlock, const SlotLocation &slot)
{
    if (auto hit = m_payloads->find(slot.rawHash))
        return std::move(*hit);
    VD_TRY_ASSIGN(const BlockRecord rec, blockRecord(smallBlock, 0));
    if (rec.kind != BlockKind::SmallData)
        return Status::corruption(QStringLiteral("block %1 is not a SmallBlock").arg(smallBlock.toString()));
    // Committed slots lie before the written end this generation recorded,
    // on disk: the writer only appends after it.
    SmallBlockState st = rec.small;
    st.id = smallBlock;
    VD_TRY_ASSIGN(QByteArray bytes, SmallBlockLog(m_idvd.get(), BlockKind::SmallData, st).read(slot));
    m_payloads->insert(slot.rawHash, bytes);
    return bytes;
}

Result<QByteArray> GenerationReader::readPiece(const Piece &piece, uint64_t from, uint64_t length)
{
    if (piece.isZero())
        return zeroBytes(uint32_t(std::min<uint64_t>(length, piece.length - std::min<uint64_t>(from, piece.length))));
    if (piece.kind == Piece::Kind::Content) {
        VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::location(piece.name)));
        VD_TRY_ASSIGN(const LocationRecord loc, placedContent(raw, piece));
        if (loc.placement == LocationRecord::Placement::Block)
            return readNamedBlock(*m_idvd, piece.name, loc, from, length);
        VD_TRY_ASSIGN(const QByteArray bytes, readSlotBytes(loc.smallBlock, loc.slot));
        VD_TRY(checkSlotName(piece.name, loc, bytes));
        return from == 0 && length >= uint64_t(bytes.size()) ? bytes : bytes.mid(qsizetype(from), qsizetype(length));
    }
    QByteArray bytes;
    if (piece.kind == Piece::Kind::Block) {
        VD_TRY_ASSIGN(const BlockRecord rec, blockRecord(piece.blockId, piece.version));
        if (rec.kind != BlockKind::Data || rec.extent.sizeClass != piece.sizeClass)
            return Status::corruption(QStringLiteral("block %1: its record disagrees with the reference").arg(piece.blockId.toString()));
        VD_TRY_ASSIGN(bytes, m_idvd->readDataBlock(rec.extent, DataBlockExpectation{piece.blockId, piece.version, piece.length, piece.hash}));
    } else {
        VD_TRY_ASSIGN(bytes, readSlotBytes(piece.blockId, piece.slot));
    }
    return from == 0 && length >= uint64_t(bytes.size()) ? bytes : bytes.mid(qsizetype(from), qsizetype(length));
}

Result<PieceRead> GenerationReader::startReadPiece(const Piece &piece)
{
    if (piece.kind == Piece::Kind::Content) {
        VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::location(piece.name)));
        VD_TRY_ASSIGN(const LocationRecord loc, placedContent(raw, piece));
        if (loc.placement != LocationRecord::Placement::Block)
            return PieceRead{std::nullopt, QtFuture::makeReadyFuture(readPiece(piece, 0, piece.length))};
        VD_TRY(checkNamedBlock(*m_idvd, piece.name, loc));
        return PieceRead{loc, {}};
    }
    if (piece.kind != Piece::Kind::Block)
        return PieceRead{std::nullopt, QtFuture::makeReadyFuture(readPiece(piece, 0, piece.length))};
    VD_TRY_ASSIGN(const BlockRecord rec, blockRecord(piece.blockId, piece.version));
    if (rec.kind != BlockKind::Data || rec.extent.sizeClass != piece.sizeClass)
        return Status::corruption(QStringLiteral("block %1: its record disagrees with the reference").arg(piece.blockId.toString()));
    const DataBlockExpectation expect{piece.blockId, piece.version, piece.length, piece.hash};
    VD_TRY_ASSIGN(QByteArray payload, m_idvd->readDataBlockUnverified(rec.extent, expect));
    const Extent extent = rec.extent;
    return PieceRead{std::nullopt, QtConcurrent::run([payload = std::move(payload), extent, expect]() -> Result<QByteArray> {
                         VD_TRY(IdvdFile::verifyPayload(payload, extent, expect));
                         return payload;
                     })};
}

Status GenerationReader::streamData(CatalogReader &catalog, const Ruid &owner, uint64_t size, QIODevice &out, const ProgressFn &progress,
                                    const QString &what)
{
    return streamOwner(*m_idvd, catalog, owner, size, out, progress, what, [this](const Piece &p) { return startReadPiece(p); });
}

Result<QByteArray> GenerationReader::readData(CatalogReader &catalog, const Ruid &owner, uint64_t size, uint64_t offset, uint64_t length,
                                              const QString &what)
{
    return readOwnerRange(catalog, owner, size, offset, length, what, [this](const Piece &p, uint64_t from, uint64_t n) { return readPiece(p, from, n); });
}

} // namespace vd::storage
