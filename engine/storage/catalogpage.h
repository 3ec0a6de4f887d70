// One page of the catalog's B+tree, as stored (FORMAT.md §Catalog page).
// Thread-safety: a plain value with pure encode/decode functions.
#pragma once

#include "rootrecord.h"

#include "core/status.h"

#include <QByteArray>

#include <vector>

namespace vd::storage {

struct CatalogPage
{
    static constexpr int kMaxLevel = 32;

    int level = 0; // 0 for leaves
    std::vector<QByteArray> keys;
    std::vector<QByteArray> values;   // leaves
    std::vector<PageRef> children;    // internal pages

    bool isLeaf() const { return level == 0; }
    size_t count() const { return keys.size(); }
    static size_t entrySize(const QByteArray &key, qsizetype valueSize);
    static size_t internalEntrySize(const QByteArray &key);
    static constexpr size_t kHeaderSize = 8;

    QByteArray encode() const;
    // Checks bounds, key order and that there is at least one entry.
    static Result<CatalogPage> decode(QByteArrayView raw);
};

} // namespace vd::storage
