#include "terminal.h"

#include <QChar>

namespace vd::cli {

namespace {

// Per thread: a node runs many clients' commands at once, each with its own
// terminals (session.h).
thread_local bool g_outTerminal = false;
thread_local bool g_errTerminal = false;

// One character of a byte string: a code point of `length` bytes, or one
// byte that does not start valid UTF-8 (valid == false).
struct Unit
{
    char32_t cp = 0;
    qsizetype length = 1;
    bool valid = false;
};

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, at most U+10FFFF.
Unit decode(QByteArrayView s, qsizetype i)
{
    const auto byte = [&](qsizetype k) { return uchar(s[k]); };
    const uchar b = byte(i);
    if (b < 0x80)
        return {b, 1, true};
    qsizetype n = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b & 0xE0) == 0xC0) {
        n = 2, cp = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
        n = 3, cp = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
        n = 4, cp = b & 0x07, min = 0x10000;
    } else {
        return {};
    }
    if (i + n > s.size())
        return {};
    for (qsizetype k = 1; k < n; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80)
            return {};
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return {};
    return {cp, n, true};
}

// Characters a terminal must not receive raw.
bool mustEscape(char32_t cp)
{
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
        return true;
    if (cp < 0x80)
        return false;
    switch (QChar::category(cp)) {
    case QChar::Other_Format:        // U+202E and the other bidi controls, U+200B, U+FEFF, …
    case QChar::Separator_Line:      // U+2028
    case QChar::Separator_Paragraph: // U+2029
    case QChar::Other_Surrogate:
        return true;
    default:
        return false;
    }
}

QString octal(uchar b)
{
    return QStringLiteral("\\%1%2%3").arg(b >> 6).arg((b >> 3) & 7).arg(b & 7);
}

// The escape of one unit, as $'...' reads it.
QString escapeOf(const Unit &u, uchar firstByte)
{
    if (!u.valid)
        return octal(firstByte);
    switch (u.cp) {
    case '\a': return QStringLiteral("\\a");
    case '\b': return QStringLiteral("\\b");
    case '\t': return QStringLiteral("\\t");
    case '\n': return QStringLiteral("\\n");
    case '\v': return QStringLiteral("\\v");
    case '\f': return QStringLiteral("\\f");
    case '\r': return QStringLiteral("\\r");
    default: break;
    }
    if (u.cp < 0x80)
        return octal(uchar(u.cp));
    const bool bmp = u.cp <= 0xFFFF;
    return (bmp ? QStringLiteral("\\u") : QStringLiteral("\\U")) + QString::number(uint(u.cp), 16).toUpper().rightJustified(bmp ? 4 : 8, QLatin1Char('0'));
}

bool needsEscape(const Unit &u)
{
    return !u.valid || mustEscape(u.cp);
}

} // namespace

void setTerminals(bool out, bool err)
{
    g_outTerminal = out;
    g_errTerminal = err;
}

bool stdoutIsTerminal()
{
    return g_outTerminal;
}

bool stderrIsTerminal()
{
    return g_errTerminal;
}

QString shellQuote(QByteArrayView bytes, bool always)
{
    // First pass: does the name need quotes, and may it use "double quotes"
    // (only an apostrophe among plain characters, as GNU ls prints "it's")?
    bool quote = always || bytes.isEmpty();
    bool escapes = false;
    bool apostrophe = false;
    bool plain = true; // nothing but characters that mean nothing in "..." either
    for (qsizetype i = 0; i < bytes.size();) {
        const Unit u = decode(bytes, i);
        if (needsEscape(u)) {
            escapes = true;
            plain = false;
        } else if (u.cp < 0x80) {
            const char c = char(u.cp);
            switch (c) {
            case '{':
            case '}': // special when alone (and then as harmless in "..." as at the start)
                quote = quote || bytes.size() == 1;
                plain = plain && bytes.size() == 1;
                break;
            case '#':
            case '~': // special at the start
                quote = quote || i == 0;
                plain = plain && i == 0;
                break;
            case ' ':
                quote = true;
                break;
            case '\'':
                quote = apostrophe = true;
                break;
            case '!':
            case '"':
            case '$':
            case '&':
            case '(':
            case ')':
            case '*':
            case ';':
            case '<':
            case '=':
            case '>':
            case '?':
            case '[':
            case '\\':
            case '^':
            case '`':
            case '|':
                quote = true;
                plain = false;
                break;
            default:
                break;
            }
        }
        i += u.length;
    }
    if (escapes)
        quote = true;
    if (!quote)
        return QString::fromUtf8(bytes);
    if (apostrophe && plain)
        return QLatin1Char('"') + QString::fromUtf8(bytes) + QLatin1Char('"');

    QString out = QStringLiteral("'");
    bool inEscape = false; // inside $'...'
    for (qsizetype i = 0; i < bytes.size();) {
        const Unit u = decode(bytes, i);
        if (needsEscape(u)) {
            if (!inEscape)
                out += QLatin1String("'$'");
            inEscape = true;
            out += escapeOf(u, uchar(bytes[i]));
        } else if (u.cp == '\'') {
            out += QLatin1String("'\\''"); // ends '...' or $'...' alike
            inEscape = false;
        } else {
            if (inEscape)
                out += QLatin1String("''");
            inEscape = false;
            out += QString::fromUtf8(bytes.sliced(i, u.length));
        }
        i += u.length;
    }
    return out + QLatin1Char('\'');
}

QString listed(const QString &name)
{
    return g_outTerminal ? shellQuote(name.toUtf8()) : name;
}

QString quoted(const QString &name)
{
    return g_errTerminal ? shellQuote(name.toUtf8(), true) : QLatin1Char('\'') + name + QLatin1Char('\'');
}

QString quotedBytes(QByteArrayView bytes)
{
    return shellQuote(bytes, true);
}

QString terminalSafe(const QString &text)
{
    const QByteArray bytes = text.toUtf8();
    QString out;
    out.reserve(text.size());
    for (qsizetype i = 0; i < bytes.size();) {
        const Unit u = decode(bytes, i);
        out += needsEscape(u) ? escapeOf(u, uchar(bytes[i])) : QString::fromUtf8(bytes.sliced(i, u.length));
        i += u.length;
    }
    return out;
}

QString safeForStdout(const QString &text)
{
    return g_outTerminal ? terminalSafe(text) : text;
}

QString safeForStderr(const QString &text)
{
    return g_errTerminal ? terminalSafe(text) : text;
}

} // namespace vd::cli
