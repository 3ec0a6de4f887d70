// TreeFsck: the tree's part of fsck, on top of the collection's own
// checks: entries and index agree, every node leads to the root or the
// trash (no cycles, no orphans) within the depth limit, folder counts,
// file sizes and clusters agree, every cluster has an owner, the root
// record's counters match, trash records and trash entries agree. A
// keyspace that cannot be read is a fault of its own.
//
// Owns nothing: made for one call on the Drive's TreeWriter (fsck rolls
// back what is pending and so needs the writer).
// Thread safety: not thread-safe; the writer's thread only.
#pragma once

#include "core/status.h"
#include "storage/collection.h"
#include "ticker.h"

namespace vd::tree {

class TreeWriter;

class TreeFsck
{
public:
    // ticker: counts every item checked, the collection's and the tree's
    // (the caller tells the final count).
    TreeFsck(TreeWriter &writer, Ticker &ticker) : m_w(writer), m_ticker(ticker) {}

    // See Drive::fsck.
    storage::FsckReport run();

private:
    Status checkTree(storage::FsckReport *report);

    TreeWriter &m_w;
    Ticker &m_ticker;
};

} // namespace vd::tree
