// vdrive-explorer as a program: started (offscreen) on a data directory, it
// is the node — `vdrive` commands run as processes of their own go through
// it — and on SIGTERM it closes cleanly, after which `vdrive` opens the
// collection itself and finds everything committed.
#include "testsupport.h"

#include <QProcess>
#include <QTemporaryDir>

#include <csignal>

class TestExplorerApp : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;

    QByteArray vdrive(const QStringList &args, int *exitCode)
    {
        QProcess p;
        p.start(QStringLiteral(VDRIVE_BINARY), QStringList{QStringLiteral("--data-dir"), m_tmp.filePath(QStringLiteral("data"))} + args);
        if (!p.waitForFinished(60000))
            p.kill();
        *exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
        return p.readAllStandardOutput() + p.readAllStandardError();
    }

private Q_SLOTS:
    void servesTheTerminalAndStopsCleanly()
    {
        QVERIFY(m_tmp.isValid());
        int code = -1;
        vdrive({QStringLiteral("init"), QStringLiteral("app")}, &code);
        QCOMPARE(code, 0);

        QProcess explorer;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        env.insert(QStringLiteral("HOME"), m_tmp.filePath(QStringLiteral("home")));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), m_tmp.filePath(QStringLiteral("home/.config")));
        explorer.setProcessEnvironment(env);
        explorer.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        explorer.start(QStringLiteral(VDRIVE_EXPLORER_BINARY),
                       {QStringLiteral("--data-dir"), m_tmp.filePath(QStringLiteral("data")), QStringLiteral("-c"), QStringLiteral("app")});
        QVERIFY(explorer.waitForStarted(10000));

        // Once it serves, `vdrive status` names it.
        QByteArray status;
        QVERIFY(QTest::qWaitFor([&] {
            status = vdrive({QStringLiteral("status")}, &code);
            return code == 0 && status.contains("vdrive-explorer");
        }, 30000));
        vdrive({QStringLiteral("-c"), QStringLiteral("app"), QStringLiteral("mkdir"), QStringLiteral("/made while the window was open")}, &code);
        QCOMPARE(code, 0);
        QVERIFY(status.contains("vdrive-explorer"));

        ::kill(pid_t(explorer.processId()), SIGTERM);
        QVERIFY(explorer.waitForFinished(30000));
        QCOMPARE(explorer.exitStatus(), QProcess::NormalExit);
        QCOMPARE(explorer.exitCode(), 0);

        // No node now: the CLI opens the collection itself.
        const QByteArray ls = vdrive({QStringLiteral("-c"), QStringLiteral("app"), QStringLiteral("ls")}, &code);
        QCOMPARE(code, 0);
        QCOMPARE(ls, QByteArray("made while the window was open/\n"));
        QVERIFY(vdrive({QStringLiteral("status")}, &code).startsWith("no node runs"));
    }
};

QTEST_GUILESS_MAIN(TestExplorerApp)
#include "tst_explorerapp.moc"
