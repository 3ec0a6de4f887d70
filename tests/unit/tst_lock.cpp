// One writer at a time: a second writer gets Busy naming the holder, in this
// process and from another one; readers share; a lock held by a process
// killed with SIGKILL never blocks anyone.
#include "testsupport.h"

#include "io/env.h"
#include "io/memenv.h"
#include "storage/collection.h"

#include <QProcess>
#include <QTemporaryDir>

#include <unistd.h>

using namespace vd;
using namespace vd::storage;

class TestLock : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_tmp;
    QString m_dir;

    // Starts the helper holding the writer lock and waits (bounded) for it to say so.
    bool startHolder(QProcess &holder)
    {
        holder.start(QStringLiteral(VD_CRASHWRITER), {QStringLiteral("hold"), m_dir});
        if (!holder.waitForStarted(10000))
            return false;
        QElapsedTimer clock;
        clock.start();
        while (!holder.canReadLine()) {
            if (clock.elapsed() > 30000 || holder.state() != QProcess::Running)
                return false;
            holder.waitForReadyRead(1000);
        }
        return holder.readLine().startsWith("locked ");
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        auto c = Collection::create(*io::Env::posix(), m_tmp.path(), QStringLiteral("locked"));
        VD_VERIFY_OK(c);
        m_dir = (*c)->path();
    }

    void secondWriterInThisProcessIsBusy()
    {
        auto first = Collection::open(*io::Env::posix(), m_dir, Access::ReadWrite);
        VD_VERIFY_OK(first);
        auto second = Collection::open(*io::Env::posix(), m_dir, Access::ReadWrite);
        VD_VERIFY_CODE(second, ErrorCode::Busy);
        QVERIFY2(second.status().message().contains(QStringLiteral("pid %1").arg(::getpid())), qPrintable(second.status().message()));
        // A reader is refused too while a writer works; it would see blocks being reused.
        VD_VERIFY_CODE(Collection::open(*io::Env::posix(), m_dir, Access::ReadOnly), ErrorCode::Busy);
        first = Result<std::unique_ptr<Collection>>(Status::cancelled(QString()));
        VD_VERIFY_OK(Collection::open(*io::Env::posix(), m_dir, Access::ReadWrite));
    }

    void readersShareAndKeepWritersOut()
    {
        auto r1 = Collection::open(*io::Env::posix(), m_dir, Access::ReadOnly);
        auto r2 = Collection::open(*io::Env::posix(), m_dir, Access::ReadOnly);
        VD_VERIFY_OK(r1);
        VD_VERIFY_OK(r2);
        VD_VERIFY_CODE(Collection::open(*io::Env::posix(), m_dir, Access::ReadWrite), ErrorCode::Busy);
    }

    void anotherProcessIsNamed()
    {
        QProcess holder;
        QVERIFY(startHolder(holder));
        auto second = Collection::open(*io::Env::posix(), m_dir, Access::ReadWrite);
        VD_VERIFY_CODE(second, ErrorCode::Busy);
        const QString msg = second.status().message();
        QVERIFY2(msg.contains(QStringLiteral("pid %1").arg(holder.processId())), qPrintable(msg));
        QVERIFY2(msg.contains(QStringLiteral("vd_crashwriter")), qPrintable(msg));
        holder.closeWriteChannel();
        QVERIFY(holder.waitForFinished(10000));
        QCOMPARE(holder.exitCode(), 0);
        VD_VERIFY_OK(Collection::open(*io::Env::posix(), m_dir, Access::ReadWrite));
    }

    void aKilledHolderNeverBlocks()
    {
        QProcess holder;
        QVERIFY(startHolder(holder));
        VD_VERIFY_CODE(Collection::open(*io::Env::posix(), m_dir, Access::ReadWrite), ErrorCode::Busy);
        holder.kill(); // SIGKILL: no chance to clean anything up
        QVERIFY(holder.waitForFinished(10000));
        auto c = Collection::open(*io::Env::posix(), m_dir, Access::ReadWrite);
        VD_VERIFY_OK(c);
        // and nothing was left behind in the folder
        QCOMPARE(QDir(m_dir).entryList(QDir::Files | QDir::Hidden).size(), 3);
    }

    void inMemoryLocksBehaveTheSame()
    {
        io::MemEnv mem;
        auto c = Collection::create(mem, QStringLiteral("/d"), QStringLiteral("m"));
        VD_VERIFY_OK(c);
        VD_VERIFY_CODE(Collection::open(mem, (*c)->path(), Access::ReadWrite), ErrorCode::Busy);
        VD_VERIFY_CODE(Collection::open(mem, (*c)->path(), Access::ReadOnly), ErrorCode::Busy);
    }
};

QTEST_GUILESS_MAIN(TestLock)
#include "tst_lock.moc"
