// ClusterLayout: one file's clusters as the explorer shows them — each
// cluster's pieces in order with where they start in the file, the space
// each takes on the disk (a whole block's size class, or a SmallBlock
// slot's stored bytes), its padding, and which snapshots hold the same
// stored bytes (the same block, or the same slot of the same SmallBlock).
// The PropertiesDialog's table and the ClusterView's picture both read it,
// so the numbers are worked out in one place.
//
// layOutClusters() is pure CPU work on values: run it off the GUI thread
// (ClusterGatherer does). ClusterGatherer asks the node for a file's
// clusters now and in every snapshot, lays them out on a worker thread and
// hands the result back on its own thread.
//
// Thread safety: the value types and layOutClusters() are plain (any
// thread); ClusterGatherer and fillClusterTable() the GUI thread only.
#pragma once

#include "client/driveapi.h"

#include <QObject>
#include <QPointer>
#include <QStringList>

#include <utility>
#include <vector>

class QTreeWidget;

namespace vd::widgets {

struct LaidOutPiece
{
    tree::PieceInfo info;
    uint64_t offset = 0;     // where its bytes start in the file
    uint64_t diskBytes = 0;  // what it takes in idvd: a block's size, a slot's stored bytes; 0 for zeros
    uint64_t padding = 0;    // a whole block's bytes past the piece's (its header and what is unused)
    QStringList sharedWith;  // the snapshots whose version of the file holds these same stored bytes

    bool isZero() const { return info.zero; }
    bool isPacked() const { return info.packed && !info.zero; }
};

struct LaidOutCluster
{
    uint64_t start = 0;
    uint64_t length = 0;
    uint64_t birth = 0;
    std::vector<LaidOutPiece> pieces;
};

struct ClusterLayout
{
    std::vector<LaidOutCluster> clusters;
    QStringList snapshotsHolding; // snapshots in which the file exists (oldest first)
    uint64_t logicalBytes = 0;
    uint64_t storedBytes = 0;
    uint64_t diskBytes = 0;
    uint64_t paddingBytes = 0;
    uint64_t pieces = 0;
    uint64_t sharedPieces = 0; // pieces held by at least one snapshot too
};

// One snapshot's view of the file: its name and its clusters there.
using SnapshotClusters = std::pair<QString, std::vector<tree::ClusterInfo>>;

// Lays the clusters out; `snapshots` are the file's clusters in each
// snapshot where it exists (oldest first). Pure.
ClusterLayout layOutClusters(const std::vector<tree::ClusterInfo> &clusters, const std::vector<SnapshotClusters> &snapshots = {});

// Fills a QTreeWidget (cluster rows, piece rows below) with the layout:
// what the properties dialog and the cluster view's table show.
void fillClusterTable(QTreeWidget *table, const ClusterLayout &layout);
QStringList clusterTableHeaders();

// Gathers one file's layout: clusters(path, at), snapshots(), and
// clusters(path, snapshot) for each snapshot (a snapshot without the file
// answers NotFound and is left out), then layOutClusters on a worker
// thread. A new gather() drops the answers of the one before.
class ClusterGatherer : public QObject
{
    Q_OBJECT
public:
    explicit ClusterGatherer(client::DriveApi *api, QObject *parent = nullptr);

    // withSnapshots: also find which snapshots share the pieces.
    void gather(const Ruid &collection, const QString &path, const QString &at, bool withSnapshots = true);
    void cancel() { ++m_epoch; }
    bool isBusy() const { return m_busy; }

Q_SIGNALS:
    void gathered(const vd::Result<vd::widgets::ClusterLayout> &layout);

private:
    void finish(uint64_t epoch, std::vector<tree::ClusterInfo> now, std::vector<SnapshotClusters> snaps);

    QPointer<client::DriveApi> m_api;
    uint64_t m_epoch = 0;
    bool m_busy = false;
};

} // namespace vd::widgets
