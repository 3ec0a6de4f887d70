// VNodes: the records of the tree (FORMAT.md §Tree records) and the keys
// they live under in the catalog, next to the storage keyspaces:
//   'E' parentId(16) name(UTF-8)  -> VNodeRecord   a directory entry: the node itself
//   'I' id(16)                    -> IndexRecord   where a node hangs: parent, name, version
//   'T' id(16)                    -> TrashRecord   a node in the trash and where it came from
//   'L' sequence(8, big-endian)   -> ChangeRecord  the feed of committed changes
//   'F' name(UTF-8)               -> ConsumerRecord a registered reader of the feed
//   'X' id(16)                    -> Tombstone     a node removed for good (tombstones.h)
//   'X'                           -> the number of tombstones (u64)
// A node is stored under its parent, so listing a folder is one range scan
// and renaming a folder rewrites one entry whatever lies below it. The 'I'
// index answers "where is id X" and lets a look-up by id walk up to the root.
// Thread-safety: plain values with pure encode/decode functions.
#pragma once

#include "core/ruid.h"
#include "core/status.h"
#include "core/versionvector.h"

#include <QByteArray>
#include <QString>

#include <compare>
#include <cstdint>
#include <optional>

namespace vd::tree {

enum class Kind : uint8_t {
    Directory = 1,
    File = 2,
    JsonObject = 3,
    JsonArray = 4,
    JsonValue = 5, // a scalar leaf: its JSON literal is the node's value
};
// "directory", "file", "json-object", "json-array", "json-value"
QString kindName(Kind kind);
bool isContainer(Kind kind); // has children: directories and JSON objects/arrays
bool isJson(Kind kind);

// A VNode's version is a VersionVector (core/versionvector.h, REPLICATION.md):
// node short id -> counter. A change made here increments this node's entry
// to at least the collection's Lamport clock, so the newest change a
// version includes is its largest (counter, node) entry: its stamp. Two
// concurrent versions are ordered by their stamps (the conflict's winner).
struct VersionStamp
{
    uint64_t counter = 0;
    uint64_t node = 0;
    auto operator<=>(const VersionStamp &) const = default;
};
VersionStamp stampOf(const VersionVector &v);

// Records of format 1 (builds before node identities) carry (counter,
// origin), origin a random per-collection RUID: they read as the vector
// {legacyNode(origin): counter}, where legacyNode is the origin's first 8
// bytes read big-endian — the same on every replica that reads the record,
// so a collection copied before its upgrade never reads as concurrent with
// itself (FORMAT.md, "Versions").
uint64_t legacyNode(const Ruid &origin);

struct VNode
{
    static constexpr int kMaxNameBytes = 255;
    static constexpr int kMaxInlineValue = 64 * 1024;
    // How deep the tree goes: a node is at most kMaxDepth levels below the
    // root (the root's own entries are level 1), and so is one in the trash
    // below the trash folder. So a path holds at most kMaxDepth names and at
    // most kMaxPathBytes bytes: 1,000 keeps the longest path inside one
    // catalog value with room to spare (a trash record carries its node's
    // original path; values are at most 256 KiB), far above real trees (and
    // JSON documents, whose own nesting is at most 256 per parse). Creating,
    // moving, copying or restoring past it is refused (InvalidArgument);
    // every walk stops there, so one that would go further meets a cycle or
    // damage (Corruption).
    static constexpr int kMaxDepth = 1000;
    static constexpr int kMaxPathBytes = kMaxDepth * (kMaxNameBytes + 1);

    Ruid id;
    Ruid parent;  // null for the root and the trash
    QString name; // "" for the root
    Kind kind = Kind::File;
    uint64_t size = 0; // files: bytes; JSON scalars: bytes of the literal; containers: entries
    int64_t createdMs = 0;
    int64_t modifiedMs = 0;
    VersionVector version;
    uint32_t clusterCount = 0;
    uint64_t ordinal = 0; // JSON object members: position in the document
    QByteArray value;     // JSON scalars: the literal

    bool isContainer() const { return tree::isContainer(kind); }
    // The record stored under the 'E' key (parent and name are in the key).
    QByteArray encode() const;
    static Result<VNode> decode(QByteArrayView raw, const Ruid &parent, const QString &name);
    // The id of the node a record describes when it is a container (nullopt
    // for a file or a JSON scalar), from the record's first bytes alone: what
    // a walk over the tree's shape needs.
    static Result<std::optional<Ruid>> containerIdOf(QByteArrayView raw);
};

struct IndexRecord
{
    Ruid parent;
    QString name;
    VersionVector version;
    QByteArray encode() const;
    static Result<IndexRecord> decode(QByteArrayView raw);
};

struct TrashRecord
{
    Ruid originalParent;
    QString originalPath;
    QString originalName;
    int64_t deletedMs = 0;
    QByteArray encode() const;
    static Result<TrashRecord> decode(QByteArrayView raw);
};

// What is left of a node removed for good (tombstones.h): its version at
// the removal (the remover's entry raised), the folder it was in, and when.
struct Tombstone
{
    Ruid parent;
    int64_t removedMs = 0;
    VersionVector version;
    bool operator==(const Tombstone &) const = default;
    QByteArray encode() const;
    static Result<Tombstone> decode(QByteArrayView raw);
};

enum class ChangeOp : uint8_t {
    Create = 1, // the node did not exist before the commit
    Modify = 2, // same parent and name, something else changed (size, content, time, version)
    Move = 3,   // parent or name changed (and maybe more); into the trash too
    Remove = 4, // the node is gone for good
    SnapshotCreate = 5,
    SnapshotDelete = 6,
};
QString changeOpName(ChangeOp op);

// One side of a change: the node as the commit before it had it, or as it
// has it now. content identifies the bytes: for a file the SHA-256 of its
// cluster list (ChangeFeed::contentId), for a JSON scalar the SHA-256 of its
// literal, empty for containers.
struct ChangeSide
{
    Ruid parent;
    QString name;
    Kind kind = Kind::File;
    uint64_t size = 0;
    int64_t modifiedMs = 0;
    QByteArray content; // empty or 32 bytes
    bool operator==(const ChangeSide &) const = default;
};

// One committed change of one VNode (format 2, FORMAT.md §The change feed):
// a commit writes one record per VNode whose committed record it changed,
// all with the generation the commit made; a replica applies one
// generation's records as a batch keyed by id. Snapshot records carry the
// snapshot's name instead of a node.
struct ChangeRecord
{
    uint64_t sequence = 0;
    uint64_t generation = 0; // the commit that made it
    ChangeOp op = ChangeOp::Modify;
    Ruid id;                   // null for snapshot records
    VersionVector version;     // the node's version after the change (Remove: the tombstone's)
    int64_t timeMs = 0;        // when the commit wrote it
    std::optional<ChangeSide> before; // absent for Create and snapshot records
    std::optional<ChangeSide> after;  // absent for Remove and snapshot records
    QString snapshot;          // SnapshotCreate, SnapshotDelete

    // Where the node hangs after the change, or before it for a Remove.
    const ChangeSide &side() const { return after ? *after : *before; }
    Ruid parent() const { return isSnapshot() ? Ruid() : side().parent; }
    QString name() const { return isSnapshot() ? snapshot : side().name; }
    Kind kind() const { return isSnapshot() ? Kind::Directory : side().kind; }
    bool isSnapshot() const { return op == ChangeOp::SnapshotCreate || op == ChangeOp::SnapshotDelete; }

    QByteArray encode() const;
    // VersionMismatch for a format-1 record (an earlier build's feed, which
    // a writable open drops: see ChangeFeed::upgrade).
    static Result<ChangeRecord> decode(QByteArrayView raw, uint64_t sequence);
    // The record format of raw (its first byte); 0 when empty.
    static int formatOf(QByteArrayView raw);
};

// A registered consumer of the feed: the sequence of the first record it
// has not read yet. Records are kept until every consumer has read them
// (within the feed's bound).
struct ConsumerRecord
{
    uint64_t next = 0;
    int64_t updatedMs = 0;
    QByteArray encode() const;
    static Result<ConsumerRecord> decode(QByteArrayView raw);
};

namespace keys {
inline constexpr char kEntry = 'E';
inline constexpr char kIndex = 'I';
inline constexpr char kTrash = 'T';
inline constexpr char kChange = 'L';
inline constexpr char kConsumer = 'F';
inline constexpr char kTombstone = 'X';
QByteArray entry(const Ruid &parent, const QString &name);
QByteArray entryPrefix(const Ruid &parent);    // every entry of a folder starts with it
QByteArray entryPrefixEnd(const Ruid &parent); // and sorts before this
QByteArray index(const Ruid &id);
QByteArray trash(const Ruid &id);
QByteArray change(uint64_t sequence);
bool parseChangeKey(QByteArrayView key, uint64_t *sequence);
QByteArray consumer(const QString &name);
QByteArray tombstone(const Ruid &id);
QByteArray tombstoneCount(); // 'X' alone
} // namespace keys

// The root folder and the trash have fixed ids and hang from the null id.
Ruid rootId();
Ruid trashId();

// Names: 1–255 bytes of UTF-8, no '/', no NUL, not "." or "..".
Status validateName(const QString &name);

// A name as stored, under a folder entry's key or in a record: well-formed
// UTF-8 that validateName() accepts — except for the two nodes that hang from
// the null id, the root (named "") and the trash (named "trash").
// Corruption (naming `what`) otherwise.
Result<QString> decodeStoredName(const Ruid &parent, QByteArrayView utf8, const QString &what);

} // namespace vd::tree
