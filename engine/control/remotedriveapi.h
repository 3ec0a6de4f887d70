// RemoteDriveApi: the DriveApi of a node in another process, reached
// through its control socket (DriveService on the other side) — what the
// explorer uses when a `vdrive serve` already runs on its data directory.
//
// Calls run on a small pool of its own, each pool thread with its own
// connection (ControlClient is blocking, one call at a time): a call
// returns its future at once, and several calls run side by side, each
// cancellable (a cancel goes to the node). A connection that broke is made
// again by the next call on that thread. Change records arrive on a
// connection of their own, subscribed to "drive.changed", and are emitted
// as changed(); when the node had to drop events for this client (it
// lagged) or the connection broke, resyncNeeded() is emitted for every
// collection, so models list again instead of missing a change.
//
// Thread safety: as DriveApi.
#pragma once

#include "client/driveapi.h"

#include <QThreadPool>

#include <atomic>
#include <thread>

namespace vd::control {

class RemoteDriveApi final : public client::DriveApi
{
    Q_OBJECT
public:
    // dataDir: the node's (for titles); socketPath: where it listens.
    RemoteDriveApi(QString dataDir, QString socketPath, QString clientName, QObject *parent = nullptr);
    ~RemoteDriveApi() override;

    // Connects once and says hello (blocks up to timeoutMs): whether the
    // node is there and speaks this protocol. The event connection starts.
    Status start(int timeoutMs = 5000);

    QString dataDir() const override { return m_dataDir; }
    QString socketPath() const { return m_socketPath; }

    QFuture<Result<std::vector<client::CollectionSummary>>> collections() override;
    QFuture<Result<client::CollectionSummary>> createCollection(const QString &name) override;
    QFuture<Result<client::Usage>> usage(const Ruid &collection) override;
    QFuture<Result<client::CollectionSummary>> renameCollection(const Ruid &collection, const QString &newName) override;
    QFuture<Result<bool>> deleteCollection(const Ruid &collection) override;

    QFuture<Result<client::FolderListing>> list(const Ruid &collection, const QString &path, const QString &at) override;
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

    client::Transfer importLocal(const Ruid &collection, const QStringList &localPaths, const QString &into) override;
    client::Transfer exportLocal(const Ruid &collection, const QStringList &paths, const QString &into, const QString &at, bool force) override;
    client::Search search(const Ruid &collection, const QString &under, const QString &pattern, const QString &at) override;
    QFuture<Result<client::JsonTree>> jsonTree(const Ruid &collection, const QString &path, const QString &at) override;
    QFuture<Result<tree::VNode>> setJson(const Ruid &collection, const QString &path, const QByteArray &jsonText) override;
    QFuture<Result<bool>> deleteJson(const Ruid &collection, const QString &path) override;
    QFuture<Result<tree::VNode>> importJson(const Ruid &collection, const QString &localFile, const QString &vpath, bool replace) override;
    QFuture<Result<qint64>> exportJson(const Ruid &collection, const QString &vpath, const QString &localFile, const QString &at) override;

    QFuture<Result<storage::AllocationMap>> blockMap(const Ruid &collection) override;
    QFuture<Result<tree::BlockOwners>> blockOwners(const Ruid &collection) override;
    QFuture<Result<storage::FsckReport>> fsck(const Ruid &collection) override;
    QFuture<Result<bool>> deleteSnapshot(const Ruid &collection, const QString &name) override;

private:
    // Calls method on a pool thread's connection; items of the reply's
    // stream go to onItems (on that thread); decode makes the value.
    template<typename T>
    QFuture<Result<T>> call(const QString &method, QCborMap args, std::function<Result<T>(const QCborValue &result, const QCborArray &items)> decode,
                            std::shared_ptr<client::TransferState> state = {});
    client::Transfer transfer(const QString &method, QCborMap args);
    void eventLoop();

    QString m_dataDir, m_socketPath, m_clientName;
    QThreadPool m_pool;
    std::atomic<bool> m_stopping{false};
    std::thread m_events;
};

} // namespace vd::control
