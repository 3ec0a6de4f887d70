#include "jsondiff.h"

#include <QCoreApplication>
#include <QHash>

namespace vd::widgets {

using client::JsonNode;
using tree::Kind;

namespace {

// A key as a JSON string literal: \" \\ and controls escaped, the rest as it is.
QString quotedKey(const QString &key)
{
    QString out = QStringLiteral("\"");
    for (const QChar c : key) {
        switch (c.unicode()) {
        case '"': out += QStringLiteral("\\\""); break;
        case '\\': out += QStringLiteral("\\\\"); break;
        case '\b': out += QStringLiteral("\\b"); break;
        case '\f': out += QStringLiteral("\\f"); break;
        case '\n': out += QStringLiteral("\\n"); break;
        case '\r': out += QStringLiteral("\\r"); break;
        case '\t': out += QStringLiteral("\\t"); break;
        default:
            if (c.unicode() < 0x20)
                out += QStringLiteral("\\u%1").arg(c.unicode(), 4, 16, QLatin1Char('0'));
            else
                out += c;
        }
    }
    return out + QLatin1Char('"');
}

// A reference token of a JSON Pointer: '~' as "~0", '/' as "~1".
QString pointerToken(const QString &key)
{
    QString t = key;
    t.replace(QLatin1Char('~'), QStringLiteral("~0"));
    t.replace(QLatin1Char('/'), QStringLiteral("~1"));
    return QLatin1Char('/') + t;
}

void writeCompact(const JsonNode &n, QString &out)
{
    switch (n.kind) {
    case Kind::JsonObject: {
        out += QLatin1Char('{');
        bool first = true;
        for (const JsonNode &c : n.children) {
            if (!first)
                out += QLatin1Char(',');
            first = false;
            out += quotedKey(c.key) + QLatin1Char(':');
            writeCompact(c, out);
        }
        out += QLatin1Char('}');
        break;
    }
    case Kind::JsonArray: {
        out += QLatin1Char('[');
        bool first = true;
        for (const JsonNode &c : n.children) {
            if (!first)
                out += QLatin1Char(',');
            first = false;
            writeCompact(c, out);
        }
        out += QLatin1Char(']');
        break;
    }
    default: out += QString::fromUtf8(n.literal);
    }
}

QString keyList(const std::vector<QString> &keys)
{
    QStringList quoted;
    for (const QString &k : keys)
        quoted.append(quotedKey(k));
    return QLatin1Char('[') + quoted.join(QLatin1Char(',')) + QLatin1Char(']');
}

void diffInto(const JsonNode &a, const JsonNode &b, const QString &path, std::vector<JsonChange> &out)
{
    if (a.kind != b.kind || (a.kind == Kind::JsonValue && a.literal != b.literal)) {
        out.push_back({JsonChange::Kind::Changed, path, compactJson(a), compactJson(b)});
        return;
    }
    if (a.kind == Kind::JsonArray) {
        const size_t common = std::min(a.children.size(), b.children.size());
        for (size_t i = 0; i < common; ++i)
            diffInto(a.children[i], b.children[i], path + QLatin1Char('/') + QString::number(i), out);
        for (size_t i = common; i < a.children.size(); ++i)
            out.push_back({JsonChange::Kind::Removed, path + QLatin1Char('/') + QString::number(i), compactJson(a.children[i]), {}});
        for (size_t i = common; i < b.children.size(); ++i)
            out.push_back({JsonChange::Kind::Added, path + QLatin1Char('/') + QString::number(i), {}, compactJson(b.children[i])});
        return;
    }
    if (a.kind != Kind::JsonObject)
        return;
    QHash<QString, const JsonNode *> inB;
    for (const JsonNode &c : b.children)
        inB.insert(c.key, &c);
    QHash<QString, const JsonNode *> inA;
    for (const JsonNode &c : a.children)
        inA.insert(c.key, &c);
    // The members both have, in each one's order: a different order is one change.
    std::vector<QString> orderA, orderB;
    for (const JsonNode &c : a.children)
        if (inB.contains(c.key))
            orderA.push_back(c.key);
    for (const JsonNode &c : b.children)
        if (inA.contains(c.key))
            orderB.push_back(c.key);
    if (orderA != orderB)
        out.push_back({JsonChange::Kind::Reordered, path, keyList(orderA), keyList(orderB)});
    for (const JsonNode &c : a.children) {
        const QString at = path + pointerToken(c.key);
        if (const JsonNode *other = inB.value(c.key))
            diffInto(c, *other, at, out);
        else
            out.push_back({JsonChange::Kind::Removed, at, compactJson(c), {}});
    }
    for (const JsonNode &c : b.children)
        if (!inA.contains(c.key))
            out.push_back({JsonChange::Kind::Added, path + pointerToken(c.key), {}, compactJson(c)});
}

} // namespace

std::vector<JsonChange> jsonDiff(const JsonNode &before, const JsonNode &after)
{
    std::vector<JsonChange> out;
    diffInto(before, after, QString(), out);
    return out;
}

QString compactJson(const JsonNode &node)
{
    QString out;
    writeCompact(node, out);
    return out;
}

QString changeKindText(JsonChange::Kind kind)
{
    switch (kind) {
    case JsonChange::Kind::Added: return QCoreApplication::translate("vd::widgets::JsonDiff", "added");
    case JsonChange::Kind::Removed: return QCoreApplication::translate("vd::widgets::JsonDiff", "removed");
    case JsonChange::Kind::Changed: return QCoreApplication::translate("vd::widgets::JsonDiff", "changed");
    case JsonChange::Kind::Reordered: return QCoreApplication::translate("vd::widgets::JsonDiff", "reordered");
    }
    return {};
}

} // namespace vd::widgets
