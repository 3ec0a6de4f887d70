// AllocationMap: the allocation picture of idvd — every allocated block,
// what kind of block it is and how full — and the allocator's health read
// off it (free space per size class, fragmentation, padding).
//
// It is the cheap half of the explorer's block map: made by
// Collection::allocationMap() from the allocator's words (4 bytes per
// 16 MiB unit), the catalog's segment table and the reserve (in memory),
// and the block and location records (one range scan each, as
// Collection::info() does) — no tree is walked, so a 1 TiB drive's
// picture costs a few milliseconds. Which files use a block is the
// expensive half (tree/blockowners.h), asked for separately.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include "geometry.h"

#include <array>
#include <cstdint>
#include <vector>

namespace vd::storage {

// What an allocated block holds, as far as the records say.
enum class BlockUse : uint8_t {
    Head = 1, // unit 0, slot 0: the root records
    Reserve = 2, // kept allocated so that deleting works on a full disk
    Catalog = 3, // a CatalogLog block (catalog pages)
    Small = 4, // a SmallBlock (packed small payloads)
    Data = 5, // a data block (one piece of a file's cluster)
    Unrecorded = 6, // allocated, no record names it: freed and held for a reader of an older generation
};
inline constexpr uint8_t kMaxBlockUse = 6;

struct MapBlock
{
    uint64_t offset = 0; // in idvd, a multiple of the block's size
    uint8_t sizeClass = 0;
    BlockUse use = BlockUse::Data;
    // Bytes of payload the block holds: a data block's content length, a
    // SmallBlock's or catalog block's live stored bytes (a payload shared by
    // copies counts once per reference, so it may exceed the block).
    uint64_t used = 0;

    uint64_t size() const { return classSize(sizeClass); }
    uint64_t end() const { return offset + size(); }
};

struct AllocationMap
{
    uint64_t generation = 0; // the committed generation the records are of
    std::vector<uint32_t> words; // the allocator's, one per 16 MiB unit (blockallocator.h)
    std::vector<MapBlock> blocks; // every allocated block, in offset order
    // The node's last finished check of the collection (fsck; see
    // node::DriveHost::lastCheck), so that the map can paint the blocks it
    // found corrupt: checkedMs is 0 when no check finished since the node
    // started. corrupt: the offsets of the blocks whose checks failed,
    // sorted (at most FsckReport::kMaxCorruptOffsets, the rest counted); a
    // block freed since may no longer be in `blocks`.
    int64_t checkedMs = 0;
    uint64_t checkedGeneration = 0;
    uint64_t checkFaults = 0;
    std::vector<uint64_t> corrupt;
    uint64_t corruptNotListed = 0;

    bool isCorrupt(uint64_t offset) const;
};

struct AllocatorHealth
{
    uint64_t units = 0;
    uint64_t idvdBytes = 0; // units × 16 MiB
    uint64_t allocatedBytes = 0;
    uint64_t freeBytes = 0;
    // The free space cut into the largest aligned blocks it holds: how many
    // free blocks of each size class could be handed out without splitting
    // a bigger one.
    std::array<uint64_t, kClassCount> freeRuns {};
    std::array<uint64_t, kClassCount> blocksPerClass {};
    // Free bytes that cannot hold a 16 MiB block (outside whole free units).
    uint64_t fragmentedBytes = 0;
    // Allocated to data blocks and SmallBlocks beyond the payload they hold
    // (headers, unused tails, dead or unwritten slots).
    uint64_t paddingBytes = 0;
    uint64_t dataBytes = 0; // allocated to data blocks
    uint64_t smallBytes = 0; // to SmallBlocks
    uint64_t catalogBytes = 0; // to catalog blocks
    uint64_t otherBytes = 0; // head, reserve, unrecorded
};

// Reads the health off a map (pure).
AllocatorHealth healthOf(const AllocationMap &map);

// The blocks a unit's word describes (bit s: slot s in use; bit 16+s: a
// block starts at slot s), appended in offset order; false if the word
// breaks the allocator's rules (an untrusted word).
bool blocksOfWord(uint32_t word, uint32_t unit, std::vector<Extent> *out);

} // namespace vd::storage
