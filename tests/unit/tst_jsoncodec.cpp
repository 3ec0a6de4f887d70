// The JSON codec: documents survive a round trip byte for byte, errors say
// where they are, and nothing a file can hold makes the parser misbehave.
#include "testsupport.h"

#include "tree/jsoncodec.h"

#include <QBuffer>
#include <QSet>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <string>

using namespace vd;
using namespace vd::tree;

namespace {

// Byte strings with embedded NULs kept.
template<std::size_t N>
QByteArray bytes(const char (&text)[N])
{
    return QByteArray(text, qsizetype(N - 1));
}

std::string toStd(const QByteArray &b) { return std::string(b.constData(), std::size_t(b.size())); }

// parseJson into a JsonWriter: the text a document is stored and read back as.
Result<QByteArray> rewrite(QByteArrayView text, int indent = -1, const JsonParseOptions &options = {})
{
    QByteArray out;
    QBuffer buffer(&out);
    buffer.open(QIODevice::WriteOnly);
    JsonWriter writer(&buffer, indent);
    VD_TRY(parseJson(text, writer, options));
    VD_TRY(writer.finish());
    buffer.close();
    return out;
}

Result<QByteArray> rewriteFrom(QIODevice &in, int indent = -1)
{
    QByteArray out;
    QBuffer buffer(&out);
    buffer.open(QIODevice::WriteOnly);
    JsonWriter writer(&buffer, indent);
    VD_TRY(parseJson(in, writer));
    VD_TRY(writer.finish());
    buffer.close();
    return out;
}

// Records events as "key=event" lines; can fail at a chosen event.
class TraceSink final : public JsonSink
{
public:
    QStringList events;
    int failAt = -1;

    Status beginObject(const QString *key) override { return note(key, QStringLiteral("{")); }
    Status beginArray(const QString *key) override { return note(key, QStringLiteral("[")); }
    Status scalar(const QString *key, QByteArrayView literal) override { return note(key, QString::fromUtf8(literal)); }
    Status end() override { return note(nullptr, QStringLiteral("end")); }

private:
    Status note(const QString *key, const QString &what)
    {
        if (events.size() == failAt)
            return Status::cancelled(QStringLiteral("the sink had enough at event %1").arg(failAt));
        events.append(key ? *key + QLatin1Char('=') + what : what);
        return Status::ok();
    }
};

// Hands out its bytes a few at a time, like a pipe.
class TrickleDevice final : public QIODevice
{
public:
    explicit TrickleDevice(QByteArray data) : m_data(std::move(data)) {}
    bool isSequential() const override { return true; }

protected:
    qint64 readData(char *out, qint64 maxSize) override
    {
        const qint64 n = std::min({maxSize, qint64(m_data.size()) - m_pos, 1 + (m_calls++ % 7)});
        memcpy(out, m_data.constData() + m_pos, size_t(n));
        m_pos += n;
        return n;
    }
    qint64 writeData(const char *, qint64) override { return -1; }

private:
    QByteArray m_data;
    qint64 m_pos = 0;
    qint64 m_calls = 0;
};

// A disk that fails: reads after `readable` bytes and every write.
class BrokenDevice final : public QIODevice
{
public:
    explicit BrokenDevice(QByteArray data, qint64 readable) : m_data(std::move(data)), m_readable(readable) {}

protected:
    qint64 readData(char *out, qint64 maxSize) override
    {
        if (m_pos >= m_readable) {
            setErrorString(QStringLiteral("Input/output error"));
            return -1;
        }
        const qint64 n = qMin(maxSize, m_readable - m_pos);
        memcpy(out, m_data.constData() + m_pos, size_t(n));
        m_pos += n;
        return n;
    }
    qint64 writeData(const char *, qint64) override
    {
        setErrorString(QStringLiteral("No space left on device"));
        return -1;
    }

private:
    QByteArray m_data;
    qint64 m_readable;
    qint64 m_pos = 0;
};

// nlohmann's own verdict, as an oracle: accepted, or the id of its error.
struct NlohmannVerdict final : nlohmann::json_sax<nlohmann::json>
{
    int errorId = 0;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t &) override { return true; }
    bool string(string_t &) override { return true; }
    bool binary(binary_t &) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t &) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &e) override
    {
        errorId = e.id;
        return false;
    }
};

// {"k0":0,"k1":1,...}: more keys than an object's short key list holds.
QByteArray manyKeys(int count)
{
    QByteArray object("{");
    for (int i = 0; i < count; ++i)
        object += (i ? ",\"k" : "\"k") + QByteArray::number(i) + "\":" + QByteArray::number(i);
    return object + '}';
}

int nlohmannErrorId(const QByteArray &text)
{
    NlohmannVerdict verdict;
    nlohmann::json::sax_parse(text.constData(), text.constData() + text.size(), &verdict);
    return verdict.errorId;
}

QString expectedError(int line, int column, const QString &reason)
{
    return QStringLiteral("invalid JSON at line %1, column %2: %3").arg(line).arg(column).arg(reason);
}

const QList<QByteArray> &validCorpus()
{
    static const QList<QByteArray> corpus = {
        bytes("{}"),
        bytes("[]"),
        bytes("0"),
        bytes("-0"),
        bytes("-0.0"),
        bytes("1.0"),
        bytes("1.50"),
        bytes("1e-7"),
        bytes("1E+2"),
        bytes("1e400"),
        bytes("-1.5e-400"),
        bytes("12345678901234567890"),
        bytes("18446744073709551615"),
        bytes("18446744073709551616"),
        bytes("-9223372036854775808"),
        bytes("-9223372036854775809"),
        QByteArray(400, '7'),
        bytes("true"),
        bytes("false"),
        bytes("null"),
        bytes("\"\""),
        bytes("\"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\""),                   // 日本語
        bytes("\"\xF0\x9F\x98\x80 \xF0\x9F\x8E\x89\""),                      // 😀 🎉
        bytes("\"line\\nbreak \\\"quoted\\\" back\\\\slash nul\\u0000 end\""),
        bytes("\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7F/\""),
        bytes("{\"b\":1,\"a\":[1,2,{\"c\":null}],\"e\":{},\"f\":[],\"g\":[[[]]]}"),
        bytes("[{\"z\":1,\"y\":2,\"x\":3},{\"x\":[true,false,null]}]"),
        bytes("{\"\xE6\x97\xA5\xE6\x9C\xAC\":\"\xE8\xAA\x9E\",\"\xF0\x9F\x98\x80\":[\"\xF0\x9F\x8E\x89\"]}"),
        bytes("{\"a\\nb\":1,\"\\u0000\":2,\"~/.\":3,\"\":4,\".\":5,\"..\":6}"),
        bytes("{\"n\":[0,-0,1.0,1e-7,-0.0,1E400,18446744073709551615,-9223372036854775808,3.141592653589793238462643383279]}"),
        bytes("[[[[[[[[[[\"deep\"]]]]]]]]]]"),
    };
    return corpus;
}

} // namespace

class TestJsonCodec : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void compactRoundTripIsByteExact_data()
    {
        QTest::addColumn<QByteArray>("document");
        for (const QByteArray &doc : validCorpus())
            QTest::newRow(doc.left(40).toHex().constData()) << doc;
    }
    void compactRoundTripIsByteExact()
    {
        QFETCH(QByteArray, document);
        auto out = rewrite(document);
        VD_VERIFY_OK(out);
        QCOMPARE(*out, document);
    }

    void inputIsWrittenInCanonicalForm_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QByteArray>("canonical");
        QTest::newRow("whitespace") << bytes(" {\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\":{ } } \n") << bytes("{\"a\":[1,2],\"b\":{}}");
        QTest::newRow("escaped unicode") << bytes("[\"\\u00e9\\u65E5\\ud83d\\ude00\"]") << bytes("[\"\xC3\xA9\xE6\x97\xA5\xF0\x9F\x98\x80\"]");
        QTest::newRow("escaped solidus") << bytes("\"a\\/b\"") << bytes("\"a/b\"");
        QTest::newRow("upper-case hex") << bytes("\"\\u001F\\u000A\"") << bytes("\"\\u001f\\n\"");
        QTest::newRow("escaped key") << bytes("{\"\\u0041\\t\":0}") << bytes("{\"A\\t\":0}");
        QTest::newRow("bom skipped") << bytes("\xEF\xBB\xBF{\"a\":1}") << bytes("{\"a\":1}");
    }
    void inputIsWrittenInCanonicalForm()
    {
        QFETCH(QByteArray, input);
        QFETCH(QByteArray, canonical);
        auto out = rewrite(input);
        VD_VERIFY_OK(out);
        QCOMPARE(*out, canonical);
    }

    void eventsKeepKeysAndOrder()
    {
        TraceSink sink;
        VD_VERIFY_OK(parseJson(bytes("{\"zeta\":1,\"alpha\":{\"y\":true,\"b\":null},\"mid\":[3,\"x\",[]],\"a\\u0000b\":{}}"), sink));
        const QStringList expected = {
            QStringLiteral("{"),      QStringLiteral("zeta=1"),   QStringLiteral("alpha={"), QStringLiteral("y=true"),
            QStringLiteral("b=null"), QStringLiteral("end"),      QStringLiteral("mid=["),   QStringLiteral("3"),
            QStringLiteral("\"x\""),  QStringLiteral("["),        QStringLiteral("end"),     QStringLiteral("end"),
            QString::fromUtf8("a\0b={", 5), QStringLiteral("end"), QStringLiteral("end"),
        };
        QCOMPARE(sink.events, expected);
    }

    void sameKeyInDifferentObjectsIsFine()
    {
        TraceSink sink;
        VD_VERIFY_OK(parseJson(bytes("{\"k\":{\"k\":1},\"j\":[{\"k\":2},{\"k\":3}]}"), sink));
        QByteArray many = manyKeys(100);
        VD_VERIFY_OK(rewrite("[" + many + "," + many + ",{\"k1\":[" + many + "]}]"));
    }

    void prettyOutputEqualsNlohmannDump_data()
    {
        QTest::addColumn<QByteArray>("document");
        QTest::addColumn<int>("indent");
        const QList<QByteArray> docs = {
            bytes("{\"name\":\"vdrive\",\"tags\":[\"b\",\"a\"],\"nested\":{\"empty\":{},\"list\":[],\"deep\":[[1,[2,[]]],{\"k\":null}]},"
                  "\"n\":-9223372036854775808,\"u\":18446744073709551615,\"t\":true,\"s\":\"\xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 \\n\\t\\\"q\\\"\"}"),
            bytes("[]"), bytes("{}"), bytes("42"), bytes("\"x\""), bytes("[[]]"), bytes("[{}]"), bytes("{\"a\":{\"b\":{\"c\":{}}}}"),
            bytes("[1,[2,[3]],{\"z\":0,\"a\":[null,false]}]"),
        };
        for (const int indent : {-1, 0, 2, 4})
            for (const QByteArray &doc : docs)
                QTest::addRow("indent %d: %s", indent, doc.left(24).constData()) << doc << indent;
    }
    void prettyOutputEqualsNlohmannDump()
    {
        QFETCH(QByteArray, document);
        QFETCH(int, indent);
        auto out = rewrite(document, indent);
        VD_VERIFY_OK(out);
        std::string expected = nlohmann::ordered_json::parse(toStd(document)).dump(indent);
        if (indent >= 0)
            expected += '\n';
        QCOMPARE(*out, QByteArray::fromStdString(expected));
        // And the pretty form reads back to the same document.
        auto back = rewrite(*out);
        VD_VERIFY_OK(back);
        QCOMPARE(*back, *rewrite(document));
    }

    void stringsAreEscapedLikeNlohmann()
    {
        for (int c = 1; c < 0x80; ++c) {
            const QByteArray literal = QByteArray("\"\\u00") + QByteArray::number(c, 16).rightJustified(2, '0') + '"';
            auto ours = canonicalScalar(literal);
            VD_VERIFY_OK(ours);
            QCOMPARE(*ours, QByteArray::fromStdString(nlohmann::json(std::string(1, char(c))).dump()));
        }
        const std::string mixed = "\xE6\x97\xA5\x01\"\\/\x7F\xF0\x9F\x98\x80";
        const std::string dumped = nlohmann::json(mixed).dump();
        auto ours = canonicalScalar(QByteArray::fromStdString(dumped));
        VD_VERIFY_OK(ours);
        QCOMPARE(*ours, QByteArray::fromStdString(dumped));
    }

    void errorsSayWhereAndWhy_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<int>("line");
        QTest::addColumn<int>("column");
        QTest::addColumn<QString>("reason");
        const auto row = [](const char *name, const QByteArray &input, int line, int column, const char *reason) {
            QTest::newRow(name) << input << line << column << QString::fromUtf8(reason);
        };
        row("line 3 column 5", bytes("[\n  1,\n  2 3\n]"), 3, 5, "expected ',' or ']'");
        row("missing colon", bytes("{\n  \"a\": 1,\n  \"b\" 2\n}"), 3, 7, "expected ':'");
        row("missing comma in object", bytes("{\"a\": 1 \"b\": 2}"), 1, 9, "expected ',' or '}'");
        row("truncated", bytes("{\"a\": [1, 2"), 1, 12, "unexpected end of input");
        row("truncated after newline", bytes("{\"a\":\n"), 2, 1, "unexpected end of input");
        row("truncated word", bytes("tru"), 1, 4, "unexpected end of input");
        row("truncated string", bytes("\"abc"), 1, 5, "unexpected end of input");
        row("truncated number", bytes("-"), 1, 2, "unexpected end of input");
        row("trailing comma in object", bytes("{\"a\": 1,}"), 1, 8, "trailing comma");
        row("trailing comma in array", bytes("[1,]"), 1, 3, "trailing comma");
        row("trailing comma, CRLF", bytes("[\r\n  1,\r\n]"), 2, 4, "trailing comma");
        row("bare word", bytes("[abc]"), 1, 2, "unexpected character 'a'");
        row("bare word at top", bytes("hello"), 1, 1, "unexpected character 'h'");
        row("misspelt null", bytes("nul1"), 1, 4, "unexpected character '1'");
        row("control byte", bytes("[\x01]"), 1, 2, "unexpected control character U+0001");
        row("ill-formed UTF-8", bytes("[\"ab\xFF" "cd\"]"), 1, 5, "invalid string: ill-formed UTF-8");
        row("ill-formed UTF-8 after Japanese", bytes("\"\xE6\x97\xA5\xE6\x9C\xAC\xFF\""), 1, 4, "invalid string: ill-formed UTF-8");
        row("columns count characters", bytes("[\"\xE6\x97\xA5\xE6\x9C\xAC\", x]"), 1, 8, "unexpected character 'x'");
        row("emoji is one column", bytes("{\"\xF0\x9F\x98\x80\": 1 2}"), 1, 9, "expected ',' or '}'");
        row("raw newline in string", bytes("[\"a\nb\"]"), 1, 4, "invalid string: unescaped control character U+000A");
        row("invalid escape", bytes("\"a\\x\""), 1, 4, "invalid string: invalid escape sequence");
        row("short \\u", bytes("\"\\u12g4\""), 1, 6, "invalid string: \\u must be followed by 4 hex digits");
        row("lone low surrogate", bytes("\"\\udc00\""), 1, 7, "invalid string: unpaired UTF-16 surrogate in a \\u escape");
        row("high surrogate then the end of the string", bytes("\"\\ud800\""), 1, 8, "invalid string: unpaired UTF-16 surrogate in a \\u escape");
        row("high surrogate then another escape", bytes("\"\\ud800\\n\""), 1, 9, "invalid string: unpaired UTF-16 surrogate in a \\u escape");
        row("two high surrogates", bytes("\"\\ud800\\udbff\""), 1, 13, "invalid string: unpaired UTF-16 surrogate in a \\u escape");
        row("bad hex in a low surrogate", bytes("\"\\ud800\\udcz0\""), 1, 12, "invalid string: \\u must be followed by 4 hex digits");
        row("UTF-8 cut by a quote", bytes("[\"\xE6\x97\"]"), 1, 4, "invalid string: ill-formed UTF-8");
        row("UTF-8 cut by a backslash", bytes("\"\xF0\x9F\x98\\n\""), 1, 3, "invalid string: ill-formed UTF-8");
        row("UTF-8 cut by a newline", bytes("\"\xC3\n\""), 1, 3, "invalid string: ill-formed UTF-8");
        row("control after UTF-8", bytes("\"\xC3\xA9\x01\""), 1, 3, "invalid string: unescaped control character U+0001");
        row("surrogate in UTF-8", bytes("\"\xED\xA0\x80\""), 1, 2, "invalid string: ill-formed UTF-8");
        row("misspelt false", bytes("[falsy]"), 1, 6, "unexpected character 'y'");
        row("bad exponent start", bytes("1e"), 1, 3, "unexpected end of input");
        row("bad exponent letter", bytes("[1eX]"), 1, 4, "invalid number: expected '+', '-', or digit after exponent");
        row("duplicate key", bytes("{\"k\": 1, \"k\": 2}"), 1, 10, "duplicate key \"k\"");
        row("duplicate key by escape", bytes("{\"a\": 1,\n \"\\u0061\": 2}"), 2, 2, "duplicate key \"a\"");
        const QByteArray many = manyKeys(100);
        QTest::newRow("duplicate among many keys") << many.chopped(1) + ",\"k42\":0}" << 1 << int(many.size() + 1)
                                                   << QStringLiteral("duplicate key \"k42\"");
        row("depth 257", QByteArray(257, '[') + QByteArray(257, ']'), 1, 257, "nesting deeper than 256 levels");
        row("trailing word", bytes("{} x"), 1, 4, "trailing characters after the document");
        row("trailing number", bytes("1 2"), 1, 3, "trailing characters after the document");
        row("leading zero", bytes("01"), 1, 2, "trailing characters after the document");
        row("trailing NUL", bytes("[1]\0"), 1, 4, "trailing characters after the document");
        row("NUL in array", bytes("[1,\0]"), 1, 4, "unexpected NUL character");
        row("empty input", QByteArray(), 1, 1, "no JSON value in the input");
        row("whitespace only", bytes(" \n  "), 2, 3, "no JSON value in the input");
        row("bom only", bytes("\xEF\xBB\xBF"), 1, 1, "no JSON value in the input");
        row("two byte order marks", bytes("\xEF\xBB\xBF\xEF\xBB\xBF" "1"), 1, 1, "unexpected byte 0xEF");
        row("half a byte order mark", bytes("\xEF\xBB"), 1, 1, "unexpected byte 0xEF");
        row("bom then error", bytes("\xEF\xBB\xBF[x]"), 1, 2, "unexpected character 'x'");
        row("number runs into number", bytes("[1-2]"), 1, 3, "expected ',' or ']'");
        row("double minus", bytes("[--1]"), 1, 3, "invalid number: expected digit after '-'");
        row("bad fraction", bytes("[1.x]"), 1, 4, "invalid number: expected digit after '.'");
        row("bad exponent", bytes("[1e400, 1.5e+]"), 1, 14, "invalid number: expected digit after exponent sign");
        row("number key", bytes("{1:2}"), 1, 2, "expected a string key or '}'");
        row("number key after comma", bytes("{\"a\":1,2:3}"), 1, 8, "expected a string key");
        row("missing value", bytes("{\"a\":}"), 1, 6, "expected a value");
        row("comma first", bytes("[,1]"), 1, 2, "expected a value");
        row("colon in array", bytes("[1:2]"), 1, 3, "expected ',' or ']'");
    }
    void errorsSayWhereAndWhy()
    {
        QFETCH(QByteArray, input);
        QFETCH(int, line);
        QFETCH(int, column);
        QFETCH(QString, reason);
        TraceSink sink;
        const Status status = parseJson(input, sink);
        QCOMPARE(status.code(), ErrorCode::InvalidArgument);
        QCOMPARE(status.message(), expectedError(line, column, reason));
        // The streaming parser agrees to the character, in 64 KiB chunks
        // and in chunks of 1 to 7 bytes (an error is judged by the bytes
        // before it, which may lie in earlier chunks).
        QBuffer device(&input);
        device.open(QIODevice::ReadOnly);
        TraceSink streamed;
        QCOMPARE(parseJson(device, streamed).message(), status.message());
        QCOMPARE(streamed.events, sink.events);
        TrickleDevice pipe(input);
        pipe.open(QIODevice::ReadOnly | QIODevice::Unbuffered);
        TraceSink trickled;
        QCOMPARE(parseJson(pipe, trickled).message(), status.message());
        QCOMPARE(trickled.events, sink.events);
    }

    void depthLimitIsExact()
    {
        VD_VERIFY_OK(rewrite(QByteArray(256, '[') + QByteArray(256, ']')));
        const QByteArray mixed = bytes("{\"a\":[{\"b\":[]}]}");
        VD_VERIFY_OK(rewrite(mixed, -1, JsonParseOptions{4, 64}));
        const Status status = rewrite(mixed, -1, JsonParseOptions{3, 64}).status();
        QCOMPARE(status.message(), expectedError(1, 12, QStringLiteral("nesting deeper than 3 levels")));
    }

    void keyLengthLimit()
    {
        VD_VERIFY_OK(rewrite(bytes("{\"abc\":1}"), -1, JsonParseOptions{256, 3}));
        const Status status = rewrite(bytes("{\"a\":1, \"abcd\":1}"), -1, JsonParseOptions{256, 3}).status();
        QCOMPARE(status.message(), expectedError(1, 9, QStringLiteral("object key longer than 3 bytes")));
    }

    void sinkErrorPassesThroughAndStops()
    {
        TraceSink sink;
        sink.failAt = 3;
        const Status status = parseJson(bytes("{\"a\":1,\"b\":[2,3],\"c\":4}"), sink);
        QCOMPARE(status.code(), ErrorCode::Cancelled);
        QCOMPARE(status.message(), QStringLiteral("the sink had enough at event 3"));
        QCOMPARE(sink.events, (QStringList{QStringLiteral("{"), QStringLiteral("a=1"), QStringLiteral("b=[")}));

        // Also when the error comes from the scalar nlohmann reads ahead of.
        TraceSink early;
        early.failAt = 1;
        QCOMPARE(parseJson(bytes("[12345,6]"), early).code(), ErrorCode::Cancelled);
        QCOMPARE(early.events, QStringList{QStringLiteral("[")});
    }

    void canonicalScalarAccepts_data()
    {
        QTest::addColumn<QByteArray>("literal");
        QTest::addColumn<QByteArray>("canonical");
        QTest::newRow("string") << bytes("\"a\"") << bytes("\"a\"");
        QTest::newRow("integer") << bytes("42") << bytes("42");
        QTest::newRow("true") << bytes("true") << bytes("true");
        QTest::newRow("false") << bytes("false") << bytes("false");
        QTest::newRow("null") << bytes("null") << bytes("null");
        QTest::newRow("trimmed number") << bytes(" 1 ") << bytes("1");
        QTest::newRow("trimmed string") << bytes("\t\"x\"\r\n") << bytes("\"x\"");
        QTest::newRow("negative zero") << bytes("-0") << bytes("-0");
        QTest::newRow("huge exponent") << bytes("1e400") << bytes("1e400");
        QTest::newRow("trailing zero") << bytes("1.50") << bytes("1.50");
        QTest::newRow("big integer") << bytes("123456789012345678901234567890") << bytes("123456789012345678901234567890");
        QTest::newRow("escaped e acute") << bytes("\"\\u00e9\"") << bytes("\"\xC3\xA9\"");
        QTest::newRow("surrogate pair") << bytes("\"\\ud83d\\ude00\"") << bytes("\"\xF0\x9F\x98\x80\"");
        QTest::newRow("solidus") << bytes("\"\\/\"") << bytes("\"/\"");
        QTest::newRow("nul") << bytes("\"\\u0000\"") << bytes("\"\\u0000\"");
        QTest::newRow("control") << bytes("\"\\u001F\"") << bytes("\"\\u001f\"");
        QTest::newRow("japanese") << bytes("\"\xE6\x97\xA5\"") << bytes("\"\xE6\x97\xA5\"");
        QTest::newRow("delete kept") << bytes("\"\x7F\"") << bytes("\"\x7F\"");
    }
    void canonicalScalarAccepts()
    {
        QFETCH(QByteArray, literal);
        QFETCH(QByteArray, canonical);
        auto result = canonicalScalar(literal);
        VD_VERIFY_OK(result);
        QCOMPARE(*result, canonical);
    }

    void canonicalScalarRefuses_data()
    {
        QTest::addColumn<QByteArray>("literal");
        for (const QByteArray &bad :
             {bytes("{}"), bytes("[1]"), bytes("abc"), bytes(""), bytes("  "), bytes("1 2"), bytes("\"a"), bytes("01"), bytes("+1"),
              bytes("1."), bytes(".5"), bytes("\xEF\xBB\xBF" "1"), bytes("True"), bytes("nul"), bytes("\"\xFF\""), bytes("1\0"),
              bytes("\0"), bytes("NaN"), bytes("-Infinity"), bytes("\"a\" \"b\""), bytes("\"\\ud800\"")})
            QTest::newRow(bad.toHex().constData()) << bad;
    }
    void canonicalScalarRefuses()
    {
        QFETCH(QByteArray, literal);
        VD_VERIFY_CODE(canonicalScalar(literal), ErrorCode::InvalidArgument);
    }

    void writerChecksItsEvents()
    {
        const QString key = QStringLiteral("k");
        const auto expectInvalid = [](const std::function<Status(JsonWriter &)> &events) {
            QByteArray out;
            QBuffer buffer(&out);
            buffer.open(QIODevice::WriteOnly);
            JsonWriter writer(&buffer, -1);
            const Status first = events(writer);
            QCOMPARE(first.code(), ErrorCode::InvalidArgument);
            // Sticky: the document can no longer be finished.
            QCOMPARE(writer.finish().message(), first.message());
        };
        expectInvalid([&](JsonWriter &w) {
            VD_TRY(w.beginObject(nullptr));
            return w.scalar(nullptr, "1");
        });
        expectInvalid([&](JsonWriter &w) {
            VD_TRY(w.beginArray(nullptr));
            return w.scalar(&key, "1");
        });
        expectInvalid([&](JsonWriter &w) { return w.scalar(&key, "1"); });
        expectInvalid([&](JsonWriter &w) {
            VD_TRY(w.scalar(nullptr, "1"));
            return w.scalar(nullptr, "2");
        });
        expectInvalid([&](JsonWriter &w) { return w.end(); });
        expectInvalid([&](JsonWriter &w) {
            VD_TRY(w.beginArray(nullptr));
            return w.finish();
        });
        expectInvalid([&](JsonWriter &w) { return w.finish(); });
        for (const char *bad : {"", "abc", "01", "\"unterminated", "\"\xFF\"", "{}", " 1", "\"a\"\"b\""})
            expectInvalid([&](JsonWriter &w) { return w.scalar(nullptr, QByteArrayView(bad)); });
    }

    void writerReportsWriteFailures()
    {
        BrokenDevice device({}, 0);
        device.open(QIODevice::ReadWrite);
        JsonWriter writer(&device, 2);
        VD_VERIFY_OK(writer.scalar(nullptr, "1"));
        const Status status = writer.finish();
        QCOMPARE(status.code(), ErrorCode::IoError);
        QVERIFY2(status.message().contains(QStringLiteral("No space left on device")), qPrintable(status.message()));
    }

    void streamingMatchesInMemory()
    {
        // Large enough for many 64 KiB chunks, with long numbers and strings
        // (some must straddle a chunk boundary).
        QByteArray doc("[");
        for (int i = 0; i < 6000; ++i) {
            if (i)
                doc += ',';
            doc += "{\"i\":" + QByteArray::number(i) + ",\"n\":-" + QByteArray(20 + i % 97, char('1' + i % 9)) + ".5e-" + QByteArray::number(i)
                + ",\"s\":\"" + QByteArray(i % 151, 'x') + "\xE6\x97\xA5\\n\"}";
        }
        doc += ']';
        QVERIFY(doc.size() > 4 * 64 * 1024);
        auto inMemory = rewrite(doc);
        VD_VERIFY_OK(inMemory);
        QCOMPARE(*inMemory, doc);

        QBuffer file(&doc);
        file.open(QIODevice::ReadOnly);
        auto streamed = rewriteFrom(file);
        VD_VERIFY_OK(streamed);
        QCOMPARE(*streamed, doc);

        const QByteArray small = doc.left(200 * 1024).append("]}]");
        TrickleDevice pipe(small);
        pipe.open(QIODevice::ReadOnly | QIODevice::Unbuffered);
        TraceSink a, b;
        const Status viaPipe = parseJson(pipe, a);
        const Status viaMemory = parseJson(small, b);
        QCOMPARE(viaPipe.message(), viaMemory.message());
        QVERIFY2(viaMemory.message().startsWith(QStringLiteral("invalid JSON at line 1, column ")), qPrintable(viaMemory.message()));
        QCOMPARE(a.events, b.events);

        // An error many lines into a large file is placed by line.
        QByteArray lines = doc;
        lines.replace("},{", "},\n{");
        lines.chop(1);
        lines += ",\n  oops]";
        QBuffer linesFile(&lines);
        linesFile.open(QIODevice::ReadOnly);
        TraceSink c;
        QCOMPARE(parseJson(linesFile, c).message(), expectedError(6001, 3, QStringLiteral("unexpected character 'o'")));
    }

    void readFailureIsAnIoError()
    {
        const QByteArray doc = bytes("[1,2,3,4,5,6,7,8,9]");
        BrokenDevice device(doc, 6);
        device.open(QIODevice::ReadOnly);
        TraceSink sink;
        const Status status = parseJson(device, sink);
        QCOMPARE(status.code(), ErrorCode::IoError);
        QVERIFY2(status.message().contains(QStringLiteral("Input/output error")), qPrintable(status.message()));

        QBuffer closed;
        VD_VERIFY_CODE(parseJson(closed, sink), ErrorCode::InvalidArgument);
    }

    void namesForKeysRoundTrip_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("name");
        const auto row = [](const char *tag, const QString &key, const char *name) { QTest::newRow(tag) << key << QString::fromUtf8(name); };
        row("empty", QString(), "~e");
        row("dot", QStringLiteral("."), "~d");
        row("dot dot", QStringLiteral(".."), "~d~d");
        row("three dots", QStringLiteral("..."), "...");
        row("dot a", QStringLiteral(".a"), ".a");
        row("slash", QStringLiteral("a/b"), "a~1b");
        row("only slash", QStringLiteral("/"), "~1");
        row("slashes and dots", QStringLiteral("//.."), "~1~1..");
        row("tilde", QStringLiteral("~"), "~0");
        row("tilde one", QStringLiteral("~1"), "~01");
        row("tilde e", QStringLiteral("~e"), "~0e");
        row("tilde d", QStringLiteral("~d"), "~0d");
        row("nul", QString::fromUtf8("a\0b", 3), "a~2b");
        row("japanese", QString::fromUtf8("\xE6\x97\xA5/\xE8\xAA\x9E"), "\xE6\x97\xA5~1\xE8\xAA\x9E");
        row("emoji", QString::fromUtf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
        row("255 bytes", QString(255, QLatin1Char('x')), QByteArray(255, 'x').constData());
    }
    void namesForKeysRoundTrip()
    {
        QFETCH(QString, key);
        QFETCH(QString, name);
        auto made = nameForKey(key);
        VD_VERIFY_OK(made);
        QCOMPARE(*made, name);
        auto back = keyForName(name);
        VD_VERIFY_OK(back);
        QCOMPARE(*back, key);
    }

    void namesAreAlwaysValid()
    {
        // Every short key over an alphabet of the troublesome characters.
        const QList<QChar> alphabet = {u'~', u'/', QChar(u'\0'), u'.', u'e', u'd', u'0', u'1', u'2', u'a', QChar(0x65E5)};
        QList<QString> keys = {QString()};
        for (int length = 1; length <= 4; ++length) {
            const QList<QString> shorter = keys;
            for (const QString &k : shorter)
                if (k.size() == length - 1)
                    for (const QChar ch : alphabet)
                        keys.append(k + ch);
        }
        QSet<QString> names;
        for (const QString &key : std::as_const(keys)) {
            auto name = nameForKey(key);
            VD_VERIFY_OK(name);
            QVERIFY(!name->isEmpty());
            QVERIFY(!name->contains(u'/'));
            QVERIFY(!name->contains(QChar(u'\0')));
            QVERIFY(*name != QLatin1String(".") && *name != QLatin1String(".."));
            QVERIFY(name->toUtf8().size() <= 255);
            auto back = keyForName(*name);
            VD_VERIFY_OK(back);
            QCOMPARE(*back, key);
            names.insert(*name);
        }
        QCOMPARE(names.size(), keys.size()); // no two keys share a name
    }

    void nameLimits()
    {
        const Status tooLong = nameForKey(QString(300, QLatin1Char('k'))).status();
        QCOMPARE(tooLong.code(), ErrorCode::InvalidArgument);
        QVERIFY2(tooLong.message().startsWith(QStringLiteral("JSON key too long for a name: ")), qPrintable(tooLong.message()));
        // The limit is on the escaped UTF-8 bytes, not on characters.
        VD_VERIFY_CODE(nameForKey(QString(254, QLatin1Char('k')) + QLatin1Char('/')), ErrorCode::InvalidArgument);
        VD_VERIFY_OK(nameForKey(QString(85, QChar(0x65E5))));
        VD_VERIFY_CODE(nameForKey(QString(86, QChar(0x65E5))), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(nameForKey(QString(QChar(0xD800))), ErrorCode::InvalidArgument);
    }

    void keyForNameRefusesForeignNames()
    {
        for (const QString &bad : {QStringLiteral("~"), QStringLiteral("a~"), QStringLiteral("~3"), QStringLiteral("~D"),
                                   QStringLiteral("~e~e"), QStringLiteral("x~e"), QStringLiteral("~dx"), QStringLiteral("~d~"),
                                   QStringLiteral("."), QStringLiteral(".."), QStringLiteral("a/b"), QString::fromUtf8("a\0b", 3),
                                   QString(), QString(256, QLatin1Char('x'))})
            VD_VERIFY_CODE(keyForName(bad), ErrorCode::InvalidArgument);
    }

    void garbageNeverCrashes()
    {
        QRandomGenerator rng(20240611);
        static const char pieces[] = "{}[]:,\"\\ \n0123456789-+.eEtruefalsn\x01\x7F\xC3\xA9\xFF\xEF\xBB\xBFu";
        QList<QByteArray> inputs;
        for (int i = 0; i < 1000; ++i) {
            const int n = int(rng.bounded(48));
            QByteArray input;
            if (i % 2 == 0) {
                input = test::randomBytes(n, rng.generate());
            } else {
                for (int j = 0; j < n; ++j)
                    input += pieces[rng.bounded(int(sizeof(pieces) - 1))];
            }
            inputs.append(input);
        }
        for (int i = 0; i < 1000; ++i) {
            QByteArray input = validCorpus()[rng.bounded(int(validCorpus().size()))];
            for (int m = 1 + int(rng.bounded(3)); m > 0; --m) {
                const qsizetype at = input.isEmpty() ? 0 : qsizetype(rng.bounded(int(input.size())));
                switch (rng.bounded(5)) {
                case 0: if (!input.isEmpty()) input[at] = char(rng.bounded(256)); break;
                case 1: input.insert(at, pieces[rng.bounded(int(sizeof(pieces) - 1))]); break;
                case 2: input.remove(at, 1 + rng.bounded(3)); break;
                case 3: input.truncate(at); break;
                case 4: input.insert(at, input.mid(at / 2, 1 + rng.bounded(8))); break;
                }
            }
            inputs.append(input);
        }
        int accepted = 0;
        for (const QByteArray &input : std::as_const(inputs)) {
            auto out = rewrite(input);
            const Status status = out.status();
            QVERIFY2(status.isOk() || status.code() == ErrorCode::InvalidArgument, qPrintable(status.toString()));
            QVERIFY2(status.isOk() || status.message().startsWith(QStringLiteral("invalid JSON at line ")), qPrintable(status.message()));
            const int nlohmann = nlohmannErrorId(input);
            if (status.isOk()) {
                ++accepted;
                // Accepted documents are JSON (nlohmann refuses only numbers past a double's range, 406)...
                QVERIFY2(nlohmann == 0 || nlohmann == 406, input.toHex().constData());
                // ...and mean the same to nlohmann after the rewrite...
                if (nlohmann == 0) {
                    const auto before = nlohmann::ordered_json::parse(toStd(input), nullptr, false);
                    const auto after = nlohmann::ordered_json::parse(toStd(*out), nullptr, false);
                    QVERIFY2(!after.is_discarded() && before == after, input.toHex().constData());
                }
                // ...and rewriting is idempotent.
                auto again = rewrite(*out);
                VD_VERIFY_OK(again);
                QCOMPARE(*again, *out);
            } else if (nlohmann == 0) {
                // Stricter than nlohmann only on duplicate keys and NUL bytes (which it takes for the end).
                QVERIFY2(status.message().contains(QStringLiteral("duplicate key")) || input.contains('\0'), qPrintable(status.message()));
            }
            // A pipe handing out a few bytes at a time sees the same events and the same error.
            TraceSink inMemory, piped;
            const Status memoryStatus = parseJson(input, inMemory);
            TrickleDevice pipe(input);
            pipe.open(QIODevice::ReadOnly | QIODevice::Unbuffered);
            QCOMPARE(parseJson(pipe, piped).message(), memoryStatus.message());
            QCOMPARE(piped.events, inMemory.events);
            (void)canonicalScalar(input);
        }
        QVERIFY2(accepted > 100, qPrintable(QString::number(accepted)));
    }
};

QTEST_GUILESS_MAIN(TestJsonCodec)
#include "tst_jsoncodec.moc"
