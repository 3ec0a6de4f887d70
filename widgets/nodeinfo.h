// How a VNode is shown in lists: its icon, the words for its kind, its size
// and time. Shared by the contents view's model and the folder tree.
//
// Thread safety: the GUI thread only (icons and the MIME database).
#pragma once

#include "tree/vnode.h"

#include <QIcon>
#include <QString>

namespace vd::widgets {

QIcon iconFor(const tree::VNode &node);
// "Folder", "PNG image", "JSON object", ...
QString kindText(const tree::VNode &node);
// A file's bytes; a folder's or JSON container's entries.
QString sizeText(const tree::VNode &node);
QString timeText(int64_t ms);

} // namespace vd::widgets
