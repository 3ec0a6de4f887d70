// Crash safety. Every mutating step of every kind of change is interrupted
// through FaultEnv — power cut (unsynced writes dropped, kept, or a random
// mix torn at sector boundaries), a torn write, ENOSPC, EIO — and the
// collection must then reopen to the state before the change or the state
// after it, never a mix, with fsck clean (so blocks written but not
// committed are free again). A change whose commit returned OK must survive.
#include "crashpayload.h"
#include "testsupport.h"

#include "io/faultenv.h"
#include "io/memenv.h"
#include "storage/collection.h"
#include "storage/datadir.h"

#include <QBuffer>
#include <QProcess>
#include <QTemporaryDir>

#include <functional>
#include <map>

using namespace vd;
using namespace vd::storage;

namespace {

using State = std::map<QString, QByteArray>;
using Op = std::function<Status(Collection &)>;

const QString kParent = QStringLiteral("/data/collections");

Result<State> snapshot(Collection &c)
{
    State s;
    VD_TRY_ASSIGN(const auto list, c.listObjects());
    for (const ObjectInfo &o : list) {
        QByteArray bytes;
        QBuffer buf(&bytes);
        buf.open(QIODevice::WriteOnly);
        VD_TRY(c.getObject(o.key, buf));
        s[o.key] = bytes;
    }
    return s;
}

QString describe(const State &s)
{
    QStringList parts;
    for (const auto &[k, v] : s)
        parts << QStringLiteral("%1(%2)").arg(k).arg(v.size());
    return parts.join(QLatin1Char(' '));
}

Status setupBase(Collection &c)
{
    VD_TRY(c.putObjectBytes(QStringLiteral("a"), "alpha"));
    VD_TRY(c.putObjectBytes(QStringLiteral("b"), test::randomBytes(20000, 2, true)));
    VD_TRY(c.putObjectBytes(QStringLiteral("c"), test::randomBytes(3 << 20, 3)));
    return c.commit();
}

struct Scenario
{
    const char *name;
    Op op;
};

std::vector<Scenario> scenarios()
{
    return {
        {"put small", [](Collection &c) {
             VD_TRY(c.putObjectBytes(QStringLiteral("new"), test::randomBytes(10000, 4)));
             return c.commit();
         }},
        {"put large", [](Collection &c) {
             VD_TRY(c.putObjectBytes(QStringLiteral("large"), test::randomBytes((18 << 20) + 12345, 5)));
             return c.commit();
         }},
        {"replace", [](Collection &c) {
             VD_TRY(c.putObjectBytes(QStringLiteral("c"), test::randomBytes(2 << 20, 6)));
             return c.commit();
         }},
        {"remove", [](Collection &c) {
             VD_TRY(c.removeObject(QStringLiteral("c")));
             VD_TRY(c.removeObject(QStringLiteral("a")));
             return c.commit();
         }},
        {"batch", [](Collection &c) {
             for (int i = 0; i < 250; ++i)
                 VD_TRY(c.putObjectBytes(QStringLiteral("batch/%1").arg(i), test::randomBytes(20000, quint32(100 + i))));
             VD_TRY(c.removeObject(QStringLiteral("b")));
             return c.commit();
         }},
    };
}

struct Mode
{
    const char *name;
    io::FaultEnv::Fault fault;
    io::MemEnv::CrashMode crash;
    bool crashes;
};

const std::vector<Mode> &modes()
{
    static const std::vector<Mode> m = {
        {"power cut, unsynced lost", io::FaultEnv::Fault::PowerCut, io::MemEnv::CrashMode::DropUnsynced, true},
        {"power cut, unsynced kept", io::FaultEnv::Fault::PowerCut, io::MemEnv::CrashMode::KeepUnsynced, true},
        {"power cut, unsynced mixed", io::FaultEnv::Fault::PowerCut, io::MemEnv::CrashMode::Random, true},
        {"torn write, unsynced mixed", io::FaultEnv::Fault::TornWrite, io::MemEnv::CrashMode::Random, true},
        {"torn write, unsynced kept", io::FaultEnv::Fault::TornWrite, io::MemEnv::CrashMode::KeepUnsynced, true},
        {"no space", io::FaultEnv::Fault::NoSpace, io::MemEnv::CrashMode::KeepUnsynced, false},
        {"I/O error", io::FaultEnv::Fault::IoError, io::MemEnv::CrashMode::KeepUnsynced, false},
    };
    return m;
}

} // namespace

class TestCrash : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void everyStepOfEveryChange_data()
    {
        QTest::addColumn<int>("scenario");
        QTest::addColumn<int>("mode");
        const auto all = scenarios();
        for (size_t s = 0; s < all.size(); ++s)
            for (size_t m = 0; m < modes().size(); ++m)
                QTest::addRow("%s / %s", all[s].name, modes()[m].name) << int(s) << int(m);
    }
    void everyStepOfEveryChange()
    {
        QFETCH(int, scenario);
        QFETCH(int, mode);
        const Scenario sc = scenarios()[size_t(scenario)];
        const Mode md = modes()[size_t(mode)];

        // The states before and after the change, and the number of its
        // mutating steps, from a run without faults.
        State before, after;
        uint64_t steps = 0;
        {
            io::MemEnv mem;
            io::FaultEnv counting(&mem);
            auto c = Collection::create(counting, kParent, QStringLiteral("victim"));
            VD_VERIFY_OK(c);
            VD_VERIFY_OK(setupBase(**c));
            auto b = snapshot(**c);
            VD_VERIFY_OK(b);
            before = *b;
            counting.arm(0, io::FaultEnv::Fault::None);
            VD_VERIFY_OK(sc.op(**c));
            steps = counting.steps();
            auto a = snapshot(**c);
            VD_VERIFY_OK(a);
            after = *a;
            QVERIFY(before != after);
        }
        QVERIFY2(steps > 3, "too few steps: the fault injection is not reaching the commit");

        const test::SweepPlan &plan = test::SweepPlan::fromEnvironment();
        const std::vector<uint64_t> sweep = plan.pick(steps, QTest::currentDataTag());
        int sawBefore = 0, sawAfter = 0;
        for (const uint64_t step : sweep) {
            io::MemEnv mem;
            io::FaultEnv faulty(&mem);
            auto created = Collection::create(faulty, kParent, QStringLiteral("victim"));
            VD_VERIFY_OK(created);
            std::unique_ptr<Collection> c = std::move(created).value();
            VD_VERIFY_OK(setupBase(*c));
            const QString dir = c->path();

            faulty.arm(step, md.fault);
            const Status st = sc.op(*c);
            QString where = QStringLiteral("step %1 of %2 (%3)").arg(step).arg(steps).arg(st.toString());
            if (!plan.isFull())
                where += QStringLiteral(" [%1]").arg(plan.describe());
            QVERIFY2(faulty.fired(), qPrintable(where + QStringLiteral(": the change took fewer steps than without faults")));

            if (md.crashes) {
                c.reset();
                mem.simulateCrash(md.crash, step * 7919 + uint64_t(mode));
            } else {
                // No crash: the failure was reported, memory went back to
                // what is on disk, and the collection goes on working.
                QVERIFY2(!st.isOk() || faulty.steps() >= step, qPrintable(where));
                faulty.disarm();
                auto live = snapshot(*c);
                VD_VERIFY_OK(live);
                QVERIFY2(*live == before || *live == after, qPrintable(where + QStringLiteral(": in memory ") + describe(*live)));
                if (*live == before)
                    VD_VERIFY_OK(sc.op(*c));
                c.reset();
            }

            auto reopened = Collection::open(mem, dir, Access::ReadWrite);
            QVERIFY2(reopened.isOk(), qPrintable(where + QStringLiteral(": reopen failed: ") + reopened.status().toString()));
            auto state = snapshot(**reopened);
            QVERIFY2(state.isOk(), qPrintable(where + QStringLiteral(": ") + state.status().toString()));
            if (md.crashes && st.isOk())
                QVERIFY2(*state == after, qPrintable(where + QStringLiteral(": an acknowledged commit was lost")));
            if (!md.crashes)
                QVERIFY2(*state == after, qPrintable(where + QStringLiteral(": the retried change is missing")));
            QVERIFY2(*state == before || *state == after, qPrintable(where + QStringLiteral(": a mixed state: ") + describe(*state)));
            (*state == before ? sawBefore : sawAfter)++;
            const FsckReport report = (*reopened)->fsck();
            if (!report.isClean())
                QFAIL(qPrintable(where + QStringLiteral(": ") + report.faults.front()));
            // And it takes new work after the crash.
            VD_VERIFY_OK((*reopened)->putObjectBytes(QStringLiteral("after-crash"), "ok"));
            VD_VERIFY_OK((*reopened)->commit());
        }
        if (md.crashes && md.crash == io::MemEnv::CrashMode::DropUnsynced)
            QVERIFY(sawBefore > 0); // cutting the power early must lose the change
        qInfo("%s / %s: %s, %d reopened before, %d after", sc.name, md.name, qPrintable(test::SweepPlan::summary(sweep, steps)), sawBefore, sawAfter);
    }

    // Every step of a change interrupted by a crash, and then the .meta copy
    // that change's commit writes damaged as well (as if it had been written,
    // acknowledged and then garbled, or torn). A torn commit and a damaged
    // copy look the same; reopening decides from idvd. It must never bring
    // back something inconsistent: the state before or after, fsck clean
    // once the damaged copy is gone, and an acknowledged change never lost.
    void everyStepWithTheNewMetaCopyDamaged_data()
    {
        QTest::addColumn<int>("scenario");
        QTest::addColumn<int>("mode");
        const auto all = scenarios();
        for (size_t s = 0; s < all.size(); ++s) {
            const QByteArray name = all[s].name;
            if (name != "replace" && name != "batch")
                continue; // frees and data blocks; SmallBlocks and many pages
            for (size_t m = 0; m < modes().size(); ++m)
                if (modes()[m].crash == io::MemEnv::CrashMode::KeepUnsynced && modes()[m].fault == io::FaultEnv::Fault::PowerCut)
                    QTest::addRow("%s / %s", all[s].name, modes()[m].name) << int(s) << int(m);
                else if (modes()[m].crash == io::MemEnv::CrashMode::Random && modes()[m].fault == io::FaultEnv::Fault::TornWrite)
                    QTest::addRow("%s / %s", all[s].name, modes()[m].name) << int(s) << int(m);
        }
    }
    void everyStepWithTheNewMetaCopyDamaged()
    {
        QFETCH(int, scenario);
        QFETCH(int, mode);
        const Scenario sc = scenarios()[size_t(scenario)];
        const Mode md = modes()[size_t(mode)];
        State before, after;
        {
            io::MemEnv mem;
            auto c = Collection::create(mem, kParent, QStringLiteral("ref"));
            VD_VERIFY_OK(c);
            VD_VERIFY_OK(setupBase(**c));
            before = snapshot(**c).value();
            VD_VERIFY_OK(sc.op(**c));
            after = snapshot(**c).value();
        }
        int rolledForward = 0, fellBack = 0;
        uint64_t step = 1;
        for (;; ++step) {
            QVERIFY2(step < 2000, "the change never ran out of steps");
            io::MemEnv mem;
            io::FaultEnv faulty(&mem);
            auto created = Collection::create(faulty, kParent, QStringLiteral("victim"));
            VD_VERIFY_OK(created);
            std::unique_ptr<Collection> c = std::move(created).value();
            VD_VERIFY_OK(setupBase(*c));
            const QString dir = c->path();
            const uint64_t next = c->generation() + 1;
            faulty.arm(step, md.fault);
            const Status st = sc.op(*c);
            if (!faulty.fired())
                break;
            const QString where = QStringLiteral("step %1 (%2)").arg(step).arg(st.toString());
            c.reset();
            mem.simulateCrash(md.crash, step * 104729 + uint64_t(mode));
            auto meta = mem.contents(dir + QStringLiteral("/.meta"));
            VD_VERIFY_OK(meta);
            meta->replace(qsizetype(next % 2) * 4096 + 64, 32, QByteArray(32, '\x5a'));
            VD_VERIFY_OK(mem.setContents(dir + QStringLiteral("/.meta"), *meta));

            auto reopened = Collection::open(mem, dir, Access::ReadWrite);
            QVERIFY2(reopened.isOk(), qPrintable(where + QStringLiteral(": reopen failed: ") + reopened.status().toString()));
            auto state = snapshot(**reopened);
            QVERIFY2(state.isOk(), qPrintable(where + QStringLiteral(": ") + state.status().toString()));
            QVERIFY2(*state == before || *state == after, qPrintable(where + QStringLiteral(": a mixed state: ") + describe(*state)));
            if (st.isOk())
                QVERIFY2(*state == after, qPrintable(where + QStringLiteral(": an acknowledged commit was lost to a damaged .meta copy")));
            (*state == after ? rolledForward : fellBack)++;
            FsckReport report = (*reopened)->fsck();
            // What may remain: the damaged copy, kept as evidence while the
            // generation in idvd did not verify (never for an acknowledged one).
            if (!report.isClean()) {
                QVERIFY2(!st.isOk() && report.faults.size() == 1 && report.faults.front().startsWith(QStringLiteral(".meta: the newest copy is unreadable")),
                         qPrintable(where + QStringLiteral(": ") + report.faults.front()));
            }
            VD_VERIFY_OK((*reopened)->putObjectBytes(QStringLiteral("after-crash"), "ok"));
            VD_VERIFY_OK((*reopened)->commit());
            report = (*reopened)->fsck();
            if (!report.isClean())
                QFAIL(qPrintable(where + QStringLiteral(" after a new commit: ") + report.faults.front()));
        }
        QVERIFY(rolledForward > 0 && fellBack > 0);
        qInfo("%s / %s: %llu steps, %d rolled forward, %d fell back", sc.name, md.name, qulonglong(step - 1), rolledForward, fellBack);
    }

    void crashWhileCreatingACollection_data()
    {
        QTest::addColumn<int>("mode");
        for (size_t m = 0; m < modes().size(); ++m)
            if (modes()[m].crashes)
                QTest::addRow("%s", modes()[m].name) << int(m);
    }
    void crashWhileCreatingACollection()
    {
        QFETCH(int, mode);
        const Mode md = modes()[size_t(mode)];
        for (uint64_t step = 1;; ++step) {
            QVERIFY(step < 200);
            io::MemEnv mem;
            io::FaultEnv faulty(&mem);
            faulty.arm(step, md.fault);
            auto c = createCollection(faulty, QStringLiteral("/data"), QStringLiteral("fresh"));
            if (!faulty.fired()) {
                VD_VERIFY_OK(c);
                break;
            }
            const bool acknowledged = c.isOk();
            c = Result<std::unique_ptr<Collection>>(Status::cancelled(QString()));
            mem.simulateCrash(md.crash, step);
            // Either no collection, or a damaged folder that is reported (not
            // trusted, not crashing anything), or a complete empty collection.
            auto list = listCollections(mem, QStringLiteral("/data"));
            VD_VERIFY_OK(list);
            QVERIFY(list->size() <= 1);
            if (acknowledged)
                QVERIFY2(list->size() == 1 && list->front().status.isOk(), "an acknowledged create was lost");
            if (list->empty())
                continue;
            const CollectionEntry &e = list->front();
            auto opened = Collection::open(mem, e.path, Access::ReadWrite);
            if (!e.status.isOk()) {
                QVERIFY(!opened.isOk());
                QVERIFY(opened.status().code() == ErrorCode::Corruption || opened.status().code() == ErrorCode::NotFound);
                continue;
            }
            if (!opened.isOk()) {
                // .meta made it but another file did not: reported, not trusted.
                QCOMPARE(opened.status().code(), ErrorCode::Corruption);
                continue;
            }
            auto objects = (*opened)->listObjects();
            VD_VERIFY_OK(objects);
            QVERIFY(objects->empty());
            QVERIFY((*opened)->fsck().isClean());
        }
    }

    // The real thing: a writer process killed with SIGKILL at arbitrary
    // moments of its put-and-commit loop, on the real file system.
    void killNineWhileWriting()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        auto created = createCollection(*io::Env::posix(), tmp.path(), QStringLiteral("killed"));
        VD_VERIFY_OK(created);
        const QString dir = (*created)->path();
        created = Result<std::unique_ptr<Collection>>(Status::cancelled(QString()));
        QRandomGenerator rng(2024);
        int acknowledged = -1;
        for (int round = 0; round < 6; ++round) {
            QProcess writer;
            writer.start(QStringLiteral(VD_CRASHWRITER), {QStringLiteral("write"), dir, QString::number(acknowledged + 1)});
            QVERIFY(writer.waitForStarted(10000));
            // Let it acknowledge a few more commits, then kill it mid-flight.
            const int target = acknowledged + 1 + int(rng.bounded(4));
            QElapsedTimer clock;
            clock.start();
            while (acknowledged < target) {
                QVERIFY2(clock.elapsed() < 60000, "the writer stopped acknowledging commits");
                if (!writer.canReadLine() && !writer.waitForReadyRead(1000)) {
                    QVERIFY2(writer.state() == QProcess::Running, qPrintable(QString::fromLocal8Bit(writer.readAllStandardError())));
                    continue;
                }
                while (writer.canReadLine()) {
                    const QByteArray line = writer.readLine().trimmed();
                    QVERIFY(line.startsWith("ack "));
                    acknowledged = line.mid(4).toInt();
                }
            }
            writer.kill();
            QVERIFY(writer.waitForFinished(10000));
            // Lines written before the kill are acknowledgements too.
            for (const QByteArray &line : writer.readAllStandardOutput().split('\n'))
                if (line.startsWith("ack "))
                    acknowledged = line.mid(4).toInt();

            auto c = Collection::open(*io::Env::posix(), dir, Access::ReadOnly);
            VD_VERIFY_OK(c);
            auto state = snapshot(**c);
            VD_VERIFY_OK(state);
            // Every acknowledged object is there, exact; at most one more
            // (committed, but killed before it could say so).
            for (int n = 0; n <= acknowledged; ++n)
                QVERIFY2(state->count(QStringLiteral("obj-%1").arg(n)) && state->at(QStringLiteral("obj-%1").arg(n)) == crashWriterPayload(n),
                         qPrintable(QStringLiteral("acknowledged object %1 is missing or wrong").arg(n)));
            QVERIFY(state->size() == size_t(acknowledged + 1) || state->size() == size_t(acknowledged + 2));
            if (state->size() == size_t(acknowledged + 2))
                QCOMPARE(state->at(QStringLiteral("obj-%1").arg(acknowledged + 1)), crashWriterPayload(acknowledged + 1));
            const FsckReport report = (*c)->fsck();
            if (!report.isClean())
                QFAIL(qPrintable(report.faults.front()));
            // The next writer continues after the last object it finds.
            acknowledged = int(state->size()) - 1;
            c = Result<std::unique_ptr<Collection>>(Status::cancelled(QString()));
        }
    }
};

QTEST_GUILESS_MAIN(TestCrash)
#include "tst_crash.moc"
