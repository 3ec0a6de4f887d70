// VersionVector (core/versionvector.h): comparison, merge and increment as
// the algebra of version vectors says, over thousands of random vectors; the
// canonical encoding, and a decoder that refuses every damaged one.
#include "testsupport.h"

#include "core/bytes.h"
#include "core/versionvector.h"

using namespace vd;
using Ordering = VersionVector::Ordering;

// A helper that cannot QFAIL (it returns a value): a failure here is a broken test.
#define VD_VERIFY_OK_OR_ABORT(expr)                                                                                    \
    do {                                                                                                               \
        const ::vd::Status st_ = (expr);                                                                               \
        if (!st_.isOk())                                                                                               \
            qFatal("%s", qPrintable(st_.toString()));                                                                  \
    } while (false)

namespace {

// Vectors over a few nodes with small counters, so that every ordering
// comes up often; now and then a node from the whole 64-bit range.
VersionVector randomVector(QRandomGenerator &rng)
{
    VersionVector v;
    static const uint64_t nodes[] = {0, 1, 2, 0x7fffffffffffffffull, 0xfedcba9876543210ull};
    for (uint64_t node : nodes) {
        const uint32_t c = rng.bounded(4);
        if (c)
            VD_VERIFY_OK_OR_ABORT(v.increment(node, c));
    }
    if (rng.bounded(4) == 0) {
        const uint64_t c = rng.bounded(2) ? rng.generate64() >> 1 : rng.bounded(200) + 1;
        VD_VERIFY_OK_OR_ABORT(v.increment(rng.generate64(), std::max<uint64_t>(c, 1)));
    }
    return v;
}

Ordering reversed(Ordering o)
{
    switch (o) {
    case Ordering::Before: return Ordering::After;
    case Ordering::After: return Ordering::Before;
    default: return o;
    }
}

bool atMost(const VersionVector &a, const VersionVector &b)
{
    const Ordering o = a.compare(b);
    return o == Ordering::Before || o == Ordering::Equal;
}

// The definition, entry by entry, apart from compare()'s merge walk.
bool atMostByDefinition(const VersionVector &a, const VersionVector &b)
{
    for (const auto &e : a.entries())
        if (e.counter > b.counter(e.node))
            return false;
    return true;
}

VersionVector mergeOf(const VersionVector &a, const VersionVector &b)
{
    auto m = VersionVector::merge(a, b);
    if (!m)
        qFatal("merge failed: %s", qPrintable(m.status().toString()));
    return *m;
}

} // namespace

class TestVersionVector : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void basics()
    {
        VersionVector empty;
        QVERIFY(empty.isEmpty());
        QCOMPARE(empty.compare(empty), Ordering::Equal);
        QCOMPARE(empty.toString(), QStringLiteral("{}"));

        VersionVector a;
        VD_VERIFY_OK(a.increment(7));
        QCOMPARE(a.counter(7), uint64_t(1));
        QCOMPARE(a.counter(8), uint64_t(0));
        QCOMPARE(empty.compare(a), Ordering::Before);
        QCOMPARE(a.compare(empty), Ordering::After);

        // Two replicas edit the same version: concurrent; merging and
        // editing again follows both.
        VersionVector left = a, right = a;
        VD_VERIFY_OK(left.increment(1));
        VD_VERIFY_OK(right.increment(2));
        QCOMPARE(left.compare(right), Ordering::Concurrent);
        QCOMPARE(right.compare(left), Ordering::Concurrent);
        auto merged = VersionVector::merge(left, right);
        VD_VERIFY_OK(merged);
        QCOMPARE(merged->toString(), QStringLiteral("{0000000000000001:1, 0000000000000002:1, 0000000000000007:1}"));
        VD_VERIFY_OK(merged->increment(1));
        QCOMPARE(left.compare(*merged), Ordering::Before);
        QCOMPARE(right.compare(*merged), Ordering::Before);

        // A floor: a node may count with a clock of its own.
        VD_VERIFY_OK(a.increment(7, 100));
        QCOMPARE(a.counter(7), uint64_t(100));
        VD_VERIFY_OK(a.increment(7, 50));
        QCOMPARE(a.counter(7), uint64_t(101));
        QCOMPARE(VersionVector::orderingName(Ordering::Concurrent), QStringLiteral("concurrent"));
    }

    void countersAndEntriesAreBounded()
    {
        VersionVector v;
        VD_VERIFY_OK(v.increment(3, VersionVector::kMaxCounter));
        const VersionVector before = v;
        VD_VERIFY_CODE(v.increment(3), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(v.increment(4, VersionVector::kMaxCounter + 1), ErrorCode::InvalidArgument);
        QCOMPARE(v, before);

        VersionVector full, other;
        for (int i = 0; i < VersionVector::kMaxEntries; ++i) {
            VD_VERIFY_OK(full.increment(uint64_t(2 * i)));
            VD_VERIFY_OK(other.increment(uint64_t(2 * i + 1)));
        }
        VD_VERIFY_CODE(full.increment(1), ErrorCode::InvalidArgument);
        QCOMPARE(full.size(), VersionVector::kMaxEntries);
        VD_VERIFY_OK(full.increment(0)); // an existing node still counts on
        VD_VERIFY_CODE(VersionVector::merge(full, other), ErrorCode::InvalidArgument);
        VD_VERIFY_OK(VersionVector::merge(full, full));
        // The largest vector there is encodes within the bound and decodes.
        VersionVector largest;
        for (int i = 0; i < VersionVector::kMaxEntries; ++i)
            VD_VERIFY_OK(largest.increment(uint64_t(i), VersionVector::kMaxCounter));
        const QByteArray bytes = largest.encode();
        QCOMPARE(bytes.size(), VersionVector::kMaxEncodedSize);
        QCOMPARE(*VersionVector::decode(bytes), largest);
    }

    // Over random pairs and triples: compare is antisymmetric, agrees with
    // the definition and with merge, and is transitive; merge is the least
    // upper bound (commutative, associative, idempotent); increment moves
    // a vector strictly forward.
    void algebra()
    {
        QRandomGenerator rng(20);
        int seen[4] = {};
        for (int i = 0; i < 20000; ++i) {
            const VersionVector a = randomVector(rng), c = randomVector(rng);
            const VersionVector b = rng.bounded(8) == 0 ? a : randomVector(rng); // equal ones are rare otherwise
            const Ordering ab = a.compare(b);
            ++seen[int(ab)];
            QCOMPARE(b.compare(a), reversed(ab));
            QCOMPARE(a.compare(a), Ordering::Equal);
            QCOMPARE(atMost(a, b), atMostByDefinition(a, b));
            QCOMPARE(ab == Ordering::Equal, a == b);

            const VersionVector m = mergeOf(a, b);
            QCOMPARE(m, mergeOf(b, a));
            QCOMPARE(mergeOf(a, a), a);
            QCOMPARE(mergeOf(m, c), mergeOf(a, mergeOf(b, c)));
            QVERIFY(atMost(a, m) && atMost(b, m));
            // merge(a, b) is b exactly when a is before or equal to b, a when after.
            QCOMPARE(m == b, atMost(a, b));
            QCOMPARE(m == a, atMost(b, a));
            QCOMPARE(ab == Ordering::Concurrent, m != a && m != b);
            // The least upper bound: anything above both is above the merge.
            if (atMost(a, c) && atMost(b, c))
                QVERIFY(atMost(m, c));
            if (atMost(a, b) && atMost(b, c))
                QVERIFY(atMost(a, c));

            VersionVector next = a;
            const uint64_t node = a.isEmpty() || rng.bounded(2) ? rng.generate64() : a.entries()[rng.bounded(uint32_t(a.size()))].node;
            VD_VERIFY_OK(next.increment(node));
            QCOMPARE(a.compare(next), Ordering::Before);
            QCOMPARE(next.counter(node), a.counter(node) + 1);
        }
        for (int o = 0; o < 4; ++o)
            QVERIFY2(seen[o] > 1000, qPrintable(QStringLiteral("ordering %1 came up %2 times").arg(o).arg(seen[o])));
    }

    void encodingRoundTrip()
    {
        QRandomGenerator rng(21);
        for (int i = 0; i < 5000; ++i) {
            const VersionVector v = randomVector(rng);
            const QByteArray bytes = v.encode();
            auto back = VersionVector::decode(bytes);
            VD_VERIFY_OK(back);
            QCOMPARE(*back, v);
            // Canonical: the same vector built in another order has the same bytes.
            VersionVector rebuilt;
            for (auto it = v.entries().rbegin(); it != v.entries().rend(); ++it)
                VD_VERIFY_OK(rebuilt.increment(it->node, it->counter));
            QCOMPARE(rebuilt.encode(), bytes);
            // Inside a larger record.
            QByteArray record;
            ByteWriter w(&record);
            w.u8(0xab);
            v.encodeTo(w);
            w.u8(0xcd);
            ByteReader r(record, QStringLiteral("record"));
            QCOMPARE(r.u8(), uint8_t(0xab));
            QCOMPARE(VersionVector::decodeFrom(r), v);
            QCOMPARE(r.u8(), uint8_t(0xcd));
            VD_VERIFY_OK(r.finish());
        }
    }

    // Every cut of an encoding is refused; every flipped bit is refused or
    // decodes to a vector whose encoding is exactly the flipped bytes.
    void damagedEncodings()
    {
        QRandomGenerator rng(22);
        int refused = 0, accepted = 0;
        for (int i = 0; i < 300; ++i) {
            const QByteArray bytes = randomVector(rng).encode();
            for (qsizetype cut = 0; cut < bytes.size(); ++cut)
                VD_VERIFY_CODE(VersionVector::decode(bytes.left(cut)), ErrorCode::Corruption);
            VD_VERIFY_CODE(VersionVector::decode(bytes + '\0'), ErrorCode::Corruption);
            for (qsizetype at = 0; at < bytes.size(); ++at) {
                for (int bit = 0; bit < 8; ++bit) {
                    QByteArray bad = bytes;
                    bad[at] = char(bad[at] ^ (1 << bit));
                    auto v = VersionVector::decode(bad);
                    if (!v) {
                        QCOMPARE(v.status().code(), ErrorCode::Corruption);
                        ++refused;
                        continue;
                    }
                    ++accepted;
                    QCOMPARE(v->encode(), bad);
                    QVERIFY(v->size() <= VersionVector::kMaxEntries);
                    for (qsizetype k = 1; k < v->size(); ++k)
                        QVERIFY(v->entries()[size_t(k - 1)].node < v->entries()[size_t(k)].node);
                    for (const auto &e : v->entries())
                        QVERIFY(e.counter >= 1 && e.counter <= VersionVector::kMaxCounter);
                }
            }
        }
        QVERIFY(refused > 0 && accepted > 0);
    }

    void notCanonical_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("message");
        auto entry = [](uint64_t node, QByteArray counter) {
            QByteArray out;
            ByteWriter w(&out);
            w.u64(node);
            return out + counter;
        };
        QTest::newRow("empty input") << QByteArray() << QStringLiteral("truncated");
        QTest::newRow("zero counter") << QByteArray("\x01", 1) + entry(5, QByteArray("\x00", 1)) << QStringLiteral("counter 0");
        QTest::newRow("counter 2^63") << QByteArray("\x01", 1) + entry(5, QByteArray::fromHex("80808080808080808001")) << QStringLiteral("outside 1..2^63-1");
        QTest::newRow("over-long counter") << QByteArray("\x01", 1) + entry(5, QByteArray::fromHex("8100")) << QStringLiteral("a counter is not in its shortest form");
        QTest::newRow("over-long count") << QByteArray::fromHex("8100") + entry(5, "\x01") << QStringLiteral("the entry count is not in its shortest form");
        QTest::newRow("duplicate node") << QByteArray("\x02", 1) + entry(5, "\x01") + entry(5, "\x02") << QStringLiteral("ascending order, each node once");
        QTest::newRow("descending") << QByteArray("\x02", 1) + entry(6, "\x01") + entry(5, "\x02") << QStringLiteral("ascending order");
        QTest::newRow("too many entries") << QByteArray::fromHex("8108") + QByteArray(1025 * 9, '\x01') << QStringLiteral("1025 entries, more than the 1024");
        QTest::newRow("count beyond the bytes") << QByteArray::fromHex("ff07") + entry(5, "\x01") << QStringLiteral("cannot fit");
        QTest::newRow("trailing byte") << QByteArray("\x01", 1) + entry(5, "\x01") + "x" << QStringLiteral("trailing");
    }
    void notCanonical()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, message);
        const auto v = VersionVector::decode(bytes);
        VD_VERIFY_CODE(v, ErrorCode::Corruption);
        QVERIFY2(v.status().message().contains(message), qPrintable(v.status().message()));
        QVERIFY2(v.status().message().startsWith(QStringLiteral("version vector: ")), qPrintable(v.status().message()));
    }
};

QTEST_GUILESS_MAIN(TestVersionVector)
#include "tst_versionvector.moc"
