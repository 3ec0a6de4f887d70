// The records the catalog holds for the flat object namespace, and their keys
// (FORMAT.md §Catalog records). Every key starts with one byte naming its
// keyspace:
//   'B' blockId(16) version(8, big-endian)  -> BlockRecord    (blocks this node stores)
//   'O' object key (UTF-8)                  -> ObjectRecord
//   'C' objectId(16) start(8, big-endian)   -> ClusterRecord  (an object's or VNode's bytes from start)
//   'S' snapshot name (UTF-8)               -> SnapshotRecord
// The tree's own keyspaces ('E', 'I', 'T', 'L') are in tree/vnode.h.
// Big-endian numbers in keys make byte order equal numeric order.
// Thread-safety: plain values with pure encode/decode functions.
#pragma once

#include "geometry.h"
#include "rootrecord.h"
#include "smallblock.h"

#include "core/hash.h"
#include "core/ruid.h"

#include <vector>

namespace vd::storage {

namespace keys {
QByteArray block(const Ruid &id, uint64_t version);
QByteArray object(const QString &key);
QByteArray cluster(const Ruid &objectId, uint64_t start);
QByteArray snapshot(const QString &name);
inline constexpr char kBlock = 'B';
inline constexpr char kSnapshot = 'S';
inline constexpr char kObject = 'O';
inline constexpr char kCluster = 'C';
// Decodes the parts of a key of the given keyspace; false if malformed.
bool parseBlockKey(QByteArrayView key, Ruid *id, uint64_t *version);
bool parseClusterKey(QByteArrayView key, Ruid *objectId, uint64_t *start);
} // namespace keys

struct BlockRecord
{
    BlockKind kind = BlockKind::Data; // Data or SmallData
    Extent extent;
    // Data blocks
    uint32_t length = 0;
    Hash256 hash;
    // Distinct cluster versions (live or in snapshots) that reference it.
    uint32_t refs = 1;
    // SmallData blocks: how far written and how much is still referenced
    // (counted per reference: a payload shared by copies counts once for
    // each, so the live bytes may exceed the block's size)
    SmallBlockState small;

    QByteArray encode() const;
    static Result<BlockRecord> decode(QByteArrayView raw);
};

struct ObjectRecord
{
    static constexpr int kMaxKeyBytes = 1000;

    Ruid objectId;
    uint64_t size = 0;
    int64_t createdMs = 0;
    int64_t modifiedMs = 0;
    uint32_t clusterCount = 0;

    QByteArray encode() const;
    static Result<ObjectRecord> decode(QByteArrayView raw);
};

// One contiguous piece of an object: a whole data block, a packed slot, or
// a run of zeros that takes no space at all (catalog format 2).
struct Piece
{
    enum class Kind : uint8_t { Block = 1, Slot = 2, Zero = 3 };
    // A zero piece stands for at most what one 16 MiB block holds, so a
    // cluster spans what it would with blocks (range writes rely on it).
    static constexpr uint32_t kMaxZeroLength = 16u * 1024 * 1024 - 128;
    Kind kind = Kind::Block;
    Ruid blockId;           // Block, Slot
    uint64_t version = 0;   // Block
    uint8_t sizeClass = 0;  // Block
    uint32_t length = 0;    // logical bytes of the object in this piece
    Hash256 hash;           // Block: SHA-256 of the payload
    SlotLocation slot;      // Slot: where in the SmallBlock (its rawHash is the check)

    static Piece zeros(uint32_t length)
    {
        Piece p;
        p.kind = Kind::Zero;
        p.length = length;
        return p;
    }
    bool isZero() const { return kind == Kind::Zero; }
};

struct ClusterRecord
{
    static constexpr int kMaxPieces = 64;
    // The generation that wrote this version of the cluster. A version born
    // at or before the newest snapshot is in that snapshot, so replacing it
    // in the live tree keeps its blocks referenced.
    uint64_t birth = 0;
    std::vector<Piece> pieces;

    uint64_t length() const;
    QByteArray encode() const;
    static Result<ClusterRecord> decode(QByteArrayView raw);
};

// A snapshot: the catalog root of a committed generation, kept read-only.
struct SnapshotRecord
{
    PageRef root;
    uint64_t generation = 0;
    int64_t createdMs = 0;
    uint64_t vnodes = 0;
    uint64_t fileBytes = 0;

    QByteArray encode() const;
    static Result<SnapshotRecord> decode(QByteArrayView raw);
};

// Object keys: 1–1000 bytes of valid UTF-8 without NUL.
Status validateObjectKey(const QString &key);

} // namespace vd::storage
