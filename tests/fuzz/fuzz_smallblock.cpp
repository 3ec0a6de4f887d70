// Fuzzes the SmallBlock decoders: SmallDirectory::decode and unpackPayload.
//
// Input: byte 0 picks the decoder.
//   bit 7 clear: directory. Bits 0-2 pick the block's size class (mod 5),
//                bytes 1-4 are dirOffset (little-endian), the rest is what
//                fsck reads from dirOffset to the written end of the block.
//   bit 7 set:   payload. Bytes 1-48 are an encoded SlotLocation, the rest
//                is the stored payload. rawLength is bounded to 1 MiB (the
//                decoder allocates rawLength bytes before decompressing).
#include "fuzz_common.h"

#include "core/bytes.h"
#include "storage/smallblock.h"

using namespace vd;
using namespace vd::storage;

namespace {

constexpr uint32_t kMaxRawLength = 1u << 20;

void decodeDirectory(QByteArrayView bytes, uint32_t dirOffset, uint64_t blockSize)
{
    auto dir = SmallDirectory::decode(bytes, dirOffset, blockSize);
    if (!dir)
        return;
    FUZZ_CHECK(!dir->slots.empty() && dir->sequence > 0 && dir->prevOffset < dirOffset);
    uint64_t prevEnd = BlockHeader::kSize;
    for (const SlotLocation &s : dir->slots) {
        FUZZ_CHECK(s.offset >= prevEnd && s.storedLength > 0 && uint64_t(s.offset) + s.storedLength <= dirOffset);
        FUZZ_CHECK(s.codec == Codec::Raw || s.codec == Codec::Zstd);
        prevEnd = uint64_t(s.offset) + s.storedLength;
    }
    const QByteArray again = dir->encode();
    FUZZ_CHECK(uint32_t(again.size()) == dir->encodedSize());
    auto dir2 = SmallDirectory::decode(again, dirOffset, blockSize);
    FUZZ_CHECK(dir2.isOk() && dir2->sequence == dir->sequence && dir2->prevOffset == dir->prevOffset && dir2->slots == dir->slots);
}

void fuzzDirectory(QByteArrayView in)
{
    if (in.size() < 5)
        return;
    const int sizeClass = (uint8_t(in[0]) & 7) % kClassCount;
    const uint32_t dirOffset = fuzz::readU32(in, 1);
    const QByteArrayView bytes = in.sliced(5);
    decodeDirectory(bytes, dirOffset, classSize(sizeClass));

    // Fixed up: the slot count fits the bytes, and the checksum is right.
    if (bytes.size() >= SmallDirectory::kFixedSize + SlotLocation::kEncodedSize) {
        QByteArray fixed = bytes.toByteArray();
        const uint64_t fits = uint64_t(fixed.size() - SmallDirectory::kFixedSize) / SlotLocation::kEncodedSize;
        uint32_t count = fuzz::readU32(fixed, 16);
        if (count == 0 || count > fits) {
            count = uint32_t(fits);
            fuzz::writeU32(&fixed, 16, count);
        }
        fuzz::patchSha256(&fixed, SmallDirectory::kFixedSize - 32 + qsizetype(count) * SlotLocation::kEncodedSize);
        if (fixed != bytes)
            decodeDirectory(fixed, dirOffset, classSize(sizeClass));
    }
}

void fuzzPayload(QByteArrayView in)
{
    if (in.size() < 1 + SlotLocation::kEncodedSize)
        return;
    ByteReader r(in.sliced(1, SlotLocation::kEncodedSize), QStringLiteral("slot"));
    SlotLocation loc = SlotLocation::decode(r);
    (void)r.finish();
    // A location that does not decode never reaches unpackPayload; keep going
    // anyway with what was read (codec is Raw or Zstd either way).
    loc.codec = loc.codec == Codec::Raw ? Codec::Raw : Codec::Zstd;
    if (loc.rawLength > kMaxRawLength)
        loc.rawLength %= kMaxRawLength + 1;
    const QByteArrayView stored = in.sliced(1 + SlotLocation::kEncodedSize);
    auto raw = unpackPayload(stored, loc);
    if (!raw)
        return;
    FUZZ_CHECK(sha256(*raw) == loc.rawHash);
    if (loc.codec == Codec::Zstd)
        FUZZ_CHECK(uint32_t(raw->size()) == loc.rawLength);
    else
        FUZZ_CHECK(*raw == stored);
    // What packPayload makes of it unpacks to the same bytes.
    const PackedPayload packed = packPayload(*raw);
    SlotLocation loc2;
    loc2.storedLength = uint32_t(packed.stored.size());
    loc2.rawLength = packed.rawLength;
    loc2.codec = packed.codec;
    loc2.rawHash = packed.rawHash;
    auto raw2 = unpackPayload(packed.stored, loc2);
    FUZZ_CHECK(raw2.isOk() && *raw2 == *raw);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView in = fuzz::view(data, size);
    if (in.isEmpty())
        return 0;
    if (uint8_t(in[0]) & 0x80)
        fuzzPayload(in);
    else
        fuzzDirectory(in);
    return 0;
}
