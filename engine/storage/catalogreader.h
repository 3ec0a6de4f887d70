// CatalogReader: read-only access to one catalog tree of a collection.
//
// Whoever builds on a collection's catalog (the tree, engine/tree) reads its
// records through a CatalogReader and changes them through the collection
// (Collection::putRecord/removeRecord); it never holds a Catalog. There are
// two kinds, both handed out by the Collection:
//   - the working catalog (Collection::catalog()): the committed tree with
//     the open transaction's changes. It follows the collection through a
//     reload (a rollback or a failed change), so a reference stays valid as
//     long as the collection does;
//   - a committed root (Collection::committedCatalog(), snapshotCatalog()):
//     one committed tree and nothing else. What it reads never depends on
//     the open transaction: a change, a commit or a rollback of the writer
//     does not change its answers. This is what a reader of one generation
//     is built on.
//
// The stored-tree calls (leavesInRange, readStored, walkStored) read any
// committed tree of the same collection by its root, whatever the reader.
//
// Errors: as Catalog's (Corruption for a page that does not verify, IoError).
// A working catalog whose collection could not reload its committed state
// answers the collection's error (Collection::checkUsable()).
//
// Thread safety: not thread-safe; a reader loads pages into memory as it
// reads them. Use each reader from one thread at a time. A reader must not
// outlive the collection that made it. (A GenerationReader's catalogs,
// readertable.h, are read on other threads than the writer's.)
#pragma once

#include "catalog.h"
#include "catalogpage.h"
#include "rootrecord.h"

#include "core/status.h"

#include <QByteArray>

#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace vd::storage {

class CatalogReader
{
public:
    virtual ~CatalogReader() = default;

    // The record under key, if any.
    Result<std::optional<QByteArray>> get(QByteArrayView key);
    // Visits keys in [from, to) in order (to empty: no upper bound); the
    // visitor returns false to stop.
    Status scan(QByteArrayView from, QByteArrayView to, const Catalog::Visitor &visit);
    // The entry with the greatest key <= key, if any.
    Result<std::optional<std::pair<QByteArray, QByteArray>>> floor(QByteArrayView key);

    // The committed trees of the collection, by root (see Catalog).
    Status leavesInRange(const PageRef &root, QByteArrayView from, QByteArrayView to, std::vector<PageRef> *leaves);
    Result<CatalogPage> readStored(const PageRef &ref);
    Status walkStored(const PageRef &root, const std::function<bool(const PageRef &ref, int level)> &enter,
                      const std::function<Status(const PageRef &ref, const CatalogPage &leaf)> &leaf);

protected:
    // The catalog this reader reads, or why there is none.
    virtual Result<Catalog *> catalog() = 0;
};

} // namespace vd::storage
