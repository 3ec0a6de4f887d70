#include "paths.h"

#include "vnode.h"

namespace vd::tree {

QString elidedPath(const QString &path)
{
    constexpr qsizetype kHead = 48, kTail = 32;
    if (path.size() <= kHead + kTail + 1)
        return path;
    return path.left(kHead) + QChar(0x2026) + path.right(kTail);
}

int pathDepth(const QString &canonical)
{
    return canonical == QLatin1String("/") ? 0 : int(canonical.count(QLatin1Char('/')));
}

Result<QStringList> splitPath(const QString &path)
{
    if (!path.startsWith(QLatin1Char('/')))
        return Status::invalidArgument(QStringLiteral("paths in a drive start with '/': '%1'").arg(elidedPath(path)));
    const QStringList parts = path.split(QLatin1Char('/'), Qt::SkipEmptyParts);
    if (parts.size() > VNode::kMaxDepth)
        return Status::invalidArgument(QStringLiteral("bad path '%1': it has %2 names: a drive is at most %3 levels deep")
                                           .arg(elidedPath(path))
                                           .arg(parts.size())
                                           .arg(VNode::kMaxDepth));
    for (const QString &p : parts) {
        Status st = validateName(p);
        if (!st)
            return Status::invalidArgument(QStringLiteral("bad path '%1': %2").arg(elidedPath(path), st.message()));
    }
    return parts;
}

QString joinPath(const QString &dir, const QString &name)
{
    return dir == QLatin1String("/") ? QLatin1Char('/') + name : dir + QLatin1Char('/') + name;
}

} // namespace vd::tree
