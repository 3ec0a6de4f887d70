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
#include <QDateTime>
#include <QMutex>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>

namespace vd::storage {

namespace {
constexpr qsizetype kReadChunk = 1 << 20;
// Data blocks read and being verified ahead of the one being written out.
constexpr size_t kReadAhead = 3;
// Block buffers of a put: one being filled, the others being hashed and written.
constexpr int kWriteBuffers = 3;

// Full blocks on their way to disk: a worker hashes each one and writes it.
// Results are taken in order, so pieces keep the object's order; the
// destructor waits for every worker, so an early return never leaves one
// reading a freed buffer.
struct BlockJobs
{
    struct Job
    {
        QFuture<Result<Hash256>> hash;
        Extent extent;
        Ruid blockId;
        int buffer;
        bool zeros = false; // an all-zero block: a zero piece, nothing written
    };
    std::deque<Job> jobs;
    QMutex writeLock;
    ~BlockJobs()
    {
        for (Job &j : jobs)
            j.hash.waitForFinished();
    }
};

BlockHeader dataBlockHeader(const Extent &extent, const Ruid &id, uint32_t length, const Hash256 &hash, uint64_t generation)
{
    BlockHeader h;
    h.kind = BlockKind::Data;
    h.sizeClass = extent.sizeClass;
    h.blockId = id;
    h.version = 1;
    h.usedLength = length;
    h.payloadHash = hash;
    h.generation = generation;
    return h;
}

// Pieces being fetched in order; the destructor waits for all of them.
struct ReadQueue
{
    struct Entry
    {
        QFuture<Result<QByteArray>> bytes;
        uint32_t length;
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

Result<Piece> Collection::recordBlock(const Extent &extent, const BlockHeader &header)
{
    BlockRecord rec;
    rec.kind = BlockKind::Data;
    rec.extent = extent;
    rec.length = header.usedLength;
    rec.hash = header.payloadHash;
    VD_TRY(m_catalog->put(keys::block(header.blockId, header.version), rec.encode()));
    Piece p;
    p.kind = Piece::Kind::Block;
    p.blockId = header.blockId;
    p.version = header.version;
    p.sizeClass = extent.sizeClass;
    p.length = header.usedLength;
    p.hash = header.payloadHash;
    return p;
}

Result<Piece> Collection::writeBlockPiece(int sizeClass, QByteArrayView payload)
{
    VD_TRY_ASSIGN(const Extent extent, m_space->allocate(sizeClass));
    const BlockHeader h = dataBlockHeader(extent, Ruid::generate(), uint32_t(payload.size()), sha256(payload), m_meta.generation + 1);
    VD_TRY(m_idvd->writeDataBlock(extent, h, payload));
    return recordBlock(extent, h);
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

Result<Piece> Collection::writeSlotPiece(QByteArrayView payload)
{
    const PackedPayload packed = packPayload(payload);
    VD_TRY_ASSIGN(SmallBlockLog * log, smallLogWithRoom(uint32_t(packed.stored.size())));
    VD_TRY_ASSIGN(const SlotLocation loc, log->append(packed));
    Piece p;
    p.kind = Piece::Kind::Slot;
    p.blockId = log->state().id;
    p.length = loc.rawLength;
    p.slot = loc;
    return p;
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

Result<QByteArray> Collection::readPiece(const Piece &piece)
{
    if (piece.isZero())
        return zeroBytes(piece.length);
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
    if (auto hit = m_payloads->find(piece.slot.rawHash))
        return std::move(*hit);
    Result<QByteArray> bytes = [&]() -> Result<QByteArray> {
        if (const SmallBlockLog *log = openSmallLog(piece.blockId))
            return log->read(piece.slot);
        VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::block(piece.blockId, 0)));
        if (!raw)
            return Status::corruption(QStringLiteral("block %1 v0 is referenced but not stored on this node").arg(piece.blockId.toString()));
        VD_TRY_ASSIGN(const BlockRecord rec, BlockRecord::decode(*raw));
        if (rec.kind != BlockKind::SmallData)
            return Status::corruption(QStringLiteral("block %1 is not a SmallBlock").arg(piece.blockId.toString()));
        SmallBlockState st = rec.small;
        st.id = piece.blockId;
        return SmallBlockLog(m_idvd.get(), BlockKind::SmallData, st).read(piece.slot);
    }();
    if (bytes)
        m_payloads->insert(piece.slot.rawHash, *bytes);
    return bytes;
}

Status Collection::releasePiece(const Piece &piece)
{
    if (piece.isZero())
        return {}; // nothing stored, nothing counted
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
    if (SmallBlockLog *log = openSmallLog(piece.blockId)) {
        SmallBlockState &st = log->state();
        st.liveBytes -= std::min<uint64_t>(st.liveBytes, piece.slot.storedLength);
        st.liveSlots -= std::min<uint32_t>(st.liveSlots, 1);
        return {};
    }
    const QByteArray key = keys::block(piece.blockId, 0);
    VD_TRY_ASSIGN(const auto raw, m_catalog->get(key));
    if (!raw)
        return Status::corruption(QStringLiteral("releasing a slot of SmallBlock %1, which has no record").arg(piece.blockId.toString()));
    VD_TRY_ASSIGN(BlockRecord rec, BlockRecord::decode(*raw));
    rec.small.liveBytes -= std::min<uint64_t>(rec.small.liveBytes, piece.slot.storedLength);
    rec.small.liveSlots -= std::min<uint32_t>(rec.small.liveSlots, 1);
    if (rec.small.liveSlots == 0) {
        m_space->freeLater(rec.extent);
        return m_catalog->remove(key).status();
    }
    return m_catalog->put(key, rec.encode());
}

Status Collection::addPieceRef(const Piece &piece)
{
    if (piece.isZero())
        return {};
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
                                              const QString &what, io::ZeroRuns *holes)
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
        // Three block buffers: while workers hash and write full blocks
        // (SHA-256 is most of the CPU time), this thread reads the next one.
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
        // Takes the oldest block's result: its record and its piece, in order.
        auto finishOldest = [&]() -> Status {
            BlockJobs::Job job = std::move(pipeline.jobs.front());
            pipeline.jobs.pop_front();
            const Result<Hash256> hash = job.hash.result();
            freeBuffers.push_back(job.buffer);
            if (!hash)
                return hash.status();
            if (job.zeros)
                return addPiece(Piece::zeros(uint32_t(fullBlock)));
            VD_TRY_ASSIGN(const Piece p, recordBlock(job.extent, dataBlockHeader(job.extent, job.blockId, uint32_t(fullBlock), *hash, generation)));
            return addPiece(p);
        };
        // When the input's length is known (a file, a buffer), a small one
        // is read into a buffer of its size, not a 1 MiB one grown later.
        const qint64 known = in.isSequential() ? -1 : std::max<qint64>(0, in.size() - in.pos());
        // What is buffered goes into the largest blocks it fills, the tail
        // into a SmallBlock (or, all zeros, into zero pieces): at the end of
        // the input, and where a long run of known zeros begins.
        auto writeBuffered = [&]() -> Status {
            while (!pipeline.jobs.empty())
                VD_TRY(finishOldest());
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
                    VD_TRY_ASSIGN(const Piece p, writeSlotPiece(bytes));
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
                while (!pipeline.jobs.empty())
                    VD_TRY(finishOldest());
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
            const QByteArrayView payload = QByteArrayView(buffers[size_t(cur)]).first(fullBlock);
            if (isAllZero(payload)) {
                pipeline.jobs.push_back({QtFuture::makeReadyFuture(Result<Hash256>(Hash256())), Extent(), Ruid(), cur, true});
            } else {
                VD_TRY_ASSIGN(const Extent extent, m_space->allocate(kClassCount - 1));
                const Ruid id = Ruid::generate();
                IdvdFile *idvd = m_idvd.get();
                QMutex *writeLock = &pipeline.writeLock;
                pipeline.jobs.push_back({QtConcurrent::run([idvd, extent, id, payload, generation, writeLock]() -> Result<Hash256> {
                                             const Hash256 hash = sha256(payload);
                                             // One writer at a time: concurrent writes to one file only
                                             // spin on its inode lock, burning the CPU the hashing needs.
                                             QMutexLocker locked(writeLock);
                                             VD_TRY(idvd->writeDataBlock(extent, dataBlockHeader(extent, id, uint32_t(payload.size()), hash, generation), payload));
                                             return hash;
                                         }),
                                         extent, id, cur});
            }
            cur = next;
            filled = 0;
            VD_TRY(took(m));
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

Result<QFuture<Result<QByteArray>>> Collection::startReadPiece(const Piece &piece)
{
    if (piece.kind != Piece::Kind::Block) // zeros, or small: read here, it is quick
        return QtFuture::makeReadyFuture(readPiece(piece));
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
    return QtConcurrent::run([payload = std::move(payload), extent, expect]() -> Result<QByteArray> {
        VD_TRY(IdvdFile::verifyPayload(payload, extent, expect));
        return payload;
    });
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
    return streamOwner(catalog, owner, size, out, progress, what, [this](const Piece &p) { return startReadPiece(p); });
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
    return readOwnerRange(catalog, owner, size, offset, length, what, [this](const Piece &p) { return readPiece(p); });
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

Status streamOwner(CatalogReader &catalog, const Ruid &owner, uint64_t size, QIODevice &out, const ProgressFn &progress, const QString &what,
                   const StartReadFn &startRead)
{
    // Blocks are read ahead and verified by worker threads while the oldest
    // one is written out: disk, hashing and output overlap.
    ReadQueue queue;
    uint64_t queued = 0;
    uint64_t written = 0;
    auto writeOldest = [&]() -> Status {
        ReadQueue::Entry e = std::move(queue.entries.front());
        queue.entries.pop_front();
        const Result<QByteArray> bytes = e.bytes.result();
        if (!bytes)
            return bytes.status();
        if (out.write(*bytes) != bytes->size())
            return Status::ioError(QStringLiteral("cannot write the output: %1").arg(out.errorString()));
        written += e.length;
        if (progress && !progress(written))
            return Status::cancelled(QStringLiteral("reading '%1' was cancelled").arg(what));
        return {};
    };
    VD_TRY(Collection::forEachCluster(catalog, owner, [&](uint64_t start, const ClusterRecord &c) -> Status {
        if (start != queued)
            return Status::corruption(QStringLiteral("'%1': a cluster starts at %2 where %3 was expected").arg(what).arg(start).arg(queued));
        for (const Piece &p : c.pieces) {
            VD_TRY_ASSIGN(auto future, startRead(p));
            queue.entries.push_back({std::move(future), p.length});
            queued += p.length;
            if (queue.entries.size() > kReadAhead)
                VD_TRY(writeOldest());
        }
        return {};
    }));
    while (!queue.entries.empty())
        VD_TRY(writeOldest());
    if (written != size)
        return Status::corruption(QStringLiteral("'%1' should hold %2 bytes but its clusters hold %3").arg(what).arg(size).arg(written));
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
                auto bytes = readPiece(p);
                if (!bytes) {
                    inner = bytes.status();
                    return false;
                }
                const uint64_t a = std::max(pos, offset) - pos;
                const uint64_t b = std::min(pEnd, end) - pos;
                out.append(QByteArrayView(*bytes).sliced(qsizetype(a), qsizetype(b - a)));
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
