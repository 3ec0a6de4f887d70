// Names from the drive on the screen: untrusted text, shown as text.
//
// A stored name may hold anything but '/' and NUL: markup ("<b>x</b>"),
// control characters, right-to-left overrides. Views draw DisplayRole as
// plain text, but Qt guesses whether a tooltip, a message box or a label is
// rich text (Qt::mightBeRichText) — so every string that carries a name
// goes through here first and never reaches a widget that guesses.
//
// Thread safety: pure functions.
#pragma once

#include <QString>
#include <QStringList>

namespace vd::widgets {

// The name as one line of text that cannot disturb what is around it:
// control characters shown as their visible symbols (U+2400 block, "␊"),
// and the whole wrapped in a first-strong isolate so a right-to-left
// override inside it cannot reorder the text beside it.
QString displayName(const QString &name);

// Plain text (a name, a path, an engine message) as rich text that shows
// exactly those characters: for tooltips and labels, which Qt would
// otherwise interpret when the text looks like markup.
QString richTextOf(const QString &plain);
// Lines of plain text as rich text: each line as richTextOf shows it,
// one below the other (a '\n' inside a line stays a visible "␊").
QString richTextOfLines(const QStringList &lines);

// "1.5 MiB" etc., as the CLI prints sizes (locale-aware digits).
QString formatBytes(uint64_t bytes);

} // namespace vd::widgets
