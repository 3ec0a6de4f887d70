// The commit protocol, fast. A commit writes its data, catalog pages and root
// record into idvd and a new copy into .bitmap, syncs both, and only then
// writes and syncs .meta (the commit point). One small commit is cut by a
// power cut at each of its steps and once more right after it returned, with
// what was not synced dropped (or a seeded mix of it kept, dropped and torn):
// the collection must reopen to the state before or after, fsck clean, and
// after it once it was acknowledged. A sync left out or moved after the
// .meta write is caught here in a second, where the full sweeps
// (tst_crash) take minutes.
#include "testsupport.h"

#include "io/faultenv.h"
#include "io/memenv.h"
#include "storage/collection.h"

#include <QBuffer>

#include <map>

using namespace vd;
using namespace vd::storage;

namespace {

using State = std::map<QString, QByteArray>;
const QString kParent = QStringLiteral("/data");

Result<State> observe(Collection &c)
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

// A packed object and a data block, committed; then `parity` more empty-ish
// commits so that the change below lands in either copy of .meta.
Status setup(Collection &c, int parity)
{
    VD_TRY(c.putObjectBytes(QStringLiteral("small"), "before"));
    VD_TRY(c.putObjectBytes(QStringLiteral("block"), test::randomBytes(1536 << 10, 1)));
    VD_TRY(c.commit());
    for (int i = 0; i < parity; ++i) {
        VD_TRY(c.putObjectBytes(QStringLiteral("parity"), "p"));
        VD_TRY(c.commit());
    }
    return {};
}

// The change: a new packed object, a data block replaced, one commit.
Status change(Collection &c)
{
    VD_TRY(c.putObjectBytes(QStringLiteral("small"), "after"));
    VD_TRY(c.putObjectBytes(QStringLiteral("block"), test::randomBytes(1200 << 10, 2)));
    return c.commit();
}

} // namespace

class TestCommit : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void aPowerCutAtAnyStepOfACommit_data()
    {
        QTest::addColumn<int>("parity");
        QTest::addColumn<int>("crash");
        QTest::addColumn<int>("seeds");
        for (int parity : {0, 1}) {
            const char *copy = parity ? "second" : "first";
            QTest::addRow("%s .meta copy, unsynced lost", copy) << parity << int(io::MemEnv::CrashMode::DropUnsynced) << 1;
            QTest::addRow("%s .meta copy, unsynced mixed", copy) << parity << int(io::MemEnv::CrashMode::Random) << 2;
        }
    }
    void aPowerCutAtAnyStepOfACommit()
    {
        QFETCH(int, parity);
        QFETCH(int, crash);
        QFETCH(int, seeds);

        State before, after;
        uint64_t steps = 0;
        {
            io::MemEnv mem;
            io::FaultEnv counting(&mem);
            auto c = Collection::create(counting, kParent, QStringLiteral("c"));
            VD_VERIFY_OK(c);
            VD_VERIFY_OK(setup(**c, parity));
            before = observe(**c).value();
            counting.arm(0, io::FaultEnv::Fault::None);
            VD_VERIFY_OK(change(**c));
            steps = counting.steps();
            after = observe(**c).value();
        }
        QVERIFY(steps > 4);

        // Steps 1..steps cut the commit; steps + 1 never comes: the power goes
        // right after the commit returned.
        int sawBefore = 0, sawAfter = 0;
        for (uint64_t step = 1; step <= steps + 1; ++step) {
            for (int seed = 0; seed < seeds; ++seed) {
                io::MemEnv mem;
                io::FaultEnv faulty(&mem);
                auto created = Collection::create(faulty, kParent, QStringLiteral("c"));
                VD_VERIFY_OK(created);
                std::unique_ptr<Collection> c = std::move(created).value();
                VD_VERIFY_OK(setup(*c, parity));
                const QString dir = c->path();
                faulty.arm(step, io::FaultEnv::Fault::PowerCut);
                const Status st = change(*c);
                QCOMPARE(faulty.fired(), step <= steps);
                c.reset();
                mem.simulateCrash(io::MemEnv::CrashMode(crash), step * 31 + uint64_t(seed));

                const QString where = step <= steps ? QStringLiteral("power cut at step %1 of %2 (seed %3)").arg(step).arg(steps).arg(seed)
                                                    : QStringLiteral("power cut after the commit returned (seed %1)").arg(seed);
                auto reopened = Collection::open(mem, dir, Access::ReadWrite);
                QVERIFY2(reopened.isOk(), qPrintable(where + QStringLiteral(": reopen failed: ") + reopened.status().toString()));
                auto state = observe(**reopened);
                QVERIFY2(state.isOk(), qPrintable(where + QStringLiteral(": ") + state.status().toString()));
                if (st.isOk())
                    QVERIFY2(*state == after, qPrintable(where + QStringLiteral(": an acknowledged commit was lost")));
                QVERIFY2(*state == before || *state == after, qPrintable(where + QStringLiteral(": neither the state before nor the one after")));
                (*state == before ? sawBefore : sawAfter)++;
                const FsckReport report = (*reopened)->fsck();
                if (!report.isClean())
                    QFAIL(qPrintable(where + QStringLiteral(": fsck: ") + report.faults.front()));
            }
        }
        QVERIFY(sawBefore > 0 && sawAfter > 0);
        qInfo("%llu steps: %d reopened before, %d after", qulonglong(steps), sawBefore, sawAfter);
    }
};

QTEST_GUILESS_MAIN(TestCommit)
#include "tst_commit.moc"
