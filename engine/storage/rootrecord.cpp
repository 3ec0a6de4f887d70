#include "rootrecord.h"

#include "core/bytes.h"

namespace vd::storage {

void PageRef::encode(QByteArray *out) const
{
    ByteWriter w(out);
    w.u64(blockOffset | uint64_t(blockClass)); // the class rides in the low bits: offsets are 1 MiB aligned
    w.u64(birth);
    slot.encode(out);
}

PageRef PageRef::decode(ByteReader &r)
{
    PageRef p;
    const uint64_t v = r.u64();
    p.blockOffset = v & ~uint64_t(0xff);
    p.blockClass = uint8_t(v & 0xff);
    p.birth = r.u64();
    p.slot = SlotLocation::decode(r);
    if (!p.isNull()) {
        const Extent e{p.blockOffset, p.blockClass};
        if (!e.isValid() || p.blockOffset < kSlotSize)
            r.fail(QStringLiteral("page reference to offset %1 class %2 is not a block").arg(p.blockOffset).arg(p.blockClass));
        else if (uint64_t(p.slot.offset) + p.slot.storedLength > e.size() || p.slot.offset < BlockHeader::kSize)
            r.fail(QStringLiteral("page reference points outside its block"));
    }
    return p;
}

QByteArray RootRecord::encode(bool withTail) const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u64(generation);
    catalogRoot.encode(&out);
    segmentTable.encode(&out);
    w.u64(openSegmentOffset);
    w.u8(openSegmentClass);
    w.u32(openSegmentEnd);
    w.u32(openSegmentLastDir);
    w.u32(openSegmentSequence);
    w.u8(uint8_t(openSmallBlocks.size()));
    for (const Ruid &id : openSmallBlocks)
        w.bytes(id.view());
    w.u64(objectCount);
    w.u64(logicalBytes);
    w.bytes(origin.view());
    w.u64(versionCounter);
    w.u64(pinnedThrough);
    w.u64(snapshotCount);
    w.u64(nextChange);
    w.u64(firstChange);
    w.u64(vnodeCount);
    w.u64(fileBytes);
    if (!withTail)
        return out;
    w.u16(catalogFormat);
    w.u8(uint8_t(reserve.size()));
    for (const Extent &e : reserve)
        w.u64(e.offset | e.sizeClass);
    return out;
}

Result<RootRecord> RootRecord::decode(QByteArrayView bytes, bool withTail)
{
    ByteReader r(bytes, QStringLiteral("root record"));
    RootRecord rec;
    rec.generation = r.u64();
    rec.catalogRoot = PageRef::decode(r);
    rec.segmentTable = PageRef::decode(r);
    rec.openSegmentOffset = r.u64();
    rec.openSegmentClass = r.u8();
    rec.openSegmentEnd = r.u32();
    rec.openSegmentLastDir = r.u32();
    rec.openSegmentSequence = r.u32();
    const uint8_t open = r.u8();
    if (open > kMaxOpenSmallBlocks)
        r.fail(QStringLiteral("%1 open SmallBlocks, at most %2 allowed").arg(open).arg(kMaxOpenSmallBlocks));
    for (uint8_t i = 0; i < open && r.ok(); ++i)
        rec.openSmallBlocks.push_back(Ruid::fromView(r.bytes(16)));
    rec.objectCount = r.u64();
    rec.logicalBytes = r.u64();
    rec.origin = Ruid::fromView(r.bytes(16));
    rec.versionCounter = r.u64();
    rec.pinnedThrough = r.u64();
    rec.snapshotCount = r.u64();
    rec.nextChange = r.u64();
    rec.firstChange = r.u64();
    rec.vnodeCount = r.u64();
    rec.fileBytes = r.u64();
    rec.catalogFormat = 1;
    if (withTail) {
        rec.catalogFormat = r.u16();
        const uint8_t reserved = r.u8();
        if (reserved > kMaxReserveBlocks)
            r.fail(QStringLiteral("%1 reserve blocks, at most %2 allowed").arg(reserved).arg(kMaxReserveBlocks));
        for (uint8_t i = 0; i < reserved && r.ok(); ++i) {
            const uint64_t v = r.u64();
            const Extent e{v & ~uint64_t(0xff), uint8_t(v & 0xff)};
            if (r.ok() && (!e.isValid() || e.offset < kSlotSize))
                r.fail(QStringLiteral("reserve block %1 at offset %2 class %3 is not a block").arg(i).arg(e.offset).arg(e.sizeClass));
            rec.reserve.push_back(e);
        }
    }
    VD_TRY(r.finish());
    if (rec.catalogFormat == 0)
        return Status::corruption(QStringLiteral("root record: catalog format 0"));
    if (rec.catalogFormat > kCatalogFormat)
        return Status::versionMismatch(QStringLiteral("the catalog is format %1; this build of vdrive reads formats 1 to %2 (a newer vdrive wrote it)")
                                           .arg(rec.catalogFormat)
                                           .arg(kCatalogFormat));
    if (rec.pinnedThrough > rec.generation || rec.firstChange > rec.nextChange || rec.firstChange == 0)
        return Status::corruption(QStringLiteral("root record: tree counters out of range"));
    if (rec.openSegmentOffset != 0) {
        const Extent e{rec.openSegmentOffset, rec.openSegmentClass};
        if (!e.isValid() || rec.openSegmentOffset < kSlotSize || rec.openSegmentEnd < BlockHeader::kSize
            || rec.openSegmentEnd > e.size() || rec.openSegmentLastDir >= rec.openSegmentEnd)
            return Status::corruption(QStringLiteral("root record: the open catalog block is out of range"));
    }
    return rec;
}

} // namespace vd::storage
