#include "bitmapfile.h"

#include "formatversion.h"

#include "core/bytes.h"

#include <algorithm>

namespace vd::storage {

QByteArray BitmapCopy::encode() const
{
    QByteArray out;
    out.reserve(kFixedSize + 4 * qsizetype(words.size()));
    ByteWriter w(&out);
    w.u32(kMagic);
    w.u16(kFormat);
    w.u16(0);
    w.u64(generation);
    w.u32(uint32_t(words.size()));
    w.u32(0);
    for (uint32_t word : words)
        w.u32(word);
    w.bytes(sha256(out).view());
    return out;
}

Result<BitmapCopy> BitmapCopy::decode(QByteArrayView bytes)
{
    ByteReader r(bytes, QStringLiteral(".bitmap copy"));
    if (r.u32() != kMagic)
        return Status::corruption(QStringLiteral(".bitmap copy: bad magic"));
    const uint16_t format = r.u16();
    r.skip(2);
    BitmapCopy c;
    c.generation = r.u64();
    const uint32_t units = r.u32();
    r.skip(4);
    VD_TRY(r.status());
    if (units == 0 || units > kMaxUnits)
        return Status::corruption(QStringLiteral(".bitmap copy: %1 units out of range").arg(units));
    if (bytes.size() != kFixedSize + 4 * qsizetype(units))
        return Status::corruption(QStringLiteral(".bitmap copy: %1 bytes for %2 units").arg(bytes.size()).arg(units));
    if (sha256(bytes.first(bytes.size() - 32)) != Hash256::fromView(bytes.last(32)))
        return Status::corruption(QStringLiteral(".bitmap copy: checksum mismatch"));
    VD_TRY(checkFormat(QStringLiteral(".bitmap copy"), format, kFormat, kFormat));
    c.words.resize(units);
    for (uint32_t &word : c.words)
        word = r.u32();
    VD_TRY(r.status());
    return c;
}

uint64_t nextBitmapOffset(const BitmapLocation &committed, uint32_t newLength)
{
    if (committed.length == 0 || newLength <= committed.offset)
        return 0;
    const uint64_t end = committed.offset + committed.length;
    return (end + 4095) & ~uint64_t(4095);
}

Result<BlockAllocator> readBitmap(io::File &file, const Meta &meta)
{
    const BitmapLocation &loc = meta.bitmap;
    if (loc.length < BitmapCopy::kFixedSize)
        return Status::corruption(QStringLiteral(".meta points at a .bitmap copy of %1 bytes").arg(loc.length));
    QByteArray raw(qsizetype(loc.length), Qt::Uninitialized);
    VD_TRY(file.read(loc.offset, raw.data(), loc.length).withContext(QStringLiteral(".bitmap")));
    auto copy = BitmapCopy::decode(raw);
    if (!copy)
        return copy.status();
    if (Hash256::fromView(QByteArrayView(raw).last(32)) != loc.hash)
        return Status::corruption(QStringLiteral(".bitmap copy at offset %1 is not the one .meta committed").arg(loc.offset));
    if (copy->generation != meta.generation || copy->words.size() != meta.units)
        return Status::corruption(QStringLiteral(".bitmap copy is of generation %1 with %2 units; .meta says %3 and %4")
                                      .arg(copy->generation)
                                      .arg(copy->words.size())
                                      .arg(meta.generation)
                                      .arg(meta.units));
    auto alloc = BlockAllocator::fromWords(copy->words);
    if (!alloc)
        return alloc.status().withContext(QStringLiteral(".bitmap"));
    return alloc;
}

PreparedBitmap prepareBitmap(const BitmapLocation &committed, uint64_t generation, const BlockAllocator &alloc)
{
    BitmapCopy copy;
    copy.generation = generation;
    copy.words = alloc.words();
    PreparedBitmap out;
    out.bytes = copy.encode();
    out.location.length = uint32_t(out.bytes.size());
    out.location.offset = nextBitmapOffset(committed, out.location.length);
    out.location.hash = Hash256::fromView(QByteArrayView(out.bytes).last(32));
    return out;
}

Status writePreparedBitmap(io::File &file, const PreparedBitmap &bitmap, bool requireNextRoom)
{
    // The disk space of this copy and of where the next one of the same
    // size goes is taken now: a commit that does not grow idvd (a delete on
    // a full disk) then writes only where space is already allocated.
    const BitmapLocation &loc = bitmap.location;
    const uint64_t end = loc.offset + loc.length;
    const uint64_t nextEnd = std::max(end, nextBitmapOffset(loc, loc.length) + loc.length);
    Status room = file.allocate(0, nextEnd);
    if (!room && !requireNextRoom && room.code() == ErrorCode::NoSpace)
        room = file.allocate(0, end);
    VD_TRY(room);
    return file.write(loc.offset, bitmap.bytes);
}

} // namespace vd::storage
