#include "metafile.h"

#include "formatversion.h"

#include "core/bytes.h"
#include "core/utf8.h"

namespace vd::storage {

namespace {
constexpr char kMagic[8] = {'V', 'D', 'R', 'V', 'M', 'E', 'T', 'A'};

QString olderBuildAdvice()
{
    return QStringLiteral("this build cannot read it; copy the objects out with the vdrive that made it (vdrive get-object) "
                          "and into a collection made by this one (vdrive init, vdrive put-object)");
}

// The state after the generation and the RUID, as both a .meta copy and a
// head slot hold it: created_ms … members.
void encodeState(QByteArray *out, const Meta &m)
{
    ByteWriter w(out);
    w.u64(uint64_t(m.createdMs));
    w.u64(uint64_t(m.committedMs));
    const QByteArray nameUtf8 = m.name.toUtf8();
    w.u16(uint16_t(nameUtf8.size()));
    w.bytes(nameUtf8);
    w.u32(m.smallThreshold);
    w.u8(m.smallBlockClass);
    w.u8(m.catalogBlockClass);
    w.u8(m.clusterMaxBlocks);
    w.u8(0);
    w.u32(m.units);
    w.u64(m.bitmap.offset);
    w.u32(m.bitmap.length);
    w.bytes(m.bitmap.hash.view());
    const QByteArray rootBytes = m.root.encode();
    w.u16(uint16_t(rootBytes.size()));
    w.bytes(rootBytes);
    w.u16(uint16_t(m.members.size()));
    for (const QByteArray &member : m.members)
        w.bytes(member);
}

// Reads what encodeState wrote and checks it; what names the structure.
Status decodeState(ByteReader &body, Meta *m, const QString &what, bool rootWithTail)
{
    m->createdMs = int64_t(body.u64());
    m->committedMs = int64_t(body.u64());
    const uint16_t nameLen = body.u16();
    if (nameLen > Meta::kMaxNameBytes)
        body.fail(QStringLiteral("name of %1 bytes").arg(nameLen));
    const QByteArrayView nameBytes = body.bytes(nameLen);
    m->name = utf8ToString(nameBytes);
    m->smallThreshold = body.u32();
    m->smallBlockClass = body.u8();
    m->catalogBlockClass = body.u8();
    m->clusterMaxBlocks = body.u8();
    body.skip(1);
    m->units = body.u32();
    m->bitmap.offset = body.u64();
    m->bitmap.length = body.u32();
    m->bitmap.hash = Hash256::fromView(body.bytes(32));
    const uint16_t rootLen = body.u16();
    const QByteArrayView rootBytes = body.bytes(rootLen);
    const uint16_t memberCount = body.u16();
    if (memberCount > Meta::kMaxMembers)
        body.fail(QStringLiteral("%1 members, at most %2").arg(memberCount).arg(Meta::kMaxMembers));
    for (uint16_t i = 0; i < memberCount && body.ok(); ++i)
        m->members.push_back(body.bytes(32).toByteArray());
    VD_TRY(body.finish());
    VD_TRY(validateCollectionName(m->name).withContext(what));
    if (m->ruid.isNull())
        return Status::corruption(QStringLiteral("%1: null RUID").arg(what));
    if (m->units == 0 || m->units > kMaxUnits)
        return Status::corruption(QStringLiteral("%1: %2 units").arg(what).arg(m->units));
    if (!isValidClass(m->smallBlockClass) || !isValidClass(m->catalogBlockClass) || m->clusterMaxBlocks == 0 || m->clusterMaxBlocks > 64
        || m->smallThreshold > BlockHeader::capacity(0))
        return Status::corruption(QStringLiteral("%1: packing parameters out of range").arg(what));
    if (m->bitmap.length > 64 + 4 * uint64_t(kMaxUnits) || m->bitmap.offset > (uint64_t(1) << 40))
        return Status::corruption(QStringLiteral("%1: bitmap location out of range").arg(what));
    auto root = RootRecord::decode(rootBytes, rootWithTail);
    if (!root)
        return root.status().withContext(what);
    m->root = std::move(root).value();
    if (m->root.generation != m->generation)
        return Status::corruption(QStringLiteral("%1: root record is of generation %2, the state of %3").arg(what).arg(m->root.generation).arg(m->generation));
    return {};
}

} // namespace

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
    encodeState(&out, *this);
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
    // The checksum before the format: a flipped bit in the format field is damage.
    if (sha256(bytes.first(bodyLength)) != Hash256::fromView(bytes.sliced(bodyLength, 32)))
        return Status::corruption(QStringLiteral(".meta copy: checksum mismatch"));
    VD_TRY(checkFormat(QStringLiteral(".meta"), format, kOldestReadable, kFormat, olderBuildAdvice()));
    ByteReader body(bytes.first(bodyLength), QStringLiteral(".meta copy"));
    body.skip(16);
    Meta m;
    m.generation = body.u64();
    m.ruid = Ruid::fromView(body.bytes(16));
    // Format 2's root record ends before the catalog format and the reserve.
    VD_TRY(decodeState(body, &m, QStringLiteral(".meta copy"), format >= 3));
    return m;
}

QByteArray HeadSlot::encode(const Meta &state)
{
    QByteArray body;
    ByteWriter(&body).u64(state.generation);
    encodeState(&body, state);
    QByteArray out;
    ByteWriter w(&out);
    w.u32(kMagic);
    w.u16(kFormat);
    w.u16(uint16_t(body.size()));
    w.bytes(state.ruid.view());
    w.bytes(body);
    w.bytes(sha256(out).view());
    return out;
}

Result<HeadSlot> HeadSlot::decode(QByteArrayView bytes, const Ruid &collection)
{
    const QString what = QStringLiteral("idvd head slot");
    ByteReader r(bytes, what);
    if (r.u32() != kMagic)
        return Status::corruption(QStringLiteral("%1: bad magic").arg(what));
    const uint16_t format = r.u16();
    const uint16_t len = r.u16();
    if (len > kSlotSize - 24 - 32)
        return Status::corruption(QStringLiteral("%1: length %2 too large").arg(what).arg(len));
    const Ruid owner = Ruid::fromView(r.bytes(16));
    const QByteArrayView body = r.bytes(len);
    const qsizetype covered = r.position();
    const Hash256 sum = Hash256::fromView(r.bytes(32));
    VD_TRY(r.status());
    // Every format keeps this framing, so the checksum comes before the format.
    if (sha256(bytes.first(covered)) != sum)
        return Status::corruption(QStringLiteral("%1: checksum mismatch").arg(what));
    VD_TRY(checkFormat(what, format, kOldestReadable, kFormat, olderBuildAdvice()));
    if (owner != collection)
        return Status::corruption(QStringLiteral("idvd head belongs to collection %1, not %2").arg(owner.toString(), collection.toString()));
    HeadSlot slot;
    slot.format = format;
    slot.state.ruid = owner;
    if (format == 2) {
        auto root = RootRecord::decode(body, false);
        if (!root)
            return root.status().withContext(what);
        slot.state.root = std::move(root).value();
        slot.state.generation = slot.state.root.generation;
        return slot;
    }
    ByteReader b(body, what);
    slot.state.generation = b.u64();
    VD_TRY(decodeState(b, &slot.state, what, true));
    return slot;
}

Result<MetaCopies> readMetaCopies(io::File &file)
{
    VD_TRY_ASSIGN(const uint64_t size, file.size());
    if (size != 2 * Meta::kCopySize)
        return Status::corruption(QStringLiteral("'%1' is %2 bytes; a .meta is %3").arg(file.path()).arg(size).arg(2 * Meta::kCopySize));
    QByteArray raw(2 * Meta::kCopySize, Qt::Uninitialized);
    VD_TRY(file.read(0, raw.data(), size_t(raw.size())));
    Result<Meta> copy[2] = {Meta::decodeCopy(QByteArrayView(raw).first(Meta::kCopySize)), Meta::decodeCopy(QByteArrayView(raw).last(Meta::kCopySize))};
    for (const Result<Meta> &c : copy)
        if (c.status().code() == ErrorCode::VersionMismatch)
            return c.status();
    MetaCopies out;
    if (copy[0] && copy[1]) {
        if (copy[0]->ruid != copy[1]->ruid)
            return Status::corruption(QStringLiteral("'%1': the two copies name different collections").arg(file.path()));
        out.meta = copy[0]->generation >= copy[1]->generation ? std::move(copy[0]).value() : std::move(copy[1]).value();
        return out;
    }
    for (int i = 0; i < 2; ++i) {
        if (copy[i]) {
            out.meta = std::move(copy[i]).value();
            out.damagedCopy = 1 - i;
            out.damage = copy[1 - i].status();
            return out;
        }
    }
    return Status::corruption(QStringLiteral("'%1' has no valid copy (first: %2; second: %3)")
                                  .arg(file.path(), copy[0].status().message(), copy[1].status().message()));
}

Result<Meta> readMeta(io::File &file)
{
    VD_TRY_ASSIGN(MetaCopies copies, readMetaCopies(file));
    return std::move(copies.meta);
}

Status writeMeta(io::File &file, const Meta &m)
{
    return writeMetaCopy(file, int(m.generation % 2), m);
}

Status writeMetaCopy(io::File &file, int index, const Meta &m)
{
    VD_TRY(file.write(uint64_t(index) * Meta::kCopySize, m.encodeCopy()));
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
