// What a drag carries and what a drop asks for, in one place for every
// view of the explorer.
//
// A drag out of the contents view carries the nodes as
// "application/x-vdrive-nodes" (the collection, the snapshot if any, the
// paths: CBOR) — what a drop within the explorer moves or copies — and
// their paths as text, and the files exported for it (DragOutData,
// dragout.h). A drop from a file manager or the desktop carries
// "text/uri-list": local files to import.
//
// Everything here reads untrusted data (a drop may come from any program):
// it takes only local file URLs, at most kMaxDropItems of them, and refuses
// a nodes payload that does not parse exactly.
//
// Thread safety: the GUI thread only.
#pragma once

#include "core/ruid.h"

#include <QString>
#include <QStringList>

#include <optional>

class QMimeData;

namespace vd::widgets {

inline constexpr char kNodesMimeType[] = "application/x-vdrive-nodes";
inline constexpr qsizetype kMaxDropItems = 100000;

struct NodesPayload
{
    Ruid collection;
    QString at; // a snapshot, or empty
    QStringList paths;
};

QMimeData *mimeDataForNodes(const NodesPayload &nodes);
// Puts the nodes and their paths as text into data.
void setNodes(QMimeData *data, const NodesPayload &nodes);
std::optional<NodesPayload> nodesIn(const QMimeData *data);
// The local files of a drop (file: URLs only), or nothing.
QStringList localFilesIn(const QMimeData *data);

} // namespace vd::widgets
