// The 128-byte header at the start of every block in idvd (FORMAT.md §Block).
// It makes a block self-describing: fsck and a scan of idvd can tell what a
// block is without the catalog. Its own SHA-256 guards it; for data blocks it
// also names the payload that follows: format 2 (catalog format 3) by its
// content name (content.h), format 1 by the SHA-256 of the whole payload.
// Thread-safety: a plain value with pure encode/decode functions.
#pragma once

#include "geometry.h"

#include "core/hash.h"
#include "core/ruid.h"
#include "core/status.h"

#include <QByteArray>

namespace vd::storage {

enum class BlockKind : uint8_t {
    Head = 1,       // unit 0, slot 0: the root records
    Data = 2,       // one piece of an object's bytes
    SmallData = 3,  // packed small payloads (small objects, tails)
    CatalogLog = 4, // packed catalog pages
};

bool isValidBlockKind(uint8_t kind);
QString blockKindName(BlockKind kind);

struct BlockHeader
{
    static constexpr int kSize = 128;
    static constexpr uint32_t kMagic = 0x4b424456; // "VDBK"
    static constexpr uint16_t kFormat = 2;
    static constexpr uint16_t kOldestFormat = 1;

    uint16_t format = kFormat; // as read; encode() always writes kFormat
    BlockKind kind = BlockKind::Data;
    uint8_t sizeClass = 0;
    Ruid blockId;              // Data, format 2: the first 16 bytes of the content name
    uint64_t version = 0;      // Data, format 2: 0
    uint32_t usedLength = 0;   // payload bytes after the header (Data); 0 for packed kinds
    Hash256 payloadHash;       // Data: format 2 the content name, format 1 the payload's SHA-256; zero for packed kinds
    uint64_t generation = 0;   // the generation that wrote the block

    QByteArray encode() const;
    static Result<BlockHeader> decode(QByteArrayView bytes);

    // Capacity of a block of this class for payload bytes.
    static constexpr uint64_t capacity(int sizeClass) { return classSize(sizeClass) - kSize; }
};

} // namespace vd::storage
