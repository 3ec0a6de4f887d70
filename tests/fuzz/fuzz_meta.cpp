// Fuzzes Meta::decodeCopy, the decoder of a .meta copy (4 KiB).
#include "fuzz_common.h"

#include "storage/metafile.h"

using namespace vd;
using namespace vd::storage;

namespace {

void decodeOne(QByteArrayView bytes)
{
    auto m = Meta::decodeCopy(bytes);
    if (!m)
        return;
    // What was accepted re-encodes to a copy that decodes to the same thing.
    const QByteArray again = m->encodeCopy();
    FUZZ_CHECK(again.size() == Meta::kCopySize);
    auto m2 = Meta::decodeCopy(again);
    FUZZ_CHECK(m2.isOk());
    FUZZ_CHECK(m2->encodeCopy() == again);
    FUZZ_CHECK(m2->generation == m->generation && m2->ruid == m->ruid && m2->name == m->name && m2->root == m->root
               && m2->bitmap == m->bitmap && m2->members == m->members);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView in = fuzz::view(data, size);
    decodeOne(in);

    // Fixed up: exactly one copy long, with the checksum the body length names.
    QByteArray fixed = in.toByteArray();
    fixed.resize(Meta::kCopySize, '\0');
    const uint32_t bodyLength = fuzz::readU32(fixed, 12);
    if (bodyLength >= 16 && bodyLength <= uint32_t(Meta::kCopySize - 32)) {
        fuzz::patchSha256(&fixed, qsizetype(bodyLength));
        if (fixed != in)
            decodeOne(fixed);
    }
    return 0;
}
