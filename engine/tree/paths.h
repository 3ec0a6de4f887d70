// Paths in a drive: "/" and names joined by '/', at most VNode::kMaxDepth
// names. Pure functions, thread-safe.
#pragma once

#include "core/status.h"

#include <QString>
#include <QStringList>

namespace vd::tree {

// A path's names; InvalidArgument for a path not starting with '/', a bad
// name or more than VNode::kMaxDepth names.
Result<QStringList> splitPath(const QString &path);
QString joinPath(const QString &dir, const QString &name);
// How deep the node at a canonical path ("/a/b") is: its number of names.
int pathDepth(const QString &canonical);
// A path short enough for a message (the middle cut out).
QString elidedPath(const QString &path);

} // namespace vd::tree
