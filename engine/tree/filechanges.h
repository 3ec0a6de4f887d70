// FileChanges: creating, replacing and writing into files of the live tree.
// A new file costs its bytes, one entry, one index record, its folder's
// entry and one change record; a range write rewrites only the clusters
// it touches.
//
// Owns nothing: made for one call on the Drive's TreeWriter.
// Thread safety: not thread-safe; the writer's thread only.
#pragma once

#include "vnode.h"

#include "core/status.h"
#include "io/zeroruns.h"
#include "storage/collection.h"

#include <QIODevice>

namespace vd::tree {

class TreeWriter;

class FileChanges
{
public:
    explicit FileChanges(TreeWriter &writer) : m_w(writer) {}

    // See Drive::putFile, writeFile, appendFile.
    Result<VNode> putFile(const QString &path, QIODevice &in, const storage::ProgressFn &progress, io::ZeroRuns *holes,
                          const storage::PackedPayload *packed);
    Result<VNode> writeFile(const QString &path, uint64_t offset, QByteArrayView data);
    Result<VNode> appendFile(const QString &path, QByteArrayView data);

private:
    TreeWriter &m_w;
};

} // namespace vd::tree
