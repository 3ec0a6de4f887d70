// .meta: the collection's identity and its commit point.
//
// Two 4 KiB copies, at offsets 0 and 4096. Generation g is written to copy
// g % 2 and synced; the valid copy with the higher generation is the state
// (as LMDB does with its two meta pages). A torn or half-written copy fails
// its checksum and the other one wins: there is nothing to replay.
#pragma once

#include "rootrecord.h"

#include "core/hash.h"
#include "core/ruid.h"
#include "io/env.h"

#include <QString>

#include <optional>

namespace vd::storage {

struct BitmapLocation
{
    uint64_t offset = 0; // of the copy in .bitmap
    uint32_t length = 0;
    Hash256 hash;        // the copy's own trailing checksum
    bool operator==(const BitmapLocation &) const = default;
};

struct Meta
{
    static constexpr int kCopySize = 4096;
    // 2: the root record carries the tree's counters; 3: and the catalog
    // format and the free-space reserve. Format 2 copies are still read (the
    // next commit writes format 3).
    static constexpr uint16_t kFormat = 3;
    static constexpr int kMaxNameBytes = 255;
    static constexpr int kMaxMembers = 64;

    uint64_t generation = 0;
    Ruid ruid;
    QString name;
    int64_t createdMs = 0;
    int64_t committedMs = 0;
    // Size classes and packing policy, fixed at creation.
    uint32_t smallThreshold = 0; // payloads below this many bytes are packed
    uint8_t smallBlockClass = 2; // SmallData blocks are 4 MiB
    uint8_t catalogBlockClass = 0;
    uint8_t clusterMaxBlocks = 4;
    uint32_t units = 0;          // idvd's length in units at this generation
    BitmapLocation bitmap;
    RootRecord root;
    std::vector<QByteArray> members; // node ids (32 bytes each); empty until the network exists

    QByteArray encodeCopy() const; // exactly kCopySize bytes
    static Result<Meta> decodeCopy(QByteArrayView bytes);
};

// Reads both copies and returns the newest valid one. Corruption (naming both
// reasons) when neither is valid; VersionMismatch when the newest is from a
// newer format.
Result<Meta> readMeta(io::File &file);
// Writes m into copy m.generation % 2 and syncs it.
Status writeMeta(io::File &file, const Meta &m);

// Collection names: 1–255 bytes of UTF-8, no control characters, no '/',
// not "." or "..", no leading or trailing spaces.
Status validateCollectionName(const QString &name);

} // namespace vd::storage
