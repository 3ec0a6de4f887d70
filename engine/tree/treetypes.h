// The tree's answers as values: what look-ups, du, the trash, snapshots and
// diff return (the Drive API, drive.h, hands them out). Plain data.
// Thread-safety: plain values.
#pragma once

#include "vnode.h"

#include "core/ruid.h"

#include <QString>

#include <cstdint>
#include <optional>
#include <vector>

namespace vd::tree {

struct PieceInfo
{
    bool zero = false;   // a run of zeros: nothing stored (no block, no hash)
    bool packed = false; // a slot in a SmallBlock, else a whole block
    bool notHere = false; // named content this node does not hold
    Ruid blockId;
    uint64_t version = 0;
    int sizeClass = 0;
    uint64_t length = 0;
    uint64_t storedLength = 0;
    QString hash; // hex SHA-256
};

struct ClusterInfo
{
    uint64_t start = 0;
    uint64_t length = 0;
    uint64_t birth = 0;
    std::vector<PieceInfo> pieces;
};

struct SnapshotInfo
{
    QString name;
    uint64_t generation = 0;
    int64_t createdMs = 0;
    uint64_t vnodes = 0;
    uint64_t fileBytes = 0;
    // Bytes on disk only this snapshot keeps (deleting it frees them after gc).
    std::optional<uint64_t> uniqueBytes;
};

struct DiffEntry
{
    enum class Change { Added, Removed, Modified, Moved };
    Change change = Change::Modified;
    QString path;    // where it is now (removed: where it was)
    QString oldPath; // moved: where it was
    Kind kind = Kind::File;
    Ruid id;
};
QString changeName(DiffEntry::Change change); // "added", "removed", "modified", "moved"

struct TrashEntry
{
    Ruid id;
    QString originalPath;
    int64_t deletedMs = 0;
    Kind kind = Kind::File;
    uint64_t size = 0;
};

struct DuInfo
{
    uint64_t files = 0;
    uint64_t directories = 0;
    uint64_t jsonNodes = 0;
    uint64_t logicalBytes = 0;
};

struct ImportProgress
{
    uint64_t files = 0;
    uint64_t bytes = 0;
};

} // namespace vd::tree
