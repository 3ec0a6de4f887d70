// .bitmap: the allocator's words, as of one generation.
//
// The file holds up to two copies: the one the committed .meta points at, and
// the one being written for the next generation, placed where it cannot
// overlap the committed one (before it if it fits, else after it). .meta
// records the chosen copy's offset, length and checksum, so a copy written by
// a commit that never finished is simply never looked at.
// Thread-safety: none of its own; the collection's writer calls it.
#pragma once

#include "blockallocator.h"
#include "metafile.h"

#include "io/env.h"

namespace vd::storage {

struct BitmapCopy
{
    static constexpr uint32_t kMagic = 0x4d424456; // "VDBM"
    static constexpr uint16_t kFormat = 1;
    static constexpr int kFixedSize = 24 + 32;

    uint64_t generation = 0;
    std::vector<uint32_t> words;

    QByteArray encode() const;
    static Result<BitmapCopy> decode(QByteArrayView bytes);
};

// Where the next copy goes, given the committed one.
uint64_t nextBitmapOffset(const BitmapLocation &committed, uint32_t newLength);

// A copy for `generation`, encoded, and where it goes in .bitmap.
struct PreparedBitmap
{
    QByteArray bytes;
    BitmapLocation location;
};
PreparedBitmap prepareBitmap(const BitmapLocation &committed, uint64_t generation, const BlockAllocator &alloc);

// Reads the copy .meta points at and checks it against .meta.
Result<BlockAllocator> readBitmap(io::File &file, const Meta &meta);
// Writes a prepared copy (not synced). The file's disk space is taken first
// for this copy and for the next one of the same size (so a commit that does
// not grow idvd never needs new space here); without requireNextRoom, a full
// disk only fails it when this copy itself has no room.
Status writePreparedBitmap(io::File &file, const PreparedBitmap &bitmap, bool requireNextRoom = true);

} // namespace vd::storage
