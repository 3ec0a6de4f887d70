// The client side of a command run through the node (serve.h).
#include "serve.h"

#include "terminal.h"

#include "control/controlclient.h"
#include "control/nodelock.h"

#include <QCborArray>
#include <QCborMap>
#include <QDir>
#include <QFile>

#include <cerrno>
#include <cstring>
#include <csignal>
#include <sys/stat.h>
#include <unistd.h>

namespace vd::cli {

namespace {

volatile std::sig_atomic_t g_cancel = 0;
extern "C" void onClientInterrupt(int) { g_cancel = 1; }

// Connecting (and waiting for a node that is starting) takes at most this long.
constexpr int kConnectTimeoutMs = 10000;

bool writeAll(int fd, const char *data, qsizetype size)
{
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size_t(size));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        size -= n;
    }
    return true;
}

mode_t currentUmask()
{
    const mode_t m = ::umask(0);
    ::umask(m);
    return m;
}

} // namespace

QByteArrayList rawArguments(const QStringList &arguments)
{
    QByteArrayList raw;
    for (const QString &a : arguments)
        raw.append(a.toUtf8());
    return raw;
}

bool readsStdin(const QString &command, const QStringList &args)
{
    if (command != QLatin1String("put") && command != QLatin1String("put-object") && command != QLatin1String("json import"))
        return false;
    return args.contains(QStringLiteral("-"));
}

std::optional<int> runThroughNode(Context &ctx, const QByteArrayList &raw, bool readsStdin)
{
    auto found = control::NodeLock::find(*ctx.env, ctx.dataDir);
    if (!found || !*found)
        return std::nullopt; // no node (an unreadable lock file: the command finds out itself)
    const control::NodeInfo node = **found;
    control::ControlClient client;
    QString clientName = QStringLiteral("vdrive");
    for (qsizetype i = 1; i < raw.size(); ++i)
        if (!raw[i].startsWith('-')) {
            clientName += QLatin1Char(' ') + QString::fromUtf8(raw[i]);
            break;
        }
    auto connected = client.connectToNode(*ctx.env, ctx.dataDir, clientName, kConnectTimeoutMs);
    if (!connected)
        return ctx.fail(connected.status().withContext(
            QStringLiteral("cannot reach the node running on '%1' (pid %2, %3)").arg(ctx.dataDir).arg(node.pid).arg(node.program)));
    if (!*connected)
        return std::nullopt; // it stopped meanwhile

    QCborArray argv;
    for (const QByteArray &a : raw)
        argv.append(a);
    QCborMap args;
    args.insert(QStringLiteral("argv"), argv);
    args.insert(QStringLiteral("cwd"), QFile::encodeName(QDir::currentPath()));
    args.insert(QStringLiteral("umask"), qint64(currentUmask()));
    args.insert(QStringLiteral("stdinTty"), ::isatty(STDIN_FILENO) == 1);
    args.insert(QStringLiteral("stdoutTty"), ::isatty(STDOUT_FILENO) == 1);
    args.insert(QStringLiteral("stderrTty"), ::isatty(STDERR_FILENO) == 1);

    // Ctrl-C (and SIGTERM) cancel the command in the node, which answers
    // as the command does when it runs here. No SA_RESTART: a read of
    // stdin for the upload returns at once.
    struct sigaction act{};
    act.sa_handler = onClientInterrupt;
    sigemptyset(&act.sa_mask);
    struct sigaction oldInt{};
    struct sigaction oldTerm{};
    ::sigaction(SIGINT, &act, &oldInt);
    ::sigaction(SIGTERM, &act, &oldTerm);

    control::CallOptions options;
    auto writeItems = [](const QCborArray &items) -> Status {
        for (const QCborValue &item : items) {
            const QCborArray pair = item.toArray();
            const qint64 channel = pair.at(0).toInteger();
            if (pair.size() != 2 || (channel != 1 && channel != 2) || !pair.at(1).isByteArray())
                return Status::protocolError(QStringLiteral("the node sent output that is not [channel, bytes]"));
            const QByteArray bytes = pair.at(1).toByteArray();
            // A closed stdout ends the command here as it would have (SIGPIPE).
            if (!writeAll(channel == 1 ? STDOUT_FILENO : STDERR_FILENO, bytes.constData(), bytes.size()))
                return Status::ioError(QStringLiteral("cannot write the command's output: %1").arg(QString::fromLocal8Bit(std::strerror(errno))));
        }
        return {};
    };
    options.onItems = writeItems;
    if (readsStdin)
        options.upload = []() -> Result<QByteArray> {
            QByteArray buffer(qsizetype(control::kMaxChunkBytes), Qt::Uninitialized);
            for (;;) {
                const ssize_t n = ::read(STDIN_FILENO, buffer.data(), size_t(buffer.size()));
                if (n >= 0) {
                    buffer.truncate(n);
                    return buffer;
                }
                if (errno == EINTR && g_cancel)
                    return Status::cancelled(QStringLiteral("put was cancelled"));
                if (errno != EINTR)
                    return Status::ioError(QStringLiteral("cannot read standard input: %1").arg(QString::fromLocal8Bit(std::strerror(errno))));
            }
        };
    options.cancelRequested = [] { return g_cancel != 0; };
    auto reply = client.call(QStringLiteral("cli.run"), args, options);
    ::sigaction(SIGINT, &oldInt, nullptr);
    ::sigaction(SIGTERM, &oldTerm, nullptr);
    if (!reply) {
        const Status &st = reply.status();
        if (st.code() == ErrorCode::PeerUnavailable) {
            ctx.err << "vdrive: the node (pid " << node.pid << ", " << safeForStderr(node.program)
                    << ") went away during the command; what it committed is kept ('vdrive fsck' checks the collection)" << Qt::endl;
            return ExitNodeGone;
        }
        return ctx.fail(st);
    }
    // What the command wrote after it was cancelled comes with the reply.
    if (const QCborValue late = reply->toMap().value(QStringLiteral("late")); late.isArray())
        if (const Status st = writeItems(late.toArray()); !st)
            return ctx.fail(st);
    const QCborValue exitCode = reply->toMap().value(QStringLiteral("exit"));
    if (!exitCode.isInteger() || exitCode.toInteger() < 0 || exitCode.toInteger() > 255)
        return ctx.fail(Status::protocolError(QStringLiteral("the node's answer to the command has no exit code")));
    return int(exitCode.toInteger());
}

} // namespace vd::cli
