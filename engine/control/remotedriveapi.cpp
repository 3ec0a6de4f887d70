#include "remotedriveapi.h"

#include "control/apicodec.h"
#include "control/controlclient.h"

#include <QCborArray>
#include <QCborMap>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <map>
#include <memory>

namespace vd::control {

using namespace codec;
using client::CollectionSummary;
using client::FolderListing;
using client::Transfer;
using client::TransferReport;
using client::TransferState;
using tree::VNode;

namespace {

constexpr int kConnectTimeoutMs = 5000;

// This thread's connection to socketPath, made when there is none or the
// last one broke.
Result<ControlClient *> connection(const QString &socketPath, const QString &clientName)
{
    thread_local std::map<QString, std::unique_ptr<ControlClient>> clients;
    std::unique_ptr<ControlClient> &c = clients[socketPath];
    if (c && c->isConnected())
        return c.get();
    c = std::make_unique<ControlClient>();
    if (const Status st = c->connectToSocket(socketPath, clientName, kConnectTimeoutMs); !st) {
        c.reset();
        return st;
    }
    return c.get();
}

QCborMap withCollection(const Ruid &collection, QCborMap args = {})
{
    args.insert(QStringLiteral("collection"), fromRuid(collection));
    return args;
}

Result<VNode> nodeResult(const QCborValue &v, const QCborArray &)
{
    return toVNode(v);
}

template<typename T, typename Decode>
Result<std::vector<T>> itemsOf(const QCborArray &items, Decode one)
{
    return toList<T>(QCborValue(items), "items", qsizetype(10'000'000), one);
}

} // namespace

RemoteDriveApi::RemoteDriveApi(QString dataDir, QString socketPath, QString clientName, QObject *parent)
    : DriveApi(parent), m_dataDir(std::move(dataDir)), m_socketPath(std::move(socketPath)), m_clientName(std::move(clientName))
{
    // A few calls side by side (a listing while an import runs), each on a
    // connection of its own.
    m_pool.setMaxThreadCount(4);
}

RemoteDriveApi::~RemoteDriveApi()
{
    m_stopping = true;
    if (m_events.joinable())
        m_events.join();
    m_pool.waitForDone();
}

Status RemoteDriveApi::start(int timeoutMs)
{
    ControlClient probe;
    VD_TRY(probe.connectToSocket(m_socketPath, m_clientName, timeoutMs));
    probe.close();
    if (!m_events.joinable())
        m_events = std::thread([this] { eventLoop(); });
    return {};
}

void RemoteDriveApi::eventLoop()
{
    // A connection that breaks is made again (the node may restart); each
    // break may have lost events, so the models list again.
    while (!m_stopping) {
        ControlClient events;
        if (!events.connectToSocket(m_socketPath, m_clientName + QStringLiteral(" (events)"), kConnectTimeoutMs)
            || !events.subscribe({QStringLiteral("drive.changed"), QStringLiteral("drive.resync"), QStringLiteral("drive.collections")})) {
            for (int i = 0; i < 10 && !m_stopping; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(100)); // a second between tries
            continue;
        }
        while (!m_stopping) {
            auto next = events.waitEvent(100, [this] { return m_stopping.load(); });
            if (!next)
                break; // the connection broke
            if (!*next)
                continue;
            const Event &e = **next;
            const QCborMap payload = e.payload.toMap();
            if (e.topic == QLatin1String("control.missed")) {
                Q_EMIT resyncNeeded(Ruid(), tr("the node dropped change notifications while this window lagged"));
                continue;
            }
            if (e.topic == QLatin1String("drive.collections")) {
                Q_EMIT collectionsChanged();
                continue;
            }
            auto collection = toRuid(payload.value(QStringLiteral("collection")), "collection");
            if (!collection)
                continue; // a malformed event changes nothing; the next listing is right
            if (e.topic == QLatin1String("drive.resync")) {
                Q_EMIT resyncNeeded(*collection, payload.value(QStringLiteral("why")).toString());
                continue;
            }
            auto records = toList<tree::ChangeRecord>(payload.value(QStringLiteral("records")), "records", 100000, toChange);
            if (!records) {
                Q_EMIT resyncNeeded(*collection, records.status().message());
                continue;
            }
            Q_EMIT changed(*collection, *records);
        }
        if (!m_stopping)
            Q_EMIT resyncNeeded(Ruid(), tr("the connection to the node was lost"));
    }
}

template<typename T>
QFuture<Result<T>> RemoteDriveApi::call(const QString &method, QCborMap args, std::function<Result<T>(const QCborValue &, const QCborArray &)> decode,
                                         std::shared_ptr<TransferState> state)
{
    return QtConcurrent::run(&m_pool, [this, method, args, decode, state](QPromise<Result<T>> &promise) {
        auto client = connection(m_socketPath, m_clientName);
        if (!client) {
            promise.addResult(Result<T>(client.status()));
            return;
        }
        QCborArray items;
        CallOptions options;
        options.onItems = [&](const QCborArray &chunk) -> Status {
            if (!state) {
                for (const QCborValue &v : chunk) {
                    // A long call's progress ({"done": n}, drive.fsck): the
                    // future's progress value, not an item.
                    const QCborMap m = v.toMap();
                    if (m.size() == 1 && m.value(QStringLiteral("done")).isInteger()) {
                        promise.setProgressValue(int(std::clamp<qint64>(m.value(QStringLiteral("done")).toInteger(), 0, INT32_MAX)));
                        continue;
                    }
                    items.append(v);
                }
                return {};
            }
            // A transfer's news: progress and warnings.
            for (const QCborValue &v : chunk) {
                const QCborMap m = v.toMap();
                if (m.contains(QStringLiteral("progress"))) {
                    VD_TRY_ASSIGN(const transfer::TransferProgress p, toProgress(m.value(QStringLiteral("progress"))));
                    state->setProgress(p);
                } else if (m.value(QStringLiteral("warning")).isString()) {
                    state->addWarning(m.value(QStringLiteral("warning")).toString());
                }
            }
            return {};
        };
        options.cancelRequested = [&] { return promise.isCanceled() || (state && state->isCancelled()); };
        auto reply = (*client)->call(method, QCborValue(args), options);
        if (!reply) {
            promise.addResult(Result<T>(reply.status()));
            return;
        }
        promise.addResult(decode(*reply, items));
    });
}

QFuture<Result<std::vector<CollectionSummary>>> RemoteDriveApi::collections()
{
    return call<std::vector<CollectionSummary>>(QStringLiteral("drive.collections"), {}, [](const QCborValue &v, const QCborArray &) {
        return toList<CollectionSummary>(v, "collections", 100000, toCollection);
    });
}

QFuture<Result<CollectionSummary>> RemoteDriveApi::createCollection(const QString &name)
{
    return call<CollectionSummary>(QStringLiteral("drive.createCollection"), QCborMap{{QStringLiteral("name"), name}},
                                   [](const QCborValue &v, const QCborArray &) { return toCollection(v); });
}

QFuture<Result<CollectionSummary>> RemoteDriveApi::renameCollection(const Ruid &collection, const QString &newName)
{
    return call<CollectionSummary>(QStringLiteral("drive.renameCollection"), withCollection(collection, {{QStringLiteral("name"), newName}}),
                                   [](const QCborValue &v, const QCborArray &) { return toCollection(v); });
}

QFuture<Result<bool>> RemoteDriveApi::deleteCollection(const Ruid &collection)
{
    return call<bool>(QStringLiteral("drive.deleteCollection"), withCollection(collection), [](const QCborValue &v, const QCborArray &) -> Result<bool> {
        if (!v.isTrue())
            return Status::protocolError(QStringLiteral("drive.deleteCollection: the answer is not true"));
        return true;
    });
}

QFuture<Result<client::Usage>> RemoteDriveApi::usage(const Ruid &collection)
{
    return call<client::Usage>(QStringLiteral("drive.usage"), withCollection(collection), [](const QCborValue &v, const QCborArray &) { return toUsage(v); });
}

QFuture<Result<FolderListing>> RemoteDriveApi::list(const Ruid &collection, const QString &path, const QString &at)
{
    return call<FolderListing>(QStringLiteral("drive.list"), withCollection(collection, {{QStringLiteral("path"), path}, {QStringLiteral("at"), at}}),
                               [](const QCborValue &v, const QCborArray &items) -> Result<FolderListing> {
                                   FolderListing l;
                                   const QCborMap m = v.toMap();
                                   VD_TRY_ASSIGN(l.folder, toVNode(m.value(QStringLiteral("folder"))));
                                   VD_TRY_ASSIGN(l.generation, natural(m, "generation"));
                                   VD_TRY_ASSIGN(l.entries, itemsOf<VNode>(items, toVNode));
                                   return l;
                               });
}

QFuture<Result<VNode>> RemoteDriveApi::stat(const Ruid &collection, const QString &path, const QString &at)
{
    return call<VNode>(QStringLiteral("drive.stat"), withCollection(collection, {{QStringLiteral("path"), path}, {QStringLiteral("at"), at}}), nodeResult);
}

QFuture<Result<QString>> RemoteDriveApi::pathOf(const Ruid &collection, const Ruid &id, const QString &at)
{
    return call<QString>(QStringLiteral("drive.pathOf"), withCollection(collection, {{QStringLiteral("id"), fromRuid(id)}, {QStringLiteral("at"), at}}),
                         [](const QCborValue &v, const QCborArray &) -> Result<QString> {
                             if (!v.isString())
                                 return Status::protocolError(QStringLiteral("drive.pathOf: the answer is not a path"));
                             return v.toString();
                         });
}

QFuture<Result<std::vector<tree::ClusterInfo>>> RemoteDriveApi::clusters(const Ruid &collection, const QString &path, const QString &at)
{
    return call<std::vector<tree::ClusterInfo>>(QStringLiteral("drive.clusters"),
                                                withCollection(collection, {{QStringLiteral("path"), path}, {QStringLiteral("at"), at}}),
                                                [](const QCborValue &, const QCborArray &items) { return itemsOf<tree::ClusterInfo>(items, toCluster); });
}

QFuture<Result<VNode>> RemoteDriveApi::mkdir(const Ruid &collection, const QString &path)
{
    return call<VNode>(QStringLiteral("drive.mkdir"), withCollection(collection, {{QStringLiteral("path"), path}}), nodeResult);
}

QFuture<Result<VNode>> RemoteDriveApi::move(const Ruid &collection, const QString &from, const QString &to)
{
    return call<VNode>(QStringLiteral("drive.move"), withCollection(collection, {{QStringLiteral("from"), from}, {QStringLiteral("to"), to}}), nodeResult);
}

QFuture<Result<VNode>> RemoteDriveApi::copy(const Ruid &collection, const QString &from, const QString &to, const QString &at)
{
    return call<VNode>(QStringLiteral("drive.copy"),
                       withCollection(collection, {{QStringLiteral("from"), from}, {QStringLiteral("to"), to}, {QStringLiteral("at"), at}}), nodeResult);
}

QFuture<Result<uint64_t>> RemoteDriveApi::remove(const Ruid &collection, const QStringList &paths, bool permanently)
{
    return call<uint64_t>(QStringLiteral("drive.remove"),
                          withCollection(collection, {{QStringLiteral("paths"), QCborArray::fromStringList(paths)}, {QStringLiteral("permanently"), permanently}}),
                          [](const QCborValue &v, const QCborArray &) -> Result<uint64_t> {
                              if (!v.isInteger() || v.toInteger() < 0)
                                  return Status::protocolError(QStringLiteral("drive.remove: the answer is not a count"));
                              return uint64_t(v.toInteger());
                          });
}

QFuture<Result<std::vector<tree::TrashEntry>>> RemoteDriveApi::trash(const Ruid &collection)
{
    return call<std::vector<tree::TrashEntry>>(QStringLiteral("drive.trash"), withCollection(collection),
                                               [](const QCborValue &, const QCborArray &items) { return itemsOf<tree::TrashEntry>(items, toTrashEntry); });
}

QFuture<Result<VNode>> RemoteDriveApi::restoreFromTrash(const Ruid &collection, const Ruid &id, const QString &to)
{
    return call<VNode>(QStringLiteral("drive.restoreFromTrash"), withCollection(collection, {{QStringLiteral("id"), fromRuid(id)}, {QStringLiteral("to"), to}}),
                       nodeResult);
}

QFuture<Result<std::vector<tree::SnapshotInfo>>> RemoteDriveApi::snapshots(const Ruid &collection, bool withUniqueBytes)
{
    return call<std::vector<tree::SnapshotInfo>>(QStringLiteral("drive.snapshots"), withCollection(collection, {{QStringLiteral("withUniqueBytes"), withUniqueBytes}}),
                                                 [](const QCborValue &, const QCborArray &items) { return itemsOf<tree::SnapshotInfo>(items, toSnapshot); });
}

QFuture<Result<tree::SnapshotInfo>> RemoteDriveApi::createSnapshot(const Ruid &collection, const QString &name)
{
    return call<tree::SnapshotInfo>(QStringLiteral("drive.createSnapshot"), withCollection(collection, {{QStringLiteral("name"), name}}),
                                    [](const QCborValue &v, const QCborArray &) { return toSnapshot(v); });
}

QFuture<Result<std::vector<tree::DiffEntry>>> RemoteDriveApi::diff(const Ruid &collection, const QString &from, const QString &to)
{
    return call<std::vector<tree::DiffEntry>>(QStringLiteral("drive.diff"), withCollection(collection, {{QStringLiteral("from"), from}, {QStringLiteral("to"), to}}),
                                              [](const QCborValue &, const QCborArray &items) { return itemsOf<tree::DiffEntry>(items, toDiffEntry); });
}

QFuture<Result<VNode>> RemoteDriveApi::restore(const Ruid &collection, const QString &snapshot, const QString &path, const QString &to)
{
    return call<VNode>(QStringLiteral("drive.restore"),
                       withCollection(collection, {{QStringLiteral("snapshot"), snapshot}, {QStringLiteral("path"), path}, {QStringLiteral("to"), to}}), nodeResult);
}

Transfer RemoteDriveApi::transfer(const QString &method, QCborMap args)
{
    auto state = std::make_shared<TransferState>();
    auto done = call<TransferReport>(method, std::move(args), [](const QCborValue &v, const QCborArray &) { return toReport(v); }, state);
    return {state, done};
}

Transfer RemoteDriveApi::importLocal(const Ruid &collection, const QStringList &localPaths, const QString &into)
{
    return transfer(QStringLiteral("drive.import"), withCollection(collection, {{QStringLiteral("paths"), QCborArray::fromStringList(localPaths)}, {QStringLiteral("into"), into}}));
}

Transfer RemoteDriveApi::exportLocal(const Ruid &collection, const QStringList &paths, const QString &into, const QString &at, bool force)
{
    return transfer(QStringLiteral("drive.export"), withCollection(collection, {{QStringLiteral("paths"), QCborArray::fromStringList(paths)},
                                                                               {QStringLiteral("into"), into},
                                                                               {QStringLiteral("at"), at},
                                                                               {QStringLiteral("force"), force}}));
}

QFuture<Result<uint64_t>> RemoteDriveApi::emptyTrash(const Ruid &collection, const std::optional<std::vector<Ruid>> &ids)
{
    QCborMap args = withCollection(collection);
    if (ids)
        args.insert(QStringLiteral("ids"), fromRuidList(*ids));
    return call<uint64_t>(QStringLiteral("drive.emptyTrash"), args, [](const QCborValue &v, const QCborArray &) -> Result<uint64_t> {
        if (!v.isInteger() || v.toInteger() < 0)
            return Status::protocolError(QStringLiteral("drive.emptyTrash: the answer is not a count"));
        return uint64_t(v.toInteger());
    });
}

QFuture<Result<bool>> RemoteDriveApi::deleteSnapshot(const Ruid &collection, const QString &name)
{
    return call<bool>(QStringLiteral("drive.deleteSnapshot"), withCollection(collection, {{QStringLiteral("name"), name}}),
                      [](const QCborValue &, const QCborArray &) -> Result<bool> { return true; });
}

QFuture<Result<client::JsonTree>> RemoteDriveApi::jsonTree(const Ruid &collection, const QString &path, const QString &at)
{
    return call<client::JsonTree>(QStringLiteral("drive.jsonTree"), withCollection(collection, {{QStringLiteral("path"), path}, {QStringLiteral("at"), at}}),
                                  [](const QCborValue &v, const QCborArray &items) -> Result<client::JsonTree> {
                                      VD_TRY_ASSIGN(const uint64_t generation, natural(v.toMap(), "generation"));
                                      return toJsonTree(items, generation);
                                  });
}

QFuture<Result<storage::AllocationMap>> RemoteDriveApi::blockMap(const Ruid &collection)
{
    return call<storage::AllocationMap>(QStringLiteral("drive.blockMap"), withCollection(collection),
                                        [](const QCborValue &v, const QCborArray &items) -> Result<storage::AllocationMap> {
                                            VD_TRY_ASSIGN(const uint64_t generation, natural(v.toMap(), "generation"));
                                            return toBlockMap(items, generation);
                                        });
}

QFuture<Result<storage::FsckReport>> RemoteDriveApi::fsck(const Ruid &collection)
{
    return call<storage::FsckReport>(QStringLiteral("drive.fsck"), withCollection(collection),
                                     [](const QCborValue &v, const QCborArray &items) -> Result<storage::FsckReport> {
                                         if (!v.isTrue())
                                             return Status::protocolError(QStringLiteral("drive.fsck: the answer is not true"));
                                         return toFsckReport(items);
                                     });
}

QFuture<Result<tree::BlockOwners>> RemoteDriveApi::blockOwners(const Ruid &collection)
{
    return call<tree::BlockOwners>(QStringLiteral("drive.blockOwners"), withCollection(collection),
                                   [](const QCborValue &v, const QCborArray &items) -> Result<tree::BlockOwners> {
                                       VD_TRY_ASSIGN(const uint64_t generation, natural(v.toMap(), "generation"));
                                       return toBlockOwners(items, generation);
                                   });
}

QFuture<Result<VNode>> RemoteDriveApi::setJson(const Ruid &collection, const QString &path, const QByteArray &jsonText)
{
    return call<VNode>(QStringLiteral("drive.setJson"), withCollection(collection, {{QStringLiteral("path"), path}, {QStringLiteral("json"), jsonText}}), nodeResult);
}

QFuture<Result<bool>> RemoteDriveApi::deleteJson(const Ruid &collection, const QString &path)
{
    return call<bool>(QStringLiteral("drive.deleteJson"), withCollection(collection, {{QStringLiteral("path"), path}}),
                      [](const QCborValue &, const QCborArray &) -> Result<bool> { return true; });
}

QFuture<Result<VNode>> RemoteDriveApi::importJson(const Ruid &collection, const QString &localFile, const QString &vpath, bool replace)
{
    return call<VNode>(QStringLiteral("drive.importJson"),
                       withCollection(collection, {{QStringLiteral("local"), localFile}, {QStringLiteral("path"), vpath}, {QStringLiteral("replace"), replace}}),
                       nodeResult);
}

QFuture<Result<qint64>> RemoteDriveApi::exportJson(const Ruid &collection, const QString &vpath, const QString &localFile, const QString &at)
{
    return call<qint64>(QStringLiteral("drive.exportJson"),
                        withCollection(collection, {{QStringLiteral("local"), localFile}, {QStringLiteral("path"), vpath}, {QStringLiteral("at"), at}}),
                        [](const QCborValue &v, const QCborArray &) -> Result<qint64> {
                            if (!v.isInteger() || v.toInteger() < 0)
                                return Status::protocolError(QStringLiteral("drive.exportJson: the answer is not a size"));
                            return qint64(v.toInteger());
                        });
}

client::Search RemoteDriveApi::search(const Ruid &collection, const QString &under, const QString &pattern, const QString &at)
{
    auto state = std::make_shared<client::SearchState>();
    QCborMap args = withCollection(collection, {{QStringLiteral("under"), under}, {QStringLiteral("pattern"), pattern}, {QStringLiteral("at"), at}});
    auto done = QtConcurrent::run(&m_pool, [this, args, state](QPromise<Result<client::SearchOutcome>> &promise) {
        auto client = connection(m_socketPath, m_clientName);
        if (!client) {
            promise.addResult(Result<client::SearchOutcome>(client.status()));
            return;
        }
        CallOptions options;
        // Matches as they come: each one the node found.
        options.onItems = [&](const QCborArray &chunk) -> Status {
            for (const QCborValue &v : chunk) {
                const QCborMap m = v.toMap();
                VD_TRY_ASSIGN(const QString path, text(m, "path", tree::VNode::kMaxPathBytes));
                VD_TRY_ASSIGN(VNode n, toVNode(m.value(QStringLiteral("node"))));
                state->add({path, std::move(n)});
            }
            return {};
        };
        options.cancelRequested = [&] { return promise.isCanceled() || state->isCancelled(); };
        auto reply = (*client)->call(QStringLiteral("drive.search"), QCborValue(args), options);
        if (!reply) {
            promise.addResult(Result<client::SearchOutcome>(reply.status()));
            return;
        }
        const QCborMap m = reply->toMap();
        client::SearchOutcome out;
        auto matches = natural(m, "matches");
        auto visited = natural(m, "visited");
        auto truncated = boolean(m, "truncated");
        if (!matches || !visited || !truncated) {
            promise.addResult(Result<client::SearchOutcome>(!matches ? matches.status() : !visited ? visited.status() : truncated.status()));
            return;
        }
        out.matches = *matches;
        out.visited = *visited;
        out.truncated = *truncated;
        state->setVisited(out.visited);
        promise.addResult(Result<client::SearchOutcome>(out));
    });
    return {state, done};
}

} // namespace vd::control
