// Snapshots: taking, listing and deleting snapshots of the tree (the
// records and pins are the collection's: Collection::addSnapshot and
// removeSnapshot), comparing two trees (diff) and restoring from one.
// A diff of two committed trees reads only the index leaves they do not
// share, so it costs what changed, not the size of the tree.
//
// Owns nothing: made for one call on the Drive's TreeWriter.
// Thread safety: not thread-safe; the writer's thread only.
#pragma once

#include "ticker.h"
#include "treetypes.h"
#include "vnode.h"

#include "core/status.h"

#include "storage/rootrecord.h"

#include <functional>
#include <vector>

namespace vd::storage {
class CatalogReader;
}

namespace vd::tree {

class TreeWriter;
class Views;

class Snapshots
{
public:
    // ticker: the progress and cancel of the call (ticker.h); null: none.
    explicit Snapshots(TreeWriter &writer, Ticker *ticker = nullptr) : m_w(writer), m_ticker(ticker) {}

    // See Drive::createSnapshot, listSnapshots, deleteSnapshot, diff, restore.
    Result<SnapshotInfo> create(const QString &name);
    Result<std::vector<SnapshotInfo>> list(bool withUniqueBytes, const storage::ProgressFn &progress = {});
    Status remove(const QString &name);
    Result<std::vector<DiffEntry>> diff(const QString &from, const QString &to, bool exhaustive);
    Result<VNode> restore(const QString &snapshot, const QString &path, const QString &to);

    // The diff of trees `from` and `to` (snapshot names; empty: the live
    // tree) of views; rootOf names each tree's committed root, whose index
    // leaves cat reads. whole: compare the whole indexes instead (the live
    // tree has uncommitted pages, or a cross-check). Reads only: a reader's
    // Drive diffs its pinned generation with it. The ticker counts index
    // entries read and changes placed.
    using RootFn = std::function<Result<storage::PageRef>(const QString &)>;
    static Result<std::vector<DiffEntry>> compare(Views &views, storage::CatalogReader &cat, const RootFn &rootOf, const QString &from,
                                                  const QString &to, bool whole, Ticker *ticker = nullptr);

private:
    TreeWriter &m_w;
    Ticker *m_ticker;
};

} // namespace vd::tree
