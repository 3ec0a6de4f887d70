// JsonDiff: what changed in a JSON document between two reads of it (a
// snapshot's and the live one): a structural comparison of two JsonTrees,
// value by value — members matched by key, elements by index — not a
// comparison of text.
//
// Thread safety: pure functions.
#pragma once

#include "client/jsontree.h"

#include <QString>

#include <vector>

namespace vd::widgets {

struct JsonChange
{
    enum class Kind {
        Added,     // newText: the value added
        Removed,   // oldText: the value removed
        Changed,   // a scalar's literal, or the type, changed: old and new value
        Reordered, // an object's members kept, their order changed: old and new key order
    };
    Kind kind = Kind::Changed;
    // Where, as a JSON Pointer (RFC 6901) from the document: "/servers/0/host";
    // "" is the document itself.
    QString path;
    // Values as compact JSON: scalars as their exact literals, containers
    // whole; Reordered: the keys in order, as a JSON array of strings.
    QString oldText, newText;
    bool operator==(const JsonChange &) const = default;
};

// The changes that turn before into after, in document order (before's,
// then what after added). Empty when they are the same document.
std::vector<JsonChange> jsonDiff(const client::JsonNode &before, const client::JsonNode &after);

// A value as compact JSON text (scalars: their literal).
QString compactJson(const client::JsonNode &node);

// "added", "removed", "changed", "reordered" (translated).
QString changeKindText(JsonChange::Kind kind);

} // namespace vd::widgets
