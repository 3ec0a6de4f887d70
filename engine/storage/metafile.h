// .meta: the collection's identity and its commit point; and the head slots
// of idvd, which hold the same state so that idvd alone is enough.
//
// Two 4 KiB copies, at offsets 0 and 4096. Generation g is written to copy
// g % 2 and synced; the valid copy with the higher generation is the state
// (as LMDB does with its two meta pages). A torn or half-written copy fails
// its checksum and the other one wins: there is nothing to replay.
//
// Before a generation's .meta copy is written, the same state (identity,
// packing options, unit count, .bitmap location and root record) goes into
// head slot g % 2 of idvd's head block and is synced with idvd. That is
// what lets a damaged newest copy be told from a torn one (Collection's
// roll-forward) and what `vdrive recover` rebuilds .meta from.
// Thread-safety: the functions are reentrant; reading and writing one
// collection's .meta is the writer's job (peekMeta reads without a lock).
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
    static constexpr uint16_t kOldestReadable = 2;
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
    bool operator==(const Meta &) const = default;
};

// One head slot of idvd (FORMAT.md, "The head block").
struct HeadSlot
{
    static constexpr uint32_t kMagic = 0x54524456; // "VDRT"
    // 3: the whole state a .meta copy holds (a format 3 root record, with the
    // catalog format and the reserve); 2: the root record only (read,
    // and replaced by format 3 at the first writable open); 1: before births.
    static constexpr uint16_t kFormat = 3;
    static constexpr uint16_t kOldestReadable = 2;
    static constexpr int kSlotSize = 4096;
    static uint64_t offsetFor(uint64_t generation) { return kSlotSize * (1 + generation % 2); }

    uint16_t format = kFormat;
    // Format 3: everything. Format 2: only ruid, generation and root are set.
    Meta state;

    bool isComplete() const { return format >= 3; }

    static QByteArray encode(const Meta &state);
    // Corruption unless the slot is intact and belongs to `collection`.
    static Result<HeadSlot> decode(QByteArrayView bytes, const Ruid &collection);
};

// Both copies of .meta, as read.
struct MetaCopies
{
    Meta meta;            // the newest valid copy
    int damagedCopy = -1; // 0 or 1: a copy that does not decode (the other is `meta`)
    Status damage;        // why it does not
};

// Reads both copies. Corruption (naming both reasons) when neither is valid;
// VersionMismatch when either is a valid copy of another format (a newer
// vdrive committed, or an older one made it): the other copy is then not
// the state either.
Result<MetaCopies> readMetaCopies(io::File &file);
// The newest valid copy (readMetaCopies without the details).
Result<Meta> readMeta(io::File &file);
// Writes m into copy m.generation % 2 and syncs it.
Status writeMeta(io::File &file, const Meta &m);
// Writes m into copy `index` (0 or 1) and syncs it: a damaged copy is
// replaced by the state it should hold.
Status writeMetaCopy(io::File &file, int index, const Meta &m);

// Collection names: 1–255 bytes of UTF-8, no control characters, no '/',
// not "." or "..", no leading or trailing spaces.
Status validateCollectionName(const QString &name);

} // namespace vd::storage
