// The tree cache as its user sees it: what is put comes back, and after a
// flush also in the next run; a subtree is forgotten exactly; a missing,
// unsealed or damaged file gives an empty cache that keeps working, and never
// a value that was not put; a failure of any step on its own files (the
// seal, the lock, starting over) leaves it refused or reset, never stale.
#include "testsupport.h"

#include "cache/lmdbcache.h"
#include "core/bytes.h"
#include "core/hash.h"
#include "io/faultenv.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>

#include <algorithm>
#include <map>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

using namespace vd;
using namespace vd::cache;

namespace {

using CachePtr = std::unique_ptr<LmdbCache>;

Ruid idOf(int i)
{
    Ruid r;
    r.bytes.fill(0xa5);
    for (size_t b = 0; b < 4; ++b)
        r.bytes[b] = uint8_t(uint32_t(i) >> (8 * b));
    return r;
}

QByteArray blockKeyOf(int i) { return sha256(QByteArray::number(i)).view().toByteArray(); }

// A path of about `bytes` UTF-8 bytes under prefix, with multi-byte characters in it.
QString deepPath(const QString &prefix, int bytes)
{
    QString p = prefix;
    for (int i = 0; p.toUtf8().size() < bytes; ++i)
        p += QStringLiteral("/d%1-r\u00e9pertoire").arg(i);
    return p;
}

// What a test puts in a cache, to compare with what comes back.
struct Content
{
    QByteArray stamp;
    std::map<QString, Ruid> paths;
    std::map<Ruid, QByteArray> records;
    std::map<QByteArray, QByteArray> blocks;

    void putInto(LmdbCache &cache) const
    {
        cache.setStamp(stamp);
        for (const auto &[path, id] : paths)
            cache.putPath(path, id);
        for (const auto &[id, record] : records)
            cache.putRecord(id, record);
        for (const auto &[key, location] : blocks)
            cache.putBlockLocation(key, location);
    }
    int size() const { return int(paths.size() + records.size() + blocks.size()); }
};

Content sample(int n, quint32 seed)
{
    Content c;
    c.stamp = "generation " + QByteArray::number(seed);
    for (int i = 0; i < n; ++i) {
        c.paths[QStringLiteral("/dir%1/file%2").arg(i % 17).arg(i)] = idOf(i);
        c.records[idOf(i)] = test::randomBytes(1 + (i * 37) % 700, seed + quint32(i));
        c.blocks[blockKeyOf(i)] = test::randomBytes(24, seed ^ quint32(i));
    }
    c.paths[deepPath(QStringLiteral("/deep"), 1200)] = idOf(n);
    c.blocks[QByteArray(600, 'k')] = "a location for a long block key";
    return c;
}

// Every lookup must answer a miss or exactly what was put. Returns the
// first wrong answer (empty when none) and counts the hits.
QString missOrExact(LmdbCache &cache, const Content &want, int *hits)
{
    *hits = 0;
    const QByteArray stamp = cache.stamp();
    if (!stamp.isEmpty() && stamp != want.stamp)
        return QStringLiteral("stamp '%1'").arg(QString::fromLatin1(stamp.toHex()));
    for (const auto &[path, id] : want.paths) {
        const std::optional<Ruid> got = cache.pathId(path);
        if (got && *got != id)
            return QStringLiteral("path %1 -> %2").arg(path.left(40), got->toString());
        *hits += got.has_value();
    }
    for (const auto &[id, record] : want.records) {
        const std::optional<QByteArray> got = cache.record(id);
        if (got && *got != record)
            return QStringLiteral("record %1 has %2 bytes").arg(id.toString()).arg(got->size());
        *hits += got.has_value();
    }
    for (const auto &[key, location] : want.blocks) {
        const std::optional<QByteArray> got = cache.blockLocation(key);
        if (got && *got != location)
            return QStringLiteral("block %1").arg(QString::fromLatin1(key.left(8).toHex()));
        *hits += got.has_value();
    }
    return {};
}

QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool writeFile(const QString &path, const QByteArray &data)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(data) == data.size();
}

// Writes the seal a clean close would have written for data.mdb as it is
// now (format in lmdbcache.h), so a test can reach the checks behind it.
bool reseal(const QString &dir)
{
    const QByteArray data = readFile(dir + QStringLiteral("/data.mdb"));
    QByteArray seal;
    ByteWriter w(&seal);
    w.bytes("VDLMSEAL");
    w.u16(1);
    w.u16(0);
    w.u32(0);
    w.u64(uint64_t(data.size()));
    w.bytes(sha256(data).view());
    return writeFile(dir + QStringLiteral("/data.seal"), seal);
}

} // namespace

class TestLmdbCache : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_tmp;
    int m_dirs = 0;

    QString newDir() { return m_tmp.filePath(QStringLiteral("cache%1").arg(++m_dirs)); }

    CachePtr openCache(const QString &dir, const LmdbCache::Options &options = {})
    {
        auto c = LmdbCache::open(dir, options);
        if (!c.isOk())
            qWarning("open: %s", qPrintable(c.status().toString()));
        return c.isOk() ? std::move(c).value() : nullptr;
    }

    // A cache holding `content`, flushed and closed.
    QString populated(const Content &content)
    {
        const QString dir = newDir();
        CachePtr cache = openCache(dir);
        if (!cache)
            return {};
        content.putInto(*cache);
        if (!cache->flush().isOk())
            return {};
        return dir;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_tmp.isValid()); }

    void roundTripsSurviveReopen()
    {
        const Content content = sample(300, 1);
        const QString dir = populated(content);
        QVERIFY(!dir.isEmpty());
        // Reopening without changes must keep the file sealed, every time.
        for (int run = 0; run < 3; ++run) {
            CachePtr cache = openCache(dir);
            QVERIFY(cache);
            QVERIFY2(!cache->wasReset(), qPrintable(cache->resetReason()));
            QCOMPARE(cache->stamp(), content.stamp);
            for (const auto &[path, id] : content.paths)
                QCOMPARE(cache->pathId(path), std::optional<Ruid>(id));
            for (const auto &[id, record] : content.records)
                QCOMPARE(cache->record(id), std::optional<QByteArray>(record));
            for (const auto &[key, location] : content.blocks)
                QCOMPARE(cache->blockLocation(key), std::optional<QByteArray>(location));
            QCOMPARE(cache->stats().paths, uint64_t(content.paths.size()));
            QCOMPARE(cache->stats().records, uint64_t(content.records.size()));
            QCOMPARE(cache->stats().blockLocations, uint64_t(content.blocks.size()));
            QCOMPARE(cache->pathId(QStringLiteral("/dir0/nothing")), std::nullopt);
            QCOMPARE(cache->record(idOf(100000)), std::nullopt);
            QCOMPARE(cache->blockLocation(blockKeyOf(100000)), std::nullopt);
            VD_VERIFY_OK(cache->flush());
        }
    }

    void unflushedWritesAreVisibleThenDiscarded()
    {
        const QString dir = newDir();
        {
            CachePtr cache = openCache(dir);
            QVERIFY(cache);
            QVERIFY(!cache->wasReset());
            QCOMPARE(cache->stamp(), QByteArray());
            cache->setStamp("g1");
            cache->putPath(QStringLiteral("/a"), idOf(1));
            cache->putRecord(idOf(1), "record one");
            QCOMPARE(cache->stamp(), QByteArray("g1"));
            QCOMPARE(cache->pathId(QStringLiteral("/a")), std::optional<Ruid>(idOf(1)));
            QCOMPARE(cache->record(idOf(1)), std::optional<QByteArray>("record one"));
            VD_VERIFY_OK(cache->flush());

            cache->setStamp("g2");
            cache->putPath(QStringLiteral("/b"), idOf(2));
            cache->invalidatePaths(QStringLiteral("/a"));
            cache->putRecord(idOf(1), "record one, changed");
            QCOMPARE(cache->stamp(), QByteArray("g2"));
            QCOMPARE(cache->pathId(QStringLiteral("/a")), std::nullopt);
            QCOMPARE(cache->pathId(QStringLiteral("/b")), std::optional<Ruid>(idOf(2)));
            QCOMPARE(cache->record(idOf(1)), std::optional<QByteArray>("record one, changed"));
        } // closed without flush()
        CachePtr cache = openCache(dir);
        QVERIFY(cache);
        QVERIFY2(!cache->wasReset(), qPrintable(cache->resetReason()));
        // The last flushed state, whole: its stamp with its entries.
        QCOMPARE(cache->stamp(), QByteArray("g1"));
        QCOMPARE(cache->pathId(QStringLiteral("/a")), std::optional<Ruid>(idOf(1)));
        QCOMPARE(cache->pathId(QStringLiteral("/b")), std::nullopt);
        QCOMPARE(cache->record(idOf(1)), std::optional<QByteArray>("record one"));
    }

    void overwritesRemovalsAndOversizedValues()
    {
        const QString dir = newDir();
        {
            CachePtr cache = openCache(dir);
            QVERIFY(cache);
            cache->putPath(QStringLiteral("/x"), idOf(1));
            cache->putPath(QStringLiteral("/x"), idOf(2));
            cache->putRecord(idOf(1), "old");
            cache->putRecord(idOf(1), "new");
            cache->putRecord(idOf(2), "gone soon");
            cache->removeRecord(idOf(2));
            cache->removeRecord(idOf(3)); // never there
            cache->putBlockLocation("b1", "here");
            cache->putBlockLocation("b2", "there");
            cache->removeBlockLocation("b2");
            cache->putRecord(idOf(4), ""); // an empty record is a value too
            // Too big to cache: the older value must not survive either.
            cache->putRecord(idOf(5), "small");
            cache->putRecord(idOf(5), QByteArray(LmdbCache::kMaxRecordBytes + 1, 'r'));
            cache->putBlockLocation("b3", "small");
            cache->putBlockLocation("b3", QByteArray(LmdbCache::kMaxBlockLocationBytes + 1, 'l'));
            cache->setStamp("s");
            cache->setStamp(QByteArray(LmdbCache::kMaxStampBytes + 1, 's'));
            // Never cached: empty and over-long keys.
            cache->putPath(QString(), idOf(6));
            cache->putPath(QString(LmdbCache::kMaxPathBytes + 1, QLatin1Char('p')), idOf(6));
            cache->putBlockLocation("", "nowhere");
            VD_VERIFY_OK(cache->flush());
        }
        CachePtr cache = openCache(dir);
        QVERIFY(cache);
        QVERIFY2(!cache->wasReset(), qPrintable(cache->resetReason()));
        QCOMPARE(cache->pathId(QStringLiteral("/x")), std::optional<Ruid>(idOf(2)));
        QCOMPARE(cache->record(idOf(1)), std::optional<QByteArray>("new"));
        QCOMPARE(cache->record(idOf(2)), std::nullopt);
        QCOMPARE(cache->record(idOf(4)), std::optional<QByteArray>(""));
        QCOMPARE(cache->record(idOf(5)), std::nullopt);
        QCOMPARE(cache->blockLocation("b1"), std::optional<QByteArray>("here"));
        QCOMPARE(cache->blockLocation("b2"), std::nullopt);
        QCOMPARE(cache->blockLocation("b3"), std::nullopt);
        QCOMPARE(cache->blockLocation(""), std::nullopt);
        QCOMPARE(cache->stamp(), QByteArray());
        QCOMPARE(cache->pathId(QString()), std::nullopt);
        QCOMPARE(cache->pathId(QString(LmdbCache::kMaxPathBytes + 1, QLatin1Char('p'))), std::nullopt);
        QCOMPARE(cache->stats().paths, uint64_t(1));
        QVERIFY(!cache->wasReset());
    }

    void clearForgetsEverythingIncludingTheStamp()
    {
        const QString dir = populated(sample(50, 2));
        QVERIFY(!dir.isEmpty());
        {
            CachePtr cache = openCache(dir);
            QVERIFY(cache);
            cache->clear();
            QCOMPARE(cache->stamp(), QByteArray());
            QCOMPARE(cache->stats().paths + cache->stats().records + cache->stats().blockLocations, uint64_t(0));
            cache->putPath(QStringLiteral("/after"), idOf(7));
            VD_VERIFY_OK(cache->flush());
        }
        CachePtr cache = openCache(dir);
        QVERIFY(cache);
        QVERIFY(!cache->wasReset());
        QCOMPARE(cache->stamp(), QByteArray());
        QCOMPARE(cache->stats().paths, uint64_t(1));
        QCOMPARE(cache->stats().records, uint64_t(0));
        QCOMPARE(cache->pathId(QStringLiteral("/after")), std::optional<Ruid>(idOf(7)));
    }

    void invalidatePaths_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QStringList>("left");
        QTest::addColumn<bool>("flushed");
        const QStringList others = {QStringLiteral("/ab"), QStringLiteral("/a-b"), QStringLiteral("/a.b"),
                                    QStringLiteral("/b"), QStringLiteral("/b/a")};
        for (bool flushed : {false, true}) {
            const char *when = flushed ? "flushed" : "pending";
            QTest::addRow("/a %s", when) << QStringLiteral("/a") << others << flushed;
            QTest::addRow("/a/b %s", when) << QStringLiteral("/a/b") << (QStringList{QStringLiteral("/a")} + others) << flushed;
            QTest::addRow("/a/b/c %s", when)
                << QStringLiteral("/a/b/c") << (QStringList{QStringLiteral("/a"), QStringLiteral("/a/b")} + others) << flushed;
            QTest::addRow("root %s", when) << QStringLiteral("/") << QStringList() << flushed;
            QTest::addRow("empty %s", when) << QString() << QStringList() << flushed;
            QTest::addRow("absent %s", when)
                << QStringLiteral("/zzz")
                << (QStringList{QStringLiteral("/a"), QStringLiteral("/a/b"), QStringLiteral("/a/b/c")} + others) << flushed;
        }
    }

    void invalidatePaths()
    {
        QFETCH(QString, path);
        QFETCH(QStringList, left);
        QFETCH(bool, flushed);
        const QStringList all = {QStringLiteral("/a"), QStringLiteral("/a/b"), QStringLiteral("/a/b/c"), QStringLiteral("/ab"),
                                 QStringLiteral("/a-b"), QStringLiteral("/a.b"), QStringLiteral("/b"), QStringLiteral("/b/a")};
        const QString dir = newDir();
        CachePtr cache = openCache(dir);
        QVERIFY(cache);
        for (int i = 0; i < all.size(); ++i)
            cache->putPath(all[i], idOf(i));
        if (flushed) {
            VD_VERIFY_OK(cache->flush());
            cache.reset();
            cache = openCache(dir);
            QVERIFY(cache);
        }
        cache->invalidatePaths(path);
        for (int i = 0; i < all.size(); ++i) {
            const std::optional<Ruid> want = left.contains(all[i]) ? std::optional<Ruid>(idOf(i)) : std::nullopt;
            QVERIFY2(cache->pathId(all[i]) == want, qPrintable(all[i]));
        }
        QCOMPARE(cache->stats().paths, uint64_t(left.size()));
        VD_VERIFY_OK(cache->flush());
        cache.reset();
        cache = openCache(dir);
        QVERIFY(cache);
        QCOMPARE(cache->stats().paths, uint64_t(left.size()));
        QVERIFY(!cache->wasReset());
    }

    void invalidatingABigSubtreeKeepsItsNeighbours()
    {
        const QString dir = newDir();
        CachePtr cache = openCache(dir);
        QVERIFY(cache);
        for (int i = 0; i < 20000; ++i)
            cache->putPath(QStringLiteral("/big/d%1/f%2").arg(i % 100).arg(i), idOf(i));
        QStringList neighbours;
        for (int i = 0; i < 500; ++i) {
            neighbours << QStringLiteral("/bi/f%1").arg(i) << QStringLiteral("/big-x/f%1").arg(i)
                       << QStringLiteral("/big.x/f%1").arg(i) << QStringLiteral("/bigger/f%1").arg(i);
        }
        for (int i = 0; i < neighbours.size(); ++i)
            cache->putPath(neighbours[i], idOf(100000 + i));
        VD_VERIFY_OK(cache->flush());
        QElapsedTimer clock;
        clock.start();
        cache->invalidatePaths(QStringLiteral("/big"));
        VD_VERIFY_OK(cache->flush());
        qInfo("invalidated 20,000 paths in %lld ms", qlonglong(clock.elapsed()));
        QCOMPARE(cache->stats().paths, uint64_t(neighbours.size()));
        for (int i = 0; i < neighbours.size(); ++i)
            QCOMPARE(cache->pathId(neighbours[i]), std::optional<Ruid>(idOf(100000 + i)));
        QCOMPARE(cache->pathId(QStringLiteral("/big/d7/f7")), std::nullopt);
        QVERIFY(!cache->wasReset());
    }

    void longPaths()
    {
        const QString longDir = deepPath(QStringLiteral("/long"), 1100);
        // Exactly 400 bytes (the longest key stored as is) and its children, which are not.
        const QString at400 = QStringLiteral("/b/") + QString(397, QLatin1Char('x'));
        QCOMPARE(at400.toUtf8().size(), LmdbCache::kInlineKeyBytes);
        const std::map<QString, int> paths = {
            {QStringLiteral("/long"), 1},
            {longDir, 2},
            {longDir + QStringLiteral("/x"), 3},
            {longDir + QStringLiteral("/y/z"), 4},
            {longDir + QStringLiteral("-sibling"), 5},      // same first 1,100 bytes, not under it
            {longDir + QStringLiteral("-sibling/in"), 6},
            {longDir.left(600) + QStringLiteral("/other"), 7}, // same first 600 bytes
            {at400, 8},
            {at400 + QStringLiteral("/c"), 9},
            {at400 + QStringLiteral("y"), 10},
            {at400.left(399) + QStringLiteral("/c"), 11},
            {QStringLiteral("/b/") + QString(300, QChar(0x65e5)), 12}, // 903 bytes of UTF-8
        };
        const QString dir = newDir();
        {
            CachePtr cache = openCache(dir);
            QVERIFY(cache);
            for (const auto &[path, i] : paths)
                cache->putPath(path, idOf(i));
            VD_VERIFY_OK(cache->flush());
        }
        CachePtr cache = openCache(dir);
        QVERIFY(cache);
        QVERIFY(!cache->wasReset());
        for (const auto &[path, i] : paths)
            QCOMPARE(cache->pathId(path), std::optional<Ruid>(idOf(i)));
        QCOMPARE(cache->pathId(longDir + QStringLiteral("/w")), std::nullopt);

        const auto left = [&] {
            std::vector<int> found;
            for (const auto &[path, i] : paths) {
                if (cache->pathId(path))
                    found.push_back(i);
            }
            std::sort(found.begin(), found.end());
            QStringList l;
            for (int i : found)
                l << QString::number(i);
            return l.join(QLatin1Char(' '));
        };
        cache->invalidatePaths(longDir);
        QCOMPARE(left(), QStringLiteral("1 5 6 7 8 9 10 11 12"));
        cache->invalidatePaths(at400);
        QCOMPARE(left(), QStringLiteral("1 5 6 7 10 11 12"));
        cache->invalidatePaths(QStringLiteral("/long"));
        QCOMPARE(left(), QStringLiteral("10 11 12"));
        cache->invalidatePaths(QStringLiteral("/b"));
        QCOMPARE(left(), QString());
        QCOMPARE(cache->stats().paths, uint64_t(0));
        QVERIFY(!cache->wasReset());
    }

    void missingFilesGiveAnEmptyCache()
    {
        const QString dir = populated(sample(20, 3));
        QVERIFY(!dir.isEmpty());
        QVERIFY(QFile::remove(dir + QStringLiteral("/data.mdb")));
        QVERIFY(QFile::remove(dir + QStringLiteral("/data.seal")));
        {
            CachePtr cache = openCache(dir);
            QVERIFY(cache);
            QCOMPARE(cache->stamp(), QByteArray());
            QCOMPARE(cache->stats().paths + cache->stats().records + cache->stats().blockLocations, uint64_t(0));
        }
        QVERIFY(QDir(dir).removeRecursively());
        CachePtr cache = openCache(dir);
        QVERIFY(cache);
        QCOMPARE(cache->stamp(), QByteArray());
        cache->putPath(QStringLiteral("/p"), idOf(1));
        QCOMPARE(cache->pathId(QStringLiteral("/p")), std::optional<Ruid>(idOf(1)));
    }

    void anUncleanExitStartsEmpty()
    {
        const Content content = sample(20, 4);
        const QString dir = populated(content);
        QVERIFY(!dir.isEmpty());
        QVERIFY(QFile::remove(dir + QStringLiteral("/data.seal"))); // as if the process had died
        CachePtr cache = openCache(dir);
        QVERIFY(cache);
        QVERIFY(cache->wasReset());
        QCOMPARE(cache->resets(), 1);
        QVERIFY2(cache->resetReason().contains(QStringLiteral("not closed cleanly")), qPrintable(cache->resetReason()));
        int hits = 0;
        QCOMPARE(missOrExact(*cache, content, &hits), QString());
        QCOMPARE(hits, 0);
    }

    void damagedFilesNeverGiveAWrongValue_data()
    {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<quint32>("seed");
        for (quint32 seed = 1; seed <= 6; ++seed)
            QTest::addRow("spans %u", seed) << QStringLiteral("spans") << seed;
        for (quint32 seed = 1; seed <= 3; ++seed)
            QTest::addRow("one byte %u", seed) << QStringLiteral("byte") << seed;
        QTest::newRow("whole file") << QStringLiteral("whole") << 7u;
        QTest::newRow("meta pages zeroed") << QStringLiteral("meta") << 0u;
        QTest::newRow("truncated to half") << QStringLiteral("half") << 0u;
        QTest::newRow("last page cut") << QStringLiteral("page") << 0u;
        QTest::newRow("zero length") << QStringLiteral("empty") << 0u;
        QTest::newRow("garbage appended") << QStringLiteral("append") << 8u;
        QTest::newRow("seal garbled") << QStringLiteral("seal") << 9u;
    }

    void damagedFilesNeverGiveAWrongValue()
    {
        QFETCH(QString, damage);
        QFETCH(quint32, seed);
        const Content content = sample(200, seed + 10);
        const QString dir = populated(content);
        QVERIFY(!dir.isEmpty());
        const QString file = dir + (damage == QStringLiteral("seal") ? QStringLiteral("/data.seal") : QStringLiteral("/data.mdb"));
        QByteArray data = readFile(file);
        QVERIFY(data.size() >= 3 * 4096 || damage == QStringLiteral("seal"));
        QRandomGenerator rng(seed);
        if (damage == QStringLiteral("spans")) {
            for (int i = 0; i < 16; ++i) {
                const qsizetype at = rng.bounded(int(data.size()));
                const QByteArray junk = test::randomBytes(1 + rng.bounded(256), rng.generate());
                for (qsizetype j = 0; j < junk.size() && at + j < data.size(); ++j)
                    data[at + j] = junk[j];
            }
        } else if (damage == QStringLiteral("byte") || damage == QStringLiteral("seal")) {
            data[rng.bounded(int(data.size()))] ^= char(1 + rng.bounded(255));
        } else if (damage == QStringLiteral("whole")) {
            data = test::randomBytes(data.size(), seed);
        } else if (damage == QStringLiteral("meta")) {
            data.replace(0, 2 * 4096, QByteArray(2 * 4096, '\0'));
        } else if (damage == QStringLiteral("half")) {
            data.truncate(data.size() / 2);
        } else if (damage == QStringLiteral("page")) {
            data.chop(4096);
        } else if (damage == QStringLiteral("empty")) {
            data.clear();
        } else if (damage == QStringLiteral("append")) {
            data += test::randomBytes(3 * 4096, seed);
        }
        QVERIFY(writeFile(file, data));

        {
            CachePtr cache = openCache(dir);
            QVERIFY(cache);
            QVERIFY(cache->wasReset());
            int hits = 0;
            QCOMPARE(missOrExact(*cache, content, &hits), QString());
            // and it keeps working
            const Content fresh = sample(30, seed + 100);
            fresh.putInto(*cache);
            QCOMPARE(missOrExact(*cache, fresh, &hits), QString());
            QCOMPARE(hits, fresh.size());
            VD_VERIFY_OK(cache->flush());
        }
        CachePtr cache = openCache(dir);
        QVERIFY(cache);
        QVERIFY2(!cache->wasReset(), qPrintable(cache->resetReason()));
        const Content fresh = sample(30, seed + 100);
        int hits = 0;
        QCOMPARE(missOrExact(*cache, fresh, &hits), QString());
        QCOMPARE(hits, fresh.size());
        QCOMPARE(cache->stamp(), fresh.stamp);
    }

    // Damage the seal cannot see (done while the file was open, or by a
    // forger): the checks inside the file catch it.
    void damageBehindTheSealIsCaughtOnRead()
    {
        const QByteArray marker = "<<this record is the one damaged by the test>>";
        Content content = sample(100, 5);
        content.records[idOf(5000)] = marker;
        const QString dir = populated(content);
        QVERIFY(!dir.isEmpty());
        QByteArray data = readFile(dir + QStringLiteral("/data.mdb"));
        int copies = 0;
        for (qsizetype at = data.indexOf(marker); at >= 0; at = data.indexOf(marker, at + 1), ++copies)
            data[at + 10] = 'X';
        QVERIFY(copies > 0);
        QVERIFY(writeFile(dir + QStringLiteral("/data.mdb"), data));
        QVERIFY(reseal(dir));

        CachePtr cache = openCache(dir);
        QVERIFY(cache);
        QVERIFY2(!cache->wasReset(), qPrintable(cache->resetReason()));
        QCOMPARE(cache->record(idOf(5000)), std::nullopt);
        QCOMPARE(cache->resets(), 1);
        QVERIFY2(cache->resetReason().contains(QStringLiteral("failed its check")), qPrintable(cache->resetReason()));
        int hits = 0;
        QCOMPARE(missOrExact(*cache, content, &hits), QString());
        cache->putRecord(idOf(5000), marker);
        QCOMPARE(cache->record(idOf(5000)), std::optional<QByteArray>(marker));
    }

    void aFileThatIsNotOursIsReplaced()
    {
        const QString dir = populated(sample(10, 6));
        QVERIFY(!dir.isEmpty());
        QByteArray data = readFile(dir + QStringLiteral("/data.mdb"));
        // (LMDB copies pages on write: older copies of the record may lie in free pages)
        int copies = 0;
        for (qsizetype at = data.indexOf("VDRVCACH"); at >= 0; at = data.indexOf("VDRVCACH", at + 1), ++copies)
            data[at] = 'W';
        QVERIFY(copies > 0);
        QVERIFY(writeFile(dir + QStringLiteral("/data.mdb"), data));
        QVERIFY(reseal(dir));
        CachePtr cache = openCache(dir);
        QVERIFY(cache);
        QVERIFY(cache->wasReset());
        QVERIFY2(cache->resetReason().contains(QStringLiteral("format record")), qPrintable(cache->resetReason()));
        QCOMPARE(cache->stamp(), QByteArray());
    }

    void aFullMapStartsOver()
    {
        const QString dir = newDir();
        LmdbCache::Options small;
        small.mapSizeBytes = 1 << 20;
        Content content;
        {
            CachePtr cache = openCache(dir, small);
            QVERIFY(cache);
            for (int i = 0; i < 600; ++i) {
                content.records[idOf(i)] = test::randomBytes(4000, quint32(i));
                cache->putRecord(idOf(i), content.records[idOf(i)]);
                QCOMPARE(cache->record(idOf(i)), std::optional<QByteArray>(content.records[idOf(i)]));
                if (i % 100 == 99)
                    VD_VERIFY_OK(cache->flush());
            }
            QVERIFY(cache->resets() >= 1);
            QVERIFY2(cache->resetReason().contains(QStringLiteral("MDB_MAP_FULL")), qPrintable(cache->resetReason()));
            int hits = 0;
            QCOMPARE(missOrExact(*cache, content, &hits), QString());
            QVERIFY(hits > 0);
            VD_VERIFY_OK(cache->flush());
        }
        CachePtr cache = openCache(dir, small);
        QVERIFY(cache);
        QVERIFY2(!cache->wasReset(), qPrintable(cache->resetReason()));
        int hits = 0;
        QCOMPARE(missOrExact(*cache, content, &hits), QString());
        QCOMPARE(cache->record(idOf(599)), std::optional<QByteArray>(content.records[idOf(599)]));
    }

    void aFolderInUseIsBusy()
    {
        const QString dir = newDir();
        CachePtr first = openCache(dir);
        QVERIFY(first);
        VD_VERIFY_CODE(LmdbCache::open(dir), ErrorCode::Busy);
        first.reset();
        VD_VERIFY_OK(LmdbCache::open(dir));
    }

    void usableFromThreadsInTurn()
    {
        const QString dir = newDir();
        CachePtr cache = openCache(dir);
        QVERIFY(cache);
        // std::thread, joined: the hand-off between the turns is one that
        // ThreadSanitizer sees (QThread::wait() synchronises inside Qt).
        std::thread writer([&cache] {
            for (int i = 0; i < 100; ++i)
                cache->putPath(QStringLiteral("/t/%1").arg(i), idOf(i));
        });
        writer.join();
        VD_VERIFY_OK(cache->flush()); // commits what the other thread began
        cache->putPath(QStringLiteral("/main"), idOf(1000));
        std::thread other([&cache] {
            cache->invalidatePaths(QStringLiteral("/t/5"));
            (void)cache->flush();
        });
        other.join();
        QCOMPARE(cache->stats().paths, uint64_t(100));
        cache.reset();
        cache = openCache(dir);
        QVERIFY(cache);
        QVERIFY(!cache->wasReset());
        QCOMPARE(cache->pathId(QStringLiteral("/t/5")), std::nullopt);
        QCOMPARE(cache->pathId(QStringLiteral("/t/50")), std::optional<Ruid>(idOf(50)));
        QCOMPARE(cache->pathId(QStringLiteral("/main")), std::optional<Ruid>(idOf(1000)));
    }

    void sealFaults_data()
    {
        QTest::addColumn<int>("fault");
        QTest::newRow("io-error") << int(io::FaultEnv::Fault::IoError);
        QTest::newRow("no-space") << int(io::FaultEnv::Fault::NoSpace);
        QTest::newRow("torn-write") << int(io::FaultEnv::Fault::TornWrite);
        QTest::newRow("power-cut") << int(io::FaultEnv::Fault::PowerCut);
    }

    // A session on a sealed cache, with a fault at each step of its own
    // files in turn (opening: the folder and the lock; closing: writing the
    // new seal): it is refused with an IoError, or it answers what the file
    // holds; the next open then trusts only a file sealed for exactly its
    // bytes, so it answers the last flush or starts empty — never the
    // entries flushed before it. A later session works as if nothing had
    // happened.
    void sealFaults()
    {
        QFETCH(int, fault);
        const Content before = sample(120, 11);
        const Content after = sample(120, 12); // the same keys, other values and stamp
        io::FaultEnv counting(io::Env::posix());
        {
            const QString dir = populated(before);
            QVERIFY(!dir.isEmpty());
            LmdbCache::Options o;
            o.env = &counting;
            CachePtr c = openCache(dir, o);
            QVERIFY(c);
            after.putInto(*c);
            VD_VERIFY_OK(c->flush());
        }
        const uint64_t steps = counting.steps();
        QVERIFY2(steps >= 4, qPrintable(QStringLiteral("%1 steps").arg(steps))); // at least the seal's remove, create, write, rename
        for (uint64_t k = 1; k <= steps; ++k) {
            const QString row = QStringLiteral("fault at step %1 of %2").arg(k).arg(steps);
            const QString dir = populated(before);
            QVERIFY(!dir.isEmpty());
            io::FaultEnv faulty(io::Env::posix());
            faulty.arm(k, io::FaultEnv::Fault(fault));
            LmdbCache::Options o;
            o.env = &faulty;
            const Content *latest = &before;
            {
                auto c = LmdbCache::open(dir, o);
                if (!c) {
                    QVERIFY2(c.status().code() == ErrorCode::IoError && c.status().message().contains(dir),
                             qPrintable(row + QStringLiteral(": ") + c.status().toString()));
                } else {
                    int hits = 0;
                    QCOMPARE(missOrExact(**c, before, &hits), QString());
                    after.putInto(**c);
                    VD_VERIFY_OK((*c)->flush());
                    latest = &after;
                }
            }
            QVERIFY2(faulty.fired(), qPrintable(row));
            CachePtr again = openCache(dir);
            QVERIFY2(again, qPrintable(row));
            int hits = 0;
            const QString wrong = missOrExact(*again, *latest, &hits);
            QVERIFY2(wrong.isEmpty(), qPrintable(row + QStringLiteral(": ") + wrong));
            if (again->wasReset())
                QVERIFY2(hits == 0, qPrintable(row + QStringLiteral(": reset, yet %1 hits").arg(hits)));
            else
                QVERIFY2(hits == latest->size(), qPrintable(row + QStringLiteral(": %1 hits of %2").arg(hits).arg(latest->size())));
            // The next clean session seals and is trusted as usual.
            const Content next = sample(40, 13);
            next.putInto(*again);
            VD_VERIFY_OK(again->flush());
            again.reset();
            CachePtr last = openCache(dir);
            QVERIFY2(last && !last->wasReset(), qPrintable(row + QStringLiteral(": ") + (last ? last->resetReason() : QString())));
            QCOMPARE(missOrExact(*last, next, &hits), QString());
            QVERIFY2(hits >= next.size(), qPrintable(row));
        }
    }

    // A file that cannot be trusted (no seal: the last session did not
    // close) is removed and an empty cache made; a fault at any step of
    // that refuses the cache or leaves it empty, and what the untrusted
    // file held is never served, now or at the next open.
    void startingOverFaults_data() { sealFaults_data(); }
    void startingOverFaults()
    {
        QFETCH(int, fault);
        const Content untrusted = sample(120, 21);
        auto unsealed = [&]() -> QString {
            const QString dir = populated(untrusted);
            return !dir.isEmpty() && QFile::remove(dir + QStringLiteral("/data.seal")) ? dir : QString();
        };
        io::FaultEnv counting(io::Env::posix());
        {
            const QString dir = unsealed();
            QVERIFY(!dir.isEmpty());
            LmdbCache::Options o;
            o.env = &counting;
            CachePtr c = openCache(dir, o);
            QVERIFY(c && c->wasReset());
        }
        const uint64_t steps = counting.steps();
        QVERIFY2(steps >= 3, qPrintable(QStringLiteral("%1 steps").arg(steps))); // removing the old files at least
        for (uint64_t k = 1; k <= steps; ++k) {
            const QString row = QStringLiteral("fault at step %1 of %2").arg(k).arg(steps);
            const QString dir = unsealed();
            QVERIFY(!dir.isEmpty());
            io::FaultEnv faulty(io::Env::posix());
            faulty.arm(k, io::FaultEnv::Fault(fault));
            LmdbCache::Options o;
            o.env = &faulty;
            {
                auto c = LmdbCache::open(dir, o);
                if (!c) {
                    QVERIFY2(c.status().code() == ErrorCode::IoError && c.status().message().contains(dir),
                             qPrintable(row + QStringLiteral(": ") + c.status().toString()));
                } else {
                    int hits = 0;
                    QVERIFY2((*c)->wasReset(), qPrintable(row));
                    QCOMPARE(missOrExact(**c, untrusted, &hits), QString());
                    QVERIFY2(hits == 0 && (*c)->stamp().isEmpty(), qPrintable(row + QStringLiteral(": %1 hits").arg(hits)));
                }
            }
            QVERIFY2(faulty.fired(), qPrintable(row));
            CachePtr again = openCache(dir);
            QVERIFY2(again, qPrintable(row));
            int hits = 0;
            QCOMPARE(missOrExact(*again, untrusted, &hits), QString());
            QVERIFY2(hits == 0 && again->stamp().isEmpty(), qPrintable(row + QStringLiteral(": %1 hits after reopening").arg(hits)));
        }
    }

    void aFolderUnderAFileIsAnIoError()
    {
        const QString file = m_tmp.filePath(QStringLiteral("plain-file"));
        QVERIFY(writeFile(file, "not a folder"));
        auto c = LmdbCache::open(file + QStringLiteral("/cache"));
        VD_VERIFY_CODE(c, ErrorCode::IoError);
        QVERIFY2(c.status().message().contains(file), qPrintable(c.status().message()));
    }

    void anUnwritableFolderIsAnIoError()
    {
        if (::geteuid() == 0)
            QSKIP("root can write to any folder");
        const QString dir = newDir();
        QVERIFY(QDir().mkpath(dir));
        QVERIFY(::chmod(QFile::encodeName(dir).constData(), 0555) == 0);
        auto inside = LmdbCache::open(dir);
        auto below = LmdbCache::open(dir + QStringLiteral("/sub"));
        QVERIFY(::chmod(QFile::encodeName(dir).constData(), 0755) == 0);
        VD_VERIFY_CODE(inside, ErrorCode::IoError);
        QVERIFY2(inside.status().message().contains(dir), qPrintable(inside.status().message()));
        VD_VERIFY_CODE(below, ErrorCode::IoError);
    }
};

QTEST_GUILESS_MAIN(TestLmdbCache)
#include "tst_lmdbcache.moc"
