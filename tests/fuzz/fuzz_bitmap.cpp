// Fuzzes BitmapCopy::decode (a .bitmap copy) and, for what it accepts,
// BlockAllocator::fromWords; an allocator built from words it accepted must
// pass its own invariant check.
#include "fuzz_common.h"

#include "storage/bitmapfile.h"

using namespace vd;
using namespace vd::storage;

namespace {

void decodeOne(QByteArrayView bytes)
{
    auto copy = BitmapCopy::decode(bytes);
    if (!copy)
        return;
    FUZZ_CHECK(!copy->words.empty() && copy->words.size() <= kMaxUnits);
    const QByteArray again = copy->encode();
    auto copy2 = BitmapCopy::decode(again);
    FUZZ_CHECK(copy2.isOk() && copy2->generation == copy->generation && copy2->words == copy->words);

    auto alloc = BlockAllocator::fromWords(copy->words);
    if (!alloc)
        return;
    const Status inv = alloc->checkInvariants();
    if (!inv.isOk()) {
        std::fprintf(stderr, "checkInvariants after fromWords: %s\n", qPrintable(inv.toString()));
        __builtin_trap();
    }
    FUZZ_CHECK(alloc->words() == copy->words);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView in = fuzz::view(data, size);
    decodeOne(in);

    // Fixed up: the unit count matches the length, and the checksum is right.
    if (in.size() >= BitmapCopy::kFixedSize + 4) {
        const qsizetype units = (in.size() - BitmapCopy::kFixedSize) / 4;
        QByteArray fixed = in.first(BitmapCopy::kFixedSize + 4 * units).toByteArray();
        fuzz::writeU32(&fixed, 16, uint32_t(units));
        fuzz::patchSha256(&fixed, fixed.size() - 32);
        if (fixed != in)
            decodeOne(fixed);
    }
    return 0;
}
