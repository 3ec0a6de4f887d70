// Drive's private parts shared by its source files.
#pragma once

#include "drive.h"

#include "storage/catalogreader.h"

#include <QStringList>

namespace vd::tree {

// One tree the Drive reads: the live one (the collection's own catalog) or
// a snapshot's (a read-only catalog on the snapshot's root).
struct Drive::View
{
    Drive *drive = nullptr;
    QString snapshot; // empty: live
    std::unique_ptr<storage::CatalogReader> own; // a snapshot's; null: the working catalog
    QCache<QByteArray, VNode> entries; // (folder id, name) -> node
    storage::CatalogReader &catalog();
};

// A path's names; InvalidArgument for a bad name or more than kMaxDepth names.
Result<QStringList> splitPath(const QString &path);
QString joinPath(const QString &dir, const QString &name);
// How deep the node at a canonical path ("/a/b") is: its number of names.
int pathDepth(const QString &canonical);
// A path short enough for a message (the middle cut out).
QString elidedPath(const QString &path);

} // namespace vd::tree
