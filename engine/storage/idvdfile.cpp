#include "idvdfile.h"

namespace vd::storage {

Result<QByteArray> IdvdFile::read(uint64_t offset, size_t len)
{
    QByteArray buf(qsizetype(len), Qt::Uninitialized);
    VD_TRY(m_file->read(offset, buf.data(), len));
    return buf;
}

Status IdvdFile::growToUnits(uint32_t units)
{
    VD_TRY_ASSIGN(const uint64_t size, m_file->size());
    if (size >= uint64_t(units) * kUnitSize)
        return {};
    return resizeToUnits(units);
}

Status IdvdFile::writeDataBlock(const Extent &extent, const BlockHeader &header, QByteArrayView payload)
{
    if (uint64_t(payload.size()) > BlockHeader::capacity(extent.sizeClass))
        return Status::internal(QStringLiteral("payload of %1 bytes does not fit a %2 MiB block").arg(payload.size()).arg(extent.size() >> 20));
    VD_TRY(m_file->write(extent.offset, header.encode()));
    return m_file->write(extent.offset + BlockHeader::kSize, payload);
}

Result<BlockHeader> IdvdFile::readHeader(const Extent &extent)
{
    VD_TRY_ASSIGN(const QByteArray raw, read(extent.offset, BlockHeader::kSize));
    auto header = BlockHeader::decode(raw);
    if (!header)
        return header.status().withContext(QStringLiteral("block at offset %1").arg(extent.offset));
    if (header->sizeClass != extent.sizeClass)
        return Status::corruption(QStringLiteral("block at offset %1: header says %2 MiB, the reference %3 MiB")
                                      .arg(extent.offset)
                                      .arg(classSize(header->sizeClass) >> 20)
                                      .arg(extent.size() >> 20));
    return header;
}

Result<QByteArray> IdvdFile::readDataBlockUnverified(const Extent &extent, const DataBlockExpectation &expect)
{
    VD_TRY_ASSIGN(const BlockHeader header, readHeader(extent));
    const QString where = QStringLiteral("block %1 v%2 at offset %3").arg(expect.blockId.toString()).arg(expect.version).arg(extent.offset);
    if (header.kind != BlockKind::Data || header.blockId != expect.blockId || header.version != expect.version)
        return Status::corruption(QStringLiteral("%1: the header names %2 block %3 v%4 instead")
                                      .arg(where, blockKindName(header.kind), header.blockId.toString())
                                      .arg(header.version));
    if (header.usedLength != expect.length || header.payloadHash != expect.hash)
        return Status::corruption(QStringLiteral("%1: the header's length or hash differs from the reference").arg(where));
    QByteArray payload(qsizetype(expect.length), Qt::Uninitialized);
    VD_TRY(m_file->read(extent.offset + BlockHeader::kSize, payload.data(), expect.length));
    return payload;
}

Status IdvdFile::verifyPayload(QByteArrayView payload, const Extent &extent, const DataBlockExpectation &expect)
{
    if (sha256(payload) != expect.hash)
        return Status::corruption(QStringLiteral("block %1 v%2 at offset %3: the content does not match its SHA-256 (the bytes on disk changed)")
                                      .arg(expect.blockId.toString())
                                      .arg(expect.version)
                                      .arg(extent.offset));
    return {};
}

Result<QByteArray> IdvdFile::readDataBlock(const Extent &extent, const DataBlockExpectation &expect)
{
    VD_TRY_ASSIGN(QByteArray payload, readDataBlockUnverified(extent, expect));
    VD_TRY(verifyPayload(payload, extent, expect));
    return payload;
}

} // namespace vd::storage
