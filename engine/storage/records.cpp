#include "records.h"
#include "core/utf8.h"

#include "blockheader.h"

#include "core/bytes.h"

namespace vd::storage {

namespace keys {

QByteArray make(char tag, QByteArrayView part)
{
    QByteArray k;
    k.reserve(1 + part.size());
    k.append(tag);
    k.append(part);
    return k;
}

QByteArray make(char tag, QByteArrayView part, uint64_t number)
{
    QByteArray k;
    k.reserve(1 + part.size() + 8);
    k.append(tag);
    k.append(part);
    for (int i = 7; i >= 0; --i)
        k.append(char(uint8_t(number >> (8 * i))));
    return k;
}

uint64_t readBigEndian(QByteArrayView v)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; ++i)
        x = (x << 8) | uint8_t(v[i]);
    return x;
}

QByteArray block(const Ruid &id, uint64_t version) { return make(kBlock, id.view(), version); }
QByteArray object(const QString &key) { return make(kObject, key.toUtf8()); }
QByteArray cluster(const Ruid &objectId, uint64_t start) { return make(kCluster, objectId.view(), start); }
QByteArray snapshot(const QString &name) { return make(kSnapshot, name.toUtf8()); }
QByteArray location(const Hash256 &name) { return make(kLocation, name.view()); }

bool parseLocationKey(QByteArrayView key, Hash256 *name)
{
    if (key.size() != 33 || key[0] != kLocation)
        return false;
    *name = Hash256::fromView(key.sliced(1));
    return true;
}

bool parseBlockKey(QByteArrayView key, Ruid *id, uint64_t *version)
{
    if (key.size() != 25 || key[0] != kBlock)
        return false;
    *id = Ruid::fromView(key.sliced(1, 16));
    *version = readBigEndian(key.sliced(17, 8));
    return true;
}

bool parseClusterKey(QByteArrayView key, Ruid *objectId, uint64_t *start)
{
    if (key.size() != 25 || key[0] != kCluster)
        return false;
    *objectId = Ruid::fromView(key.sliced(1, 16));
    *start = readBigEndian(key.sliced(17, 8));
    return true;
}

} // namespace keys

QByteArray BlockRecord::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(uint8_t(kind));
    w.u64(extent.offset | extent.sizeClass);
    if (kind == BlockKind::Data) {
        w.u32(length);
        w.bytes(hash.view());
        w.u32(refs);
    } else {
        w.u32(small.writtenEnd);
        w.u32(small.lastDirOffset);
        w.u32(small.sequence);
        w.u64(small.liveBytes);
        w.u32(small.liveSlots);
    }
    return out;
}

Result<BlockRecord> BlockRecord::decode(QByteArrayView raw)
{
    ByteReader r(raw, QStringLiteral("block record"));
    BlockRecord b;
    const uint8_t kind = r.u8();
    const uint64_t v = r.u64();
    b.extent = Extent{v & ~uint64_t(0xff), uint8_t(v & 0xff)};
    if (kind == uint8_t(BlockKind::Data)) {
        b.kind = BlockKind::Data;
        b.length = r.u32();
        b.hash = Hash256::fromView(r.bytes(32));
        b.refs = r.u32();
        if (r.ok() && b.refs == 0)
            r.fail(QStringLiteral("a data block with no reference"));
    } else if (kind == uint8_t(BlockKind::SmallData)) {
        b.kind = BlockKind::SmallData;
        b.small.extent = b.extent;
        b.small.writtenEnd = r.u32();
        b.small.lastDirOffset = r.u32();
        b.small.sequence = r.u32();
        b.small.liveBytes = r.u64();
        b.small.liveSlots = r.u32();
    } else {
        r.fail(QStringLiteral("kind %1 is not a data kind").arg(kind));
    }
    VD_TRY(r.finish());
    if (!b.extent.isValid() || b.extent.offset < kSlotSize)
        return Status::corruption(QStringLiteral("block record: extent %1 class %2 is not a block").arg(b.extent.offset).arg(b.extent.sizeClass));
    if (b.kind == BlockKind::Data && b.length > BlockHeader::capacity(b.extent.sizeClass))
        return Status::corruption(QStringLiteral("block record: %1 bytes do not fit its class").arg(b.length));
    if (b.kind == BlockKind::SmallData
        && (b.small.writtenEnd < BlockHeader::kSize || b.small.writtenEnd > b.extent.size() || b.small.lastDirOffset >= b.small.writtenEnd))
        return Status::corruption(QStringLiteral("block record: SmallBlock cursor out of range"));
    return b;
}

QByteArray LocationRecord::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(1); // record version
    w.u8(uint8_t(placement));
    w.u32(length);
    w.u32(refs);
    if (placement == Placement::Block) {
        w.u64(extent.offset | extent.sizeClass);
        w.u8(uint8_t(chunks.size()));
        for (const Hash256 &h : chunks)
            w.bytes(h.view());
    } else if (placement == Placement::Slot) {
        w.bytes(smallBlock.view());
        slot.encode(&out);
    }
    return out;
}

Result<LocationRecord> LocationRecord::decode(QByteArrayView raw)
{
    ByteReader r(raw, QStringLiteral("location record"));
    LocationRecord l;
    r.format(1, 1);
    const uint8_t placement = r.u8();
    l.length = r.u32();
    l.refs = r.u32();
    if (r.ok() && (l.length == 0 || l.length > Piece::kMaxZeroLength))
        r.fail(QStringLiteral("%1 bytes of content").arg(l.length));
    if (placement == uint8_t(Placement::Elsewhere)) {
        l.placement = Placement::Elsewhere;
    } else if (placement == uint8_t(Placement::Block)) {
        l.placement = Placement::Block;
        const uint64_t v = r.u64();
        l.extent = Extent{v & ~uint64_t(0xff), uint8_t(v & 0xff)};
        const uint8_t n = r.u8();
        if (r.ok() && n != chunkCount(l.length))
            r.fail(QStringLiteral("%1 chunk hashes for %2 bytes").arg(n).arg(l.length));
        for (uint8_t i = 0; i < n && r.ok(); ++i)
            l.chunks.push_back(Hash256::fromView(r.bytes(32)));
        if (r.ok() && (!l.extent.isValid() || l.extent.offset < kSlotSize || l.length > BlockHeader::capacity(l.extent.sizeClass)))
            r.fail(QStringLiteral("%1 bytes in the block at %2 class %3").arg(l.length).arg(l.extent.offset).arg(l.extent.sizeClass));
    } else if (placement == uint8_t(Placement::Slot)) {
        l.placement = Placement::Slot;
        l.smallBlock = Ruid::fromView(r.bytes(16));
        l.slot = SlotLocation::decode(r);
        if (r.ok() && l.slot.rawLength != l.length)
            r.fail(QStringLiteral("a slot of %1 bytes for %2 bytes of content").arg(l.slot.rawLength).arg(l.length));
    } else {
        r.fail(QStringLiteral("unknown placement %1").arg(placement));
    }
    VD_TRY(r.finish());
    return l;
}

QByteArray ObjectRecord::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(1); // record version
    w.bytes(objectId.view());
    w.u64(size);
    w.u64(uint64_t(createdMs));
    w.u64(uint64_t(modifiedMs));
    w.u32(clusterCount);
    return out;
}

Result<ObjectRecord> ObjectRecord::decode(QByteArrayView raw)
{
    ByteReader r(raw, QStringLiteral("object record"));
    ObjectRecord o;
    r.format(1, 1);
    o.objectId = Ruid::fromView(r.bytes(16));
    o.size = r.u64();
    o.createdMs = int64_t(r.u64());
    o.modifiedMs = int64_t(r.u64());
    o.clusterCount = r.u32();
    VD_TRY(r.finish());
    if (o.objectId.isNull())
        return Status::corruption(QStringLiteral("object record: null id"));
    return o;
}

uint64_t ClusterRecord::length() const
{
    uint64_t n = 0;
    for (const Piece &p : pieces)
        n += p.length;
    return n;
}

QByteArray ClusterRecord::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(uint8_t(pieces.size()));
    w.u64(birth);
    for (const Piece &p : pieces) {
        w.u8(uint8_t(p.kind));
        if (p.kind == Piece::Kind::Zero) {
            w.u32(p.length);
            continue;
        }
        if (p.kind == Piece::Kind::Content) {
            w.bytes(p.name.view());
            w.u32(p.length);
            continue;
        }
        w.bytes(p.blockId.view());
        if (p.kind == Piece::Kind::Block) {
            w.u64(p.version);
            w.u8(p.sizeClass);
            w.u32(p.length);
            w.bytes(p.hash.view());
        } else {
            p.slot.encode(&out);
        }
    }
    return out;
}

Result<ClusterRecord> ClusterRecord::decode(QByteArrayView raw)
{
    ByteReader r(raw, QStringLiteral("cluster record"));
    ClusterRecord c;
    const uint8_t count = r.u8();
    if (count == 0 || count > kMaxPieces)
        r.fail(QStringLiteral("%1 pieces").arg(count));
    c.birth = r.u64();
    for (uint8_t i = 0; i < count && r.ok(); ++i) {
        Piece p;
        const uint8_t kind = r.u8();
        if (kind == uint8_t(Piece::Kind::Zero)) {
            p = Piece::zeros(r.u32());
            if (r.ok() && (p.length == 0 || p.length > Piece::kMaxZeroLength))
                r.fail(QStringLiteral("piece %1: a run of %2 zeros").arg(i).arg(p.length));
            c.pieces.push_back(p);
            continue;
        }
        if (kind == uint8_t(Piece::Kind::Content)) {
            const Hash256 name = Hash256::fromView(r.bytes(32));
            p = Piece::content(name, r.u32());
            if (r.ok() && (p.length == 0 || p.length > Piece::kMaxZeroLength))
                r.fail(QStringLiteral("piece %1: %2 bytes of content").arg(i).arg(p.length));
            c.pieces.push_back(p);
            continue;
        }
        p.blockId = Ruid::fromView(r.bytes(16));
        if (kind == uint8_t(Piece::Kind::Block)) {
            p.kind = Piece::Kind::Block;
            p.version = r.u64();
            p.sizeClass = r.u8();
            p.length = r.u32();
            p.hash = Hash256::fromView(r.bytes(32));
            if (r.ok() && (!isValidClass(p.sizeClass) || p.length == 0 || p.length > BlockHeader::capacity(p.sizeClass)))
                r.fail(QStringLiteral("piece %1: %2 bytes in class %3").arg(i).arg(p.length).arg(p.sizeClass));
        } else if (kind == uint8_t(Piece::Kind::Slot)) {
            p.kind = Piece::Kind::Slot;
            p.slot = SlotLocation::decode(r);
            p.length = p.slot.rawLength;
            if (r.ok() && p.length == 0)
                r.fail(QStringLiteral("piece %1: empty slot").arg(i));
        } else {
            r.fail(QStringLiteral("piece %1: unknown kind %2").arg(i).arg(kind));
        }
        c.pieces.push_back(p);
    }
    VD_TRY(r.finish());
    return c;
}

QByteArray SnapshotRecord::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(1);
    root.encode(&out);
    w.u64(generation);
    w.u64(uint64_t(createdMs));
    w.u64(vnodes);
    w.u64(fileBytes);
    return out;
}

Result<SnapshotRecord> SnapshotRecord::decode(QByteArrayView raw)
{
    ByteReader r(raw, QStringLiteral("snapshot record"));
    SnapshotRecord s;
    r.format(1, 1);
    s.root = PageRef::decode(r);
    s.generation = r.u64();
    s.createdMs = int64_t(r.u64());
    s.vnodes = r.u64();
    s.fileBytes = r.u64();
    VD_TRY(r.finish());
    if (s.generation == 0)
        return Status::corruption(QStringLiteral("snapshot record: generation 0"));
    return s;
}

Status validateObjectKey(const QString &key)
{
    const QByteArray utf8 = key.toUtf8();
    if (utf8.isEmpty())
        return Status::invalidArgument(QStringLiteral("an object key cannot be empty"));
    if (utf8.size() > ObjectRecord::kMaxKeyBytes)
        return Status::invalidArgument(QStringLiteral("an object key is at most %1 bytes of UTF-8 (this one is %2)").arg(ObjectRecord::kMaxKeyBytes).arg(utf8.size()));
    if (utf8.contains('\0'))
        return Status::invalidArgument(QStringLiteral("an object key cannot contain NUL"));
    if (utf8ToString(utf8) != key)
        return Status::invalidArgument(QStringLiteral("an object key must be valid Unicode (no lone surrogates)"));
    return {};
}

} // namespace vd::storage
