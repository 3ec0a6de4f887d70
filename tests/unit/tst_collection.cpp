// A collection on real files: objects of every size round-trip through idvd,
// reopen, ranges, replacement, removal and space given back, corruption
// detected by hash, SmallBlocks, catalog compaction, and the transaction
// rules (uncommitted work vanishes, cancel rolls back, read-only refuses).
#include "testsupport.h"

#include "io/env.h"
#include "io/memenv.h"
#include "storage/blockheader.h"
#include "storage/collection.h"
#include "storage/metafile.h"
#include "tree/drive.h"

#include "core/bytes.h"

#include <QBuffer>
#include <QFile>
#include <QTemporaryDir>

using namespace vd;
using namespace vd::storage;

namespace {

QByteArray readAll(Collection &c, const QString &key)
{
    QByteArray out;
    QBuffer buf(&out);
    buf.open(QIODevice::WriteOnly);
    const Status st = c.getObject(key, buf);
    if (!st)
        qWarning("getObject(%s): %s", qPrintable(key), qPrintable(st.toString()));
    return st ? out : QByteArray("<failed>");
}

constexpr uint64_t MiB = uint64_t(1) << 20;
const uint64_t cap0 = BlockHeader::capacity(0);
const uint64_t cap16 = BlockHeader::capacity(4);

bool anyContains(const std::vector<QString> &lines, const QString &needle)
{
    return std::any_of(lines.begin(), lines.end(), [&](const QString &l) { return l.contains(needle); });
}

QString joined(const std::vector<QString> &lines)
{
    return QStringList(lines.begin(), lines.end()).join(QStringLiteral(" | "));
}

// A collection on a MemEnv with two acknowledged commits: "old" in the first,
// "new" (3 MiB, data blocks) and "small" (packed) in the second.
struct TwoCommits
{
    io::MemEnv mem;
    QString dir;
    uint64_t acknowledged = 0; // the second commit's generation
    Meta newest;               // .meta's copy of it
    QByteArray big = test::randomBytes(qsizetype(3 * MiB + 5), 31);

    Status make()
    {
        VD_TRY_ASSIGN(auto c, Collection::create(mem, QStringLiteral("/data"), QStringLiteral("twice")));
        VD_TRY(c->putObjectBytes(QStringLiteral("old"), "before"));
        VD_TRY(c->commit());
        VD_TRY(c->putObjectBytes(QStringLiteral("new"), big));
        VD_TRY(c->putObjectBytes(QStringLiteral("small"), test::randomBytes(5000, 32)));
        VD_TRY(c->commit());
        acknowledged = c->generation();
        dir = c->path();
        VD_TRY_ASSIGN(const QByteArray meta, mem.contents(path(".meta")));
        VD_TRY_ASSIGN(newest, Meta::decodeCopy(QByteArrayView(meta).sliced(copyOffset(acknowledged), Meta::kCopySize)));
        return {};
    }
    QString path(const char *name) const { return dir + QLatin1Char('/') + QLatin1String(name); }
    static qsizetype copyOffset(uint64_t generation) { return qsizetype(generation % 2) * Meta::kCopySize; }
    // Overwrites 16 bytes inside the .meta copy of `generation`.
    Result<QByteArray> garbleCopy(uint64_t generation)
    {
        VD_TRY_ASSIGN(QByteArray meta, mem.contents(path(".meta")));
        meta.replace(copyOffset(generation) + 100, 16, QByteArray(16, '\xee'));
        VD_TRY(mem.setContents(path(".meta"), meta));
        return meta;
    }
    Status flipIdvdByte(uint64_t at)
    {
        VD_TRY_ASSIGN(QByteArray idvd, mem.contents(path("idvd")));
        idvd[qsizetype(at)] = char(idvd[qsizetype(at)] ^ 0x20);
        return mem.setContents(path("idvd"), idvd);
    }
};

// Every file and JSON document of a drive, by path, and what it holds.
Status collectTree(tree::Drive &d, const QString &dir, const QString &at, std::map<QString, QByteArray> *out)
{
    VD_TRY_ASSIGN(const auto entries, d.list(dir, at));
    for (const tree::VNode &n : entries) {
        const QString path = (dir == QStringLiteral("/") ? dir : dir + QLatin1Char('/')) + n.name;
        QByteArray bytes;
        QBuffer buf(&bytes);
        buf.open(QIODevice::WriteOnly);
        if (n.kind == tree::Kind::Directory) {
            (*out)[path] = "<dir>";
            VD_TRY(collectTree(d, path, at, out));
        } else if (n.kind == tree::Kind::File) {
            VD_TRY(d.readFile(path, buf, {}, at));
            (*out)[path] = bytes;
        } else {
            VD_TRY(d.exportJson(path, buf, 2, at));
            (*out)[path] = bytes;
        }
    }
    return {};
}

} // namespace

class TestCollection : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_tmp;
    io::Env *m_env = io::Env::posix();

    std::unique_ptr<Collection> createFresh(const QString &name, const CreateOptions &opts = {})
    {
        auto c = Collection::create(*m_env, m_tmp.path() + QStringLiteral("/") + name, name, opts);
        if (!c)
            qFatal("create: %s", qPrintable(c.status().toString()));
        return std::move(c).value();
    }
    std::unique_ptr<Collection> reopen(std::unique_ptr<Collection> &c, Access access = Access::ReadWrite)
    {
        const QString dir = c->path();
        c.reset();
        auto again = Collection::open(*m_env, dir, access);
        if (!again)
            qFatal("reopen: %s", qPrintable(again.status().toString()));
        return std::move(again).value();
    }
    void verifyClean(Collection &c)
    {
        const FsckReport r = c.fsck();
        QVERIFY2(r.isClean(), qPrintable(r.faults.empty() ? QString() : r.faults.front()));
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_tmp.isValid()); }

    void roundTripsEverySize_data()
    {
        QTest::addColumn<quint64>("size");
        const std::vector<std::pair<const char *, uint64_t>> sizes = {
            {"0", 0}, {"1", 1}, {"100", 100}, {"1 MiB cap - 1", cap0 - 1}, {"1 MiB cap", cap0}, {"1 MiB cap + 1", cap0 + 1},
            {"1 MiB", MiB}, {"1 MiB + 1", MiB + 1}, {"2 MiB - 1", 2 * MiB - 1}, {"2 MiB", 2 * MiB}, {"2 MiB + 1", 2 * MiB + 1},
            {"4 MiB - 1", 4 * MiB - 1}, {"4 MiB", 4 * MiB}, {"4 MiB + 1", 4 * MiB + 1}, {"8 MiB - 1", 8 * MiB - 1},
            {"8 MiB", 8 * MiB}, {"8 MiB + 1", 8 * MiB + 1}, {"16 MiB cap", cap16}, {"16 MiB cap + 1", cap16 + 1},
            {"16 MiB - 1", 16 * MiB - 1}, {"16 MiB", 16 * MiB}, {"16 MiB + 1", 16 * MiB + 1}, {"17.5 MiB", 17 * MiB + MiB / 2},
            {"33 MiB + 7", 33 * MiB + 7}, {"100 MiB", 100 * MiB},
        };
        for (const auto &[name, size] : sizes)
            QTest::newRow(name) << quint64(size);
    }
    void roundTripsEverySize()
    {
        QFETCH(quint64, size);
        auto c = createFresh(QStringLiteral("rt%1").arg(size));
        const QByteArray data = test::randomBytes(qsizetype(size), quint32(size));
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("obj"), data));
        QCOMPARE(readAll(*c, QStringLiteral("obj")), data); // before the commit, from the same transaction
        VD_VERIFY_OK(c->commit());
        c = reopen(c, Access::ReadOnly);
        auto st = c->statObject(QStringLiteral("obj"));
        VD_VERIFY_OK(st);
        QCOMPARE(st->size, size);
        QCOMPARE(readAll(*c, QStringLiteral("obj")), data);
        // ranges across every piece boundary come back exact
        QRandomGenerator rng(quint32(size) + 1);
        for (int i = 0; i < 8 && size > 0; ++i) {
            const uint64_t off = rng.bounded(quint32(size));
            const uint64_t len = 1 + rng.bounded(quint32(std::min<uint64_t>(size - off, 3 * MiB)));
            auto part = c->readObject(QStringLiteral("obj"), off, len);
            VD_VERIFY_OK(part);
            QCOMPARE(*part, data.mid(qsizetype(off), qsizetype(len)));
        }
        auto info = c->info();
        VD_VERIFY_OK(info);
        QCOMPARE(info->logicalBytes, size);
        // Data blocks never cost more than the object rounded up to the next MiB.
        QVERIFY2(info->dataBlockBytes <= (size + MiB - 1) / MiB * MiB,
                 qPrintable(QStringLiteral("%1 bytes in %2 of data blocks").arg(size).arg(info->dataBlockBytes)));
        verifyClean(*c);
    }

    void seventeenAndAHalfMiBCostsSeventeenPlusATail()
    {
        auto c = createFresh(QStringLiteral("pad"));
        const uint64_t size = 17 * MiB + MiB / 2;
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("x"), test::randomBytes(qsizetype(size), 9)));
        VD_VERIFY_OK(c->commit());
        auto info = c->info();
        VD_VERIFY_OK(info);
        QCOMPARE(info->dataBlockBytes, 17 * MiB); // a 16 MiB and a 1 MiB block
        QCOMPARE(info->blocksPerClass[4], uint64_t(1));
        QCOMPARE(info->smallSlots, uint64_t(1)); // the last half MiB is packed
        QVERIFY(info->smallStoredBytes < MiB / 2 + 1024);
    }

    void replacingAndRemovingGiveSpaceBack()
    {
        auto c = createFresh(QStringLiteral("space"));
        const QString idvd = c->path() + QStringLiteral("/idvd");
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("small"), "tiny"));
        VD_VERIFY_OK(c->commit());
        const qint64 baseline = QFileInfo(idvd).size();
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("big"), test::randomBytes(qsizetype(60 * MiB), 3)));
        VD_VERIFY_OK(c->commit());
        QVERIFY(QFileInfo(idvd).size() >= baseline + qint64(60 * MiB));
        // Replacing with something small frees the big blocks...
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("big"), "now small"));
        VD_VERIFY_OK(c->commit());
        QCOMPARE(readAll(*c, QStringLiteral("big")), QByteArray("now small"));
        // ...and the free units at the tail go back to the file system.
        QCOMPARE(QFileInfo(idvd).size(), baseline);
        auto list = c->listObjects();
        VD_VERIFY_OK(list);
        QCOMPARE(list->size(), size_t(2));
        VD_VERIFY_OK(c->removeObject(QStringLiteral("big")));
        VD_VERIFY_CODE(c->removeObject(QStringLiteral("big")), ErrorCode::NotFound);
        VD_VERIFY_OK(c->commit());
        VD_VERIFY_CODE(c->statObject(QStringLiteral("big")), ErrorCode::NotFound);
        auto info = c->info();
        VD_VERIFY_OK(info);
        QCOMPARE(info->objects, uint64_t(1));
        QCOMPARE(info->logicalBytes, uint64_t(4));
        verifyClean(*c);
    }

    void aFlippedByteIsCaughtByItsHash_data()
    {
        QTest::addColumn<qsizetype>("size");
        QTest::addColumn<bool>("compressible");
        QTest::newRow("data block") << qsizetype(5 * MiB) << false;
        QTest::newRow("packed raw") << qsizetype(30000) << false;
        QTest::newRow("packed zstd") << qsizetype(30000) << true;
    }
    void aFlippedByteIsCaughtByItsHash()
    {
        QFETCH(qsizetype, size);
        QFETCH(bool, compressible);
        auto c = createFresh(QStringLiteral("flip%1%2").arg(size).arg(compressible));
        const QByteArray data = test::randomBytes(size, 77, compressible);
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("victim"), data));
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("bystander"), test::randomBytes(2 * qsizetype(MiB), 78)));
        VD_VERIFY_OK(c->commit());
        const QString path = c->path() + QStringLiteral("/idvd");
        c.reset();
        // Find the victim's bytes on disk (raw or compressed) and flip one.
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadWrite));
        const QByteArray disk = f.readAll();
        qsizetype at = -1;
        if (!compressible) {
            at = disk.indexOf(data.mid(size / 2, 64));
        } else {
            // the first zstd frame (magic 28 b5 2f fd) inside the SmallData block
            // (header magic "VDBK", format 2, kind 3); catalog pages are zstd too
            const qsizetype block = disk.indexOf(QByteArray("VDBK\x02\x00\x03", 7));
            at = block < 0 ? -1 : disk.indexOf(QByteArray("\x28\xb5\x2f\xfd", 4), block);
            if (at >= 0)
                at += 40;
        }
        QVERIFY2(at > 0, "the object's bytes were not found in idvd");
        f.seek(at);
        f.write(QByteArray(1, char(disk[at] ^ 0x10)));
        f.close();

        auto again = Collection::open(*m_env, QFileInfo(path).path(), Access::ReadOnly);
        VD_VERIFY_OK(again);
        QByteArray sink;
        QBuffer buf(&sink);
        buf.open(QIODevice::WriteOnly);
        const Status st = (*again)->getObject(QStringLiteral("victim"), buf);
        QCOMPARE(st.code(), ErrorCode::Corruption);
        QVERIFY2(st.message().contains(QStringLiteral("SHA-256")) || st.message().contains(QStringLiteral("decompress")), qPrintable(st.message()));
        // Everything else is still served.
        QCOMPARE(readAll(**again, QStringLiteral("bystander")), test::randomBytes(2 * qsizetype(MiB), 78));
        const FsckReport r = (*again)->fsck();
        QVERIFY(!r.isClean());
        bool named = false;
        for (const QString &fault : r.faults)
            named = named || fault.contains(QStringLiteral("victim"));
        QVERIFY2(named, qPrintable(r.faults.empty() ? QString() : r.faults.front()));
    }

    void manySmallObjectsPackTightly()
    {
        auto c = createFresh(QStringLiteral("small"));
        QRandomGenerator rng(5);
        std::map<QString, QByteArray> model;
        uint64_t logical = 0;
        for (int batch = 0; batch < 6; ++batch) {
            for (int i = 0; i < 500; ++i) {
                const QString key = QStringLiteral("dir%1/file%2.txt").arg(batch).arg(i);
                const QByteArray data = test::randomBytes(1024 + qsizetype(rng.bounded(15 * 1024)), rng.generate(), i % 2 == 0);
                VD_VERIFY_OK(c->putObjectBytes(key, data));
                model[key] = data;
                logical += uint64_t(data.size());
            }
            VD_VERIFY_OK(c->commit());
        }
        c = reopen(c);
        auto info = c->info();
        VD_VERIFY_OK(info);
        QCOMPARE(info->objects, uint64_t(model.size()));
        QCOMPARE(info->smallSlots, uint64_t(model.size()));
        QCOMPARE(info->dataBlocks, uint64_t(0));
        // Packed (half of it compressible) into few 4 MiB blocks.
        QVERIFY2(info->smallBlockBytes <= logical, qPrintable(QStringLiteral("%1 allocated for %2").arg(info->smallBlockBytes).arg(logical)));
        for (const auto &[key, data] : model)
            QCOMPARE(readAll(*c, key), data);
        // Removing half updates the live counts; fsck checks them.
        int n = 0;
        for (auto it = model.begin(); it != model.end();) {
            if (n++ % 2) {
                VD_VERIFY_OK(c->removeObject(it->first));
                it = model.erase(it);
            } else {
                ++it;
            }
        }
        VD_VERIFY_OK(c->commit());
        verifyClean(*c);
        c = reopen(c, Access::ReadOnly);
        for (const auto &[key, data] : model)
            QCOMPARE(readAll(*c, key), data);
    }

    void catalogSpaceStaysBoundedOverManyCommits()
    {
        auto c = createFresh(QStringLiteral("compact"));
        for (int i = 0; i < 20000; ++i)
            VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("key-%1").arg(i, 6, 10, QLatin1Char('0')), test::randomBytes(40, quint32(i))));
        VD_VERIFY_OK(c->commit());
        // Each commit rewrites a path of pages. A few keys are hot, the rest
        // change now and then, so old catalog blocks keep a few live pages
        // each: without compaction the catalog would only grow.
        QRandomGenerator rng(11);
        for (int round = 0; round < 3000; ++round) {
            const int key = round % 4 ? int(rng.bounded(50)) : int(rng.bounded(20000));
            VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("key-%1").arg(key, 6, 10, QLatin1Char('0')), QByteArray::number(round)));
            VD_VERIFY_OK(c->commit());
        }
        auto info = c->info();
        VD_VERIFY_OK(info);
        qInfo("catalog: %llu bytes in %llu blocks, %llu live", qulonglong(info->catalogBytes), qulonglong(info->catalogBlocks), qulonglong(info->catalogLiveBytes));
        QVERIFY2(info->catalogBytes <= 24 * MiB, qPrintable(QStringLiteral("catalog holds %1 bytes in %2 blocks").arg(info->catalogBytes).arg(info->catalogBlocks)));
        verifyClean(*c);
        c = reopen(c);
        auto last = c->statObject(QStringLiteral("key-000007"));
        VD_VERIFY_OK(last);
    }

    // A change that rewrites every page of a sealed catalog block drains
    // it, and the block leaves the segment table at once. The committed
    // tree still reaches those pages until the change commits: the change
    // feed reads it at commit to describe what changed. Before the fix that
    // read failed ("a catalog page reference points at offset …, which
    // holds no catalog block") and the whole change was rolled back — a
    // 1 TiB drive's puts hit it every few commits.
    void theCommittedTreeStaysReadableWhileAChangeDrainsItsBlocks()
    {
        auto c = createFresh(QStringLiteral("drained"));
        auto key = [](int i) { return QStringLiteral("key-%1").arg(i, 6, 10, QLatin1Char('0')); };
        constexpr int kKeys = 20000;
        // Two commits: the pages the first one wrote last (in the block it
        // left open) are sealed in by the second, and the committed tree
        // lies in that sealed block and in the open one.
        for (int i = 0; i < kKeys; ++i)
            VD_VERIFY_OK(c->putObjectBytes(key(i), test::randomBytes(40, quint32(i))));
        VD_VERIFY_OK(c->commit());
        for (int i = 0; i < kKeys / 2; ++i)
            VD_VERIFY_OK(c->putObjectBytes(key(i), test::randomBytes(40, quint32(2 * kKeys + i))));
        VD_VERIFY_OK(c->commit());
        auto before = c->info();
        VD_VERIFY_OK(before);
        QVERIFY2(before->catalogBlocks >= 2, "the catalog must span a sealed block for this test");
        std::set<uint64_t> committedCatalogBlocks;
        {
            auto map = c->allocationMap();
            VD_VERIFY_OK(map);
            for (const MapBlock &b : map->blocks)
                if (b.use == BlockUse::Catalog)
                    committedCatalogBlocks.insert(b.offset);
        }
        std::map<int, QByteArray> records; // as committed
        {
            auto committed = c->committedCatalog();
            VD_VERIFY_OK(committed);
            for (int i = 0; i < kKeys; i += 97) {
                auto r = (*committed)->get(keys::object(key(i)));
                VD_VERIFY_OK(r);
                QVERIFY(r->has_value());
                records[i] = **r;
            }
        }
        // Every record rewritten: every page of the sealed block released.
        for (int i = 0; i < kKeys; ++i)
            VD_VERIFY_OK(c->putObjectBytes(key(i), test::randomBytes(40, quint32(kKeys + i))));
        // (The test's premise: a block of the committed catalog is drained.)
        auto catalogBlocks = [&c]() {
            std::set<uint64_t> out;
            auto map = c->allocationMap();
            if (map)
                for (const MapBlock &b : map->blocks)
                    if (b.use == BlockUse::Catalog)
                        out.insert(b.offset);
            return out;
        };
        const std::set<uint64_t> nowCatalog = catalogBlocks();
        QVERIFY(std::any_of(committedCatalogBlocks.begin(), committedCatalogBlocks.end(), [&](uint64_t o) { return !nowCatalog.count(o); }));
        // The committed tree reads as it was, page by page and whole.
        auto committed = c->committedCatalog();
        VD_VERIFY_OK(committed);
        for (const auto &[i, record] : records) {
            auto r = (*committed)->get(keys::object(key(i)));
            VD_VERIFY_OK(r);
            QVERIFY(r->has_value());
            QCOMPARE(**r, record);
        }
        uint64_t scanned = 0;
        VD_VERIFY_OK((*committed)->scan(QByteArray(1, keys::kObject), QByteArray(1, keys::kObject + 1), [&](QByteArrayView, QByteArrayView) {
            ++scanned;
            return true;
        }));
        QCOMPARE(scanned, uint64_t(kKeys));
        committed->reset();
        VD_VERIFY_OK(c->commit());
        verifyClean(*c);
        c = reopen(c);
        QCOMPARE(readAll(*c, key(4242)), test::randomBytes(40, quint32(kKeys + 4242)));
        verifyClean(*c);
    }

    void uncommittedWorkVanishes()
    {
        auto c = createFresh(QStringLiteral("uncommitted"));
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("kept"), "yes"));
        VD_VERIFY_OK(c->commit());
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("lost"), test::randomBytes(qsizetype(20 * MiB), 1)));
        VD_VERIFY_OK(c->removeObject(QStringLiteral("kept")));
        QVERIFY(c->hasUncommittedChanges());
        c = reopen(c);
        VD_VERIFY_CODE(c->statObject(QStringLiteral("lost")), ErrorCode::NotFound);
        QCOMPARE(readAll(*c, QStringLiteral("kept")), QByteArray("yes"));
        verifyClean(*c); // the blocks the lost object took are free again
        // rollback() does the same without closing
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("lost"), "x"));
        VD_VERIFY_OK(c->rollback());
        VD_VERIFY_CODE(c->statObject(QStringLiteral("lost")), ErrorCode::NotFound);
        verifyClean(*c);
    }

    void cancellingAPutRollsBack()
    {
        auto c = createFresh(QStringLiteral("cancel"));
        QByteArray data = test::randomBytes(qsizetype(40 * MiB), 4);
        QBuffer in(&data);
        in.open(QIODevice::ReadOnly);
        uint64_t seen = 0;
        const Status st = c->putObject(QStringLiteral("half"), in, [&](uint64_t done) {
            seen = done;
            return done < 20 * MiB;
        });
        QCOMPARE(st.code(), ErrorCode::Cancelled);
        QVERIFY(seen >= 20 * MiB);
        VD_VERIFY_CODE(c->statObject(QStringLiteral("half")), ErrorCode::NotFound);
        VD_VERIFY_OK(c->commit());
        verifyClean(*c);
    }

    void readOnlyRefusesWrites()
    {
        auto c = createFresh(QStringLiteral("ro"));
        c = reopen(c, Access::ReadOnly);
        VD_VERIFY_CODE(c->putObjectBytes(QStringLiteral("x"), "y"), ErrorCode::PermissionDenied);
        VD_VERIFY_CODE(c->removeObject(QStringLiteral("x")), ErrorCode::PermissionDenied);
        QVERIFY(c->isReadOnly());
    }

    void badKeysAreRefused_data()
    {
        QTest::addColumn<QString>("key");
        QTest::newRow("empty") << QString();
        QTest::newRow("nul") << QStringLiteral("a") + QChar(0) + QStringLiteral("b");
        QTest::newRow("1001 bytes") << QString(1001, QLatin1Char('k'));
        QTest::newRow("lone surrogate") << QString(QChar(0xd800));
    }
    void badKeysAreRefused()
    {
        QFETCH(QString, key);
        auto c = createFresh(QStringLiteral("keys%1").arg(QString::fromLatin1(QTest::currentDataTag())).remove(QLatin1Char(0x20)));
        VD_VERIFY_CODE(c->putObjectBytes(key, "v"), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(c->statObject(key), ErrorCode::InvalidArgument);
        QVERIFY(!c->hasUncommittedChanges() || c->rollback().isOk());
        auto list = c->listObjects();
        VD_VERIFY_OK(list);
        QVERIFY(list->empty());
        // The longest valid key works.
        VD_VERIFY_OK(c->putObjectBytes(QString(1000, QLatin1Char('k')), "v"));
        VD_VERIFY_OK(c->commit());
    }

    // An acknowledged commit survives damage to the .meta copy that holds
    // it: idvd has its head slot and everything it wrote, all synced before
    // that copy was written, so the generation is opened from there.
    void aDamagedNewestMetaCopyRollsForward()
    {
        TwoCommits t;
        VD_VERIFY_OK(t.make());
        auto garbled = t.garbleCopy(t.acknowledged);
        VD_VERIFY_OK(garbled);
        {
            auto ro = Collection::open(t.mem, t.dir, Access::ReadOnly);
            VD_VERIFY_OK(ro);
            QCOMPARE((*ro)->generation(), t.acknowledged);
            QCOMPARE(readAll(**ro, QStringLiteral("new")), t.big);
            QVERIFY2(anyContains((*ro)->warnings(), QStringLiteral("generation %1 was opened from idvd").arg(t.acknowledged)), qPrintable(joined((*ro)->warnings())));
            auto info = (*ro)->info();
            VD_VERIFY_OK(info);
            QCOMPARE(info->warnings, (*ro)->warnings());
            // fsck says the copy is damaged (a read-only open writes nothing).
            const FsckReport r = (*ro)->fsck();
            QCOMPARE(r.faults.size(), size_t(1));
            QVERIFY2(r.faults.front().startsWith(QStringLiteral(".meta: the copy of generation %1 is unreadable").arg(t.acknowledged)), qPrintable(r.faults.front()));
            QCOMPARE(*t.mem.contents(t.path(".meta")), *garbled);
        }
        {
            // A writable open rewrites the damaged copy.
            auto rw = Collection::open(t.mem, t.dir, Access::ReadWrite);
            VD_VERIFY_OK(rw);
            QCOMPARE((*rw)->generation(), t.acknowledged);
            verifyClean(**rw);
        }
        auto meta = t.mem.contents(t.path(".meta"));
        VD_VERIFY_OK(meta);
        auto copy = Meta::decodeCopy(QByteArrayView(*meta).sliced(TwoCommits::copyOffset(t.acknowledged), Meta::kCopySize));
        VD_VERIFY_OK(copy);
        QVERIFY(*copy == t.newest);
        auto again = Collection::open(t.mem, t.dir, Access::ReadOnly);
        VD_VERIFY_OK(again);
        QVERIFY2((*again)->warnings().empty(), qPrintable(joined((*again)->warnings())));
        verifyClean(**again);
    }

    // When the newer generation in idvd does not verify, the one before is
    // opened, and everything says so until the next commit replaces the copy.
    void aDamagedNewestCopyAndAnUnverifiableGenerationFallBackAndSaySo_data()
    {
        QTest::addColumn<int>("what");
        QTest::newRow("catalog root page") << 0;
        QTest::newRow("data block") << 1;
        QTest::newRow("head slot") << 2;
    }
    void aDamagedNewestCopyAndAnUnverifiableGenerationFallBackAndSaySo()
    {
        QFETCH(int, what);
        TwoCommits t;
        VD_VERIFY_OK(t.make());
        if (what == 0) {
            const PageRef &root = t.newest.root.catalogRoot;
            QCOMPARE(root.birth, t.acknowledged);
            VD_VERIFY_OK(t.flipIdvdByte(root.blockOffset + root.slot.offset + root.slot.storedLength / 2));
        } else if (what == 1) {
            auto idvd = t.mem.contents(t.path("idvd"));
            VD_VERIFY_OK(idvd);
            const qsizetype at = idvd->indexOf(t.big.mid(qsizetype(MiB), 64));
            QVERIFY(at > 0);
            VD_VERIFY_OK(t.flipIdvdByte(uint64_t(at) + 10));
        } else {
            VD_VERIFY_OK(t.flipIdvdByte(HeadSlot::offsetFor(t.acknowledged) + 40));
        }
        auto garbled = t.garbleCopy(t.acknowledged);
        VD_VERIFY_OK(garbled);
        const uint64_t previous = t.acknowledged - 1;
        for (Access access : {Access::ReadOnly, Access::ReadWrite}) {
            auto c = Collection::open(t.mem, t.dir, access);
            VD_VERIFY_OK(c);
            QCOMPARE((*c)->generation(), previous);
            VD_VERIFY_CODE((*c)->statObject(QStringLiteral("new")), ErrorCode::NotFound);
            QCOMPARE(readAll(**c, QStringLiteral("old")), QByteArray("before"));
            const auto &w = (*c)->warnings();
            QVERIFY2(anyContains(w, QStringLiteral("opened generation %1").arg(previous)) && anyContains(w, QStringLiteral("is lost")), qPrintable(joined(w)));
            QVERIFY2(anyContains(w, what == 2 ? QStringLiteral("head slot for generation %1 is unreadable").arg(t.acknowledged)
                                               : QStringLiteral("generation %1 in idvd does not verify").arg(t.acknowledged)),
                     qPrintable(joined(w)));
            const FsckReport r = (*c)->fsck();
            QCOMPARE(r.faults.size(), size_t(1));
            QVERIFY2(r.faults.front().startsWith(QStringLiteral(".meta: the newest copy is unreadable")), qPrintable(r.faults.front()));
            // The evidence stays, even through a writable open.
            QCOMPARE(*t.mem.contents(t.path(".meta")), *garbled);
        }
        // The next commit replaces the damaged copy: healthy again.
        {
            auto c = Collection::open(t.mem, t.dir, Access::ReadWrite);
            VD_VERIFY_OK(c);
            VD_VERIFY_OK((*c)->putObjectBytes(QStringLiteral("later"), "x"));
            VD_VERIFY_OK((*c)->commit());
        }
        auto c = Collection::open(t.mem, t.dir, Access::ReadOnly);
        VD_VERIFY_OK(c);
        QVERIFY2((*c)->warnings().empty(), qPrintable(joined((*c)->warnings())));
        QCOMPARE(readAll(**c, QStringLiteral("later")), QByteArray("x"));
        verifyClean(**c);
    }

    void aDamagedOlderMetaCopyLosesNothing()
    {
        TwoCommits t;
        VD_VERIFY_OK(t.make());
        VD_VERIFY_OK(t.garbleCopy(t.acknowledged - 1));
        {
            auto ro = Collection::open(t.mem, t.dir, Access::ReadOnly);
            VD_VERIFY_OK(ro);
            QCOMPARE((*ro)->generation(), t.acknowledged);
            QVERIFY2(anyContains((*ro)->warnings(), QStringLiteral("older .meta copy is damaged")), qPrintable(joined((*ro)->warnings())));
            const FsckReport r = (*ro)->fsck();
            QCOMPARE(r.faults.size(), size_t(1));
            QVERIFY2(r.faults.front().contains(QStringLiteral("nothing committed is lost")), qPrintable(r.faults.front()));
        }
        {
            auto rw = Collection::open(t.mem, t.dir, Access::ReadWrite);
            VD_VERIFY_OK(rw);
            QCOMPARE((*rw)->generation(), t.acknowledged);
            verifyClean(**rw);
        }
        auto meta = t.mem.contents(t.path(".meta"));
        VD_VERIFY_OK(meta);
        for (int i = 0; i < 2; ++i)
            VD_VERIFY_OK(Meta::decodeCopy(QByteArrayView(*meta).sliced(i * Meta::kCopySize, Meta::kCopySize)));
        QCOMPARE(Collection::open(t.mem, t.dir, Access::ReadOnly).value()->generation(), t.acknowledged);
    }

    // Recovery from idvd alone: .meta and .bitmap deleted or garbled, a
    // tree with files, folders, a JSON document and a snapshot.
    void recoversFromIdvdAlone_data()
    {
        QTest::addColumn<bool>("garble");
        QTest::newRow("deleted") << false;
        QTest::newRow("garbled") << true;
    }
    void recoversFromIdvdAlone()
    {
        QFETCH(bool, garble);
        io::MemEnv mem;
        CreateOptions options;
        options.clusterMaxBlocks = 7; // not the default: it must come back too
        auto created = Collection::create(mem, QStringLiteral("/data"), QStringLiteral("photos 2024"), options);
        VD_VERIFY_OK(created);
        const QString dir = (*created)->path();
        const Ruid ruid = (*created)->ruid();
        auto drive = tree::Drive::attach(std::move(created).value(), vd::test::testDrive());
        VD_VERIFY_OK(drive);
        tree::Drive &d = **drive;
        VD_VERIFY_OK(d.mkdir(QStringLiteral("/albums/summer"), true));
        VD_VERIFY_OK(d.putFileBytes(QStringLiteral("/albums/summer/beach.raw"), test::randomBytes(qsizetype(5 * MiB + 77), 41)));
        VD_VERIFY_OK(d.putFileBytes(QStringLiteral("/albums/note.txt"), "remember the sunscreen"));
        QByteArray json("{\"camera\": {\"iso\": 200, \"lens\": [24, 70]}, \"ok\": true}");
        QBuffer jsonIn(&json);
        jsonIn.open(QIODevice::ReadOnly);
        VD_VERIFY_OK(d.importJson(QStringLiteral("/settings.json"), jsonIn));
        VD_VERIFY_OK(d.commit());
        VD_VERIFY_OK(d.createSnapshot(QStringLiteral("first")));
        VD_VERIFY_OK(d.putFileBytes(QStringLiteral("/albums/note.txt"), "changed after the snapshot"));
        VD_VERIFY_OK(d.setJson(QStringLiteral("/settings.json/camera/iso"), "400"));
        VD_VERIFY_OK(d.commit());
        std::map<QString, QByteArray> live, snap;
        VD_VERIFY_OK(collectTree(d, QStringLiteral("/"), {}, &live));
        VD_VERIFY_OK(collectTree(d, QStringLiteral("/"), QStringLiteral("first"), &snap));
        QVERIFY(live != snap);
        const auto info = d.collection().info();
        VD_VERIFY_OK(info);
        drive = Result<std::unique_ptr<tree::Drive>>(Status::cancelled(QString()));

        for (const char *name : {".meta", ".bitmap"}) {
            const QString path = dir + QLatin1Char('/') + QLatin1String(name);
            if (garble)
                VD_VERIFY_OK(mem.setContents(path, test::randomBytes(name == QByteArray(".meta") ? 8192 : 300, 5)));
            else
                VD_VERIFY_OK(mem.remove(path));
        }
        VD_VERIFY_CODE(Collection::open(mem, dir, Access::ReadOnly), ErrorCode::Corruption);

        uint64_t recovered = 0;
        auto c = Collection::recover(mem, dir, &recovered);
        VD_VERIFY_OK(c);
        QCOMPARE(recovered, info->generation);
        QVERIFY2((*c)->warnings().empty(), qPrintable(joined((*c)->warnings())));
        c = Result<std::unique_ptr<Collection>>(Status::cancelled(QString()));

        auto again = tree::Drive::open(mem, dir, Access::ReadOnly);
        VD_VERIFY_OK(again);
        storage::Collection &col = (*again)->collection();
        QCOMPARE(col.ruid(), ruid);
        QCOMPARE(col.name(), QStringLiteral("photos 2024"));
        auto peek = Collection::peekMeta(mem, dir);
        VD_VERIFY_OK(peek);
        QCOMPARE(int(peek->clusterMaxBlocks), 7);
        QCOMPARE(peek->createdMs, info->createdMs);
        const FsckReport r = (*again)->fsck();
        QVERIFY2(r.isClean(), qPrintable(joined(r.faults)));
        std::map<QString, QByteArray> liveAfter, snapAfter;
        VD_VERIFY_OK(collectTree(**again, QStringLiteral("/"), {}, &liveAfter));
        VD_VERIFY_OK(collectTree(**again, QStringLiteral("/"), QStringLiteral("first"), &snapAfter));
        QVERIFY(liveAfter == live);
        QVERIFY(snapAfter == snap);
    }

    // A collection made by an earlier build: its head slots hold the root
    // record only. It opens as before; the first writable open writes this
    // build's head slot, after which idvd alone is enough again.
    void anEarlierBuildsHeadSlotIsUpgradedAtTheFirstWritableOpen()
    {
        TwoCommits t;
        VD_VERIFY_OK(t.make());
        auto idvd = t.mem.contents(t.path("idvd"));
        VD_VERIFY_OK(idvd);
        for (uint64_t g : {t.acknowledged - 1, t.acknowledged}) {
            auto slot = HeadSlot::decode(idvd->mid(qsizetype(HeadSlot::offsetFor(g)), HeadSlot::kSlotSize), t.newest.ruid);
            VD_VERIFY_OK(slot);
            QByteArray old;
            ByteWriter w(&old);
            const QByteArray body = slot->state.root.encode(false);
            w.u32(HeadSlot::kMagic);
            w.u16(2);
            w.u16(uint16_t(body.size()));
            w.bytes(t.newest.ruid.view());
            w.bytes(body);
            w.bytes(sha256(old).view());
            old.resize(HeadSlot::kSlotSize, '\0');
            idvd->replace(qsizetype(HeadSlot::offsetFor(g)), HeadSlot::kSlotSize, old);
        }
        VD_VERIFY_OK(t.mem.setContents(t.path("idvd"), *idvd));
        {
            auto ro = Collection::open(t.mem, t.dir, Access::ReadOnly);
            VD_VERIFY_OK(ro);
            QCOMPARE((*ro)->generation(), t.acknowledged);
            verifyClean(**ro);
        }
        QCOMPARE(*t.mem.contents(t.path("idvd")), *idvd); // a read-only open upgrades nothing
        {
            auto rw = Collection::open(t.mem, t.dir, Access::ReadWrite);
            VD_VERIFY_OK(rw);
            QCOMPARE((*rw)->generation(), t.acknowledged + 1);
            verifyClean(**rw);
        }
        VD_VERIFY_OK(t.mem.remove(t.path(".meta")));
        VD_VERIFY_OK(t.mem.remove(t.path(".bitmap")));
        auto c = Collection::recover(t.mem, t.dir);
        VD_VERIFY_OK(c);
        QCOMPARE((*c)->name(), QStringLiteral("twice"));
        QCOMPARE(readAll(**c, QStringLiteral("new")), t.big);
        verifyClean(**c);
    }

    void recoveryFromAnEarlierBuildsHeadSaysWhatIsLost()
    {
        TwoCommits t;
        VD_VERIFY_OK(t.make());
        auto idvd = t.mem.contents(t.path("idvd"));
        VD_VERIFY_OK(idvd);
        QByteArray old;
        ByteWriter w(&old);
        const QByteArray body = t.newest.root.encode(false);
        w.u32(HeadSlot::kMagic);
        w.u16(2);
        w.u16(uint16_t(body.size()));
        w.bytes(t.newest.ruid.view());
        w.bytes(body);
        w.bytes(sha256(old).view());
        idvd->replace(qsizetype(HeadSlot::offsetFor(t.acknowledged)), old.size(), old);
        idvd->replace(qsizetype(HeadSlot::offsetFor(t.acknowledged + 1)), 64, QByteArray(64, '\0'));
        VD_VERIFY_OK(t.mem.setContents(t.path("idvd"), *idvd));
        VD_VERIFY_OK(t.mem.remove(t.path(".meta")));
        VD_VERIFY_OK(t.mem.remove(t.path(".bitmap")));
        auto c = Collection::recover(t.mem, t.dir);
        VD_VERIFY_OK(c);
        QVERIFY2(anyContains((*c)->warnings(), QStringLiteral("written by an earlier vdrive")), qPrintable(joined((*c)->warnings())));
        QCOMPARE((*c)->name(), QStringLiteral("recovered-%1").arg(t.newest.ruid.shortString()));
        QCOMPARE(readAll(**c, QStringLiteral("new")), t.big);
        verifyClean(**c);
    }

    void worksOnTheInMemoryEnvToo()
    {
        io::MemEnv mem;
        auto c = Collection::create(mem, QStringLiteral("/data"), QStringLiteral("mem"));
        VD_VERIFY_OK(c);
        VD_VERIFY_OK((*c)->putObjectBytes(QStringLiteral("a"), test::randomBytes(3 * qsizetype(MiB), 2)));
        VD_VERIFY_OK((*c)->commit());
        const QString dir = (*c)->path();
        c = Result<std::unique_ptr<Collection>>(Status::cancelled(QString()));
        auto again = Collection::open(mem, dir, Access::ReadOnly);
        VD_VERIFY_OK(again);
        QCOMPARE(readAll(**again, QStringLiteral("a")), test::randomBytes(3 * qsizetype(MiB), 2));
    }
};

QTEST_GUILESS_MAIN(TestCollection)
#include "tst_collection.moc"
