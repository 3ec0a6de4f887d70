#include "metafile.h"
#include "core/utf8.h"

#include "core/bytes.h"

namespace vd::storage {

namespace {
constexpr char kMagic[8] = {'V', 'D', 'R', 'V', 'M', 'E', 'T', 'A'};
}

QByteArray Meta::encodeCopy() const
{
    QByteArray out;
    out.reserve(kCopySize);
    ByteWriter w(&out);
    w.bytes(QByteArrayView(kMagic, 8));
    w.u16(kFormat);
    w.u16(0);
    w.u32(0); // body length, patched below
    w.u64(generation);
    w.bytes(ruid.view());
    w.u64(uint64_t(createdMs));
    w.u64(uint64_t(committedMs));
    const QByteArray nameUtf8 = name.toUtf8();
    w.u16(uint16_t(nameUtf8.size()));
    w.bytes(nameUtf8);
    w.u32(smallThreshold);
    w.u8(smallBlockClass);
    w.u8(catalogBlockClass);
    w.u8(clusterMaxBlocks);
    w.u8(0);
    w.u32(units);
    w.u64(bitmap.offset);
    w.u32(bitmap.length);
    w.bytes(bitmap.hash.view());
    const QByteArray rootBytes = root.encode();
    w.u16(uint16_t(rootBytes.size()));
    w.bytes(rootBytes);
    w.u16(uint16_t(members.size()));
    for (const QByteArray &m : members)
        w.bytes(m);
    const uint32_t bodyLength = uint32_t(out.size());
    for (int i = 0; i < 4; ++i)
        out[12 + i] = char(uint8_t(bodyLength >> (8 * i)));
    w.bytes(sha256(out).view());
    out.resize(kCopySize, '\0');
    return out;
}

Result<Meta> Meta::decodeCopy(QByteArrayView bytes)
{
    if (bytes.size() != kCopySize)
        return Status::corruption(QStringLiteral(".meta copy: %1 bytes instead of %2").arg(bytes.size()).arg(kCopySize));
    ByteReader r(bytes, QStringLiteral(".meta copy"));
    if (r.bytes(8) != QByteArrayView(kMagic, 8))
        return Status::corruption(QStringLiteral(".meta copy: bad magic (not a vdrive .meta)"));
    const uint16_t format = r.u16();
    r.skip(2);
    const uint32_t bodyLength = r.u32();
    if (bodyLength < 16 || bodyLength > kCopySize - 32)
        return Status::corruption(QStringLiteral(".meta copy: body length %1 out of range").arg(bodyLength));
    if (sha256(bytes.first(bodyLength)) != Hash256::fromView(bytes.sliced(bodyLength, 32)))
        return Status::corruption(QStringLiteral(".meta copy: checksum mismatch"));
    if (format != 2 && format != kFormat)
        return Status::versionMismatch(QStringLiteral(".meta is format %1; this build of vdrive reads formats 2 to %2").arg(format).arg(kFormat));
    ByteReader body(bytes.first(bodyLength), QStringLiteral(".meta copy"));
    body.skip(16);
    Meta m;
    m.generation = body.u64();
    m.ruid = Ruid::fromView(body.bytes(16));
    m.createdMs = int64_t(body.u64());
    m.committedMs = int64_t(body.u64());
    const uint16_t nameLen = body.u16();
    if (nameLen > kMaxNameBytes)
        body.fail(QStringLiteral("name of %1 bytes").arg(nameLen));
    const QByteArrayView nameBytes = body.bytes(nameLen);
    m.name = utf8ToString(nameBytes);
    m.smallThreshold = body.u32();
    m.smallBlockClass = body.u8();
    m.catalogBlockClass = body.u8();
    m.clusterMaxBlocks = body.u8();
    body.skip(1);
    m.units = body.u32();
    m.bitmap.offset = body.u64();
    m.bitmap.length = body.u32();
    m.bitmap.hash = Hash256::fromView(body.bytes(32));
    const uint16_t rootLen = body.u16();
    const QByteArrayView rootBytes = body.bytes(rootLen);
    const uint16_t memberCount = body.u16();
    if (memberCount > kMaxMembers)
        body.fail(QStringLiteral("%1 members, at most %2").arg(memberCount).arg(kMaxMembers));
    for (uint16_t i = 0; i < memberCount && body.ok(); ++i)
        m.members.push_back(body.bytes(32).toByteArray());
    VD_TRY(body.finish());
    VD_TRY(validateCollectionName(m.name).withContext(QStringLiteral(".meta copy")));
    if (m.ruid.isNull())
        return Status::corruption(QStringLiteral(".meta copy: null RUID"));
    if (m.units == 0 || m.units > kMaxUnits)
        return Status::corruption(QStringLiteral(".meta copy: %1 units").arg(m.units));
    if (!isValidClass(m.smallBlockClass) || !isValidClass(m.catalogBlockClass) || m.clusterMaxBlocks == 0 || m.clusterMaxBlocks > 64
        || m.smallThreshold > BlockHeader::capacity(0))
        return Status::corruption(QStringLiteral(".meta copy: packing parameters out of range"));
    if (m.bitmap.length > 64 + 4 * uint64_t(kMaxUnits) || m.bitmap.offset > (uint64_t(1) << 40))
        return Status::corruption(QStringLiteral(".meta copy: bitmap location out of range"));
    auto root = RootRecord::decode(rootBytes, format >= 3);
    if (!root)
        return root.status().withContext(QStringLiteral(".meta copy"));
    m.root = std::move(root).value();
    if (m.root.generation != m.generation)
        return Status::corruption(QStringLiteral(".meta copy: root record is of generation %1, the copy of %2").arg(m.root.generation).arg(m.generation));
    return m;
}

Result<Meta> readMeta(io::File &file)
{
    VD_TRY_ASSIGN(const uint64_t size, file.size());
    if (size != 2 * Meta::kCopySize)
        return Status::corruption(QStringLiteral("'%1' is %2 bytes; a .meta is %3").arg(file.path()).arg(size).arg(2 * Meta::kCopySize));
    QByteArray raw(2 * Meta::kCopySize, Qt::Uninitialized);
    VD_TRY(file.read(0, raw.data(), size_t(raw.size())));
    auto a = Meta::decodeCopy(QByteArrayView(raw).first(Meta::kCopySize));
    auto b = Meta::decodeCopy(QByteArrayView(raw).last(Meta::kCopySize));
    if (a && b) {
        if (a->ruid != b->ruid)
            return Status::corruption(QStringLiteral("'%1': the two copies name different collections").arg(file.path()));
        return a->generation >= b->generation ? std::move(a) : std::move(b);
    }
    if (a)
        return a;
    if (b)
        return b;
    if (a.status().code() == ErrorCode::VersionMismatch)
        return a.status();
    if (b.status().code() == ErrorCode::VersionMismatch)
        return b.status();
    return Status::corruption(QStringLiteral("'%1' has no valid copy (first: %2; second: %3)")
                                  .arg(file.path(), a.status().message(), b.status().message()));
}

Status writeMeta(io::File &file, const Meta &m)
{
    VD_TRY(file.write(uint64_t(m.generation % 2) * Meta::kCopySize, m.encodeCopy()));
    return file.sync();
}

Status validateCollectionName(const QString &name)
{
    const QByteArray utf8 = name.toUtf8();
    if (utf8.isEmpty())
        return Status::invalidArgument(QStringLiteral("a collection name cannot be empty"));
    if (utf8.size() > Meta::kMaxNameBytes)
        return Status::invalidArgument(QStringLiteral("a collection name is at most %1 bytes of UTF-8 (this one is %2)").arg(Meta::kMaxNameBytes).arg(utf8.size()));
    if (utf8ToString(utf8) != name)
        return Status::invalidArgument(QStringLiteral("a collection name must be valid UTF-8"));
    if (name == QStringLiteral(".") || name == QStringLiteral(".."))
        return Status::invalidArgument(QStringLiteral("'%1' cannot name a collection").arg(name));
    if (name.front().isSpace() || name.back().isSpace())
        return Status::invalidArgument(QStringLiteral("a collection name cannot begin or end with a space"));
    for (QChar c : name)
        if (c.category() == QChar::Other_Control || c == QLatin1Char('/'))
            return Status::invalidArgument(QStringLiteral("a collection name cannot contain '/' or control characters"));
    return {};
}

} // namespace vd::storage
