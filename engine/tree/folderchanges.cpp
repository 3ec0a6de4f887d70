#include "folderchanges.h"

#include "paths.h"
#include "treewriter.h"
#include "views.h"

#include "storage/collection.h"

namespace vd::tree {

Result<VNode> FolderChanges::mkdir(const QString &path, bool parents)
{
    VD_TRY(m_w.collection().checkWritable());
    VD_TRY_ASSIGN(const QStringList parts, splitPath(path));
    if (parts.isEmpty())
        return parents ? m_w.live().resolve(path) : Result<VNode>(Status::alreadyExists(QStringLiteral("/ exists")));
    if (!parents) {
        VD_TRY_ASSIGN(const auto pn, m_w.resolveParent(path));
        VD_TRY_ASSIGN(const auto existing, m_w.live().lookupEntry(pn.first.id, pn.second));
        if (existing)
            return Status::alreadyExists(QStringLiteral("%1 already exists").arg(path));
        if (isJson(pn.first.kind))
            return Status::invalidArgument(QStringLiteral("a folder cannot go inside a JSON document"));
        return m_w.guard(m_w.createNode(pn.first, pn.second, Kind::Directory));
    }
    VD_TRY(m_w.checkFolders(path));
    return m_w.guard(m_w.ensureFolders(path));
}

Result<VNode> FolderChanges::move(const QString &from, const QString &to)
{
    VD_TRY(m_w.collection().checkWritable());
    TreeView &live = m_w.live();
    VD_TRY_ASSIGN(const VNode src, live.resolve(from));
    if (src.id == rootId())
        return Status::invalidArgument(QStringLiteral("the root folder cannot be moved"));
    VD_TRY_ASSIGN(const auto pn, m_w.resolveParent(to));
    const VNode &dstParent = pn.first;
    const QString &dstName = pn.second;
    VD_TRY(m_w.checkPlacement(src, dstParent, dstName, from, to, true));
    if (dstParent.id == src.parent && dstName == src.name)
        return src;
    VD_TRY_ASSIGN(const QStringList fromParts, splitPath(from));
    VD_TRY_ASSIGN(const QStringList toParts, splitPath(to));
    VD_TRY(live.checkDepth(src, int(fromParts.size()), int(toParts.size()), QStringLiteral("moving %1 to %2").arg(elidedPath(from), elidedPath(to))));
    return m_w.guard([&]() -> Result<VNode> {
        VNode n = src;
        VD_TRY(m_w.eraseNode(src));
        m_w.invalidate(src);
        if (src.parent != dstParent.id)
            VD_TRY(m_w.touchParent(src.parent, -1));
        n.parent = dstParent.id;
        n.name = dstName;
        VD_TRY_ASSIGN(n.version, m_w.nextVersion(n.version));
        if (dstParent.kind == Kind::JsonObject) {
            VD_TRY_ASSIGN(n.ordinal, m_w.nextOrdinal(dstParent));
        }
        VD_TRY(m_w.putNode(n));
        if (src.parent != dstParent.id)
            VD_TRY(m_w.touchParent(dstParent.id, +1));
        return n;
    }());
}

Result<VNode> FolderChanges::copy(const QString &from, const QString &to, const QString &at)
{
    VD_TRY(m_w.collection().checkWritable());
    VD_TRY_ASSIGN(TreeView * src, m_w.views().view(at));
    VD_TRY_ASSIGN(const VNode s, src->resolve(from));
    if (s.id == rootId())
        return Status::invalidArgument(QStringLiteral("the root folder cannot be copied (copy its entries)"));
    VD_TRY_ASSIGN(const auto pn, m_w.resolveParent(to));
    const VNode &dstParent = pn.first;
    const QString &dstName = pn.second;
    VD_TRY(m_w.checkPlacement(s, dstParent, dstName, from, to, at.isEmpty()));
    VD_TRY_ASSIGN(const QStringList fromParts, splitPath(from));
    VD_TRY_ASSIGN(const QStringList toParts, splitPath(to));
    const int depth = int(toParts.size());
    VD_TRY(src->checkDepth(s, int(fromParts.size()), depth, QStringLiteral("copying %1 to %2").arg(elidedPath(from), elidedPath(to))));
    return m_w.guard([&]() -> Result<VNode> {
        uint64_t ordinal = 0;
        if (dstParent.kind == Kind::JsonObject) {
            VD_TRY_ASSIGN(ordinal, m_w.nextOrdinal(dstParent));
        }
        VD_TRY_ASSIGN(const VNode n, m_w.copyTree(*src, s, dstParent, dstName, ordinal, depth, m_ticker));
        VD_TRY(m_w.touchParent(dstParent.id, +1));
        return n;
    }());
}

} // namespace vd::tree
