// JsonTree: a whole JSON document of the drive as one value — what
// DriveApi::jsonTree answers, so an editor reads a document in one request
// (one generation) and keeps a copy of its own on the GUI side.
//
// Thread safety: plain values.
#pragma once

#include "core/ruid.h"
#include "tree/vnode.h"

#include <QByteArray>
#include <QString>

#include <vector>

namespace vd::client {

// One value of a document: an object, an array or a scalar.
struct JsonNode
{
    Ruid id;             // the VNode's: change records name it
    QString name;        // the VNode's name: an escaped key (tree::nameForKey), an index, or the document's name
    QString key;         // an object member's key as written (unescaped); empty otherwise
    tree::Kind kind = tree::Kind::JsonValue;
    QByteArray literal;  // scalars: the exact JSON literal ("12345678901234567890", "\"a\"", "true")
    std::vector<JsonNode> children; // members in document order, elements by index
};

struct JsonTree
{
    JsonNode root;           // the document (its name: the document's name in its folder)
    uint64_t generation = 0; // what the read saw: later changes come through DriveApi::changed
    uint64_t nodes = 0;      // values in the document, the root included
    // Documents larger than this are refused by DriveApi::jsonTree (InvalidArgument).
    static constexpr uint64_t kMaxNodes = 200000;
};

} // namespace vd::client
