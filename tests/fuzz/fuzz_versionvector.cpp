// Fuzzes the version vector decoder (core/versionvector.h), which will read
// versions from catalog records and from peers.
//
// The whole input is decoded as one vector: whatever decodes is canonical,
// so it encodes back to exactly the input. Then the input is read as two
// vectors one after the other (as inside a record): when both decode, their
// comparison and merge must obey the algebra (antisymmetry, merge is the
// least upper bound and agrees with the comparison).
#include "fuzz_common.h"

#include "core/bytes.h"
#include "core/versionvector.h"

using namespace vd;
using Ordering = VersionVector::Ordering;

namespace {

bool atMost(const VersionVector &a, const VersionVector &b)
{
    const Ordering o = a.compare(b);
    return o == Ordering::Before || o == Ordering::Equal;
}

void checkValid(const VersionVector &v)
{
    FUZZ_CHECK(v.size() <= VersionVector::kMaxEntries);
    for (int i = 0; i < v.size(); ++i) {
        const auto &e = v.entries()[size_t(i)];
        FUZZ_CHECK(e.counter >= 1 && e.counter <= VersionVector::kMaxCounter);
        FUZZ_CHECK(i == 0 || v.entries()[size_t(i - 1)].node < e.node);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView raw = fuzz::view(data, size);
    auto whole = VersionVector::decode(raw);
    if (whole) {
        checkValid(*whole);
        FUZZ_CHECK(whole->encode() == raw);
        FUZZ_CHECK(whole->encode().size() <= VersionVector::kMaxEncodedSize);
        FUZZ_CHECK(whole->compare(*whole) == Ordering::Equal);
    } else {
        FUZZ_CHECK(whole.status().code() == ErrorCode::Corruption);
    }

    ByteReader r(raw, QStringLiteral("two vectors"));
    const VersionVector a = VersionVector::decodeFrom(r);
    const VersionVector b = VersionVector::decodeFrom(r);
    if (!r.ok())
        return 0;
    checkValid(a);
    checkValid(b);
    const Ordering ab = a.compare(b);
    const Ordering ba = b.compare(a);
    FUZZ_CHECK((ab == Ordering::Before) == (ba == Ordering::After));
    FUZZ_CHECK((ab == Ordering::Concurrent) == (ba == Ordering::Concurrent));
    FUZZ_CHECK((ab == Ordering::Equal) == (a == b));
    auto m = VersionVector::merge(a, b);
    if (!m) {
        FUZZ_CHECK(m.status().code() == ErrorCode::InvalidArgument);
        return 0;
    }
    checkValid(*m);
    FUZZ_CHECK(atMost(a, *m) && atMost(b, *m));
    FUZZ_CHECK((*m == b) == atMost(a, b));
    FUZZ_CHECK((*m == a) == atMost(b, a));
    auto back = VersionVector::decode(m->encode());
    FUZZ_CHECK(back && *back == *m);
    return 0;
}
