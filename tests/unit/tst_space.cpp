// Disk space: the in-memory disk with a capacity (holes, punches, NoSpace),
// a full disk that deleting, emptying the trash, deleting a snapshot and gc
// always free (the reserve, batches), a crash sweep over deleting on a full
// disk, and freed space going back to the real file system (st_blocks).
#include "testsupport.h"

#include "io/faultenv.h"
#include "io/memenv.h"
#include "storage/collection.h"
#include "tree/drive.h"

#include <QBuffer>
#include <QFile>
#include <QTemporaryDir>

#include <sys/stat.h>

using namespace vd;
using namespace vd::storage;
using tree::Drive;

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = uint64_t(1) << 20;
const QString kParent = QStringLiteral("/data/collections");

// Bytes of disk a real file holds (st_blocks counts 512-byte units).
uint64_t allocatedOnDisk(const QString &path)
{
    struct stat st;
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return 0;
    return uint64_t(st.st_blocks) * 512;
}

std::unique_ptr<Drive> newDrive(io::Env &env)
{
    auto c = Collection::create(env, kParent, QStringLiteral("full"));
    if (!c)
        qFatal("create: %s", qPrintable(c.status().toString()));
    auto d = Drive::attach(std::move(c).value(), vd::test::testDrive());
    if (!d)
        qFatal("attach: %s", qPrintable(d.status().toString()));
    return std::move(d).value();
}

// Puts files of `size` random bytes under /fill until the disk says NoSpace,
// then smaller ones until those fail too, then makes the disk exactly full
// (no page left); returns how many of the first size went in (the failed
// one rolled back).
Result<int> fillUp(Drive &d, io::MemEnv &mem, uint64_t size)
{
    VD_TRY(d.mkdir(QStringLiteral("/fill"), true).status());
    VD_TRY(d.commit());
    int first = -1;
    for (int i = 0;; ++i) {
        const qsizetype n = qsizetype(first < 0 ? size : 64 * KiB);
        Status st = d.putFileBytes(QStringLiteral("/fill/%1").arg(i), test::randomBytes(n, quint32(1000 + i))).status();
        if (st)
            st = d.commit();
        if (!st) {
            if (st.code() != ErrorCode::NoSpace)
                return st;
            if (first >= 0) {
                mem.setCapacity(mem.usedBytes());
                return first;
            }
            first = i;
        }
        if (i > 10000)
            return Status::internal(QStringLiteral("the disk never filled up"));
    }
}

// A folder of many empty files with long names: removing it dirties far
// more catalog pages than the reserve could hold in one commit.
constexpr int kBigFiles = 12000;
constexpr int kBigFolders = 40;
Status makeBigFolder(Drive &d)
{
    const QString pad(200, QLatin1Char('n'));
    for (int i = 0; i < kBigFolders; ++i)
        VD_TRY(d.mkdir(QStringLiteral("/big/%1").arg(i), true).status());
    for (int i = 0; i < kBigFiles; ++i) {
        VD_TRY(d.putFileBytes(QStringLiteral("/big/%1/%2-%3").arg(i % kBigFolders).arg(pad).arg(i), QByteArray()).status());
        if (i % 2000 == 1999)
            VD_TRY(d.commit());
    }
    return d.commit();
}

QString faultsOf(const FsckReport &r)
{
    QStringList all;
    for (const QString &f : r.faults)
        all << f;
    return all.join(QStringLiteral("; "));
}

} // namespace

class TestSpace : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    // ---- the in-memory disk ---------------------------------------------

    void memDiskCountsPagesAndHoles()
    {
        io::MemEnv mem;
        VD_VERIFY_OK(mem.makeDirs(QStringLiteral("/d")));
        mem.setCapacity(64 * KiB);
        auto f = mem.open(QStringLiteral("/d/f"), io::OpenMode::CreateNew);
        VD_VERIFY_OK(f);
        // Growing the length takes no space: the file is sparse.
        VD_VERIFY_OK((*f)->truncate(1 * MiB));
        QCOMPARE(mem.usedBytes(), uint64_t(0));
        // A write takes the pages it touches, zeros or not.
        VD_VERIFY_OK((*f)->write(4096 - 1, QByteArray(2, '\0')));
        QCOMPARE(mem.allocatedBytes(QStringLiteral("/d/f")), 2 * 4096);
        // More than is left fails and changes nothing.
        VD_VERIFY_CODE((*f)->write(100 * KiB, QByteArray(int(63 * KiB), 'x')), ErrorCode::NoSpace);
        QCOMPARE(mem.usedBytes(), uint64_t(2 * 4096));
        QCOMPARE(mem.availableBytes(QStringLiteral("/d")).value(), 64 * KiB - 2 * 4096);
        // allocate() takes space without writing; a full disk refuses it.
        VD_VERIFY_OK((*f)->allocate(16 * KiB, 16 * KiB));
        QCOMPARE(mem.usedBytes(), uint64_t(6 * 4096));
        VD_VERIFY_CODE((*f)->allocate(512 * KiB, 64 * KiB), ErrorCode::NoSpace);
        VD_VERIFY_OK((*f)->write(16 * KiB, QByteArray(int(16 * KiB), 'y')));
        QCOMPARE(mem.usedBytes(), uint64_t(6 * 4096)); // already allocated
        // A punched hole gives whole pages back and reads as zeros; the
        // length stays.
        VD_VERIFY_OK((*f)->punchHole(16 * KiB + 100, 16 * KiB));
        QCOMPARE(mem.usedBytes(), uint64_t(3 * 4096)); // pages 5 and 8 are partly kept
        QByteArray back(int(16 * KiB), Qt::Uninitialized);
        VD_VERIFY_OK((*f)->read(16 * KiB, back.data(), size_t(back.size())));
        QCOMPARE(back.left(100), QByteArray(100, 'y'));
        QCOMPARE(back.mid(100), QByteArray(int(16 * KiB - 100), '\0'));
        QCOMPARE((*f)->size().value(), 1 * MiB);
        // Cutting the file frees what lies past its new end.
        VD_VERIFY_OK((*f)->truncate(4 * KiB));
        QCOMPARE(mem.usedBytes(), uint64_t(4096));
        // allocate() past the end extends the file.
        VD_VERIFY_OK((*f)->allocate(8 * KiB, 4 * KiB));
        QCOMPARE((*f)->size().value(), 12 * KiB);
    }

    void memDiskPunchesSurviveOrNotACrashLikeWrites()
    {
        io::MemEnv mem;
        VD_VERIFY_OK(mem.makeDirs(QStringLiteral("/d")));
        {
            auto f = mem.open(QStringLiteral("/d/f"), io::OpenMode::CreateNew);
            VD_VERIFY_OK(f);
            VD_VERIFY_OK((*f)->write(0, QByteArray(int(64 * KiB), 'a')));
            VD_VERIFY_OK((*f)->sync());
            VD_VERIFY_OK(mem.syncDir(QStringLiteral("/d")));
            VD_VERIFY_OK((*f)->punchHole(0, 64 * KiB));
        }
        mem.simulateCrash(io::MemEnv::CrashMode::DropUnsynced);
        QCOMPARE(mem.contents(QStringLiteral("/d/f")).value(), QByteArray(int(64 * KiB), 'a')); // the punch was never synced
        QCOMPARE(mem.usedBytes(), 64 * KiB);
        {
            auto f = mem.open(QStringLiteral("/d/f"), io::OpenMode::ReadWrite);
            VD_VERIFY_OK(f);
            VD_VERIFY_OK((*f)->punchHole(0, 64 * KiB));
        }
        mem.simulateCrash(io::MemEnv::CrashMode::KeepUnsynced);
        QCOMPARE(mem.contents(QStringLiteral("/d/f")).value(), QByteArray(int(64 * KiB), '\0'));
        QCOMPARE(mem.usedBytes(), uint64_t(0));
    }

    void posixPunchesAndAllocates()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString path = tmp.filePath(QStringLiteral("f"));
        auto f = io::Env::posix()->open(path, io::OpenMode::CreateNew);
        VD_VERIFY_OK(f);
        VD_VERIFY_OK((*f)->write(0, test::randomBytes(int(8 * MiB), 7)));
        VD_VERIFY_OK((*f)->sync());
        QVERIFY(allocatedOnDisk(path) >= 8 * MiB);
        VD_VERIFY_OK((*f)->punchHole(1 * MiB, 6 * MiB));
        VD_VERIFY_OK((*f)->sync());
        QVERIFY2(allocatedOnDisk(path) <= 2 * MiB + 64 * KiB, qPrintable(QString::number(allocatedOnDisk(path))));
        QCOMPARE((*f)->size().value(), 8 * MiB);
        QByteArray mid(4096, 'x');
        VD_VERIFY_OK((*f)->read(4 * MiB, mid.data(), size_t(mid.size())));
        QCOMPARE(mid, QByteArray(4096, '\0'));
        VD_VERIFY_OK((*f)->allocate(16 * MiB, 4 * MiB));
        QCOMPARE((*f)->size().value(), 20 * MiB);
        QVERIFY(allocatedOnDisk(path) >= 6 * MiB);
        auto avail = io::Env::posix()->availableBytes(tmp.path());
        VD_VERIFY_OK(avail);
        QVERIFY(*avail > 0);
    }

    // ---- a full disk ----------------------------------------------------

    void aFullDiskIsFreedFromInside()
    {
        io::MemEnv mem;
        auto d = newDrive(mem);
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/keep"), true));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/keep/a"), test::randomBytes(int(3 * MiB), 1)));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/keep/small"), "small"));
        VD_VERIFY_OK(d->commit());
        VD_VERIFY_OK(d->createSnapshot(QStringLiteral("s")));
        VD_VERIFY_OK(d->commit());
        mem.setCapacity(mem.usedBytes() + 40 * MiB);
        auto filled = fillUp(*d, mem, 2 * MiB + 12345);
        VD_VERIFY_OK(filled);
        QVERIFY2(*filled >= 10, qPrintable(QString::number(*filled)));
        // The disk is full: an ordinary change gets NoSpace...
        Status st = d->putFileBytes(QStringLiteral("/more"), test::randomBytes(int(2 * MiB), 99)).status();
        if (st)
            st = d->commit();
        VD_VERIFY_CODE(st, ErrorCode::NoSpace);
        QVERIFY(mem.availableBytes(kParent).value() < 2 * MiB);

        // ...and every way of freeing space works.
        VD_VERIFY_OK(d->remove(QStringLiteral("/fill/0"), false, true)); // rm (to the trash)
        VD_VERIFY_OK(d->commit());
        VD_VERIFY_OK(d->deleteSnapshot(QStringLiteral("s")));
        VD_VERIFY_OK(d->commit());
        const uint64_t usedBefore = mem.usedBytes();
        VD_VERIFY_OK(d->remove(QStringLiteral("/fill/1"), false, false)); // rm --permanent
        VD_VERIFY_OK(d->commit());
        QVERIFY2(mem.usedBytes() + 2 * MiB <= usedBefore, "rm --permanent gave the file's space back to the disk");
        auto emptied = d->emptyTrash(); // trash empty
        VD_VERIFY_OK(emptied);
        QCOMPARE(*emptied, uint64_t(1));
        VD_VERIFY_OK(d->commit());
        auto gc = d->gc();
        VD_VERIFY_OK(gc);
        QVERIFY(mem.usedBytes() + 4 * MiB <= usedBefore);

        // The space is there again for ordinary changes.
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/more"), test::randomBytes(int(2 * MiB), 99)));
        VD_VERIFY_OK(d->commit());
        const FsckReport r = d->fsck();
        QVERIFY2(r.isClean(), qPrintable(faultsOf(r)));
        auto back = d->read(QStringLiteral("/keep/a"), 0, 3 * MiB);
        VD_VERIFY_OK(back);
        QCOMPARE(*back, test::randomBytes(int(3 * MiB), 1));
    }

    void theObjectNamespaceFreesAFullDiskToo()
    {
        io::MemEnv mem;
        auto c = Collection::create(mem, kParent, QStringLiteral("objects"));
        VD_VERIFY_OK(c);
        VD_VERIFY_OK((*c)->putObjectBytes(QStringLiteral("x"), "x"));
        VD_VERIFY_OK((*c)->commit());
        mem.setCapacity(mem.usedBytes() + 24 * MiB);
        int n = 0;
        for (;; ++n) {
            Status st = (*c)->putObjectBytes(QStringLiteral("o%1").arg(n), test::randomBytes(int(MiB + 7), quint32(n)));
            if (st)
                st = (*c)->commit();
            if (!st) {
                VD_VERIFY_CODE(st, ErrorCode::NoSpace);
                break;
            }
        }
        QVERIFY(n >= 5);
        mem.setCapacity(mem.usedBytes()); // not a page left
        for (int i = 0; i < n; i += 2)
            VD_VERIFY_OK((*c)->removeObject(QStringLiteral("o%1").arg(i)));
        VD_VERIFY_OK((*c)->commit());
        auto gc = (*c)->collectGarbage();
        VD_VERIFY_OK(gc);
        VD_VERIFY_OK((*c)->putObjectBytes(QStringLiteral("after"), test::randomBytes(int(MiB + 7), 4242)));
        VD_VERIFY_OK((*c)->commit());
        QVERIFY((*c)->fsck().isClean());
    }

    void theReserveIsKeptForDeletes()
    {
        // An ordinary commit fails before it eats into the reserve: the
        // reserve blocks stay allocated, on the disk too.
        io::MemEnv mem;
        auto d = newDrive(mem);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/a"), "a"));
        VD_VERIFY_OK(d->commit());
        auto info = d->collection().info();
        VD_VERIFY_OK(info);
        const uint64_t reserved = info->allocatedBytes;
        QVERIFY2(reserved >= (1 + Collection::kReserveBlocks) * MiB, qPrintable(QString::number(reserved)));
        mem.setCapacity(mem.usedBytes() + 8 * MiB);
        auto filled = fillUp(*d, mem, MiB);
        VD_VERIFY_OK(filled);
        // Many small changes on the full disk: each either works or fails
        // with NoSpace, and a delete still works after all of them.
        for (int i = 0; i < 50; ++i) {
            Status st = d->mkdir(QStringLiteral("/dirs/%1").arg(i), true).status();
            if (st)
                st = d->commit();
            if (!st)
                VD_VERIFY_CODE(st, ErrorCode::NoSpace);
        }
        VD_VERIFY_OK(d->remove(QStringLiteral("/fill/0"), false, false));
        VD_VERIFY_OK(d->commit());
        QVERIFY(d->fsck().isClean());
    }

    void aLargeRemovalOnAFullDiskCommitsInBatches()
    {
        // So many nodes that one commit of their removal needs far more
        // catalog pages than the reserve holds: on a full disk it goes in
        // batches, each committed, the rest waiting in the trash.
        io::MemEnv mem;
        auto d = newDrive(mem);
        VD_VERIFY_OK(makeBigFolder(*d));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/keep"), "kept"));
        VD_VERIFY_OK(d->commit());
        mem.setCapacity(mem.usedBytes() + 6 * MiB);
        VD_VERIFY_OK(fillUp(*d, mem, MiB));
        const uint64_t vnodes = d->collection().info().value().vnodes;
        const uint64_t generation = d->collection().generation();
        VD_VERIFY_OK(d->remove(QStringLiteral("/big"), true, false));
        VD_VERIFY_OK(d->commit());
        QVERIFY2(d->collection().generation() > generation + 2, qPrintable(QString::number(d->collection().generation() - generation)));
        VD_VERIFY_CODE(d->stat(QStringLiteral("/big")), ErrorCode::NotFound);
        QCOMPARE(d->listTrash().value().size(), size_t(0));
        QCOMPARE(d->collection().info().value().vnodes, vnodes - kBigFiles - kBigFolders - 1);
        QCOMPARE(d->read(QStringLiteral("/keep"), 0, 10).value(), QByteArray("kept"));
        const FsckReport r = d->fsck();
        QVERIFY2(r.isClean(), qPrintable(faultsOf(r)));
        // With room, a removal is one commit, as before.
        mem.setCapacity(0);
        VD_VERIFY_OK(d->remove(QStringLiteral("/fill"), true, false));
        const uint64_t g = d->collection().generation();
        VD_VERIFY_OK(d->commit());
        QCOMPARE(d->collection().generation(), g + 1);
    }

    void aRemovalCutPartWayWaitsInTheTrash()
    {
        // The same batched removal, the power cut part way: what was
        // committed stays removed, the rest is in the trash (a consistent
        // tree), and `trash empty` finishes it on the still full disk. A
        // first run counts the removal's steps; the second cuts at 60 % of
        // them, after some batches were committed.
        uint64_t steps = 0;
        for (int run = 0; run < 2; ++run) {
            io::MemEnv mem;
            io::FaultEnv faulty(&mem);
            auto d = newDrive(faulty);
            VD_VERIFY_OK(makeBigFolder(*d));
            mem.setCapacity(mem.usedBytes() + 6 * MiB);
            VD_VERIFY_OK(fillUp(*d, mem, MiB));
            const uint64_t generation = d->collection().generation();
            faulty.arm(run == 0 ? 0 : steps * 6 / 10, io::FaultEnv::Fault::PowerCut);
            Status st = d->remove(QStringLiteral("/big"), true, false);
            if (st)
                st = d->commit();
            if (run == 0) {
                VD_VERIFY_OK(st);
                QVERIFY2(d->collection().generation() > generation + 3, "the removal went in too few batches");
                steps = faulty.steps();
                continue;
            }
            QVERIFY(faulty.fired());
            QVERIFY(!st);
            const QString dir = d->collection().path();
            d.reset();
            mem.simulateCrash(io::MemEnv::CrashMode::DropUnsynced);
            auto again = Drive::open(mem, dir, Access::ReadWrite, vd::test::testDrive());
            VD_VERIFY_OK(again);
            d = std::move(again).value();
            QVERIFY2(d->collection().generation() > generation, "no batch was committed before the power went");
            auto trash = d->listTrash();
            VD_VERIFY_OK(trash);
            QCOMPARE(trash->size(), size_t(1));
            QCOMPARE(trash->front().originalPath, QStringLiteral("/big"));
            VD_VERIFY_CODE(d->stat(QStringLiteral("/big")), ErrorCode::NotFound);
            FsckReport r = d->fsck();
            QVERIFY2(r.isClean(), qPrintable(faultsOf(r)));
            VD_VERIFY_OK(d->emptyTrash());
            VD_VERIFY_OK(d->commit());
            QCOMPARE(d->listTrash().value().size(), size_t(0));
            r = d->fsck();
            QVERIFY2(r.isClean(), qPrintable(faultsOf(r)));
        }
    }

    // ---- crashes while deleting on a full disk --------------------------

    void crashWhileDeletingOnAFullDisk_data()
    {
        QTest::addColumn<int>("scenario");
        QTest::addColumn<int>("fault");
        QTest::addColumn<int>("crash");
        const char *scenarios[] = {"remove", "gc"};
        struct Mode
        {
            const char *name;
            io::FaultEnv::Fault fault;
            io::MemEnv::CrashMode crash;
        };
        // (The main crash sweep tries every kind of power cut on ordinary
        // changes; here the mixed one stands for them.)
        const Mode modes[] = {
            {"power cut, unsynced mixed", io::FaultEnv::Fault::PowerCut, io::MemEnv::CrashMode::Random},
            {"torn write, unsynced mixed", io::FaultEnv::Fault::TornWrite, io::MemEnv::CrashMode::Random},
            {"no space", io::FaultEnv::Fault::NoSpace, io::MemEnv::CrashMode::KeepUnsynced},
            {"I/O error", io::FaultEnv::Fault::IoError, io::MemEnv::CrashMode::KeepUnsynced},
        };
        for (int s = 0; s < 2; ++s)
            for (const Mode &m : modes)
                QTest::addRow("%s / %s", scenarios[s], m.name) << s << int(m.fault) << int(m.crash);
    }
    void crashWhileDeletingOnAFullDisk()
    {
        QFETCH(int, scenario);
        QFETCH(int, fault);
        QFETCH(int, crash);
        const auto f = io::FaultEnv::Fault(fault);
        const bool crashes = f == io::FaultEnv::Fault::PowerCut || f == io::FaultEnv::Fault::TornWrite;
        using State = std::map<QString, QByteArray>;
        auto stateOf = [](Collection &c) -> Result<State> {
            State s;
            VD_TRY_ASSIGN(const auto list, c.listObjects());
            for (const ObjectInfo &o : list) {
                VD_TRY_ASSIGN(s[o.key], c.readObject(o.key, 0, o.size));
            }
            return s;
        };
        // A collection whose disk is exactly full (for gc: after removals).
        auto setup = [scenario](io::MemEnv &mem, io::Env &env) -> Result<std::unique_ptr<Collection>> {
            VD_TRY_ASSIGN(auto c, Collection::create(env, kParent, QStringLiteral("victim")));
            VD_TRY(c->putObjectBytes(QStringLiteral("a"), "alpha"));
            VD_TRY(c->putObjectBytes(QStringLiteral("b"), test::randomBytes(int(3 * MiB), 2)));
            VD_TRY(c->putObjectBytes(QStringLiteral("c"), test::randomBytes(int(2 * MiB + 5), 3)));
            VD_TRY(c->putObjectBytes(QStringLiteral("d"), test::randomBytes(20000, 4, true)));
            for (int i = 0; i < 40; ++i)
                VD_TRY(c->putObjectBytes(QStringLiteral("small/%1").arg(i), test::randomBytes(3000, quint32(10 + i))));
            VD_TRY(c->commit());
            mem.setCapacity(mem.usedBytes());
            if (scenario == 1) {
                for (int i = 0; i < 40; i += 4)
                    VD_TRY(c->removeObject(QStringLiteral("small/%1").arg(i)));
                VD_TRY(c->removeObject(QStringLiteral("c")));
                VD_TRY(c->commit());
            }
            return c;
        };
        auto op = [scenario](Collection &c) -> Status {
            if (scenario == 1)
                return c.collectGarbage().status();
            VD_TRY(c.removeObject(QStringLiteral("b")));
            VD_TRY(c.removeObject(QStringLiteral("d")));
            return c.commit();
        };
        State before, after;
        uint64_t steps = 0;
        {
            io::MemEnv mem;
            io::FaultEnv counting(&mem);
            auto c = setup(mem, counting);
            VD_VERIFY_OK(c);
            before = stateOf(**c).value();
            const uint64_t usedBefore = mem.usedBytes();
            counting.arm(0, io::FaultEnv::Fault::None);
            VD_VERIFY_OK(op(**c));
            steps = counting.steps();
            after = stateOf(**c).value();
            QVERIFY(scenario == 1 || before != after);
            if (scenario == 0)
                QVERIFY2(mem.usedBytes() + 2 * MiB <= usedBefore, "deleting on the full disk gave the space back");
            else
                QVERIFY(mem.usedBytes() <= usedBefore);
        }
        QVERIFY2(steps > 3, "too few steps: the fault injection is not reaching the commit");
        // Every step in the dev build, a seeded sample under the sanitizers.
        const test::SweepPlan &plan = test::SweepPlan::fromEnvironment();
        const std::vector<uint64_t> sweep = plan.pick(steps, QTest::currentDataTag());
        int sawAfter = 0;
        for (const uint64_t step : sweep) {
            io::MemEnv mem;
            io::FaultEnv faulty(&mem);
            auto created = setup(mem, faulty);
            VD_VERIFY_OK(created);
            std::unique_ptr<Collection> c = std::move(created).value();
            const QString dir = c->path();
            faulty.arm(step, f);
            const Status st = op(*c);
            QString where = QStringLiteral("step %1 of %2 (%3)").arg(step).arg(steps).arg(st.toString());
            if (!plan.isFull())
                where += QStringLiteral(" [%1]").arg(plan.describe());
            QVERIFY2(faulty.fired(), qPrintable(where + QStringLiteral(": the change took fewer steps than without faults")));
            if (crashes) {
                c.reset();
                mem.simulateCrash(io::MemEnv::CrashMode(crash), step * 7919 + uint64_t(fault));
            } else {
                faulty.disarm();
                auto live = stateOf(*c);
                QVERIFY2(live.isOk(), qPrintable(where + QStringLiteral(": ") + live.status().toString()));
                QVERIFY2(*live == before || *live == after, qPrintable(where));
                c.reset();
            }
            auto reopened = Collection::open(mem, dir, Access::ReadWrite);
            QVERIFY2(reopened.isOk(), qPrintable(where + QStringLiteral(": reopen failed: ") + reopened.status().toString()));
            auto state = stateOf(**reopened);
            QVERIFY2(state.isOk(), qPrintable(where + QStringLiteral(": ") + state.status().toString()));
            QVERIFY2(*state == before || *state == after, qPrintable(where + QStringLiteral(": neither before nor after")));
            if (*state == after)
                ++sawAfter;
            const FsckReport r = (*reopened)->fsck();
            QVERIFY2(r.isClean(), qPrintable(where + QStringLiteral(": ") + faultsOf(r)));
            // Whatever happened, deleting on the still full disk works.
            if (scenario == 1 || *state == before)
                VD_VERIFY_OK(op(**reopened));
        }
        QVERIFY(sawAfter > 0 || !crashes);
    }

    // ---- freed space goes back to the file system -----------------------

    void deletingAndGcShrinkTheRealFile()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        auto c = Collection::create(*io::Env::posix(), tmp.path(), QStringLiteral("real"));
        VD_VERIFY_OK(c);
        // Eight objects of 8 MiB one after another; every other one goes,
        // so no free unit is at the tail (cutting the file gives nothing).
        for (int i = 0; i < 8; ++i)
            VD_VERIFY_OK((*c)->putObjectBytes(QStringLiteral("o%1").arg(i), test::randomBytes(int(8 * MiB), quint32(i))));
        VD_VERIFY_OK((*c)->commit());
        const QString idvd = (*c)->path() + QStringLiteral("/idvd");
        const uint64_t full = allocatedOnDisk(idvd);
        QVERIFY2(full >= 64 * MiB, qPrintable(QString::number(full)));
        for (int i = 0; i < 8; i += 2)
            VD_VERIFY_OK((*c)->removeObject(QStringLiteral("o%1").arg(i)));
        VD_VERIFY_OK((*c)->commit());
        VD_VERIFY_OK((*c)->collectGarbage());
        const uint64_t after = allocatedOnDisk(idvd);
        QVERIFY2(after + 30 * MiB <= full, qPrintable(QStringLiteral("idvd holds %1 bytes of disk, was %2").arg(after).arg(full)));
        for (int i = 1; i < 8; i += 2)
            QCOMPARE((*c)->readObject(QStringLiteral("o%1").arg(i), 0, 8 * MiB).value(), test::randomBytes(int(8 * MiB), quint32(i)));
        QVERIFY((*c)->fsck().isClean());
    }
};

QTEST_GUILESS_MAIN(TestSpace)
#include "tst_space.moc"
