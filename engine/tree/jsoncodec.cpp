#include "jsoncodec.h"
#include "core/utf8.h"

#include <QIODevice>
#include <QSet>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

namespace vd::tree {
namespace {

using Json = nlohmann::json;

constexpr qint64 kChunkBytes = 64 * 1024;
constexpr qsizetype kMaxNameBytes = 255;
constexpr qsizetype kPreviewChars = 40;

bool isJsonSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool isDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool isContinuationByte(unsigned char c) { return (c & 0xC0) == 0x80; }

QByteArrayView trimJsonSpace(QByteArrayView bytes)
{
    qsizetype begin = 0;
    qsizetype end = bytes.size();
    while (begin < end && isJsonSpace(static_cast<unsigned char>(bytes[begin])))
        ++begin;
    while (end > begin && isJsonSpace(static_cast<unsigned char>(bytes[end - 1])))
        --end;
    return bytes.sliced(begin, end - begin);
}

// The JSON number grammar, as nlohmann's lexer runs it (maximal munch), so a
// number we cut out of the input is exactly the token nlohmann would have read.
enum class Num : unsigned char { Start, Minus, Zero, Int, Dot, Frac, Exp, ExpSign, ExpInt, Done, Bad };

Num numberStep(Num state, unsigned char c)
{
    const bool digit = isDigit(c);
    const bool exponent = c == 'e' || c == 'E';
    switch (state) {
    case Num::Start:
        return c == '-' ? Num::Minus : c == '0' ? Num::Zero : digit ? Num::Int : Num::Bad;
    case Num::Minus:
        return c == '0' ? Num::Zero : digit ? Num::Int : Num::Bad;
    case Num::Zero:
        return c == '.' ? Num::Dot : exponent ? Num::Exp : Num::Done;
    case Num::Int:
        return digit ? Num::Int : c == '.' ? Num::Dot : exponent ? Num::Exp : Num::Done;
    case Num::Dot:
        return digit ? Num::Frac : Num::Bad;
    case Num::Frac:
        return digit ? Num::Frac : exponent ? Num::Exp : Num::Done;
    case Num::Exp:
        return (c == '+' || c == '-') ? Num::ExpSign : digit ? Num::ExpInt : Num::Bad;
    case Num::ExpSign:
        return digit ? Num::ExpInt : Num::Bad;
    case Num::ExpInt:
        return digit ? Num::ExpInt : Num::Done;
    case Num::Done:
    case Num::Bad:
        break;
    }
    return Num::Bad;
}

bool isFinalNumberState(Num state)
{
    return state == Num::Zero || state == Num::Int || state == Num::Frac || state == Num::ExpInt;
}

// What nlohmann is shown in place of a valid number: a small finite number
// with the same sign (so "1-2" stays two tokens) that ends in the same state
// (so the byte after it ends it there too: "1e-7" + "e" must not become "0e").
std::string_view standInFor(Num finalState, bool negative)
{
    std::string_view standIn = "-0";
    switch (finalState) {
    case Num::Int: standIn = "-1"; break;
    case Num::Frac: standIn = "-0.0"; break;
    case Num::ExpInt: standIn = "-0e0"; break;
    default: break;
    }
    return negative ? standIn : standIn.substr(1);
}

bool isNumberLiteral(QByteArrayView bytes)
{
    Num state = Num::Start;
    for (const char c : bytes) {
        state = numberStep(state, static_cast<unsigned char>(c));
        if (state == Num::Done || state == Num::Bad)
            return false;
    }
    return isFinalNumberState(state);
}

bool isWordLiteral(QByteArrayView bytes) { return bytes == "true" || bytes == "false" || bytes == "null"; }

// Appends utf8 as a JSON string literal, escaped the way nlohmann's dump()
// escapes with ensure_ascii off, so literals compare equal to its output.
template<typename Out>
void appendStringLiteral(Out &out, std::string_view utf8)
{
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0; // start of the pending run of bytes that need no escape
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        const auto c = static_cast<unsigned char>(utf8[i]);
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out.append(utf8.data() + run, static_cast<decltype(out.size())>(i - run));
        run = i + 1;
        out.push_back('\\');
        switch (c) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '\b': out.push_back('b'); break;
        case '\f': out.push_back('f'); break;
        case '\n': out.push_back('n'); break;
        case '\r': out.push_back('r'); break;
        case '\t': out.push_back('t'); break;
        default:
            out.push_back('u');
            out.push_back('0');
            out.push_back('0');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
            break;
        }
    }
    out.append(utf8.data() + run, static_cast<decltype(out.size())>(utf8.size() - run));
    out.push_back('"');
}

// A short, escaped, quoted rendering of a user's string for an error message.
QString quotedForMessage(const QString &text)
{
    const bool cut = text.size() > kPreviewChars;
    const QByteArray utf8 = (cut ? text.left(kPreviewChars) : text).toUtf8();
    QByteArray quoted;
    appendStringLiteral(quoted, std::string_view(utf8.constData(), static_cast<std::size_t>(utf8.size())));
    if (cut)
        quoted.insert(quoted.size() - 1, "\xE2\x80\xA6"); // "…" inside the quotes
    return QString::fromUtf8(quoted);
}

QString hexCode(unsigned value, int width)
{
    return QStringLiteral("%1").arg(value, width, 16, QLatin1Char('0')).toUpper();
}

QString unexpectedByte(unsigned char byte)
{
    if (byte > 0x20 && byte < 0x7F)
        return QStringLiteral("unexpected character '%1'").arg(QLatin1Char(static_cast<char>(byte)));
    if (byte < 0x20 || byte == 0x7F)
        return QStringLiteral("unexpected control character U+%1").arg(hexCode(byte, 4));
    return QStringLiteral("unexpected byte 0x%1").arg(hexCode(byte, 2));
}

// The input's bytes, from memory or from a device one chunk at a time.
class RawSource
{
public:
    explicit RawSource(QByteArrayView bytes) : m_begin(bytes.data()), m_pos(m_begin), m_end(bytes.data() + bytes.size()) {}
    explicit RawSource(QIODevice *device) : m_device(device) {}

    // Whether another byte is there, reading the next chunk when needed.
    bool available() { return m_pos != m_end || refill(); }
    bool hasBuffered() const { return m_pos != m_end; }
    unsigned char peek() const { return static_cast<unsigned char>(*m_pos); }
    void skip() { ++m_pos; }
    const Status &status() const { return m_status; }
    // The byte `back` places before the current one (1: the one skipped
    // last), up to kLookBack bytes into the previous chunk; 0 before the start.
    static constexpr qsizetype kLookBack = 4;
    unsigned char before(qsizetype back) const
    {
        if (back <= m_pos - m_begin)
            return static_cast<unsigned char>(m_pos[-back]);
        const qsizetype intoPrevious = back - (m_pos - m_begin); // 1: the previous chunk's last byte
        return intoPrevious <= kLookBack ? m_carry[static_cast<std::size_t>(kLookBack - intoPrevious)] : 0;
    }

private:
    bool refill();

    const char *m_begin = nullptr; // the current chunk
    const char *m_pos = nullptr;
    const char *m_end = nullptr;
    std::array<unsigned char, kLookBack> m_carry{}; // the bytes just before m_begin, the latest last
    QIODevice *m_device = nullptr;
    QByteArray m_chunk;
    Status m_status;
    bool m_exhausted = false;
};

bool RawSource::refill()
{
    if (!m_device || m_exhausted)
        return false;
    if (m_chunk.isEmpty())
        m_chunk.resize(kChunkBytes);
    // The end of this chunk stays in view (see before()).
    if (m_begin) {
        for (const char *p = m_end - std::min<qsizetype>(kLookBack, m_end - m_begin); p != m_end; ++p) {
            std::rotate(m_carry.begin(), m_carry.begin() + 1, m_carry.end());
            m_carry.back() = static_cast<unsigned char>(*p);
        }
    }
    for (;;) {
        const qint64 n = m_device->read(m_chunk.data(), m_chunk.size());
        if (n > 0) {
            m_begin = m_pos = m_chunk.constData();
            m_end = m_pos + n;
            return true;
        }
        if (m_device->isSequential()) {
            // A sequential device answers 0 while nothing has arrived yet and -1 once
            // it is closed or its process is gone: the latter is its end, not an error.
            if (n == 0 && m_device->waitForReadyRead(-1))
                continue;
        } else if (n < 0) {
            m_status = Status::ioError(QStringLiteral("reading JSON: %1").arg(m_device->errorString()));
        }
        m_exhausted = true;
        return false;
    }
}

// Where a character of the input is.
struct Mark
{
    quint64 unit = 0; // the index of the unit nlohmann read it in
    qint64 line = 1;
    qint64 column = 1; // in characters
    unsigned char byte = 0;
};

Status invalidAt(const Mark &mark, const QString &reason)
{
    return Status::invalidArgument(QStringLiteral("invalid JSON at line %1, column %2: %3").arg(mark.line).arg(mark.column).arg(reason));
}

// Where nlohmann's parser is in the document's grammar, as its SAX events
// tell (SaxHandler keeps it): what it expects next follows from this and
// from the token before the offending one.
struct GrammarState
{
    // The latest event: none yet, a container opened, a member's key, a
    // value (a scalar or a container closed).
    enum class Last : unsigned char { Nothing, Open, Key, Value };
    Last last = Last::Nothing;
    bool inObject = false;     // the innermost open container is an object
    std::size_t depth = 0;     // containers open
    bool documentDone = false; // the root value is complete
};

// Feeds nlohmann's lexer from a RawSource one unit at a time and keeps what
// nlohmann does not:
// - where things are: nlohmann counts bytes and reports where its lexer
//   stopped; users need characters, and the start of the offending token.
// - the text of each number: nlohmann hands numbers over as int64, uint64 or
//   double, losing "-0", "1.50" and digits past double precision, and refuses
//   those a double cannot hold (1e400). So each valid number is cut out here
//   and nlohmann sees a stand-in in its place (see standInFor); an invalid one
//   is replayed byte by byte for nlohmann to report.
// - a byte order mark is skipped here, and the first unit is a space of no
//   width, so that nlohmann's own BOM skipping never sees one (it would skip a
//   second BOM, or one where we allow none).
// - why nlohmann stopped: it runs JSON's lexical rules here alongside
//   nlohmann's lexer (token starts, words, escapes and surrogate pairs; the
//   plain bytes of a string only when something fails), so that an error
//   is placed and named from the input and the parser's state alone. The
//   wording of nlohmann's messages (which differs between its versions) is
//   never read.
class Feeder
{
public:
    Feeder(RawSource &source, bool skipBom) : m_source(source)
    {
        if (!skipBom || !m_source.available() || m_source.peek() != 0xEF)
            return;
        static constexpr std::array<unsigned char, 3> kBom = {0xEF, 0xBB, 0xBF};
        for (const unsigned char expected : kBom) {
            if (!m_source.available() || m_source.peek() != expected) {
                // Not a BOM: hand over what was taken, for nlohmann to refuse.
                m_replay = 0;
                m_lex = Lex::Broken;
                m_lexError = LexError::UnexpectedByte;
                return;
            }
            m_number.push_back(static_cast<char>(expected));
            m_source.skip();
        }
        m_number.clear();
    }

    // What nlohmann's input adapter calls through FeedIterator, once per byte:
    // atEnd() (which prepares the next unit), current(), advance(). The plain
    // byte is inlined here; everything else goes through prepare() and advanceOther().
    bool atEnd()
    {
        if (m_unit != Unit::None)
            return false;
        if (m_standInPos >= m_standIn.size() && m_replay < 0 && m_source.hasBuffered()) {
            const unsigned char c = m_source.peek();
            if (m_lex != Lex::Between || (c != '-' && !isDigit(c))) {
                m_unit = Unit::Raw;
                m_unitByte = static_cast<char>(c);
                return false;
            }
        }
        return !prepare();
    }
    char current() const { return m_unitByte; }
    void advance()
    {
        if (m_unit != Unit::Raw) {
            advanceOther();
            return;
        }
        const auto byte = static_cast<unsigned char>(m_unitByte);
        if (m_lex != Lex::InString || byte == '"' || byte == '\\')
            step(byte);
        takeByte(byte, Unit::Raw);
        m_source.skip();
    }

    bool reachedEnd() const { return m_reachedEnd; }
    // The literal of the number nlohmann has just reported.
    QByteArrayView numberLiteral() const;
    // An error at the token nlohmann has just completed (for the SAX callbacks).
    Status errorAtLastToken(const QString &reason) const;
    // Places and names the syntax error nlohmann stopped at: `position` is its
    // count of units read (past the last one if it read the end of the
    // input), `state` where the parser was in the document's grammar.
    Status syntaxError(std::size_t position, const GrammarState &state) const;

private:
    enum class Unit : unsigned char { None, Lead, Raw, StandIn, Replay };
    // JSON's lexical structure, as nlohmann's lexer runs it: where tokens
    // start, and the bytes inside words, escapes and \u sequences. Inside a
    // string only '"' and '\\' are looked at as they pass (the rest is
    // judged when something fails there: see stringError()).
    enum class Lex : unsigned char { Between, InString, InEscape, InHex, AfterHigh, AfterHighBackslash, InWord, Broken };
    // The lexical errors found here, in the byte just taken.
    enum class LexError : unsigned char { None, UnexpectedByte, BadEscape, BadHex, Surrogate, Utf8, Number };

    bool prepare();
    void advanceOther();
    Num cutNumber();
    void noteToken(const Mark &mark);
    void step(unsigned char byte);
    // Moves the position past one byte nlohmann has taken.
    void takeByte(unsigned char byte, Unit unit)
    {
        m_lastUnit = unit;
        m_lastByte = byte;
        if (byte == '\n') {
            m_columnBeforeNewline = m_column;
            ++m_line;
            m_column = 0;
        } else if (!isContinuationByte(byte)) {
            ++m_column;
        }
        ++m_units;
        m_unit = Unit::None;
    }
    Mark lastUnitMark() const;
    const Mark *tokenBefore(quint64 position, int skip = 0) const;
    Mark endMark() const { return {m_units, m_line, m_column + 1, 0}; }
    void failLexically(LexError error)
    {
        m_lexError = error;
        m_lex = Lex::Broken;
    }
    // Whether the bytes of a string up to `back` bytes before the source's
    // current one (1: the byte taken last) end inside a UTF-8 sequence.
    bool midUtf8Sequence(qsizetype back) const;
    QString lexicalReason() const;
    Status grammarError(std::size_t position, const GrammarState &state) const;

    RawSource &m_source;
    Unit m_unit = Unit::Lead; // the unit prepared for nlohmann, if any
    char m_unitByte = ' ';
    Lex m_lex = Lex::Between;
    LexError m_lexError = LexError::None;
    Num m_badNumber = Num::Bad; // the state a broken number stopped in
    std::string_view m_word;  // the word being read ("true", "false", "null")
    std::size_t m_wordPos = 0;
    int m_hexLeft = 0;        // hex digits of a \u escape still to come
    char16_t m_codeUnit = 0;
    bool m_lowHalf = false;   // the \u escape read is the second of a surrogate pair
    quint64 m_units = 0; // units nlohmann has taken
    qint64 m_line = 1;
    qint64 m_column = 0; // characters of the current line taken
    bool m_reachedEnd = false;
    std::string m_number; // the latest number cut out (or bytes to replay)
    std::string m_previousNumber;
    quint64 m_numberUnit = ~quint64(0); // the unit its stand-in began at
    std::string_view m_standIn;
    std::size_t m_standInPos = 0; // next byte of m_standIn to hand out
    Mark m_numberMark;
    qsizetype m_replay = -1; // next byte of m_number to replay, or -1
    // Enough to place the last unit taken: a lexer error is always there.
    Unit m_lastUnit = Unit::None;
    unsigned char m_lastByte = 0;
    qint64 m_columnBeforeNewline = 0;
    std::array<Mark, 3> m_tokens{}; // ring of the latest token starts
    int m_tokenCount = 0;
};

bool Feeder::prepare()
{
    if (m_unit != Unit::None)
        return true;
    if (m_standInPos < m_standIn.size()) {
        m_unit = Unit::StandIn;
        m_unitByte = m_standIn[m_standInPos];
        return true;
    }
    if (m_replay >= 0) {
        if (m_replay < static_cast<qsizetype>(m_number.size())) {
            m_unit = Unit::Replay;
            m_unitByte = m_number[static_cast<std::size_t>(m_replay)];
            return true;
        }
        m_replay = -1;
    }
    if (!m_source.available()) {
        m_reachedEnd = true;
        return false;
    }
    const unsigned char c = m_source.peek();
    if (m_lex == Lex::Between && (c == '-' || isDigit(c))) {
        std::swap(m_number, m_previousNumber);
        m_number.clear();
        m_numberUnit = m_units;
        const Num finalState = cutNumber();
        if (finalState == Num::Bad)
            m_lexError = LexError::Number; // for when nlohmann stops in it (m_lex breaks as it is replayed)
        if (finalState != Num::Bad) {
            m_standIn = standInFor(finalState, c == '-');
            m_standInPos = 0;
            m_unit = Unit::StandIn;
            m_unitByte = m_standIn.front();
        } else {
            m_replay = 0;
            m_unit = Unit::Replay;
            m_unitByte = m_number.front();
        }
        return true;
    }
    m_unit = Unit::Raw;
    m_unitByte = static_cast<char>(c);
    return true;
}

// Takes the number at the source into m_number; returns its final state, or Bad.
Num Feeder::cutNumber()
{
    Num state = Num::Start;
    while (m_source.available()) {
        const unsigned char c = m_source.peek();
        const Num next = numberStep(state, c);
        if (next == Num::Done)
            return state;
        if (next == Num::Bad) {
            m_badNumber = state;
            return Num::Bad;
        }
        m_number.push_back(static_cast<char>(c));
        m_source.skip();
        state = next;
    }
    return isFinalNumberState(state) ? state : Num::Bad;
}

void Feeder::noteToken(const Mark &mark)
{
    m_tokens[static_cast<std::size_t>(m_tokenCount % 3)] = mark;
    ++m_tokenCount;
}

void Feeder::step(unsigned char byte)
{
    switch (m_lex) {
    case Lex::Between:
        if (isJsonSpace(byte))
            break;
        noteToken(Mark{m_units, m_line, m_column + 1, byte});
        switch (byte) {
        case '"':
            m_lex = Lex::InString;
            break;
        case 't':
        case 'f':
        case 'n':
            m_word = byte == 't' ? std::string_view("true") : byte == 'f' ? std::string_view("false") : std::string_view("null");
            m_wordPos = 1;
            m_lex = Lex::InWord;
            break;
        case '{':
        case '}':
        case '[':
        case ']':
        case ':':
        case ',':
        case '\0': // nlohmann's end of input, outside strings
            break;
        default: // numbers never come here: they are cut out
            failLexically(LexError::UnexpectedByte);
            break;
        }
        break;
    case Lex::InString:
        // Only '"' and '\\' are stepped inside a string (not yet taken from
        // the source); either ends a UTF-8 sequence begun before it, which
        // nlohmann refuses.
        if (midUtf8Sequence(1))
            failLexically(LexError::Utf8);
        else
            m_lex = byte == '"' ? Lex::Between : Lex::InEscape;
        break;
    case Lex::InEscape:
        if (byte == 'u') {
            m_lex = Lex::InHex;
            m_hexLeft = 4;
            m_codeUnit = 0;
        } else if (std::string_view("\"\\/bfnrt").find(static_cast<char>(byte)) != std::string_view::npos) {
            m_lex = Lex::InString;
        } else {
            failLexically(LexError::BadEscape);
        }
        break;
    case Lex::InHex: {
        const int digit = isDigit(byte) ? byte - '0' : (byte >= 'a' && byte <= 'f') ? byte - 'a' + 10 : (byte >= 'A' && byte <= 'F') ? byte - 'A' + 10 : -1;
        if (digit < 0) {
            failLexically(LexError::BadHex);
            break;
        }
        m_codeUnit = static_cast<char16_t>((m_codeUnit << 4) | digit);
        if (--m_hexLeft > 0)
            break;
        const bool high = m_codeUnit >= 0xD800 && m_codeUnit <= 0xDBFF;
        const bool low = m_codeUnit >= 0xDC00 && m_codeUnit <= 0xDFFF;
        if (m_lowHalf ? !low : low)
            failLexically(LexError::Surrogate);
        else
            m_lex = high && !m_lowHalf ? Lex::AfterHigh : Lex::InString;
        m_lowHalf = false;
        break;
    }
    case Lex::AfterHigh:
        if (byte == '\\')
            m_lex = Lex::AfterHighBackslash;
        else
            failLexically(LexError::Surrogate);
        break;
    case Lex::AfterHighBackslash:
        if (byte == 'u') {
            m_lex = Lex::InHex;
            m_hexLeft = 4;
            m_codeUnit = 0;
            m_lowHalf = true;
        } else {
            failLexically(LexError::Surrogate);
        }
        break;
    case Lex::InWord:
        if (byte != static_cast<unsigned char>(m_word[m_wordPos]))
            failLexically(LexError::UnexpectedByte);
        else if (++m_wordPos == m_word.size())
            m_lex = Lex::Between;
        break;
    case Lex::Broken:
        break;
    }
}

void Feeder::advanceOther()
{
    if (!prepare())
        return;
    switch (m_unit) {
    case Unit::None:
        break;
    case Unit::Lead:
        ++m_units;
        m_unit = Unit::None;
        break;
    case Unit::StandIn:
        if (m_standInPos++ == 0) {
            m_numberMark = Mark{m_units, m_line, m_column + 1, static_cast<unsigned char>(m_number.front())};
            noteToken(m_numberMark);
            m_column += static_cast<qint64>(m_number.size()); // numbers are ASCII
        }
        m_lastUnit = Unit::StandIn;
        ++m_units;
        m_unit = Unit::None;
        break;
    case Unit::Replay:
        if (m_replay++ == 0)
            noteToken(Mark{m_units, m_line, m_column + 1, static_cast<unsigned char>(m_unitByte)});
        // Whatever follows a broken number is nlohmann's to refuse, never cut out as a number.
        m_lex = Lex::Broken;
        takeByte(static_cast<unsigned char>(m_unitByte), Unit::Replay);
        break;
    case Unit::Raw:
        advance();
        break;
    }
}

QByteArrayView Feeder::numberLiteral() const
{
    // nlohmann reads one unit past a number's stand-in; if that unit began
    // the next number, m_number is already that one.
    const std::string &literal = (!m_reachedEnd && m_numberUnit + 1 == m_units) ? m_previousNumber : m_number;
    return QByteArrayView(literal.data(), static_cast<qsizetype>(literal.size()));
}

Mark Feeder::lastUnitMark() const
{
    const quint64 unit = m_units > 0 ? m_units - 1 : 0;
    switch (m_lastUnit) {
    case Unit::Raw:
    case Unit::Replay:
        if (m_lastByte == '\n')
            return Mark{unit, m_line - 1, m_columnBeforeNewline + 1, m_lastByte};
        return Mark{unit, m_line, qMax<qint64>(1, m_column), m_lastByte};
    case Unit::StandIn:
        return m_numberMark;
    case Unit::None:
    case Unit::Lead:
        break;
    }
    return Mark{unit, 1, 1, 0};
}

// The latest token start nlohmann has taken before `position` (its count of
// units read, which excludes a unit it read ahead and gave back), or the one
// `skip` tokens earlier.
const Mark *Feeder::tokenBefore(quint64 position, int skip) const
{
    for (int i = m_tokenCount - 1; i >= 0 && i >= m_tokenCount - 3; --i) {
        const Mark &mark = m_tokens[static_cast<std::size_t>(i % 3)];
        if (mark.unit >= position)
            continue;
        if (skip == 0)
            return &mark;
        if (i - skip < 0 || i - skip < m_tokenCount - 3)
            return nullptr;
        return &m_tokens[static_cast<std::size_t>((i - skip) % 3)];
    }
    return nullptr;
}

Status Feeder::errorAtLastToken(const QString &reason) const
{
    const Mark *mark = tokenBefore(m_units);
    return invalidAt(mark ? *mark : endMark(), reason);
}

bool Feeder::midUtf8Sequence(qsizetype back) const
{
    // The bytes before the one in question were all taken by nlohmann's
    // lexer inside this string, so they are well-formed: look back over
    // continuation bytes to the lead byte of the last sequence.
    int continuations = 0;
    for (qsizetype i = back; i < back + 3; ++i) {
        const unsigned char byte = m_source.before(i);
        if (isContinuationByte(byte)) {
            ++continuations;
            continue;
        }
        const int needed = byte >= 0xF0 ? 3 : byte >= 0xE0 ? 2 : byte >= 0xC0 ? 1 : 0;
        return continuations < needed;
    }
    return false; // three continuation bytes end a complete four-byte sequence
}

// Why the lexer refused the last byte taken, if it did: from what was found
// as the byte went past, or, for a plain byte inside a string (which is not
// looked at as it passes), from that byte and the ones before it.
QString Feeder::lexicalReason() const
{
    switch (m_lexError) {
    case LexError::UnexpectedByte:
        return unexpectedByte(m_lastByte);
    case LexError::BadEscape:
        return QStringLiteral("invalid string: invalid escape sequence");
    case LexError::BadHex:
        return QStringLiteral("invalid string: \\u must be followed by 4 hex digits");
    case LexError::Surrogate:
        return QStringLiteral("invalid string: unpaired UTF-16 surrogate in a \\u escape");
    case LexError::Utf8:
        return QStringLiteral("invalid string: ill-formed UTF-8");
    case LexError::Number:
        switch (m_badNumber) {
        case Num::Minus:
            return QStringLiteral("invalid number: expected digit after '-'");
        case Num::Dot:
            return QStringLiteral("invalid number: expected digit after '.'");
        case Num::Exp:
            return QStringLiteral("invalid number: expected '+', '-', or digit after exponent");
        case Num::ExpSign:
            return QStringLiteral("invalid number: expected digit after exponent sign");
        default:
            return QStringLiteral("invalid number");
        }
    case LexError::None:
        break;
    }
    if (m_lex != Lex::InString || m_lastUnit != Unit::Raw)
        return {};
    // A byte inside a string: the lexer refuses a control character, a byte
    // that cannot begin a UTF-8 sequence, and one that does not continue the
    // sequence begun before it.
    if (m_lastByte < 0x20 && !midUtf8Sequence(2))
        return QStringLiteral("invalid string: unescaped control character U+%1").arg(hexCode(m_lastByte, 4));
    return QStringLiteral("invalid string: ill-formed UTF-8");
}

Status Feeder::syntaxError(std::size_t position, const GrammarState &state) const
{
    // After a complete document only the end of the input may follow.
    if (state.documentDone) {
        const Mark *mark = tokenBefore(position);
        return invalidAt(mark ? *mark : endMark(), QStringLiteral("trailing characters after the document"));
    }
    // nlohmann counts the end of the input as a unit read.
    if (position > m_units)
        return invalidAt(endMark(), m_tokenCount == 0 ? QStringLiteral("no JSON value in the input") : QStringLiteral("unexpected end of input"));
    // The lexer stops on the byte it refuses, the last unit taken. (A
    // grammar error after a number comes with one unit read ahead and given
    // back, so it is never mistaken for one in that unit.)
    if (position == m_units) {
        const QString reason = lexicalReason();
        if (!reason.isEmpty())
            return invalidAt(lastUnitMark(), reason);
    }
    return grammarError(position, state);
}

// A whole token nlohmann did not expect where it stands: named by what the
// grammar wants there, and placed at its start.
Status Feeder::grammarError(std::size_t position, const GrammarState &state) const
{
    const Mark *mark = tokenBefore(position);
    if (!mark)
        return invalidAt(lastUnitMark(), QStringLiteral("syntax error"));
    // nlohmann also ends the input at a NUL byte outside strings.
    if (mark->byte == 0)
        return invalidAt(*mark, QStringLiteral("unexpected NUL character"));
    const Mark *previous = tokenBefore(position, 1);
    const bool afterComma = previous && previous->byte == ',';
    if ((mark->byte == '}' || mark->byte == ']') && afterComma)
        return invalidAt(*previous, QStringLiteral("trailing comma"));
    QString reason;
    using Last = GrammarState::Last;
    if (state.depth == 0)
        reason = QStringLiteral("expected a value");
    else if (state.last == Last::Open)
        reason = state.inObject ? QStringLiteral("expected a string key or '}'") : QStringLiteral("expected a value");
    else if (state.last == Last::Key)
        reason = previous && previous->byte == ':' ? QStringLiteral("expected a value") : QStringLiteral("expected ':'");
    else if (afterComma)
        reason = state.inObject ? QStringLiteral("expected a string key") : QStringLiteral("expected a value");
    else
        reason = state.inObject ? QStringLiteral("expected ',' or '}'") : QStringLiteral("expected ',' or ']'");
    return invalidAt(*mark, reason);
}

// The iterator nlohmann reads the Feeder through (its iterator input adapter
// asks only for !=, * and ++).
class FeedIterator
{
public:
    using iterator_category = std::input_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char *;
    using reference = char;

    FeedIterator() = default;
    explicit FeedIterator(Feeder *feeder) : m_feeder(feeder) {}

    char operator*() const { return m_feeder->current(); }
    FeedIterator &operator++()
    {
        m_feeder->advance();
        return *this;
    }
    friend bool operator==(const FeedIterator &a, const FeedIterator &b) { return a.isEnd() == b.isEnd(); }

private:
    bool isEnd() const { return !m_feeder || m_feeder->atEnd(); }

    Feeder *m_feeder = nullptr;
};

// nlohmann's SAX events to JsonSink events, checking what nlohmann does not
// (duplicate keys, depth, key length).
class SaxHandler
{
public:
    using number_integer_t = Json::number_integer_t;
    using number_unsigned_t = Json::number_unsigned_t;
    using number_float_t = Json::number_float_t;
    using string_t = Json::string_t;
    using binary_t = Json::binary_t;

    SaxHandler(Feeder &feeder, JsonSink &sink, const JsonParseOptions &options) : m_feeder(feeder), m_sink(sink), m_options(options) {}

    bool null() { return scalar("null"); }
    bool boolean(bool value) { return scalar(value ? QByteArrayView("true") : QByteArrayView("false")); }
    // The values are the stand-in 0; the text is the Feeder's.
    bool number_integer(number_integer_t) { return scalar(m_feeder.numberLiteral()); }
    bool number_unsigned(number_unsigned_t) { return scalar(m_feeder.numberLiteral()); }
    bool number_float(number_float_t, const string_t &) { return scalar(m_feeder.numberLiteral()); }
    bool string(string_t &value)
    {
        m_literal.clear();
        appendStringLiteral(m_literal, value);
        return scalar(QByteArrayView(m_literal.data(), static_cast<qsizetype>(m_literal.size())));
    }
    bool binary(binary_t &) { return stop(Status::internal(QStringLiteral("the JSON parser reported binary data"))); }
    bool start_object(std::size_t) { return open(true); }
    bool start_array(std::size_t) { return open(false); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(string_t &key);
    // nlohmann's message is not read: its wording differs between versions.
    bool parse_error(std::size_t position, const std::string &, const Json::exception &)
    {
        GrammarState state;
        state.last = m_last;
        state.depth = m_depth;
        state.inObject = m_depth > 0 && m_frames[m_depth - 1].isObject;
        state.documentDone = m_depth == 0 && m_last == GrammarState::Last::Value;
        return stop(m_feeder.syntaxError(position, state));
    }

    Status takeStatus() { return std::move(m_status); }

private:
    // Frames are reused (m_depth counts the open ones) and an object's keys
    // are a short list until it has many: most objects are small, and a hash
    // set per object would cost an allocation each.
    struct Frame
    {
        bool isObject = false;
        std::vector<QString> fewKeys;
        QSet<QString> manyKeys;
    };
    static constexpr std::size_t kFewKeys = 16;

    const QString *valueKey() const { return m_depth > 0 && m_frames[m_depth - 1].isObject ? &m_key : nullptr; }
    bool stop(Status status)
    {
        m_status = std::move(status);
        return false;
    }
    bool pass(Status status) { return status.isOk() || stop(std::move(status)); }
    bool scalar(QByteArrayView literal)
    {
        m_last = GrammarState::Last::Value;
        return pass(m_sink.scalar(valueKey(), literal));
    }
    bool open(bool isObject);
    bool close()
    {
        Frame &frame = m_frames[--m_depth];
        frame.fewKeys.clear();
        frame.manyKeys.clear();
        m_last = GrammarState::Last::Value;
        return pass(m_sink.end());
    }
    bool isNewKey(Frame &frame);

    Feeder &m_feeder;
    JsonSink &m_sink;
    const JsonParseOptions &m_options;
    std::vector<Frame> m_frames;
    std::size_t m_depth = 0;
    GrammarState::Last m_last = GrammarState::Last::Nothing;
    QString m_key;
    std::string m_literal;
    Status m_status;
};

bool SaxHandler::open(bool isObject)
{
    if (static_cast<qint64>(m_depth) >= m_options.maxDepth)
        return stop(m_feeder.errorAtLastToken(QStringLiteral("nesting deeper than %1 levels").arg(m_options.maxDepth)));
    const QString *key = valueKey();
    if (!pass(isObject ? m_sink.beginObject(key) : m_sink.beginArray(key)))
        return false;
    if (m_depth == m_frames.size())
        m_frames.emplace_back();
    m_frames[m_depth++].isObject = isObject;
    m_last = GrammarState::Last::Open;
    return true;
}

bool SaxHandler::key(string_t &key)
{
    if (static_cast<qint64>(key.size()) > m_options.maxKeyBytes)
        return stop(m_feeder.errorAtLastToken(QStringLiteral("object key longer than %1 bytes").arg(m_options.maxKeyBytes)));
    m_last = GrammarState::Last::Key;
    m_key = utf8ToString(QByteArrayView(key.data(), static_cast<qsizetype>(key.size())));
    if (!isNewKey(m_frames[m_depth - 1]))
        return stop(m_feeder.errorAtLastToken(QStringLiteral("duplicate key %1").arg(quotedForMessage(m_key))));
    return true;
}

bool SaxHandler::isNewKey(Frame &frame)
{
    if (frame.manyKeys.isEmpty()) {
        for (const QString &seen : frame.fewKeys)
            if (seen == m_key)
                return false;
        if (frame.fewKeys.size() < kFewKeys) {
            frame.fewKeys.push_back(m_key);
            return true;
        }
        frame.manyKeys = QSet<QString>(frame.fewKeys.begin(), frame.fewKeys.end());
        frame.fewKeys.clear();
    }
    const qsizetype before = frame.manyKeys.size();
    frame.manyKeys.insert(m_key);
    return frame.manyKeys.size() != before;
}

Status parseFrom(RawSource &source, JsonSink &sink, const JsonParseOptions &options, bool skipBom)
{
    Feeder feeder(source, skipBom);
    SaxHandler handler(feeder, sink, options);
    bool parsed = false;
    try {
        parsed = Json::sax_parse(FeedIterator(&feeder), FeedIterator(), &handler, Json::input_format_t::json, true, false);
    } catch (const std::exception &e) {
        // Only allocation failures (or a sink that throws) get here.
        return Status::internal(QStringLiteral("parsing JSON: %1").arg(QString::fromUtf8(e.what())));
    }
    // A failed read looks like a truncated document to the parser; the read is the cause.
    if (!source.status().isOk())
        return source.status();
    if (!parsed) {
        Status status = handler.takeStatus();
        return status.isOk() ? Status::internal(QStringLiteral("the JSON parser stopped without a reason")) : status;
    }
    // nlohmann takes a NUL byte after the value for the end of the input.
    if (!feeder.reachedEnd())
        return feeder.errorAtLastToken(QStringLiteral("trailing characters after the document"));
    return Status::ok();
}

// Keeps the one scalar of a document, refusing containers.
class ScalarCatcher final : public JsonSink
{
public:
    Status beginObject(const QString *) override { return notScalar(QStringLiteral("an object")); }
    Status beginArray(const QString *) override { return notScalar(QStringLiteral("an array")); }
    Status scalar(const QString *, QByteArrayView literal) override
    {
        m_literal = literal.toByteArray();
        return Status::ok();
    }
    Status end() override { return Status::internal(QStringLiteral("end of a container never begun")); }

    QByteArray takeLiteral() { return std::move(m_literal); }

private:
    static Status notScalar(const QString &what)
    {
        return Status::invalidArgument(QStringLiteral("not a JSON scalar: %1 is not a scalar").arg(what));
    }

    QByteArray m_literal;
};

qsizetype utf8Length(const QString &text)
{
    qsizetype bytes = 0;
    for (const QChar ch : text) {
        const char16_t u = ch.unicode();
        // A surrogate pair is 4 bytes: 2 for each half.
        bytes += u < 0x80 ? 1 : u < 0x800 ? 2 : ch.isSurrogate() ? 2 : 3;
    }
    return bytes;
}

} // namespace

Status parseJson(QByteArrayView text, JsonSink &sink, const JsonParseOptions &options)
{
    RawSource source(text);
    return parseFrom(source, sink, options, true);
}

Status parseJson(QIODevice &in, JsonSink &sink, const JsonParseOptions &options)
{
    if (!in.isOpen() || !in.isReadable())
        return Status::invalidArgument(QStringLiteral("parsing JSON: the device is not open for reading"));
    RawSource source(&in);
    return parseFrom(source, sink, options, true);
}

Result<QByteArray> canonicalScalar(QByteArrayView literal)
{
    // Words and numbers are canonical as written; only strings are re-encoded.
    const QByteArrayView trimmed = trimJsonSpace(literal);
    if (isWordLiteral(trimmed) || isNumberLiteral(trimmed))
        return trimmed.toByteArray();
    RawSource source(literal);
    ScalarCatcher catcher;
    const Status status = parseFrom(source, catcher, {}, false);
    if (!status.isOk()) {
        if (status.message().startsWith(QLatin1String("not a JSON scalar")))
            return status;
        return Status::invalidArgument(QStringLiteral("not a JSON scalar: %1").arg(status.message()));
    }
    return catcher.takeLiteral();
}

// ---- JsonWriter

JsonWriter::JsonWriter(QIODevice *out, int indent) : m_out(out), m_indent(indent) {}

Status JsonWriter::fail(Status status)
{
    m_error = status;
    return status;
}

void JsonWriter::newline(qsizetype depth)
{
    if (m_indent < 0)
        return;
    m_buffer.append('\n');
    m_buffer.append(depth * m_indent, ' ');
}

Status JsonWriter::beginValue(const QString *key)
{
    if (!m_error.isOk())
        return m_error;
    if (m_finished)
        return fail(Status::invalidArgument(QStringLiteral("JSON writer: a value after finish()")));
    if (m_stack.empty()) {
        if (m_rootStarted)
            return fail(Status::invalidArgument(QStringLiteral("JSON writer: a second root value")));
        if (key)
            return fail(Status::invalidArgument(QStringLiteral("JSON writer: the root value cannot have a key")));
        m_rootStarted = true;
        return Status::ok();
    }
    Frame &parent = m_stack.back();
    if (parent.isObject && !key)
        return fail(Status::invalidArgument(QStringLiteral("JSON writer: a member of an object needs a key")));
    if (!parent.isObject && key)
        return fail(Status::invalidArgument(QStringLiteral("JSON writer: an array element cannot have a key")));
    if (key && !key->isValidUtf16())
        return fail(Status::invalidArgument(QStringLiteral("JSON writer: the key %1 is not valid UTF-16").arg(quotedForMessage(*key))));
    if (!parent.isEmpty)
        m_buffer.append(',');
    parent.isEmpty = false;
    newline(static_cast<qsizetype>(m_stack.size()));
    if (key) {
        const QByteArray utf8 = key->toUtf8();
        appendStringLiteral(m_buffer, std::string_view(utf8.constData(), static_cast<std::size_t>(utf8.size())));
        m_buffer.append(m_indent < 0 ? QByteArrayView(":") : QByteArrayView(": "));
    }
    return Status::ok();
}

Status JsonWriter::beginObject(const QString *key)
{
    VD_TRY(beginValue(key));
    m_buffer.append('{');
    m_stack.push_back(Frame{true, true});
    return m_buffer.size() >= kChunkBytes ? flush() : Status::ok();
}

Status JsonWriter::beginArray(const QString *key)
{
    VD_TRY(beginValue(key));
    m_buffer.append('[');
    m_stack.push_back(Frame{false, true});
    return m_buffer.size() >= kChunkBytes ? flush() : Status::ok();
}

Status JsonWriter::scalar(const QString *key, QByteArrayView literal)
{
    if (!m_error.isOk())
        return m_error;
    // Checked so that a damaged tree can never produce a file that is not JSON.
    const bool valid = isWordLiteral(literal) || isNumberLiteral(literal)
        || (literal.startsWith('"') && literal.endsWith('"') && canonicalScalar(literal).isOk());
    if (!valid)
        return fail(Status::invalidArgument(
            QStringLiteral("JSON writer: not a JSON scalar literal: %1").arg(quotedForMessage(QString::fromUtf8(literal)))));
    VD_TRY(beginValue(key));
    m_buffer.append(literal);
    return m_buffer.size() >= kChunkBytes ? flush() : Status::ok();
}

Status JsonWriter::end()
{
    if (!m_error.isOk())
        return m_error;
    if (m_stack.empty())
        return fail(Status::invalidArgument(QStringLiteral("JSON writer: end() with no open object or array")));
    const Frame frame = m_stack.back();
    m_stack.pop_back();
    if (!frame.isEmpty)
        newline(static_cast<qsizetype>(m_stack.size()));
    m_buffer.append(frame.isObject ? '}' : ']');
    return m_buffer.size() >= kChunkBytes ? flush() : Status::ok();
}

Status JsonWriter::finish()
{
    if (!m_error.isOk())
        return m_error;
    if (m_finished)
        return fail(Status::invalidArgument(QStringLiteral("JSON writer: finish() called twice")));
    if (!m_rootStarted)
        return fail(Status::invalidArgument(QStringLiteral("JSON writer: no value was written")));
    if (!m_stack.empty())
        return fail(Status::invalidArgument(QStringLiteral("JSON writer: %1 object(s) or array(s) left open").arg(m_stack.size())));
    if (m_indent >= 0)
        m_buffer.append('\n');
    m_finished = true;
    return flush();
}

Status JsonWriter::flush()
{
    if (!m_out)
        return fail(Status::invalidArgument(QStringLiteral("JSON writer: no output device")));
    const qint64 written = m_out->write(m_buffer);
    if (written != m_buffer.size())
        return fail(Status::ioError(QStringLiteral("writing JSON: %1").arg(m_out->errorString())));
    m_buffer.resize(0); // keeps the capacity for the next chunk
    return Status::ok();
}

// ---- names

Result<QString> nameForKey(const QString &key)
{
    if (!key.isValidUtf16())
        return Status::invalidArgument(QStringLiteral("JSON key is not valid UTF-16: %1").arg(quotedForMessage(key)));
    QString name;
    if (key.isEmpty()) {
        name = QStringLiteral("~e");
    } else if (key == QLatin1String(".")) {
        name = QStringLiteral("~d");
    } else if (key == QLatin1String("..")) {
        name = QStringLiteral("~d~d");
    } else {
        name.reserve(key.size());
        for (const QChar ch : key) {
            switch (ch.unicode()) {
            case u'~': name.append(QLatin1String("~0")); break;
            case u'/': name.append(QLatin1String("~1")); break;
            case u'\0': name.append(QLatin1String("~2")); break;
            default: name.append(ch); break;
            }
        }
    }
    const qsizetype bytes = utf8Length(name);
    if (bytes > kMaxNameBytes)
        return Status::invalidArgument(QStringLiteral("JSON key too long for a name: %1 (%2 bytes escaped, at most %3)")
                                           .arg(quotedForMessage(key))
                                           .arg(bytes)
                                           .arg(kMaxNameBytes));
    return name;
}

Result<QString> keyForName(const QString &name)
{
    QString key;
    if (name == QLatin1String("~e")) {
        key = QString();
    } else if (name == QLatin1String("~d")) {
        key = QStringLiteral(".");
    } else if (name == QLatin1String("~d~d")) {
        key = QStringLiteral("..");
    } else {
        key.reserve(name.size());
        for (qsizetype i = 0; i < name.size(); ++i) {
            const QChar ch = name[i];
            if (ch != u'~') {
                key.append(ch);
                continue;
            }
            const char16_t next = i + 1 < name.size() ? name[i + 1].unicode() : u'\0';
            if (next != u'0' && next != u'1' && next != u'2')
                return Status::invalidArgument(QStringLiteral("malformed escape in the name %1").arg(quotedForMessage(name)));
            key.append(next == u'0' ? QChar(u'~') : next == u'1' ? QChar(u'/') : QChar(u'\0'));
            ++i;
        }
    }
    // The escape is a bijection only on the names nameForKey makes; refuse the rest
    // (".", a raw '/', an empty or over-long name, ...) so no two names share a key.
    Result<QString> back = nameForKey(key);
    if (!back.isOk() || *back != name)
        return Status::invalidArgument(QStringLiteral("not a name made from a JSON key: %1").arg(quotedForMessage(name)));
    return key;
}

} // namespace vd::tree
