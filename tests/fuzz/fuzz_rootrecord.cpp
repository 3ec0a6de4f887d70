// Fuzzes RootRecord::decode and HeadSlot::decode (the root record as kept in
// .meta, and the head slots of idvd's head block: the whole state in format
// 3, the root record alone in format 2).
//
// Input: byte 0 picks the decoder.
//   bit 0 clear: RootRecord::decode(rest).
//   bit 0 set:   HeadSlot::decode(rest, collection), collection being the
//                seed corpus's RUID, or (bit 1 set) the owner the slot names.
#include "fuzz_common.h"

#include "storage/metafile.h"

using namespace vd;
using namespace vd::storage;

namespace {

void checkRoot(const RootRecord &rec)
{
    FUZZ_CHECK(rec.openSmallBlocks.size() <= size_t(RootRecord::kMaxOpenSmallBlocks));
    const QByteArray again = rec.encode();
    FUZZ_CHECK(again.size() <= RootRecord::kMaxEncodedSize);
    auto rec2 = RootRecord::decode(again);
    FUZZ_CHECK(rec2.isOk() && *rec2 == rec);
}

void decodeHead(QByteArrayView bytes, const Ruid &collection)
{
    auto slot = HeadSlot::decode(bytes, collection);
    if (!slot)
        return;
    checkRoot(slot->state.root);
    FUZZ_CHECK(slot->state.ruid == collection && slot->state.generation == slot->state.root.generation);
    if (!slot->isComplete())
        return; // format 2 is read, never written
    const QByteArray again = HeadSlot::encode(slot->state);
    FUZZ_CHECK(again.size() <= HeadSlot::kSlotSize);
    auto slot2 = HeadSlot::decode(again, collection);
    FUZZ_CHECK(slot2.isOk() && slot2->isComplete() && HeadSlot::encode(slot2->state) == again);
}

void fuzzHead(QByteArrayView bytes, bool ownCollection)
{
    const Ruid collection = ownCollection && bytes.size() >= 24 ? Ruid::fromView(bytes.sliced(8, 16)) : fuzz::seedCollection();
    decodeHead(bytes, collection);

    // Fixed up: the checksum after the body the length field names is right.
    if (bytes.size() >= 8) {
        const qsizetype covered = 24 + qsizetype(fuzz::readU16(bytes, 6));
        if (bytes.size() >= covered + 32) {
            QByteArray fixed = bytes.toByteArray();
            fuzz::patchSha256(&fixed, covered);
            if (fixed != bytes)
                decodeHead(fixed, collection);
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView in = fuzz::view(data, size);
    if (in.isEmpty())
        return 0;
    const uint8_t mode = uint8_t(in[0]);
    const QByteArrayView rest = in.sliced(1);
    if (mode & 1) {
        fuzzHead(rest, mode & 2);
    } else {
        auto rec = RootRecord::decode(rest);
        if (rec)
            checkRoot(*rec);
    }
    return 0;
}
