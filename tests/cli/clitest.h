// Helpers for tests that drive the real vdrive binary (tst_cli, tst_treecli):
// a Sandbox (a throw-away data directory, HOME and cache folder, with the
// user's own locations removed from the child's environment), one finished
// run (exit code, stdout, stderr), and checks that print the whole run when
// they fail. Every wait is bounded by kTimeoutMs. runBytes() starts vdrive
// with arguments as raw bytes (QProcess can only pass UTF-8) and, when asked,
// with stdout and/or stderr on a pseudo-terminal, as a user's shell would.
#pragma once

#include "testsupport.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <map>
#include <memory>

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace vd::clitest {

using namespace Qt::StringLiterals;

inline constexpr int kTimeoutMs = 120'000; // the bound on any one vdrive run
inline constexpr qint64 MiB = qint64(1) << 20;

// Exit codes as docs/CLI.md promises them; spelled out here on purpose rather
// than taken from app/vdrive/cli.h, so that changing one breaks this test.
enum : int {
    ExitOk = 0,
    ExitFailure = 1,
    ExitUsage = 2,
    ExitNotFound = 3,
    ExitCorrupt = 4,
    ExitBusy = 5,
    ExitExists = 6,
    ExitResync = 8,
    ExitNotHere = 10,
    ExitCancelled = 130,
};

inline QByteArray randomBytes(qint64 n, quint32 seed) { return vd::test::randomBytes(qsizetype(n), seed); }

// Which of the child's streams are a terminal (runBytes).
enum class Tty { None, Stdout, Stderr, Both };

// One finished vdrive run.
struct Run
{
    QString what;   // the arguments, for failure messages
    int code = -1;  // the exit code; -1 if it crashed or did not finish
    QByteArray out;
    QByteArray err;

    QString errText() const { return QString::fromUtf8(err); }
    QString outText() const { return QString::fromUtf8(out); }
    QString describe() const
    {
        return u"`vdrive %1` exited %2\n--- stdout:\n%3\n--- stderr:\n%4"_s.arg(what)
            .arg(code)
            .arg(QString::fromUtf8(out.left(3000)), QString::fromUtf8(err.left(3000)));
    }
};

inline QJsonValue parseJson(const Run &r)
{
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(r.out, &pe);
    if (pe.error != QJsonParseError::NoError) {
        qWarning("not JSON (%s): %s", qPrintable(pe.errorString()), r.out.left(2000).constData());
        return QJsonValue(QJsonValue::Undefined);
    }
    return doc.isArray() ? QJsonValue(doc.array()) : QJsonValue(doc.object());
}

inline bool isIsoUtc(const QJsonValue &v)
{
    const QString s = v.toString();
    return s.endsWith(u'Z') && QDateTime::fromString(s, Qt::ISODateWithMs).isValid();
}

inline bool isRuid(const QString &s) { return QRegularExpression(u"^[0-9a-f]{32}$"_s).match(s).hasMatch(); }

// Appends what one read() of fd gives to `to`; returns read()'s result.
inline ssize_t drain(int fd, QByteArray &to)
{
    char buf[65536];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0)
        to.append(buf, n);
    return n;
}

inline QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

inline bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size() && f.flush();
}

// Size and SHA-256 of each file of a collection folder, to show that a
// command changed nothing.
inline std::map<QString, QByteArray> fingerprint(const QString &dir)
{
    std::map<QString, QByteArray> out;
    for (const QString &name : {u"idvd"_s, u".bitmap"_s, u".meta"_s}) {
        QFile f(dir + u'/' + name);
        QCryptographicHash h(QCryptographicHash::Sha256);
        if (f.open(QIODevice::ReadOnly))
            h.addData(&f);
        out[name] = QByteArray::number(QFileInfo(f).size()) + ':' + h.result().toHex();
    }
    return out;
}

// Whether this run of the suite goes through a node: with VDRIVE_TEST_SERVED
// set (ctest's cli-served, treecli-served), every Sandbox runs `vdrive serve`
// on its data directory as soon as that exists (the first command, usually
// init, creates it without a node), and every later command goes through the
// node's control socket, with the same expectations.
inline bool servedMode() { return qEnvironmentVariableIsSet("VDRIVE_TEST_SERVED"); }

// The test functions that are about the collection's files and locks
// themselves, and so do not apply while a node holds them open: the reason
// is printed as the skip message (see servedExclusions in each test file).
struct ServedExclusion
{
    const char *function;
    const char *reason;
};
template<size_t N>
inline const char *servedExclusion(const ServedExclusion (&list)[N], const char *function)
{
    if (!servedMode())
        return nullptr;
    for (const ServedExclusion &e : list)
        if (qstrcmp(e.function, function) == 0)
            return e.reason;
    return nullptr;
}

// A throw-away home for one test function: data/ is the data directory,
// home/ the child's HOME. The child runs in the sandbox folder.
class Sandbox
{
public:
    ~Sandbox() { stopNode(); }

    // In served mode: the node of this sandbox (a `vdrive serve`), started
    // once the data directory exists, and stopped (SIGTERM, which must end
    // it cleanly with exit 0) when the sandbox goes.
    void ensureNode() const
    {
        if (!servedMode() || m_node || !QFileInfo::exists(dataDir() + u"/collections"_s))
            return;
        m_node = std::make_unique<QProcess>();
        m_node->setProcessEnvironment(m_env);
        m_node->setWorkingDirectory(m_tmp.path());
        m_node->start(QStringLiteral(VDRIVE_BINARY), {u"--data-dir"_s, dataDir(), u"serve"_s});
        // It listens once it printed where.
        QElapsedTimer clock;
        clock.start();
        while (!m_node->canReadLine()) {
            if (m_node->state() == QProcess::NotRunning || clock.hasExpired(kTimeoutMs))
                qFatal("vdrive serve did not start: %s", m_node->readAllStandardError().constData());
            m_node->waitForReadyRead(100);
        }
    }
    void stopNode() const
    {
        if (!m_node)
            return;
        ::kill(pid_t(m_node->processId()), SIGTERM);
        if (!m_node->waitForFinished(kTimeoutMs) || m_node->exitStatus() != QProcess::NormalExit || m_node->exitCode() != 0)
            qFatal("vdrive serve did not stop cleanly on SIGTERM (exit %d): %s", m_node->exitCode(), m_node->readAllStandardError().constData());
        m_node.reset();
    }

    Sandbox()
    {
        m_env = QProcessEnvironment::systemEnvironment();
        m_env.remove(u"VDRIVE_DATA_DIR"_s);
        m_env.remove(u"XDG_DATA_HOME"_s);
        m_env.insert(u"HOME"_s, path(u"home"_s));
        // The tree's LMDB cache goes inside the sandbox too.
        m_env.insert(u"VDRIVE_CACHE_DIR"_s, path(u"cache"_s));
    }

    bool isValid() const { return m_tmp.isValid(); }
    QString path(const QString &rel) const { return m_tmp.filePath(rel); }
    QString dataDir() const { return path(u"data"_s); }
    QString collectionDir(const QString &ruid) const { return dataDir() + u"/collections/"_s + ruid; }
    QProcessEnvironment &env() { return m_env; }

    // vdrive --data-dir <sandbox>/data ARGS..., with `input` on its stdin.
    Run run(const QStringList &args, const QByteArray &input = {}) const { return runRaw(withDataDir(args), input); }

    Run runRaw(const QStringList &args, const QByteArray &input = {}) const
    {
        ensureNode();
        Run r;
        r.what = args.join(u' ');
        QProcess p;
        start(p, args, false);
        if (!p.waitForStarted(kTimeoutMs)) {
            r.err = "could not start " VDRIVE_BINARY ": " + p.errorString().toUtf8();
            return r;
        }
        if (!input.isEmpty())
            p.write(input);
        p.closeWriteChannel();
        if (!p.waitForFinished(kTimeoutMs)) {
            p.kill();
            p.waitForFinished(kTimeoutMs);
            r.err = "did not finish within the bound; killed\n" + p.readAllStandardError();
            return r;
        }
        r.out = p.readAllStandardOutput();
        r.err = p.readAllStandardError();
        r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
        return r;
    }

    // vdrive --data-dir <sandbox>/data ARGS... with ARGS as raw bytes (they
    // may be invalid UTF-8), stdin from /dev/null, and the streams `tty`
    // names on a pseudo-terminal in raw mode (so the bytes read back are
    // exactly those written); the others are pipes.
    Run runBytes(const QList<QByteArray> &args, Tty tty = Tty::None) const
    {
        ensureNode();
        Run r;
        QList<QByteArray> argv{QByteArray(VDRIVE_BINARY), "--data-dir", QFile::encodeName(dataDir())};
        argv += args;
        for (const QByteArray &a : args)
            r.what += QString::fromUtf8(a) + u' ';
        std::vector<char *> cargv;
        for (QByteArray &a : argv)
            cargv.push_back(a.data());
        cargv.push_back(nullptr);
        QList<QByteArray> env;
        for (const QString &e : m_env.toStringList())
            env.append(e.toUtf8());
        std::vector<char *> cenv;
        for (QByteArray &e : env)
            cenv.push_back(e.data());
        cenv.push_back(nullptr);
        const QByteArray dir = QFile::encodeName(m_tmp.path());

        int master = -1, slave = -1;
        if (tty != Tty::None) {
            if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) {
                r.err = "openpty failed";
                return r;
            }
            ::fcntl(master, F_SETFD, FD_CLOEXEC);
            ::fcntl(slave, F_SETFD, FD_CLOEXEC); // dup2() gives the child its own, without
            termios t{};
            ::tcgetattr(slave, &t);
            ::cfmakeraw(&t);
            ::tcsetattr(slave, TCSANOW, &t);
        }
        int outPipe[2], errPipe[2];
        if (::pipe2(outPipe, O_CLOEXEC) != 0 || ::pipe2(errPipe, O_CLOEXEC) != 0) {
            r.err = "pipe failed";
            return r;
        }
        const bool outTty = tty == Tty::Stdout || tty == Tty::Both;
        const bool errTty = tty == Tty::Stderr || tty == Tty::Both;
        const pid_t pid = ::fork();
        if (pid == 0) { // the child: async-signal-safe calls only
            const int devNull = ::open("/dev/null", O_RDONLY);
            if (devNull < 0 || ::dup2(devNull, 0) < 0 || ::dup2(outTty ? slave : outPipe[1], 1) < 0 || ::dup2(errTty ? slave : errPipe[1], 2) < 0
                || ::chdir(dir.constData()) != 0)
                ::_exit(127);
            ::execve(cargv[0], cargv.data(), cenv.data());
            ::_exit(127);
        }
        ::close(outPipe[1]);
        ::close(errPipe[1]);
        if (pid < 0) {
            r.err = "fork failed";
            return r;
        }
        // The parent keeps the terminal's slave open until the child is
        // gone, so that nothing written to it is lost, then drains it.
        QByteArray ttyBytes;
        pollfd fds[3] = {{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}, {master, POLLIN, 0}};
        QElapsedTimer clock;
        clock.start();
        int status = 0;
        bool exited = false;
        while (!exited || fds[0].fd >= 0 || fds[1].fd >= 0) {
            if (clock.hasExpired(kTimeoutMs)) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, &status, 0);
                r.err = "did not finish within the bound; killed\n" + r.err;
                r.code = -1;
                for (int fd : {outPipe[0], errPipe[0], master, slave})
                    if (fd >= 0)
                        ::close(fd);
                return r;
            }
            ::poll(fds, master >= 0 ? 3 : 2, 50);
            for (int k = 0; k < 2; ++k)
                if (fds[k].fd >= 0 && (fds[k].revents & (POLLIN | POLLHUP)) && drain(fds[k].fd, k == 0 ? r.out : r.err) <= 0) {
                    ::close(fds[k].fd);
                    fds[k].fd = -1;
                }
            if (master >= 0 && (fds[2].revents & POLLIN))
                drain(master, ttyBytes);
            if (!exited && ::waitpid(pid, &status, WNOHANG) == pid)
                exited = true;
        }
        if (master >= 0) {
            ::fcntl(master, F_SETFL, O_NONBLOCK);
            while (drain(master, ttyBytes) > 0) {
            }
            ::close(master);
            ::close(slave);
        }
        // One terminal for both streams: what it showed counts as both.
        if (outTty)
            r.out = ttyBytes;
        if (errTty)
            r.err = ttyBytes;
        r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return r;
    }

    // Starts vdrive (with --data-dir) without waiting for it.
    void start(QProcess &p, const QStringList &args, bool addDataDir = true) const
    {
        ensureNode();
        p.setProcessEnvironment(m_env);
        p.setWorkingDirectory(m_tmp.path());
        p.start(QStringLiteral(VDRIVE_BINARY), addDataDir ? withDataDir(args) : args);
    }

    QStringList withDataDir(const QStringList &args) const { return QStringList{u"--data-dir"_s, dataDir()} + args; }

    // Creates a collection; returns its RUID, or an empty string (with a warning).
    QString init(const QString &name) const
    {
        const Run r = run({u"init"_s, name});
        const QString ruid = r.outText().trimmed();
        if (r.code != ExitOk || !isRuid(ruid)) {
            qWarning("%s", qPrintable(r.describe()));
            return {};
        }
        return ruid;
    }

    QJsonObject info(const QString &collection) const
    {
        const Run r = run({u"-c"_s, collection, u"--json"_s, u"info"_s});
        if (r.code != ExitOk) {
            qWarning("%s", qPrintable(r.describe()));
            return {};
        }
        return parseJson(r).toObject();
    }

    QJsonArray objects(const QString &collection) const
    {
        const Run r = run({u"-c"_s, collection, u"--json"_s, u"objects"_s});
        if (r.code != ExitOk)
            qWarning("%s", qPrintable(r.describe()));
        return parseJson(r).toArray();
    }

private:
    QTemporaryDir m_tmp;
    QProcessEnvironment m_env;
    mutable std::unique_ptr<QProcess> m_node;
};

// Hands `bytes` to the child's stdin and waits (bounded) until the child has
// taken all of them from QProcess's buffer. With more bytes than a pipe holds
// (64 KiB by default, 1 MiB at most), that proves the child is reading.
inline bool feed(QProcess &p, const QByteArray &bytes)
{
    p.write(bytes);
    QElapsedTimer clock;
    clock.start();
    while (p.bytesToWrite() > 0) {
        if (p.state() != QProcess::Running || clock.hasExpired(kTimeoutMs))
            return false;
        p.waitForBytesWritten(100);
    }
    return true;
}

} // namespace vd::clitest

// Both evaluate their arguments once (a Run argument is often a whole vdrive run).
#define EXPECT_EXIT(run, expected)                                                                                                         \
    do {                                                                                                                                   \
        const Run &run_ = (run);                                                                                                           \
        const int expected_ = (expected);                                                                                                  \
        QVERIFY2(run_.code == expected_, qPrintable(u"expected exit %1 but "_s.arg(expected_) + run_.describe()));                         \
    } while (false)

#define EXPECT_CONTAINS(haystack, needle)                                                                                                  \
    do {                                                                                                                                   \
        const QString haystack_ = (haystack);                                                                                              \
        const QString needle_ = (needle);                                                                                                  \
        QVERIFY2(haystack_.contains(needle_), qPrintable(u"'%1' not found in:\n%2"_s.arg(needle_, haystack_)));                            \
    } while (false)
