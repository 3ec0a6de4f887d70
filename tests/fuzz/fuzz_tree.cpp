// Fuzzes the decoders of the tree's catalog records (tree/vnode.h): VNode,
// IndexRecord, TrashRecord, ChangeRecord and Tombstone. Byte 0 (mod 5) picks the
// decoder; the rest is the value. A VNode is decoded under a fixed parent and
// name and a change record with a fixed sequence (fuzz_common.h): in the
// catalog those come from the key, not from the bytes fuzzed here.
//
// None of these records has a checksum (the catalog page holding them has
// one), so there is nothing to fix up. A name they accept is one FORMAT.md
// allows (decodeStoredName: well-formed UTF-8, 1-255 bytes, ...), a trash
// record's path is absolute and at most kMaxPathBytes; only their lengths,
// varints that may be over-long, let the first re-encoding differ from the
// input, and from there encode -> decode -> encode must be stable.
#include "fuzz_common.h"

#include "tree/vnode.h"

using namespace vd;
using namespace vd::tree;

namespace {

bool isValidKind(Kind k)
{
    return uint8_t(k) >= uint8_t(Kind::Directory) && uint8_t(k) <= uint8_t(Kind::JsonValue);
}

// What FORMAT.md allows a name to be, checked apart from the decoders.
bool isAllowedName(const Ruid &parent, const QString &name)
{
    if (parent.isNull())
        return name.isEmpty() || name == QLatin1String("trash");
    const QByteArray utf8 = name.toUtf8();
    return !utf8.isEmpty() && utf8.size() <= VNode::kMaxNameBytes && !utf8.contains('/') && !utf8.contains('\0') && name != QLatin1String(".")
        && name != QLatin1String("..") && name.isValidUtf16();
}

bool sameVNode(const VNode &a, const VNode &b)
{
    return a.id == b.id && a.parent == b.parent && a.name == b.name && a.kind == b.kind && a.size == b.size && a.createdMs == b.createdMs
        && a.modifiedMs == b.modifiedMs && a.version == b.version && a.clusterCount == b.clusterCount && a.ordinal == b.ordinal
        && a.value == b.value;
}

void fuzzVNode(QByteArrayView raw)
{
    auto n = VNode::decode(raw, fuzz::treeParent(), fuzz::treeName());
    if (!n)
        return;
    FUZZ_CHECK(!n->id.isNull() && isValidKind(n->kind));
    FUZZ_CHECK(n->value.size() <= VNode::kMaxInlineValue);
    FUZZ_CHECK(n->kind == Kind::File || n->clusterCount == 0);
    FUZZ_CHECK(n->parent == fuzz::treeParent() && n->name == fuzz::treeName());
    const QByteArray again = n->encode();
    FUZZ_CHECK(again.size() <= raw.size()); // only an over-long varint shrinks
    auto n2 = VNode::decode(again, n->parent, n->name);
    FUZZ_CHECK(n2.isOk() && sameVNode(*n2, *n) && n2->encode() == again);
}

void fuzzIndex(QByteArrayView raw)
{
    auto x = IndexRecord::decode(raw);
    if (!x)
        return;
    FUZZ_CHECK(isAllowedName(x->parent, x->name));
    const QByteArray again = x->encode();
    auto x2 = IndexRecord::decode(again);
    FUZZ_CHECK(x2.isOk() && x2->parent == x->parent && x2->name == x->name && x2->version == x->version);
    FUZZ_CHECK(x2->encode() == again);
}

void fuzzTrash(QByteArrayView raw)
{
    auto t = TrashRecord::decode(raw);
    if (!t)
        return;
    FUZZ_CHECK(isAllowedName(t->originalParent, t->originalName));
    FUZZ_CHECK(t->originalPath.startsWith(QLatin1Char('/')) && t->originalPath.toUtf8().size() <= VNode::kMaxPathBytes);
    const QByteArray again = t->encode();
    auto t2 = TrashRecord::decode(again);
    FUZZ_CHECK(t2.isOk() && t2->originalParent == t->originalParent && t2->originalName == t->originalName
        && t2->originalPath == t->originalPath && t2->deletedMs == t->deletedMs);
    FUZZ_CHECK(t2->encode() == again);
}

void fuzzChange(QByteArrayView raw)
{
    auto c = ChangeRecord::decode(raw, fuzz::kChangeSequence);
    if (!c)
        return;
    for (const auto &side : {c->before, c->after})
        if (side)
            FUZZ_CHECK(isAllowedName(side->parent, side->name) && isValidKind(side->kind) && (side->content.isEmpty() || side->content.size() == 32));
    FUZZ_CHECK(c->sequence == fuzz::kChangeSequence);
    FUZZ_CHECK(uint8_t(c->op) >= uint8_t(ChangeOp::Create) && uint8_t(c->op) <= uint8_t(ChangeOp::SnapshotDelete));
    FUZZ_CHECK(c->isSnapshot() ? (!c->before && !c->after && !c->snapshot.isEmpty()) : (c->before || c->after));
    const QByteArray again = c->encode();
    auto c2 = ChangeRecord::decode(again, c->sequence);
    FUZZ_CHECK(c2.isOk() && c2->op == c->op && c2->id == c->id && c2->before == c->before && c2->after == c->after && c2->generation == c->generation
        && c2->version == c->version && c2->timeMs == c->timeMs && c2->snapshot == c->snapshot);
    FUZZ_CHECK(c2->encode() == again);
}

void fuzzTombstone(QByteArrayView raw)
{
    auto t = Tombstone::decode(raw);
    if (!t)
        return;
    FUZZ_CHECK(!t->version.isEmpty() && t->version.size() <= VersionVector::kMaxEntries);
    const QByteArray again = t->encode();
    FUZZ_CHECK(again.size() <= raw.size()); // only an over-long varint shrinks
    auto t2 = Tombstone::decode(again);
    FUZZ_CHECK(t2.isOk() && *t2 == *t && t2->encode() == again);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView in = fuzz::view(data, size);
    if (in.isEmpty())
        return 0;
    const QByteArrayView rest = in.sliced(1);
    switch (uint8_t(in[0]) % 5) {
    case 0:
        fuzzVNode(rest);
        break;
    case 1:
        fuzzIndex(rest);
        break;
    case 2:
        fuzzTrash(rest);
        break;
    case 3:
        fuzzChange(rest);
        break;
    default:
        fuzzTombstone(rest);
        break;
    }
    return 0;
}
