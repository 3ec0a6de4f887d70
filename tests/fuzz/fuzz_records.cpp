// Fuzzes the catalog's record decoders of the storage keyspaces:
// BlockRecord, ObjectRecord, ClusterRecord and SnapshotRecord. Byte 0 (mod 4)
// picks the decoder; the rest is the value.
#include "fuzz_common.h"

#include "storage/records.h"

using namespace vd;
using namespace vd::storage;

namespace {

void fuzzBlock(QByteArrayView raw)
{
    auto rec = BlockRecord::decode(raw);
    if (!rec)
        return;
    FUZZ_CHECK(rec->extent.isValid() && (rec->kind == BlockKind::Data || rec->kind == BlockKind::SmallData));
    const QByteArray again = rec->encode();
    auto rec2 = BlockRecord::decode(again);
    FUZZ_CHECK(rec2.isOk() && rec2->encode() == again);
}

void fuzzObject(QByteArrayView raw)
{
    auto rec = ObjectRecord::decode(raw);
    if (!rec)
        return;
    FUZZ_CHECK(!rec->objectId.isNull());
    const QByteArray again = rec->encode();
    FUZZ_CHECK(again == raw); // the format has no slack
    auto rec2 = ObjectRecord::decode(again);
    FUZZ_CHECK(rec2.isOk() && rec2->encode() == again);
}

void fuzzCluster(QByteArrayView raw)
{
    auto rec = ClusterRecord::decode(raw);
    if (!rec)
        return;
    FUZZ_CHECK(!rec->pieces.empty() && rec->pieces.size() <= size_t(ClusterRecord::kMaxPieces));
    for (const Piece &p : rec->pieces)
        FUZZ_CHECK(p.length > 0);
    (void)rec->length();
    const QByteArray again = rec->encode();
    auto rec2 = ClusterRecord::decode(again);
    FUZZ_CHECK(rec2.isOk() && rec2->birth == rec->birth && rec2->pieces.size() == rec->pieces.size() && rec2->encode() == again);
}

void fuzzSnapshot(QByteArrayView raw)
{
    auto rec = SnapshotRecord::decode(raw);
    if (!rec)
        return;
    FUZZ_CHECK(rec->generation > 0);
    // The slot's reserved bytes are skipped, not checked, so the re-encoding
    // may differ from the input; from then on it must be stable.
    const QByteArray again = rec->encode();
    FUZZ_CHECK(again.size() == raw.size());
    auto rec2 = SnapshotRecord::decode(again);
    FUZZ_CHECK(rec2.isOk() && rec2->encode() == again);
    FUZZ_CHECK(rec2->root == rec->root && rec2->generation == rec->generation && rec2->createdMs == rec->createdMs
               && rec2->vnodes == rec->vnodes && rec2->fileBytes == rec->fileBytes);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView in = fuzz::view(data, size);
    if (in.isEmpty())
        return 0;
    const QByteArrayView rest = in.sliced(1);
    switch (uint8_t(in[0]) % 4) {
    case 0: fuzzBlock(rest); break;
    case 1: fuzzObject(rest); break;
    case 2: fuzzCluster(rest); break;
    default: fuzzSnapshot(rest); break;
    }
    return 0;
}
