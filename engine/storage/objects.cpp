// Collection: the flat object namespace and the pieces that hold its bytes.
#include "collection.h"

#include "catalog.h"
#include "catalogstore.h"
#include "idvdfile.h"
#include "smallblock.h"
#include "space.h"

#include <QBuffer>
#include <QDateTime>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <deque>
#include <optional>

namespace vd::storage {

namespace {
constexpr qsizetype kReadChunk = 1 << 20;
// Data blocks being read and verified ahead of the one being written out.
constexpr size_t kReadAhead = 3;

// One data block being written by a worker thread. The payload must stay
// untouched until wait() returns; the destructor waits too, so an early
// return never leaves a worker writing from freed memory.
class BackgroundWrite
{
public:
    ~BackgroundWrite() { (void)wait(); }
    void start(IdvdFile *idvd, const Extent &extent, const BlockHeader &header, QByteArrayView payload)
    {
        m_future = QtConcurrent::run([idvd, extent, header, payload] { return idvd->writeDataBlock(extent, header, payload); });
    }
    Status wait()
    {
        if (!m_future)
            return {};
        Status st = m_future->result();
        m_future.reset();
        return st;
    }

private:
    std::optional<QFuture<Status>> m_future;
};

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

Result<Collection::PlacedBlock> Collection::placeBlock(int sizeClass, uint32_t length, const Hash256 &hash)
{
    PlacedBlock b;
    VD_TRY_ASSIGN(b.extent, m_space->allocate(sizeClass));
    b.header.kind = BlockKind::Data;
    b.header.sizeClass = uint8_t(sizeClass);
    b.header.blockId = Ruid::generate();
    b.header.version = 1;
    b.header.usedLength = length;
    b.header.payloadHash = hash;
    b.header.generation = m_meta.generation + 1;
    BlockRecord rec;
    rec.kind = BlockKind::Data;
    rec.extent = b.extent;
    rec.length = length;
    rec.hash = hash;
    VD_TRY(m_catalog->put(keys::block(b.header.blockId, b.header.version), rec.encode()));
    b.piece.kind = Piece::Kind::Block;
    b.piece.blockId = b.header.blockId;
    b.piece.version = b.header.version;
    b.piece.sizeClass = uint8_t(sizeClass);
    b.piece.length = length;
    b.piece.hash = hash;
    return b;
}

Result<Piece> Collection::writeBlockPiece(int sizeClass, QByteArrayView payload)
{
    VD_TRY_ASSIGN(const PlacedBlock b, placeBlock(sizeClass, uint32_t(payload.size()), sha256(payload)));
    VD_TRY(m_idvd->writeDataBlock(b.extent, b.header, payload));
    return b.piece;
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

Result<QByteArray> Collection::readPiece(const Piece &piece)
{
    if (piece.kind == Piece::Kind::Slot) {
        if (const SmallBlockLog *log = openSmallLog(piece.blockId))
            return log->read(piece.slot);
    }
    const uint64_t version = piece.kind == Piece::Kind::Block ? piece.version : 0;
    VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::block(piece.blockId, version)));
    if (!raw)
        return Status::corruption(QStringLiteral("block %1 v%2 is referenced but not stored on this node").arg(piece.blockId.toString()).arg(version));
    VD_TRY_ASSIGN(const BlockRecord rec, BlockRecord::decode(*raw));
    if (piece.kind == Piece::Kind::Block) {
        if (rec.kind != BlockKind::Data || rec.extent.sizeClass != piece.sizeClass)
            return Status::corruption(QStringLiteral("block %1: its record disagrees with the reference").arg(piece.blockId.toString()));
        return m_idvd->readDataBlock(rec.extent, DataBlockExpectation{piece.blockId, piece.version, piece.length, piece.hash});
    }
    if (rec.kind != BlockKind::SmallData)
        return Status::corruption(QStringLiteral("block %1 is not a SmallBlock").arg(piece.blockId.toString()));
    SmallBlockState st = rec.small;
    st.id = piece.blockId;
    return SmallBlockLog(m_idvd.get(), BlockKind::SmallData, st).read(piece.slot);
}

Status Collection::releasePiece(const Piece &piece)
{
    if (piece.kind == Piece::Kind::Block) {
        const QByteArray key = keys::block(piece.blockId, piece.version);
        VD_TRY_ASSIGN(const auto raw, m_catalog->get(key));
        if (!raw)
            return Status::corruption(QStringLiteral("releasing block %1, which has no record").arg(piece.blockId.toString()));
        VD_TRY_ASSIGN(const BlockRecord rec, BlockRecord::decode(*raw));
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

Result<std::optional<ObjectRecord>> Collection::findObject(const QString &key)
{
    VD_TRY(validateObjectKey(key));
    VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::object(key)));
    if (!raw)
        return std::optional<ObjectRecord>();
    VD_TRY_ASSIGN(ObjectRecord rec, ObjectRecord::decode(*raw));
    return std::optional<ObjectRecord>(std::move(rec));
}

Status Collection::forEachCluster(const Ruid &objectId, const std::function<Status(uint64_t, const ClusterRecord &)> &fn)
{
    Status inner;
    VD_TRY(m_catalog->scan(keys::cluster(objectId, 0), clusterPrefixEnd(objectId), [&](QByteArrayView key, QByteArrayView value) {
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
    std::vector<std::pair<uint64_t, ClusterRecord>> clusters;
    VD_TRY(forEachCluster(obj.objectId, [&](uint64_t start, const ClusterRecord &c) {
        clusters.emplace_back(start, c);
        return Status();
    }));
    for (const auto &[start, c] : clusters) {
        for (const Piece &p : c.pieces)
            VD_TRY(releasePiece(p));
        VD_TRY(m_catalog->remove(keys::cluster(obj.objectId, start)).status());
    }
    return {};
}

Status Collection::putObject(const QString &key, QIODevice &in, const ProgressFn &progress)
{
    VD_TRY(checkWritable());
    VD_TRY(validateObjectKey(key));
    m_dirty = true;
    ObjectRecord obj;
    obj.objectId = Ruid::generate();
    obj.createdMs = obj.modifiedMs = QDateTime::currentMSecsSinceEpoch();

    ClusterRecord cluster;
    uint64_t clusterStart = 0;
    uint64_t offset = 0;
    auto addPiece = [&](const Piece &p) -> Status {
        cluster.pieces.push_back(p);
        offset += p.length;
        if (cluster.pieces.size() < m_meta.clusterMaxBlocks)
            return {};
        VD_TRY(m_catalog->put(keys::cluster(obj.objectId, clusterStart), cluster.encode()));
        ++obj.clusterCount;
        clusterStart = offset;
        cluster.pieces.clear();
        return {};
    };

    Status st = [&]() -> Status {
        // Two block buffers: while one is written to idvd by a worker thread,
        // the next block is read into the other and hashed as it arrives
        // (while its bytes are still in cache). Memory stays at two blocks.
        const qsizetype fullBlock = qsizetype(BlockHeader::capacity(kClassCount - 1));
        QByteArray buffers[2] = {QByteArray(fullBlock, Qt::Uninitialized), QByteArray(fullBlock, Qt::Uninitialized)};
        BackgroundWrite writing;
        int cur = 0;
        qsizetype filled = 0;
        Sha256 hasher;
        uint64_t done = 0;
        auto take = [&](qsizetype n) -> Status {
            hasher.add(QByteArrayView(buffers[cur]).sliced(filled, n));
            filled += n;
            done += uint64_t(n);
            if (progress && !progress(done))
                return Status::cancelled(QStringLiteral("storing '%1' was cancelled").arg(key));
            return {};
        };
        auto readInto = [&](char *dst, qsizetype max) -> Result<qsizetype> {
            const qint64 n = in.read(dst, max);
            if (n < 0)
                return Status::ioError(QStringLiteral("cannot read the input: %1").arg(in.errorString()));
            return qsizetype(n);
        };
        for (;;) {
            VD_TRY_ASSIGN(const qsizetype n, readInto(buffers[cur].data() + filled, std::min(kReadChunk, fullBlock - filled)));
            if (n == 0 && filled < fullBlock)
                break; // end of input
            VD_TRY(take(n));
            if (filled < fullBlock)
                continue;
            // A full block is written only once more bytes are known to follow
            // (else the end-of-input rules below decide). Peek into the other buffer.
            VD_TRY(writing.wait());
            const int next = 1 - cur;
            VD_TRY_ASSIGN(const qsizetype m, readInto(buffers[next].data(), kReadChunk));
            if (m == 0)
                break;
            VD_TRY_ASSIGN(const PlacedBlock b, placeBlock(kClassCount - 1, uint32_t(fullBlock), hasher.finish()));
            writing.start(m_idvd.get(), b.extent, b.header, QByteArrayView(buffers[cur]));
            VD_TRY(addPiece(b.piece));
            cur = next;
            filled = 0;
            VD_TRY(take(m));
        }
        VD_TRY(writing.wait());
        const QByteArray &buffer = buffers[cur];
        buffers[1 - cur] = QByteArray();
        // The rest goes into the largest blocks it fills, the tail into a SmallBlock.
        qsizetype pos = 0;
        for (int c = kClassCount - 1; c >= 0; --c) {
            const qsizetype cap = qsizetype(BlockHeader::capacity(c));
            while (filled - pos >= cap) {
                VD_TRY_ASSIGN(const Piece p, writeBlockPiece(c, QByteArrayView(buffer).sliced(pos, cap)));
                VD_TRY(addPiece(p));
                pos += cap;
            }
        }
        const qsizetype tail = filled - pos;
        if (tail > 0) {
            const QByteArrayView bytes = QByteArrayView(buffer).sliced(pos, tail);
            if (uint64_t(tail) < m_meta.smallThreshold) {
                VD_TRY_ASSIGN(const Piece p, writeSlotPiece(bytes));
                VD_TRY(addPiece(p));
            } else {
                VD_TRY_ASSIGN(const Piece p, writeBlockPiece(0, bytes));
                VD_TRY(addPiece(p));
            }
        }
        if (!cluster.pieces.empty()) {
            VD_TRY(m_catalog->put(keys::cluster(obj.objectId, clusterStart), cluster.encode()));
            ++obj.clusterCount;
        }
        obj.size = offset;
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
    if (piece.kind == Piece::Kind::Slot) // small: read here, it is quick
        return QtFuture::makeReadyFuture(readPiece(piece));
    // The catalog is looked up on this thread; only the read and the hash
    // check go to a worker.
    VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::block(piece.blockId, piece.version)));
    if (!raw)
        return Status::corruption(QStringLiteral("block %1 v%2 is referenced but not stored on this node").arg(piece.blockId.toString()).arg(piece.version));
    VD_TRY_ASSIGN(const BlockRecord rec, BlockRecord::decode(*raw));
    if (rec.kind != BlockKind::Data || rec.extent.sizeClass != piece.sizeClass)
        return Status::corruption(QStringLiteral("block %1: its record disagrees with the reference").arg(piece.blockId.toString()));
    const DataBlockExpectation expect{piece.blockId, piece.version, piece.length, piece.hash};
    IdvdFile *idvd = m_idvd.get();
    const Extent extent = rec.extent;
    // Workers take blocks in turn; the disk can start on this one already.
    idvd->adviseWillNeed(extent, piece.length);
    return QtConcurrent::run([idvd, extent, expect] { return idvd->readDataBlock(extent, expect); });
}

Status Collection::getObject(const QString &key, QIODevice &out, const ProgressFn &progress)
{
    VD_TRY(checkUsable());
    VD_TRY_ASSIGN(const auto obj, findObject(key));
    if (!obj)
        return Status::notFound(QStringLiteral("no object '%1'").arg(key));
    // Up to kReadAhead blocks are read and verified by worker threads while
    // the oldest one is written out: disk, hashing and output overlap.
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
            return Status::cancelled(QStringLiteral("reading '%1' was cancelled").arg(key));
        return {};
    };
    VD_TRY(forEachCluster(obj->objectId, [&](uint64_t start, const ClusterRecord &c) -> Status {
        if (start != queued)
            return Status::corruption(QStringLiteral("object '%1': a cluster starts at %2 where %3 was expected").arg(key).arg(start).arg(queued));
        for (const Piece &p : c.pieces) {
            VD_TRY_ASSIGN(auto future, startReadPiece(p));
            queue.entries.push_back({std::move(future), p.length});
            queued += p.length;
            if (queue.entries.size() > kReadAhead)
                VD_TRY(writeOldest());
        }
        return {};
    }));
    while (!queue.entries.empty())
        VD_TRY(writeOldest());
    if (written != obj->size)
        return Status::corruption(QStringLiteral("object '%1' should hold %2 bytes but its clusters hold %3").arg(key).arg(obj->size).arg(written));
    return {};
}

Result<QByteArray> Collection::readObject(const QString &key, uint64_t offset, uint64_t length)
{
    VD_TRY(checkUsable());
    VD_TRY_ASSIGN(const auto obj, findObject(key));
    if (!obj)
        return Status::notFound(QStringLiteral("no object '%1'").arg(key));
    if (offset >= obj->size || length == 0)
        return QByteArray();
    length = std::min(length, obj->size - offset);
    if (length > (uint64_t(1) << 30))
        return Status::invalidArgument(QStringLiteral("a range read is at most 1 GiB"));
    QByteArray out;
    out.reserve(qsizetype(length));
    // The cluster holding offset is the last one starting at or before it.
    VD_TRY_ASSIGN(const auto first, m_catalog->floor(keys::cluster(obj->objectId, offset)));
    uint64_t from = 0;
    Ruid id;
    if (!first || !keys::parseClusterKey(first->first, &id, &from) || id != obj->objectId)
        return Status::corruption(QStringLiteral("object '%1' has no cluster at offset %2").arg(key).arg(offset));
    const uint64_t end = offset + length;
    Status inner;
    VD_TRY(m_catalog->scan(first->first, clusterPrefixEnd(obj->objectId), [&](QByteArrayView k, QByteArrayView value) {
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
            if (pEnd > offset && pos < end) {
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
        return Status::corruption(QStringLiteral("object '%1': its clusters end before byte %2").arg(key).arg(end));
    return out;
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
        out.push_back(ObjectInfo{QString::fromUtf8(key.sliced(1)), rec->objectId, rec->size, rec->createdMs, rec->modifiedMs, rec->clusterCount});
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

} // namespace vd::storage
