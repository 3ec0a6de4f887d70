// SmallBlocks: many small payloads packed into one block.
//
// A SmallBlock is append-only. After its header come batches; each batch is
// the payloads added in one commit followed by a directory that lists them
// and points back to the previous directory. A payload, once committed, is
// never moved or overwritten: later commits only append after the last
// directory, so every committed version of the block stays readable. Bytes
// after the last committed directory are garbage left by an interrupted
// commit and are overwritten by the next one.
//
// Each payload is zstd-compressed when that saves at least 1/32 of it and
// stored raw otherwise; its SHA-256 (of the raw bytes) is kept both in the
// directory and in every reference to it, and checked on every read.
//
// The same format holds two things: small objects and tails of large ones
// (BlockKind::SmallData, global blocks named by a RUID) and the catalog's
// pages (BlockKind::CatalogLog, local to this node).
#pragma once

#include "blockheader.h"

#include "core/hash.h"
#include "core/status.h"

#include <QByteArray>

#include <vector>

namespace vd {
class ByteReader;
}

namespace vd::storage {

class IdvdFile;

enum class Codec : uint8_t { Raw = 0, Zstd = 1 };

// Where one payload lies inside its SmallBlock and what it must hash to.
struct SlotLocation
{
    static constexpr int kEncodedSize = 48;
    // No payload is larger than the largest block: reading one never
    // allocates more than this, whatever a damaged reference claims.
    static constexpr uint32_t kMaxRawLength = 16u << 20;

    uint32_t offset = 0;        // from the start of the block
    uint32_t storedLength = 0;  // bytes on disk
    uint32_t rawLength = 0;     // bytes after decompression
    Codec codec = Codec::Raw;
    Hash256 rawHash;            // SHA-256 of the raw payload

    void encode(QByteArray *out) const;
    static SlotLocation decode(ByteReader &r); // r reports failure
    bool operator==(const SlotLocation &) const = default;
};

// One batch's directory, written after the batch's payloads.
struct SmallDirectory
{
    static constexpr uint32_t kMagic = 0x44534456; // "VDSD"
    static constexpr uint16_t kFormat = 1;
    static constexpr int kFixedSize = 24 + 32;

    uint32_t sequence = 0;       // batches in the block so far, from 1
    uint32_t prevOffset = 0;     // the previous directory, 0 for the first batch
    std::vector<SlotLocation> slots;

    uint32_t encodedSize() const { return uint32_t(kFixedSize + SlotLocation::kEncodedSize * slots.size()); }
    QByteArray encode() const;
    // Decodes the directory that starts at dirOffset of a block of blockSize
    // bytes; every slot must lie after the header and before the directory.
    static Result<SmallDirectory> decode(QByteArrayView bytes, uint32_t dirOffset, uint64_t blockSize);
};

// Compresses when it pays (see above). Level 3: fast, and most of the gain.
struct PackedPayload
{
    QByteArray stored;
    Codec codec = Codec::Raw;
    uint32_t rawLength = 0;
    Hash256 rawHash;
};
PackedPayload packPayload(QByteArrayView raw);
// The same, the raw payload's SHA-256 already known. Free functions: a
// caller may pack a small file on another thread, before the writer's
// thread stores it (Collection::writeStream's `packed`).
PackedPayload packPayload(QByteArrayView raw, const Hash256 &rawHash);
// Checks and unpacks what was read from disk. Corruption if it does not
// decompress to exactly loc.rawLength bytes with hash loc.rawHash.
Result<QByteArray> unpackPayload(QByteArrayView stored, const SlotLocation &loc);

// The state of one SmallBlock: where it is, how far it is written and how
// much of it is still referenced.
struct SmallBlockState
{
    Ruid id;                                    // global id (SmallData); null for CatalogLog
    Extent extent;
    uint32_t writtenEnd = BlockHeader::kSize;   // first byte after the last directory
    uint32_t lastDirOffset = 0;                 // 0 while no batch is written
    uint32_t sequence = 0;                      // batches written
    uint64_t liveBytes = 0;                     // stored bytes still referenced
    uint32_t liveSlots = 0;

    uint64_t usedBytes() const { return writtenEnd - BlockHeader::kSize; }
};

// Appends payloads to one SmallBlock. Payloads of the open batch are kept in
// memory and written with their directory by flush(); bytes before
// writtenEnd are never touched again. A failed commit is undone by the
// collection reloading its committed state, which forgets the batch.
// Not thread-safe.
class SmallBlockLog
{
public:
    SmallBlockLog(IdvdFile *idvd, BlockKind kind, SmallBlockState state);

    const SmallBlockState &state() const { return m_state; }
    SmallBlockState &state() { return m_state; }
    BlockKind kind() const { return m_kind; }

    // Room for one more payload of this stored size, with its directory entry.
    bool hasRoomFor(uint32_t storedLength) const;
    uint64_t freeBytes() const;
    // Appends a packed payload to the open batch; returns its location.
    // The payload counts as live.
    Result<SlotLocation> append(const PackedPayload &payload);
    bool hasPending() const { return !m_pendingSlots.empty(); }
    // Reads a payload of this block, from the open batch or from disk.
    Result<QByteArray> read(const SlotLocation &loc) const;
    // Writes the open batch and its directory (not synced).
    Status flush();

    // Writes the header of a block allocated in this transaction.
    static Status writeHeader(IdvdFile *idvd, BlockKind kind, const SmallBlockState &st, uint64_t generation);

private:
    uint32_t pendingEnd() const { return m_state.writtenEnd + m_pendingLength; }

    IdvdFile *m_idvd;
    BlockKind m_kind;
    SmallBlockState m_state;
    // The open batch: its payloads (shared with whoever packed them, not
    // copied: flush() gathers them into one write) and their locations, in
    // the same order.
    std::vector<QByteArray> m_pendingPayloads;
    std::vector<SlotLocation> m_pendingSlots;
    uint32_t m_pendingLength = 0;
};

} // namespace vd::storage
