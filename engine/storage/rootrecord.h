// The root record: everything needed to find a committed generation's state
// in idvd. It is stored twice over: in .meta (the commit point) and in the
// head block of idvd (so idvd alone is enough to rebuild the tree).
// Thread-safety: a plain value with pure encode/decode functions.
#pragma once

#include "geometry.h"
#include "smallblock.h"

#include "core/ruid.h"

#include <vector>

namespace vd::storage {

// A catalog page: a slot in a CatalogLog block of this node's idvd.
struct PageRef
{
    static constexpr int kEncodedSize = 16 + SlotLocation::kEncodedSize;

    uint64_t blockOffset = 0; // byte offset of the CatalogLog block; 0 means "no page"
    uint8_t blockClass = 0;
    // The generation whose commit wrote the page. A page born at or before
    // a snapshot's generation is part of that snapshot's tree (it stayed in
    // the live tree from its birth until now), so releasing it from the live
    // tree must not free it.
    uint64_t birth = 0;
    SlotLocation slot;

    bool isNull() const { return blockOffset == 0; }
    void encode(QByteArray *out) const;
    static PageRef decode(ByteReader &r);
    bool operator==(const PageRef &) const = default;
};

struct RootRecord
{
    static constexpr int kMaxOpenSmallBlocks = 4;
    static constexpr int kMaxEncodedSize = 1024;
    // The catalog's format: the one number that covers the layout of its
    // pages, its segment table and the block and cluster records
    // (FORMAT.md §Versioning). 1: records before .meta format 3 (where the
    // field is absent); 2: cluster records may hold zero pieces; 3: content
    // pieces named by their hash and the location map ('N' records).
    static constexpr uint16_t kCatalogFormat = 3;
    static constexpr int kMaxReserveBlocks = 16;

    uint64_t generation = 0;
    PageRef catalogRoot;  // the B+tree of records; null when empty
    PageRef segmentTable; // the list of CatalogLog blocks; null when none
    // The CatalogLog block new pages go to (blockOffset 0: none yet).
    uint64_t openSegmentOffset = 0;
    uint8_t openSegmentClass = 0;
    uint32_t openSegmentEnd = 0;
    uint32_t openSegmentLastDir = 0;
    uint32_t openSegmentSequence = 0;
    // SmallData blocks that still take payloads.
    std::vector<Ruid> openSmallBlocks;
    uint64_t objectCount = 0;
    uint64_t logicalBytes = 0;
    // The tree (format 2). origin names this replica in versions; the
    // version counter is a Lamport clock: every change takes the next value.
    Ruid origin;
    uint64_t versionCounter = 0;
    // The newest snapshot's generation (0: none). Pages, clusters and
    // blocks born at or before it are pinned when the live tree drops them.
    uint64_t pinnedThrough = 0;
    uint64_t snapshotCount = 0;
    // The change feed: sequence numbers of the next change and of the
    // oldest change still kept.
    uint64_t nextChange = 1;
    uint64_t firstChange = 1;
    uint64_t vnodeCount = 0; // attached VNodes, the root included
    uint64_t fileBytes = 0;  // logical bytes of files and JSON leaves in the live tree
    // Added in .meta / head slot format 3, at the end.
    uint16_t catalogFormat = kCatalogFormat;
    // The free-space reserve: blocks allocated in idvd and on the disk
    // that only deleting transactions may use (see Space).
    std::vector<Extent> reserve;

    // withTail: as format 3 writes it; without, as format 2 did (for
    // tests that make an earlier build's collection).
    QByteArray encode(bool withTail = true) const;
    // withTail: the record has the fields added in format 3 (catalogFormat,
    // reserve); without them it is read as catalog format 1, no reserve.
    // A catalog format newer than this build's is VersionMismatch.
    static Result<RootRecord> decode(QByteArrayView bytes, bool withTail = true);
    bool operator==(const RootRecord &) const = default;
};

} // namespace vd::storage
