#include "driveservice.h"

#include "control/apicodec.h"

#include <QCborArray>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <QCborMap>
#include <QPointer>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>

namespace vd::control {

using namespace codec;

namespace {

// Sends a value's answer (or its error) once the call's future has it,
// from a pool thread (a stream waits for the client's credit there, never
// on the I/O thread or a host's thread).
template<typename T, typename Answer>
void answer(QThreadPool *pool, QFuture<Result<T>> future, Responder responder, Answer answerFn)
{
    responder.onCancel([future]() mutable { future.cancel(); });
    future.then(pool, [responder, answerFn](const QFuture<Result<T>> &f) mutable {
        if (f.isCanceled() || f.resultCount() == 0) {
            responder.fail(Status::cancelled(QStringLiteral("cancelled")));
            return;
        }
        const Result<T> r = f.result();
        if (!r) {
            responder.fail(r.status());
            return;
        }
        answerFn(*r, responder);
    });
}

// Items go out in chunks of about this many bytes of CBOR (a chunk holds
// at most kMaxChunkBytes).
constexpr qsizetype kItemsPerChunkBytes = qsizetype(kMaxChunkBytes) / 2;

Status sendList(Responder &responder, const QCborArray &all)
{
    QCborArray chunk;
    qsizetype bytes = 0;
    for (const QCborValue &item : all) {
        const qsizetype size = item.toCbor().size();
        if (!chunk.isEmpty() && bytes + size > kItemsPerChunkBytes) {
            VD_TRY(responder.sendItems(chunk));
            chunk = {};
            bytes = 0;
        }
        chunk.append(item);
        bytes += size;
    }
    if (!chunk.isEmpty())
        VD_TRY(responder.sendItems(chunk));
    return {};
}

template<typename T, typename Encode>
QCborArray listOf(const std::vector<T> &values, Encode encode)
{
    QCborArray out;
    for (const T &v : values)
        out.append(encode(v));
    return out;
}

Result<QStringList> paths(const QCborMap &args, const char *field)
{
    const QCborValue v = args.value(QLatin1String(field));
    if (!v.isArray() || v.toArray().isEmpty() || v.toArray().size() > 100000)
        return Status::invalidArgument(QStringLiteral("%1: a list of 1 to 100,000 paths").arg(QLatin1String(field)));
    QStringList out;
    for (const QCborValue &p : v.toArray()) {
        if (!p.isString() || p.toString().isEmpty() || p.toString().size() > tree::VNode::kMaxPathBytes)
            return Status::invalidArgument(QStringLiteral("%1: every path must be non-empty text").arg(QLatin1String(field)));
        out.append(p.toString());
    }
    return out;
}

// An optional text argument: absent reads as empty.
Result<QString> optionalText(const QCborMap &args, const char *field)
{
    if (!args.contains(QLatin1String(field)))
        return QString();
    return text(args, field, tree::VNode::kMaxPathBytes);
}

// A transfer: its progress and warnings as items (at most ten a second),
// its report as the result; the client's cancel stops it.
void answerTransfer(QThreadPool *pool, client::Transfer t, Responder responder)
{
    responder.onCancel([state = t.state] { state->cancel(); });
    struct Ended
    {
        std::mutex mutex;
        std::condition_variable cv;
        bool ended = false;
    };
    auto ended = std::make_shared<Ended>();
    t.done.then(QtFuture::Launch::Sync, [ended](const QFuture<Result<client::TransferReport>> &) {
        std::lock_guard lock(ended->mutex);
        ended->ended = true;
        ended->cv.notify_all();
    });
    pool->start([t, responder, ended]() mutable {
        qsizetype warningsSent = 0;
        std::optional<transfer::TransferProgress> last;
        auto sendNews = [&]() -> Status {
            const transfer::TransferProgress p = t.state->progress();
            QCborArray items;
            if (!last || p.files != last->files || p.bytes != last->bytes || p.phase != last->phase || p.current != last->current)
                items.append(QCborMap{{QStringLiteral("progress"), fromProgress(p)}});
            last = p;
            const QStringList warnings = t.state->warnings();
            for (; warningsSent < warnings.size() && items.size() < 200; ++warningsSent)
                items.append(QCborMap{{QStringLiteral("warning"), warnings[warningsSent]}});
            return items.isEmpty() ? Status() : responder.sendItems(items);
        };
        for (;;) {
            {
                std::unique_lock lock(ended->mutex);
                if (ended->cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return ended->ended; }))
                    break;
            }
            if (!sendNews())
                t.state->cancel(); // the client went away or cancelled: stop, keep what is committed
        }
        (void)sendNews();
        if (t.done.resultCount() == 0) {
            responder.fail(Status::cancelled(QStringLiteral("the transfer was dropped")));
            return;
        }
        const Result<client::TransferReport> r = t.done.result();
        if (!r) {
            responder.fail(r.status());
            return;
        }
        client::TransferReport report = *r;
        if (report.targets.size() > 4096)
            report.targets.resize(4096); // a reply is one frame
        responder.finish(fromReport(report));
    });
}

// A check (drive.fsck): {"done": n} items as it goes (how many things it
// checked; at most five a second), then the report's items (fromFsckReport)
// and true as the result; a cancel stops it.
void answerFsck(QThreadPool *pool, QFuture<Result<storage::FsckReport>> future, Responder responder)
{
    responder.onCancel([future]() mutable { future.cancel(); });
    pool->start([future, responder]() mutable {
        int last = -1;
        // Polled: a cancelled future may end without a result, which no
        // continuation hears.
        while (!future.isFinished()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            const int done = future.progressValue();
            if (done != last && !future.isFinished()) {
                last = done;
                if (!responder.sendItems(QCborArray{QCborMap{{QStringLiteral("done"), done}}}))
                    future.cancel(); // the client went away or cancelled
            }
        }
        if (future.isCanceled() || future.resultCount() == 0) {
            responder.fail(Status::cancelled(QStringLiteral("the check was cancelled")));
            return;
        }
        const Result<storage::FsckReport> r = future.result();
        if (!r)
            return responder.fail(r.status());
        if (const Status st = sendList(responder, fromFsckReport(*r)); !st)
            return responder.fail(st);
        responder.finish(true);
    });
}

// A search: its matches as items as they are found (at most ten batches a
// second), {matches, visited, truncated} as the result; a cancel stops it.
void answerSearch(QThreadPool *pool, client::Search search, Responder responder)
{
    responder.onCancel([state = search.state] { state->cancel(); });
    struct Ended
    {
        std::mutex mutex;
        std::condition_variable cv;
        bool ended = false;
    };
    auto ended = std::make_shared<Ended>();
    search.done.then(QtFuture::Launch::Sync, [ended](const QFuture<Result<client::SearchOutcome>> &) {
        std::lock_guard lock(ended->mutex);
        ended->ended = true;
        ended->cv.notify_all();
    });
    pool->start([search, responder, ended]() mutable {
        size_t sent = 0;
        auto sendNews = [&]() -> Status {
            const std::vector<client::SearchState::Found> found = search.state->takeFrom(sent);
            sent += found.size();
            QCborArray items;
            for (const client::SearchState::Found &f : found)
                items.append(QCborMap{{QStringLiteral("path"), f.path}, {QStringLiteral("node"), fromVNode(f.node)}});
            return items.isEmpty() ? Status() : sendList(responder, items);
        };
        for (;;) {
            {
                std::unique_lock lock(ended->mutex);
                if (ended->cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return ended->ended; }))
                    break;
            }
            if (!sendNews())
                search.state->cancel();
        }
        if (const Status st = sendNews(); !st)
            return responder.fail(st);
        if (search.done.resultCount() == 0)
            return responder.fail(Status::cancelled(QStringLiteral("the search was dropped")));
        const Result<client::SearchOutcome> r = search.done.result();
        if (!r)
            return responder.fail(r.status());
        responder.finish(QCborMap{{QStringLiteral("matches"), qint64(r->matches)},
                                  {QStringLiteral("visited"), qint64(r->visited)},
                                  {QStringLiteral("truncated"), r->truncated}});
    });
}

} // namespace

DriveService::DriveService(client::DriveApi &api, ControlServer *server) : m_api(api), m_server(server)
{
    // Answers wait for their client's credit here: a pool of their own, so
    // a slow client never holds a thread the node's hosts need.
    m_pool.setMaxThreadCount(16);
    if (!m_server)
        return;
    // From the node's writer thread: straight to the clients subscribed.
    m_changed = QObject::connect(
        &m_api, &client::DriveApi::changed, &m_api,
        [server, gate = m_gate](const Ruid &collection, const std::vector<tree::ChangeRecord> &records) {
            std::lock_guard lock(gate->mutex);
            if (!gate->open)
                return;
            for (size_t from = 0; from < records.size(); from += kRecordsPerEvent) {
                QCborArray batch;
                for (size_t i = from; i < std::min(records.size(), from + kRecordsPerEvent); ++i)
                    batch.append(fromChange(records[i]));
                server->publish(QStringLiteral("drive.changed"), QCborMap{{QStringLiteral("collection"), fromRuid(collection)}, {QStringLiteral("records"), batch}});
            }
        },
        Qt::DirectConnection);
    m_collections = QObject::connect(
        &m_api, &client::DriveApi::collectionsChanged, &m_api,
        [server, gate = m_gate] {
            std::lock_guard lock(gate->mutex);
            if (gate->open)
                server->publish(QStringLiteral("drive.collections"), QCborMap{});
        },
        Qt::DirectConnection);
    m_resync = QObject::connect(
        &m_api, &client::DriveApi::resyncNeeded, &m_api,
        [server, gate = m_gate](const Ruid &collection, const QString &why) {
            std::lock_guard lock(gate->mutex);
            if (!gate->open)
                return;
            server->publish(QStringLiteral("drive.resync"), QCborMap{{QStringLiteral("collection"), fromRuid(collection)}, {QStringLiteral("why"), why}});
        },
        Qt::DirectConnection);
}

DriveService::~DriveService()
{
    {
        std::lock_guard lock(m_gate->mutex);
        m_gate->open = false;
    }
    // Answers still running end once their server is gone (their sends
    // fail at once); the pool waits for them below, in its destructor.
    QObject::disconnect(m_changed);
    QObject::disconnect(m_resync);
    QObject::disconnect(m_collections);
}

bool DriveService::serves(const QString &method)
{
    return method.startsWith(QLatin1String("drive."));
}

void DriveService::handle(const Request &request, Responder responder)
{
    if (!request.args.isMap() && !request.args.isUndefined()) {
        responder.fail(Status::invalidArgument(QStringLiteral("%1: the arguments are not a map").arg(request.method)));
        return;
    }
    const QCborMap args = request.args.toMap();
    const QString &method = request.method;
    auto fail = [&](const Status &st) { responder.fail(Status(st.code(), QStringLiteral("%1: %2").arg(method, st.message()))); };
    auto node = [](const tree::VNode &n, Responder &r) { r.finish(fromVNode(n)); };

    if (method == QLatin1String("drive.collections")) {
        answer(&m_pool, m_api.collections(), responder, [](const std::vector<client::CollectionSummary> &cs, Responder &r) {
            r.finish(listOf(cs, fromCollection));
        });
        return;
    }
    if (method == QLatin1String("drive.createCollection")) {
        auto name = text(args, "name", 1024);
        if (!name)
            return fail(name.status());
        answer(&m_pool, m_api.createCollection(*name), responder, [](const client::CollectionSummary &c, Responder &r) { r.finish(fromCollection(c)); });
        return;
    }
    // Everything else names a collection.
    auto collection = toRuid(args.value(QStringLiteral("collection")), "collection");
    if (!collection)
        return fail(collection.status());
    const Ruid c = *collection;
    if (method == QLatin1String("drive.renameCollection")) {
        auto name = text(args, "name", 1024);
        if (!name)
            return fail(name.status());
        answer(&m_pool, m_api.renameCollection(c, *name), responder, [](const client::CollectionSummary &s, Responder &r) { r.finish(fromCollection(s)); });
        return;
    }
    if (method == QLatin1String("drive.deleteCollection")) {
        answer(&m_pool, m_api.deleteCollection(c), responder, [](bool, Responder &r) { r.finish(true); });
        return;
    }
    auto at = optionalText(args, "at");
    if (!at)
        return fail(at.status());

    if (method == QLatin1String("drive.usage")) {
        answer(&m_pool, m_api.usage(c), responder, [](const client::Usage &u, Responder &r) { r.finish(fromUsage(u)); });
    } else if (method == QLatin1String("drive.list")) {
        auto path = text(args, "path", tree::VNode::kMaxPathBytes);
        if (!path)
            return fail(path.status());
        answer(&m_pool, m_api.list(c, *path, *at), responder, [](const client::FolderListing &l, Responder &r) {
            if (const Status st = sendList(r, listOf(l.entries, fromVNode)); !st)
                return r.fail(st);
            r.finish(QCborMap{{QStringLiteral("folder"), fromVNode(l.folder)}, {QStringLiteral("generation"), qint64(l.generation)}});
        });
    } else if (method == QLatin1String("drive.stat") || method == QLatin1String("drive.clusters") || method == QLatin1String("drive.mkdir")) {
        auto path = text(args, "path", tree::VNode::kMaxPathBytes);
        if (!path)
            return fail(path.status());
        if (method == QLatin1String("drive.stat"))
            answer(&m_pool, m_api.stat(c, *path, *at), responder, node);
        else if (method == QLatin1String("drive.mkdir"))
            answer(&m_pool, m_api.mkdir(c, *path), responder, node);
        else
            answer(&m_pool, m_api.clusters(c, *path, *at), responder, [](const std::vector<tree::ClusterInfo> &cs, Responder &r) {
                if (const Status st = sendList(r, listOf(cs, fromCluster)); !st)
                    return r.fail(st);
                r.finish();
            });
    } else if (method == QLatin1String("drive.pathOf")) {
        auto id = toRuid(args.value(QStringLiteral("id")), "id");
        if (!id)
            return fail(id.status());
        answer(&m_pool, m_api.pathOf(c, *id, *at), responder, [](const QString &p, Responder &r) { r.finish(p); });
    } else if (method == QLatin1String("drive.move") || method == QLatin1String("drive.copy")) {
        auto from = text(args, "from", tree::VNode::kMaxPathBytes);
        auto to = text(args, "to", tree::VNode::kMaxPathBytes);
        if (!from || !to)
            return fail(!from ? from.status() : to.status());
        answer(&m_pool, method == QLatin1String("drive.move") ? m_api.move(c, *from, *to) : m_api.copy(c, *from, *to, *at), responder, node);
    } else if (method == QLatin1String("drive.remove")) {
        auto ps = paths(args, "paths");
        auto permanently = args.contains(QStringLiteral("permanently")) ? boolean(args, "permanently") : Result<bool>(false);
        if (!ps || !permanently)
            return fail(!ps ? ps.status() : permanently.status());
        answer(&m_pool, m_api.remove(c, *ps, *permanently), responder, [](uint64_t n, Responder &r) { r.finish(qint64(n)); });
    } else if (method == QLatin1String("drive.trash")) {
        answer(&m_pool, m_api.trash(c), responder, [](const std::vector<tree::TrashEntry> &es, Responder &r) {
            if (const Status st = sendList(r, listOf(es, fromTrashEntry)); !st)
                return r.fail(st);
            r.finish();
        });
    } else if (method == QLatin1String("drive.restoreFromTrash")) {
        auto id = toRuid(args.value(QStringLiteral("id")), "id");
        auto to = optionalText(args, "to");
        if (!id || !to)
            return fail(!id ? id.status() : to.status());
        answer(&m_pool, m_api.restoreFromTrash(c, *id, *to), responder, node);
    } else if (method == QLatin1String("drive.emptyTrash")) {
        std::optional<std::vector<Ruid>> ids;
        if (args.contains(QStringLiteral("ids"))) {
            auto list = toRuidList(args.value(QStringLiteral("ids")), "ids");
            if (!list)
                return fail(list.status());
            ids = std::move(list).value();
        }
        answer(&m_pool, m_api.emptyTrash(c, ids), responder, [](uint64_t n, Responder &r) { r.finish(qint64(n)); });
    } else if (method == QLatin1String("drive.snapshots")) {
        auto unique = args.contains(QStringLiteral("withUniqueBytes")) ? boolean(args, "withUniqueBytes") : Result<bool>(false);
        if (!unique)
            return fail(unique.status());
        answer(&m_pool, m_api.snapshots(c, *unique), responder, [](const std::vector<tree::SnapshotInfo> &ss, Responder &r) {
            if (const Status st = sendList(r, listOf(ss, fromSnapshot)); !st)
                return r.fail(st);
            r.finish();
        });
    } else if (method == QLatin1String("drive.createSnapshot")) {
        auto name = text(args, "name", 1024);
        if (!name)
            return fail(name.status());
        answer(&m_pool, m_api.createSnapshot(c, *name), responder, [](const tree::SnapshotInfo &s, Responder &r) { r.finish(fromSnapshot(s)); });
    } else if (method == QLatin1String("drive.diff")) {
        auto from = text(args, "from", 1024);
        auto to = optionalText(args, "to");
        if (!from || !to)
            return fail(!from ? from.status() : to.status());
        answer(&m_pool, m_api.diff(c, *from, *to), responder, [](const std::vector<tree::DiffEntry> &es, Responder &r) {
            if (const Status st = sendList(r, listOf(es, fromDiffEntry)); !st)
                return r.fail(st);
            r.finish();
        });
    } else if (method == QLatin1String("drive.restore")) {
        auto snapshot = text(args, "snapshot", 1024);
        auto path = text(args, "path", tree::VNode::kMaxPathBytes);
        auto to = optionalText(args, "to");
        if (!snapshot || !path || !to)
            return fail(!snapshot ? snapshot.status() : !path ? path.status() : to.status());
        answer(&m_pool, m_api.restore(c, *snapshot, *path, *to), responder, node);
    } else if (method == QLatin1String("drive.import")) {
        auto locals = paths(args, "paths");
        auto into = text(args, "into", tree::VNode::kMaxPathBytes);
        if (!locals || !into)
            return fail(!locals ? locals.status() : into.status());
        // The node's working folder is not the client's: local paths are whole.
        for (const QString &l : *locals)
            if (!l.startsWith(QLatin1Char('/')))
                return fail(Status::invalidArgument(QStringLiteral("'%1' is not an absolute path").arg(l)));
        answerTransfer(&m_pool, m_api.importLocal(c, *locals, *into), responder);
    } else if (method == QLatin1String("drive.export")) {
        auto vpaths = paths(args, "paths");
        auto into = text(args, "into", 4096);
        auto force = args.contains(QStringLiteral("force")) ? boolean(args, "force") : Result<bool>(false);
        if (!vpaths || !into || !force)
            return fail(!vpaths ? vpaths.status() : !into ? into.status() : force.status());
        if (!into->startsWith(QLatin1Char('/')))
            return fail(Status::invalidArgument(QStringLiteral("'%1' is not an absolute path").arg(*into)));
        answerTransfer(&m_pool, m_api.exportLocal(c, *vpaths, *into, *at, *force), responder);
    } else if (method == QLatin1String("drive.deleteSnapshot")) {
        auto name = text(args, "name", 1024);
        if (!name)
            return fail(name.status());
        answer(&m_pool, m_api.deleteSnapshot(c, *name), responder, [](bool, Responder &r) { r.finish(true); });
    } else if (method == QLatin1String("drive.jsonTree")) {
        auto path = text(args, "path", tree::VNode::kMaxPathBytes);
        if (!path)
            return fail(path.status());
        answer(&m_pool, m_api.jsonTree(c, *path, *at), responder, [](const client::JsonTree &t, Responder &r) {
            if (const Status st = sendList(r, fromJsonTree(t)); !st)
                return r.fail(st);
            r.finish(QCborMap{{QStringLiteral("generation"), qint64(t.generation)}});
        });
    } else if (method == QLatin1String("drive.blockMap")) {
        answer(&m_pool, m_api.blockMap(c), responder, [](const storage::AllocationMap &m, Responder &r) {
            if (const Status st = sendList(r, fromBlockMap(m)); !st)
                return r.fail(st);
            r.finish(QCborMap{{QStringLiteral("generation"), qint64(m.generation)}});
        });
    } else if (method == QLatin1String("drive.fsck")) {
        answerFsck(&m_pool, m_api.fsck(c), responder);
    } else if (method == QLatin1String("drive.blockOwners")) {
        answer(&m_pool, m_api.blockOwners(c), responder, [](const tree::BlockOwners &o, Responder &r) {
            if (const Status st = sendList(r, fromBlockOwners(o)); !st)
                return r.fail(st);
            r.finish(QCborMap{{QStringLiteral("generation"), qint64(o.generation)}});
        });
    } else if (method == QLatin1String("drive.setJson")) {
        auto path = text(args, "path", tree::VNode::kMaxPathBytes);
        const QCborValue json = args.value(QStringLiteral("json"));
        if (!path)
            return fail(path.status());
        if (!json.isByteArray() || json.toByteArray().size() > (512 << 10))
            return fail(Status::protocolError(QStringLiteral("json: not bytes (at most 512 KiB)")));
        answer(&m_pool, m_api.setJson(c, *path, json.toByteArray()), responder, node);
    } else if (method == QLatin1String("drive.deleteJson")) {
        auto path = text(args, "path", tree::VNode::kMaxPathBytes);
        if (!path)
            return fail(path.status());
        answer(&m_pool, m_api.deleteJson(c, *path), responder, [](bool, Responder &r) { r.finish(true); });
    } else if (method == QLatin1String("drive.importJson") || method == QLatin1String("drive.exportJson")) {
        auto local = text(args, "local", 4096);
        auto vpath = text(args, "path", tree::VNode::kMaxPathBytes);
        if (!local || !vpath)
            return fail(!local ? local.status() : vpath.status());
        if (!local->startsWith(QLatin1Char('/')))
            return fail(Status::invalidArgument(QStringLiteral("'%1' is not an absolute path").arg(*local)));
        if (method == QLatin1String("drive.importJson")) {
            auto replace = args.contains(QStringLiteral("replace")) ? boolean(args, "replace") : Result<bool>(false);
            if (!replace)
                return fail(replace.status());
            answer(&m_pool, m_api.importJson(c, *local, *vpath, *replace), responder, node);
        } else {
            answer(&m_pool, m_api.exportJson(c, *vpath, *local, *at), responder, [](qint64 n, Responder &r) { r.finish(n); });
        }
    } else if (method == QLatin1String("drive.search")) {
        auto under = text(args, "under", tree::VNode::kMaxPathBytes);
        auto pattern = text(args, "pattern", 1024);
        if (!under || !pattern)
            return fail(!under ? under.status() : pattern.status());
        answerSearch(&m_pool, m_api.search(c, *under, *pattern, *at), responder);
    } else {
        responder.fail(Status::invalidArgument(QStringLiteral("unknown method '%1'").arg(method)));
    }
}

} // namespace vd::control
