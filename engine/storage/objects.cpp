// Collection: the flat object namespace and the pieces that hold its bytes.
#include "collection.h"
#include "core/utf8.h"

#include "datareads.h"

#include "catalog.h"
#include "catalogstore.h"
#include "idvdfile.h"
#include "readertable.h"
#include "smallblock.h"
#include "space.h"

#include <QBuffer>
#include <QSet>
#include <QDateTime>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <optional>

namespace vd::storage {

namespace {
constexpr qsizetype kReadChunk = 1 << 20;
// Chunks read and being verified ahead of the one being written out.
constexpr size_t kReadAheadChunks = 8;
// Block buffers of a put: one being filled, the others being hashed and written.
constexpr int kWriteBuffers = 3;

// Full blocks of a put on their way to disk, written as they are read: as
// soon as a 1 MiB chunk of a block is in its buffer, a worker hashes it and
// writes it into the extent taken for the block while it is still in the
// processor's cache (a pass over a whole 16 MiB block afterwards came from
// memory, and copying in and out of memory cost more than the hashing). Once
// every chunk of a block is in, its name decides, in order on the writer's
// thread: content held here already gives the extent back (its pages,
// never synced, are dropped with it), new content gets its header and its
// location record. The destructor waits for every worker, so an early
// return never leaves one reading a freed buffer.
struct BlockJobs
{
    struct Chunk
    {
        Hash256 hash;
        bool zeros = false; // all zero bytes: not written (yet)
        Status written;     // a failed write matters only if the content is new
    };
    // One block: a thread of its own hashes and writes its chunks as the
    // reading thread says they are filled. Every hand-off goes through the
    // job's mutex or the join (which ThreadSanitizer sees; a QFuture's
    // happens inside uninstrumented Qt).
    struct Job
    {
        int buffer = 0;
        Extent extent;
        const char *data = nullptr; // the block's buffer: it does not move while the job runs
        std::mutex m;
        std::condition_variable cv;
        qsizetype ready = 0;       // bytes of the buffer filled (the reader's)
        bool abandoned = false;    // stop at the next chunk (the reader's)
        std::vector<Chunk> chunks; // in order (the worker's; read after the join)
        std::thread worker;
        void publish(qsizetype filled)
        {
            {
                std::lock_guard<std::mutex> l(m);
                ready = filled;
            }
            cv.notify_all();
        }
        void finish() // every chunk done (the block was full)
        {
            if (worker.joinable())
                worker.join();
        }
        void abandon()
        {
            {
                std::lock_guard<std::mutex> l(m);
                abandoned = true;
            }
            cv.notify_all();
            finish();
        }
        ~Job() { abandon(); }
    };
    std::deque<std::unique_ptr<Job>> full; // oldest first
    std::unique_ptr<Job> filling;          // the block being read
    std::mutex writeLock;
};

// The header of a data block of named content (block header format 2).
BlockHeader namedBlockHeader(const Extent &extent, const Hash256 &name, uint32_t length, uint64_t generation)
{
    BlockHeader h;
    h.kind = BlockKind::Data;
    h.sizeClass = extent.sizeClass;
    h.blockId = Ruid::fromView(name.view().first(16));
    h.version = 0;
    h.usedLength = length;
    h.payloadHash = name;
    h.generation = generation;
    return h;
}

// The smallest block class whose payload holds length bytes.
int classFor(uint64_t length)
{
    for (int c = 0; c < kClassCount; ++c)
        if (BlockHeader::capacity(c) >= length)
            return c;
    return kClassCount - 1;
}

// Pieces being fetched in order; the destructor waits for all of them.
struct ReadQueue
{
    struct Entry
    {
        QFuture<Result<QByteArray>> bytes;
        uint32_t length;
        bool reuse; // a chunk buffer, used again for a later chunk
    };
    std::deque<Entry> entries;
    ~ReadQueue()
    {
        for (Entry &e : entries)
            e.bytes.waitForFinished();
    }
};

// True when every byte is zero. Data that is not zero is told at its first
// non-zero byte, so this costs next to nothing on ordinary payloads.
bool isAllZero(QByteArrayView bytes)
{
    if (bytes.isEmpty())
        return true;
    return bytes[0] == 0 && std::memcmp(bytes.data(), bytes.data() + 1, size_t(bytes.size() - 1)) == 0;
}


QByteArray clusterPrefixEnd(const Ruid &objectId)
{
    // The first key after every cluster key of the object.
    QByteArray k = keys::cluster(objectId, 0);
    k.truncate(17);
    k.append(QByteArray(8, char(0xff)));
    k.append(char(0));
    return k;
}
} // namespace

SmallBlockLog *Collection::openSmallLog(const Ruid &id) const
{
    for (const auto &log : m_openSmall)
        if (log->state().id == id)
            return log.get();
    return nullptr;
}

Result<std::optional<LocationRecord>> Collection::findLocation(const Hash256 &name)
{
    VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::location(name)));
    if (!raw)
        return std::optional<LocationRecord>();
    auto rec = LocationRecord::decode(*raw);
    if (!rec)
        return rec.status().withContext(QStringLiteral("content %1").arg(name.shortHex()));
    return std::optional<LocationRecord>(std::move(rec).value());
}

Result<bool> Collection::referenceHeld(const Hash256 &name, uint32_t length)
{
    VD_TRY_ASSIGN(auto rec, findLocation(name));
    if (!rec || !rec->isHere())
        return false;
    if (rec->length != length)
        return Status::corruption(QStringLiteral("content %1: its location record says %2 bytes, a reference %3").arg(name.shortHex()).arg(rec->length).arg(length));
    if (rec->refs == UINT32_MAX)
        return Status::noSpace(QStringLiteral("content %1 is shared by too many copies").arg(name.shortHex()));
    ++rec->refs;
    VD_TRY(m_catalog->put(keys::location(name), rec->encode()));
    return true;
}

Status Collection::recordLocation(const Hash256 &name, LocationRecord rec, uint32_t newRefs)
{
    // An Elsewhere record keeps counting the references it had.
    VD_TRY_ASSIGN(const auto old, findLocation(name));
    rec.refs = (old ? old->refs : 0) + newRefs;
    return m_catalog->put(keys::location(name), rec.encode());
}

Result<LocationRecord> Collection::writeNamedBlock(int sizeClass, QByteArrayView payload, const NamedContent &named)
{
    VD_TRY_ASSIGN(const Extent extent, m_space->allocate(sizeClass));
    VD_TRY(m_idvd->writeDataBlock(extent, namedBlockHeader(extent, named.name, uint32_t(payload.size()), m_meta.generation + 1), payload));
    LocationRecord rec;
    rec.placement = LocationRecord::Placement::Block;
    rec.length = uint32_t(payload.size());
    rec.extent = extent;
    rec.chunks = named.chunks;
    return rec;
}

Result<Piece> Collection::writeBlockPiece(int sizeClass, QByteArrayView payload)
{
    // A block's chunks are hashed on two cores; content held here already
    // costs one more reference, nothing written.
    const NamedContent named = nameContent(payload, true);
    const Piece piece = Piece::content(named.name, uint32_t(payload.size()));
    VD_TRY_ASSIGN(const bool held, referenceHeld(named.name, piece.length));
    if (held)
        return piece;
    VD_TRY_ASSIGN(const LocationRecord rec, writeNamedBlock(sizeClass, payload, named));
    VD_TRY(recordLocation(named.name, rec, 1));
    return piece;
}

Status Collection::sealSmallLog(size_t index)
{
    SmallBlockLog &log = *m_openSmall[index];
    VD_TRY(log.flush());
    BlockRecord rec;
    rec.kind = BlockKind::SmallData;
    rec.extent = log.state().extent;
    rec.small = log.state();
    if (rec.small.liveSlots == 0) {
        m_space->freeLater(rec.extent);
        VD_TRY(m_catalog->remove(keys::block(log.state().id, 0)).status());
    } else {
        VD_TRY(m_catalog->put(keys::block(log.state().id, 0), rec.encode()));
    }
    m_openSmall.erase(m_openSmall.begin() + qsizetype(index));
    return {};
}

Result<SmallBlockLog *> Collection::smallLogWithRoom(uint32_t storedLength)
{
    for (const auto &log : m_openSmall)
        if (log->hasRoomFor(storedLength))
            return log.get();
    if (m_openSmall.size() >= size_t(RootRecord::kMaxOpenSmallBlocks)) {
        // Retire the fullest open block: it is the least likely to take more.
        size_t fullest = 0;
        for (size_t i = 1; i < m_openSmall.size(); ++i)
            if (m_openSmall[i]->freeBytes() < m_openSmall[fullest]->freeBytes())
                fullest = i;
        VD_TRY(sealSmallLog(fullest));
    }
    VD_TRY_ASSIGN(const Extent extent, m_space->allocate(m_meta.smallBlockClass));
    SmallBlockState st;
    st.id = Ruid::generate();
    st.extent = extent;
    VD_TRY(SmallBlockLog::writeHeader(m_idvd.get(), BlockKind::SmallData, st, m_meta.generation + 1));
    BlockRecord rec;
    rec.kind = BlockKind::SmallData;
    rec.extent = extent;
    rec.small = st;
    VD_TRY(m_catalog->put(keys::block(st.id, 0), rec.encode()));
    m_openSmall.push_back(std::make_unique<SmallBlockLog>(m_idvd.get(), BlockKind::SmallData, st));
    return m_openSmall.back().get();
}

Result<LocationRecord> Collection::appendSlot(QByteArrayView payload, const Hash256 &rawHash)
{
    return appendPacked(packPayload(payload, rawHash));
}

Result<LocationRecord> Collection::appendPacked(const PackedPayload &packed)
{
    VD_TRY_ASSIGN(SmallBlockLog * log, smallLogWithRoom(uint32_t(packed.stored.size())));
    VD_TRY_ASSIGN(const SlotLocation loc, log->append(packed));
    LocationRecord rec;
    rec.placement = LocationRecord::Placement::Slot;
    rec.length = loc.rawLength;
    rec.smallBlock = log->state().id;
    rec.slot = loc;
    return rec;
}

Result<Piece> Collection::writeSlotPiece(QByteArrayView payload, const PackedPayload *packed)
{
    // A payload of up to 1 MiB is one chunk: its SHA-256 is the chunk hash.
    // Packed ahead, the packer hashed these bytes already (hashing them
    // again here was a tenth of put -r's writer thread).
    if (packed && packed->rawLength != uint32_t(payload.size()))
        packed = nullptr; // packed from other bytes: not used
    Q_ASSERT(!packed || packed->rawHash == sha256(payload));
    const Hash256 rawHash = packed ? packed->rawHash : sha256(payload);
    NamedContent named;
    if (payload.size() <= qsizetype(kChunkSize)) {
        named.chunks = {rawHash};
        named.name = contentName(uint64_t(payload.size()), named.chunks);
    } else {
        named = nameContent(payload);
    }
    const Piece piece = Piece::content(named.name, uint32_t(payload.size()));
    VD_TRY_ASSIGN(const bool held, referenceHeld(named.name, piece.length));
    if (held)
        return piece;
    VD_TRY_ASSIGN(const LocationRecord rec, packed ? appendPacked(*packed) : appendSlot(payload, rawHash));
    VD_TRY(recordLocation(named.name, rec, 1));
    return piece;
}

Status Collection::flushSmallLogs()
{
    // Every open block's record is rewritten: its live counts may have
    // changed even when nothing was appended.
    for (const auto &log : m_openSmall) {
        VD_TRY(log->flush());
        BlockRecord rec;
        rec.kind = BlockKind::SmallData;
        rec.extent = log->state().extent;
        rec.small = log->state();
        VD_TRY(m_catalog->put(keys::block(log->state().id, 0), rec.encode()));
    }
    return {};
}

Result<Extent> Collection::locateDataBlock(const Piece &piece)
{
    VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::block(piece.blockId, piece.version)));
    if (!raw)
        return Status::corruption(QStringLiteral("block %1 v%2 is referenced but not stored on this node").arg(piece.blockId.toString()).arg(piece.version));
    VD_TRY_ASSIGN(const BlockRecord rec, BlockRecord::decode(*raw));
    if (rec.kind != BlockKind::Data || rec.extent.sizeClass != piece.sizeClass)
        return Status::corruption(QStringLiteral("block %1: its record disagrees with the reference").arg(piece.blockId.toString()));
    if (m_locator)
        m_locator->remember(piece.blockId, piece.version, rec.extent);
    return rec.extent;
}

Result<QByteArray> Collection::readSlotBytes(const Ruid &smallBlock, const SlotLocation &slot)
{
    if (auto hit = m_payloads->find(slot.rawHash))
        return std::move(*hit);
    Result<QByteArray> bytes = [&]() -> Result<QByteArray> {
        if (const SmallBlockLog *log = openSmallLog(smallBlock))
            return log->read(slot);
        VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::block(smallBlock, 0)));
        if (!raw)
            return Status::corruption(QStringLiteral("SmallBlock %1 holds a payload but has no record").arg(smallBlock.toString()));
        VD_TRY_ASSIGN(const BlockRecord rec, BlockRecord::decode(*raw));
        if (rec.kind != BlockKind::SmallData)
            return Status::corruption(QStringLiteral("block %1 is not a SmallBlock").arg(smallBlock.toString()));
        SmallBlockState st = rec.small;
        st.id = smallBlock;
        return SmallBlockLog(m_idvd.get(), BlockKind::SmallData, st).read(slot);
    }();
    if (bytes)
        m_payloads->insert(slot.rawHash, *bytes);
    return bytes;
}

Result<std::optional<QByteArray>> Collection::locationOf(const Hash256 &name, CatalogReader *source)
{
    // The working catalog's map says where content is now (a repack may
    // have moved it since a snapshot was taken). Content this transaction
    // stopped referencing is still where the committed tree's map says
    // (nothing freed is reused before the commit).
    VD_TRY_ASSIGN(auto raw, m_catalog->get(keys::location(name)));
    if (!raw && source && source != &catalog())
        return source->get(keys::location(name));
    return raw;
}

Result<QByteArray> Collection::readContent(const Piece &piece, uint64_t from, uint64_t length, CatalogReader *source)
{
    VD_TRY_ASSIGN(const auto raw, locationOf(piece.name, source));
    VD_TRY_ASSIGN(const LocationRecord loc, placedContent(raw, piece));
    if (loc.placement == LocationRecord::Placement::Block)
        return readNamedBlock(*m_idvd, piece.name, loc, from, length);
    VD_TRY_ASSIGN(const QByteArray bytes, readSlotBytes(loc.smallBlock, loc.slot));
    VD_TRY(checkSlotName(piece.name, loc, bytes));
    if (from == 0 && length >= uint64_t(bytes.size()))
        return bytes;
    return bytes.mid(qsizetype(from), qsizetype(length));
}

Result<QByteArray> Collection::readPieceRange(const Piece &piece, uint64_t from, uint64_t length, CatalogReader *source)
{
    if (piece.kind == Piece::Kind::Content)
        return readContent(piece, from, length, source);
    VD_TRY_ASSIGN(const QByteArray bytes, readPiece(piece));
    if (from == 0 && length >= uint64_t(bytes.size()))
        return bytes;
    return bytes.mid(qsizetype(from), qsizetype(length));
}

Result<QByteArray> Collection::readPiece(const Piece &piece)
{
    if (piece.isZero())
        return zeroBytes(piece.length);
    if (piece.kind == Piece::Kind::Content)
        return readContent(piece, 0, piece.length);
    if (piece.kind == Piece::Kind::Block) {
        const DataBlockExpectation expect{piece.blockId, piece.version, piece.length, piece.hash};
        if (m_locator) {
            if (const auto hint = m_locator->find(piece.blockId, piece.version); hint && hint->sizeClass == piece.sizeClass) {
                auto bytes = m_idvd->readDataBlock(*hint, expect);
                if (bytes) {
                    ++m_locatorHits;
                    return bytes;
                }
            }
        }
        VD_TRY_ASSIGN(const Extent extent, locateDataBlock(piece));
        return m_idvd->readDataBlock(extent, expect);
    }
    return readSlotBytes(piece.blockId, piece.slot);
}

Status Collection::releaseSlotStorage(const Ruid &smallBlock, uint32_t storedLength)
{
    if (SmallBlockLog *log = openSmallLog(smallBlock)) {
        SmallBlockState &st = log->state();
        st.liveBytes -= std::min<uint64_t>(st.liveBytes, storedLength);
        st.liveSlots -= std::min<uint32_t>(st.liveSlots, 1);
        return {};
    }
    const QByteArray key = keys::block(smallBlock, 0);
    VD_TRY_ASSIGN(const auto raw, m_catalog->get(key));
    if (!raw)
        return Status::corruption(QStringLiteral("releasing a slot of SmallBlock %1, which has no record").arg(smallBlock.toString()));
    VD_TRY_ASSIGN(BlockRecord rec, BlockRecord::decode(*raw));
    rec.small.liveBytes -= std::min<uint64_t>(rec.small.liveBytes, storedLength);
    rec.small.liveSlots -= std::min<uint32_t>(rec.small.liveSlots, 1);
    if (rec.small.liveSlots == 0) {
        m_space->freeLater(rec.extent);
        return m_catalog->remove(key).status();
    }
    return m_catalog->put(key, rec.encode());
}

Status Collection::releaseContent(const Hash256 &name)
{
    VD_TRY_ASSIGN(auto rec, findLocation(name));
    if (!rec)
        return {}; // counted nowhere here (fsck reports such a reference as not here)
    if (rec->refs > 1) {
        --rec->refs;
        return m_catalog->put(keys::location(name), rec->encode());
    }
    VD_TRY(m_catalog->remove(keys::location(name)).status());
    if (rec->placement == LocationRecord::Placement::Block)
        m_space->freeLater(rec->extent);
    else if (rec->placement == LocationRecord::Placement::Slot)
        return releaseSlotStorage(rec->smallBlock, rec->slot.storedLength);
    return {};
}

Status Collection::releasePiece(const Piece &piece)
{
    if (piece.isZero())
        return {}; // nothing stored, nothing counted
    if (piece.kind == Piece::Kind::Content)
        return releaseContent(piece.name);
    if (piece.kind == Piece::Kind::Block) {
        const QByteArray key = keys::block(piece.blockId, piece.version);
        VD_TRY_ASSIGN(const auto raw, m_catalog->get(key));
        if (!raw)
            return Status::corruption(QStringLiteral("releasing block %1, which has no record").arg(piece.blockId.toString()));
        VD_TRY_ASSIGN(BlockRecord rec, BlockRecord::decode(*raw));
        if (--rec.refs > 0)
            return m_catalog->put(key, rec.encode());
        m_space->freeLater(rec.extent);
        return m_catalog->remove(key).status();
    }
    return releaseSlotStorage(piece.blockId, piece.slot.storedLength);
}

Status Collection::addPieceRef(const Piece &piece)
{
    if (piece.isZero())
        return {};
    if (piece.kind == Piece::Kind::Content) {
        // A reference to content this node has no record of is counted in
        // an Elsewhere record: referenced here, held by other nodes.
        VD_TRY_ASSIGN(const bool counted, [&]() -> Result<bool> {
            VD_TRY_ASSIGN(auto rec, findLocation(piece.name));
            if (!rec)
                return false;
            if (rec->refs == UINT32_MAX)
                return Status::noSpace(QStringLiteral("content %1 is shared by too many copies").arg(piece.name.shortHex()));
            ++rec->refs;
            VD_TRY(m_catalog->put(keys::location(piece.name), rec->encode()));
            return true;
        }());
        if (counted)
            return {};
        LocationRecord rec;
        rec.placement = LocationRecord::Placement::Elsewhere;
        rec.length = piece.length;
        rec.refs = 1;
        return m_catalog->put(keys::location(piece.name), rec.encode());
    }
    if (piece.kind == Piece::Kind::Block) {
        const QByteArray key = keys::block(piece.blockId, piece.version);
        VD_TRY_ASSIGN(const auto raw, m_catalog->get(key));
        if (!raw)
            return Status::corruption(QStringLiteral("sharing block %1, which has no record").arg(piece.blockId.toString()));
        VD_TRY_ASSIGN(BlockRecord rec, BlockRecord::decode(*raw));
        if (rec.refs == UINT32_MAX)
            return Status::noSpace(QStringLiteral("block %1 is shared by too many copies").arg(piece.blockId.toString()));
        ++rec.refs;
        return m_catalog->put(key, rec.encode());
    }
    if (SmallBlockLog *log = openSmallLog(piece.blockId)) {
        log->state().liveBytes += piece.slot.storedLength;
        ++log->state().liveSlots;
        return {};
    }
    const QByteArray key = keys::block(piece.blockId, 0);
    VD_TRY_ASSIGN(const auto raw, m_catalog->get(key));
    if (!raw)
        return Status::corruption(QStringLiteral("sharing a slot of SmallBlock %1, which has no record").arg(piece.blockId.toString()));
    VD_TRY_ASSIGN(BlockRecord rec, BlockRecord::decode(*raw));
    rec.small.liveBytes += piece.slot.storedLength;
    ++rec.small.liveSlots;
    return m_catalog->put(key, rec.encode());
}

Status Collection::releaseCluster(const ClusterRecord &cluster)
{
    // A version born at or before the newest snapshot is part of it: the
    // snapshot keeps the references (garbage collection recounts them when
    // snapshots are deleted).
    if (cluster.birth <= m_root.pinnedThrough)
        return {};
    for (const Piece &p : cluster.pieces)
        VD_TRY(releasePiece(p));
    return {};
}

Status Collection::shareCluster(const ClusterRecord &cluster)
{
    for (const Piece &p : cluster.pieces)
        VD_TRY(addPieceRef(p));
    return {};
}

Result<std::optional<ObjectRecord>> Collection::findObject(const QString &key)
{
    VD_TRY(validateObjectKey(key));
    VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::object(key)));
    if (!raw)
        return std::optional<ObjectRecord>();
    VD_TRY_ASSIGN(ObjectRecord rec, ObjectRecord::decode(*raw));
    return std::optional<ObjectRecord>(std::move(rec));
}

Status Collection::forEachCluster(const Ruid &owner, const ClusterFn &fn)
{
    return forEachCluster(catalog(), owner, fn);
}

Status Collection::forEachCluster(CatalogReader &catalog, const Ruid &objectId, const ClusterFn &fn)
{
    Status inner;
    VD_TRY(catalog.scan(keys::cluster(objectId, 0), clusterPrefixEnd(objectId), [&](QByteArrayView key, QByteArrayView value) {
        Ruid id;
        uint64_t start = 0;
        if (!keys::parseClusterKey(key, &id, &start)) {
            inner = Status::corruption(QStringLiteral("malformed cluster key"));
            return false;
        }
        auto rec = ClusterRecord::decode(value);
        if (!rec) {
            inner = rec.status();
            return false;
        }
        inner = fn(start, *rec);
        return inner.isOk();
    }));
    return inner;
}

Status Collection::removeObjectData(const ObjectRecord &obj)
{
    return releaseData(obj.objectId);
}

Status Collection::releaseData(const Ruid &owner)
{
    std::vector<std::pair<uint64_t, ClusterRecord>> clusters;
    VD_TRY(forEachCluster(owner, [&](uint64_t start, const ClusterRecord &c) {
        clusters.emplace_back(start, c);
        return Status();
    }));
    for (const auto &[start, c] : clusters) {
        VD_TRY(releaseCluster(c));
        VD_TRY(m_catalog->remove(keys::cluster(owner, start)).status());
    }
    return {};
}

Status Collection::copyData(CatalogReader &source, const Ruid &from, const Ruid &to)
{
    noteGrowth();
    std::vector<std::pair<uint64_t, ClusterRecord>> clusters;
    VD_TRY(forEachCluster(source, from, [&](uint64_t start, const ClusterRecord &c) {
        clusters.emplace_back(start, c);
        return Status();
    }));
    for (auto &[start, c] : clusters) {
        VD_TRY(shareCluster(c));
        c.birth = m_meta.generation + 1;
        VD_TRY(m_catalog->put(keys::cluster(to, start), c.encode()));
    }
    return {};
}

Status Collection::adoptData(const Ruid &owner, const std::vector<std::pair<uint64_t, ClusterRecord>> &clusters)
{
    noteGrowth();
    m_dirty = true;
    // The new references first, so blocks the old and the new share stay.
    for (const auto &[start, c] : clusters)
        VD_TRY(shareCluster(c));
    VD_TRY(releaseData(owner));
    for (auto [start, c] : clusters) {
        c.birth = m_meta.generation + 1;
        VD_TRY(m_catalog->put(keys::cluster(owner, start), c.encode()));
    }
    return {};
}

Result<StreamWritten> Collection::writeStream(const Ruid &owner, uint64_t startOffset, QIODevice &in, const ProgressFn &progress,
                                              const QString &what, io::ZeroRuns *holes, const PackedPayload *packed)
{
    StreamWritten written;
    ClusterRecord cluster;
    cluster.birth = m_meta.generation + 1;
    uint64_t clusterStart = startOffset;
    uint64_t offset = startOffset;
    noteGrowth();
    m_dirty = true;
    auto addPiece = [&](const Piece &p) -> Status {
        cluster.pieces.push_back(p);
        offset += p.length;
        if (cluster.pieces.size() < m_meta.clusterMaxBlocks)
            return {};
        VD_TRY(m_catalog->put(keys::cluster(owner, clusterStart), cluster.encode()));
        ++written.clusters;
        clusterStart = offset;
        cluster.pieces.clear();
        return {};
    };
    // A payload of zeros costs a zero piece, not a block.
    auto payloadPiece = [&](int sizeClass, QByteArrayView bytes) -> Result<Piece> {
        if (isAllZero(bytes))
            return Piece::zeros(uint32_t(bytes.size()));
        return writeBlockPiece(sizeClass, bytes);
    };
    {
        // Three block buffers: while workers hash and write the chunks of
        // full blocks (SHA-256 is most of the CPU time), this thread reads.
        // Memory stays at three 16 MiB blocks whatever the object's size.
        const qsizetype fullBlock = qsizetype(BlockHeader::capacity(kClassCount - 1));
        static_assert(Piece::kMaxZeroLength == BlockHeader::capacity(kClassCount - 1));
        // Buffers grow as bytes arrive: a small object never costs a whole block.
        std::vector<QByteArray> buffers(kWriteBuffers);
        auto room = [&](int b, qsizetype need) -> char * {
            QByteArray &buf = buffers[size_t(b)];
            if (buf.size() < need)
                buf.resize(std::min(fullBlock, std::max(need, 2 * buf.size())));
            return buf.data();
        };
        std::vector<int> freeBuffers;
        for (int i = kWriteBuffers - 1; i > 0; --i)
            freeBuffers.push_back(i);
        BlockJobs pipeline;
        const uint64_t generation = m_meta.generation + 1;
        int cur = 0;
        qsizetype filled = 0;
        uint64_t done = 0;
        auto advance = [&](uint64_t n) -> Status {
            done += n;
            if (progress && !progress(done))
                return Status::cancelled(QStringLiteral("storing '%1' was cancelled").arg(what));
            return {};
        };
        auto took = [&](qsizetype n) -> Status {
            filled += n;
            return advance(uint64_t(n));
        };

        // Where the input is known to be zero (holes of a sparse file), it
        // is not read: the bytes are zeros, and whole blocks of them become
        // zero pieces without being touched at all. Only a random-access
        // input can be skipped through.
        const bool seekable = !in.isSequential();
        uint64_t inPos = seekable ? uint64_t(in.pos()) : 0;
        bool holesLeft = holes != nullptr && seekable;
        io::ZeroRun run; // the next known run of zeros at or after inPos
        bool mustSeek = false;
        // Zeros known to start right at inPos (0: data, or nothing known).
        auto zerosHere = [&]() -> uint64_t {
            if (!holesLeft)
                return 0;
            if (run.length == 0 || run.offset + run.length <= inPos) {
                run = holes->nextZeroRun(inPos);
                if (run.length == 0 || run.offset + run.length <= inPos) {
                    holesLeft = false;
                    return 0;
                }
            }
            return run.offset <= inPos ? run.offset + run.length - inPos : 0;
        };
        // Puts up to max input bytes into buffer b at `at`: zeros from a
        // known run, else what the input reads, stopping where a run starts.
        auto fill = [&](int b, qsizetype at, qsizetype max) -> Result<qsizetype> {
            if (const uint64_t zeros = zerosHere(); zeros > 0) {
                const qsizetype n = qsizetype(std::min<uint64_t>(zeros, uint64_t(max)));
                std::memset(room(b, at + n) + at, 0, size_t(n));
                inPos += uint64_t(n);
                mustSeek = true;
                return n;
            }
            if (holesLeft && run.offset > inPos)
                max = qsizetype(std::min<uint64_t>(uint64_t(max), run.offset - inPos));
            if (mustSeek) {
                if (!in.seek(qint64(inPos)))
                    return Status::ioError(QStringLiteral("cannot seek in the input to %1: %2").arg(inPos).arg(in.errorString()));
                mustSeek = false;
            }
            const qint64 n = in.read(room(b, at + max) + at, max);
            if (n < 0)
                return Status::ioError(QStringLiteral("cannot read the input: %1").arg(in.errorString()));
            inPos += uint64_t(n);
            return qsizetype(n);
        };
        // When the input's length is known (a file, a buffer), a small one
        // is read into a buffer of its size, not a 1 MiB one grown later.
        const qint64 known = in.isSequential() ? -1 : std::max<qint64>(0, in.size() - in.pos());
        // Whether the block being read will be full with more input after
        // it, as far as is known: a file with enough bytes left and no run of
        // zeros starting inside the block. An input of unknown length is
        // assumed to go on (at worst its last block is hashed twice).
        auto blockWillFill = [&]() -> bool {
            const uint64_t blockStart = done - uint64_t(filled);
            if (known >= 0 && uint64_t(known) <= blockStart + uint64_t(fullBlock))
                return false;
            return !(holesLeft && run.length > 0 && run.offset < inPos - uint64_t(filled) + uint64_t(fullBlock));
        };
        // Tells the block being read how far it is filled; its job, and
        // the thread that hashes and writes its chunks, start with its first
        // chunk when the block will be full (see BlockJobs), or once it is
        // (force).
        auto launchChunks = [&](bool force) -> Status {
            if (!pipeline.filling) {
                if (filled < std::min<qsizetype>(kChunkSize, fullBlock) || (!force && !blockWillFill()))
                    return {};
                // The buffer at its full size first: the job reads it, so it
                // must not move again.
                room(cur, fullBlock);
                auto job = std::make_unique<BlockJobs::Job>();
                VD_TRY_ASSIGN(job->extent, m_space->allocate(kClassCount - 1));
                job->buffer = cur;
                job->data = buffers[size_t(cur)].constData();
                BlockJobs::Job *j = job.get();
                j->worker = std::thread([this, j, blockSize = fullBlock, &pipeline] {
                    for (qsizetype at = 0; at < blockSize;) {
                        const qsizetype length = std::min<qsizetype>(kChunkSize, blockSize - at);
                        {
                            std::unique_lock<std::mutex> l(j->m);
                            j->cv.wait(l, [&] { return j->abandoned || j->ready >= at + length; });
                            if (j->abandoned)
                                return;
                        }
                        const QByteArrayView chunk(j->data + at, length);
                        BlockJobs::Chunk c{sha256(chunk), isAllZero(chunk), {}};
                        if (!c.zeros) {
                            // One writer at a time: concurrent writes to one
                            // file only spin on its inode lock.
                            std::lock_guard<std::mutex> w(pipeline.writeLock);
                            c.written = m_idvd->write(j->extent.offset + BlockHeader::kSize + uint64_t(at), chunk);
                        }
                        j->chunks.push_back(std::move(c));
                        at += length;
                    }
                });
                pipeline.filling = std::move(job);
            }
            pipeline.filling->publish(filled);
            return {};
        };
        // Takes the oldest full block's piece, in order (see BlockJobs).
        auto finishOldest = [&]() -> Status {
            const std::unique_ptr<BlockJobs::Job> job = std::move(pipeline.full.front());
            pipeline.full.pop_front();
            job->finish(); // every chunk hashed, and written unless zeros
            freeBuffers.push_back(job->buffer);
            ChunkHashes hashes;
            bool zeros = true;
            Status writes;
            if (job->chunks.size() != size_t(chunkCount(uint64_t(fullBlock))))
                return Status::internal(QStringLiteral("a block's chunk job stopped after %1 chunks").arg(job->chunks.size()));
            for (const BlockJobs::Chunk &c : job->chunks) {
                hashes.push_back(c.hash);
                zeros = zeros && c.zeros;
                if (writes && !c.written)
                    writes = c.written;
            }
            const Extent extent = job->extent;
            if (zeros) {
                m_space->unallocate(extent);
                return addPiece(Piece::zeros(uint32_t(fullBlock)));
            }
            const Hash256 name = contentName(uint64_t(fullBlock), hashes);
            const Piece piece = Piece::content(name, uint32_t(fullBlock));
            VD_TRY_ASSIGN(const bool held, referenceHeld(name, piece.length));
            if (held) {
                // (Even if writing it failed, a full disk say: it is not needed.)
                m_space->unallocate(extent);
                return addPiece(piece);
            }
            VD_TRY(writes);
            // The chunks of zeros inside data, skipped so far.
            const QByteArrayView payload = QByteArrayView(buffers[size_t(job->buffer)]).first(fullBlock);
            for (size_t i = 0; i < job->chunks.size(); ++i) {
                if (!job->chunks[i].zeros)
                    continue;
                const qsizetype at = qsizetype(i) * kChunkSize;
                VD_TRY(m_idvd->write(extent.offset + BlockHeader::kSize + uint64_t(at), payload.sliced(at, std::min<qsizetype>(kChunkSize, fullBlock - at))));
            }
            VD_TRY(m_idvd->write(extent.offset, namedBlockHeader(extent, name, piece.length, generation).encode()));
            m_idvd->startWriteback(extent);
            LocationRecord rec;
            rec.placement = LocationRecord::Placement::Block;
            rec.length = piece.length;
            rec.extent = extent;
            rec.chunks = std::move(hashes);
            VD_TRY(recordLocation(name, rec, 1));
            return addPiece(piece);
        };
        auto finishAll = [&]() -> Status {
            while (!pipeline.full.empty())
                VD_TRY(finishOldest());
            return {};
        };
        // The block being read will not be full after all (the input ends,
        // or a run of zeros begins): its chunks already written are given
        // back with their extent, and the end-of-input rules store it.
        auto dropFilling = [&]() {
            if (!pipeline.filling)
                return;
            pipeline.filling->abandon();
            m_space->unallocate(pipeline.filling->extent);
            pipeline.filling.reset();
        };
        // What is buffered goes into the largest blocks it fills, the tail
        // into a SmallBlock (or, all zeros, into zero pieces): at the end of
        // the input, and where a long run of known zeros begins.
        auto writeBuffered = [&]() -> Status {
            VD_TRY(finishAll());
            dropFilling();
            const QByteArray &buffer = buffers[size_t(cur)];
            qsizetype pos = 0;
            for (int c = kClassCount - 1; c >= 0; --c) {
                const qsizetype cap = qsizetype(BlockHeader::capacity(c));
                while (filled - pos >= cap) {
                    VD_TRY_ASSIGN(const Piece p, payloadPiece(c, QByteArrayView(buffer).sliced(pos, cap)));
                    VD_TRY(addPiece(p));
                    pos += cap;
                }
            }
            const qsizetype tail = filled - pos;
            if (tail > 0) {
                const QByteArrayView bytes = QByteArrayView(buffer).sliced(pos, tail);
                if (isAllZero(bytes)) {
                    VD_TRY(addPiece(Piece::zeros(uint32_t(tail))));
                } else if (uint64_t(tail) < m_meta.smallThreshold) {
                    // The packed form given is of the whole input: only for a tail that is all of it.
                    VD_TRY_ASSIGN(const Piece p, writeSlotPiece(bytes, pos == 0 && offset == startOffset ? packed : nullptr));
                    VD_TRY(addPiece(p));
                } else {
                    VD_TRY_ASSIGN(const Piece p, writeBlockPiece(0, bytes));
                    VD_TRY(addPiece(p));
                }
            }
            filled = 0;
            return {};
        };
        for (;;) {
            // A known run of zeros of a slot or more (or any, at a block
            // boundary) is not read: the data before it is written out as
            // if the input ended there, and the run becomes zero pieces.
            // Shorter runs inside data are read as zeros (a block that ends
            // up all zeros still becomes a zero piece).
            if (const uint64_t zeros = zerosHere(); zeros >= kSlotSize || (zeros > 0 && filled == 0)) {
                if (filled > 0)
                    VD_TRY(writeBuffered());
                VD_TRY(finishAll());
                for (uint64_t left = zeros; left > 0;) {
                    const uint64_t n = std::min<uint64_t>(left, uint64_t(fullBlock));
                    VD_TRY(addPiece(Piece::zeros(uint32_t(n))));
                    inPos += n;
                    left -= n;
                    VD_TRY(advance(n));
                }
                mustSeek = true;
                continue;
            }
            qsizetype want = std::min(kReadChunk, fullBlock - filled);
            if (known >= 0 && uint64_t(known) + 1 > done)
                want = std::min<qsizetype>(want, qsizetype(std::min<uint64_t>(uint64_t(known) + 1 - done, uint64_t(kReadChunk))));
            VD_TRY_ASSIGN(const qsizetype n, fill(cur, filled, want));
            if (n == 0)
                break; // end of input
            VD_TRY(took(n));
            VD_TRY(launchChunks(false));
            if (filled < fullBlock)
                continue;
            // A full block goes to disk only once more bytes are known to
            // follow (else the end-of-input rules decide): peek, or see that
            // a run of zeros follows.
            if (freeBuffers.empty())
                VD_TRY(finishOldest());
            const int next = freeBuffers.back();
            freeBuffers.pop_back();
            qsizetype m = 0;
            if (zerosHere() == 0) {
                VD_TRY_ASSIGN(m, fill(next, 0, kReadChunk));
                if (m == 0) {
                    freeBuffers.push_back(next);
                    break;
                }
            }
            VD_TRY(launchChunks(true));
            pipeline.full.push_back(std::move(pipeline.filling));
            cur = next;
            filled = 0;
            VD_TRY(took(m));
            VD_TRY(launchChunks(false));
        }
        VD_TRY(writeBuffered());
        if (!cluster.pieces.empty()) {
            VD_TRY(m_catalog->put(keys::cluster(owner, clusterStart), cluster.encode()));
            ++written.clusters;
        }
        written.bytes = offset - startOffset;
    }
    return written;
}

Status Collection::putObject(const QString &key, QIODevice &in, const ProgressFn &progress)
{
    VD_TRY(checkWritable());
    VD_TRY(validateObjectKey(key));
    m_dirty = true;
    ObjectRecord obj;
    obj.objectId = Ruid::generateOrdered();
    obj.createdMs = obj.modifiedMs = QDateTime::currentMSecsSinceEpoch();
    Status st = [&]() -> Status {
        VD_TRY_ASSIGN(const StreamWritten w, writeStream(obj.objectId, 0, in, progress, key));
        obj.size = w.bytes;
        obj.clusterCount = w.clusters;
        VD_TRY_ASSIGN(const auto old, findObject(key));
        if (old) {
            obj.createdMs = old->createdMs;
            VD_TRY(removeObjectData(*old));
            m_root.logicalBytes -= std::min(m_root.logicalBytes, old->size);
            --m_root.objectCount;
        }
        VD_TRY(m_catalog->put(keys::object(key), obj.encode()));
        m_root.logicalBytes += obj.size;
        ++m_root.objectCount;
        return {};
    }();
    if (!st) {
        // Undo the half-written object: back to the last commit.
        (void)failAndReload(st);
        return st;
    }
    return {};
}

Status Collection::putObjectBytes(const QString &key, QByteArrayView bytes)
{
    QByteArray copy = bytes.toByteArray();
    QBuffer buf(&copy);
    buf.open(QIODevice::ReadOnly);
    return putObject(key, buf);
}

Result<PieceRead> Collection::startReadPiece(const Piece &piece, CatalogReader *source)
{
    if (piece.kind == Piece::Kind::Content) {
        // A data block is found through the location map (one look-up per
        // 16 MiB), whose chunk list lets streamOwner check it chunk by chunk.
        VD_TRY_ASSIGN(const auto raw, locationOf(piece.name, source));
        VD_TRY_ASSIGN(const LocationRecord loc, placedContent(raw, piece));
        if (loc.placement != LocationRecord::Placement::Block)
            return PieceRead{std::nullopt, QtFuture::makeReadyFuture(readContent(piece, 0, piece.length, source))};
        VD_TRY(checkNamedBlock(*m_idvd, piece.name, loc));
        return PieceRead{loc, {}};
    }
    if (piece.kind != Piece::Kind::Block) // zeros, or small: read here, it is quick
        return PieceRead{std::nullopt, QtFuture::makeReadyFuture(readPiece(piece))};
    const DataBlockExpectation expect{piece.blockId, piece.version, piece.length, piece.hash};
    // This thread reads, in order, so the disk sees one sequential stream;
    // workers check the hashes, which is where the CPU time goes. A located
    // hint is believed only if the block's header agrees.
    std::optional<Extent> found;
    QByteArray payload;
    if (m_locator) {
        if (const auto hint = m_locator->find(piece.blockId, piece.version); hint && hint->sizeClass == piece.sizeClass) {
            if (auto bytes = m_idvd->readDataBlockUnverified(*hint, expect)) {
                ++m_locatorHits;
                found = hint;
                payload = std::move(bytes).value();
            }
        }
    }
    if (!found) {
        VD_TRY_ASSIGN(const Extent located, locateDataBlock(piece));
        VD_TRY_ASSIGN(payload, m_idvd->readDataBlockUnverified(located, expect));
        found = located;
    }
    const Extent extent = *found;
    return PieceRead{std::nullopt, QtConcurrent::run([payload = std::move(payload), extent, expect]() -> Result<QByteArray> {
                         VD_TRY(IdvdFile::verifyPayload(payload, extent, expect));
                         return payload;
                     })};
}

Status Collection::getObject(const QString &key, QIODevice &out, const ProgressFn &progress)
{
    VD_TRY(checkUsable());
    VD_TRY_ASSIGN(const auto obj, findObject(key));
    if (!obj)
        return Status::notFound(QStringLiteral("no object '%1'").arg(key));
    return streamData(catalog(), obj->objectId, obj->size, out, progress, key);
}

Status Collection::streamData(CatalogReader &catalog, const Ruid &owner, uint64_t size, QIODevice &out, const ProgressFn &progress, const QString &what)
{
    return streamOwner(*m_idvd, catalog, owner, size, out, progress, what, [this, &catalog](const Piece &p) { return startReadPiece(p, &catalog); });
}

Result<QByteArray> Collection::readObject(const QString &key, uint64_t offset, uint64_t length)
{
    VD_TRY(checkUsable());
    VD_TRY_ASSIGN(const auto obj, findObject(key));
    if (!obj)
        return Status::notFound(QStringLiteral("no object '%1'").arg(key));
    return readData(catalog(), obj->objectId, obj->size, offset, length, key);
}

Result<QByteArray> Collection::readData(CatalogReader &catalog, const Ruid &owner, uint64_t size, uint64_t offset, uint64_t length, const QString &what)
{
    return readOwnerRange(catalog, owner, size, offset, length, what,
                          [this, &catalog](const Piece &p, uint64_t from, uint64_t n) { return readPieceRange(p, from, n, &catalog); });
}

Result<bool> Collection::importContent(const Hash256 &name, QByteArrayView bytes)
{
    VD_TRY(checkWritable());
    if (bytes.isEmpty() || bytes.size() > qsizetype(Piece::kMaxZeroLength))
        return Status::invalidArgument(QStringLiteral("content is 1 byte to %1 bytes long, not %2").arg(Piece::kMaxZeroLength).arg(bytes.size()));
    // Verified before anything is stored: the chunks, then the name.
    const NamedContent named = nameContent(bytes, true);
    if (named.name != name)
        return Status::corruption(QStringLiteral("the %1 bytes given for content %2 hash to %3: not stored").arg(bytes.size()).arg(name.shortHex(), named.name.shortHex()));
    VD_TRY_ASSIGN(const auto old, findLocation(name));
    if (old && old->isHere()) {
        if (old->length != uint32_t(bytes.size()))
            return Status::corruption(QStringLiteral("content %1: its location record says %2 bytes").arg(name.shortHex()).arg(old->length));
        return false;
    }
    noteGrowth();
    m_dirty = true;
    Status st = [&]() -> Status {
        // Without a record, the references to it are counted now (an
        // Elsewhere record has counted them all along).
        uint32_t refs = 0;
        if (!old) {
            VD_TRY_ASSIGN(refs, countReferences(name));
        }
        LocationRecord rec;
        if (uint64_t(bytes.size()) < m_meta.smallThreshold) {
            VD_TRY_ASSIGN(rec, appendSlot(bytes, named.chunks.size() == 1 ? named.chunks[0] : sha256(bytes)));
        } else {
            VD_TRY_ASSIGN(rec, writeNamedBlock(classFor(uint64_t(bytes.size())), bytes, named));
        }
        return recordLocation(name, rec, refs);
    }();
    if (!st)
        return failAndReload(st);
    return true;
}

Result<uint32_t> Collection::countReferences(const Hash256 &name)
{
    // Each distinct cluster version once, over the live tree and the
    // snapshots', as the census counts.
    QSet<QByteArray> seen;
    uint64_t n = 0;
    auto visit = [&](QByteArrayView key, QByteArrayView value) -> Status {
        if (key.isEmpty() || key[0] != keys::kCluster)
            return {};
        VD_TRY_ASSIGN(const ClusterRecord c, ClusterRecord::decode(value));
        QByteArray version = key.toByteArray();
        version.append(reinterpret_cast<const char *>(&c.birth), sizeof c.birth);
        if (seen.contains(version))
            return {};
        seen.insert(version);
        for (const Piece &p : c.pieces)
            if (p.kind == Piece::Kind::Content && p.name == name)
                ++n;
        return {};
    };
    VD_TRY_ASSIGN(const auto snapshots, snapshotRecords());
    for (const auto &snapshot : snapshots)
        VD_TRY(m_catalog->walkStored(snapshot.second.root, [](const PageRef &, int) { return true; }, [&](const PageRef &, const CatalogPage &page) -> Status {
            for (size_t i = 0; i < page.count(); ++i)
                VD_TRY(visit(page.keys[i], page.values[i]));
            return {};
        }));
    Status inner;
    VD_TRY(m_catalog->scan(QByteArray(1, keys::kCluster), QByteArray(1, keys::kCluster + 1), [&](QByteArrayView key, QByteArrayView value) {
        inner = visit(key, value);
        return inner.isOk();
    }));
    VD_TRY(inner);
    return uint32_t(std::min<uint64_t>(n, UINT32_MAX));
}

Status Collection::writeRange(const Ruid &owner, uint64_t size, uint64_t offset, QByteArrayView data, StreamWritten *result)
{
    // The clusters the range touches are read, patched and written anew; the
    // others stay as they are. A short last cluster is taken along when
    // appending, so appends do not leave a trail of tiny clusters.
    if (data.size() > qsizetype(kMaxRangeWrite))
        return Status::invalidArgument(QStringLiteral("a range write is at most %1 MiB").arg(kMaxRangeWrite >> 20));
    const uint64_t end = offset + uint64_t(data.size());
    std::vector<std::pair<uint64_t, ClusterRecord>> touched;
    uint64_t lastStart = 0;
    std::optional<ClusterRecord> last;
    VD_TRY(forEachCluster(owner, [&](uint64_t start, const ClusterRecord &c) -> Status {
        const uint64_t cEnd = start + c.length();
        if (cEnd > offset && start < end)
            touched.emplace_back(start, c);
        lastStart = start;
        last = c;
        return {};
    }));
    const uint64_t lastLength = last ? last->length() : 0;
    if (last && end >= size && lastStart + lastLength == size && lastLength < BlockHeader::capacity(kClassCount - 1)
        && (touched.empty() || touched.back().first != lastStart))
        touched.emplace_back(lastStart, *last);
    const uint64_t regionStart = touched.empty() ? std::min(offset, size) : std::min(touched.front().first, offset);
    uint64_t regionEnd = std::max(end, touched.empty() ? regionStart : touched.back().first + touched.back().second.length());
    if (regionEnd - regionStart > (uint64_t(1) << 30))
        return Status::invalidArgument(QStringLiteral("a range write may not span more than 1 GiB of clusters"));
    QByteArray region(qsizetype(regionEnd - regionStart), '\0');
    for (const auto &[start, c] : touched) {
        uint64_t pos = start;
        for (const Piece &p : c.pieces) {
            if (!p.isZero()) { // the region starts as zeros
                VD_TRY_ASSIGN(const QByteArray bytes, readPiece(p));
                std::memcpy(region.data() + (pos - regionStart), bytes.constData(), size_t(bytes.size()));
            }
            pos += p.length;
        }
    }
    std::memcpy(region.data() + (offset - regionStart), data.data(), size_t(data.size()));
    m_dirty = true;
    for (const auto &[start, c] : touched) {
        VD_TRY(releaseCluster(c));
        VD_TRY(m_catalog->remove(keys::cluster(owner, start)).status());
    }
    QBuffer in(&region);
    in.open(QIODevice::ReadOnly);
    VD_TRY_ASSIGN(const StreamWritten w, writeStream(owner, regionStart, in, {}, owner.toString()));
    if (result) {
        result->bytes = std::max(size, end);
        result->clusters = w.clusters;
        result->replaced = uint32_t(touched.size());
    }
    return {};
}

Result<ObjectInfo> Collection::statObject(const QString &key)
{
    VD_TRY(checkUsable());
    VD_TRY_ASSIGN(const auto obj, findObject(key));
    if (!obj)
        return Status::notFound(QStringLiteral("no object '%1'").arg(key));
    return ObjectInfo{key, obj->objectId, obj->size, obj->createdMs, obj->modifiedMs, obj->clusterCount};
}

Result<std::vector<ObjectInfo>> Collection::listObjects()
{
    VD_TRY(checkUsable());
    std::vector<ObjectInfo> out;
    Status inner;
    VD_TRY(m_catalog->scan(QByteArray(1, keys::kObject), QByteArray(1, keys::kObject + 1), [&](QByteArrayView key, QByteArrayView value) {
        auto rec = ObjectRecord::decode(value);
        if (!rec) {
            inner = rec.status();
            return false;
        }
        out.push_back(ObjectInfo{utf8ToString(key.sliced(1)), rec->objectId, rec->size, rec->createdMs, rec->modifiedMs, rec->clusterCount});
        return true;
    }));
    VD_TRY(inner);
    return out;
}

Status Collection::removeObject(const QString &key)
{
    VD_TRY(checkWritable());
    VD_TRY_ASSIGN(const auto obj, findObject(key));
    if (!obj)
        return Status::notFound(QStringLiteral("no object '%1'").arg(key));
    beginDelete();
    m_dirty = true;
    Status st = [&]() -> Status {
        VD_TRY(removeObjectData(*obj));
        VD_TRY(m_catalog->remove(keys::object(key)).status());
        m_root.logicalBytes -= std::min(m_root.logicalBytes, obj->size);
        --m_root.objectCount;
        return {};
    }();
    if (!st)
        return failAndReload(st);
    return {};
}

// ---- reading an owner's bytes (the writer's and the pinned readers' path) --

QByteArray zeroBytes(uint32_t length)
{
    static const QByteArray full(qsizetype(Piece::kMaxZeroLength), '\0');
    if (length == Piece::kMaxZeroLength)
        return full;
    return QByteArray(qsizetype(length), '\0');
}

Status streamOwner(IdvdFile &idvd, CatalogReader &catalog, const Ruid &owner, uint64_t size, QIODevice &out, const ProgressFn &progress,
                   const QString &what, const StartReadFn &startRead)
{
    // This thread reads a data block a 1 MiB chunk at a time, in order (one
    // sequential stream for the disk), into a few buffers used over and
    // over; a worker checks each chunk against its hash while this thread
    // reads the next and writes out the oldest one checked. Disk, hashing and
    // output overlap, and the buffers stay in the processor's caches: with a
    // fresh 16 MiB buffer per block, copying into and out of it cost more
    // than the hashing (docs/PERFORMANCE.md §13).
    ReadQueue queue;
    std::vector<QByteArray> spare;
    uint64_t queued = 0;
    uint64_t written = 0;
    auto writeOldest = [&]() -> Status {
        ReadQueue::Entry e = std::move(queue.entries.front());
        queue.entries.pop_front();
        Result<QByteArray> bytes = e.bytes.takeResult();
        if (!bytes)
            return bytes.status();
        if (out.write(*bytes) != bytes->size())
            return Status::ioError(QStringLiteral("cannot write the output: %1").arg(out.errorString()));
        written += e.length;
        if (e.reuse)
            spare.push_back(std::move(bytes).value());
        if (progress && !progress(written))
            return Status::cancelled(QStringLiteral("reading '%1' was cancelled").arg(what));
        return {};
    };
    auto push = [&](QFuture<Result<QByteArray>> bytes, uint32_t length, bool reuse) -> Status {
        queue.entries.push_back({std::move(bytes), length, reuse});
        queued += length;
        if (queue.entries.size() > kReadAheadChunks)
            return writeOldest();
        return {};
    };
    VD_TRY(Collection::forEachCluster(catalog, owner, [&](uint64_t start, const ClusterRecord &c) -> Status {
        if (start != queued)
            return Status::corruption(QStringLiteral("'%1': a cluster starts at %2 where %3 was expected").arg(what).arg(start).arg(queued));
        for (const Piece &p : c.pieces) {
            VD_TRY_ASSIGN(PieceRead r, startRead(p));
            if (!r.block) {
                VD_TRY(push(std::move(r.bytes), p.length, false));
                continue;
            }
            const LocationRecord &loc = *r.block;
            idvd.adviseWillNeed(loc.extent, loc.length);
            const auto chunks = std::make_shared<const ChunkHashes>(loc.chunks);
            const QString label = QStringLiteral("content %1").arg(p.name.shortHex());
            for (uint32_t i = 0; uint64_t(i) * kChunkSize < loc.length; ++i) {
                const uint32_t length = std::min<uint32_t>(kChunkSize, loc.length - i * kChunkSize);
                QByteArray chunk;
                if (!spare.empty()) {
                    chunk = std::move(spare.back());
                    spare.pop_back();
                }
                chunk.resize(length);
                VD_TRY(idvd.read(loc.extent.offset + BlockHeader::kSize + uint64_t(i) * kChunkSize, chunk.data(), length));
                VD_TRY(push(QtConcurrent::run([chunk = std::move(chunk), i, chunks, label]() -> Result<QByteArray> {
                                VD_TRY(verifyChunks(chunk, i, *chunks, label));
                                return chunk;
                            }),
                            length, true));
            }
        }
        return {};
    }));
    while (!queue.entries.empty())
        VD_TRY(writeOldest());
    if (written != size)
        return Status::corruption(QStringLiteral("'%1' should hold %2 bytes but its clusters hold %3").arg(what).arg(size).arg(written));
    return {};
}

Status notHere(const Hash256 &name, uint32_t length)
{
    return Status::notHere(QStringLiteral("content %1 (%2 bytes) is referenced here but held by other nodes, not this one").arg(name.shortHex()).arg(length));
}

Result<LocationRecord> placedContent(const std::optional<QByteArray> &raw, const Piece &piece)
{
    if (!raw)
        return notHere(piece.name, piece.length);
    auto loc = LocationRecord::decode(*raw);
    if (!loc)
        return loc.status().withContext(QStringLiteral("content %1").arg(piece.name.shortHex()));
    if (!loc->isHere())
        return notHere(piece.name, piece.length);
    if (loc->length != piece.length)
        return Status::corruption(QStringLiteral("content %1: its location record says %2 bytes, the reference %3").arg(piece.name.shortHex()).arg(loc->length).arg(piece.length));
    return loc;
}

Status checkNamedBlock(IdvdFile &idvd, const Hash256 &name, const LocationRecord &loc)
{
    const QString where = QStringLiteral("content %1 at offset %2").arg(name.shortHex()).arg(loc.extent.offset);
    if (contentName(loc.length, loc.chunks) != name)
        return Status::corruption(QStringLiteral("%1: its chunk list does not hash to its name").arg(where));
    VD_TRY_ASSIGN(const BlockHeader header, idvd.readHeader(loc.extent));
    if (header.kind != BlockKind::Data || header.format < 2 || header.payloadHash != name || header.usedLength != loc.length)
        return Status::corruption(QStringLiteral("%1: the block's header names other content (%2 block, %3 bytes)")
                                      .arg(where, blockKindName(header.kind))
                                      .arg(header.usedLength));
    return {};
}

Result<QByteArray> readNamedBlock(IdvdFile &idvd, const Hash256 &name, const LocationRecord &loc, uint64_t from, uint64_t length)
{
    if (from >= loc.length || length == 0)
        return QByteArray();
    length = std::min<uint64_t>(length, loc.length - from);
    VD_TRY(checkNamedBlock(idvd, name, loc));
    // Only the chunks the range touches are read and verified.
    const uint32_t first = uint32_t(from / kChunkSize);
    const uint64_t start = uint64_t(first) * kChunkSize;
    const uint64_t end = std::min<uint64_t>(loc.length, (from + length + kChunkSize - 1) / kChunkSize * kChunkSize);
    QByteArray bytes(qsizetype(end - start), Qt::Uninitialized);
    VD_TRY(idvd.read(loc.extent.offset + BlockHeader::kSize + start, bytes.data(), size_t(bytes.size())));
    VD_TRY(verifyChunks(bytes, first, loc.chunks, QStringLiteral("content %1 at offset %2").arg(name.shortHex()).arg(loc.extent.offset)));
    if (start == from && uint64_t(bytes.size()) == length)
        return bytes;
    return bytes.mid(qsizetype(from - start), qsizetype(length));
}

Status checkSlotName(const Hash256 &name, const LocationRecord &loc, QByteArrayView bytes)
{
    const Hash256 actual = loc.length <= kChunkSize ? contentName(loc.length, {loc.slot.rawHash}) : nameContent(bytes).name;
    if (actual != name)
        return Status::corruption(QStringLiteral("content %1: the payload packed in SmallBlock %2 is other content").arg(name.shortHex(), loc.smallBlock.toString()));
    return {};
}

Result<QByteArray> readOwnerRange(CatalogReader &catalog, const Ruid &owner, uint64_t size, uint64_t offset, uint64_t length, const QString &what,
                                  const ReadPieceFn &readPiece)
{
    if (offset >= size || length == 0)
        return QByteArray();
    length = std::min(length, size - offset);
    if (length > (uint64_t(1) << 30))
        return Status::invalidArgument(QStringLiteral("a range read is at most 1 GiB"));
    QByteArray out;
    out.reserve(qsizetype(length));
    // The cluster holding offset is the last one starting at or before it.
    VD_TRY_ASSIGN(const auto first, catalog.floor(keys::cluster(owner, offset)));
    uint64_t from = 0;
    Ruid id;
    if (!first || !keys::parseClusterKey(first->first, &id, &from) || id != owner)
        return Status::corruption(QStringLiteral("'%1' has no cluster at offset %2").arg(what).arg(offset));
    const uint64_t end = offset + length;
    Status inner;
    VD_TRY(catalog.scan(first->first, clusterPrefixEnd(owner), [&](QByteArrayView k, QByteArrayView value) {
        uint64_t start = 0;
        keys::parseClusterKey(k, &id, &start);
        auto rec = ClusterRecord::decode(value);
        if (!rec) {
            inner = rec.status();
            return false;
        }
        uint64_t pos = start;
        for (const Piece &p : rec->pieces) {
            const uint64_t pEnd = pos + p.length;
            if (pEnd > offset && pos < end && p.isZero()) {
                out.append(qsizetype(std::min(pEnd, end) - std::max(pos, offset)), '\0');
            } else if (pEnd > offset && pos < end) {
                const uint64_t a = std::max(pos, offset) - pos;
                const uint64_t b = std::min(pEnd, end) - pos;
                auto bytes = readPiece(p, a, b - a);
                if (!bytes) {
                    inner = bytes.status();
                    return false;
                }
                if (uint64_t(bytes->size()) != b - a) {
                    inner = Status::corruption(QStringLiteral("'%1': a piece at byte %2 gave %3 bytes of %4").arg(what).arg(pos).arg(bytes->size()).arg(b - a));
                    return false;
                }
                out.append(*bytes);
            }
            pos = pEnd;
            if (pos >= end)
                return false;
        }
        return true;
    }));
    VD_TRY(inner);
    if (uint64_t(out.size()) != length)
        return Status::corruption(QStringLiteral("'%1': its clusters end before byte %2").arg(what).arg(end));
    return out;
}

} // namespace vd::storage
