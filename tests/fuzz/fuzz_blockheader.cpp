// Fuzzes BlockHeader::decode, the 128-byte header of every block in idvd.
#include "fuzz_common.h"

#include "storage/blockheader.h"

using namespace vd;
using namespace vd::storage;

namespace {

void decodeOne(QByteArrayView bytes)
{
    auto h = BlockHeader::decode(bytes);
    if (!h)
        return;
    FUZZ_CHECK(isValidBlockKind(uint8_t(h->kind)) && isValidClass(h->sizeClass));
    FUZZ_CHECK(h->usedLength <= BlockHeader::capacity(h->sizeClass));
    const QByteArray again = h->encode();
    FUZZ_CHECK(again.size() == BlockHeader::kSize);
    auto h2 = BlockHeader::decode(again);
    FUZZ_CHECK(h2.isOk() && h2->encode() == again);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView in = fuzz::view(data, size);
    decodeOne(in);

    // Fixed up: exactly one header long, with a valid checksum.
    QByteArray fixed = in.toByteArray();
    fixed.resize(BlockHeader::kSize, '\0');
    fuzz::patchSha256(&fixed, BlockHeader::kSize - 32);
    if (fixed != in)
        decodeOne(fixed);
    return 0;
}
