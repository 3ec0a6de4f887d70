// A collection on real files: objects of every size round-trip through idvd,
// reopen, ranges, replacement, removal and space given back, corruption
// detected by hash, SmallBlocks, catalog compaction, and the transaction
// rules (uncommitted work vanishes, cancel rolls back, read-only refuses).
#include "testsupport.h"

#include "io/env.h"
#include "io/memenv.h"
#include "storage/blockheader.h"
#include "storage/collection.h"

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
            // (header magic "VDBK", format 1, kind 3); catalog pages are zstd too
            const qsizetype block = disk.indexOf(QByteArray("VDBK\x01\x00\x03", 7));
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
