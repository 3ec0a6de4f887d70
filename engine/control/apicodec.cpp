#include "apicodec.h"

#include <algorithm>

#include "core/bytes.h"

namespace vd::control::codec {

namespace {

Status bad(const char *field, const QString &why)
{
    return Status::protocolError(QStringLiteral("%1: %2").arg(QLatin1String(field), why));
}

Result<QCborMap> mapOf(const QCborValue &v, const char *what)
{
    if (!v.isMap())
        return bad(what, QStringLiteral("not a map"));
    return v.toMap();
}

Result<QByteArray> bytes(const QCborMap &m, const char *field, qsizetype maxLength)
{
    const QCborValue v = m.value(QLatin1String(field));
    if (!v.isByteArray() || v.toByteArray().size() > maxLength)
        return bad(field, QStringLiteral("not bytes (at most %1)").arg(maxLength));
    return v.toByteArray();
}

// Block offsets (the corrupt blocks of a check) in byte strings of at
// most kOffsetsPerItem little-endian u64.
void appendOffsets(QCborArray *items, const std::vector<uint64_t> &offsets)
{
    for (size_t i = 0; i < offsets.size(); i += size_t(kOffsetsPerItem)) {
        const size_t n = std::min(offsets.size() - i, size_t(kOffsetsPerItem));
        QByteArray raw;
        ByteWriter w(&raw);
        for (size_t k = i; k < i + n; ++k)
            w.u64(offsets[k]);
        items->append(QCborMap{{QStringLiteral("corrupt"), raw}});
    }
}

// Appends an item's offsets to out: each a whole 1 MiB slot inside the
// largest idvd, increasing, at most FsckReport::kMaxCorruptOffsets in all.
Status takeOffsets(const QByteArray &raw, std::vector<uint64_t> *out)
{
    if (raw.size() % 8 != 0 || out->size() + size_t(raw.size() / 8) > storage::FsckReport::kMaxCorruptOffsets)
        return Status::protocolError(QStringLiteral("corrupt: not whole offsets, or too many"));
    ByteReader r(raw, QStringLiteral("corrupt blocks"));
    while (r.remaining() > 0) {
        const uint64_t offset = r.u64();
        if (offset % storage::kSlotSize != 0 || offset / storage::kUnitSize >= storage::kMaxUnits || (!out->empty() && offset <= out->back()))
            return Status::protocolError(QStringLiteral("corrupt: offset %1 is not a block's, or out of order").arg(offset));
        out->push_back(offset);
    }
    return {};
}

Result<tree::Kind> kind(const QCborMap &m, const char *field)
{
    VD_TRY_ASSIGN(const uint64_t k, natural(m, field));
    if (k < uint64_t(tree::Kind::Directory) || k > uint64_t(tree::Kind::JsonValue))
        return bad(field, QStringLiteral("not a kind of node"));
    return tree::Kind(k);
}

} // namespace

Result<QString> text(const QCborMap &m, const char *field, qsizetype maxLength)
{
    const QCborValue v = m.value(QLatin1String(field));
    if (!v.isString() || v.toString().size() > maxLength)
        return bad(field, QStringLiteral("not text (at most %1 characters)").arg(maxLength));
    return v.toString();
}

Result<uint64_t> natural(const QCborMap &m, const char *field)
{
    const QCborValue v = m.value(QLatin1String(field));
    if (!v.isInteger() || v.toInteger() < 0)
        return bad(field, QStringLiteral("not a natural number"));
    return uint64_t(v.toInteger());
}

Result<int64_t> integer(const QCborMap &m, const char *field)
{
    const QCborValue v = m.value(QLatin1String(field));
    if (!v.isInteger())
        return bad(field, QStringLiteral("not an integer"));
    return int64_t(v.toInteger());
}

Result<bool> boolean(const QCborMap &m, const char *field)
{
    const QCborValue v = m.value(QLatin1String(field));
    if (!v.isBool())
        return bad(field, QStringLiteral("not true or false"));
    return v.toBool();
}

QCborValue fromRuid(const Ruid &id)
{
    return QCborValue(id.view().toByteArray());
}

Result<Ruid> toRuid(const QCborValue &v, const char *field)
{
    if (!v.isByteArray() || v.toByteArray().size() != Ruid::size)
        return bad(field, QStringLiteral("not a RUID (16 bytes)"));
    return Ruid::fromView(v.toByteArray());
}

QCborArray fromRuidList(const std::vector<Ruid> &ids)
{
    QCborArray out;
    for (const Ruid &id : ids)
        out.append(fromRuid(id));
    return out;
}

Result<std::vector<Ruid>> toRuidList(const QCborValue &v, const char *field)
{
    return toList<Ruid>(v, field, kMaxRuidList, [field](const QCborValue &item) { return toRuid(item, field); });
}

// A node: its parent and name (the key of its record) and the record itself.
QCborMap fromVNode(const tree::VNode &n)
{
    return QCborMap{{QStringLiteral("parent"), fromRuid(n.parent)}, {QStringLiteral("name"), n.name}, {QStringLiteral("record"), n.encode()}};
}

Result<tree::VNode> toVNode(const QCborValue &v)
{
    VD_TRY_ASSIGN(const QCborMap m, mapOf(v, "node"));
    VD_TRY_ASSIGN(const Ruid parent, toRuid(m.value(QStringLiteral("parent")), "node.parent"));
    VD_TRY_ASSIGN(const QString name, text(m, "name", tree::VNode::kMaxNameBytes));
    VD_TRY_ASSIGN(const QByteArray record, bytes(m, "record", 1 << 18));
    auto n = tree::VNode::decode(record, parent, name);
    if (!n)
        return bad("node.record", n.status().message());
    return n;
}

QCborMap fromCollection(const client::CollectionSummary &c)
{
    QCborMap m{{QStringLiteral("ruid"), fromRuid(c.ruid)},
               {QStringLiteral("name"), c.name},
               {QStringLiteral("generation"), qint64(c.generation)},
               {QStringLiteral("created"), qint64(c.createdMs)}};
    if (!c.problem)
        m.insert(QStringLiteral("problem"), c.problem.toString());
    return m;
}

Result<client::CollectionSummary> toCollection(const QCborValue &v)
{
    VD_TRY_ASSIGN(const QCborMap m, mapOf(v, "collection"));
    client::CollectionSummary c;
    VD_TRY_ASSIGN(c.ruid, toRuid(m.value(QStringLiteral("ruid")), "collection.ruid"));
    VD_TRY_ASSIGN(c.name, text(m, "name", 1024));
    VD_TRY_ASSIGN(c.generation, natural(m, "generation"));
    VD_TRY_ASSIGN(c.createdMs, integer(m, "created"));
    if (m.contains(QStringLiteral("problem"))) {
        VD_TRY_ASSIGN(const QString problem, text(m, "problem", 4096));
        c.problem = Status::corruption(problem);
    }
    return c;
}

QCborMap fromUsage(const client::Usage &u)
{
    return QCborMap{{QStringLiteral("logical"), qint64(u.logicalBytes)}, {QStringLiteral("allocated"), qint64(u.allocatedBytes)},
                    {QStringLiteral("idvd"), qint64(u.idvdBytes)},        {QStringLiteral("diskFree"), qint64(u.diskFreeBytes)},
                    {QStringLiteral("vnodes"), qint64(u.vnodes)},         {QStringLiteral("snapshots"), qint64(u.snapshots)},
                    {QStringLiteral("padding"), u.paddingRatio}};
}

Result<client::Usage> toUsage(const QCborValue &v)
{
    VD_TRY_ASSIGN(const QCborMap m, mapOf(v, "usage"));
    client::Usage u;
    VD_TRY_ASSIGN(u.logicalBytes, natural(m, "logical"));
    VD_TRY_ASSIGN(u.allocatedBytes, natural(m, "allocated"));
    VD_TRY_ASSIGN(u.idvdBytes, natural(m, "idvd"));
    VD_TRY_ASSIGN(u.diskFreeBytes, natural(m, "diskFree"));
    VD_TRY_ASSIGN(u.vnodes, natural(m, "vnodes"));
    VD_TRY_ASSIGN(u.snapshots, natural(m, "snapshots"));
    const QCborValue padding = m.value(QStringLiteral("padding"));
    if (!padding.isDouble() && !padding.isInteger())
        return bad("padding", QStringLiteral("not a number"));
    u.paddingRatio = padding.toDouble();
    return u;
}

QCborMap fromTrashEntry(const tree::TrashEntry &e)
{
    return QCborMap{{QStringLiteral("id"), fromRuid(e.id)},
                    {QStringLiteral("path"), e.originalPath},
                    {QStringLiteral("deleted"), qint64(e.deletedMs)},
                    {QStringLiteral("kind"), int(e.kind)},
                    {QStringLiteral("size"), qint64(e.size)}};
}

Result<tree::TrashEntry> toTrashEntry(const QCborValue &v)
{
    VD_TRY_ASSIGN(const QCborMap m, mapOf(v, "trash entry"));
    tree::TrashEntry e;
    VD_TRY_ASSIGN(e.id, toRuid(m.value(QStringLiteral("id")), "trash.id"));
    VD_TRY_ASSIGN(e.originalPath, text(m, "path", tree::VNode::kMaxPathBytes));
    VD_TRY_ASSIGN(e.deletedMs, integer(m, "deleted"));
    VD_TRY_ASSIGN(e.kind, kind(m, "kind"));
    VD_TRY_ASSIGN(e.size, natural(m, "size"));
    return e;
}

QCborMap fromSnapshot(const tree::SnapshotInfo &s)
{
    QCborMap m{{QStringLiteral("name"), s.name},
               {QStringLiteral("generation"), qint64(s.generation)},
               {QStringLiteral("created"), qint64(s.createdMs)},
               {QStringLiteral("vnodes"), qint64(s.vnodes)},
               {QStringLiteral("fileBytes"), qint64(s.fileBytes)}};
    if (s.uniqueBytes)
        m.insert(QStringLiteral("uniqueBytes"), qint64(*s.uniqueBytes));
    return m;
}

Result<tree::SnapshotInfo> toSnapshot(const QCborValue &v)
{
    VD_TRY_ASSIGN(const QCborMap m, mapOf(v, "snapshot"));
    tree::SnapshotInfo s;
    VD_TRY_ASSIGN(s.name, text(m, "name", 1024));
    VD_TRY_ASSIGN(s.generation, natural(m, "generation"));
    VD_TRY_ASSIGN(s.createdMs, integer(m, "created"));
    VD_TRY_ASSIGN(s.vnodes, natural(m, "vnodes"));
    VD_TRY_ASSIGN(s.fileBytes, natural(m, "fileBytes"));
    if (m.contains(QStringLiteral("uniqueBytes"))) {
        VD_TRY_ASSIGN(const uint64_t unique, natural(m, "uniqueBytes"));
        s.uniqueBytes = unique;
    }
    return s;
}

QCborMap fromDiffEntry(const tree::DiffEntry &e)
{
    return QCborMap{{QStringLiteral("change"), int(e.change)},
                    {QStringLiteral("path"), e.path},
                    {QStringLiteral("oldPath"), e.oldPath},
                    {QStringLiteral("kind"), int(e.kind)},
                    {QStringLiteral("id"), fromRuid(e.id)}};
}

Result<tree::DiffEntry> toDiffEntry(const QCborValue &v)
{
    VD_TRY_ASSIGN(const QCborMap m, mapOf(v, "diff entry"));
    tree::DiffEntry e;
    VD_TRY_ASSIGN(const uint64_t change, natural(m, "change"));
    if (change > uint64_t(tree::DiffEntry::Change::Moved))
        return bad("change", QStringLiteral("not a kind of change"));
    e.change = tree::DiffEntry::Change(change);
    VD_TRY_ASSIGN(e.path, text(m, "path", tree::VNode::kMaxPathBytes));
    VD_TRY_ASSIGN(e.oldPath, text(m, "oldPath", tree::VNode::kMaxPathBytes));
    VD_TRY_ASSIGN(e.kind, kind(m, "kind"));
    VD_TRY_ASSIGN(e.id, toRuid(m.value(QStringLiteral("id")), "diff.id"));
    return e;
}

QCborMap fromChange(const tree::ChangeRecord &r)
{
    return QCborMap{{QStringLiteral("seq"), qint64(r.sequence)}, {QStringLiteral("record"), r.encode()}};
}

Result<tree::ChangeRecord> toChange(const QCborValue &v)
{
    VD_TRY_ASSIGN(const QCborMap m, mapOf(v, "change"));
    VD_TRY_ASSIGN(const uint64_t seq, natural(m, "seq"));
    VD_TRY_ASSIGN(const QByteArray record, bytes(m, "record", 1 << 18));
    auto r = tree::ChangeRecord::decode(record, seq);
    if (!r)
        return bad("change.record", r.status().message());
    return r;
}

QCborMap fromCluster(const tree::ClusterInfo &c)
{
    QCborArray pieces;
    for (const tree::PieceInfo &p : c.pieces)
        pieces.append(QCborMap{{QStringLiteral("zero"), p.zero},
                               {QStringLiteral("packed"), p.packed},
                               {QStringLiteral("notHere"), p.notHere},
                               {QStringLiteral("block"), fromRuid(p.blockId)},
                               {QStringLiteral("version"), qint64(p.version)},
                               {QStringLiteral("sizeClass"), p.sizeClass},
                               {QStringLiteral("length"), qint64(p.length)},
                               {QStringLiteral("stored"), qint64(p.storedLength)},
                               {QStringLiteral("hash"), p.hash}});
    return QCborMap{{QStringLiteral("start"), qint64(c.start)},
                    {QStringLiteral("length"), qint64(c.length)},
                    {QStringLiteral("birth"), qint64(c.birth)},
                    {QStringLiteral("pieces"), pieces}};
}

Result<tree::ClusterInfo> toCluster(const QCborValue &v)
{
    VD_TRY_ASSIGN(const QCborMap m, mapOf(v, "cluster"));
    tree::ClusterInfo c;
    VD_TRY_ASSIGN(c.start, natural(m, "start"));
    VD_TRY_ASSIGN(c.length, natural(m, "length"));
    VD_TRY_ASSIGN(c.birth, natural(m, "birth"));
    VD_TRY_ASSIGN(c.pieces, toList<tree::PieceInfo>(m.value(QStringLiteral("pieces")), "pieces", 4096, [](const QCborValue &pv) -> Result<tree::PieceInfo> {
        VD_TRY_ASSIGN(const QCborMap pm, mapOf(pv, "piece"));
        tree::PieceInfo p;
        VD_TRY_ASSIGN(p.zero, boolean(pm, "zero"));
        VD_TRY_ASSIGN(p.packed, boolean(pm, "packed"));
        VD_TRY_ASSIGN(p.notHere, boolean(pm, "notHere"));
        VD_TRY_ASSIGN(p.blockId, toRuid(pm.value(QStringLiteral("block")), "piece.block"));
        VD_TRY_ASSIGN(p.version, natural(pm, "version"));
        VD_TRY_ASSIGN(const uint64_t sizeClass, natural(pm, "sizeClass"));
        if (sizeClass > 64)
            return bad("sizeClass", QStringLiteral("out of range"));
        p.sizeClass = int(sizeClass);
        VD_TRY_ASSIGN(p.length, natural(pm, "length"));
        VD_TRY_ASSIGN(p.storedLength, natural(pm, "stored"));
        VD_TRY_ASSIGN(p.hash, text(pm, "hash", 64));
        return p;
    }));
    return c;
}

namespace {

void flatten(const client::JsonNode &n, int depth, QCborArray &out)
{
    out.append(QCborMap{{QStringLiteral("depth"), depth},
                        {QStringLiteral("id"), fromRuid(n.id)},
                        {QStringLiteral("name"), n.name},
                        {QStringLiteral("key"), n.key},
                        {QStringLiteral("kind"), int(n.kind)},
                        {QStringLiteral("literal"), n.literal}});
    for (const client::JsonNode &c : n.children)
        flatten(c, depth + 1, out);
}

} // namespace

QCborArray fromJsonTree(const client::JsonTree &tree)
{
    QCborArray out;
    flatten(tree.root, 0, out);
    return out;
}

Result<client::JsonTree> toJsonTree(const QCborArray &items, uint64_t generation)
{
    if (items.isEmpty() || uint64_t(items.size()) > client::JsonTree::kMaxNodes)
        return bad("json", QStringLiteral("1 to %1 values").arg(client::JsonTree::kMaxNodes));
    client::JsonTree tree;
    tree.generation = generation;
    std::vector<client::JsonNode *> path; // the open containers, by depth
    for (const QCborValue &v : items) {
        VD_TRY_ASSIGN(const QCborMap m, mapOf(v, "json value"));
        VD_TRY_ASSIGN(const uint64_t depth, natural(m, "depth"));
        if ((path.empty() && depth != 0) || (!path.empty() && (depth == 0 || depth > path.size())))
            return bad("depth", QStringLiteral("out of order"));
        client::JsonNode n;
        VD_TRY_ASSIGN(n.id, toRuid(m.value(QStringLiteral("id")), "json.id"));
        VD_TRY_ASSIGN(n.name, text(m, "name", tree::VNode::kMaxNameBytes));
        VD_TRY_ASSIGN(n.key, text(m, "key", tree::VNode::kMaxNameBytes * 4));
        VD_TRY_ASSIGN(n.kind, kind(m, "kind"));
        VD_TRY_ASSIGN(n.literal, bytes(m, "literal", tree::VNode::kMaxInlineValue));
        if (depth == 0) {
            tree.root = std::move(n);
            path = {&tree.root};
        } else {
            path.resize(size_t(depth));
            client::JsonNode *parent = path.back();
            if (!tree::isContainer(parent->kind))
                return bad("depth", QStringLiteral("a scalar has no children"));
            parent->children.push_back(std::move(n));
            path.push_back(&parent->children.back());
        }
        ++tree.nodes;
    }
    return tree;
}

QCborArray fromBlockMap(const storage::AllocationMap &map)
{
    QCborArray items;
    for (size_t i = 0; i < map.words.size(); i += size_t(kWordsPerItem)) {
        const size_t n = std::min(map.words.size() - i, size_t(kWordsPerItem));
        QByteArray raw;
        ByteWriter w(&raw);
        for (size_t k = i; k < i + n; ++k)
            w.u32(map.words[k]);
        items.append(QCborMap{{QStringLiteral("words"), raw}});
    }
    for (size_t i = 0; i < map.blocks.size(); i += size_t(kBlocksPerItem)) {
        const size_t n = std::min(map.blocks.size() - i, size_t(kBlocksPerItem));
        QByteArray raw;
        ByteWriter w(&raw);
        for (size_t k = i; k < i + n; ++k) {
            const storage::MapBlock &b = map.blocks[k];
            w.u32(uint32_t(b.offset / storage::kSlotSize));
            w.u8(b.sizeClass);
            w.u8(uint8_t(b.use));
            w.u64(b.used);
        }
        items.append(QCborMap{{QStringLiteral("blocks"), raw}});
    }
    if (map.checkedMs != 0) {
        items.append(QCborMap{{QStringLiteral("check"), QCborMap{{QStringLiteral("ms"), qint64(map.checkedMs)},
                                                                 {QStringLiteral("generation"), qint64(map.checkedGeneration)},
                                                                 {QStringLiteral("faults"), qint64(map.checkFaults)},
                                                                 {QStringLiteral("notListed"), qint64(map.corruptNotListed)}}}});
        appendOffsets(&items, map.corrupt);
    }
    return items;
}

Result<storage::AllocationMap> toBlockMap(const QCborArray &items, uint64_t generation)
{
    constexpr qsizetype kRecord = 14;
    storage::AllocationMap map;
    map.generation = generation;
    std::vector<storage::Extent> expected;
    bool checked = false;
    for (const QCborValue &v : items) {
        VD_TRY_ASSIGN(const QCborMap m, mapOf(v, "block map item"));
        if (m.contains(QStringLiteral("check"))) {
            if (checked)
                return bad("check", QStringLiteral("twice"));
            VD_TRY_ASSIGN(const QCborMap c, mapOf(m.value(QStringLiteral("check")), "check"));
            VD_TRY_ASSIGN(map.checkedMs, integer(c, "ms"));
            VD_TRY_ASSIGN(map.checkedGeneration, natural(c, "generation"));
            VD_TRY_ASSIGN(map.checkFaults, natural(c, "faults"));
            VD_TRY_ASSIGN(map.corruptNotListed, natural(c, "notListed"));
            if (map.checkedMs == 0)
                return bad("check.ms", QStringLiteral("0 (no check) with a check"));
            checked = true;
            continue;
        }
        if (m.contains(QStringLiteral("corrupt"))) {
            if (!checked)
                return bad("corrupt", QStringLiteral("before the check"));
            VD_TRY_ASSIGN(const QByteArray raw, bytes(m, "corrupt", kOffsetsPerItem * 8));
            VD_TRY(takeOffsets(raw, &map.corrupt));
            continue;
        }
        if (checked)
            return bad("block map item", QStringLiteral("words or blocks after the check"));
        if (m.contains(QStringLiteral("words"))) {
            if (!map.blocks.empty())
                return bad("words", QStringLiteral("after the blocks"));
            VD_TRY_ASSIGN(const QByteArray raw, bytes(m, "words", kWordsPerItem * 4));
            if (raw.size() % 4 != 0 || map.words.size() + size_t(raw.size() / 4) > storage::kMaxUnits)
                return bad("words", QStringLiteral("not whole words, or too many"));
            ByteReader r(raw, QStringLiteral("block map"));
            while (r.remaining() > 0) {
                const uint32_t word = r.u32();
                if (!storage::blocksOfWord(word, uint32_t(map.words.size()), &expected))
                    return bad("words", QStringLiteral("unit %1 breaks the allocator's rules").arg(map.words.size()));
                map.words.push_back(word);
            }
            continue;
        }
        VD_TRY_ASSIGN(const QByteArray raw, bytes(m, "blocks", kBlocksPerItem * kRecord));
        if (raw.size() % kRecord != 0)
            return bad("blocks", QStringLiteral("not whole records"));
        ByteReader r(raw, QStringLiteral("block map"));
        while (r.remaining() > 0) {
            storage::MapBlock b;
            b.offset = uint64_t(r.u32()) * storage::kSlotSize;
            b.sizeClass = r.u8();
            const uint8_t use = r.u8();
            b.used = r.u64();
            if (use < 1 || use > storage::kMaxBlockUse)
                return bad("blocks", QStringLiteral("an unknown use of a block"));
            b.use = storage::BlockUse(use);
            const size_t i = map.blocks.size();
            if (i >= expected.size() || expected[i].offset != b.offset || expected[i].sizeClass != b.sizeClass)
                return bad("blocks", QStringLiteral("block %1 is not the one the words describe").arg(i));
            map.blocks.push_back(b);
        }
    }
    if (map.blocks.size() != expected.size())
        return bad("blocks", QStringLiteral("%1 blocks where the words describe %2").arg(map.blocks.size()).arg(expected.size()));
    return map;
}

QCborArray fromBlockOwners(const tree::BlockOwners &owners)
{
    QCborArray items;
    for (const tree::BlockOwner &f : owners.files) {
        QCborArray blocks;
        for (const uint64_t offset : f.blocks)
            blocks.append(qint64(offset));
        items.append(QCborArray{QStringLiteral("f"), fromRuid(f.id), f.path, f.snapshot, blocks});
    }
    for (const tree::BlockUsers &b : owners.blocks) {
        QCborArray files;
        for (const uint32_t i : b.files)
            files.append(qint64(i));
        items.append(QCborArray{QStringLiteral("b"), qint64(b.offset), (b.live ? 1 : 0) | (b.inSnapshot ? 2 : 0), qint64(b.birth), qint64(b.fileCount), files});
    }
    return items;
}

Result<tree::BlockOwners> toBlockOwners(const QCborArray &items, uint64_t generation)
{
    // At most one block per MiB of the largest idvd, and kMaxListed files each.
    constexpr uint64_t kMaxBlocks = uint64_t(storage::kMaxUnits) * storage::kSlotsPerUnit;
    constexpr uint64_t kMaxFiles = kMaxBlocks * tree::BlockOwners::kMaxListed;
    // A file's blocks: one entry per file and block, as many as a file per
    // MiB could use.
    constexpr uint64_t kMaxFileBlocks = kMaxFiles;
    uint64_t fileBlocks = 0;
    tree::BlockOwners out;
    out.generation = generation;
    auto uintOf = [](const QCborValue &v, const char *field) -> Result<uint64_t> {
        if (!v.isInteger() || v.toInteger() < 0)
            return bad(field, QStringLiteral("not a natural number"));
        return uint64_t(v.toInteger());
    };
    auto pathOf = [](const QCborValue &v, const char *field) -> Result<QString> {
        if (!v.isString() || v.toString().size() > tree::VNode::kMaxPathBytes)
            return bad(field, QStringLiteral("not a path"));
        return v.toString();
    };
    for (const QCborValue &v : items) {
        const QCborArray a = v.toArray();
        if (!v.isArray() || a.isEmpty() || !a.at(0).isString())
            return bad("block owners item", QStringLiteral("not a tagged list"));
        if (a.at(0).toString() == QLatin1String("f") && a.size() == 5) {
            if (!out.blocks.empty() || out.files.size() >= kMaxFiles)
                return bad("file", QStringLiteral("after the blocks, or too many"));
            tree::BlockOwner f;
            VD_TRY_ASSIGN(f.id, toRuid(a.at(1), "file.id"));
            VD_TRY_ASSIGN(f.path, pathOf(a.at(2), "file.path"));
            VD_TRY_ASSIGN(f.snapshot, pathOf(a.at(3), "file.snapshot"));
            const QCborArray blocks = a.at(4).toArray();
            if (!a.at(4).isArray() || uint64_t(blocks.size()) > kMaxFileBlocks - fileBlocks || (!f.snapshot.isEmpty() && !blocks.isEmpty()))
                return bad("file.blocks", QStringLiteral("not a list of blocks, too many, or a snapshot's"));
            fileBlocks += uint64_t(blocks.size());
            for (const QCborValue &bv : blocks) {
                VD_TRY_ASSIGN(const uint64_t offset, uintOf(bv, "file.blocks"));
                if ((!f.blocks.empty() && offset <= f.blocks.back()) || offset % storage::kSlotSize != 0)
                    return bad("file.blocks", QStringLiteral("offsets not increasing, or not of a block"));
                f.blocks.push_back(offset);
            }
            out.files.push_back(std::move(f));
        } else if (a.at(0).toString() == QLatin1String("b") && a.size() == 6) {
            if (out.blocks.size() >= kMaxBlocks)
                return bad("block", QStringLiteral("too many"));
            tree::BlockUsers b;
            VD_TRY_ASSIGN(b.offset, uintOf(a.at(1), "block.offset"));
            VD_TRY_ASSIGN(const uint64_t flags, uintOf(a.at(2), "block.flags"));
            VD_TRY_ASSIGN(b.birth, uintOf(a.at(3), "block.birth"));
            VD_TRY_ASSIGN(const uint64_t count, uintOf(a.at(4), "block.count"));
            if (flags > 3 || flags == 0 || b.offset % storage::kSlotSize != 0 || b.offset / storage::kUnitSize >= storage::kMaxUnits)
                return bad("block", QStringLiteral("flags or offset out of range"));
            if (!out.blocks.empty() && b.offset <= out.blocks.back().offset)
                return bad("block.offset", QStringLiteral("not increasing"));
            b.live = flags & 1;
            b.inSnapshot = flags & 2;
            const QCborArray files = a.at(5).toArray();
            if (!a.at(5).isArray() || files.size() > qsizetype(tree::BlockOwners::kMaxListed) || count < uint64_t(files.size()) || count > UINT32_MAX)
                return bad("block.files", QStringLiteral("not a list of at most %1 files").arg(tree::BlockOwners::kMaxListed));
            b.fileCount = uint32_t(count);
            for (const QCborValue &fv : files) {
                VD_TRY_ASSIGN(const uint64_t i, uintOf(fv, "block.files"));
                if (i >= out.files.size())
                    return bad("block.files", QStringLiteral("no file %1").arg(i));
                b.files.push_back(uint32_t(i));
            }
            out.blocks.push_back(std::move(b));
        } else {
            return bad("block owners item", QStringLiteral("unknown"));
        }
    }
    // Every block a file names is one of the blocks listed.
    auto listed = [&out](uint64_t offset) {
        const auto it = std::lower_bound(
            out.blocks.begin(), out.blocks.end(), offset, [](const tree::BlockUsers &b, uint64_t off) { return b.offset < off; });
        return it != out.blocks.end() && it->offset == offset;
    };
    for (const tree::BlockOwner &f : out.files)
        for (const uint64_t offset : f.blocks)
            if (!listed(offset))
                return bad("file.blocks", QStringLiteral("block %1 is not listed").arg(offset));
    return out;
}

QCborMap fromProgress(const transfer::TransferProgress &p)
{
    return QCborMap{{QStringLiteral("files"), qint64(p.files)},           {QStringLiteral("folders"), qint64(p.folders)},
                    {QStringLiteral("bytes"), qint64(p.bytes)},           {QStringLiteral("skipped"), qint64(p.skipped)},
                    {QStringLiteral("totalFiles"), qint64(p.totalFiles)}, {QStringLiteral("totalBytes"), qint64(p.totalBytes)},
                    {QStringLiteral("current"), p.current},               {QStringLiteral("phase"), int(p.phase)}};
}

Result<transfer::TransferProgress> toProgress(const QCborValue &v)
{
    VD_TRY_ASSIGN(const QCborMap m, mapOf(v, "progress"));
    transfer::TransferProgress p;
    VD_TRY_ASSIGN(p.files, natural(m, "files"));
    VD_TRY_ASSIGN(p.folders, natural(m, "folders"));
    VD_TRY_ASSIGN(p.bytes, natural(m, "bytes"));
    VD_TRY_ASSIGN(p.skipped, natural(m, "skipped"));
    VD_TRY_ASSIGN(p.totalFiles, natural(m, "totalFiles"));
    VD_TRY_ASSIGN(p.totalBytes, natural(m, "totalBytes"));
    VD_TRY_ASSIGN(p.current, text(m, "current", tree::VNode::kMaxPathBytes));
    VD_TRY_ASSIGN(const uint64_t phase, natural(m, "phase"));
    if (phase > uint64_t(transfer::TransferProgress::Phase::Renaming))
        return bad("phase", QStringLiteral("not a phase"));
    p.phase = transfer::TransferProgress::Phase(phase);
    return p;
}

QCborMap fromReport(const client::TransferReport &r)
{
    QCborArray targets;
    for (const QString &t : r.targets)
        targets.append(t);
    return QCborMap{{QStringLiteral("files"), qint64(r.files)},     {QStringLiteral("folders"), qint64(r.folders)},
                    {QStringLiteral("bytes"), qint64(r.bytes)},     {QStringLiteral("skipped"), qint64(r.skipped)},
                    {QStringLiteral("targets"), targets}};
}

Result<client::TransferReport> toReport(const QCborValue &v)
{
    VD_TRY_ASSIGN(const QCborMap m, mapOf(v, "report"));
    client::TransferReport r;
    VD_TRY_ASSIGN(r.files, natural(m, "files"));
    VD_TRY_ASSIGN(r.folders, natural(m, "folders"));
    VD_TRY_ASSIGN(r.bytes, natural(m, "bytes"));
    VD_TRY_ASSIGN(r.skipped, natural(m, "skipped"));
    VD_TRY_ASSIGN(const auto targets, toList<QString>(m.value(QStringLiteral("targets")), "targets", 4096, [](const QCborValue &t) -> Result<QString> {
        if (!t.isString() || t.toString().size() > tree::VNode::kMaxPathBytes)
            return bad("targets", QStringLiteral("not a path"));
        return t.toString();
    }));
    for (const QString &t : targets)
        r.targets.append(t);
    return r;
}

QCborArray fromFsckReport(const storage::FsckReport &r)
{
    QCborArray items;
    items.append(QCborMap{{QStringLiteral("counts"),
                           QCborMap{{QStringLiteral("objects"), qint64(r.objectsChecked)},
                                    {QStringLiteral("vnodes"), qint64(r.vnodesChecked)},
                                    {QStringLiteral("blocks"), qint64(r.blocksChecked)},
                                    {QStringLiteral("slots"), qint64(r.slotsChecked)},
                                    {QStringLiteral("pages"), qint64(r.pagesChecked)},
                                    {QStringLiteral("bytesVerified"), qint64(r.bytesVerified)},
                                    {QStringLiteral("reclaimableBytes"), qint64(r.reclaimableBytes)},
                                    {QStringLiteral("overcountedBlocks"), qint64(r.overcountedBlocks)},
                                    {QStringLiteral("notHere"), qint64(r.contentNotHere)},
                                    {QStringLiteral("generation"), qint64(r.generation)},
                                    {QStringLiteral("finishedMs"), qint64(r.finishedMs)},
                                    {QStringLiteral("notListed"), qint64(r.corruptNotListed)}}}});
    // Lines past the bound become one that counts them.
    qsizetype lines = 0;
    auto addLines = [&](const std::vector<QString> &all, const QString &key) {
        for (size_t i = 0; i < all.size(); ++i) {
            if (lines == kMaxReportLines - 1 && i + 1 < all.size()) {
                items.append(QCborMap{{key, QStringLiteral("… and %1 more").arg(all.size() - i)}});
                ++lines;
                return;
            }
            if (lines >= kMaxReportLines)
                return;
            items.append(QCborMap{{key, all[i].left(kMaxReportLineLength)}});
            ++lines;
        }
    };
    addLines(r.faults, QStringLiteral("fault"));
    addLines(r.notes, QStringLiteral("note"));
    appendOffsets(&items, r.corruptOffsets);
    return items;
}

Result<storage::FsckReport> toFsckReport(const QCborArray &items)
{
    if (items.isEmpty())
        return bad("fsck", QStringLiteral("no counts"));
    storage::FsckReport r;
    VD_TRY_ASSIGN(const QCborMap first, mapOf(items.at(0), "fsck item"));
    VD_TRY_ASSIGN(const QCborMap c, mapOf(first.value(QStringLiteral("counts")), "counts"));
    VD_TRY_ASSIGN(r.objectsChecked, natural(c, "objects"));
    VD_TRY_ASSIGN(r.vnodesChecked, natural(c, "vnodes"));
    VD_TRY_ASSIGN(r.blocksChecked, natural(c, "blocks"));
    VD_TRY_ASSIGN(r.slotsChecked, natural(c, "slots"));
    VD_TRY_ASSIGN(r.pagesChecked, natural(c, "pages"));
    VD_TRY_ASSIGN(r.bytesVerified, natural(c, "bytesVerified"));
    VD_TRY_ASSIGN(r.reclaimableBytes, natural(c, "reclaimableBytes"));
    VD_TRY_ASSIGN(r.overcountedBlocks, natural(c, "overcountedBlocks"));
    VD_TRY_ASSIGN(r.contentNotHere, natural(c, "notHere"));
    VD_TRY_ASSIGN(r.generation, natural(c, "generation"));
    VD_TRY_ASSIGN(r.finishedMs, integer(c, "finishedMs"));
    VD_TRY_ASSIGN(r.corruptNotListed, natural(c, "notListed"));
    // Then the faults, the notes, the offsets: in that order.
    int stage = 0;
    qsizetype lines = 0;
    for (qsizetype i = 1; i < items.size(); ++i) {
        VD_TRY_ASSIGN(const QCborMap m, mapOf(items.at(i), "fsck item"));
        if (m.size() != 1)
            return bad("fsck item", QStringLiteral("not one field"));
        const QString key = m.keys().constFirst().toString();
        const int itemStage = key == QLatin1String("fault") ? 0 : key == QLatin1String("note") ? 1 : key == QLatin1String("corrupt") ? 2 : -1;
        if (itemStage < 0 || itemStage < stage)
            return bad("fsck item", QStringLiteral("unknown, or out of order"));
        stage = itemStage;
        if (stage == 2) {
            VD_TRY_ASSIGN(const QByteArray raw, bytes(m, "corrupt", kOffsetsPerItem * 8));
            VD_TRY(takeOffsets(raw, &r.corruptOffsets));
            continue;
        }
        if (++lines > kMaxReportLines)
            return bad("fsck", QStringLiteral("more than %1 faults and notes").arg(kMaxReportLines));
        VD_TRY_ASSIGN(const QString line, text(m, stage == 0 ? "fault" : "note", kMaxReportLineLength));
        (stage == 0 ? r.faults : r.notes).push_back(line);
    }
    return r;
}

} // namespace vd::control::codec
