// The records the catalog holds for the flat object namespace, and their keys
// (FORMAT.md §Catalog records). Every key starts with one byte naming its
// keyspace:
//   'B' blockId(16) version(8, big-endian)  -> BlockRecord    (blocks this node stores: SmallBlocks,
//                                                              and data blocks of catalog format <= 2)
//   'N' content name(32)                    -> LocationRecord (the local location map: where this node
//                                                              keeps named content, and its references)
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
#include "content.h"

#include "core/hash.h"
#include "core/ruid.h"

#include <vector>

namespace vd::storage {

namespace keys {
// A key of the keyspace `tag`: the tag byte, then part, then (when given)
// number, big-endian. Every key builder, these and the tree's
// (tree/vnode.h), is one of these two.
QByteArray make(char tag, QByteArrayView part);
QByteArray make(char tag, QByteArrayView part, uint64_t number);
// The big-endian number in the first 8 bytes of v (it holds at least 8).
uint64_t readBigEndian(QByteArrayView v);
QByteArray block(const Ruid &id, uint64_t version);
QByteArray object(const QString &key);
QByteArray cluster(const Ruid &objectId, uint64_t start);
QByteArray snapshot(const QString &name);
QByteArray location(const Hash256 &name);
inline constexpr char kBlock = 'B';
inline constexpr char kLocation = 'N';
inline constexpr char kSnapshot = 'S';
inline constexpr char kObject = 'O';
inline constexpr char kCluster = 'C';
// Decodes the parts of a key of the given keyspace; false if malformed.
bool parseBlockKey(QByteArrayView key, Ruid *id, uint64_t *version);
bool parseClusterKey(QByteArrayView key, Ruid *objectId, uint64_t *start);
bool parseLocationKey(QByteArrayView key, Hash256 *name);
} // namespace keys

// The local location map's record for one content name (catalog format 3):
// where this node keeps the bytes, and how many cluster versions (live or in
// snapshots) reference the name. Placement Elsewhere: referenced here, held
// by other nodes (reads give NotHere). refs may be 0 only for content
// imported before anything here references it (gc frees it).
struct LocationRecord
{
    enum class Placement : uint8_t { Elsewhere = 0, Block = 1, Slot = 2 };
    Placement placement = Placement::Block;
    uint32_t length = 0;
    uint32_t refs = 1;
    // Block: a data block of its own, and the content's chunk hashes.
    Extent extent;
    ChunkHashes chunks;
    // Slot: a payload packed in a SmallBlock (its rawHash is the one chunk
    // hash of a payload of up to 1 MiB).
    Ruid smallBlock;
    SlotLocation slot;

    bool isHere() const { return placement != Placement::Elsewhere; }
    QByteArray encode() const;
    static Result<LocationRecord> decode(QByteArrayView raw);
};

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

// One contiguous piece of an object: content named by its hash (catalog
// format 3), a run of zeros that takes no space at all (format 2), or, in
// catalogs of format 1 and 2 (read, never written any more), a data block or
// a packed slot named by where this node keeps it.
struct Piece
{
    enum class Kind : uint8_t { Block = 1, Slot = 2, Zero = 3, Content = 4 };
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
    Hash256 name;           // Content: the content's name (content.h)

    static Piece zeros(uint32_t length)
    {
        Piece p;
        p.kind = Kind::Zero;
        p.length = length;
        return p;
    }
    static Piece content(const Hash256 &name, uint32_t length)
    {
        Piece p;
        p.kind = Kind::Content;
        p.name = name;
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
