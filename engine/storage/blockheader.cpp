#include "blockheader.h"

#include "formatversion.h"

#include "core/bytes.h"

namespace vd::storage {

bool isValidBlockKind(uint8_t kind) { return kind >= 1 && kind <= 4; }

QString blockKindName(BlockKind kind)
{
    switch (kind) {
    case BlockKind::Head: return QStringLiteral("head");
    case BlockKind::Data: return QStringLiteral("data");
    case BlockKind::SmallData: return QStringLiteral("small");
    case BlockKind::CatalogLog: return QStringLiteral("catalog");
    }
    return QStringLiteral("unknown");
}

QByteArray BlockHeader::encode() const
{
    QByteArray out;
    out.reserve(kSize);
    ByteWriter w(&out);
    w.u32(kMagic);
    w.u16(kFormat);
    w.u8(uint8_t(kind));
    w.u8(sizeClass);
    w.bytes(blockId.view());
    w.u64(version);
    w.u32(usedLength);
    w.u32(0);
    w.bytes(payloadHash.view());
    w.u64(generation);
    w.zeros(kSize - 32 - out.size());
    w.bytes(sha256(out).view());
    return out;
}

Result<BlockHeader> BlockHeader::decode(QByteArrayView bytes)
{
    ByteReader r(bytes, QStringLiteral("block header"));
    if (bytes.size() != kSize)
        return Status::corruption(QStringLiteral("block header: %1 bytes instead of %2").arg(bytes.size()).arg(kSize));
    if (r.u32() != kMagic)
        return Status::corruption(QStringLiteral("block header: bad magic (not a vdrive block)"));
    const uint16_t format = r.u16();
    // The checksum first: a flipped bit in the format field is damage, not a version.
    if (sha256(bytes.first(kSize - 32)) != Hash256::fromView(bytes.last(32)))
        return Status::corruption(QStringLiteral("block header: checksum mismatch"));
    VD_TRY(checkFormat(QStringLiteral("block header"), format, kOldestFormat, kFormat));
    BlockHeader h;
    h.format = format;
    const uint8_t kind = r.u8();
    if (!isValidBlockKind(kind))
        return Status::corruption(QStringLiteral("block header: unknown kind %1").arg(kind));
    h.kind = BlockKind(kind);
    h.sizeClass = r.u8();
    if (!isValidClass(h.sizeClass))
        return Status::corruption(QStringLiteral("block header: size class %1 out of range").arg(h.sizeClass));
    h.blockId = Ruid::fromView(r.bytes(16));
    h.version = r.u64();
    h.usedLength = r.u32();
    r.skip(4);
    h.payloadHash = Hash256::fromView(r.bytes(32));
    h.generation = r.u64();
    VD_TRY(r.status());
    if (h.usedLength > capacity(h.sizeClass))
        return Status::corruption(QStringLiteral("block header: used length %1 exceeds the capacity %2 of its class")
                                      .arg(h.usedLength)
                                      .arg(capacity(h.sizeClass)));
    return h;
}

} // namespace vd::storage
