#include "localdriveapi.h"

#include "node/node.h"
#include "tree/jsoncodec.h"
#include "transfer/localexport.h"
#include "transfer/localfs.h"
#include "transfer/localimport.h"

#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QStorageInfo>
#include <QtConcurrent/QtConcurrentRun>

#include <deque>

namespace vd::client {

using node::DriveHost;
using node::OpContext;
using tree::Drive;
using tree::VNode;

CollectionSummary CollectionSummary::from(const storage::CollectionEntry &entry)
{
    return {entry.ruid, entry.name.isEmpty() ? entry.headName : entry.name, entry.generation, entry.createdMs, entry.status};
}

LocalDriveApi::LocalDriveApi(node::Node &node, QObject *parent) : DriveApi(parent), m_node(node)
{
    // Opening a collection reads and checks its whole state: two at a time
    // at most, and never on the caller's thread.
    m_openers.setMaxThreadCount(2);
    connect(&m_node, &node::Node::changed, this, &DriveApi::changed, Qt::DirectConnection);
    connect(&m_node, &node::Node::resyncNeeded, this, &DriveApi::resyncNeeded, Qt::DirectConnection);
    connect(
        &m_node, &node::Node::collectionsChanged, this,
        [this] {
            // A deleted collection's host is retired: ask the node again.
            {
                std::lock_guard lock(m_mutex);
                m_hosts.clear();
            }
            Q_EMIT collectionsChanged();
        },
        Qt::DirectConnection);
}

LocalDriveApi::~LocalDriveApi()
{
    m_openers.waitForDone();
}

QString LocalDriveApi::dataDir() const
{
    return m_node.dataDir();
}

DriveHost *LocalDriveApi::known(const Ruid &collection) const
{
    std::lock_guard lock(m_mutex);
    const auto it = m_hosts.find(collection);
    return it == m_hosts.end() ? nullptr : it->second;
}

Result<DriveHost *> LocalDriveApi::host(const Ruid &collection)
{
    if (DriveHost *h = known(collection))
        return h;
    VD_TRY_ASSIGN(DriveHost * h, m_node.host(collection.toString()));
    std::lock_guard lock(m_mutex);
    m_hosts[collection] = h;
    return h;
}

template<typename T, typename Call>
QFuture<Result<T>> LocalDriveApi::onHost(const Ruid &collection, Call call)
{
    if (DriveHost *h = known(collection))
        return call(*h);
    return QtConcurrent::run(&m_openers, [this, collection] { return host(collection); })
        .then([call](Result<DriveHost *> h) -> QFuture<Result<T>> {
            if (!h)
                return QtFuture::makeReadyFuture(Result<T>(h.status()));
            return call(**h);
        })
        .unwrap();
}

QFuture<Result<std::vector<CollectionSummary>>> LocalDriveApi::collections()
{
    return QtConcurrent::run(&m_openers, [this]() -> Result<std::vector<CollectionSummary>> {
        VD_TRY_ASSIGN(const auto entries, m_node.collections());
        std::vector<CollectionSummary> out;
        out.reserve(entries.size());
        for (const storage::CollectionEntry &e : entries)
            out.push_back(CollectionSummary::from(e));
        return out;
    });
}

QFuture<Result<CollectionSummary>> LocalDriveApi::createCollection(const QString &name)
{
    return QtConcurrent::run(&m_openers, [this, name]() -> Result<CollectionSummary> {
        VD_TRY_ASSIGN(DriveHost * h, m_node.create(name));
        {
            std::lock_guard lock(m_mutex);
            m_hosts[h->ruid()] = h;
        }
        CollectionSummary s;
        s.ruid = h->ruid();
        s.name = h->name();
        return s;
    });
}

QFuture<Result<CollectionSummary>> LocalDriveApi::renameCollection(const Ruid &collection, const QString &newName)
{
    // Node::renameCollection waits for the commit: on a pool thread.
    return QtConcurrent::run(&m_openers, [this, collection, newName]() -> Result<CollectionSummary> {
        VD_TRY_ASSIGN(const storage::CollectionEntry e, m_node.renameCollection(collection.toString(), newName));
        return CollectionSummary::from(e);
    });
}

QFuture<Result<bool>> LocalDriveApi::deleteCollection(const Ruid &collection)
{
    return QtConcurrent::run(&m_openers, [this, collection]() -> Result<bool> {
        VD_TRY(m_node.deleteCollection(collection.toString()).status());
        return true;
    });
}

QFuture<Result<Usage>> LocalDriveApi::usage(const Ruid &collection)
{
    const QString dir = m_node.dataDir();
    return onHost<Usage>(collection, [dir](DriveHost &h) {
        // The collection's counters are the writer's: a short request that
        // changes nothing (so it may share a group).
        return h.write<Usage>(
            [dir](Drive &d, OpContext &) -> Result<Usage> {
                VD_TRY_ASSIGN(const storage::CollectionInfo info, d.collection().info());
                Usage u;
                u.logicalBytes = info.logicalBytes;
                u.allocatedBytes = info.allocatedBytes;
                u.idvdBytes = info.idvdBytes;
                u.vnodes = info.vnodes;
                u.snapshots = info.snapshots;
                u.paddingRatio = info.paddingRatio;
                const QStorageInfo disk(dir);
                u.diskFreeBytes = disk.isValid() ? uint64_t(std::max<qint64>(disk.bytesAvailable(), 0)) : 0;
                return u;
            },
            DriveHost::Grouping::Replayable);
    });
}

QFuture<Result<storage::AllocationMap>> LocalDriveApi::blockMap(const Ruid &collection)
{
    return onHost<storage::AllocationMap>(collection, [](DriveHost &h) {
        // On a reader: the last commit's picture, at once, even while an
        // import holds the writer for minutes.
        return h.read<storage::AllocationMap>([&h](Drive &d, OpContext &) -> Result<storage::AllocationMap> {
            VD_TRY_ASSIGN(storage::AllocationMap map, d.allocationMap());
            if (const auto check = h.lastCheck()) {
                map.checkedMs = check->finishedMs;
                map.checkedGeneration = check->generation;
                map.checkFaults = check->faults.size();
                map.corrupt = check->corruptOffsets;
                map.corruptNotListed = check->corruptNotListed;
            }
            return map;
        });
    });
}

QFuture<Result<storage::FsckReport>> LocalDriveApi::fsck(const Ruid &collection)
{
    return onHost<storage::FsckReport>(collection, [](DriveHost &h) {
        // The writer's Drive between its requests (nothing uncommitted): the
        // check reads the last commit, alone, and changes nothing.
        return h.write<storage::FsckReport>([&h](Drive &d, OpContext &ctx) -> Result<storage::FsckReport> {
            storage::FsckReport r = d.fsck(ctx.progressFn());
            h.recordCheck(r); // only a finished one
            if (!r.status)
                return r.status;
            return r;
        });
    });
}

QFuture<Result<tree::BlockOwners>> LocalDriveApi::blockOwners(const Ruid &collection)
{
    return onHost<tree::BlockOwners>(collection, [](DriveHost &h) {
        return h.read<tree::BlockOwners>([](Drive &d, OpContext &ctx) { return d.blockOwners(ctx.progressFn()); });
    });
}

QFuture<Result<FolderListing>> LocalDriveApi::list(const Ruid &collection, const QString &path, const QString &at)
{
    return onHost<FolderListing>(collection, [path, at](DriveHost &h) {
        return h.read<FolderListing>([path, at](Drive &d, OpContext &) -> Result<FolderListing> {
            FolderListing out;
            out.generation = d.generation();
            VD_TRY_ASSIGN(out.folder, d.stat(path, at));
            if (!out.folder.isContainer())
                return Status::invalidArgument(QStringLiteral("%1 is a %2, not a folder").arg(path, tree::kindName(out.folder.kind)));
            VD_TRY_ASSIGN(out.entries, d.list(path, at));
            return out;
        });
    });
}

QFuture<Result<VNode>> LocalDriveApi::stat(const Ruid &collection, const QString &path, const QString &at)
{
    return onHost<VNode>(collection, [path, at](DriveHost &h) {
        return h.read<VNode>([path, at](Drive &d, OpContext &) { return d.stat(path, at); });
    });
}

QFuture<Result<QString>> LocalDriveApi::pathOf(const Ruid &collection, const Ruid &id, const QString &at)
{
    return onHost<QString>(collection, [id, at](DriveHost &h) {
        return h.read<QString>([id, at](Drive &d, OpContext &) { return d.pathOf(id, at); });
    });
}

QFuture<Result<std::vector<tree::ClusterInfo>>> LocalDriveApi::clusters(const Ruid &collection, const QString &path, const QString &at)
{
    return onHost<std::vector<tree::ClusterInfo>>(collection, [path, at](DriveHost &h) {
        return h.read<std::vector<tree::ClusterInfo>>([path, at](Drive &d, OpContext &) { return d.clusters(path, at); });
    });
}

QFuture<Result<VNode>> LocalDriveApi::mkdir(const Ruid &collection, const QString &path)
{
    return onHost<VNode>(collection, [path](DriveHost &h) {
        return h.write<VNode>([path](Drive &d, OpContext &) { return d.mkdir(path, false); }, DriveHost::Grouping::Replayable);
    });
}

QFuture<Result<VNode>> LocalDriveApi::move(const Ruid &collection, const QString &from, const QString &to)
{
    return onHost<VNode>(collection, [from, to](DriveHost &h) {
        return h.write<VNode>([from, to](Drive &d, OpContext &) { return d.move(from, to); }, DriveHost::Grouping::Replayable);
    });
}

QFuture<Result<VNode>> LocalDriveApi::copy(const Ruid &collection, const QString &from, const QString &to, const QString &at)
{
    return onHost<VNode>(collection, [from, to, at](DriveHost &h) {
        return h.write<VNode>([from, to, at](Drive &d, OpContext &ctx) { return d.copy(from, to, at, ctx.progressFn()); });
    });
}

QFuture<Result<uint64_t>> LocalDriveApi::remove(const Ruid &collection, const QStringList &paths, bool permanently)
{
    return onHost<uint64_t>(collection, [paths, permanently](DriveHost &h) {
        return h.write<uint64_t>([paths, permanently](Drive &d, OpContext &ctx) -> Result<uint64_t> {
            uint64_t done = 0;
            for (const QString &path : paths) {
                VD_TRY(d.remove(path, true, !permanently, ctx.progressFn()));
                ++done;
            }
            return done;
        });
    });
}

QFuture<Result<std::vector<tree::TrashEntry>>> LocalDriveApi::trash(const Ruid &collection)
{
    return onHost<std::vector<tree::TrashEntry>>(collection, [](DriveHost &h) {
        return h.read<std::vector<tree::TrashEntry>>([](Drive &d, OpContext &) { return d.listTrash(); });
    });
}

QFuture<Result<VNode>> LocalDriveApi::restoreFromTrash(const Ruid &collection, const Ruid &id, const QString &to)
{
    return onHost<VNode>(collection, [id, to](DriveHost &h) {
        return h.write<VNode>([id, to](Drive &d, OpContext &) { return d.restoreFromTrash(id, to); }, DriveHost::Grouping::Replayable);
    });
}

QFuture<Result<uint64_t>> LocalDriveApi::emptyTrash(const Ruid &collection, const std::optional<std::vector<Ruid>> &ids)
{
    return onHost<uint64_t>(collection, [ids](DriveHost &h) {
        return h.write<uint64_t>([ids](Drive &d, OpContext &ctx) -> Result<uint64_t> {
            return ids ? d.deleteFromTrash(*ids, ctx.progressFn()) : d.emptyTrash(INT64_MAX, ctx.progressFn());
        });
    });
}

QFuture<Result<std::vector<tree::SnapshotInfo>>> LocalDriveApi::snapshots(const Ruid &collection, bool withUniqueBytes)
{
    return onHost<std::vector<tree::SnapshotInfo>>(collection, [withUniqueBytes](DriveHost &h) {
        using Infos = std::vector<tree::SnapshotInfo>;
        // What each snapshot alone keeps is counted by the writer's Drive
        // (a walk of every tree); the names and times are a plain read.
        if (withUniqueBytes)
            return h.write<Infos>([](Drive &d, OpContext &ctx) { return d.listSnapshots(true, ctx.progressFn()); });
        return h.read<Infos>([](Drive &d, OpContext &) { return d.listSnapshots(false); });
    });
}

QFuture<Result<tree::SnapshotInfo>> LocalDriveApi::createSnapshot(const Ruid &collection, const QString &name)
{
    return onHost<tree::SnapshotInfo>(collection, [name](DriveHost &h) {
        return h.write<tree::SnapshotInfo>([name](Drive &d, OpContext &) { return d.createSnapshot(name); }, DriveHost::Grouping::Replayable);
    });
}

QFuture<Result<std::vector<tree::DiffEntry>>> LocalDriveApi::diff(const Ruid &collection, const QString &from, const QString &to)
{
    return onHost<std::vector<tree::DiffEntry>>(collection, [from, to](DriveHost &h) {
        return h.read<std::vector<tree::DiffEntry>>([from, to](Drive &d, OpContext &ctx) { return d.diff(from, to, false, ctx.progressFn()); });
    });
}

QFuture<Result<VNode>> LocalDriveApi::restore(const Ruid &collection, const QString &snapshot, const QString &path, const QString &to)
{
    return onHost<VNode>(collection, [snapshot, path, to](DriveHost &h) {
        return h.write<VNode>([snapshot, path, to](Drive &d, OpContext &ctx) { return d.restore(snapshot, path, to, ctx.progressFn()); });
    });
}

namespace {

// Hands a transfer's progress and warnings to its TransferState; stops it
// when the state or the request is cancelled.
class StateObserver final : public transfer::TransferObserver
{
public:
    StateObserver(TransferState &state, OpContext &ctx) : m_state(state), m_ctx(ctx) {}
    bool isCancelled() const override { return m_state.isCancelled() || m_ctx.isCancelled(); }
    void progress(const transfer::TransferProgress &p) override
    {
        m_state.setProgress(p);
        m_ctx.setProgress(p.bytes, p.totalBytes);
    }
    void warning(const QString &message) override { m_state.addWarning(message); }

private:
    TransferState &m_state;
    OpContext &m_ctx;
};

QString childOf(const QString &dir, const QString &name)
{
    return dir == QLatin1String("/") ? QLatin1Char('/') + name : dir + QLatin1Char('/') + name;
}

QString lastNameOf(const QString &path)
{
    return path.mid(path.lastIndexOf(QLatin1Char('/')) + 1);
}

} // namespace

Transfer LocalDriveApi::importLocal(const Ruid &collection, const QStringList &localPaths, const QString &into)
{
    auto state = std::make_shared<TransferState>();
    auto done = onHost<TransferReport>(collection, [state, localPaths, into](DriveHost &h) {
        return h.write<TransferReport>([state, localPaths, into](Drive &d, OpContext &ctx) -> Result<TransferReport> {
            std::vector<transfer::ImportItem> items;
            TransferReport report;
            for (const QString &local : localPaths) {
                const QString name = QFileInfo(QFileInfo(local).absoluteFilePath()).fileName();
                if (name.isEmpty())
                    return Status::invalidArgument(QStringLiteral("'%1' has no name to give it in the drive").arg(local));
                items.push_back({local, childOf(into, name), nullptr});
                report.targets.append(items.back().vpath);
            }
            transfer::ImportOptions options;
            options.countFirst = true; // a dialog shows the time left
            StateObserver observer(*state, ctx);
            VD_TRY_ASSIGN(const transfer::ImportReport r, transfer::importLocal(d, items, options, observer));
            report.files = r.files;
            report.folders = r.folders;
            report.bytes = r.bytes;
            report.skipped = r.skipped;
            return report;
        });
    });
    return {state, done};
}

Transfer LocalDriveApi::exportLocal(const Ruid &collection, const QStringList &paths, const QString &into, const QString &at, bool force)
{
    auto state = std::make_shared<TransferState>();
    auto done = onHost<TransferReport>(collection, [state, paths, into, at, force](DriveHost &h) {
        // A read: exporting never waits for the writer, and sees one generation.
        return h.read<TransferReport>([state, paths, into, at, force](Drive &d, OpContext &ctx) -> Result<TransferReport> {
            std::vector<transfer::ExportItem> items;
            for (const QString &path : paths)
                items.push_back({path, childOf(into, lastNameOf(path))});
            transfer::ExportOptions options;
            options.at = at;
            options.force = force;
            StateObserver observer(*state, ctx);
            VD_TRY_ASSIGN(const transfer::ExportReport r, transfer::exportLocal(d, items, options, observer));
            TransferReport report;
            report.files = r.files;
            report.folders = r.folders;
            report.bytes = r.bytes;
            for (const QString &t : r.targets)
                report.targets.append(t);
            return report;
        });
    });
    return {state, done};
}

Search LocalDriveApi::search(const Ruid &collection, const QString &under, const QString &pattern, const QString &at)
{
    auto state = std::make_shared<SearchState>();
    auto done = onHost<SearchOutcome>(collection, [state, under, pattern, at](DriveHost &h) {
        return h.read<SearchOutcome>([state, under, pattern, at](Drive &d, OpContext &ctx) -> Result<SearchOutcome> {
            const bool wildcard = pattern.contains(QLatin1Char('*')) || pattern.contains(QLatin1Char('?'));
            const QRegularExpression re(QRegularExpression::wildcardToRegularExpression(pattern, QRegularExpression::UnanchoredWildcardConversion),
                                        QRegularExpression::CaseInsensitiveOption);
            auto matches = [&](const QString &name) {
                if (!wildcard)
                    return name.contains(pattern, Qt::CaseInsensitive);
                const QRegularExpressionMatch m = re.match(name);
                return m.hasMatch() && m.capturedStart() == 0 && m.capturedLength() == name.size();
            };
            SearchOutcome out;
            std::deque<QString> folders{under};
            while (!folders.empty()) {
                if (state->isCancelled() || ctx.isCancelled())
                    return Status::cancelled(QStringLiteral("the search was cancelled"));
                const QString folder = folders.front();
                folders.pop_front();
                VD_TRY_ASSIGN(const std::vector<VNode> entries, d.list(folder, at));
                for (const VNode &n : entries) {
                    ++out.visited;
                    const QString path = childOf(folder, n.name);
                    if (matches(n.name)) {
                        state->add({path, n});
                        if (++out.matches >= Search::kMaxMatches) {
                            out.truncated = true;
                            state->setVisited(out.visited);
                            return out;
                        }
                    }
                    if (n.isContainer())
                        folders.push_back(path);
                }
                state->setVisited(out.visited);
                ctx.setProgress(out.visited);
            }
            return out;
        });
    });
    return {state, done};
}

// Snapshots, continued.

QFuture<Result<bool>> LocalDriveApi::deleteSnapshot(const Ruid &collection, const QString &name)
{
    return onHost<bool>(collection, [name](DriveHost &h) {
        return h.write<bool>(
            [name](Drive &d, OpContext &) -> Result<bool> {
                VD_TRY(d.deleteSnapshot(name));
                return true;
            },
            DriveHost::Grouping::Replayable);
    });
}

// JSON documents.

namespace {

// Reads the value n (at path) and everything below it into out, counting
// values against JsonTree::kMaxNodes.
Status readJsonNode(Drive &d, const VNode &n, const QString &path, const QString &at, bool isMember, JsonNode &out, uint64_t &count)
{
    if (++count > JsonTree::kMaxNodes)
        return Status::invalidArgument(QStringLiteral("%1 holds more than %2 JSON values: too large to edit as a tree (vdrive json get reads it)")
                                           .arg(path)
                                           .arg(JsonTree::kMaxNodes));
    out.id = n.id;
    out.name = n.name;
    out.kind = n.kind;
    if (isMember) {
        VD_TRY_ASSIGN(out.key, tree::keyForName(n.name));
    }
    if (n.kind == tree::Kind::JsonValue) {
        out.literal = n.value;
        return {};
    }
    VD_TRY_ASSIGN(const std::vector<VNode> entries, d.list(path, at));
    out.children.resize(entries.size());
    for (size_t i = 0; i < entries.size(); ++i)
        VD_TRY(readJsonNode(d, entries[i], childOf(path, entries[i].name), at, n.kind == tree::Kind::JsonObject, out.children[i], count));
    return {};
}

} // namespace

QFuture<Result<JsonTree>> LocalDriveApi::jsonTree(const Ruid &collection, const QString &path, const QString &at)
{
    return onHost<JsonTree>(collection, [path, at](DriveHost &h) {
        return h.read<JsonTree>([path, at](Drive &d, OpContext &) -> Result<JsonTree> {
            JsonTree out;
            out.generation = d.generation();
            VD_TRY_ASSIGN(const VNode root, d.stat(path, at));
            if (!tree::isJson(root.kind))
                return Status::invalidArgument(QStringLiteral("%1 is a %2, not JSON").arg(path, tree::kindName(root.kind)));
            // A member's key is its name unescaped; the root and elements have none.
            bool isMember = false;
            if (root.parent != Ruid() && path != QLatin1String("/")) {
                VD_TRY_ASSIGN(const VNode parent, d.stat(path.left(std::max<qsizetype>(path.lastIndexOf(QLatin1Char('/')), 1)), at));
                isMember = parent.kind == tree::Kind::JsonObject;
            }
            VD_TRY(readJsonNode(d, root, path, at, isMember, out.root, out.nodes));
            return out;
        });
    });
}

QFuture<Result<VNode>> LocalDriveApi::setJson(const Ruid &collection, const QString &path, const QByteArray &jsonText)
{
    return onHost<VNode>(collection, [path, jsonText](DriveHost &h) {
        return h.write<VNode>([path, jsonText](Drive &d, OpContext &) { return d.setJson(path, jsonText); }, DriveHost::Grouping::Replayable);
    });
}

QFuture<Result<bool>> LocalDriveApi::deleteJson(const Ruid &collection, const QString &path)
{
    // Not replayable: a second run would remove the element that moved up.
    return onHost<bool>(collection, [path](DriveHost &h) {
        return h.write<bool>([path](Drive &d, OpContext &) -> Result<bool> {
            VD_TRY(d.deleteJson(path));
            return true;
        });
    });
}

QFuture<Result<VNode>> LocalDriveApi::importJson(const Ruid &collection, const QString &localFile, const QString &vpath, bool replace)
{
    return onHost<VNode>(collection, [localFile, vpath, replace](DriveHost &h) {
        // Reads a stream: alone.
        return h.write<VNode>([localFile, vpath, replace](Drive &d, OpContext &ctx) -> Result<VNode> {
            const QFileInfo fi(localFile);
            if (fi.isSymLink())
                VD_TRY(transfer::refuseSymlink(fi));
            QFile file(localFile);
            if (!file.open(QIODevice::ReadOnly))
                return transfer::cannotRead(localFile, file);
            return d.importJson(vpath, file, replace, ctx.progressFn());
        });
    });
}

QFuture<Result<qint64>> LocalDriveApi::exportJson(const Ruid &collection, const QString &vpath, const QString &localFile, const QString &at)
{
    return onHost<qint64>(collection, [vpath, localFile, at](DriveHost &h) {
        return h.read<qint64>([vpath, localFile, at](Drive &d, OpContext &) -> Result<qint64> {
            // Checked before the file is touched: the node exists and is JSON.
            VD_TRY_ASSIGN(const VNode n, d.stat(vpath, at));
            if (!tree::isJson(n.kind))
                return Status::invalidArgument(QStringLiteral("%1 is a %2, not a JSON document").arg(vpath, tree::kindName(n.kind)));
            VD_TRY(transfer::checkFileTarget(QFileInfo(localFile), true));
            qint64 written = 0;
            VD_TRY(transfer::saveLocalFile(localFile, [&](QIODevice &out) -> Status {
                VD_TRY(d.exportJson(vpath, out, 2, at));
                written = out.pos();
                return {};
            }));
            return written;
        });
    });
}

} // namespace vd::client
