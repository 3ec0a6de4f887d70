// Views: the trees a Drive reads — the live tree (on the collection's
// working catalog, or a pinned generation's tree for a reader) and each
// snapshot's opened so far (on its committed root), one TreeView each,
// made on first use.
//
// Owns the views; borrows the collection (or the generation reader). drop() forgets every cache when
// the collection has reloaded its state (a rollback, a failed change, gc):
// the live view's entries, and the snapshot views with them.
//
// Thread safety: not thread-safe; the Drive's thread only.
#pragma once

#include "treeview.h"

#include <QString>

#include <functional>
#include <map>
#include <memory>

namespace vd::storage {
class Collection;
class GenerationReader;
}

namespace vd::tree {

class Views
{
public:
    Views(storage::Collection &collection, qint64 entryCacheBytes);
    // The trees of one pinned generation (a reader's Drive).
    Views(storage::GenerationReader &reader, qint64 entryCacheBytes);
    ~Views();
    Views(const Views &) = delete;
    Views &operator=(const Views &) = delete;

    TreeView &live() { return *m_live; }
    // The live tree (at empty) or snapshot `at` (NotFound if there is none);
    // fails as Collection::checkUsable() does when the collection is broken.
    Result<TreeView *> view(const QString &at);
    void drop();
    void dropSnapshot(const QString &name);
    // Hits and misses of every view, those dropped included.
    TreeView::Stats stats() const;

private:
    void retire(const TreeView &view);

    std::function<Status()> m_checkUsable;
    std::function<Result<std::unique_ptr<storage::CatalogReader>>(const QString &)> m_openSnapshot;
    qint64 m_entryCacheBytes;
    std::unique_ptr<TreeView> m_live;
    std::map<QString, std::unique_ptr<TreeView>> m_snapshots;
    TreeView::Stats m_retired; // counted by views since dropped
};

} // namespace vd::tree
