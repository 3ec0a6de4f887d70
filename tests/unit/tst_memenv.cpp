// MemEnv, the in-memory file system the crash tests run on, against a plain
// model (the whole file as one byte array, and a copy of it at each sync):
// random writes across its 64 KiB chunks, truncates that cut and extend,
// syncs, and power cuts that drop or keep what was not synced. And the
// gathered write (File::writeGather) on every Env.
#include "testsupport.h"

#include "io/faultenv.h"
#include "io/memenv.h"

#include <QRandomGenerator>
#include <QTemporaryDir>

using namespace vd;

namespace {

struct Model
{
    QByteArray now;
    QByteArray durable;
};

QByteArray readAll(io::File &f)
{
    const uint64_t size = f.size().value();
    QByteArray out(qsizetype(size), Qt::Uninitialized);
    const Status st = f.read(0, out.data(), size);
    return st ? out : QByteArray("<read failed: ") + st.toString().toUtf8() + '>';
}

} // namespace

class TestMemEnv : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void matchesAPlainModelThroughCrashes_data()
    {
        QTest::addColumn<int>("crash");
        QTest::newRow("unsynced lost") << int(io::MemEnv::CrashMode::DropUnsynced);
        QTest::newRow("unsynced kept") << int(io::MemEnv::CrashMode::KeepUnsynced);
    }
    void matchesAPlainModelThroughCrashes()
    {
        QFETCH(int, crash);
        const auto mode = io::MemEnv::CrashMode(crash);
        io::MemEnv env;
        QVERIFY(env.makeDirs(QStringLiteral("/d")).isOk());
        const QString path = QStringLiteral("/d/f");
        std::unique_ptr<io::File> file = env.open(path, io::OpenMode::CreateNew).value();
        VD_VERIFY_OK(env.syncDir(QStringLiteral("/d")));
        Model m;
        QRandomGenerator rng(7);
        constexpr quint32 kSpan = 600 << 10; // about nine chunks
        for (int round = 0; round < 30; ++round) {
            for (int op = 0; op < 20; ++op) {
                const int what = int(rng.bounded(10));
                if (what < 6) {
                    const qsizetype off = rng.bounded(kSpan);
                    const QByteArray bytes = test::randomBytes(rng.bounded(1, 140000), rng.generate());
                    VD_VERIFY_OK(file->write(uint64_t(off), bytes));
                    if (m.now.size() < off + bytes.size())
                        m.now.resize(off + bytes.size(), '\0');
                    m.now.replace(off, bytes.size(), bytes);
                } else if (what < 8) {
                    const qsizetype size = rng.bounded(kSpan);
                    VD_VERIFY_OK(file->truncate(uint64_t(size)));
                    m.now.resize(size, '\0');
                } else {
                    VD_VERIFY_OK(file->sync());
                    m.durable = m.now;
                }
                QCOMPARE(file->size().value(), uint64_t(m.now.size()));
            }
            QCOMPARE(readAll(*file), m.now);
            // A read past the end is refused, not padded.
            char byte = 0;
            VD_VERIFY_CODE(file->read(uint64_t(m.now.size()), &byte, 1), ErrorCode::Corruption);

            env.simulateCrash(mode, uint64_t(round));
            VD_VERIFY_CODE(file->write(0, "x"), ErrorCode::IoError); // handles die with the machine
            file = env.open(path, io::OpenMode::ReadWrite).value();
            if (mode == io::MemEnv::CrashMode::DropUnsynced)
                m.now = m.durable;
            else
                m.durable = m.now;
            QCOMPARE(readAll(*file), m.now);
        }
    }

    // A gathered write lands as the write of its parts put together, on
    // every Env: more parts than one pwritev takes (IOV_MAX, 1024), empty
    // ones among them, into the middle of a file and past its end. Under
    // FaultEnv it is one mutating step, as one write is.
    void aGatheredWriteIsOneWriteOfItsPartsInOrder_data()
    {
        QTest::addColumn<QString>("env");
        QTest::newRow("posix") << QStringLiteral("posix");
        QTest::newRow("mem") << QStringLiteral("mem");
        QTest::newRow("fault") << QStringLiteral("fault");
    }
    void aGatheredWriteIsOneWriteOfItsPartsInOrder()
    {
        QFETCH(QString, env);
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        io::MemEnv mem;
        io::FaultEnv fault(&mem);
        io::Env *e = env == QLatin1String("posix") ? io::Env::posix() : env == QLatin1String("mem") ? static_cast<io::Env *>(&mem) : &fault;
        const QString dir = env == QLatin1String("posix") ? tmp.path() : QStringLiteral("/d");
        VD_VERIFY_OK(e->makeDirs(dir));
        std::unique_ptr<io::File> file = e->open(dir + QStringLiteral("/f"), io::OpenMode::CreateNew).value();
        QByteArray model = test::randomBytes(100000, 1);
        VD_VERIFY_OK(file->write(0, model));

        QRandomGenerator rng(11);
        std::vector<QByteArray> parts;
        for (int i = 0; i < 3000; ++i)
            parts.push_back(rng.bounded(8) == 0 ? QByteArray() : test::randomBytes(rng.bounded(1, 700), rng.generate()));
        const std::vector<QByteArrayView> views(parts.begin(), parts.end());
        const QByteArray all = [&] {
            QByteArray a;
            for (const QByteArray &p : parts)
                a.append(p);
            return a;
        }();
        QVERIFY(all.size() > 100000); // from inside the file to past its end

        fault.arm(1000000, io::FaultEnv::Fault::IoError);
        const uint64_t at = 54321;
        VD_VERIFY_OK(file->writeGather(at, views));
        if (env == QLatin1String("fault"))
            QCOMPARE(fault.steps(), uint64_t(1));
        model.resize(qsizetype(at) + all.size());
        model.replace(qsizetype(at), all.size(), all);
        QCOMPARE(file->size().value(), uint64_t(model.size()));
        QCOMPARE(readAll(*file), model);

        // Nothing to write writes nothing.
        VD_VERIFY_OK(file->writeGather(0, {}));
        QCOMPARE(readAll(*file), model);
    }

    void aFileNeverSyncedIntoItsFolderIsGoneAfterACrash()
    {
        io::MemEnv env;
        VD_VERIFY_OK(env.makeDirs(QStringLiteral("/d")));
        auto f = env.open(QStringLiteral("/d/new"), io::OpenMode::CreateNew);
        VD_VERIFY_OK(f);
        VD_VERIFY_OK((*f)->write(0, "data"));
        VD_VERIFY_OK((*f)->sync());
        env.simulateCrash(io::MemEnv::CrashMode::KeepUnsynced);
        QCOMPARE(env.exists(QStringLiteral("/d/new")).value(), false);
    }
};

QTEST_GUILESS_MAIN(TestMemEnv)
#include "tst_memenv.moc"
