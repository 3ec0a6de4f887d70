#include "vnode.h"
#include "core/utf8.h"

#include "core/bytes.h"
#include "storage/records.h"

#include <algorithm>

namespace vd::tree {

namespace {
// vnode_record and index_record: 2 carries a version vector, 1 (still read)
// a Lamport pair (counter, origin). trash_record is still of format 1.
constexpr uint8_t kNodeFormat = 2;
constexpr uint8_t kLegacyNodeFormat = 1;
constexpr uint8_t kTrashFormat = 1;

Ruid fixedId(uint8_t last)
{
    Ruid r;
    r.bytes[15] = last;
    return r;
}

// A format-1 version, (counter: u64, origin: u8[16]), as the vector it
// stands for (legacyNode()).
VersionVector readLegacyVersion(ByteReader &r)
{
    const uint64_t counter = r.u64();
    const Ruid origin = Ruid::fromView(r.bytes(16));
    VersionVector v;
    if (!r.ok() || counter == 0)
        return v;
    if (counter > VersionVector::kMaxCounter) {
        r.fail(QStringLiteral("a version counter above 2^63 - 1"));
        return v;
    }
    (void)v.increment(legacyNode(origin), counter); // one entry: cannot fail within the bound
    return v;
}

// The version of a record of the given format: a vector (2) or a legacy
// pair (1).
VersionVector readVersion(ByteReader &r, uint8_t format)
{
    return format == kLegacyNodeFormat ? readLegacyVersion(r) : VersionVector::decodeFrom(r);
}

// The record format byte of a vnode or index record: 1 or 2, else failed.
uint8_t readNodeFormat(ByteReader &r)
{
    return r.format(kLegacyNodeFormat, kNodeFormat);
}

// A name field: what decodeStoredName() allows under parent. Sticky failure
// on the reader otherwise.
QString readName(ByteReader &r, const Ruid &parent)
{
    const QByteArrayView raw = r.blob(VNode::kMaxNameBytes);
    if (!r.ok())
        return {};
    auto name = decodeStoredName(parent, raw, QStringLiteral("name"));
    if (!name) {
        r.fail(name.status().message());
        return {};
    }
    return std::move(name).value();
}
} // namespace

QString kindName(Kind kind)
{
    switch (kind) {
    case Kind::Directory:
        return QStringLiteral("directory");
    case Kind::File:
        return QStringLiteral("file");
    case Kind::JsonObject:
        return QStringLiteral("json-object");
    case Kind::JsonArray:
        return QStringLiteral("json-array");
    case Kind::JsonValue:
        return QStringLiteral("json-value");
    }
    return QStringLiteral("unknown");
}

bool isContainer(Kind kind)
{
    return kind == Kind::Directory || kind == Kind::JsonObject || kind == Kind::JsonArray;
}

bool isJson(Kind kind)
{
    return kind == Kind::JsonObject || kind == Kind::JsonArray || kind == Kind::JsonValue;
}

VersionStamp stampOf(const VersionVector &v)
{
    VersionStamp best;
    for (const VersionVector::Entry &e : v.entries())
        best = std::max(best, VersionStamp{e.counter, e.node});
    return best;
}

uint64_t legacyNode(const Ruid &origin)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; ++i)
        x = (x << 8) | origin.bytes[size_t(i)];
    return x;
}

QString changeOpName(ChangeOp op)
{
    switch (op) {
    case ChangeOp::Create:
        return QStringLiteral("create");
    case ChangeOp::Modify:
        return QStringLiteral("modify");
    case ChangeOp::Move:
        return QStringLiteral("move");
    case ChangeOp::Remove:
        return QStringLiteral("remove");
    case ChangeOp::SnapshotCreate:
        return QStringLiteral("snapshot-create");
    case ChangeOp::SnapshotDelete:
        return QStringLiteral("snapshot-delete");
    }
    return QStringLiteral("unknown");
}

QByteArray VNode::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(kNodeFormat);
    w.u8(uint8_t(kind));
    w.bytes(id.view());
    w.u64(size);
    w.u64(uint64_t(createdMs));
    w.u64(uint64_t(modifiedMs));
    version.encodeTo(w);
    w.u32(clusterCount);
    w.u64(ordinal);
    w.blob(value);
    return out;
}

Result<VNode> VNode::decode(QByteArrayView raw, const Ruid &parent, const QString &name)
{
    ByteReader r(raw, QStringLiteral("VNode record"));
    VNode n;
    n.parent = parent;
    n.name = name;
    const uint8_t format = readNodeFormat(r);
    const uint8_t kind = r.u8();
    if (r.ok() && (kind < uint8_t(Kind::Directory) || kind > uint8_t(Kind::JsonValue)))
        r.fail(QStringLiteral("unknown kind %1").arg(kind));
    n.kind = Kind(kind);
    n.id = Ruid::fromView(r.bytes(16));
    n.size = r.u64();
    n.createdMs = int64_t(r.u64());
    n.modifiedMs = int64_t(r.u64());
    n.version = readVersion(r, format);
    n.clusterCount = r.u32();
    n.ordinal = r.u64();
    n.value = r.blob(kMaxInlineValue).toByteArray();
    VD_TRY(r.finish());
    if (n.id.isNull())
        return Status::corruption(QStringLiteral("VNode record '%1': null id").arg(name));
    if (n.kind != Kind::File && n.clusterCount != 0)
        return Status::corruption(QStringLiteral("VNode record '%1': a %2 with clusters").arg(name, kindName(n.kind)));
    return n;
}

Result<std::optional<Ruid>> VNode::containerIdOf(QByteArrayView raw)
{
    ByteReader r(raw, QStringLiteral("VNode record"));
    (void)readNodeFormat(r); // both formats start with kind and id
    const uint8_t kind = r.u8();
    if (r.ok() && (kind < uint8_t(Kind::Directory) || kind > uint8_t(Kind::JsonValue)))
        r.fail(QStringLiteral("unknown kind %1").arg(kind));
    const Ruid id = Ruid::fromView(r.bytes(16));
    VD_TRY(r.status());
    return tree::isContainer(Kind(kind)) ? std::optional<Ruid>(id) : std::nullopt;
}

QByteArray IndexRecord::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(kNodeFormat);
    w.bytes(parent.view());
    version.encodeTo(w);
    w.blob(name.toUtf8());
    return out;
}

Result<IndexRecord> IndexRecord::decode(QByteArrayView raw)
{
    ByteReader r(raw, QStringLiteral("index record"));
    IndexRecord x;
    const uint8_t format = readNodeFormat(r);
    x.parent = Ruid::fromView(r.bytes(16));
    x.version = readVersion(r, format);
    x.name = readName(r, x.parent);
    VD_TRY(r.finish());
    return x;
}

QByteArray TrashRecord::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(kTrashFormat);
    w.bytes(originalParent.view());
    w.u64(uint64_t(deletedMs));
    w.blob(originalName.toUtf8());
    w.blob(originalPath.toUtf8());
    return out;
}

Result<TrashRecord> TrashRecord::decode(QByteArrayView raw)
{
    ByteReader r(raw, QStringLiteral("trash record"));
    TrashRecord t;
    r.format(kTrashFormat, kTrashFormat);
    t.originalParent = Ruid::fromView(r.bytes(16));
    t.deletedMs = int64_t(r.u64());
    t.originalName = readName(r, t.originalParent);
    const QByteArrayView path = r.blob(VNode::kMaxPathBytes);
    t.originalPath = utf8ToString(path);
    if (r.ok() && (!path.startsWith('/') || t.originalPath.toUtf8() != path))
        r.fail(QStringLiteral("the original path is not an absolute path in UTF-8"));
    VD_TRY(r.finish());
    return t;
}

namespace {
constexpr uint8_t kTombstoneFormat = 1;
} // namespace

QByteArray Tombstone::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(kTombstoneFormat);
    w.bytes(parent.view());
    w.u64(uint64_t(removedMs));
    version.encodeTo(w);
    return out;
}

Result<Tombstone> Tombstone::decode(QByteArrayView raw)
{
    ByteReader r(raw, QStringLiteral("tombstone record"));
    Tombstone t;
    r.format(kTombstoneFormat, kTombstoneFormat);
    t.parent = Ruid::fromView(r.bytes(16));
    t.removedMs = int64_t(r.u64());
    t.version = VersionVector::decodeFrom(r);
    VD_TRY(r.finish());
    if (t.version.isEmpty())
        return Status::corruption(QStringLiteral("tombstone record: an empty version"));
    return t;
}

namespace {
// 3 carries a version vector; 2 (still read) a Lamport pair, as
// vnode_record format 1; 1 is dropped by a writable open (ChangeFeed::upgrade).
constexpr uint8_t kChangeFormat = 3;
constexpr uint8_t kLegacyChangeFormat = 2;
constexpr uint8_t kConsumerFormat = 1;
constexpr int kContentBytes = 32;

void writeSide(ByteWriter &w, const ChangeSide &s)
{
    w.u8(uint8_t(s.kind));
    w.bytes(s.parent.view());
    w.u64(s.size);
    w.u64(uint64_t(s.modifiedMs));
    w.blob(s.content);
    w.blob(s.name.toUtf8());
}

ChangeSide readSide(ByteReader &r)
{
    ChangeSide s;
    const uint8_t kind = r.u8();
    if (r.ok() && (kind < uint8_t(Kind::Directory) || kind > uint8_t(Kind::JsonValue)))
        r.fail(QStringLiteral("unknown kind %1").arg(kind));
    s.kind = Kind(kind);
    s.parent = Ruid::fromView(r.bytes(16));
    s.size = r.u64();
    s.modifiedMs = int64_t(r.u64());
    s.content = r.blob(kContentBytes).toByteArray();
    if (r.ok() && !s.content.isEmpty() && s.content.size() != kContentBytes)
        r.fail(QStringLiteral("a content id of %1 bytes").arg(s.content.size()));
    s.name = readName(r, s.parent);
    return s;
}
} // namespace

QByteArray ChangeRecord::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(kChangeFormat);
    w.u8(uint8_t(op));
    w.u64(generation);
    w.bytes(id.view());
    version.encodeTo(w);
    w.u64(uint64_t(timeMs));
    w.u8(uint8_t((before ? 1 : 0) | (after ? 2 : 0)));
    if (before)
        writeSide(w, *before);
    if (after)
        writeSide(w, *after);
    w.blob(snapshot.toUtf8());
    return out;
}

int ChangeRecord::formatOf(QByteArrayView raw)
{
    return raw.isEmpty() ? 0 : uint8_t(raw[0]);
}

Result<ChangeRecord> ChangeRecord::decode(QByteArrayView raw, uint64_t sequence)
{
    if (formatOf(raw) == 1)
        return Status::versionMismatch(QStringLiteral("change record %1 is of format 1, written by an earlier vdrive before the feed was complete: "
                                                      "open the collection for writing once with this build (any command that changes it) to upgrade the feed")
                                           .arg(sequence));
    ByteReader r(raw, QStringLiteral("change record"));
    ChangeRecord c;
    c.sequence = sequence;
    const uint8_t format = r.format(kLegacyChangeFormat, kChangeFormat);
    const uint8_t op = r.u8();
    if (r.ok() && (op < uint8_t(ChangeOp::Create) || op > uint8_t(ChangeOp::SnapshotDelete)))
        r.fail(QStringLiteral("unknown operation %1").arg(op));
    c.op = ChangeOp(op);
    c.generation = r.u64();
    c.id = Ruid::fromView(r.bytes(16));
    c.version = format == kLegacyChangeFormat ? readLegacyVersion(r) : VersionVector::decodeFrom(r);
    c.timeMs = int64_t(r.u64());
    const uint8_t sides = r.u8();
    if (r.ok() && sides > 3)
        r.fail(QStringLiteral("unknown sides %1").arg(sides));
    if (r.ok() && (sides & 1))
        c.before = readSide(r);
    if (r.ok() && (sides & 2))
        c.after = readSide(r);
    const QByteArrayView snap = r.blob(VNode::kMaxNameBytes);
    if (r.ok() && !snap.isEmpty()) {
        c.snapshot = utf8ToString(snap);
        if (c.snapshot.toUtf8() != snap || !validateName(c.snapshot))
            r.fail(QStringLiteral("the snapshot name is not a valid name"));
    }
    VD_TRY(r.finish());
    // What each operation carries, and nothing else.
    bool shaped = false;
    switch (c.op) {
    case ChangeOp::Create:
        shaped = !c.before && c.after && !c.id.isNull();
        break;
    case ChangeOp::Remove:
        shaped = c.before && !c.after && !c.id.isNull();
        break;
    case ChangeOp::Modify:
        shaped = c.before && c.after && !c.id.isNull() && c.before->parent == c.after->parent && c.before->name == c.after->name;
        break;
    case ChangeOp::Move:
        shaped = c.before && c.after && !c.id.isNull() && (c.before->parent != c.after->parent || c.before->name != c.after->name);
        break;
    case ChangeOp::SnapshotCreate:
    case ChangeOp::SnapshotDelete:
        shaped = !c.before && !c.after && c.id.isNull() && !c.snapshot.isEmpty();
        break;
    }
    if (shaped && !c.isSnapshot() && !c.snapshot.isEmpty())
        shaped = false;
    if (!shaped)
        return Status::corruption(QStringLiteral("change record %1: a %2 with the wrong fields").arg(sequence).arg(changeOpName(c.op)));
    return c;
}

QByteArray ConsumerRecord::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(kConsumerFormat);
    w.u64(next);
    w.u64(uint64_t(updatedMs));
    return out;
}

Result<ConsumerRecord> ConsumerRecord::decode(QByteArrayView raw)
{
    ByteReader r(raw, QStringLiteral("consumer record"));
    ConsumerRecord c;
    r.format(kConsumerFormat, kConsumerFormat);
    c.next = r.u64();
    c.updatedMs = int64_t(r.u64());
    VD_TRY(r.finish());
    if (c.next == 0)
        return Status::corruption(QStringLiteral("consumer record: sequence 0"));
    return c;
}

namespace keys {

QByteArray entryPrefix(const Ruid &parent) { return storage::keys::make(kEntry, parent.view()); }

QByteArray entryPrefixEnd(const Ruid &parent)
{
    QByteArray k = entryPrefix(parent);
    // Names never contain 0xff bytes (not valid UTF-8), so this follows them all.
    k.append(char(0xff));
    return k;
}

QByteArray entry(const Ruid &parent, const QString &name)
{
    QByteArray k = entryPrefix(parent);
    k.append(name.toUtf8());
    return k;
}

QByteArray index(const Ruid &id) { return storage::keys::make(kIndex, id.view()); }
QByteArray trash(const Ruid &id) { return storage::keys::make(kTrash, id.view()); }
QByteArray change(uint64_t sequence) { return storage::keys::make(kChange, {}, sequence); }

bool parseChangeKey(QByteArrayView key, uint64_t *sequence)
{
    if (key.size() != 9 || key[0] != kChange)
        return false;
    *sequence = storage::keys::readBigEndian(key.sliced(1));
    return true;
}

QByteArray consumer(const QString &name) { return storage::keys::make(kConsumer, name.toUtf8()); }
QByteArray tombstone(const Ruid &id) { return storage::keys::make(kTombstone, id.view()); }
QByteArray tombstoneCount() { return QByteArray(1, kTombstone); }

} // namespace keys

Ruid rootId()
{
    return fixedId(1);
}

Ruid trashId()
{
    return fixedId(2);
}

Status validateName(const QString &name)
{
    const QByteArray utf8 = name.toUtf8();
    if (utf8.isEmpty())
        return Status::invalidArgument(QStringLiteral("a name cannot be empty"));
    if (utf8.size() > VNode::kMaxNameBytes)
        return Status::invalidArgument(QStringLiteral("a name is at most %1 bytes of UTF-8; '%2…' is %3").arg(VNode::kMaxNameBytes).arg(name.left(40)).arg(utf8.size()));
    if (utf8.contains('/'))
        return Status::invalidArgument(QStringLiteral("a name cannot contain '/': '%1'").arg(name));
    if (utf8.contains('\0'))
        return Status::invalidArgument(QStringLiteral("a name cannot contain NUL"));
    if (name == QLatin1String(".") || name == QLatin1String(".."))
        return Status::invalidArgument(QStringLiteral("'%1' cannot be a name").arg(name));
    if (!QStringView(name).isValidUtf16())
        return Status::invalidArgument(QStringLiteral("a name must be valid Unicode (no lone surrogates)"));
    return {};
}

Result<QString> decodeStoredName(const Ruid &parent, QByteArrayView utf8, const QString &what)
{
    QString name = utf8ToString(utf8);
    if (parent.isNull()) {
        if (name.isEmpty() || name == QLatin1String("trash"))
            return name;
        return Status::corruption(QStringLiteral("%1 '%2' hangs from the null id, where only the root (\"\") and the trash are").arg(what, name.left(40)));
    }
    if (name.toUtf8() != utf8)
        return Status::corruption(QStringLiteral("%1 is not well-formed UTF-8").arg(what));
    if (Status valid = validateName(name); !valid)
        return Status::corruption(QStringLiteral("%1: %2").arg(what, valid.message()));
    return name;
}

} // namespace vd::tree
