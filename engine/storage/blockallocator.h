// BlockAllocator: the power-of-two bitmap allocator over idvd.
//
// idvd is a sequence of 16 MiB units. Each unit is described by one 32-bit
// word: bit s (0..15) says 1 MiB slot s is in use, bit 16+s says a block
// starts at slot s. A block covers the slots from its start bit to the next
// start bit or free slot; it must be a power of two of slots, aligned to its
// size (a buddy block). Freeing a block clears its bits, which merges it with
// its free buddies at no cost: the free space of a unit is read off its mask.
//
// Placement: a block goes into the lowest unit that already holds blocks and
// has room, at the spot that splits the smallest free buddy (best fit), so
// that whole free units stay whole for 16 MiB blocks and free units gather at
// the tail, where shrinkTail() gives them back. With no room, idvd grows by a
// unit. Every operation is O(log64 units): one table look-up inside a unit
// and a hierarchical bit set per question across units.
//
// This is the in-memory state; .bitmap stores its words (see bitmapfile.h).
// Not thread-safe: the owning collection serialises access.
#pragma once

#include "geometry.h"
#include "hierbitset.h"

#include "core/status.h"

#include <QByteArray>

#include <array>
#include <vector>

namespace vd::storage {

class BlockAllocator
{
public:
    explicit BlockAllocator(uint32_t units = 0);

    // Rebuilds from the words stored in .bitmap; Corruption if any word
    // breaks the rules above.
    static Result<BlockAllocator> fromWords(const std::vector<uint32_t> &words);
    const std::vector<uint32_t> &words() const { return m_words; }

    // Allocates a block of the class, growing by one unit when no unit has
    // room. NoSpace when the collection would pass maxUnits.
    Result<Extent> allocate(int sizeClass);
    // Frees exactly the block e. InvalidArgument (nothing changes) if e is
    // not an allocated block of that class: a double free is caught here.
    Status free(const Extent &e);
    // Marks e allocated, for rebuilding from what is reachable. Conflict if
    // any slot of e is taken; grows the unit count to reach e.
    Status markAllocated(const Extent &e);
    bool isAllocated(const Extent &e) const;

    // Drops free units at the end (never unit 0); returns how many.
    uint32_t shrinkTail();
    uint32_t unitCount() const { return uint32_t(m_words.size()); }
    void setMaxUnits(uint32_t maxUnits) { m_maxUnits = maxUnits; }

    // Every allocated block, in offset order.
    std::vector<Extent> blocks() const;
    // The free parts of idvd, in offset order, neighbours merged.
    std::vector<ByteRange> freeRanges() const;
    std::array<uint64_t, kClassCount> blocksPerClass() const { return m_perClass; }
    uint64_t allocatedBytes() const;

    // Verifies every word and that the indexes agree with them; tests call it
    // after each mutation.
    Status checkInvariants() const;

private:
    void refreshUnit(uint32_t unit);
    void appendUnit();
    static Status checkWord(uint32_t word, uint32_t unit);

    std::vector<uint32_t> m_words;
    // m_partial[c]: units holding some block and a free aligned run of class c.
    std::array<HierBitset, kClassCount - 1> m_partial;
    HierBitset m_empty; // units holding no block
    std::array<uint64_t, kClassCount> m_perClass{};
    uint32_t m_maxUnits = kMaxUnits;
};

} // namespace vd::storage
