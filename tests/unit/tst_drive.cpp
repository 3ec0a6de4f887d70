// The tree through the engine API on real files: folders, files of every
// size, ranges and appends, moves, copies that share blocks, the trash,
// JSON documents, snapshots (browse, diff, restore, delete + gc), look-ups
// by id that refuse detached nodes, bad names and paths, and fsck.
#include "testsupport.h"

#include "io/env.h"
#include "storage/collection.h"
#include "core/hash.h"
#include "storage/records.h"
#include "tree/drive.h"

#include <QBuffer>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>

using namespace vd;
using namespace vd::tree;
using vd::storage::Access;

namespace vd::tree {
// Damages the tree on purpose, as a bug or a bad disk could.
class TreeSurgeon
{
public:
    static Status put(Drive &d, QByteArrayView key, QByteArrayView value) { return d.putRawRecord(key, value); }
    static Status remove(Drive &d, QByteArrayView key) { return d.removeRawRecord(key); }
};
} // namespace vd::tree

namespace {
constexpr uint64_t MiB = uint64_t(1) << 20;

QByteArray readAll(Drive &d, const QString &path, const QString &at = {})
{
    QByteArray out;
    QBuffer buf(&out);
    buf.open(QIODevice::WriteOnly);
    const Status st = d.readFile(path, buf, {}, at);
    if (!st)
        qWarning("readFile(%s): %s", qPrintable(path), qPrintable(st.toString()));
    return st ? out : QByteArray("<failed>");
}

QStringList names(const std::vector<VNode> &nodes)
{
    QStringList out;
    for (const VNode &n : nodes)
        out << n.name;
    return out;
}
} // namespace

class TestDrive : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_tmp;
    io::Env *m_env = io::Env::posix();
    int m_count = 0;

    std::unique_ptr<Drive> fresh()
    {
        const QString name = QStringLiteral("d%1").arg(++m_count);
        auto c = storage::Collection::create(*m_env, m_tmp.path() + QLatin1Char('/') + name, name);
        if (!c)
            qFatal("create: %s", qPrintable(c.status().toString()));
        auto d = Drive::attach(std::move(c).value());
        if (!d)
            qFatal("attach: %s", qPrintable(d.status().toString()));
        return std::move(d).value();
    }
    std::unique_ptr<Drive> reopen(std::unique_ptr<Drive> &d, Access access = Access::ReadWrite)
    {
        const QString dir = d->collection().path();
        d.reset();
        auto again = Drive::open(*m_env, dir, access);
        if (!again)
            qFatal("reopen: %s", qPrintable(again.status().toString()));
        return std::move(again).value();
    }
    void verifyClean(Drive &d)
    {
        const auto r = d.fsck();
        QVERIFY2(r.isClean(), qPrintable(r.faults.empty() ? QString() : r.faults.front()));
    }

private Q_SLOTS:
    void foldersAndFilesSurviveReopen()
    {
        auto d = fresh();
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/a/b/c"), true));
        VD_VERIFY_CODE(d->mkdir(QStringLiteral("/x/y"), false), ErrorCode::NotFound);
        VD_VERIFY_CODE(d->mkdir(QStringLiteral("/a"), false), ErrorCode::AlreadyExists);
        const QByteArray big = test::randomBytes(qsizetype(17 * MiB + 12345), 7);
        const QByteArray small = test::randomBytes(3000, 8, true);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/a/b/big.bin"), big));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/a/small.txt"), small));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/a/empty"), QByteArray()));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/日本語.txt"), "こんにちは"));
        VD_VERIFY_OK(d->commit());
        d = reopen(d);
        QCOMPARE(readAll(*d, QStringLiteral("/a/b/big.bin")), big);
        QCOMPARE(readAll(*d, QStringLiteral("/a/small.txt")), small);
        QCOMPARE(readAll(*d, QStringLiteral("/a/empty")), QByteArray());
        QCOMPARE(readAll(*d, QStringLiteral("/日本語.txt")), QByteArray("こんにちは"));
        QCOMPARE(names(d->list(QStringLiteral("/a")).value()), (QStringList{QStringLiteral("b"), QStringLiteral("empty"), QStringLiteral("small.txt")}));
        const VNode st = d->stat(QStringLiteral("/a/b/big.bin")).value();
        QCOMPARE(st.size, uint64_t(big.size()));
        QCOMPARE(st.kind, Kind::File);
        QCOMPARE(d->pathOf(st.id).value(), QStringLiteral("/a/b/big.bin"));
        QCOMPARE(d->read(QStringLiteral("/a/b/big.bin"), 16 * MiB - 5, 10).value(), big.mid(qsizetype(16 * MiB - 5), 10));
        QCOMPARE(d->stat(QStringLiteral("/a")).value().size, uint64_t(3));
        verifyClean(*d);
    }

    void rangesAndAppendsRewriteOnlyWhatTheyTouch()
    {
        auto d = fresh();
        QByteArray model = test::randomBytes(qsizetype(70 * MiB), 3);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/f"), model));
        VD_VERIFY_OK(d->commit());
        const auto before = d->clusters(QStringLiteral("/f")).value();
        QVERIFY(before.size() >= 2);
        const QByteArray patch = test::randomBytes(1000, 4);
        VD_VERIFY_OK(d->writeFile(QStringLiteral("/f"), 5 * MiB, patch));
        model.replace(qsizetype(5 * MiB), patch.size(), patch);
        const auto after = d->clusters(QStringLiteral("/f")).value();
        QCOMPARE(after.size(), before.size());
        QVERIFY(after[0].pieces[0].blockId != before[0].pieces[0].blockId); // rewritten
        QCOMPARE(after.back().pieces[0].blockId, before.back().pieces[0].blockId); // untouched
        const QByteArray tail = test::randomBytes(5000, 5);
        VD_VERIFY_OK(d->appendFile(QStringLiteral("/f"), tail));
        model += tail;
        VD_VERIFY_OK(d->writeFile(QStringLiteral("/f"), uint64_t(model.size()) + 10, "x"));
        model += QByteArray(10, '\0') + "x";
        VD_VERIFY_OK(d->commit());
        d = reopen(d);
        QCOMPARE(d->stat(QStringLiteral("/f")).value().size, uint64_t(model.size()));
        QCOMPARE(readAll(*d, QStringLiteral("/f")), model);
        verifyClean(*d);
    }

    void movesAndTheirLimits()
    {
        auto d = fresh();
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/a/b"), true));
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/c"), true));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/a/b/f"), "hello"));
        const Ruid id = d->stat(QStringLiteral("/a/b/f")).value().id;
        VD_VERIFY_OK(d->move(QStringLiteral("/a"), QStringLiteral("/c/a2")));
        QCOMPARE(readAll(*d, QStringLiteral("/c/a2/b/f")), QByteArray("hello"));
        QCOMPARE(d->pathOf(id).value(), QStringLiteral("/c/a2/b/f"));
        VD_VERIFY_CODE(d->stat(QStringLiteral("/a/b/f")), ErrorCode::NotFound);
        VD_VERIFY_CODE(d->move(QStringLiteral("/c"), QStringLiteral("/c/a2/b/c")), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(d->move(QStringLiteral("/c/a2/b/f"), QStringLiteral("/c/a2")), ErrorCode::AlreadyExists);
        VD_VERIFY_OK(d->move(QStringLiteral("/c/a2/b/f"), QStringLiteral("/c/a2/b/g")));
        VD_VERIFY_OK(d->commit());
        d = reopen(d);
        QCOMPARE(d->pathOf(id).value(), QStringLiteral("/c/a2/b/g"));
        verifyClean(*d);
    }

    void badNamesAndPathsAreRefused()
    {
        auto d = fresh();
        VD_VERIFY_CODE(d->mkdir(QStringLiteral("relative"), true), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(d->mkdir(QStringLiteral("/a/../b"), true), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(d->mkdir(QStringLiteral("/./b"), true), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(d->putFileBytes(QStringLiteral("/") + QString(256, QLatin1Char('x')), "x"), ErrorCode::InvalidArgument);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/") + QString(255, QLatin1Char('x')), "x"));
        VD_VERIFY_CODE(d->putFileBytes(QStringLiteral("/a") + QChar(0) + QStringLiteral("b"), "x"), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(d->putFileBytes(QStringLiteral("/"), "x"), ErrorCode::InvalidArgument);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/f"), "x"));
        VD_VERIFY_CODE(d->mkdir(QStringLiteral("/f"), false), ErrorCode::AlreadyExists);
        // A name may start with U+FEFF; it must come back unchanged, and a
        // JSON key starting with it is a different key from the one without.
        const QString bom = QChar(0xFEFF) + QStringLiteral("bom");
        VD_VERIFY_OK(d->putFileBytes(QLatin1Char('/') + bom, "b"));
        VD_VERIFY_OK(d->commit());
        d = reopen(d);
        QVERIFY(names(d->list(QStringLiteral("/")).value()).contains(bom));
        QCOMPARE(readAll(*d, QLatin1Char('/') + bom), QByteArray("b"));
        QBuffer doc;
        doc.setData("{\"\xef\xbb\xbfk\":1,\"k\":2}");
        doc.open(QIODevice::ReadOnly);
        VD_VERIFY_OK(d->importJson(QStringLiteral("/bom.json"), doc));
        QByteArray out;
        QBuffer outBuf(&out);
        outBuf.open(QIODevice::WriteOnly);
        VD_VERIFY_OK(d->exportJson(QStringLiteral("/bom.json"), outBuf, -1));
        QCOMPARE(out.trimmed(), QByteArray("{\"\xef\xbb\xbfk\":1,\"k\":2}"));
        VD_VERIFY_CODE(d->putFileBytes(QStringLiteral("/f/g"), "x"), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(d->remove(QStringLiteral("/"), true, false), ErrorCode::InvalidArgument);
        // A refused operation leaves earlier uncommitted work alone.
        VD_VERIFY_OK(d->commit());
        verifyClean(*d);
    }

    void copiesShareBlocksUntilChanged()
    {
        auto d = fresh();
        const QByteArray data = test::randomBytes(qsizetype(20 * MiB), 9);
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/src"), true));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/src/f"), data));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/src/s"), "small"));
        VD_VERIFY_OK(d->commit());
        const uint64_t before = d->collection().info().value().allocatedBytes;
        VD_VERIFY_OK(d->copy(QStringLiteral("/src"), QStringLiteral("/dst")));
        VD_VERIFY_OK(d->commit());
        const uint64_t after = d->collection().info().value().allocatedBytes;
        QVERIFY2(after - before < 4 * MiB, qPrintable(QString::number(after - before)));
        VD_VERIFY_OK(d->writeFile(QStringLiteral("/dst/f"), 0, "CHANGED"));
        VD_VERIFY_OK(d->remove(QStringLiteral("/src/s"), false, false));
        VD_VERIFY_OK(d->commit());
        QCOMPARE(readAll(*d, QStringLiteral("/src/f")), data);
        QCOMPARE(readAll(*d, QStringLiteral("/dst/f")).left(7), QByteArray("CHANGED"));
        QCOMPARE(readAll(*d, QStringLiteral("/dst/s")), QByteArray("small"));
        VD_VERIFY_OK(d->remove(QStringLiteral("/src"), true, false));
        VD_VERIFY_OK(d->commit());
        QCOMPARE(readAll(*d, QStringLiteral("/dst/f")).mid(7), data.mid(7));
        verifyClean(*d);
    }

    void trashKeepsWhatRemoveTakesUntilEmptied()
    {
        auto d = fresh();
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/docs/sub"), true));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/docs/sub/a"), "A"));
        const Ruid id = d->stat(QStringLiteral("/docs")).value().id;
        VD_VERIFY_CODE(d->remove(QStringLiteral("/docs"), false, true), ErrorCode::InvalidArgument);
        VD_VERIFY_OK(d->remove(QStringLiteral("/docs"), true, true));
        VD_VERIFY_CODE(d->stat(QStringLiteral("/docs/sub/a")), ErrorCode::NotFound);
        VD_VERIFY_CODE(d->statId(id), ErrorCode::NotFound); // in the trash: not served
        VD_VERIFY_OK(d->commit());
        auto trash = d->listTrash().value();
        QCOMPARE(trash.size(), size_t(1));
        QCOMPARE(trash[0].originalPath, QStringLiteral("/docs"));
        VD_VERIFY_OK(d->restoreFromTrash(trash[0].id));
        QCOMPARE(readAll(*d, QStringLiteral("/docs/sub/a")), QByteArray("A"));
        VD_VERIFY_OK(d->remove(QStringLiteral("/docs/sub/a"), false, true));
        QCOMPARE(d->emptyTrash().value(), uint64_t(1));
        VD_VERIFY_OK(d->commit());
        QVERIFY(d->listTrash().value().empty());
        verifyClean(*d);
    }

    void jsonDocumentsKeepOrderAndExactNumbers()
    {
        auto d = fresh();
        const QByteArray doc = R"({"zeta":1,"alpha":{"big":12345678901234567890,"neg":-9223372036854775808,"f":1.50},"list":[true,null,"x",[]],"a/b":"slash"})";
        QBuffer in;
        in.setData(doc);
        in.open(QIODevice::ReadOnly);
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/conf"), true));
        VD_VERIFY_OK(d->importJson(QStringLiteral("/conf/app.json"), in));
        VD_VERIFY_OK(d->commit());
        d = reopen(d);
        QByteArray out;
        QBuffer buf(&out);
        buf.open(QIODevice::WriteOnly);
        VD_VERIFY_OK(d->exportJson(QStringLiteral("/conf/app.json"), buf, -1));
        QCOMPARE(out.trimmed(), doc);
        QCOMPARE(d->stat(QStringLiteral("/conf/app.json/alpha/big")).value().value, QByteArray("12345678901234567890"));
        QCOMPARE(names(d->list(QStringLiteral("/conf/app.json")).value()),
                 (QStringList{QStringLiteral("zeta"), QStringLiteral("alpha"), QStringLiteral("list"), QStringLiteral("a~1b")}));
        VD_VERIFY_OK(d->setJson(QStringLiteral("/conf/app.json/alpha/f"), "2.25"));
        VD_VERIFY_OK(d->setJson(QStringLiteral("/conf/app.json/new"), R"({"k":[1,2]})"));
        VD_VERIFY_OK(d->setJson(QStringLiteral("/conf/app.json/list/4"), "5"));
        VD_VERIFY_CODE(d->setJson(QStringLiteral("/conf/app.json/list/9"), "5"), ErrorCode::InvalidArgument);
        VD_VERIFY_OK(d->deleteJson(QStringLiteral("/conf/app.json/list/0")));
        VD_VERIFY_OK(d->deleteJson(QStringLiteral("/conf/app.json/zeta")));
        VD_VERIFY_OK(d->commit());
        out.clear();
        buf.seek(0);
        VD_VERIFY_OK(d->exportJson(QStringLiteral("/conf/app.json"), buf, -1));
        QCOMPARE(out.trimmed(), QByteArray(R"({"alpha":{"big":12345678901234567890,"neg":-9223372036854775808,"f":2.25},"list":[null,"x",[],5],"a/b":"slash","new":{"k":[1,2]}})"));
        // Invalid JSON: a clear error with line and column, nothing changed.
        QBuffer bad;
        bad.setData("{\n  \"a\": 1,\n  \"b\": ]\n}");
        bad.open(QIODevice::ReadOnly);
        const Status st = test::statusOf(d->importJson(QStringLiteral("/conf/bad.json"), bad));
        QCOMPARE(st.code(), ErrorCode::InvalidArgument);
        QVERIFY2(st.message().contains(QStringLiteral("line 3")), qPrintable(st.message()));
        VD_VERIFY_CODE(d->stat(QStringLiteral("/conf/bad.json")), ErrorCode::NotFound);
        verifyClean(*d);
    }

    void snapshotsBrowseDiffRestoreAndPin()
    {
        auto d = fresh();
        const QByteArray v1 = test::randomBytes(qsizetype(9 * MiB), 11);
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/p"), true));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/p/file"), v1));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/p/gone"), "bye"));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/p/moved"), "m"));
        VD_VERIFY_OK(d->createSnapshot(QStringLiteral("one")));
        VD_VERIFY_CODE(d->createSnapshot(QStringLiteral("one")), ErrorCode::AlreadyExists);
        const QByteArray v2 = test::randomBytes(qsizetype(9 * MiB), 12);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/p/file"), v2));
        VD_VERIFY_OK(d->remove(QStringLiteral("/p/gone"), false, false));
        VD_VERIFY_OK(d->move(QStringLiteral("/p/moved"), QStringLiteral("/moved")));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/p/new"), "n"));
        VD_VERIFY_OK(d->commit());
        VD_VERIFY_OK(d->gc());
        verifyClean(*d);
        // The snapshot still reads the old bytes after gc: they are pinned.
        QCOMPARE(readAll(*d, QStringLiteral("/p/file"), QStringLiteral("one")), v1);
        QCOMPARE(readAll(*d, QStringLiteral("/p/gone"), QStringLiteral("one")), QByteArray("bye"));
        QCOMPARE(readAll(*d, QStringLiteral("/p/file")), v2);
        const auto changes = d->diff(QStringLiteral("one")).value();
        QStringList seen;
        for (const DiffEntry &e : changes)
            seen << changeName(e.change) + QLatin1Char(' ') + e.path + (e.oldPath.isEmpty() ? QString() : QStringLiteral(" <- ") + e.oldPath);
        QVERIFY2(seen.contains(QStringLiteral("modified /p/file")), qPrintable(seen.join(QLatin1Char(','))));
        QVERIFY2(seen.contains(QStringLiteral("removed /p/gone")), qPrintable(seen.join(QLatin1Char(','))));
        QVERIFY2(seen.contains(QStringLiteral("added /p/new")), qPrintable(seen.join(QLatin1Char(','))));
        QVERIFY2(seen.contains(QStringLiteral("moved /moved <- /p/moved")), qPrintable(seen.join(QLatin1Char(','))));
        VD_VERIFY_OK(d->restore(QStringLiteral("one"), QStringLiteral("/p/gone")));
        QCOMPARE(readAll(*d, QStringLiteral("/p/gone")), QByteArray("bye"));
        VD_VERIFY_OK(d->commit());
        const auto snaps = d->listSnapshots(true).value();
        QCOMPARE(snaps.size(), size_t(1));
        QVERIFY2(*snaps[0].uniqueBytes >= 9 * MiB, qPrintable(QString::number(*snaps[0].uniqueBytes)));
        const uint64_t allocated = d->collection().info().value().allocatedBytes;
        VD_VERIFY_OK(d->deleteSnapshot(QStringLiteral("one")));
        VD_VERIFY_OK(d->commit());
        const auto report = d->gc().value();
        QVERIFY(report.bytesFreed >= 8 * MiB);
        QVERIFY(d->collection().info().value().allocatedBytes + 8 * MiB <= allocated);
        VD_VERIFY_CODE(d->stat(QStringLiteral("/p"), QStringLiteral("one")), ErrorCode::NotFound);
        d = reopen(d);
        verifyClean(*d);
        QCOMPARE(readAll(*d, QStringLiteral("/p/file")), v2);
    }

    // A deleted snapshot leaves counts higher than the references: fsck says
    // so without calling it a fault, gc lowers them to the truth, and then
    // the last reference going frees the block at once.
    void gcLowersCountsADeletedSnapshotLeftHigh()
    {
        auto d = fresh();
        const QByteArray shared = test::randomBytes(qsizetype(3 * MiB), 21);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/f"), shared));
        VD_VERIFY_OK(d->copy(QStringLiteral("/f"), QStringLiteral("/g"))); // one block, two references
        VD_VERIFY_OK(d->createSnapshot(QStringLiteral("s")));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/f"), "overwritten")); // the snapshot keeps the old version counted
        VD_VERIFY_OK(d->commit());
        VD_VERIFY_OK(d->deleteSnapshot(QStringLiteral("s")));
        VD_VERIFY_OK(d->commit());

        // Two counted, one left (/g): not corruption, but reported.
        auto r = d->fsck();
        QVERIFY2(r.isClean(), qPrintable(r.faults.empty() ? QString() : r.faults.front()));
        QVERIFY(r.overcountedBlocks >= 1);

        const auto report = d->gc();
        VD_VERIFY_OK(report);
        QVERIFY(report->countsFixed >= 1);
        r = d->fsck();
        QVERIFY2(r.isClean(), qPrintable(r.faults.empty() ? QString() : r.faults.front()));
        QCOMPARE(r.overcountedBlocks, uint64_t(0)); // every count is the truth again
        QCOMPARE(r.reclaimableBytes, uint64_t(0));

        // The last reference goes: the block is free in the same commit.
        const uint64_t allocated = d->collection().info().value().allocatedBytes;
        VD_VERIFY_OK(d->remove(QStringLiteral("/g"), false, false));
        VD_VERIFY_OK(d->commit());
        const uint64_t after = d->collection().info().value().allocatedBytes;
        QVERIFY2(after + 3 * MiB <= allocated, qPrintable(QStringLiteral("%1 bytes allocated before, %2 after").arg(allocated).arg(after)));
        d = reopen(d);
        r = d->fsck();
        QVERIFY2(r.isClean(), qPrintable(r.faults.empty() ? QString() : r.faults.front()));
        QCOMPARE(r.reclaimableBytes, uint64_t(0));
        QCOMPARE(r.overcountedBlocks, uint64_t(0));
    }

    void lmdbCacheIsOnlyACache()
    {
        const QString cacheDir = m_tmp.path() + QStringLiteral("/lmdb");
        DriveOptions opts;
        opts.lmdbCacheDir = cacheDir;
        auto d = fresh();
        const QString dir = d->collection().path();
        QStringList paths;
        for (int i = 0; i < 10; ++i) {
            QString p;
            for (int depth = 0; depth < 10; ++depth)
                p += QStringLiteral("/d%1-%2").arg(i).arg(depth);
            VD_VERIFY_OK(d->mkdir(p, true));
            VD_VERIFY_OK(d->putFileBytes(p + QStringLiteral("/leaf"), QByteArray::number(i)));
            paths << p + QStringLiteral("/leaf");
        }
        const QByteArray big = test::randomBytes(qsizetype(5 * MiB), 77);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/big"), big));
        VD_VERIFY_OK(d->commit());
        d.reset();
        auto answers = [&](Drive &drive) {
            QStringList out;
            for (const QString &p : paths) {
                auto n = drive.stat(p);
                out << (n ? n->id.toString() + QLatin1Char(' ') + QString::number(n->size) : n.status().toString());
            }
            out << sha256(readAll(drive, QStringLiteral("/big"))).toHex();
            return out;
        };
        // A cold process fills the cache; the next one answers from it.
        d = Drive::open(*m_env, dir, Access::ReadWrite, opts).value();
        QVERIFY2(d->lmdbProblem().isEmpty(), qPrintable(d->lmdbProblem()));
        const QStringList truth = answers(*d);
        d.reset();
        d = Drive::open(*m_env, dir, Access::ReadWrite, opts).value();
        QCOMPARE(answers(*d), truth);
        QCOMPARE(d->cacheStats().lmdbHits, uint64_t(paths.size()) + 1);
        QVERIFY(d->collection().cacheCounters().locatorHits > 0); // the big file's blocks were found without the catalog
        // A change made by a process without the cache: the stamp no longer
        // matches, so nothing stale is served.
        d.reset();
        {
            auto other = Drive::open(*m_env, dir, Access::ReadWrite).value();
            VD_VERIFY_OK(other->move(QStringLiteral("/d0-0"), QStringLiteral("/moved")));
            VD_VERIFY_OK(other->putFileBytes(paths[1], "changed"));
            VD_VERIFY_OK(other->commit());
        }
        d = Drive::open(*m_env, dir, Access::ReadWrite, opts).value();
        VD_VERIFY_CODE(d->stat(paths[0]), ErrorCode::NotFound);
        QCOMPARE(d->stat(paths[1]).value().size, uint64_t(7));
        // Changes through this drive invalidate what they touch.
        (void)answers(*d);
        VD_VERIFY_OK(d->move(QStringLiteral("/d2-0"), QStringLiteral("/moved2")));
        VD_VERIFY_OK(d->commit());
        d.reset();
        d = Drive::open(*m_env, dir, Access::ReadWrite, opts).value();
        VD_VERIFY_CODE(d->stat(paths[2]), ErrorCode::NotFound);
        QVERIFY(d->stat(QStringLiteral("/moved2") + paths[2].mid(5)).isOk());
        const QStringList now = answers(*d);
        d.reset();
        // Deleted: rebuilt, same answers.
        QVERIFY(QDir(cacheDir).removeRecursively());
        d = Drive::open(*m_env, dir, Access::ReadWrite, opts).value();
        QCOMPARE(answers(*d), now);
        d.reset();
        // Garbled: reset, same answers, never a wrong one.
        for (quint32 seed = 1; seed <= 5; ++seed) {
            QFile f(cacheDir + QStringLiteral("/data.mdb"));
            QVERIFY(f.open(QIODevice::ReadWrite));
            const QByteArray junk = test::randomBytes(4096, seed);
            f.seek(qint64(seed * 4096 % std::max<qint64>(4096, f.size())));
            f.write(junk);
            f.close();
            d = Drive::open(*m_env, dir, Access::ReadWrite, opts).value();
            QCOMPARE(answers(*d), now);
            d.reset();
        }
        d = Drive::open(*m_env, dir, Access::ReadWrite).value();
        verifyClean(*d);
    }

    void fsckFindsADamagedTreeAndLookUpsRefuseDetachedNodes()
    {
        auto faultsAfter = [&](const std::function<void(Drive &)> &damage) -> QString {
            auto d = fresh();
            Status st = test::statusOf(d->mkdir(QStringLiteral("/a/b"), true));
            if (st)
                st = test::statusOf(d->putFileBytes(QStringLiteral("/a/b/f"), "data"));
            if (st)
                st = d->commit();
            if (!st)
                return QStringLiteral("setup: ") + st.toString();
            damage(*d);
            if (Status c = d->commit(); !c)
                return QStringLiteral("commit: ") + c.toString();
            const auto r = d->fsck();
            return r.faults.empty() ? QString() : r.faults.front();
        };
        // An entry whose folder does not exist: detached.
        const Ruid ghostParent = Ruid::generate();
        const Ruid orphanId = Ruid::generate();
        QString fault = faultsAfter([&](Drive &d) {
            VNode orphan;
            orphan.id = orphanId;
            orphan.parent = ghostParent;
            orphan.name = QStringLiteral("orphan");
            orphan.kind = Kind::Directory;
            VD_VERIFY_OK(TreeSurgeon::put(d, keys::entry(ghostParent, orphan.name), orphan.encode()));
            VD_VERIFY_OK(TreeSurgeon::put(d, keys::index(orphanId), IndexRecord{ghostParent, orphan.name, {}}.encode()));
            // Never served, by id or by path.
            VD_VERIFY_CODE(d.statId(orphanId), ErrorCode::NotFound);
            VD_VERIFY_CODE(d.pathOf(orphanId), ErrorCode::NotFound);
        });
        QVERIFY2(fault.contains(QStringLiteral("not attached")), qPrintable(fault));
        // Two folders that are each other's parent: a cycle.
        fault = faultsAfter([&](Drive &d) {
            const Ruid x = Ruid::generate(), y = Ruid::generate();
            for (const auto &[id, parent] : {std::pair{x, y}, std::pair{y, x}}) {
                VNode n;
                n.id = id;
                n.kind = Kind::Directory;
                VD_VERIFY_OK(TreeSurgeon::put(d, keys::entry(parent, QStringLiteral("loop")), n.encode()));
                VD_VERIFY_OK(TreeSurgeon::put(d, keys::index(id), IndexRecord{parent, QStringLiteral("loop"), {}}.encode()));
            }
            VD_VERIFY_CODE(d.statId(x), ErrorCode::Corruption);
        });
        QVERIFY2(fault.contains(QStringLiteral("not attached")) || fault.contains(QStringLiteral("cycle")), qPrintable(fault));
        // The index says the node hangs elsewhere.
        fault = faultsAfter([&](Drive &d) {
            const VNode f = d.stat(QStringLiteral("/a/b/f")).value();
            VD_VERIFY_OK(TreeSurgeon::put(d, keys::index(f.id), IndexRecord{rootId(), QStringLiteral("elsewhere"), {}}.encode()));
        });
        QVERIFY2(fault.contains(QStringLiteral("index")), qPrintable(fault));
        // A file whose clusters are gone.
        fault = faultsAfter([&](Drive &d) {
            const VNode f = d.stat(QStringLiteral("/a/b/f")).value();
            VD_VERIFY_OK(TreeSurgeon::remove(d, storage::keys::cluster(f.id, 0)));
        });
        QVERIFY2(fault.contains(QStringLiteral("clusters hold 0 bytes")) || fault.contains(QStringLiteral("referenced")), qPrintable(fault));
        // Entries whose names would escape a folder on a local disk: never
        // listed, and named by fsck.
        for (const QByteArray &bad : {QByteArray(".."), QByteArray("a/b"), QByteArray("../../etc/passwd"), QByteArray("\xc3\x28")}) {
            fault = faultsAfter([&](Drive &d) {
                const VNode a = d.stat(QStringLiteral("/a")).value();
                VNode evil;
                evil.id = Ruid::generate();
                evil.parent = a.id;
                evil.kind = Kind::File;
                QByteArray key = keys::entryPrefix(a.id);
                key.append(bad);
                VD_VERIFY_OK(TreeSurgeon::put(d, key, evil.encode()));
                VD_VERIFY_CODE(d.list(QStringLiteral("/a")), ErrorCode::Corruption);
            });
            QVERIFY2(!fault.isEmpty(), bad.constData());
        }
        // A folder whose entry count is wrong.
        fault = faultsAfter([&](Drive &d) {
            VNode a = d.stat(QStringLiteral("/a")).value();
            a.size = 7;
            VD_VERIFY_OK(TreeSurgeon::put(d, keys::entry(a.parent, a.name), a.encode()));
        });
        QVERIFY2(fault.contains(QStringLiteral("counts 7 entries")), qPrintable(fault));
    }

    void changeFeedRecordsEveryChange()
    {
        auto d = fresh();
        const uint64_t start = d->changesSince(0).value().size();
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/a"), false));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/a/f"), "1"));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/a/f"), "2"));
        VD_VERIFY_OK(d->move(QStringLiteral("/a/f"), QStringLiteral("/a/g")));
        VD_VERIFY_OK(d->remove(QStringLiteral("/a/g"), false, false));
        VD_VERIFY_OK(d->commit());
        const auto changes = d->changesSince(0).value();
        QStringList ops;
        for (size_t i = start; i < changes.size(); ++i)
            ops << changeOpName(changes[i].op);
        QCOMPARE(ops, (QStringList{QStringLiteral("create"), QStringLiteral("create"), QStringLiteral("modify"), QStringLiteral("move"), QStringLiteral("remove")}));
        for (size_t i = 1; i < changes.size(); ++i)
            QVERIFY(changes[i - 1].version < changes[i].version);
    }
};

QTEST_GUILESS_MAIN(TestDrive)
#include "tst_drive.moc"
