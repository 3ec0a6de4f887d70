// LocalDriveApi: the DriveApi of a node running in this process — what the
// explorer uses when it embeds the node (and what the control socket's
// structured methods answer with for a client in another process).
//
// Each call becomes one request of the collection's DriveHost: reads on its
// reader pool (never waiting for the writer), changes on its writer thread.
// A collection not opened yet is opened on a thread of this object's own,
// so even the first call returns at once.
//
// Thread safety: as DriveApi. The node must outlive this object.
#pragma once

#include "client/driveapi.h"

#include <QThreadPool>

#include <map>
#include <mutex>

namespace vd::node {
class DriveHost;
class Node;
} // namespace vd::node

namespace vd::client {

class LocalDriveApi final : public DriveApi
{
    Q_OBJECT
public:
    explicit LocalDriveApi(node::Node &node, QObject *parent = nullptr);
    ~LocalDriveApi() override;

    QString dataDir() const override;

    QFuture<Result<std::vector<CollectionSummary>>> collections() override;
    QFuture<Result<CollectionSummary>> createCollection(const QString &name) override;
    QFuture<Result<Usage>> usage(const Ruid &collection) override;
    QFuture<Result<CollectionSummary>> renameCollection(const Ruid &collection, const QString &newName) override;
    QFuture<Result<bool>> deleteCollection(const Ruid &collection) override;

    QFuture<Result<FolderListing>> list(const Ruid &collection, const QString &path, const QString &at) override;
    QFuture<Result<tree::VNode>> stat(const Ruid &collection, const QString &path, const QString &at) override;
    QFuture<Result<QString>> pathOf(const Ruid &collection, const Ruid &id, const QString &at) override;
    QFuture<Result<std::vector<tree::ClusterInfo>>> clusters(const Ruid &collection, const QString &path, const QString &at) override;

    QFuture<Result<tree::VNode>> mkdir(const Ruid &collection, const QString &path) override;
    QFuture<Result<tree::VNode>> move(const Ruid &collection, const QString &from, const QString &to) override;
    QFuture<Result<tree::VNode>> copy(const Ruid &collection, const QString &from, const QString &to, const QString &at) override;
    QFuture<Result<uint64_t>> remove(const Ruid &collection, const QStringList &paths, bool permanently) override;
    QFuture<Result<std::vector<tree::TrashEntry>>> trash(const Ruid &collection) override;
    QFuture<Result<tree::VNode>> restoreFromTrash(const Ruid &collection, const Ruid &id, const QString &to) override;
    QFuture<Result<uint64_t>> emptyTrash(const Ruid &collection, const std::optional<std::vector<Ruid>> &ids) override;

    QFuture<Result<std::vector<tree::SnapshotInfo>>> snapshots(const Ruid &collection, bool withUniqueBytes) override;
    QFuture<Result<tree::SnapshotInfo>> createSnapshot(const Ruid &collection, const QString &name) override;
    QFuture<Result<std::vector<tree::DiffEntry>>> diff(const Ruid &collection, const QString &from, const QString &to) override;
    QFuture<Result<tree::VNode>> restore(const Ruid &collection, const QString &snapshot, const QString &path, const QString &to) override;

    Transfer importLocal(const Ruid &collection, const QStringList &localPaths, const QString &into) override;
    Transfer exportLocal(const Ruid &collection, const QStringList &paths, const QString &into, const QString &at, bool force) override;
    Search search(const Ruid &collection, const QString &under, const QString &pattern, const QString &at) override;

    // Snapshots, continued.
    QFuture<Result<bool>> deleteSnapshot(const Ruid &collection, const QString &name) override;

    QFuture<Result<JsonTree>> jsonTree(const Ruid &collection, const QString &path, const QString &at) override;
    QFuture<Result<tree::VNode>> setJson(const Ruid &collection, const QString &path, const QByteArray &jsonText) override;
    QFuture<Result<bool>> deleteJson(const Ruid &collection, const QString &path) override;
    QFuture<Result<tree::VNode>> importJson(const Ruid &collection, const QString &localFile, const QString &vpath, bool replace) override;
    QFuture<Result<qint64>> exportJson(const Ruid &collection, const QString &vpath, const QString &localFile, const QString &at) override;

    QFuture<Result<storage::AllocationMap>> blockMap(const Ruid &collection) override;
    QFuture<Result<tree::BlockOwners>> blockOwners(const Ruid &collection) override;
    QFuture<Result<storage::FsckReport>> fsck(const Ruid &collection) override;

    // The host of collection, opening it when needed (blocks: not for the
    // GUI thread). For the engine's own fronts that run requests of their own.
    Result<node::DriveHost *> host(const Ruid &collection);

private:
    // Runs call on the collection's host: at once when it is open, else
    // once a pool thread has opened it.
    template<typename T, typename Call>
    QFuture<Result<T>> onHost(const Ruid &collection, Call call);
    node::DriveHost *known(const Ruid &collection) const;

    node::Node &m_node;
    mutable std::mutex m_mutex;
    std::map<Ruid, node::DriveHost *> m_hosts; // opened through this object
    QThreadPool m_openers; // opens collections, lists the data directory
};

} // namespace vd::client
