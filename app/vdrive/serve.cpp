// The node side: `vdrive serve`, `vdrive status`, and commands run for
// clients (serve.h).
#include "serve.h"

#include "cliutil.h"
#include "progress.h"
#include "session.h"
#include "terminal.h"

#include "client/localdriveapi.h"
#include "control/controlserver.h"
#include "control/driveservice.h"
#include "control/nodelock.h"
#include "node/identity.h"
#include "node/node.h"

#include <QCborArray>
#include <QCborMap>
#include <QCoreApplication>
#include <QDateTime>
#include <QJsonArray>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace vd::cli {

namespace {

// The output of a command goes to its client in items of at most this many
// bytes ([channel, bytes] in CBOR fits a chunk).
constexpr qsizetype kOutputPiece = qsizetype(control::kMaxChunkBytes) - 64;
// Bounds on a cli.run request (a frame is at most 1 MiB anyway).
constexpr qsizetype kMaxArguments = 65536;
// What a command may still write after its client cancelled it (it goes in
// the reply, whose frame holds at most 1 MiB).
constexpr qsizetype kMaxLateBytes = 256 << 10;
// How long a stopping node lets the commands it cancelled answer their
// clients before it disconnects them.
constexpr int kStopGraceMs = 10000;

class Service;

class ServedSession final : public Session
{
public:
    ServedSession(Service &service, control::Responder responder) : m_service(service), m_responder(std::move(responder)) {}

    bool write(int channel, QByteArrayView bytes) override
    {
        while (!bytes.isEmpty()) {
            if (m_gone)
                return false;
            // Cancelled, the stream is closed: what the command says (on
            // stderr) goes in the reply; its stdout, which the client no
            // longer wants, is dropped, so the command stops at its own
            // check of the cancel, as on Ctrl-C without a node.
            if (m_responder.isCancelled())
                return channel == 1 || keepLate(channel, bytes);
            const QByteArrayView piece = bytes.first(std::min(bytes.size(), kOutputPiece));
            QCborArray item;
            item.append(channel);
            item.append(piece.toByteArray());
            QCborArray items;
            items.append(item);
            if (const Status st = m_responder.sendItems(items); !st) {
                if (st.code() == ErrorCode::Cancelled)
                    return channel == 1 || keepLate(channel, bytes);
                m_gone = true;
                return false;
            }
            bytes = bytes.sliced(piece.size());
        }
        return true;
    }

    Result<QByteArray> readInput() override
    {
        for (;;) {
            auto next = m_responder.readData();
            if (!next)
                return next.status();
            if (!*next)
                return QByteArray(); // the end
            if (!(*next)->isEmpty())
                return std::move(**next);
        }
    }

    bool isCancelled() const override;
    node::Node &node() override;
    QJsonObject status() override;

    // What the command wrote after its client cancelled it (its message
    // saying so): the stream is closed then, so it goes in the reply.
    const QCborArray &late() const { return m_late; }
    QByteArray cwd;
    mode_t umask = 022;

private:
    bool keepLate(int channel, QByteArrayView bytes)
    {
        if (m_lateBytes + bytes.size() > kMaxLateBytes)
            return false;
        m_lateBytes += bytes.size();
        QCborArray item;
        item.append(channel);
        item.append(bytes.toByteArray());
        m_late.append(item);
        return true;
    }

    Service &m_service;
    control::Responder m_responder;
    std::atomic<bool> m_gone{false};
    QCborArray m_late;
    qsizetype m_lateBytes = 0;
};

// The node's handler of the control socket: cli.run and node.status.
class Service final : public control::RequestHandler
{
public:
    Service(node::Node &node, const control::NodeInfo &info) : m_node(node), m_info(info), m_started(QDateTime::currentMSecsSinceEpoch()) {}

    void setServer(control::ControlServer *server) { m_server = server; }
    // The drive.* methods (the DriveApi on the socket), answered by drive.
    void setDriveService(control::DriveService *drive) { m_drive = drive; }
    node::Node &node() { return m_node; }
    bool isStopping() const { return m_stopping.load(); }

    void handle(const control::Request &request, control::Responder responder) override
    {
        if (m_drive && control::DriveService::serves(request.method)) {
            if (m_stopping)
                responder.fail(Status::cancelled(QStringLiteral("the node is shutting down")));
            else
                m_drive->handle(request, std::move(responder));
            return;
        }
        if (request.method == QLatin1String("node.status")) {
            responder.finish(QCborValue::fromJsonValue(status()));
            return;
        }
        if (request.method != QLatin1String("cli.run")) {
            responder.fail(Status::invalidArgument(QStringLiteral("unknown method '%1'").arg(request.method)));
            return;
        }
        if (m_stopping) {
            responder.fail(Status::cancelled(QStringLiteral("the node is shutting down")));
            return;
        }
        auto parsed = parseRun(request.args);
        if (!parsed) {
            responder.fail(parsed.status());
            return;
        }
        {
            std::lock_guard lock(m_mutex);
            ++m_running;
        }
        // One thread per command: a command blocks (on its host, on its
        // client's credit), and the I/O thread must not.
        std::thread([this, run = std::move(parsed).value(), responder]() mutable { execute(std::move(run), std::move(responder)); }).detach();
    }

    // Cancels every command (each stops as on Ctrl-C: what it committed is
    // kept, the rest rolled back) and waits, up to graceMs, for them to answer.
    bool stop(int graceMs)
    {
        m_stopping = true;
        std::unique_lock lock(m_mutex);
        return m_done.wait_for(lock, std::chrono::milliseconds(graceMs), [this] { return m_running == 0; });
    }
    void waitAll()
    {
        std::unique_lock lock(m_mutex);
        m_done.wait(lock, [this] { return m_running == 0; });
    }

    QJsonObject status();

private:
    struct Run
    {
        QByteArrayList argv;
        QByteArray cwd;
        mode_t umask = 022;
        bool stdinTty = false, stdoutTty = false, stderrTty = false;
    };

    static Result<Run> parseRun(const QCborValue &args)
    {
        auto bad = [](const QString &why) { return Status::invalidArgument(QStringLiteral("cli.run: %1").arg(why)); };
        if (!args.isMap())
            return bad(QStringLiteral("the arguments are not a map"));
        const QCborMap m = args.toMap();
        Run r;
        const QCborValue argv = m.value(QStringLiteral("argv"));
        if (!argv.isArray() || argv.toArray().isEmpty() || argv.toArray().size() > kMaxArguments)
            return bad(QStringLiteral("argv must be an array of 1 to %1 byte strings").arg(kMaxArguments));
        for (const QCborValue &a : argv.toArray()) {
            if (!a.isByteArray() || a.toByteArray().contains('\0'))
                return bad(QStringLiteral("argv must hold byte strings without NUL"));
            r.argv.append(a.toByteArray());
        }
        const QCborValue cwd = m.value(QStringLiteral("cwd"));
        if (!cwd.isByteArray() || !cwd.toByteArray().startsWith('/') || cwd.toByteArray().contains('\0'))
            return bad(QStringLiteral("cwd must be an absolute path (bytes)"));
        r.cwd = cwd.toByteArray();
        const QCborValue um = m.value(QStringLiteral("umask"));
        if (!um.isUndefined()) {
            if (!um.isInteger() || um.toInteger() < 0 || um.toInteger() > 0777)
                return bad(QStringLiteral("umask must be an integer from 0 to 0777"));
            r.umask = mode_t(um.toInteger());
        }
        for (auto [key, field] : {std::pair{"stdinTty", &r.stdinTty}, std::pair{"stdoutTty", &r.stdoutTty}, std::pair{"stderrTty", &r.stderrTty}}) {
            const QCborValue v = m.value(QLatin1String(key));
            if (!v.isUndefined() && !v.isBool())
                return bad(QStringLiteral("%1 must be a boolean").arg(QLatin1String(key)));
            *field = v.toBool();
        }
        return r;
    }

    void execute(Run run, control::Responder responder)
    {
        {
            ServedSession session(*this, responder);
            session.cwd = run.cwd;
            session.umask = run.umask;
            session.stdinIsTerminal = run.stdinTty;
            session.stdoutIsTerminal = run.stdoutTty;
            session.stderrIsTerminal = run.stderrTty;
            int code = ExitFailure;
            {
                SessionScope scope(&session);
                QStringList arguments;
                for (const QByteArray &a : run.argv)
                    arguments << QString::fromUtf8(a);
                code = cli::run(arguments, run.argv);
            }
            {
                std::lock_guard lock(m_mutex);
                ++m_commandsRun;
            }
            QCborMap result{{QStringLiteral("exit"), code}};
            if (!session.late().isEmpty())
                result.insert(QStringLiteral("late"), session.late());
            responder.finish(result);
        }
        std::lock_guard lock(m_mutex);
        --m_running;
        m_done.notify_all();
    }

    node::Node &m_node;
    control::NodeInfo m_info;
    control::ControlServer *m_server = nullptr;
    control::DriveService *m_drive = nullptr;
    int64_t m_started;
    std::atomic<bool> m_stopping{false};
    std::mutex m_mutex;
    std::condition_variable m_done;
    int m_running = 0;
    uint64_t m_commandsRun = 0;
};

bool ServedSession::isCancelled() const
{
    return m_gone.load() || m_service.isStopping() || m_responder.isCancelled();
}

node::Node &ServedSession::node()
{
    return m_service.node();
}

QJsonObject ServedSession::status()
{
    return m_service.status();
}

QJsonObject Service::status()
{
    const control::ServerStats s = m_server ? m_server->stats() : control::ServerStats{};
    QJsonArray collections;
    for (node::DriveHost *h : m_node.hosts()) {
        const node::HostCounters c = h->counters();
        const storage::PinStats p = h->pins();
        collections.append(QJsonObject{{QStringLiteral("name"), h->name()},
                                       {QStringLiteral("ruid"), h->ruid().toString()},
                                       {QStringLiteral("requests"), qint64(c.requests)},
                                       {QStringLiteral("commits"), qint64(c.commits)},
                                       {QStringLiteral("rolledBack"), qint64(c.rolledBack)},
                                       {QStringLiteral("replayed"), qint64(c.replayed)},
                                       {QStringLiteral("failedCommits"), qint64(c.failedCommits)},
                                       {QStringLiteral("largestGroup"), qint64(c.largestGroup)},
                                       {QStringLiteral("queued"), qint64(c.queued)},
                                       {QStringLiteral("reads"), qint64(c.reads)},
                                       {QStringLiteral("readsRunning"), qint64(c.readsRunning)},
                                       {QStringLiteral("limboBytes"), qint64(c.limboBytes)},
                                       {QStringLiteral("pins"), qint64(p.pins)},
                                       {QStringLiteral("oldestPinAgeMs"), qint64(p.oldestAgeMs)},
                                       {QStringLiteral("oldestPin"), p.oldestLabel},
                                       {QStringLiteral("overduePins"), qint64(p.overdue)}});
    }
    int running = 0;
    uint64_t commandsRun = 0;
    {
        std::lock_guard lock(m_mutex);
        running = m_running;
        commandsRun = m_commandsRun;
    }
    return QJsonObject{{QStringLiteral("running"), true},
                       {QStringLiteral("pid"), qint64(m_info.pid)},
                       {QStringLiteral("program"), m_info.program},
                       {QStringLiteral("dataDir"), m_node.dataDir()},
                       {QStringLiteral("socket"), m_server ? m_server->socketPath() : QString()},
                       {QStringLiteral("started"), isoTime(m_started)},
                       {QStringLiteral("clients"), s.clients},
                       {QStringLiteral("requestsInFlight"), s.requestsInFlight},
                       {QStringLiteral("requestsServed"), qint64(s.requestsServed)},
                       {QStringLiteral("commandsRunning"), running},
                       {QStringLiteral("commandsRun"), qint64(commandsRun)},
                       {QStringLiteral("connectionsAccepted"), qint64(s.connectionsAccepted)},
                       {QStringLiteral("connectionsRefused"), qint64(s.connectionsRefused)},
                       {QStringLiteral("protocolErrors"), qint64(s.protocolErrors)},
                       {QStringLiteral("eventsDropped"), qint64(s.eventsDropped)},
                       {QStringLiteral("collections"), collections}};
}

// Gives this thread the client's working folder and umask: a thread of its
// own file-system context (unshare(CLONE_FS), once per thread), so that
// relative local paths mean what they mean in the client's shell and no
// other command's folder is touched.
Status enterClientFolder(const ServedSession &session)
{
    thread_local bool ownContext = false;
    if (!ownContext) {
        if (::unshare(CLONE_FS) != 0)
            return Status::internal(QStringLiteral("cannot give the command a working folder of its own (unshare: %1)")
                                        .arg(QString::fromLocal8Bit(std::strerror(errno))));
        ownContext = true;
    }
    if (::chdir(session.cwd.constData()) != 0)
        return Status::notFound(QStringLiteral("cannot enter your working folder %1: %2")
                                    .arg(quotedBytes(session.cwd), QString::fromLocal8Bit(std::strerror(errno))));
    ::umask(session.umask);
    return {};
}

} // namespace

int runInNode(Context &ctx, Session &s, int (*run)(Context &), bool needsCollection, bool onWriter)
{
    auto &session = static_cast<ServedSession &>(s);
    if (const Status st = enterClientFolder(session); !st)
        return ctx.fail(st);
    if (!needsCollection)
        return run(ctx);
    auto host = session.node().host(ctx.collection);
    if (!host)
        return ctx.fail(host.status());
    // The command runs on the host: as one write request (alone: a put -r
    // commits its batches inside it), or as a read. A request still queued
    // when its client cancels is abandoned here at once (Ctrl-C does not
    // wait for the writer's current request); when its turn comes it sees
    // that and touches nothing of this thread's, which is gone by then.
    struct Waiter
    {
        std::mutex m;
        std::condition_variable cv;
        bool done = false;
        enum State { Queued, Running, Abandoned } state = Queued;
    };
    auto waiter = std::make_shared<Waiter>();
    std::function<Result<int>(tree::Drive &, node::OpContext &)> fn = [&, waiter](tree::Drive &drive, node::OpContext &) -> Result<int> {
        {
            std::lock_guard lock(waiter->m);
            if (waiter->state == Waiter::Abandoned)
                return Status::cancelled(QStringLiteral("cancelled before it started"));
            waiter->state = Waiter::Running;
        }
        SessionScope scope(&session);
        if (const Status st = enterClientFolder(session); !st)
            return ctx.fail(st);
        if (session.isCancelled())
            return ctx.fail(Status::cancelled(QStringLiteral("cancelled before it started")));
        ctx.hostDrive = &drive;
        ctx.host = *host;
        const int code = run(ctx);
        ctx.out.flush();
        ctx.err.flush();
        ctx.hostDrive = nullptr;
        ctx.host = nullptr;
        // As when the command opens the drive itself: what it did not
        // commit is not kept.
        if (drive.hasUncommittedChanges())
            (void)drive.rollback();
        return code;
    };
    QFuture<Result<int>> future = onWriter ? (*host)->write<int>(std::move(fn), node::DriveHost::Grouping::Alone) : (*host)->read<int>(std::move(fn));
    future.then(QtFuture::Launch::Sync, [waiter](const QFuture<Result<int>> &) {
        std::lock_guard lock(waiter->m);
        waiter->done = true;
        waiter->cv.notify_all();
    });
    {
        std::unique_lock lock(waiter->m);
        // The cancel is looked at every 50 ms; the end of the request wakes
        // this thread at once.
        while (!waiter->cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return waiter->done; })) {
            if (waiter->state == Waiter::Queued && session.isCancelled()) {
                waiter->state = Waiter::Abandoned;
                lock.unlock();
                return ctx.fail(Status::cancelled(QStringLiteral("cancelled while it waited for the collection's writer")));
            }
        }
    }
    if (future.resultCount() == 0)
        return ctx.fail(Status::cancelled(QStringLiteral("the node dropped the command")));
    Result<int> code = future.result();
    if (!code)
        return ctx.fail(code.status());
    return *code;
}

int cmdStatus(Context &ctx)
{
    Session *session = currentSession();
    if (!session) {
        // runThroughNode() found no node: say so.
        if (ctx.json)
            printJson(ctx, QJsonObject{{QStringLiteral("running"), false}, {QStringLiteral("dataDir"), ctx.dataDir}});
        else
            ctx.out << "no node runs on " << listed(ctx.dataDir) << " (vdrive serve starts one)" << Qt::endl;
        return ExitOk;
    }
    const QJsonObject s = session->status();
    if (ctx.json) {
        printJson(ctx, s);
        return ExitOk;
    }
    ctx.out << "node         pid " << s[QStringLiteral("pid")].toInteger() << " (" << s[QStringLiteral("program")].toString() << "), since "
            << localTime(QDateTime::fromString(s[QStringLiteral("started")].toString(), Qt::ISODateWithMs).toMSecsSinceEpoch()) << "\n";
    ctx.out << "data dir     " << listed(s[QStringLiteral("dataDir")].toString()) << "\n";
    ctx.out << "socket       " << listed(s[QStringLiteral("socket")].toString()) << "\n";
    ctx.out << "clients      " << s[QStringLiteral("clients")].toInteger() << " connected, " << s[QStringLiteral("requestsInFlight")].toInteger()
            << " requests in flight, " << s[QStringLiteral("requestsServed")].toInteger() << " served\n";
    ctx.out << "commands     " << s[QStringLiteral("commandsRunning")].toInteger() << " running, " << s[QStringLiteral("commandsRun")].toInteger()
            << " run\n";
    const QJsonArray cols = s[QStringLiteral("collections")].toArray();
    ctx.out << "collections  " << cols.size() << " open\n";
    for (const QJsonValue &v : cols) {
        const QJsonObject c = v.toObject();
        ctx.out << "  " << listed(c[QStringLiteral("name")].toString()) << "  " << c[QStringLiteral("ruid")].toString() << "  "
                << count(uint64_t(c[QStringLiteral("requests")].toInteger()), "request", "requests") << ", "
                << count(uint64_t(c[QStringLiteral("commits")].toInteger()), "commit", "commits") << ", "
                << c[QStringLiteral("rolledBack")].toInteger() << " rolled back, " << c[QStringLiteral("failedCommits")].toInteger()
                << " failed commits, " << c[QStringLiteral("queued")].toInteger() << " queued\n";
        ctx.out << "    " << count(uint64_t(c[QStringLiteral("reads")].toInteger()), "read", "reads") << " ("
                << c[QStringLiteral("readsRunning")].toInteger() << " running), "
                << count(uint64_t(c[QStringLiteral("pins")].toInteger()), "generation pinned", "generations pinned");
        if (c[QStringLiteral("pins")].toInteger() > 0)
            ctx.out << " (oldest " << listed(c[QStringLiteral("oldestPin")].toString()) << ", "
                    << c[QStringLiteral("oldestPinAgeMs")].toInteger() / 1000 << " s"
                    << (c[QStringLiteral("overduePins")].toInteger() > 0 ? QStringLiteral(", overdue") : QString()) << ")";
        ctx.out << ", " << formatBytes(uint64_t(c[QStringLiteral("limboBytes")].toInteger())) << " freed but held for readers\n";
    }
    ctx.out.flush();
    return ExitOk;
}

// ---- NodeServer ---------------------------------------------------------------

struct NodeServer::Parts
{
    std::unique_ptr<control::NodeLock> lock;
    std::unique_ptr<Service> service;
    std::unique_ptr<client::LocalDriveApi> api;
    std::unique_ptr<control::ControlServer> server;
    std::unique_ptr<control::DriveService> drive;
};

Result<std::unique_ptr<NodeServer>> NodeServer::start(node::Node &node, std::unique_ptr<control::NodeLock> lock, const QString &program)
{
    VD_TRY_ASSIGN(const QString socketPath, control::ControlServer::socketPathFor(node.dataDir()));
    auto parts = std::make_unique<Parts>();
    control::NodeInfo info = lock->info();
    info.pid = QCoreApplication::applicationPid();
    info.program = program;
    parts->lock = std::move(lock);
    parts->service = std::make_unique<Service>(node, info);
    control::ControlServer::Options serverOptions;
    serverOptions.name = program;
    parts->server = std::make_unique<control::ControlServer>(*parts->service, serverOptions);
    parts->service->setServer(parts->server.get());
    parts->api = std::make_unique<client::LocalDriveApi>(node);
    parts->drive = std::make_unique<control::DriveService>(*parts->api, parts->server.get());
    parts->service->setDriveService(parts->drive.get());
    VD_TRY(parts->server->listen(socketPath));
    VD_TRY(parts->lock->setSocketPath(socketPath));
    return std::unique_ptr<NodeServer>(new NodeServer(std::move(parts)));
}

NodeServer::NodeServer(std::unique_ptr<Parts> parts) : m_parts(std::move(parts)) {}

NodeServer::~NodeServer()
{
    // New commands are refused, running ones cancelled (each keeps what it
    // committed and rolls the rest back) and answered.
    (void)m_parts->service->stop(kStopGraceMs);
    m_parts->service->setServer(nullptr);
    m_parts->service->setDriveService(nullptr);
    m_parts->drive.reset(); // no event goes to the server after this
    m_parts->server.reset(); // clients are disconnected (their drive.* calls cancelled), the socket removed
    m_parts->service->waitAll(); // a command blocked on a client that did not read is unblocked now
}

QString NodeServer::socketPath() const
{
    return m_parts->server->socketPath();
}

qint64 NodeServer::pid() const
{
    return QCoreApplication::applicationPid();
}

int cmdServe(Context &ctx)
{
    if (currentSession()) // a client asked the node to serve
        return ctx.fail(Status::busy(QStringLiteral("a node already runs on data directory '%1': pid %2 (vdrive serve)")
                                         .arg(ctx.dataDir)
                                         .arg(QCoreApplication::applicationPid())));
    // SIGINT and SIGTERM are taken by sigwait() below: blocked before any
    // thread starts, so every thread inherits the mask and none is killed
    // mid-commit.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGINT);
    sigaddset(&stopSignals, SIGTERM);
    sigaddset(&stopSignals, SIGHUP);
    ::pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
    std::signal(SIGPIPE, SIG_IGN); // a client gone is an error from its socket

    auto lock = control::NodeLock::acquire(*ctx.env, ctx.dataDir, QStringLiteral("vdrive serve"));
    if (!lock)
        return ctx.fail(lock.status());

    // The node's identity versions every change it makes (made on first use).
    auto identity = node::NodeIdentity::open(ctx.dataDir);
    if (!identity)
        return ctx.fail(identity.status());
    node::NodeOptions options;
    options.env = ctx.env;
    options.dataDir = ctx.dataDir;
    options.drive.nodeShortId = identity->id().shortId();
    node::Node node(options);
    int signal = 0;
    {
        auto server = NodeServer::start(node, std::move(lock).value(), QStringLiteral("vdrive serve"));
        if (!server)
            return ctx.fail(server.status());
        if (ctx.json)
            printJson(ctx, QJsonObject{{QStringLiteral("pid"), (*server)->pid()},
                                       {QStringLiteral("dataDir"), ctx.dataDir},
                                       {QStringLiteral("socket"), (*server)->socketPath()}});
        else if (!ctx.quiet)
            ctx.out << "serving " << listed(ctx.dataDir) << " on " << listed((*server)->socketPath()) << " (pid " << (*server)->pid() << "); Ctrl-C stops" << Qt::endl;
        ctx.out.flush();

        while (::sigwait(&stopSignals, &signal) != 0) {
        }
        if (!ctx.quiet && !ctx.json)
            ctx.err << "vdrive: stopping on " << (signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "SIGHUP") << Qt::endl;
        // The server stops here (~NodeServer): commands cancelled and answered, clients disconnected.
    }
    node.close(); // what is queued runs and commits
    return ExitOk;
}

} // namespace vd::cli
