// The tree through the engine API on real files: folders, files of every
// size, ranges and appends, moves, copies that share blocks, the trash,
// JSON documents, snapshots (browse, diff, restore, delete + gc), look-ups
// by id that refuse detached nodes, bad names and paths, and fsck.
#include "testsupport.h"
#include "treedamage.h"

#include "io/env.h"
#include "storage/collection.h"
#include "core/bytes.h"
#include "core/hash.h"
#include "storage/catalog.h"
#include "storage/records.h"
#include "tree/drive.h"
#include "tree/treeview.h"

#include <QBuffer>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>

using namespace vd;
using namespace vd::tree;
using vd::storage::Access;

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

// A path of `levels` names: top, then "d" as many times as needed.
QString deepPath(const QString &top, int levels)
{
    QString p = top;
    for (int i = 1; i < levels; ++i)
        p += QStringLiteral("/d");
    return p;
}

QString joined(const std::vector<QString> &lines)
{
    return QStringList(lines.begin(), lines.end()).join(QLatin1Char('\n'));
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
        auto d = Drive::attach(std::move(c).value(), vd::test::testDrive());
        if (!d)
            qFatal("attach: %s", qPrintable(d.status().toString()));
        return std::move(d).value();
    }
    std::unique_ptr<Drive> reopen(std::unique_ptr<Drive> &d, Access access = Access::ReadWrite)
    {
        const QString dir = d->collection().path();
        d.reset();
        auto again = Drive::open(*m_env, dir, access, vd::test::testDrive());
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
        d = Drive::open(*m_env, dir, Access::ReadWrite, vd::test::testDrive(opts)).value();
        QVERIFY2(d->lmdbProblem().isEmpty(), qPrintable(d->lmdbProblem()));
        const QStringList truth = answers(*d);
        d.reset();
        d = Drive::open(*m_env, dir, Access::ReadWrite, vd::test::testDrive(opts)).value();
        QCOMPARE(answers(*d), truth);
        QCOMPARE(d->cacheStats().lmdbHits, uint64_t(paths.size()) + 1);
        // (The big file's blocks are content, found through the location
        // map with their chunk hashes: the block locator serves only the
        // pieces of format-2 collections, tst_contentcli's fixture.)
        // A change made by a process without the cache: the stamp no longer
        // matches, so nothing stale is served.
        d.reset();
        {
            auto other = Drive::open(*m_env, dir, Access::ReadWrite, vd::test::testDrive()).value();
            VD_VERIFY_OK(other->move(QStringLiteral("/d0-0"), QStringLiteral("/moved")));
            VD_VERIFY_OK(other->putFileBytes(paths[1], "changed"));
            VD_VERIFY_OK(other->commit());
        }
        d = Drive::open(*m_env, dir, Access::ReadWrite, vd::test::testDrive(opts)).value();
        VD_VERIFY_CODE(d->stat(paths[0]), ErrorCode::NotFound);
        QCOMPARE(d->stat(paths[1]).value().size, uint64_t(7));
        // Changes through this drive invalidate what they touch.
        (void)answers(*d);
        VD_VERIFY_OK(d->move(QStringLiteral("/d2-0"), QStringLiteral("/moved2")));
        VD_VERIFY_OK(d->commit());
        d.reset();
        d = Drive::open(*m_env, dir, Access::ReadWrite, vd::test::testDrive(opts)).value();
        VD_VERIFY_CODE(d->stat(paths[2]), ErrorCode::NotFound);
        QVERIFY(d->stat(QStringLiteral("/moved2") + paths[2].mid(5)).isOk());
        const QStringList now = answers(*d);
        d.reset();
        // Deleted: rebuilt, same answers.
        QVERIFY(QDir(cacheDir).removeRecursively());
        d = Drive::open(*m_env, dir, Access::ReadWrite, vd::test::testDrive(opts)).value();
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
            d = Drive::open(*m_env, dir, Access::ReadWrite, vd::test::testDrive(opts)).value();
            QCOMPARE(answers(*d), now);
            d.reset();
        }
        d = Drive::open(*m_env, dir, Access::ReadWrite, vd::test::testDrive()).value();
        verifyClean(*d);
    }

    void fsckFindsADamagedTreeAndLookUpsRefuseDetachedNodes()
    {
        // damage() changes records through test::damageTree, which reopens d.
        auto faultsAfter = [&](const std::function<void(std::unique_ptr<Drive> &)> &damage) -> QString {
            auto d = fresh();
            Status st = test::statusOf(d->mkdir(QStringLiteral("/a/b"), true));
            if (st)
                st = test::statusOf(d->putFileBytes(QStringLiteral("/a/b/f"), "data"));
            if (st)
                st = d->commit();
            if (!st)
                return QStringLiteral("setup: ") + st.toString();
            damage(d);
            if (!d)
                return QStringLiteral("the damaged collection did not reopen");
            if (Status c = d->commit(); !c)
                return QStringLiteral("commit: ") + c.toString();
            const auto r = d->fsck();
            return r.faults.empty() ? QString() : r.faults.front();
        };
        // An entry whose folder does not exist: detached.
        const Ruid ghostParent = Ruid::generate();
        const Ruid orphanId = Ruid::generate();
        QString fault = faultsAfter([&](std::unique_ptr<Drive> &d) {
            VNode orphan;
            orphan.id = orphanId;
            orphan.parent = ghostParent;
            orphan.name = QStringLiteral("orphan");
            orphan.kind = Kind::Directory;
            VD_VERIFY_OK(test::damageTree(d, *m_env, [&](test::TreeDamage &t) {
                VD_TRY(t.put(keys::entry(ghostParent, orphan.name), orphan.encode()));
                return t.put(keys::index(orphanId), IndexRecord{ghostParent, orphan.name, {}}.encode());
            }));
            // Never served, by id or by path.
            VD_VERIFY_CODE(d->statId(orphanId), ErrorCode::NotFound);
            VD_VERIFY_CODE(d->pathOf(orphanId), ErrorCode::NotFound);
        });
        QVERIFY2(fault.contains(QStringLiteral("not attached")), qPrintable(fault));
        // Two folders that are each other's parent: a cycle.
        fault = faultsAfter([&](std::unique_ptr<Drive> &d) {
            const Ruid x = Ruid::generate(), y = Ruid::generate();
            VD_VERIFY_OK(test::damageTree(d, *m_env, [&](test::TreeDamage &t) {
                for (const auto &[id, parent] : {std::pair{x, y}, std::pair{y, x}}) {
                    VNode n;
                    n.id = id;
                    n.kind = Kind::Directory;
                    VD_TRY(t.put(keys::entry(parent, QStringLiteral("loop")), n.encode()));
                    VD_TRY(t.put(keys::index(id), IndexRecord{parent, QStringLiteral("loop"), {}}.encode()));
                }
                return Status();
            }));
            VD_VERIFY_CODE(d->statId(x), ErrorCode::Corruption);
        });
        QVERIFY2(fault.contains(QStringLiteral("not attached")) || fault.contains(QStringLiteral("cycle")), qPrintable(fault));
        // The index says the node hangs elsewhere.
        fault = faultsAfter([&](std::unique_ptr<Drive> &d) {
            const VNode f = d->stat(QStringLiteral("/a/b/f")).value();
            VD_VERIFY_OK(test::damageTree(d, *m_env, [&](test::TreeDamage &t) {
                return t.put(keys::index(f.id), IndexRecord{rootId(), QStringLiteral("elsewhere"), {}}.encode());
            }));
        });
        QVERIFY2(fault.contains(QStringLiteral("index")), qPrintable(fault));
        // A file whose clusters are gone.
        fault = faultsAfter([&](std::unique_ptr<Drive> &d) {
            const VNode f = d->stat(QStringLiteral("/a/b/f")).value();
            VD_VERIFY_OK(test::damageTree(d, *m_env, [&](test::TreeDamage &t) { return t.remove(storage::keys::cluster(f.id, 0)); }));
        });
        QVERIFY2(fault.contains(QStringLiteral("clusters hold 0 bytes")) || fault.contains(QStringLiteral("referenced")), qPrintable(fault));
        // Entries whose names would escape a folder on a local disk: never
        // listed, and named by fsck.
        for (const QByteArray &bad : {QByteArray(".."), QByteArray("a/b"), QByteArray("../../etc/passwd"), QByteArray("\xc3\x28")}) {
            fault = faultsAfter([&](std::unique_ptr<Drive> &d) {
                const VNode a = d->stat(QStringLiteral("/a")).value();
                VNode evil;
                evil.id = Ruid::generate();
                evil.parent = a.id;
                evil.kind = Kind::File;
                QByteArray key = keys::entryPrefix(a.id);
                key.append(bad);
                VD_VERIFY_OK(test::damageTree(d, *m_env, [&](test::TreeDamage &t) { return t.put(key, evil.encode()); }));
                VD_VERIFY_CODE(d->list(QStringLiteral("/a")), ErrorCode::Corruption);
            });
            QVERIFY2(!fault.isEmpty(), bad.constData());
        }
        // A folder whose entry count is wrong.
        fault = faultsAfter([&](std::unique_ptr<Drive> &d) {
            VNode a = d->stat(QStringLiteral("/a")).value();
            a.size = 7;
            VD_VERIFY_OK(test::damageTree(d, *m_env, [&](test::TreeDamage &t) { return t.put(keys::entry(a.parent, a.name), a.encode()); }));
        });
        QVERIFY2(fault.contains(QStringLiteral("counts 7 entries")), qPrintable(fault));
    }

    // One limit, VNode::kMaxDepth levels below the root: whatever would put
    // a node past it is refused before anything changes, with an error that
    // names the limit, and a tree exactly at it works everywhere.
    void depthLimitIsEnforcedEverywhere()
    {
        const int L = VNode::kMaxDepth;
        const QString limit = QStringLiteral("at most %1 levels deep").arg(L);
        auto refusedAtLimit = [&](const Status &st) {
            return st.code() == ErrorCode::InvalidArgument && st.message().contains(limit) ? QString() : st.toString();
        };
        auto d = fresh();
        // mkdir -p and files: limit - 1 and limit are fine, limit + 1 is not.
        VD_VERIFY_OK(d->mkdir(deepPath(QStringLiteral("/t"), L - 1), true));
        VD_VERIFY_OK(d->mkdir(deepPath(QStringLiteral("/t"), L), true));
        QCOMPARE(refusedAtLimit(test::statusOf(d->mkdir(deepPath(QStringLiteral("/t"), L + 1), true))), QString());
        QCOMPARE(refusedAtLimit(test::statusOf(d->mkdir(deepPath(QStringLiteral("/u"), L + 1), true))), QString());
        QCOMPARE(refusedAtLimit(test::statusOf(d->putFileBytes(deepPath(QStringLiteral("/t"), L) + QStringLiteral("/f"), "x"))), QString());
        VD_VERIFY_OK(d->putFileBytes(deepPath(QStringLiteral("/t"), L - 1) + QStringLiteral("/f"), "at the limit"));
        VD_VERIFY_CODE(d->stat(QStringLiteral("/u")), ErrorCode::NotFound);
        VD_VERIFY_OK(d->commit());
        const uint64_t generation = d->collection().generation();

        // A subtree of 499 levels below /s (its deepest node 500 deep) moved
        // under folders 499, 500 and 501 deep: the deepest lands at limit - 1,
        // at the limit, and past it.
        VD_VERIFY_OK(d->mkdir(deepPath(QStringLiteral("/s"), 500), true));
        const QString under499 = deepPath(QStringLiteral("/t"), 499), under500 = deepPath(QStringLiteral("/t"), 500),
                      under501 = deepPath(QStringLiteral("/t"), 501);
        VD_VERIFY_OK(d->move(QStringLiteral("/s"), under499 + QStringLiteral("/s")));
        VD_VERIFY_OK(d->move(under499 + QStringLiteral("/s"), under500 + QStringLiteral("/s")));
        QCOMPARE(refusedAtLimit(test::statusOf(d->move(under500 + QStringLiteral("/s"), under501 + QStringLiteral("/s")))), QString());
        VD_VERIFY_OK(d->stat(deepPath(under500 + QStringLiteral("/s"), 500)));
        // Copies the same, from the live tree and from a snapshot.
        VD_VERIFY_OK(d->copy(under500 + QStringLiteral("/s"), under499 + QStringLiteral("/c")));
        QCOMPARE(refusedAtLimit(test::statusOf(d->copy(under500 + QStringLiteral("/s"), under501 + QStringLiteral("/c")))), QString());
        VD_VERIFY_OK(d->createSnapshot(QStringLiteral("deep")));
        QCOMPARE(refusedAtLimit(test::statusOf(d->copy(under500 + QStringLiteral("/s"), under501 + QStringLiteral("/c"), QStringLiteral("deep")))), QString());
        QCOMPARE(refusedAtLimit(test::statusOf(d->restore(QStringLiteral("deep"), under500 + QStringLiteral("/s"), under501 + QStringLiteral("/r")))), QString());
        VD_VERIFY_OK(d->restore(QStringLiteral("deep"), under500 + QStringLiteral("/s"), under500 + QStringLiteral("/r")));
        // Out of the trash: back where it was, not deeper.
        VD_VERIFY_OK(d->remove(under499 + QStringLiteral("/c"), true, true));
        const Ruid trashed = d->listTrash().value().front().id;
        QCOMPARE(refusedAtLimit(test::statusOf(d->restoreFromTrash(trashed, under501 + QStringLiteral("/c")))), QString());
        VD_VERIFY_OK(d->restoreFromTrash(trashed, under500 + QStringLiteral("/c")));
        VD_VERIFY_OK(d->stat(deepPath(under500 + QStringLiteral("/c"), 500)));

        // JSON: a document's own levels count too.
        const QString doc = deepPath(QStringLiteral("/t"), L - 3) + QStringLiteral("/doc");
        VD_VERIFY_OK(d->setJson(doc, "[[1]]")); // its scalar is at the limit
        QCOMPARE(refusedAtLimit(test::statusOf(d->setJson(doc + QStringLiteral("/0/1"), "[2]"))), QString());
        VD_VERIFY_OK(d->setJson(doc + QStringLiteral("/0/1"), "2"));
        QBuffer tooDeep;
        tooDeep.setData("{\"a\":[[1]]}");
        tooDeep.open(QIODevice::ReadOnly);
        QCOMPARE(refusedAtLimit(test::statusOf(d->importJson(doc + QStringLiteral("2"), tooDeep))), QString());
        QByteArray text;
        QBuffer out(&text);
        out.open(QIODevice::WriteOnly);
        VD_VERIFY_OK(d->exportJson(doc, out, -1));
        QCOMPARE(text.trimmed(), QByteArray("[[1,2]]"));
        VD_VERIFY_OK(d->commit());

        // At the limit: look-ups both ways, du, fsck, and rm -r.
        d = reopen(d);
        const QString bottom = deepPath(QStringLiteral("/t"), L);
        const VNode b = d->stat(bottom).value();
        QCOMPARE(d->pathOf(b.id).value(), bottom);
        QCOMPARE(d->statId(b.id).value().name, QStringLiteral("d"));
        QCOMPARE(d->du(QStringLiteral("/t")).value().files, uint64_t(1));
        QVERIFY(d->collection().generation() > generation);
        verifyClean(*d);
        VD_VERIFY_OK(d->remove(QStringLiteral("/t"), true, false));
        VD_VERIFY_OK(d->commit());
        QVERIFY(d->list(QStringLiteral("/")).value().empty());
        verifyClean(*d);
    }

    // A walk that would go past the limit meets a cycle or damage: it
    // stops there with Corruption instead of running on (or overflowing
    // the stack), and fsck tells a tree that is merely too deep from a cycle.
    void walksStopAtTheLimit()
    {
        auto d = fresh();
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/x/y"), true));
        VD_VERIFY_OK(d->commit());
        // An entry under /x/y that holds /x again: walking down never ends.
        const VNode x = d->stat(QStringLiteral("/x")).value();
        const VNode y = d->stat(QStringLiteral("/x/y")).value();
        VNode again = x;
        again.parent = y.id;
        VNode counted = y;
        counted.size = 1;
        VD_VERIFY_OK(test::damageTree(d, *m_env, [&](test::TreeDamage &t) {
            VD_TRY(t.put(keys::entry(y.id, x.name), again.encode()));
            return t.put(keys::entry(counted.parent, counted.name), counted.encode());
        }));
        VD_VERIFY_CODE(d->du(QStringLiteral("/x")), ErrorCode::Corruption);
        VD_VERIFY_CODE(d->copy(QStringLiteral("/x"), QStringLiteral("/z")), ErrorCode::Corruption);
        VD_VERIFY_CODE(d->stat(QStringLiteral("/z")), ErrorCode::NotFound); // rolled back
        // rm -r erases each entry before listing below it, so it ends even so.
        VD_VERIFY_OK(d->remove(QStringLiteral("/x"), true, false));
        VD_VERIFY_CODE(d->stat(QStringLiteral("/x")), ErrorCode::NotFound);

        // A chain deeper than the limit (as an older build could write):
        // one fault where it passes the limit, no cycles; look-ups past the
        // limit are refused, at it they work.
        d = fresh();
        const int L = VNode::kMaxDepth;
        VD_VERIFY_OK(d->mkdir(deepPath(QStringLiteral("/t"), L), true));
        VD_VERIFY_OK(d->commit());
        VNode parent = d->stat(deepPath(QStringLiteral("/t"), L)).value();
        Ruid deepest;
        VD_VERIFY_OK(test::damageTree(d, *m_env, [&](test::TreeDamage &t) {
            for (int level = L + 1; level <= L + 200; ++level) {
                parent.size = 1;
                VD_TRY(t.put(keys::entry(parent.parent, parent.name), parent.encode()));
                VNode n;
                n.id = deepest = Ruid::generate();
                n.parent = parent.id;
                n.name = QStringLiteral("d");
                n.kind = Kind::Directory;
                VD_TRY(t.putFolder(n));
                parent = n;
            }
            return Status();
        }));
        const auto report = d->fsck();
        QStringList pastLimit, cycles;
        for (const QString &f : report.faults) {
            if (f.contains(QStringLiteral("past the limit")))
                pastLimit << f;
            if (f.contains(QStringLiteral("cycle")))
                cycles << f;
        }
        QVERIFY2(pastLimit.size() == 1 && pastLimit.front().contains(QStringLiteral("%1 levels deep").arg(L + 1)), qPrintable(joined(report.faults)));
        QVERIFY2(cycles.isEmpty(), qPrintable(cycles.join(QLatin1Char('\n'))));
        VD_VERIFY_CODE(d->statId(deepest), ErrorCode::Corruption);
        VD_VERIFY_CODE(d->pathOf(deepest), ErrorCode::Corruption);
        VD_VERIFY_CODE(d->du(QStringLiteral("/t")), ErrorCode::Corruption);
        VD_VERIFY_OK(d->stat(deepPath(QStringLiteral("/t"), L)));
    }

    // Every failure of the tree's fsck reaches the report: a keyspace whose
    // pages cannot be read (the index, the clusters, the trash records, the
    // objects) is a fault of its own.
    void fsckReportsEveryUnreadableKeyspace()
    {
        auto d = fresh();
        // Enough of each keyspace to fill several leaves of its own.
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/files"), false));
        for (int i = 0; i < 1000; ++i)
            VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/files/f%1").arg(i), QByteArray::number(i)));
        for (int i = 0; i < 1000; ++i)
            VD_VERIFY_OK(d->remove(QStringLiteral("/files/f%1").arg(i), false, true));
        for (int i = 0; i < 1000; ++i)
            VD_VERIFY_OK(d->collection().putObjectBytes(QStringLiteral("object-%1").arg(i), QByteArray::number(i)));
        VD_VERIFY_OK(d->commit());
        verifyClean(*d);
        const struct
        {
            char keyspace;
            const char *fault;
        } cases[] = {{keys::kIndex, "tree: cannot read the index"},
                     {storage::keys::kCluster, "tree: cannot read the clusters"},
                     {keys::kTrash, "tree: cannot read the trash records"},
                     {storage::keys::kObject, "tree: cannot read the objects"}};
        std::vector<std::pair<uint64_t, uint32_t>> damaged;
        for (const auto &c : cases) {
            const auto leaves = test::leavesOnlyOf(d->collection(), c.keyspace);
            // Not the first or last: a scan of the next keyspace may read those.
            QVERIFY2(leaves.size() >= 3, c.fault);
            damaged.push_back(leaves[leaves.size() / 2]);
        }
        const QString dir = d->collection().path();
        d.reset();
        QFile idvd(dir + QStringLiteral("/idvd"));
        QVERIFY(idvd.open(QIODevice::ReadWrite));
        for (const auto &[offset, length] : damaged) {
            QVERIFY(idvd.seek(qint64(offset + length / 2)));
            QVERIFY(idvd.write(QByteArray(8, '\xA5')) == 8);
        }
        idvd.close();
        d = Drive::open(*m_env, dir, Access::ReadOnly).value();
        const auto report = d->fsck();
        const QString all = joined(report.faults);
        for (const auto &c : cases)
            QVERIFY2(all.contains(QLatin1String(c.fault)), qPrintable(QStringLiteral("no '%1' in:\n%2").arg(QLatin1String(c.fault), all)));
    }

    // The record decoders allow exactly the names FORMAT.md allows: 1-255
    // bytes of well-formed UTF-8 without '/' or NUL, not "." or "..", and
    // under the null id only the root's "" and "trash".
    void recordsRefuseNamesTheFormatForbids()
    {
        const Ruid folder = Ruid::generate();
        auto index = [&](const Ruid &parent, const QByteArray &name) {
            QByteArray raw;
            ByteWriter w(&raw);
            w.u8(1);
            w.bytes(parent.view());
            w.u64(7);
            w.bytes(Ruid::generate().view());
            w.blob(name);
            return IndexRecord::decode(raw).status();
        };
        auto trash = [&](const QByteArray &name, const QByteArray &path) {
            QByteArray raw;
            ByteWriter w(&raw);
            w.u8(1);
            w.bytes(folder.view());
            w.u64(7);
            w.blob(name);
            w.blob(path);
            return TrashRecord::decode(raw).status();
        };
        auto change = [&](const QByteArray &name) {
            // A create (format 2): the node's side after the change.
            QByteArray raw;
            ByteWriter w(&raw);
            w.u8(2);
            w.u8(1);
            w.u64(3);
            w.bytes(Ruid::generate().view());
            w.u64(7);
            w.bytes(Ruid::generate().view());
            w.u64(7);
            w.u8(2);
            w.u8(1);
            w.bytes(folder.view());
            w.u64(0);
            w.u64(7);
            w.blob(QByteArray());
            w.blob(name);
            w.blob(QByteArray());
            return ChangeRecord::decode(raw, 1).status();
        };
        const QByteArray longest(VNode::kMaxNameBytes, 'n');
        for (const QByteArray &good : {QByteArray("a"), longest, QByteArray("\xE6\x97\xA5\xF0\x9F\x98\x80"), QByteArray("\xEF\xBB\xBF" "bom")}) {
            VD_VERIFY_OK(index(folder, good));
            VD_VERIFY_OK(trash(good, "/a/" + good));
            VD_VERIFY_OK(change(good));
        }
        VD_VERIFY_OK(index(Ruid(), QByteArray()));
        VD_VERIFY_OK(index(Ruid(), "trash"));
        for (const QByteArray &bad : {QByteArray(), longest + 'n', QByteArray(5116, 'n'), QByteArray("a/b"), QByteArray("."), QByteArray(".."),
                                      QByteArray("a\0b", 3), QByteArray("\xFF"), QByteArray("\xC3\x28"), QByteArray("\xED\xA0\x80")}) {
            QCOMPARE(index(folder, bad).code(), ErrorCode::Corruption);
            QCOMPARE(trash(bad, "/a").code(), ErrorCode::Corruption);
            QCOMPARE(change(bad).code(), ErrorCode::Corruption);
        }
        QCOMPARE(index(Ruid(), "other").code(), ErrorCode::Corruption);
        // A trash record's original path: absolute, UTF-8, at most kMaxPathBytes.
        QByteArray longestPath;
        for (int i = 0; i < VNode::kMaxDepth; ++i)
            longestPath += '/' + longest;
        QCOMPARE(longestPath.size(), qsizetype(VNode::kMaxPathBytes));
        VD_VERIFY_OK(trash("a", longestPath));
        for (const QByteArray &bad : {QByteArray(), QByteArray("a/b"), longestPath + "/x", QByteArray("/\xFF")})
            QCOMPARE(trash("a", bad).code(), ErrorCode::Corruption);

        // Entry keys: fsck names an entry under the null id that is neither
        // the root nor the trash.
        auto d = fresh();
        VNode stray;
        stray.id = Ruid::generate();
        stray.kind = Kind::Directory;
        VD_VERIFY_OK(test::damageTree(d, *m_env, [&](test::TreeDamage &t) { return t.put(keys::entry(Ruid(), QStringLiteral("stray")), stray.encode()); }));
        const QString faults = joined(d->fsck().faults);
        QVERIFY2(faults.contains(QStringLiteral("hangs from the null id")), qPrintable(faults));
    }

    // A view built on the committed catalog reads that generation and
    // nothing of the writer: changes made since, a rollback that reloads
    // the collection's state, and changes after it leave its answers as
    // they were (the base of readers pinned to a generation).
    void aViewOnTheCommittedTreeIgnoresTheWriter()
    {
        auto d = fresh();
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/a/b"), true));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/a/f"), "committed"));
        VD_VERIFY_OK(d->commit());
        TreeView view(d->collection().committedCatalog().value(), QString(), 1 << 20);
        const VNode f = view.resolve(QStringLiteral("/a/f")).value();
        auto sameAsCommitted = [&]() -> QString {
            auto got = view.resolve(QStringLiteral("/a/f"));
            if (!got || got->id != f.id || got->size != f.size)
                return QStringLiteral("/a/f: %1").arg(got ? QString::number(got->size) : got.status().toString());
            if (!view.resolve(QStringLiteral("/a/b")))
                return QStringLiteral("/a/b is gone");
            if (view.resolve(QStringLiteral("/new")).status().code() != ErrorCode::NotFound)
                return QStringLiteral("/new is there");
            auto kids = view.children(view.resolve(QStringLiteral("/a")).value());
            if (!kids || names(*kids) != (QStringList{QStringLiteral("b"), QStringLiteral("f")}))
                return QStringLiteral("/a lists %1").arg(kids ? names(*kids).join(QLatin1Char(',')) : kids.status().toString());
            auto bytes = d->collection().readData(view.catalog(), got->id, got->size, 0, got->size, QStringLiteral("/a/f"));
            if (!bytes || *bytes != "committed")
                return QStringLiteral("/a/f reads %1").arg(bytes ? QString::fromUtf8(*bytes) : bytes.status().toString());
            return {};
        };
        QCOMPARE(sameAsCommitted(), QString());
        // Uncommitted changes of every kind.
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/a/f"), "changed, longer"));
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/new"), false));
        VD_VERIFY_OK(d->remove(QStringLiteral("/a/b"), true, false));
        QCOMPARE(d->stat(QStringLiteral("/a/f")).value().size, uint64_t(15));
        QCOMPARE(sameAsCommitted(), QString());
        // A rollback replaces the collection's state (its page store too).
        VD_VERIFY_OK(d->rollback());
        QCOMPARE(sameAsCommitted(), QString());
        VD_VERIFY_OK(d->move(QStringLiteral("/a"), QStringLiteral("/moved")));
        QCOMPARE(sameAsCommitted(), QString());
        VD_VERIFY_CODE(d->stat(QStringLiteral("/a/f")), ErrorCode::NotFound);
    }

    // One record per node a commit changed, with both sides; a node changed
    // twice in one commit has one record.
    void changeFeedRecordsEveryChange()
    {
        auto d = fresh();
        uint64_t from = d->nextChangeSequence();
        auto committed = [&]() -> std::vector<ChangeRecord> {
            if (Status st = d->commit(); !st)
                return {};
            auto got = d->changesSince(from);
            from = d->nextChangeSequence();
            return got ? *got : std::vector<ChangeRecord>();
        };
        auto find = [](const std::vector<ChangeRecord> &recs, const QString &name) -> std::optional<ChangeRecord> {
            for (const auto &r : recs)
                if (r.name() == name)
                    return r;
            return std::nullopt;
        };
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/a"), false));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/a/f"), "1"));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/a/f"), "22"));
        auto recs = committed();
        // /a, /a/f (created and overwritten: one create) and the root's count.
        QCOMPARE(recs.size(), size_t(3));
        auto f = find(recs, QStringLiteral("f"));
        QVERIFY(f && f->op == ChangeOp::Create && !f->before && f->after->size == 2 && f->after->content.size() == 32);
        const QByteArray content = f->after->content;
        QCOMPARE(find(recs, QStringLiteral("a"))->op, ChangeOp::Create);
        QCOMPARE(find(recs, QString())->op, ChangeOp::Modify);
        for (const auto &r : recs)
            QCOMPARE(r.generation, d->collection().generation());

        VD_VERIFY_OK(d->move(QStringLiteral("/a/f"), QStringLiteral("/a/g")));
        recs = committed();
        f = find(recs, QStringLiteral("g"));
        QVERIFY(f && f->op == ChangeOp::Move && f->before->name == QStringLiteral("f") && f->after->content == content);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/a/g"), "33"));
        recs = committed();
        f = find(recs, QStringLiteral("g"));
        QVERIFY(f && f->op == ChangeOp::Modify && f->before->content == content && f->after->content != content);
        VD_VERIFY_OK(d->remove(QStringLiteral("/a/g"), false, false));
        recs = committed();
        f = find(recs, QStringLiteral("g"));
        QVERIFY(f && f->op == ChangeOp::Remove && !f->after && f->before->parent == d->stat(QStringLiteral("/a")).value().id);
        for (size_t i = 1; i < recs.size(); ++i)
            QCOMPARE(recs[i].sequence, recs[i - 1].sequence + 1);
    }
};

QTEST_GUILESS_MAIN(TestDrive)
#include "tst_drive.moc"
