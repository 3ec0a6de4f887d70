// `vdrive serve` and the CLI through its control socket, as a user meets
// them: real processes (the node, its clients), real signals, and a client
// run as another user. The whole CLI suite also runs a second time through a
// node (ctest cli-served, treecli-served); this file covers what only a
// node has: several clients at once, the node dying or stopping under a
// command, one node per data directory, the socket's owner check, status.
#include "clitest.h"

#include "control/controlclient.h"

#include <QCborArray>
#include <QCborMap>
#include <QStandardPaths>

#include <fcntl.h>
#include <sys/stat.h>

using namespace Qt::StringLiterals;
using namespace vd::clitest;

namespace {

const QString kCollection = u"docs"_s;
constexpr int kExitNodeGone = 9; // docs/CLI.md

// A `vdrive serve` on the sandbox's data directory, listening once started.
class Serve
{
public:
    explicit Serve(const Sandbox &sb) : m_sb(sb) {}
    ~Serve()
    {
        if (m_p.state() != QProcess::NotRunning) {
            m_p.kill();
            m_p.waitForFinished(kTimeoutMs);
        }
    }

    bool start()
    {
        m_sb.start(m_p, {u"serve"_s});
        QElapsedTimer clock;
        clock.start();
        while (!m_p.canReadLine()) {
            if (m_p.state() == QProcess::NotRunning || clock.hasExpired(kTimeoutMs)) {
                qWarning("serve did not start: %s", m_p.readAllStandardError().constData());
                return false;
            }
            m_p.waitForReadyRead(100);
        }
        m_line = QString::fromUtf8(m_p.readLine());
        return true;
    }
    qint64 pid() const { return m_p.processId(); }
    QString line() const { return m_line; }
    QProcess &process() { return m_p; }
    // Sends sig and waits for the node to end; its exit code (-1: crashed).
    int stop(int sig)
    {
        ::kill(pid_t(m_p.processId()), sig);
        if (!m_p.waitForFinished(kTimeoutMs))
            return -2;
        return m_p.exitStatus() == QProcess::NormalExit ? m_p.exitCode() : -1;
    }

private:
    const Sandbox &m_sb;
    QProcess m_p;
    QString m_line;
};

Run finished(QProcess &p, const QString &what)
{
    Run r;
    r.what = what;
    if (!p.waitForFinished(kTimeoutMs)) {
        p.kill();
        p.waitForFinished(kTimeoutMs);
        r.err = "did not finish within the bound; killed";
        return r;
    }
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    return r;
}

// A local folder of n small files (name i, content "file i").
bool makeTree(const QString &dir, int n)
{
    if (!QDir().mkpath(dir))
        return false;
    for (int i = 0; i < n; ++i)
        if (!writeFile(dir + u'/' + QString::number(i), "file " + QByteArray::number(i)))
            return false;
    return true;
}

QStringList lines(const Run &r)
{
    return r.outText().split(u'\n', Qt::SkipEmptyParts);
}

// Waits (bounded) until `vdrive status --json` counts n commands running
// in the node, itself included.
bool waitForCommands(const Sandbox &sb, int n)
{
    QElapsedTimer clock;
    clock.start();
    while (!clock.hasExpired(kTimeoutMs)) {
        const Run r = sb.run({u"--json"_s, u"status"_s});
        if (r.code == ExitOk && parseJson(r).toObject().value(u"commandsRunning"_s).toInt() >= n)
            return true;
        QThread::msleep(20);
    }
    return false;
}

// Waits (bounded) until a process has the FIFO open for reading, and returns
// a writer's descriptor (the reader then waits for data, or for its close);
// -1 if none came.
int openFifoWriter(const QString &fifo)
{
    QElapsedTimer clock;
    clock.start();
    while (!clock.hasExpired(kTimeoutMs)) {
        const int fd = ::open(QFile::encodeName(fifo).constData(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            return fd;
        }
        if (errno != ENXIO)
            return -1;
        QThread::msleep(10);
    }
    return -1;
}

} // namespace

class TestServe : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // Through the node: the same output and exit codes as without it, and
    // the node is the one that did the work (status counts the commands).
    void commandsGoThroughTheNode()
    {
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        QVERIFY(makeTree(sb.path(u"tree"_s), 5));
        const Run direct = sb.run({u"-c"_s, kCollection, u"put"_s, u"-r"_s, u"tree"_s, u"/a"_s});
        EXPECT_EXIT(direct, ExitOk);
        Serve node(sb);
        QVERIFY(node.start());
        EXPECT_CONTAINS(node.line(), u"(pid %1)"_s.arg(node.pid()));
        const Run served = sb.run({u"-c"_s, kCollection, u"put"_s, u"-r"_s, u"tree"_s, u"/b"_s});
        EXPECT_EXIT(served, ExitOk);
        QCOMPARE(served.outText(), direct.outText().replace(u" as /a"_s, u" as /b"_s));
        const Run missing = sb.run({u"-c"_s, kCollection, u"ls"_s, u"/nope"_s});
        EXPECT_EXIT(missing, ExitNotFound);
        EXPECT_CONTAINS(missing.errText(), u"vdrive: not-found: "_s);
        // Standard input goes up to the node.
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"put"_s, u"-"_s, u"/in.txt"_s}, "from stdin"), ExitOk);
        QCOMPARE(sb.run({u"-c"_s, kCollection, u"cat"_s, u"/in.txt"_s}).out, QByteArray("from stdin"));
        const QJsonObject status = parseJson(sb.run({u"--json"_s, u"status"_s})).toObject();
        QCOMPARE(status.value(u"pid"_s).toInteger(), node.pid());
        QVERIFY2(status.value(u"commandsRun"_s).toInt() >= 4, QJsonDocument(status).toJson().constData());
        QCOMPARE(node.stop(SIGTERM), 0);
        // Without the node the commands work as before.
        QCOMPARE(lines(sb.run({u"-c"_s, kCollection, u"ls"_s})), (QStringList{u"a/"_s, u"b/"_s, u"in.txt"_s}));
    }

    // `vdrive status`: without a node it says so (exit 0); with one, the
    // node, its clients and collections, in text and JSON.
    void status()
    {
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        const Run none = sb.run({u"status"_s});
        EXPECT_EXIT(none, ExitOk);
        EXPECT_CONTAINS(none.outText(), u"no node runs on %1"_s.arg(sb.dataDir()));
        const Run noneJson = sb.run({u"--json"_s, u"status"_s});
        EXPECT_EXIT(noneJson, ExitOk);
        QCOMPARE(parseJson(noneJson).toObject().value(u"running"_s), QJsonValue(false));

        Serve node(sb);
        QVERIFY(node.start());
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"mkdir"_s, u"/x"_s}), ExitOk);
        const Run text = sb.run({u"status"_s});
        EXPECT_EXIT(text, ExitOk);
        EXPECT_CONTAINS(text.outText(), u"node         pid %1 (vdrive serve)"_s.arg(node.pid()));
        EXPECT_CONTAINS(text.outText(), u"socket       %1/node.sock"_s.arg(sb.dataDir()));
        EXPECT_CONTAINS(text.outText(), u"clients      1 connected, 1 requests in flight"_s);
        EXPECT_CONTAINS(text.outText(), u"collections  1 open"_s);
        EXPECT_CONTAINS(text.outText(), u"  docs  "_s);
        EXPECT_CONTAINS(text.outText(), u"1 request, 1 commit, 0 rolled back"_s);
        EXPECT_CONTAINS(text.outText(), u"0 generations pinned, 0 B freed but held for readers"_s);
        const QJsonObject o = parseJson(sb.run({u"--json"_s, u"status"_s})).toObject();
        QCOMPARE(o.value(u"running"_s), QJsonValue(true));
        QCOMPARE(o.value(u"program"_s).toString(), u"vdrive serve"_s);
        QCOMPARE(o.value(u"dataDir"_s).toString(), sb.dataDir());
        QCOMPARE(o.value(u"clients"_s).toInt(), 1);
        const QJsonArray cols = o.value(u"collections"_s).toArray();
        QCOMPARE(cols.size(), 1);
        QCOMPARE(cols.at(0).toObject().value(u"name"_s).toString(), kCollection);
        QCOMPARE(cols.at(0).toObject().value(u"commits"_s).toInt(), 1);
        QCOMPARE(cols.at(0).toObject().value(u"pins"_s).toInt(), 0); // no read in flight holds one
        QVERIFY(cols.at(0).toObject().contains(u"limboBytes"_s));
        QCOMPARE(node.stop(SIGINT), 0);
    }

    // One node per data directory: a second serve says which process runs it.
    void secondServeRefused()
    {
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        Serve node(sb);
        QVERIFY(node.start());
        const Run second = sb.run({u"serve"_s});
        EXPECT_EXIT(second, ExitBusy);
        EXPECT_CONTAINS(second.errText(), u"a node already runs on data directory '%1': pid %2 (vdrive serve)"_s.arg(sb.dataDir()).arg(node.pid()));
        QCOMPARE(node.stop(SIGTERM), 0);
        // Once it stopped, another may start.
        Serve again(sb);
        QVERIFY(again.start());
        QCOMPARE(again.stop(SIGTERM), 0);
    }

    // An `ls` while a long `put -r` runs answers at once, from a committed
    // tree: the listing before the put or with the batches it committed, never
    // a part of one. (The put waits on a FIFO, after a folder of files, until
    // the ls has answered.)
    void lsDuringPut()
    {
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"mkdir"_s, u"/before"_s}), ExitOk);
        QVERIFY(makeTree(sb.path(u"many"_s), 300));
        const QString fifo = sb.path(u"pipe"_s);
        QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
        Serve node(sb);
        QVERIFY(node.start());
        QProcess put;
        sb.start(put, {u"-c"_s, kCollection, u"put"_s, u"-r"_s, u"many"_s, fifo, u"/in/"_s});
        QVERIFY(put.waitForStarted(kTimeoutMs));
        // The put stored the folder and waits at the FIFO.
        const int writer = openFifoWriter(fifo);
        QVERIFY(writer >= 0);
        QProcess ls;
        sb.start(ls, {u"-c"_s, kCollection, u"ls"_s, u"/"_s});
        QVERIFY(ls.waitForStarted(kTimeoutMs));
        // The ls answers while the put is still inside its write, held at the
        // FIFO: reads run on the node's reader pool against the last commit.
        const Run listed = finished(ls, u"ls /"_s);
        QCOMPARE(put.state(), QProcess::Running);
        QCOMPARE(::write(writer, "streamed", 8), ssize_t(8));
        ::close(writer);
        EXPECT_EXIT(listed, ExitOk);
        QVERIFY2(lines(listed) == QStringList{u"before/"_s} || lines(listed) == (QStringList{u"before/"_s, u"in/"_s}), qPrintable(listed.describe()));
        EXPECT_EXIT(finished(put, u"put"_s), ExitOk);
        QCOMPARE(lines(sb.run({u"-c"_s, kCollection, u"ls"_s, u"/in"_s})).size(), 2);
        QCOMPARE(lines(sb.run({u"-c"_s, kCollection, u"ls"_s, u"/in/many"_s})).size(), 300);
        QCOMPARE(sb.run({u"-c"_s, kCollection, u"cat"_s, u"/in/pipe"_s}).out, QByteArray("streamed"));
        QCOMPARE(node.stop(SIGTERM), 0);
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"fsck"_s}), ExitOk);
    }

    // `changes --follow` through the node sees what another client commits
    // while it follows (it looks at the host afresh each time, never from one
    // pinned generation), and a writer is never told busy because of it.
    void changesFollowThroughTheNode()
    {
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        Serve node(sb);
        QVERIFY(node.start());
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"mkdir"_s, u"/first"_s}), ExitOk);
        const Run before = sb.run({u"-c"_s, kCollection, u"changes"_s});
        EXPECT_EXIT(before, ExitOk);
        const qint64 next = lines(before).size() + 1;
        QProcess follower;
        sb.start(follower, {u"-c"_s, kCollection, u"changes"_s, u"--follow"_s, u"--since"_s, QString::number(next)});
        QVERIFY(follower.waitForStarted(kTimeoutMs));
        QVERIFY(waitForCommands(sb, 2)); // the follower, and status itself
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"mkdir"_s, u"/later"_s}), ExitOk);
        QByteArray seen;
        QElapsedTimer clock;
        clock.start();
        while (!seen.contains("create directory /later\n") && !clock.hasExpired(kTimeoutMs) && follower.state() == QProcess::Running) {
            follower.waitForReadyRead(1000);
            seen += follower.readAllStandardOutput();
        }
        QVERIFY2(seen.contains(QByteArray::number(next) + " create directory /later\n"), seen.constData());
        QCOMPARE(::kill(pid_t(follower.processId()), SIGINT), 0);
        QVERIFY(follower.waitForFinished(kTimeoutMs));
        QCOMPARE(follower.exitCode(), int(ExitCancelled));
        QCOMPARE(node.stop(SIGTERM), 0);
    }

    // Two `put -r` from two terminals at once: both complete, every file there.
    void twoPutsAtOnce()
    {
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        QVERIFY(makeTree(sb.path(u"one"_s), 200));
        QVERIFY(makeTree(sb.path(u"two"_s), 200));
        Serve node(sb);
        QVERIFY(node.start());
        QProcess a, b;
        sb.start(a, {u"-c"_s, kCollection, u"put"_s, u"-r"_s, u"one"_s, u"/one"_s});
        sb.start(b, {u"-c"_s, kCollection, u"put"_s, u"-r"_s, u"two"_s, u"/two"_s});
        const Run ra = finished(a, u"put one"_s);
        const Run rb = finished(b, u"put two"_s);
        EXPECT_EXIT(ra, ExitOk);
        EXPECT_EXIT(rb, ExitOk);
        EXPECT_CONTAINS(ra.outText(), u"stored 200 files ("_s);
        QCOMPARE(lines(sb.run({u"-c"_s, kCollection, u"ls"_s, u"/one"_s})).size(), 200);
        QCOMPARE(lines(sb.run({u"-c"_s, kCollection, u"ls"_s, u"/two"_s})).size(), 200);
        QCOMPARE(sb.run({u"-c"_s, kCollection, u"cat"_s, u"/two/199"_s}).out, QByteArray("file 199"));
        QCOMPARE(node.stop(SIGTERM), 0);
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"fsck"_s}), ExitOk);
    }

    // kill -9 of the node during a put through its socket: the client says
    // the node went away (exit 9), and the collection reopens consistent,
    // without the node, with what was committed before.
    void nodeKilledDuringPut()
    {
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"mkdir"_s, u"/kept"_s}), ExitOk);
        QVERIFY(makeTree(sb.path(u"many"_s), 100));
        const QString fifo = sb.path(u"pipe"_s);
        QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
        Serve node(sb);
        QVERIFY(node.start());
        QProcess put;
        sb.start(put, {u"-c"_s, kCollection, u"put"_s, u"-r"_s, u"many"_s, fifo, u"/in/"_s});
        const int writer = openFifoWriter(fifo); // the put is at the FIFO
        QVERIFY(writer >= 0);
        const qint64 pid = node.pid();
        QCOMPARE(node.stop(SIGKILL), -1);
        const Run r = finished(put, u"put"_s);
        EXPECT_EXIT(r, kExitNodeGone);
        ::close(writer);
        EXPECT_CONTAINS(r.errText(), u"vdrive: the node (pid %1, vdrive serve) went away during the command; what it committed is kept"_s.arg(pid));
        // Without a node now (its lock died with it): the CLI opens the collection itself.
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"fsck"_s}), ExitOk);
        QVERIFY(lines(sb.run({u"-c"_s, kCollection, u"ls"_s})).contains(u"kept/"_s));
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"put"_s, u"-r"_s, u"many"_s, u"/again"_s}), ExitOk);
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"fsck"_s}), ExitOk);
    }

    // SIGTERM to the node during a put: the put is cancelled (exit 130, as
    // on Ctrl-C), the node exits 0, and the collection is consistent.
    void nodeStoppedDuringPut()
    {
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        QVERIFY(makeTree(sb.path(u"many"_s), 50));
        const QString fifo = sb.path(u"pipe"_s);
        QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
        Serve node(sb);
        QVERIFY(node.start());
        QProcess put;
        sb.start(put, {u"-c"_s, kCollection, u"put"_s, u"-r"_s, u"many"_s, fifo, u"/in/"_s});
        const int writer = openFifoWriter(fifo); // the put is at the FIFO
        QVERIFY(writer >= 0);
        QCOMPARE(node.stop(SIGTERM), 0);
        ::close(writer);
        const Run r = finished(put, u"put"_s);
        EXPECT_EXIT(r, ExitCancelled);
        EXPECT_CONTAINS(r.errText(), u"vdrive: cancelled: put was cancelled"_s);
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"fsck"_s}), ExitOk);
        QVERIFY(!QFileInfo::exists(sb.dataDir() + u"/node.sock"_s));
    }

    // Ctrl-C in the client cancels the command in the node.
    void ctrlCInTheClient()
    {
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        const QString fifo = sb.path(u"pipe"_s);
        QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
        Serve node(sb);
        QVERIFY(node.start());
        QProcess put;
        sb.start(put, {u"-c"_s, kCollection, u"put"_s, fifo, u"/x"_s});
        const int writer = openFifoWriter(fifo); // the put is at the FIFO
        QVERIFY(writer >= 0);
        QCOMPARE(::kill(pid_t(put.processId()), SIGINT), 0);
        const Run r = finished(put, u"put"_s);
        ::close(writer);
        EXPECT_EXIT(r, ExitCancelled);
        EXPECT_CONTAINS(r.errText(), u"vdrive: cancelled: "_s);
        // The node goes on serving.
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"ls"_s}), ExitOk);
        QCOMPARE(node.stop(SIGTERM), 0);
    }

    // Ctrl-C on a command that waits behind another writer's request ends it
    // at once: it never runs, and the one it waited for goes on.
    void ctrlCWhileQueued()
    {
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        const QString fifo = sb.path(u"pipe"_s);
        QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
        Serve node(sb);
        QVERIFY(node.start());
        QProcess put;
        sb.start(put, {u"-c"_s, kCollection, u"put"_s, fifo, u"/x"_s});
        const int writer = openFifoWriter(fifo); // the put holds the writer at the FIFO
        QVERIFY(writer >= 0);
        QProcess mkdir;
        sb.start(mkdir, {u"-c"_s, kCollection, u"mkdir"_s, u"/queued"_s});
        QVERIFY(waitForCommands(sb, 3)); // put, mkdir, and status itself
        QCOMPARE(::kill(pid_t(mkdir.processId()), SIGINT), 0);
        const Run r = finished(mkdir, u"mkdir"_s); // before the put is fed
        EXPECT_EXIT(r, ExitCancelled);
        EXPECT_CONTAINS(r.errText(), u"vdrive: cancelled: cancelled while it waited for the collection's writer"_s);
        QCOMPARE(::write(writer, "bytes", 5), ssize_t(5));
        ::close(writer);
        EXPECT_EXIT(finished(put, u"put"_s), ExitOk);
        QCOMPARE(lines(sb.run({u"-c"_s, kCollection, u"ls"_s})), QStringList{u"x"_s});
        QCOMPARE(node.stop(SIGTERM), 0);
    }

    // The socket is this user's alone: a client running as `nobody` is
    // refused with a clear permission error — by the socket's mode, and by
    // the node's check of the peer's uid when the mode lets it through.
    void otherUserRefused()
    {
        if (::geteuid() != 0)
            QSKIP("needs root to run a client as nobody (setpriv)");
        const QString setpriv = QStandardPaths::findExecutable(u"setpriv"_s);
        if (setpriv.isEmpty())
            QSKIP("setpriv (util-linux) is not installed");
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        Serve node(sb);
        QVERIFY(node.start());
        // nobody may find the node (read node.lock), nothing more.
        for (const QString &dir : {sb.path(QString()), sb.dataDir()})
            QVERIFY(QFile::setPermissions(dir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner | QFileDevice::ReadOther
                                                   | QFileDevice::ExeOther));
        QVERIFY(QFile::setPermissions(sb.dataDir() + u"/node.lock"_s, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadOther));
        auto asNobody = [&] {
            QProcess p;
            p.setProcessEnvironment(sb.env());
            p.setWorkingDirectory(QDir::tempPath());
            p.start(setpriv, {u"--reuid=nobody"_s, u"--regid=nogroup"_s, u"--clear-groups"_s, QStringLiteral(VDRIVE_BINARY), u"--data-dir"_s,
                              sb.dataDir(), u"-c"_s, kCollection, u"ls"_s});
            return finished(p, u"ls as nobody"_s);
        };
        const Run byMode = asNobody();
        EXPECT_EXIT(byMode, ExitFailure);
        EXPECT_CONTAINS(byMode.errText(), u"vdrive: permission-denied: cannot reach the node running on '%1' (pid %2, vdrive serve)"_s.arg(sb.dataDir()).arg(node.pid()));
        QVERIFY(QFile::setPermissions(sb.dataDir() + u"/node.sock"_s, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadOther
                                                                          | QFileDevice::WriteOther));
        const Run byUid = asNobody();
        EXPECT_EXIT(byUid, ExitFailure);
        EXPECT_CONTAINS(byUid.errText(), u"vdrive: permission-denied: cannot reach the node running on '%1'"_s.arg(sb.dataDir()));
        QVERIFY(parseJson(sb.run({u"--json"_s, u"status"_s})).toObject().value(u"connectionsRefused"_s).toInt() >= 1);
        QCOMPARE(node.stop(SIGTERM), 0);
    }

    // Garbage in a cli.run request is refused with a clear error; the node
    // goes on serving.
    void badRunRequests_data()
    {
        QTest::addColumn<QCborValue>("args");
        QTest::addColumn<QString>("message");
        auto map = [](std::initializer_list<std::pair<QString, QCborValue>> kv) {
            QCborMap m;
            for (const auto &[k, v] : kv)
                m.insert(k, v);
            return QCborValue(m);
        };
        const QCborValue cwd = QByteArray("/");
        QTest::newRow("not a map") << QCborValue(42) << u"the arguments are not a map"_s;
        QTest::newRow("no argv") << map({{u"cwd"_s, cwd}}) << u"argv must be"_s;
        QTest::newRow("argv of text") << map({{u"argv"_s, QCborArray{u"vdrive"_s}}, {u"cwd"_s, cwd}}) << u"argv must hold byte strings"_s;
        QTest::newRow("argv empty") << map({{u"argv"_s, QCborArray{}}, {u"cwd"_s, cwd}}) << u"argv must be"_s;
        QCborArray huge; // (within a frame: the node's own bound refuses it)
        for (int i = 0; i < 70000; ++i)
            huge.append(QByteArray("x"));
        QTest::newRow("argv huge") << map({{u"argv"_s, huge}, {u"cwd"_s, cwd}}) << u"argv must be"_s;
        QTest::newRow("NUL in argv") << map({{u"argv"_s, QCborArray{QByteArray("a\0b", 3)}}, {u"cwd"_s, cwd}}) << u"without NUL"_s;
        QTest::newRow("relative cwd") << map({{u"argv"_s, QCborArray{QByteArray("vdrive")}}, {u"cwd"_s, QByteArray("x")}}) << u"cwd must be"_s;
        QTest::newRow("bad umask") << map({{u"argv"_s, QCborArray{QByteArray("vdrive")}}, {u"cwd"_s, cwd}, {u"umask"_s, -1}}) << u"umask"_s;
        QTest::newRow("tty not bool") << map({{u"argv"_s, QCborArray{QByteArray("vdrive")}}, {u"cwd"_s, cwd}, {u"stdoutTty"_s, u"yes"_s}})
                                      << u"stdoutTty must be a boolean"_s;
    }

    void badRunRequests()
    {
        QFETCH(QCborValue, args);
        QFETCH(QString, message);
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        Serve node(sb);
        QVERIFY(node.start());
        vd::control::ControlClient client;
        QVERIFY(client.connectToSocket(sb.dataDir() + u"/node.sock"_s, u"test"_s, kTimeoutMs));
        auto reply = client.call(u"cli.run"_s, args);
        QVERIFY(!reply);
        QCOMPARE(reply.status().code(), vd::ErrorCode::InvalidArgument);
        EXPECT_CONTAINS(reply.status().message(), message);
        // A good one after it works, and so does the CLI.
        QCborMap good;
        good.insert(u"argv"_s, QCborArray{QByteArray("vdrive"), QByteArray("--version")});
        good.insert(u"cwd"_s, QByteArray("/"));
        vd::control::CallOptions options;
        QByteArray out;
        options.onItems = [&](const QCborArray &items) {
            for (const QCborValue &i : items)
                out += i.toArray().at(1).toByteArray();
            return vd::Status();
        };
        auto ok = client.call(u"cli.run"_s, good, options);
        QVERIFY2(ok, qPrintable(ok.status().toString()));
        QCOMPARE(ok->toMap().value(u"exit"_s).toInteger(), 0);
        QVERIFY(out.startsWith("vdrive "));
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"ls"_s}), ExitOk);
        QCOMPARE(node.stop(SIGTERM), 0);
    }
};

QTEST_GUILESS_MAIN(TestServe)
#include "tst_serve.moc"
