// HierBitset against std::set under random set/clear/resize.
#include "testsupport.h"

#include "storage/hierbitset.h"

#include <set>

using vd::storage::HierBitset;

class TestHierBitset : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void emptyHasNoFirst()
    {
        HierBitset b;
        QCOMPARE(b.findFirst(), HierBitset::npos);
        b.resize(1000);
        QCOMPARE(b.findFirst(), HierBitset::npos);
    }

    void matchesModel_data()
    {
        QTest::addColumn<quint64>("size");
        QTest::newRow("one word") << quint64(64);
        QTest::newRow("two levels") << quint64(5000);
        QTest::newRow("three levels") << quint64(300000);
    }
    void matchesModel()
    {
        QFETCH(quint64, size);
        HierBitset b;
        b.resize(size);
        std::set<uint64_t> model;
        QRandomGenerator rng{quint32(size)};
        for (int i = 0; i < 20000; ++i) {
            const uint64_t k = rng.bounded(quint32(size));
            if (rng.bounded(2)) {
                b.set(k);
                model.insert(k);
            } else {
                b.clear(k);
                model.erase(k);
            }
            QCOMPARE(b.test(k), model.count(k) == 1);
            QCOMPARE(b.findFirst(), model.empty() ? HierBitset::npos : *model.begin());
        }
    }

    void growingOneAtATimeKeepsEveryBit()
    {
        // How the allocator grows: one unit at a time, to a million units.
        HierBitset b;
        for (uint64_t n = 1; n <= (1u << 20); ++n) {
            b.resize(n);
            if (n % 3 == 0)
                b.set(n - 1);
        }
        QCOMPARE(b.findFirst(), uint64_t(2));
        uint64_t count = 0;
        for (uint64_t i = 0; i < b.size(); ++i)
            count += b.test(i);
        QCOMPARE(count, uint64_t((1u << 20) / 3));
        for (uint64_t i = 2; i < 3000; i += 3)
            b.clear(i);
        QCOMPARE(b.findFirst(), uint64_t(3002));
    }

    void resizeKeepsAndDropsBits()
    {
        HierBitset b;
        b.resize(200);
        b.set(150);
        b.set(3);
        b.resize(100);
        QCOMPARE(b.findFirst(), uint64_t(3));
        b.clear(3);
        QCOMPARE(b.findFirst(), HierBitset::npos); // 150 went with the shrink
        b.resize(200);
        QCOMPARE(b.findFirst(), HierBitset::npos); // and does not come back
    }
};

QTEST_GUILESS_MAIN(TestHierBitset)
#include "tst_hierbitset.moc"
