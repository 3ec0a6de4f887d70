// Crash safety of the tree. Every mutating step of every kind of tree
// change — folders, files small and large, range writes, moves, copies,
// removes, the trash, JSON edits, snapshots, gc — is interrupted through
// FaultEnv (power cuts with unsynced writes lost or torn, torn writes, I/O
// errors), and the drive must reopen to the state before the change or the
// one after it, with fsck clean. A change whose commit returned OK survives.
#include "testsupport.h"

#include "io/faultenv.h"
#include "io/memenv.h"
#include "storage/collection.h"
#include "tree/drive.h"

#include <QBuffer>

#include <functional>
#include <map>

using namespace vd;
using namespace vd::tree;
using vd::storage::Access;

namespace {

using State = std::map<QString, QByteArray>; // what a user sees, one line per thing
using Op = std::function<Status(Drive &)>;
const QString kParent = QStringLiteral("/data/collections");

Status observeInto(Drive &d, const QString &dir, const QString &at, State *s)
{
    VD_TRY_ASSIGN(const auto kids, d.list(dir, at));
    for (const VNode &k : kids) {
        const QString p = (dir == QLatin1String("/") ? QString() : dir) + QLatin1Char('/') + k.name;
        const QString key = at.isEmpty() ? p : at + QLatin1Char(':') + p;
        if (k.kind == Kind::Directory) {
            (*s)[key] = "dir";
            VD_TRY(observeInto(d, p, at, s));
        } else {
            QByteArray bytes;
            QBuffer buf(&bytes);
            buf.open(QIODevice::WriteOnly);
            VD_TRY(d.readFile(p, buf, {}, at));
            (*s)[key] = bytes;
        }
    }
    return {};
}

Result<State> observe(Drive &d)
{
    State s;
    VD_TRY(observeInto(d, QStringLiteral("/"), QString(), &s));
    VD_TRY_ASSIGN(const auto snaps, d.listSnapshots());
    for (const SnapshotInfo &i : snaps) {
        s[QStringLiteral("snapshot:") + i.name] = "snapshot";
        VD_TRY(observeInto(d, QStringLiteral("/"), i.name, &s));
    }
    VD_TRY_ASSIGN(const auto trash, d.listTrash());
    for (const TrashEntry &t : trash)
        s[QStringLiteral("trash:") + t.originalPath] += "x";
    return s;
}

QString describe(const State &s)
{
    QStringList parts;
    for (const auto &[k, v] : s)
        parts << QStringLiteral("%1(%2)").arg(k).arg(v.size());
    return parts.join(QLatin1Char(' '));
}

Status setupBase(Drive &d)
{
    VD_TRY(d.mkdir(QStringLiteral("/docs/old"), true).status());
    VD_TRY(d.putFileBytes(QStringLiteral("/docs/a.txt"), "alpha").status());
    VD_TRY(d.putFileBytes(QStringLiteral("/docs/old/b.bin"), test::randomBytes(20000, 2, true)).status());
    VD_TRY(d.putFileBytes(QStringLiteral("/big"), test::randomBytes((1 << 20) + 4000, 3)).status());
    QBuffer json;
    json.setData(R"({"name":"vdrive","ports":[1,2,3],"nested":{"k":true}})");
    json.open(QIODevice::ReadOnly);
    VD_TRY(d.importJson(QStringLiteral("/conf.json"), json).status());
    VD_TRY(d.remove(QStringLiteral("/docs/old/b.bin"), false, true));
    VD_TRY(d.putFileBytes(QStringLiteral("/docs/old/b.bin"), "replacement").status());
    VD_TRY(d.commit());
    VD_TRY(d.createSnapshot(QStringLiteral("base")).status());
    return d.putFileBytes(QStringLiteral("/after-snapshot"), "x").status();
}

struct Scenario
{
    const char *name;
    Op op;
};

std::vector<Scenario> scenarios()
{
    auto done = [](Drive &d, Status st) { return st ? d.commit() : st; };
    return {
        {"mkdir -p", [=](Drive &d) { return done(d, d.mkdir(QStringLiteral("/x/y/z"), true).status()); }},
        {"put small", [=](Drive &d) { return done(d, d.putFileBytes(QStringLiteral("/docs/new.txt"), test::randomBytes(5000, 4)).status()); }},
        {"put large", [=](Drive &d) { return done(d, d.putFileBytes(QStringLiteral("/large"), test::randomBytes((17 << 20) + 99, 5)).status()); }},
        {"write a range", [=](Drive &d) { return done(d, d.writeFile(QStringLiteral("/big"), 100000, test::randomBytes(70000, 6)).status()); }},
        {"append", [=](Drive &d) { return done(d, d.appendFile(QStringLiteral("/docs/a.txt"), "beta").status()); }},
        {"move a folder", [=](Drive &d) { return done(d, d.move(QStringLiteral("/docs"), QStringLiteral("/archive")).status()); }},
        {"copy a folder", [=](Drive &d) { return done(d, d.copy(QStringLiteral("/docs"), QStringLiteral("/docs2")).status()); }},
        {"remove to the trash", [=](Drive &d) { return done(d, d.remove(QStringLiteral("/docs"), true, true)); }},
        {"remove for good", [=](Drive &d) { return done(d, d.remove(QStringLiteral("/big"), false, false)); }},
        {"trash restore", [=](Drive &d) {
             auto t = d.listTrash();
             if (!t || t->empty())
                 return Status::internal(QStringLiteral("no trash"));
             return done(d, d.restoreFromTrash(t->front().id, QStringLiteral("/restored")).status());
         }},
        {"trash empty", [=](Drive &d) { return done(d, d.emptyTrash().status()); }},
        {"json set and delete", [=](Drive &d) {
             VD_TRY(d.setJson(QStringLiteral("/conf.json/ports/3"), "4").status());
             VD_TRY(d.deleteJson(QStringLiteral("/conf.json/nested")));
             return done(d, d.setJson(QStringLiteral("/conf.json/name"), R"("renamed")").status());
         }},
        {"snapshot create", [=](Drive &d) { return d.createSnapshot(QStringLiteral("second")).status(); }},
        {"snapshot delete and gc", [=](Drive &d) {
             VD_TRY(d.remove(QStringLiteral("/big"), false, false));
             VD_TRY(d.deleteSnapshot(QStringLiteral("base")));
             return d.gc().status();
         }},
        {"snapshot restore", [=](Drive &d) {
             VD_TRY(d.remove(QStringLiteral("/docs/a.txt"), false, false));
             return done(d, d.restore(QStringLiteral("base"), QStringLiteral("/docs")).status());
         }},
        {"batch of files", [=](Drive &d) {
             VD_TRY(d.mkdir(QStringLiteral("/batch"), true).status());
             for (int i = 0; i < 200; ++i)
                 VD_TRY(d.putFileBytes(QStringLiteral("/batch/f%1").arg(i), test::randomBytes(3000, quint32(100 + i))).status());
             return d.commit();
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
        {"torn write, unsynced mixed", io::FaultEnv::Fault::TornWrite, io::MemEnv::CrashMode::Random, true},
        {"I/O error", io::FaultEnv::Fault::IoError, io::MemEnv::CrashMode::KeepUnsynced, false},
    };
    return m;
}

} // namespace

class TestTreeCrash : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void everyStepOfEveryTreeChange_data()
    {
        QTest::addColumn<int>("scenario");
        QTest::addColumn<int>("mode");
        const auto all = scenarios();
        for (size_t s = 0; s < all.size(); ++s)
            for (size_t m = 0; m < modes().size(); ++m)
                QTest::addRow("%s / %s", all[s].name, modes()[m].name) << int(s) << int(m);
    }
    void everyStepOfEveryTreeChange()
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
            auto c = storage::Collection::create(counting, kParent, QStringLiteral("victim"));
            VD_VERIFY_OK(c);
            auto d = Drive::attach(std::move(c).value(), vd::test::testDrive());
            VD_VERIFY_OK(d);
            VD_VERIFY_OK(setupBase(**d));
            VD_VERIFY_OK((*d)->commit());
            auto b = observe(**d);
            VD_VERIFY_OK(b);
            before = *b;
            counting.arm(0, io::FaultEnv::Fault::None);
            VD_VERIFY_OK(sc.op(**d));
            steps = counting.steps();
            auto a = observe(**d);
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
            auto created = storage::Collection::create(faulty, kParent, QStringLiteral("victim"));
            VD_VERIFY_OK(created);
            const QString dir = (*created)->path();
            auto attached = Drive::attach(std::move(created).value(), vd::test::testDrive());
            VD_VERIFY_OK(attached);
            std::unique_ptr<Drive> d = std::move(attached).value();
            VD_VERIFY_OK(setupBase(*d));
            VD_VERIFY_OK(d->commit());

            faulty.arm(step, md.fault);
            const Status st = sc.op(*d);
            QString where = QStringLiteral("step %1 of %2 (%3)").arg(step).arg(steps).arg(st.toString());
            if (!plan.isFull())
                where += QStringLiteral(" [%1]").arg(plan.describe());
            QVERIFY2(faulty.fired(), qPrintable(where + QStringLiteral(": the change took fewer steps than without faults")));
            if (md.crashes) {
                d.reset();
                mem.simulateCrash(md.crash, step * 7919 + uint64_t(mode));
            } else {
                faulty.disarm();
                auto live = observe(*d);
                VD_VERIFY_OK(live);
                QVERIFY2(*live == before || *live == after, qPrintable(where + QStringLiteral(": in memory ") + describe(*live)));
                d.reset();
            }
            auto reopened = Drive::open(mem, dir, Access::ReadWrite, vd::test::testDrive());
            QVERIFY2(reopened.isOk(), qPrintable(where + QStringLiteral(": reopen failed: ") + reopened.status().toString()));
            auto state = observe(**reopened);
            QVERIFY2(state.isOk(), qPrintable(where + QStringLiteral(": ") + state.status().toString()));
            if (st.isOk())
                QVERIFY2(*state == after, qPrintable(where + QStringLiteral(": an acknowledged change was lost")));
            QVERIFY2(*state == before || *state == after, qPrintable(where + QStringLiteral(": a mixed state: ") + describe(*state)));
            (*state == before ? sawBefore : sawAfter)++;
            const storage::FsckReport report = (*reopened)->fsck();
            if (!report.isClean())
                QFAIL(qPrintable(where + QStringLiteral(": ") + report.faults.front()));
            VD_VERIFY_OK((*reopened)->putFileBytes(QStringLiteral("/after-crash"), "ok"));
            VD_VERIFY_OK((*reopened)->commit());
        }
        qInfo("%s / %s: %s, %d reopened before, %d after", sc.name, md.name, qPrintable(test::SweepPlan::summary(sweep, steps)), sawBefore, sawAfter);
    }
};

QTEST_GUILESS_MAIN(TestTreeCrash)
#include "tst_treecrash.moc"
