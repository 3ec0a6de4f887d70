// Fuzzes the JSON codec (tree/jsoncodec.h), which reads documents users
// import: parseJson, JsonWriter, canonicalScalar, nameForKey and keyForName.
// The input is the document as given, and the same bytes read as UTF-8 text.
//
// What must hold:
//   - parseJson either succeeds or fails with InvalidArgument naming a line
//     and column (inside the input);
//   - JsonWriter takes every event parseJson emits, and what it writes is a
//     canonical form: parsing it and writing it again gives the same bytes,
//     and the pretty form parses back to the same document;
//   - canonicalScalar agrees with parseJson on bare scalars and is idempotent;
//   - nameForKey gives a valid tree name that keyForName maps back, for the
//     keys of the document and for the input itself, and keyForName accepts
//     exactly the names nameForKey makes;
//   - the input as an object key, written and parsed again, is unchanged.
#include "fuzz_common.h"

#include "tree/jsoncodec.h"
#include "tree/vnode.h"

#include <QBuffer>

#include <optional>

using namespace vd;
using namespace vd::tree;

namespace {

void trapOn(const Status &s, const char *what)
{
    if (s.isOk())
        return;
    std::fprintf(stderr, "%s: %s\n", what, qPrintable(s.toString()));
    __builtin_trap();
}

// Any key (of a document, or the input read as text) escapes to a name the
// tree accepts and back, or is refused as an argument.
void checkKey(const QString &key)
{
    auto name = nameForKey(key);
    if (!name) {
        FUZZ_CHECK(name.status().code() == ErrorCode::InvalidArgument);
        return;
    }
    trapOn(validateName(*name), "nameForKey made an invalid name");
    auto back = keyForName(*name);
    FUZZ_CHECK(back.isOk() && *back == key);
}

void checkName(const QString &name)
{
    auto key = keyForName(name);
    if (!key) {
        FUZZ_CHECK(key.status().code() == ErrorCode::InvalidArgument);
        return;
    }
    auto again = nameForKey(*key);
    FUZZ_CHECK(again.isOk() && *again == name);
}

// Keeps the key of the first member of the root object.
class KeyCatcher final : public JsonSink
{
public:
    Status beginObject(const QString *) override { return {}; }
    Status beginArray(const QString *) override { return {}; }
    Status scalar(const QString *key, QByteArrayView) override
    {
        if (key && !m_key)
            m_key = *key;
        return {};
    }
    Status end() override { return {}; }

    const std::optional<QString> &firstKey() const { return m_key; }

private:
    std::optional<QString> m_key;
};

// Whatever key the writer is given, the parser reads back unchanged.
void checkKeyWrites(const QString &key)
{
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    JsonWriter writer(&buffer, -1);
    trapOn(writer.beginObject(nullptr), "writer refused beginObject");
    trapOn(writer.scalar(&key, "null"), "writer refused a key");
    trapOn(writer.end(), "writer refused end");
    trapOn(writer.finish(), "writer: finish");
    KeyCatcher catcher;
    const Status parsed = parseJson(buffer.data(), catcher);
    if (!parsed.isOk() && parsed.message().contains(QLatin1String("longer than")))
        return; // the parser's key limit, which the writer does not have
    trapOn(parsed, "a written key does not parse back");
    FUZZ_CHECK(catcher.firstKey().has_value());
    FUZZ_CHECK(*catcher.firstKey() == key);
}

// Hands each event to a compact and a pretty writer. The parser's events
// must all be writable: a refusal is a disagreement between the two halves of
// the codec, not a bad input.
class Tee final : public JsonSink
{
public:
    Tee(QIODevice *compact, QIODevice *pretty)
        : m_compact(compact, -1)
        , m_pretty(pretty, 2)
    { }

    Status beginObject(const QString *key) override
    {
        noteKey(key);
        trapOn(m_compact.beginObject(key), "compact writer refused beginObject");
        trapOn(m_pretty.beginObject(key), "pretty writer refused beginObject");
        return {};
    }
    Status beginArray(const QString *key) override
    {
        noteKey(key);
        trapOn(m_compact.beginArray(key), "compact writer refused beginArray");
        trapOn(m_pretty.beginArray(key), "pretty writer refused beginArray");
        return {};
    }
    Status scalar(const QString *key, QByteArrayView literal) override
    {
        noteKey(key);
        // A literal the parser hands out is already canonical.
        auto canonical = canonicalScalar(literal);
        FUZZ_CHECK(canonical.isOk() && *canonical == literal);
        trapOn(m_compact.scalar(key, literal), "compact writer refused a scalar");
        trapOn(m_pretty.scalar(key, literal), "pretty writer refused a scalar");
        return {};
    }
    Status end() override
    {
        trapOn(m_compact.end(), "compact writer refused end");
        trapOn(m_pretty.end(), "pretty writer refused end");
        return {};
    }

    void finish()
    {
        trapOn(m_compact.finish(), "compact writer: finish");
        trapOn(m_pretty.finish(), "pretty writer: finish");
    }

private:
    void noteKey(const QString *key)
    {
        if (key)
            checkKey(*key);
    }

    JsonWriter m_compact;
    JsonWriter m_pretty;
};

struct Written
{
    Status status;
    QByteArray compact;
    QByteArray pretty;
};

Written parseAndWrite(QByteArrayView text)
{
    QBuffer compact;
    QBuffer pretty;
    compact.open(QIODevice::WriteOnly);
    pretty.open(QIODevice::WriteOnly);
    Written w;
    {
        Tee tee(&compact, &pretty);
        w.status = parseJson(text, tee);
        if (w.status.isOk())
            tee.finish();
    }
    w.compact = compact.data();
    w.pretty = pretty.data();
    return w;
}

void checkError(const Status &s, QByteArrayView text)
{
    if (s.code() != ErrorCode::InvalidArgument || !s.message().contains(QLatin1String("line "))
        || !s.message().contains(QLatin1String("column "))) {
        std::fprintf(stderr, "parseJson failed without a place: %s\n", qPrintable(s.toString()));
        __builtin_trap();
    }
    // The line is that of the offending character, or the last one.
    const QString msg = s.message();
    const qsizetype at = msg.indexOf(QLatin1String("line ")) + 5;
    const qsizetype comma = msg.indexOf(QLatin1Char(','), at);
    bool ok = false;
    const qint64 line = msg.mid(at, comma - at).toLongLong(&ok);
    FUZZ_CHECK(ok && line >= 1 && line <= text.count('\n') + 1);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView in = fuzz::view(data, size);

    const Written first = parseAndWrite(in);
    if (first.status.isOk()) {
        const Written again = parseAndWrite(first.compact);
        trapOn(again.status, "the writer's output does not parse");
        FUZZ_CHECK(again.compact == first.compact);
        FUZZ_CHECK(again.pretty == first.pretty);
        const Written fromPretty = parseAndWrite(first.pretty);
        trapOn(fromPretty.status, "the pretty output does not parse");
        FUZZ_CHECK(fromPretty.compact == first.compact);
    } else {
        checkError(first.status, in);
    }

    // canonicalScalar takes no byte order mark; parseJson skips one.
    const bool bom = in.startsWith("\xEF\xBB\xBF");
    auto scalar = canonicalScalar(in);
    if (scalar) {
        auto twice = canonicalScalar(*scalar);
        FUZZ_CHECK(twice.isOk() && *twice == *scalar);
        FUZZ_CHECK(!bom && first.status.isOk() && first.compact == *scalar);
    } else {
        FUZZ_CHECK(scalar.status().code() == ErrorCode::InvalidArgument);
        // A document that is one scalar is a scalar.
        const bool isContainer = first.compact.startsWith('{') || first.compact.startsWith('[');
        FUZZ_CHECK(bom || !first.status.isOk() || isContainer);
    }

    const QString text = QString::fromUtf8(in);
    checkKey(text);
    checkName(text);
    checkKeyWrites(text);
    return 0;
}
