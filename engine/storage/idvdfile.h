// IdvdFile: the data file of a collection, seen as blocks.
//
// Grows and shrinks by whole 16 MiB units (sparse: growing writes nothing).
// Data blocks are written as header + payload and read back verified: the
// header must name the block the caller asked for and the payload must hash
// to what the header and the caller's reference say.
//
// Thread safety: reads (read, readHeader, readDataBlock*) may run on any
// number of threads beside the writer's thread, which alone writes, syncs,
// punches and resizes (see io::File). It holds no state of its own.
#pragma once

#include "blockheader.h"

#include "io/env.h"

#include <memory>

namespace vd::storage {

// What a reference to a data block promises about it.
struct DataBlockExpectation
{
    Ruid blockId;
    uint64_t version = 0;
    uint32_t length = 0;
    Hash256 hash;
};

class IdvdFile
{
public:
    explicit IdvdFile(std::unique_ptr<io::File> file) : m_file(std::move(file)) {}

    Status read(uint64_t offset, char *out, size_t len) { return m_file->read(offset, out, len); }
    Result<QByteArray> read(uint64_t offset, size_t len);
    Status write(uint64_t offset, QByteArrayView data) { return m_file->write(offset, data); }
    Status writeGather(uint64_t offset, std::span<const QByteArrayView> parts) { return m_file->writeGather(offset, parts); }
    Status sync() { return m_file->sync(); }
    Result<uint64_t> size() { return m_file->size(); }
    QString path() const { return m_file->path(); }
    void adviseWillNeed(const Extent &extent, uint64_t length) { m_file->adviseWillNeed(extent.offset, BlockHeader::kSize + length); }
    // The block just written goes to the disk now rather than at the commit's sync.
    void startWriteback(const Extent &extent) { m_file->startWriteback(extent.offset, extent.size()); }

    // Takes disk space for the whole block now (see io::File::allocate).
    Status allocate(const Extent &extent) { return m_file->allocate(extent.offset, extent.size()); }
    // Gives the disk space of a free range back to the file system. Only
    // for ranges no committed generation uses (after the commit that freed
    // them is durable).
    Status punchHole(const ByteRange &range) { return m_file->punchHole(range.offset, range.length); }

    // Makes the file exactly units * 16 MiB long.
    Status resizeToUnits(uint32_t units) { return m_file->truncate(uint64_t(units) * kUnitSize); }
    // Makes the file at least units * 16 MiB long (never shorter).
    Status growToUnits(uint32_t units);

    Status writeDataBlock(const Extent &extent, const BlockHeader &header, QByteArrayView payload);
    Result<BlockHeader> readHeader(const Extent &extent);
    Result<QByteArray> readDataBlock(const Extent &extent, const DataBlockExpectation &expect);
    // The two halves of readDataBlock, so the hashing can go to another
    // thread: reads the payload after checking the header against expect...
    Result<QByteArray> readDataBlockUnverified(const Extent &extent, const DataBlockExpectation &expect);
    // ...and checks the payload's SHA-256. Thread-safe (touches no file).
    static Status verifyPayload(QByteArrayView payload, const Extent &extent, const DataBlockExpectation &expect);

private:
    std::unique_ptr<io::File> m_file;
};

} // namespace vd::storage
