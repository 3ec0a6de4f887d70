// Fuzzes the catalog's record decoders: BlockRecord, ObjectRecord and
// ClusterRecord. Byte 0 (mod 3) picks the decoder; the rest is the value.
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
    FUZZ_CHECK(rec2.isOk() && rec2->pieces.size() == rec->pieces.size() && rec2->encode() == again);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView in = fuzz::view(data, size);
    if (in.isEmpty())
        return 0;
    const QByteArrayView rest = in.sliced(1);
    switch (uint8_t(in[0]) % 3) {
    case 0: fuzzBlock(rest); break;
    case 1: fuzzObject(rest); break;
    default: fuzzCluster(rest); break;
    }
    return 0;
}
