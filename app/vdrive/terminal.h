// Names on a terminal. A stored name may hold any character but '/' and
// NUL — an escape sequence, a newline, U+202E (which reverses the text after
// it) — and a local name may hold bytes that are not UTF-8. Printed raw on a
// terminal, such a name could rewrite what the user sees. So everything the
// CLI prints that comes from a name or a path goes through shellQuote()
// when its stream is a terminal (isatty), the way GNU ls quotes names with
// its "shell-escape" style; to a pipe or a file the bytes are exact, as
// before, and --json is never quoted.
#pragma once

#include <QByteArrayView>
#include <QString>

namespace vd::cli {

// Whether stdout and stderr are terminals; set by run() (isatty), or from
// the client's in the node (session.h). Per thread.
void setTerminals(bool out, bool err);
bool stdoutIsTerminal();
bool stderrIsTerminal();

// GNU ls's shell-escape quoting of a name's bytes, as a shell reads it back:
// a name that needs nothing stays as it is (`photo.jpg`); one with shell
// specials goes in single quotes (`'a b'`, `'x$y'`; `"it's"` when its only
// special is an apostrophe); characters that cannot be shown are escaped
// inside $'...' (`'a'$'\n''b'`, `''$'\033''[31mred'`). Escaped are C0
// controls and DEL (\a \b \t \n \v \f \r by name, else octal \033), bytes
// that are not UTF-8 (octal \377), and — beyond GNU ls, which prints them
// raw — C1 controls, Unicode format characters (bidi overrides such as
// U+202E, zero-width characters) and line/paragraph separators, as \u202E
// (bash's $'...' reads both forms). `always`: quote even a plain name
// (GNU's shell-escape-always), for names inside a sentence.
QString shellQuote(QByteArrayView bytes, bool always = false);

// A name or path in a listing on stdout (ls, stat, du, trash list,
// snapshot diff, …): shellQuote() on a terminal, else the name as it is.
QString listed(const QString &name);
// A name inside a message on stderr: 'name' to a pipe (as before),
// shellQuote(always) on a terminal.
QString quoted(const QString &name);
// The same for a local name given as raw bytes (they may not be UTF-8):
// always escaped, because the raw bytes cannot be printed faithfully.
QString quotedBytes(QByteArrayView bytes);
// A whole line of text (an error from the engine, a fault, a JSON value)
// for a terminal: every character shellQuote() escapes is replaced by its
// escape, the rest is kept. The last line of defence for names inside
// messages the CLI did not build itself.
QString terminalSafe(const QString &text);
// terminalSafe() when stdout (stderr) is a terminal, else the text as it is.
QString safeForStdout(const QString &text);
QString safeForStderr(const QString &text);

} // namespace vd::cli
