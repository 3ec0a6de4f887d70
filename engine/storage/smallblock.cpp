#include "smallblock.h"

#include "formatversion.h"
#include "idvdfile.h"

#include "core/bytes.h"

#include <zstd.h>

#include <algorithm>

namespace vd::storage {

void SlotLocation::encode(QByteArray *out) const
{
    ByteWriter w(out);
    w.u32(offset);
    w.u32(storedLength);
    w.u32(rawLength);
    w.u8(uint8_t(codec));
    w.zeros(3);
    w.bytes(rawHash.view());
}

SlotLocation SlotLocation::decode(ByteReader &r)
{
    SlotLocation loc;
    loc.offset = r.u32();
    loc.storedLength = r.u32();
    loc.rawLength = r.u32();
    const uint8_t codec = r.u8();
    r.skip(3);
    loc.rawHash = Hash256::fromView(r.bytes(32));
    if (codec > uint8_t(Codec::Zstd))
        r.fail(QStringLiteral("unknown codec %1").arg(codec));
    loc.codec = Codec(codec);
    if (codec == uint8_t(Codec::Raw) && loc.storedLength != loc.rawLength)
        r.fail(QStringLiteral("a raw payload of %1 bytes is stored in %2").arg(loc.rawLength).arg(loc.storedLength));
    if (loc.rawLength > SlotLocation::kMaxRawLength || loc.storedLength > SlotLocation::kMaxRawLength)
        r.fail(QStringLiteral("a payload of %1 bytes is larger than any block").arg(std::max(loc.rawLength, loc.storedLength)));
    return loc;
}

QByteArray SmallDirectory::encode() const
{
    QByteArray out;
    out.reserve(encodedSize());
    ByteWriter w(&out);
    w.u32(kMagic);
    w.u16(kFormat);
    w.u16(0);
    w.u32(sequence);
    w.u32(prevOffset);
    w.u32(uint32_t(slots.size()));
    w.u32(0);
    for (const SlotLocation &s : slots)
        s.encode(&out);
    w.bytes(sha256(out).view());
    return out;
}

Result<SmallDirectory> SmallDirectory::decode(QByteArrayView bytes, uint32_t dirOffset, uint64_t blockSize)
{
    ByteReader r(bytes, QStringLiteral("SmallBlock directory at offset %1").arg(dirOffset));
    if (r.u32() != kMagic)
        return Status::corruption(QStringLiteral("SmallBlock directory at offset %1: bad magic").arg(dirOffset));
    const uint16_t format = r.u16();
    r.skip(2);
    SmallDirectory dir;
    dir.sequence = r.u32();
    dir.prevOffset = r.u32();
    const uint32_t count = r.u32();
    r.skip(4);
    VD_TRY(r.status());
    // Every slot takes at least its 48-byte entry, so a block holds fewer than this many.
    if (count == 0 || count > blockSize / SlotLocation::kEncodedSize)
        return Status::corruption(QStringLiteral("SmallBlock directory at offset %1: slot count %2 out of range").arg(dirOffset).arg(count));
    const qsizetype total = kFixedSize + qsizetype(count) * SlotLocation::kEncodedSize;
    if (bytes.size() < total)
        return Status::corruption(QStringLiteral("SmallBlock directory at offset %1: truncated (%2 of %3 bytes)").arg(dirOffset).arg(bytes.size()).arg(total));
    if (sha256(bytes.first(total - 32)) != Hash256::fromView(bytes.sliced(total - 32, 32)))
        return Status::corruption(QStringLiteral("SmallBlock directory at offset %1: checksum mismatch").arg(dirOffset));
    VD_TRY(checkFormat(QStringLiteral("SmallBlock directory at offset %1").arg(dirOffset), format, kFormat, kFormat));
    if (dir.sequence == 0 || (dir.sequence == 1) != (dir.prevOffset == 0) || dir.prevOffset >= dirOffset
        || (dir.prevOffset != 0 && dir.prevOffset < BlockHeader::kSize))
        return Status::corruption(QStringLiteral("SmallBlock directory at offset %1: bad batch chain (sequence %2, previous %3)")
                                      .arg(dirOffset)
                                      .arg(dir.sequence)
                                      .arg(dir.prevOffset));
    dir.slots.reserve(count);
    uint64_t prevEnd = BlockHeader::kSize;
    for (uint32_t i = 0; i < count; ++i) {
        SlotLocation loc = SlotLocation::decode(r);
        VD_TRY(r.status());
        const uint64_t end = uint64_t(loc.offset) + loc.storedLength;
        if (loc.offset < prevEnd || end > dirOffset || loc.storedLength == 0)
            return Status::corruption(QStringLiteral("SmallBlock directory at offset %1: slot %2 (%3+%4) lies outside its batch")
                                          .arg(dirOffset)
                                          .arg(i)
                                          .arg(loc.offset)
                                          .arg(loc.storedLength));
        prevEnd = end;
        dir.slots.push_back(loc);
    }
    return dir;
}

namespace {
// zstd's level 1, not its default 3: on small payloads each call's set-up
// (its match tables sized for the level) is most of the work. Measured on
// 100,000 files of 1-16 KiB (put -r, warm): level 1 stored them 0.8% smaller
// (646.8 against 652.3 MB) in 9.2 s against 11.4 s (docs/PERFORMANCE.md §13).
constexpr int kLevel = 1;

// One compression context per thread: making one per call costs more than
// compressing a few KiB.
size_t compressWithCache(char *dst, size_t dstCapacity, QByteArrayView src)
{
    struct Context
    {
        ZSTD_CCtx *cctx = ZSTD_createCCtx();
        ~Context() { ZSTD_freeCCtx(cctx); }
    };
    thread_local Context ctx;
    if (!ctx.cctx)
        return ZSTD_compress(dst, dstCapacity, src.data(), size_t(src.size()), kLevel);
    return ZSTD_compressCCtx(ctx.cctx, dst, dstCapacity, src.data(), size_t(src.size()), kLevel);
}

// A first KiB that does not compress at all says the rest will not either
// (random or already compressed bytes: photos, archives); such payloads are
// stored raw without compressing all of them first.
bool looksIncompressible(QByteArrayView raw)
{
    constexpr qsizetype kSample = 1024;
    if (raw.size() < 4 * kSample)
        return false;
    char out[ZSTD_COMPRESSBOUND(kSample)];
    const size_t n = compressWithCache(out, sizeof out, raw.first(kSample));
    return ZSTD_isError(n) || n >= size_t(kSample);
}
} // namespace

PackedPayload packPayload(QByteArrayView raw)
{
    return packPayload(raw, sha256(raw));
}

PackedPayload packPayload(QByteArrayView raw, const Hash256 &rawHash)
{
    PackedPayload p;
    p.rawLength = uint32_t(raw.size());
    p.rawHash = rawHash;
    if (raw.size() >= 64 && !looksIncompressible(raw)) {
        QByteArray out(qsizetype(ZSTD_compressBound(size_t(raw.size()))), Qt::Uninitialized);
        const size_t n = compressWithCache(out.data(), size_t(out.size()), raw);
        if (!ZSTD_isError(n) && n + size_t(raw.size()) / 32 < size_t(raw.size())) {
            out.truncate(qsizetype(n));
            p.stored = std::move(out);
            p.codec = Codec::Zstd;
            return p;
        }
    }
    p.stored = raw.toByteArray();
    p.codec = Codec::Raw;
    return p;
}

Result<QByteArray> unpackPayload(QByteArrayView stored, const SlotLocation &loc)
{
    QByteArray raw;
    if (loc.rawLength > SlotLocation::kMaxRawLength)
        return Status::corruption(QStringLiteral("a packed payload claims %1 bytes, more than any block holds").arg(loc.rawLength));
    if (loc.codec == Codec::Raw) {
        raw = stored.toByteArray();
    } else {
        // The frame must say the same size as the reference before anything is allocated.
        const unsigned long long frameSize = ZSTD_getFrameContentSize(stored.data(), size_t(stored.size()));
        if (frameSize != loc.rawLength)
            return Status::corruption(QStringLiteral("a packed payload at offset %1 is not a zstd frame of %2 bytes").arg(loc.offset).arg(loc.rawLength));
        raw = QByteArray(qsizetype(loc.rawLength), Qt::Uninitialized);
        const size_t n = ZSTD_decompress(raw.data(), size_t(raw.size()), stored.data(), size_t(stored.size()));
        if (ZSTD_isError(n) || n != loc.rawLength)
            return Status::corruption(QStringLiteral("a packed payload at offset %1 does not decompress to its %2 bytes%3")
                                          .arg(loc.offset)
                                          .arg(loc.rawLength)
                                          .arg(ZSTD_isError(n) ? QStringLiteral(" (zstd: %1)").arg(QString::fromLatin1(ZSTD_getErrorName(n))) : QString()));
    }
    if (sha256(raw) != loc.rawHash)
        return Status::corruption(QStringLiteral("a packed payload at offset %1 does not match its SHA-256").arg(loc.offset));
    return raw;
}

SmallBlockLog::SmallBlockLog(IdvdFile *idvd, BlockKind kind, SmallBlockState state)
    : m_idvd(idvd), m_kind(kind), m_state(std::move(state))
{
}

uint64_t SmallBlockLog::freeBytes() const
{
    const uint64_t dirBytes = SmallDirectory::kFixedSize + SlotLocation::kEncodedSize * m_pendingSlots.size();
    const uint64_t used = uint64_t(pendingEnd()) + dirBytes;
    return used >= m_state.extent.size() ? 0 : m_state.extent.size() - used;
}

bool SmallBlockLog::hasRoomFor(uint32_t storedLength) const
{
    return uint64_t(storedLength) + SlotLocation::kEncodedSize <= freeBytes();
}

Result<SlotLocation> SmallBlockLog::append(const PackedPayload &payload)
{
    if (!hasRoomFor(uint32_t(payload.stored.size())))
        return Status::internal(QStringLiteral("SmallBlock full: %1 bytes do not fit").arg(payload.stored.size()));
    SlotLocation loc;
    loc.offset = pendingEnd();
    loc.storedLength = uint32_t(payload.stored.size());
    loc.rawLength = payload.rawLength;
    loc.codec = payload.codec;
    loc.rawHash = payload.rawHash;
    m_pendingPayloads.push_back(payload.stored);
    m_pendingSlots.push_back(loc);
    m_pendingLength += loc.storedLength;
    m_state.liveBytes += loc.storedLength;
    ++m_state.liveSlots;
    return loc;
}

Result<QByteArray> SmallBlockLog::read(const SlotLocation &loc) const
{
    const uint64_t end = uint64_t(loc.offset) + loc.storedLength;
    if (loc.offset < BlockHeader::kSize || end > m_state.extent.size())
        return Status::corruption(QStringLiteral("a reference points outside its SmallBlock (%1+%2)").arg(loc.offset).arg(loc.storedLength));
    if (loc.offset >= m_state.writtenEnd) {
        if (end > pendingEnd())
            return Status::corruption(QStringLiteral("a reference points past the written end of its SmallBlock"));
        // The payload that starts at or before loc.offset, the last such.
        const auto it = std::upper_bound(m_pendingSlots.begin(), m_pendingSlots.end(), loc.offset,
                                         [](uint32_t offset, const SlotLocation &slot) { return offset < slot.offset; });
        if (it == m_pendingSlots.begin())
            return Status::corruption(QStringLiteral("a reference points into no payload of its SmallBlock"));
        const size_t i = size_t(it - m_pendingSlots.begin()) - 1;
        const uint64_t rel = loc.offset - m_pendingSlots[i].offset;
        if (rel + loc.storedLength > m_pendingSlots[i].storedLength)
            return Status::corruption(QStringLiteral("a reference spans two payloads of its SmallBlock"));
        return unpackPayload(QByteArrayView(m_pendingPayloads[i]).sliced(qsizetype(rel), loc.storedLength), loc);
    }
    if (end > m_state.writtenEnd)
        return Status::corruption(QStringLiteral("a reference points past the written end of its SmallBlock"));
    VD_TRY_ASSIGN(const QByteArray stored, m_idvd->read(m_state.extent.offset + loc.offset, loc.storedLength));
    return unpackPayload(stored, loc);
}

Status SmallBlockLog::flush()
{
    if (m_pendingSlots.empty())
        return {};
    SmallDirectory dir;
    dir.sequence = m_state.sequence + 1;
    dir.prevOffset = m_state.lastDirOffset;
    dir.slots = std::move(m_pendingSlots);
    m_pendingSlots.clear();
    const uint32_t dirOffset = pendingEnd();
    const QByteArray dirBytes = dir.encode();
    // The payloads and the directory after them, in one write, each from
    // where it already is: copying thousands of small payloads into one
    // buffer first cost more than the write itself.
    std::vector<QByteArrayView> parts(m_pendingPayloads.begin(), m_pendingPayloads.end());
    parts.push_back(dirBytes);
    VD_TRY(m_idvd->writeGather(m_state.extent.offset + m_state.writtenEnd, parts));
    m_state.writtenEnd = dirOffset + uint32_t(dirBytes.size());
    m_state.lastDirOffset = dirOffset;
    m_state.sequence = dir.sequence;
    m_pendingPayloads.clear();
    m_pendingLength = 0;
    return {};
}

Status SmallBlockLog::writeHeader(IdvdFile *idvd, BlockKind kind, const SmallBlockState &st, uint64_t generation)
{
    BlockHeader h;
    h.kind = kind;
    h.sizeClass = st.extent.sizeClass;
    h.blockId = st.id;
    h.generation = generation;
    return idvd->write(st.extent.offset, h.encode());
}

} // namespace vd::storage
