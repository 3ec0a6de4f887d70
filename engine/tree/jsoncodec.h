// The JSON codec: how a JSON document becomes a tree of VNodes and back.
//
// Objects and arrays are inner nodes; object keys and array indices are the
// children's names; scalars are leaves. A leaf keeps its value as its exact
// JSON literal (UTF-8 bytes), so nothing is lost between a file and the tree:
//   - numbers exactly as written ("12345678901234567890", "-0", "1.50", "1e400"
//     survive byte for byte; a tree never holds a double),
//   - strings as their canonical literal: quoted, with the escapes nlohmann's
//     dump() writes (\" \\ \b \f \n \r \t, other controls as \u00xx), UTF-8 kept
//     as it is, never \u-escaped,
//   - true, false, null as such.
// Object members keep the order of the input.
//
// Thread-safety: every free function here is reentrant and keeps no state
// between calls; a JsonWriter (like any sink) is used by one thread at a time,
// and distinct writers are independent.
#pragma once

#include "core/status.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <vector>

class QIODevice;

namespace vd::tree {

// Receives a document as a stream of events, in document order.
//
// `key` is non-null for a member of an object: the member's key, unescaped
// (UTF-8 as in the document, possibly empty or holding NUL). It is null for an
// array element (whose index is the count of its earlier siblings) and for the
// document's root (depth 0). The pointee lives only for the call.
class JsonSink
{
public:
    virtual ~JsonSink() = default;
    virtual Status beginObject(const QString *key) = 0;
    virtual Status beginArray(const QString *key) = 0;
    // literal: one canonical JSON scalar literal (see above); valid for the call only.
    virtual Status scalar(const QString *key, QByteArrayView literal) = 0;
    // Closes the innermost open object or array.
    virtual Status end() = 0;
};

struct JsonParseOptions
{
    // Objects and arrays nested deeper than this are refused; the root container is level 1.
    int maxDepth = 256;
    // An object key longer than this (unescaped UTF-8) is refused.
    qint64 maxKeyBytes = 64 * 1024;
};

// Parses a whole document (RFC 8259, strict: no comments, no trailing commas,
// no duplicate keys within one object, nothing but whitespace after the value),
// calling sink for every value in document order.
//
// Errors: InvalidArgument, "invalid JSON at line L, column C: <reason>", where L
// and C (1-based; C counts characters, not bytes, of line L) point at the
// offending character, at the start of the offending token, or just past the
// last character for a truncated document. Reasons are plain words:
// "unexpected end of input", "expected ',' or '}'", "expected ':'",
// "trailing comma", "invalid string: ill-formed UTF-8", "duplicate key \"k\"",
// "nesting deeper than 256 levels", "trailing characters after the document",
// "no JSON value in the input" (empty or whitespace-only input), ...
// An error returned by the sink stops parsing and is returned unchanged. A
// UTF-8 byte order mark at the very start is skipped (and not counted in columns).
// After an error the sink has seen a prefix of the events and must discard them.
Status parseJson(QByteArrayView text, JsonSink &sink, const JsonParseOptions &options = {});

// The same, reading `in` (open for reading) from its current position to its
// end in 64 KiB chunks: memory is one chunk, the longest string or number, and
// the keys of the objects still open (for the duplicate check), whatever the
// document's size. Errors are placed exactly as for the bytes in memory.
// IoError if a read from a file-like device fails; a sequential device (pipe,
// socket, process) is read until read() fails or waitForReadyRead() returns
// false, which is its end.
Status parseJson(QIODevice &in, JsonSink &sink, const JsonParseOptions &options = {});

// Checks that `literal` is exactly one JSON scalar (string, number, true,
// false, null), optionally surrounded by JSON whitespace (trimmed), and
// returns its canonical literal: strings re-encoded as above, numbers and
// words kept as written. InvalidArgument otherwise (objects, arrays, bare
// words, empty input, a byte order mark, two values, ...).
Result<QByteArray> canonicalScalar(QByteArrayView literal);

// Writes a document from events: the inverse of parseJson. Compact when
// indent < 0 ({"a":[1,2]}); otherwise pretty exactly like nlohmann's dump(indent):
// a newline and `indent` spaces per level before each member or element,
// "key": value, empty containers as {} and [].
//
// Events are checked: a member of an object needs a key, an array element or
// the root must have none, there is exactly one root, every literal must be a
// valid JSON scalar literal (written as given, not re-canonicalised). The first
// error is sticky: every later call returns it. Output is buffered; nothing is
// guaranteed to reach `out` until finish(). `out` is not owned and must outlive
// the writer. Not thread-safe.
class JsonWriter final : public JsonSink
{
public:
    explicit JsonWriter(QIODevice *out, int indent = 2);

    Status beginObject(const QString *key) override;
    Status beginArray(const QString *key) override;
    Status scalar(const QString *key, QByteArrayView literal) override;
    Status end() override;
    // Checks that the root was written and every container closed, writes the
    // final newline when pretty, and flushes to `out`. InvalidArgument on a
    // malformed event stream, IoError when the device refuses a write.
    Status finish();

private:
    Status beginValue(const QString *key);
    Status fail(Status status);
    Status flush();
    void newline(qsizetype depth);

    struct Frame
    {
        bool isObject;
        bool isEmpty;
    };

    QIODevice *m_out;
    int m_indent;
    std::vector<Frame> m_stack;
    bool m_rootStarted = false;
    bool m_finished = false;
    QByteArray m_buffer;
    Status m_error;
};

// Object keys become child names in a file system–like tree, where a name is
// 1..255 bytes of UTF-8 without '/' or NUL and is neither "." nor "..".
// nameForKey escapes any key into such a name, reversibly:
//   '~' -> "~0", '/' -> "~1", NUL -> "~2" (anywhere in the key), and only as the
//   whole key: "" -> "~e", "." -> "~d", ".." -> "~d~d".
// InvalidArgument ("JSON key too long for a name: …") when the escaped name
// exceeds 255 bytes, or when the key is not valid UTF-16 (a lone surrogate).
Result<QString> nameForKey(const QString &key);

// The inverse of nameForKey. InvalidArgument for any name nameForKey would
// never produce (a malformed escape such as "~x" or a trailing "~", a raw '/'
// or NUL, ".", "..", an empty or over-long name), so keyForName(n) succeeds
// exactly when n == nameForKey(keyForName(n)).
Result<QString> keyForName(const QString &name);

} // namespace vd::tree
