// BlockAllocator against a simple model: a list of live blocks that must
// never overlap, under thousands of random alloc/free sequences, with
// checkInvariants() after every step.
#include "testsupport.h"

#include "storage/blockallocator.h"

#include <map>

using namespace vd;
using namespace vd::storage;

namespace {

// The model: live blocks by offset. Overlap is what an allocator must never allow.
struct Model
{
    std::map<uint64_t, Extent> live;

    bool overlaps(const Extent &e) const
    {
        auto it = live.upper_bound(e.offset);
        if (it != live.end() && it->first < e.end())
            return true;
        if (it != live.begin()) {
            --it;
            if (it->second.end() > e.offset)
                return true;
        }
        return false;
    }
    uint64_t bytes() const
    {
        uint64_t n = 0;
        for (const auto &[o, e] : live)
            n += e.size();
        return n;
    }
};

} // namespace

class TestBlockAllocator : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void allocatesAlignedBlocksOfEveryClass()
    {
        BlockAllocator a;
        for (int c = 0; c < kClassCount; ++c) {
            auto e = a.allocate(c);
            VD_VERIFY_OK(e);
            QCOMPARE(int(e->sizeClass), c);
            QCOMPARE(e->offset % classSize(c), uint64_t(0));
            QVERIFY(a.isAllocated(*e));
            VD_VERIFY_OK(a.checkInvariants());
        }
        QCOMPARE(a.allocatedBytes(), uint64_t(31) << 20);
    }

    void rejectsBadClassesAndDoubleFree()
    {
        BlockAllocator a;
        VD_VERIFY_CODE(a.allocate(5), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(a.allocate(-1), ErrorCode::InvalidArgument);
        auto e = a.allocate(2);
        VD_VERIFY_OK(e);
        VD_VERIFY_OK(a.free(*e));
        VD_VERIFY_CODE(a.free(*e), ErrorCode::InvalidArgument);
        // Freeing part of a block, or a block with the wrong class, is refused.
        auto big = a.allocate(3);
        VD_VERIFY_OK(big);
        VD_VERIFY_CODE(a.free(Extent{big->offset, 2}), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(a.free(Extent{big->offset + (4 << 20), 2}), ErrorCode::InvalidArgument);
        QVERIFY(a.isAllocated(*big));
        VD_VERIFY_OK(a.checkInvariants());
    }

    void buddiesMergeOnFree()
    {
        BlockAllocator a;
        std::vector<Extent> ones;
        for (int i = 0; i < 16; ++i) {
            auto e = a.allocate(0);
            VD_VERIFY_OK(e);
            ones.push_back(*e);
        }
        QCOMPARE(a.unitCount(), 1u); // sixteen 1 MiB blocks fill exactly one unit
        for (const Extent &e : ones)
            VD_VERIFY_OK(a.free(e));
        // The sixteen buddies merged back: a 16 MiB block fits in unit 0 again.
        auto whole = a.allocate(4);
        VD_VERIFY_OK(whole);
        QCOMPARE(whole->offset, uint64_t(0));
        QCOMPARE(a.unitCount(), 1u);
        VD_VERIFY_OK(a.checkInvariants());
    }

    void smallBlocksShareUnitsAndLeaveWholeUnitsWhole()
    {
        BlockAllocator a;
        auto first = a.allocate(0);
        auto big = a.allocate(4);
        auto second = a.allocate(1);
        VD_VERIFY_OK(first);
        VD_VERIFY_OK(big);
        VD_VERIFY_OK(second);
        QCOMPARE(first->unit(), 0u);
        QCOMPARE(big->unit(), 1u);
        QCOMPARE(second->unit(), 0u); // into the partly used unit, not a new one
        // best fit: the 2 MiB block splits the free 1 MiB buddy's neighbour, at slot 2
        QCOMPARE(second->slot(), 2);
    }

    void growsAndGivesBackTailUnits()
    {
        BlockAllocator a;
        std::vector<Extent> blocks;
        for (int i = 0; i < 10; ++i) {
            auto e = a.allocate(4);
            VD_VERIFY_OK(e);
            blocks.push_back(*e);
        }
        QCOMPARE(a.unitCount(), 10u);
        // Free the last five and one in the middle: only the tail goes back.
        for (int i = 5; i < 10; ++i)
            VD_VERIFY_OK(a.free(blocks[size_t(i)]));
        VD_VERIFY_OK(a.free(blocks[2]));
        QCOMPARE(a.shrinkTail(), 5u);
        QCOMPARE(a.unitCount(), 5u);
        VD_VERIFY_OK(a.checkInvariants());
        // The hole in the middle is reused before the file grows again.
        auto again = a.allocate(4);
        VD_VERIFY_OK(again);
        QCOMPARE(again->offset, blocks[2].offset);
        QCOMPARE(a.unitCount(), 5u);
        // Unit 0 is never given back even when empty.
        BlockAllocator b(3);
        QCOMPARE(b.shrinkTail(), 2u);
        QCOMPARE(b.unitCount(), 1u);
    }

    void respectsTheUnitLimit()
    {
        BlockAllocator a;
        a.setMaxUnits(2);
        VD_VERIFY_OK(a.allocate(4));
        VD_VERIFY_OK(a.allocate(4));
        VD_VERIFY_CODE(a.allocate(0), ErrorCode::NoSpace);
        VD_VERIFY_OK(a.checkInvariants());
    }

    void randomSequencesMatchTheModel_data()
    {
        QTest::addColumn<quint32>("seed");
        QTest::addColumn<int>("steps");
        QTest::addColumn<int>("freeBias"); // percent of steps that free
        for (quint32 seed = 1; seed <= 6; ++seed)
            QTest::addRow("seed %u", seed) << seed << 4000 << int(35 + 5 * seed);
    }
    void randomSequencesMatchTheModel()
    {
        QFETCH(quint32, seed);
        QFETCH(int, steps);
        QFETCH(int, freeBias);
        QRandomGenerator rng(seed);
        BlockAllocator a;
        Model model;
        std::vector<Extent> order;
        for (int step = 0; step < steps; ++step) {
            const bool doFree = !order.empty() && int(rng.bounded(100)) < freeBias;
            if (doFree) {
                const size_t i = rng.bounded(quint32(order.size()));
                const Extent e = order[i];
                order[i] = order.back();
                order.pop_back();
                VD_VERIFY_OK(a.free(e));
                model.live.erase(e.offset);
                QVERIFY(!a.isAllocated(e));
            } else {
                // Small classes are more common, as in real use.
                static const int weights[] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4};
                const int c = weights[rng.bounded(quint32(std::size(weights)))];
                auto e = a.allocate(c);
                VD_VERIFY_OK(e);
                QVERIFY2(!model.overlaps(*e), qPrintable(QStringLiteral("step %1: block at %2 overlaps a live one").arg(step).arg(e->offset)));
                QVERIFY(e->isValid());
                model.live[e->offset] = *e;
                order.push_back(*e);
            }
            if (rng.bounded(50) == 0)
                a.shrinkTail();
            const Status inv = a.checkInvariants();
            QVERIFY2(inv.isOk(), qPrintable(QStringLiteral("step %1: %2").arg(step).arg(inv.message())));
            QCOMPARE(a.allocatedBytes(), model.bytes());
        }
        // What blocks() reports is exactly the model.
        const std::vector<Extent> listed = a.blocks();
        QCOMPARE(listed.size(), model.live.size());
        size_t i = 0;
        for (const auto &[offset, e] : model.live)
            QCOMPARE(listed[i++], e);
        // And a round trip through the persisted words gives the same allocator.
        auto back = BlockAllocator::fromWords(a.words());
        VD_VERIFY_OK(back);
        QCOMPARE(back->blocks().size(), listed.size());
        QCOMPARE(back->blocksPerClass(), a.blocksPerClass());
        // Freeing everything leaves one unit.
        for (const Extent &e : order)
            VD_VERIFY_OK(a.free(e));
        a.shrinkTail();
        QCOMPARE(a.unitCount(), 1u);
        QCOMPARE(a.allocatedBytes(), uint64_t(0));
    }

    void fragmentationStaysBounded()
    {
        // Fill with 1 MiB blocks, free every other one, then ask for 2 MiB
        // blocks: none fit in the holes, so the file grows — but once the
        // neighbours go too, the merged space is used again.
        BlockAllocator a;
        std::vector<Extent> ones;
        for (int i = 0; i < 64; ++i)
            ones.push_back(*a.allocate(0));
        QCOMPARE(a.unitCount(), 4u);
        for (size_t i = 0; i < ones.size(); i += 2)
            VD_VERIFY_OK(a.free(ones[i]));
        auto two = a.allocate(1);
        VD_VERIFY_OK(two);
        QCOMPARE(two->unit(), 4u);
        for (size_t i = 1; i < ones.size(); i += 2)
            VD_VERIFY_OK(a.free(ones[i]));
        auto four = a.allocate(2);
        VD_VERIFY_OK(four);
        QCOMPARE(four->unit(), 4u); // joins the partly used unit
        auto sixteen = a.allocate(4);
        VD_VERIFY_OK(sixteen);
        QCOMPARE(sixteen->unit(), 0u); // whole units are whole again
        VD_VERIFY_OK(a.checkInvariants());
    }

    void fromWordsRejectsBrokenWords_data()
    {
        QTest::addColumn<quint32>("word");
        QTest::newRow("start on a free slot") << quint32(0x00010000);
        QTest::newRow("used slot without a start") << quint32(0x00000001);
        QTest::newRow("3 MiB block") << quint32(0x00010007);
        QTest::newRow("misaligned 2 MiB block") << quint32(0x00020006);
    }
    void fromWordsRejectsBrokenWords()
    {
        QFETCH(quint32, word);
        auto a = BlockAllocator::fromWords({0x00010001u, word});
        VD_VERIFY_CODE(a, ErrorCode::Corruption);
        QVERIFY(a.status().message().contains(QStringLiteral("unit 1")));
    }

    void aMillionUnitsLoadAndAllocate()
    {
        // A 16 TiB collection's .bitmap: loading it must stay linear.
        std::vector<uint32_t> words(1u << 20);
        for (size_t u = 0; u < words.size(); ++u)
            words[u] = u % 4 == 0 ? 0x00010001u : (u % 4 == 1 ? 0x0001ffffu : (u % 4 == 2 ? 0x01010303u : 0u));
        auto a = BlockAllocator::fromWords(words);
        VD_VERIFY_OK(a);
        VD_VERIFY_OK(a->checkInvariants());
        auto e = a->allocate(4);
        VD_VERIFY_OK(e);
        QCOMPARE(e->unit(), 3u); // the first empty unit
        auto one = a->allocate(0);
        VD_VERIFY_OK(one);
        QCOMPARE(one->unit(), 0u); // the first unit with room, not a new one
        QCOMPARE(a->unitCount(), uint32_t(1u << 20));
    }

    void markAllocatedRebuildsAndDetectsOverlap()
    {
        BlockAllocator a;
        VD_VERIFY_OK(a.markAllocated(Extent{3 * kUnitSize + 8 * kSlotSize, 3}));
        QCOMPARE(a.unitCount(), 4u);
        VD_VERIFY_CODE(a.markAllocated(Extent{3 * kUnitSize + 12 * kSlotSize, 0}), ErrorCode::Conflict);
        VD_VERIFY_CODE(a.markAllocated(Extent{3 * kSlotSize, 1}), ErrorCode::InvalidArgument); // misaligned
        VD_VERIFY_OK(a.checkInvariants());
    }
};

QTEST_GUILESS_MAIN(TestBlockAllocator)
#include "tst_blockallocator.moc"
