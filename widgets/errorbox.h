// Errors as the user sees them: a short sentence, with the engine's own
// words behind "Show Details...". Always plain text (a name in a message
// is never interpreted as markup), and never a nested event loop: the box
// is window-modal and deletes itself when closed.
//
// Thread safety: the GUI thread only.
#pragma once

#include <QString>

class QMessageBox;
class QWidget;

namespace vd::widgets {

QMessageBox *showError(QWidget *parent, const QString &summary, const QString &detail = {});

} // namespace vd::widgets
