#include "filechanges.h"

#include "treewriter.h"

#include <algorithm>

namespace vd::tree {

Result<VNode> FileChanges::putFile(const QString &path, QIODevice &in, const storage::ProgressFn &progress, io::ZeroRuns *holes,
                                   const storage::PackedPayload *packed)
{
    storage::Collection &col = m_w.collection();
    VD_TRY(col.checkWritable());
    VD_TRY_ASSIGN(const auto pn, m_w.resolveParent(path));
    const VNode &parent = pn.first;
    const QString &name = pn.second;
    if (isJson(parent.kind))
        return Status::invalidArgument(QStringLiteral("a file cannot go inside a JSON document (use json set)"));
    VD_TRY_ASSIGN(const auto existing, m_w.live().lookupEntry(parent.id, name));
    if (existing && existing->kind != Kind::File)
        return Status::alreadyExists(QStringLiteral("%1 exists and is a %2").arg(path, kindName(existing->kind)));
    return m_w.guard([&]() -> Result<VNode> {
        VNode n;
        if (existing) {
            n = *existing;
            VD_TRY(col.releaseData(n.id));
            col.subtractFileBytes(n.size);
        } else {
            // The bytes first, then the node, once: a new file costs one
            // entry, one index record, its folder's entry and the feed.
            n.id = Ruid::generateOrdered();
            n.parent = parent.id;
            n.name = name;
            n.kind = Kind::File;
            n.createdMs = TreeWriter::nowMs();
        }
        VD_TRY_ASSIGN(const storage::StreamWritten w, col.writeStream(n.id, 0, in, progress, path, holes, packed));
        n.size = w.bytes;
        n.clusterCount = w.clusters;
        n.modifiedMs = TreeWriter::nowMs();
        VD_TRY_ASSIGN(n.version, m_w.nextVersion(n.version));
        col.addFileBytes(n.size);
        VD_TRY(m_w.putNode(n, existing ? TreeWriter::PutMode::Update : TreeWriter::PutMode::New));
        if (!existing) {
            VD_TRY(m_w.touchParent(parent.id, +1));
            col.addVnodes(1);
        }
        return n;
    }());
}

Result<VNode> FileChanges::writeFile(const QString &path, uint64_t offset, QByteArrayView data)
{
    storage::Collection &col = m_w.collection();
    VD_TRY(col.checkWritable());
    VD_TRY_ASSIGN(const auto pn, m_w.resolveParent(path));
    const VNode &parent = pn.first;
    const QString &name = pn.second;
    VD_TRY_ASSIGN(const auto existing, m_w.live().lookupEntry(parent.id, name));
    if (existing && existing->kind != Kind::File)
        return Status::invalidArgument(QStringLiteral("%1 is a %2, not a file").arg(path, kindName(existing->kind)));
    if (!existing && isJson(parent.kind))
        return Status::invalidArgument(QStringLiteral("a file cannot go inside a JSON document"));
    if (data.size() > qsizetype(storage::Collection::kMaxRangeWrite))
        return Status::invalidArgument(QStringLiteral("a range write is at most %1 MiB").arg(storage::Collection::kMaxRangeWrite >> 20));
    return m_w.guard([&]() -> Result<VNode> {
        VNode n;
        if (existing) {
            n = *existing;
        } else {
            VD_TRY_ASSIGN(n, m_w.createNode(parent, name, Kind::File));
        }
        storage::StreamWritten w;
        VD_TRY(col.writeRange(n.id, n.size, offset, data, &w));
        col.addFileBytes(w.bytes - n.size);
        n.size = w.bytes;
        n.clusterCount = n.clusterCount - w.replaced + w.clusters;
        n.modifiedMs = TreeWriter::nowMs();
        VD_TRY_ASSIGN(n.version, m_w.nextVersion(n.version));
        VD_TRY(m_w.putNode(n));
        return n;
    }());
}

Result<VNode> FileChanges::appendFile(const QString &path, QByteArrayView data)
{
    VD_TRY_ASSIGN(const auto found, m_w.live().resolveIfExists(path));
    return writeFile(path, found ? found->size : 0, data);
}

} // namespace vd::tree
