// The catalog's copy-on-write B+tree against std::map: random puts, removes,
// scans and floors, with flushes and reloads from the flushed root, checking
// after each flush that the pages the store holds live are exactly the pages
// the tree reaches (nothing leaked, nothing released twice).
#include "testsupport.h"

#include "storage/catalog.h"

#include <map>
#include <set>

using namespace vd;
using namespace vd::storage;

namespace {

class MemPageStore final : public PageStore
{
public:
    std::map<uint64_t, QByteArray> pages; // by blockOffset
    std::set<uint64_t> live;
    int reads = 0;
    bool failReads = false;

    Result<QByteArray> readPage(const PageRef &ref) override
    {
        ++reads;
        if (failReads)
            return Status::ioError(QStringLiteral("injected read failure"));
        auto it = pages.find(ref.blockOffset);
        if (it == pages.end())
            return Status::corruption(QStringLiteral("no such page"));
        if (sha256(it->second) != ref.slot.rawHash)
            return Status::corruption(QStringLiteral("page hash mismatch"));
        return it->second;
    }
    Result<PageRef> writePage(QByteArrayView raw) override
    {
        PageRef ref;
        ref.blockOffset = (pages.size() + 1) * kSlotSize;
        ref.blockClass = 0;
        ref.slot.offset = 128;
        ref.slot.storedLength = uint32_t(raw.size());
        ref.slot.rawLength = uint32_t(raw.size());
        ref.slot.rawHash = sha256(raw);
        pages[ref.blockOffset] = raw.toByteArray();
        live.insert(ref.blockOffset);
        return ref;
    }
    void releasePage(const PageRef &ref) override
    {
        if (!live.erase(ref.blockOffset))
            qFatal("page at %llu released twice or never written", qulonglong(ref.blockOffset));
    }
};

QByteArray keyFor(quint32 n) { return QByteArray("k") + QByteArray::number(n).rightJustified(8, '0'); }

} // namespace

class TestCatalog : public QObject
{
    Q_OBJECT
private:
    void verifyLiveEqualsReachable(Catalog &cat, MemPageStore &store)
    {
        std::set<uint64_t> reachable;
        VD_VERIFY_OK(cat.walkPages([&](const PageRef &ref, int, int) {
            reachable.insert(ref.blockOffset);
            return Status();
        }));
        QCOMPARE(reachable, store.live);
    }

    void verifyMatches(Catalog &cat, const std::map<QByteArray, QByteArray> &model)
    {
        std::vector<std::pair<QByteArray, QByteArray>> seen;
        VD_VERIFY_OK(cat.scan("", "", [&](QByteArrayView k, QByteArrayView v) {
            seen.emplace_back(k.toByteArray(), v.toByteArray());
            return true;
        }));
        QCOMPARE(seen.size(), model.size());
        size_t i = 0;
        for (const auto &[k, v] : model) {
            QCOMPARE(seen[i].first, k);
            QCOMPARE(seen[i].second, v);
            ++i;
        }
    }

private Q_SLOTS:
    void emptyTree()
    {
        MemPageStore store;
        Catalog cat(&store);
        auto v = cat.get("x");
        VD_VERIFY_OK(v);
        QVERIFY(!v->has_value());
        auto f = cat.floor("x");
        VD_VERIFY_OK(f);
        QVERIFY(!f->has_value());
        auto r = cat.remove("x");
        VD_VERIFY_OK(r);
        QVERIFY(!*r);
        auto root = cat.flush();
        VD_VERIFY_OK(root);
        QVERIFY(root->isNull());
    }

    void rejectsBadKeysAndValues()
    {
        MemPageStore store;
        Catalog cat(&store);
        VD_VERIFY_CODE(cat.put("", "v"), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(cat.put(QByteArray(Catalog::kMaxKey + 1, 'k'), "v"), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(cat.put("k", QByteArray(Catalog::kMaxValue + 1, 'v')), ErrorCode::InvalidArgument);
        VD_VERIFY_OK(cat.put(QByteArray(Catalog::kMaxKey, 'k'), QByteArray(Catalog::kMaxValue, 'v')));
    }

    void growsManyLevelsAndShrinksBack()
    {
        MemPageStore store;
        Catalog cat(&store);
        std::map<QByteArray, QByteArray> model;
        for (quint32 i = 0; i < 20000; ++i) {
            const QByteArray k = keyFor(i * 7919 % 20000);
            const QByteArray v = QByteArray(int(i % 50) + 180, char(0x61 + i % 26));
            VD_VERIFY_OK(cat.put(k, v));
            model[k] = v;
        }
        VD_VERIFY_OK(cat.checkInvariants());
        int maxLevel = 0;
        VD_VERIFY_OK(cat.flush());
        VD_VERIFY_OK(cat.walkPages([&](const PageRef &, int level, int) {
            maxLevel = std::max(maxLevel, level);
            return Status();
        }));
        QVERIFY2(maxLevel >= 2, "20,000 entries should need at least three levels");
        verifyLiveEqualsReachable(cat, store);
        verifyMatches(cat, model);
        // Remove all but a few: the tree collapses and stays valid.
        for (quint32 i = 0; i < 20000; ++i) {
            if (i % 1000 == 0)
                continue;
            auto r = cat.remove(keyFor(i));
            VD_VERIFY_OK(r);
            QVERIFY(*r);
            model.erase(keyFor(i));
        }
        VD_VERIFY_OK(cat.checkInvariants());
        VD_VERIFY_OK(cat.flush());
        verifyLiveEqualsReachable(cat, store);
        verifyMatches(cat, model);
        QVERIFY(store.live.size() <= 2);
    }

    void randomOperationsMatchTheModel_data()
    {
        QTest::addColumn<quint32>("seed");
        for (quint32 s = 1; s <= 5; ++s)
            QTest::addRow("seed %u", s) << s;
    }
    void randomOperationsMatchTheModel()
    {
        QFETCH(quint32, seed);
        QRandomGenerator rng(seed);
        MemPageStore store;
        Catalog cat(&store);
        std::map<QByteArray, QByteArray> model;
        for (int step = 0; step < 6000; ++step) {
            const QByteArray k = keyFor(rng.bounded(3000));
            const int op = int(rng.bounded(100));
            if (op < 55) {
                // Mostly small values; now and then a big one, which gets a page of its own.
                const int len = rng.bounded(40) == 0 ? int(rng.bounded(40000)) : int(rng.bounded(200));
                const QByteArray v = test::randomBytes(len, rng.generate());
                VD_VERIFY_OK(cat.put(k, v));
                model[k] = v;
            } else if (op < 85) {
                auto r = cat.remove(k);
                VD_VERIFY_OK(r);
                QCOMPARE(*r, model.erase(k) == 1);
            } else if (op < 93) {
                auto got = cat.get(k);
                VD_VERIFY_OK(got);
                auto it = model.find(k);
                QCOMPARE(got->has_value(), it != model.end());
                if (it != model.end())
                    QCOMPARE(**got, it->second);
            } else if (op < 97) {
                auto f = cat.floor(k);
                VD_VERIFY_OK(f);
                auto it = model.upper_bound(k);
                if (it == model.begin()) {
                    QVERIFY(!f->has_value());
                } else {
                    --it;
                    QVERIFY(f->has_value());
                    QCOMPARE((*f)->first, it->first);
                }
            } else {
                // flush, and sometimes reload everything from the flushed root
                auto root = cat.flush();
                VD_VERIFY_OK(root);
                verifyLiveEqualsReachable(cat, store);
                if (rng.bounded(2))
                    cat.reset(*root);
                else
                    cat.trimCache(16);
            }
            if (step % 500 == 0)
                VD_VERIFY_OK(cat.checkInvariants());
        }
        VD_VERIFY_OK(cat.checkInvariants());
        // A bounded range scan sees exactly the model's range.
        const QByteArray from = keyFor(1000), to = keyFor(2000);
        std::vector<QByteArray> seen;
        VD_VERIFY_OK(cat.scan(from, to, [&](QByteArrayView key, QByteArrayView) {
            seen.push_back(key.toByteArray());
            return true;
        }));
        std::vector<QByteArray> expected;
        for (auto it = model.lower_bound(from); it != model.end() && it->first < to; ++it)
            expected.push_back(it->first);
        QCOMPARE(seen, expected);
        auto root = cat.flush();
        VD_VERIFY_OK(root);
        cat.reset(*root);
        verifyMatches(cat, model);
    }

    void unchangedPagesAreNotRewritten()
    {
        MemPageStore store;
        Catalog cat(&store);
        for (quint32 i = 0; i < 5000; ++i)
            VD_VERIFY_OK(cat.put(keyFor(i), QByteArray(40, 'v')));
        auto root = cat.flush();
        VD_VERIFY_OK(root);
        const size_t before = store.pages.size();
        VD_VERIFY_OK(cat.put(keyFor(4242), "changed"));
        VD_VERIFY_OK(cat.flush());
        int levels = 0;
        VD_VERIFY_OK(cat.walkPages([&](const PageRef &, int level, int) {
            levels = std::max(levels, level + 1);
            return Status();
        }));
        // one page per level on the path, nothing else
        QCOMPARE(store.pages.size() - before, size_t(levels));
        QVERIFY(!cat.isDirty());
        VD_VERIFY_OK(cat.flush());
        QCOMPARE(store.pages.size() - before, size_t(levels));
    }

    void corruptPagesAreReportedNotTrusted()
    {
        MemPageStore store;
        Catalog cat(&store);
        for (quint32 i = 0; i < 3000; ++i)
            VD_VERIFY_OK(cat.put(keyFor(i), QByteArray(40, 'v')));
        auto root = cat.flush();
        VD_VERIFY_OK(root);
        for (auto &[offset, bytes] : store.pages)
            if (offset != root->blockOffset)
                bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 1);
        cat.reset(*root);
        VD_VERIFY_CODE(cat.get(keyFor(1500)), ErrorCode::Corruption);
        store.failReads = true;
        cat.reset(*root);
        VD_VERIFY_CODE(cat.get(keyFor(1)), ErrorCode::IoError);
    }

    void rewritePagesMovesMatchingPages()
    {
        MemPageStore store;
        Catalog cat(&store);
        for (quint32 i = 0; i < 3000; ++i)
            VD_VERIFY_OK(cat.put(keyFor(i), QByteArray(40, 'v')));
        VD_VERIFY_OK(cat.flush());
        const std::set<uint64_t> old = store.live;
        VD_VERIFY_OK(cat.rewritePages([](const PageRef &) { return true; }));
        VD_VERIFY_OK(cat.flush());
        for (uint64_t o : store.live)
            QVERIFY(!old.count(o));
        verifyLiveEqualsReachable(cat, store);
    }
};

QTEST_GUILESS_MAIN(TestCatalog)
#include "tst_catalog.moc"
