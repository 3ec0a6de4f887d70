// Writes the seed corpus of the fuzz targets: a handful of small, valid
// encodings per decoder, made with the engine's own encoders and fixed
// values (so the output is the same every time).
//
// Usage: make_corpus <dir>   fills <dir>/<target>/ (see README.md).
#include "fuzz_common.h"

#include "control/frame.h"
#include "core/bytes.h"
#include "core/versionvector.h"
#include "node/nodeid.h"
#include "storage/bitmapfile.h"
#include "storage/blockheader.h"
#include "storage/catalogpage.h"
#include "storage/catalogstore.h"
#include "storage/metafile.h"
#include "storage/records.h"
#include "storage/rootrecord.h"
#include "storage/smallblock.h"
#include "tree/jsoncodec.h"
#include "tree/vnode.h"

#include <QBuffer>
#include <QCborMap>
#include <QDir>
#include <QFile>

#include <algorithm>
#include <cstdio>

using namespace vd;
using namespace vd::storage;

namespace {

QString g_root;
int g_failures = 0;

bool parsesAsJson(QByteArrayView text)
{
    QBuffer out;
    out.open(QIODevice::WriteOnly);
    tree::JsonWriter writer(&out, -1);
    return tree::parseJson(text, writer).isOk() && writer.finish().isOk();
}

// Whether a seed decodes as the target would read it: every seed must be a
// valid encoding, so that the fuzzer starts from inside the format.
bool decodes(const QByteArray &target, const QByteArray &in)
{
    const QByteArrayView rest = QByteArrayView(in).sliced(std::min<qsizetype>(1, in.size()));
    if (target == "meta")
        return Meta::decodeCopy(in).isOk();
    if (target == "bitmap") {
        auto c = BitmapCopy::decode(in);
        return c && BlockAllocator::fromWords(c->words).isOk();
    }
    if (target == "blockheader")
        return BlockHeader::decode(in).isOk();
    if (target == "smallblock") {
        if (uint8_t(in[0]) & 0x80) {
            ByteReader r(rest.first(SlotLocation::kEncodedSize), QStringLiteral("slot"));
            const SlotLocation loc = SlotLocation::decode(r);
            return r.finish().isOk() && unpackPayload(rest.sliced(SlotLocation::kEncodedSize), loc).isOk();
        }
        return SmallDirectory::decode(in.sliced(5), fuzz::readU32(in, 1), classSize(in[0] % kClassCount)).isOk();
    }
    if (target == "catalogpage")
        return CatalogPage::decode(in).isOk();
    if (target == "rootrecord") {
        if (!(in[0] & 1))
            return RootRecord::decode(rest).isOk();
        return HeadSlot::decode(rest, (in[0] & 2) ? Ruid::fromView(rest.sliced(8, 16)) : fuzz::seedCollection()).isOk();
    }
    if (target == "catalogtable")
        return CatalogStore::decodeTable(in).isOk();
    if (target == "control") {
        if (in[0] & 1)
            return control::decodeBody(rest).isOk();
        control::FrameReader reader;
        reader.append(rest);
        for (;;) {
            auto frame = reader.next();
            if (!frame)
                return false;
            if (!*frame)
                return reader.atEnd().isOk();
        }
    }
    if (target == "records") {
        switch (in[0]) {
        case 0: return BlockRecord::decode(rest).isOk();
        case 1: return ObjectRecord::decode(rest).isOk();
        case 2: return ClusterRecord::decode(rest).isOk();
        default: return SnapshotRecord::decode(rest).isOk();
        }
    }
    if (target == "tree") {
        switch (in[0]) {
        case 0: return tree::VNode::decode(rest, fuzz::treeParent(), fuzz::treeName()).isOk();
        case 1: return tree::IndexRecord::decode(rest).isOk();
        case 2: return tree::TrashRecord::decode(rest).isOk();
        default: return tree::ChangeRecord::decode(rest, fuzz::kChangeSequence).isOk();
        }
    }
    if (target == "json")
        return parsesAsJson(in);
    if (target == "versionvector") { // one vector, or two back to back
        if (VersionVector::decode(in).isOk())
            return true;
        ByteReader r(in, QStringLiteral("pair"));
        (void)VersionVector::decodeFrom(r);
        (void)VersionVector::decodeFrom(r);
        return r.finish().isOk();
    }
    if (target == "nodeid")
        return node::NodeId::parse(QString::fromUtf8(in)).isOk();
    return false;
}

void put(const char *target, const char *name, const QByteArray &bytes)
{
    if (!decodes(QByteArray(target), bytes)) {
        std::fprintf(stderr, "make_corpus: the seed %s/%s does not decode\n", target, name);
        ++g_failures;
    }
    const QString dir = g_root + QLatin1Char('/') + QLatin1String(target);
    QFile f(dir + QLatin1Char('/') + QLatin1String(name));
    if (!QDir().mkpath(dir) || !f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size()) {
        std::fprintf(stderr, "make_corpus: cannot write %s\n", qPrintable(f.fileName()));
        ++g_failures;
    }
}

QByteArray prefixed(uint8_t first, const QByteArray &rest) { return QByteArray(1, char(first)) + rest; }

// Deterministic stand-ins for random ids.
Ruid ruid(uint8_t seed)
{
    Ruid r;
    for (int i = 0; i < Ruid::size; ++i)
        r.bytes[size_t(i)] = uint8_t(seed * 31 + i * 7 + 1);
    return r;
}

QByteArray text(int bytes)
{
    static const QByteArray line = QByteArrayLiteral("the quick brown fox jumps over the lazy dog 0123456789\n");
    QByteArray out;
    while (out.size() < bytes)
        out += line;
    out.truncate(bytes);
    return out;
}

SlotLocation slotFor(const PackedPayload &p, uint32_t offset)
{
    SlotLocation s;
    s.offset = offset;
    s.storedLength = uint32_t(p.stored.size());
    s.rawLength = p.rawLength;
    s.codec = p.codec;
    s.rawHash = p.rawHash;
    return s;
}

PageRef pageRef(uint64_t blockOffset, uint8_t blockClass, uint32_t offset, const QByteArray &raw, uint64_t birth)
{
    PageRef p;
    p.blockOffset = blockOffset;
    p.blockClass = blockClass;
    p.birth = birth;
    p.slot = slotFor(packPayload(raw), offset);
    return p;
}

RootRecord sampleRoot(uint64_t generation, bool full)
{
    RootRecord r;
    r.generation = generation;
    // As a new collection has them: the root folder and the trash, made by
    // the first two changes.
    r.origin = ruid(10);
    r.versionCounter = 2;
    r.vnodeCount = 2;
    r.nextChange = 3;
    if (full) {
        r.catalogRoot = pageRef(5 * kSlotSize, 0, 4000, text(700), generation);
        r.segmentTable = pageRef(5 * kSlotSize, 0, 200, text(90), generation - 1);
        r.openSegmentOffset = 5 * kSlotSize;
        r.openSegmentClass = 0;
        r.openSegmentEnd = 8000;
        r.openSegmentLastDir = 7000;
        r.openSegmentSequence = 3;
        r.openSmallBlocks = {ruid(1), ruid(2)};
        r.objectCount = 12;
        r.logicalBytes = 123456789;
        r.versionCounter = 7001;
        r.pinnedThrough = generation - 2; // a snapshot two commits ago
        r.snapshotCount = 3;
        r.firstChange = 4000;
        r.nextChange = 7002;
        r.vnodeCount = 250;
        r.fileBytes = 987654321;
        r.reserve = {Extent{6 * kSlotSize, 0}, Extent{7 * kSlotSize, 0}};
    }
    return r;
}

void meta()
{
    Meta m;
    m.generation = 1;
    m.ruid = ruid(9);
    m.name = QStringLiteral("photos");
    m.createdMs = 1700000000000;
    m.committedMs = 1700000000000;
    m.smallThreshold = 64 * 1024;
    m.smallBlockClass = 2; // explicit, so that the seeds do not follow the defaults
    m.catalogBlockClass = 0;
    m.clusterMaxBlocks = 4;
    m.units = 1;
    m.bitmap.offset = 0;
    m.bitmap.length = BitmapCopy::kFixedSize + 4;
    m.bitmap.hash = sha256("bitmap");
    m.root = sampleRoot(1, false);
    put("meta", "new-collection", m.encodeCopy());

    m.generation = 42;
    m.name = QStringLiteral("写真 & photos");
    m.committedMs += 3600 * 1000;
    m.units = 5;
    m.bitmap.offset = 4096;
    m.bitmap.length = BitmapCopy::kFixedSize + 20;
    m.root = sampleRoot(42, true);
    put("meta", "full-root", m.encodeCopy());

    m.generation = 43;
    m.root.generation = 43;
    m.smallBlockClass = 4;
    m.catalogBlockClass = 0;
    m.clusterMaxBlocks = 64;
    m.members = {QByteArray(32, 'a'), QByteArray(32, 'b'), QByteArray(32, 'c')};
    put("meta", "members", m.encodeCopy());
}

void bitmap()
{
    auto write = [](const char *name, uint64_t generation, const BlockAllocator &a) {
        BitmapCopy c;
        c.generation = generation;
        c.words = a.words();
        put("bitmap", name, c.encode());
    };
    BlockAllocator a(1);
    (void)a.markAllocated(Extent{0, 0}); // the head block
    write("head-only", 1, a);

    for (int c : {2, 0, 1, 0, 3, 2, 0})
        (void)a.allocate(c);
    write("one-unit-mixed", 2, a);

    for (int c : {4, 4, 2, 1, 0, 0, 3})
        (void)a.allocate(c);
    for (const Extent &e : a.blocks())
        if (e.offset % (3 * kSlotSize) == kSlotSize) // free a few, leaving holes
            (void)a.free(e);
    write("holes", 3, a);

    BlockAllocator big(1);
    (void)big.markAllocated(Extent{0, 0});
    for (int i = 0; i < 40; ++i)
        (void)big.allocate(i % kClassCount);
    write("many-units", 9, big);
}

void blockheader()
{
    BlockHeader h;
    h.kind = BlockKind::Head;
    h.sizeClass = 0;
    h.blockId = ruid(9);
    h.generation = 1;
    put("blockheader", "head", h.encode());

    h.kind = BlockKind::Data;
    h.sizeClass = 2;
    h.blockId = ruid(3);
    h.version = 7;
    h.usedLength = 3000000;
    h.payloadHash = sha256("payload");
    h.generation = 12;
    put("blockheader", "data", h.encode());

    h.kind = BlockKind::SmallData;
    h.sizeClass = 2;
    h.version = 0;
    h.usedLength = 0;
    h.payloadHash = Hash256();
    put("blockheader", "small", h.encode());

    h.kind = BlockKind::CatalogLog;
    h.sizeClass = 4;
    h.blockId = Ruid();
    put("blockheader", "catalog", h.encode());
}

void smallblock()
{
    // Directories: [class][dirOffset u32][directory bytes].
    auto dirSeed = [](int sizeClass, uint32_t dirOffset, const SmallDirectory &dir) {
        QByteArray out(1, char(sizeClass));
        for (int i = 0; i < 4; ++i)
            out.append(char(uint8_t(dirOffset >> (8 * i))));
        return out + dir.encode();
    };
    SmallDirectory first;
    first.sequence = 1;
    first.prevOffset = 0;
    uint32_t end = BlockHeader::kSize;
    for (int n : {10, 300, 5000, 70}) {
        const PackedPayload p = packPayload(text(n));
        first.slots.push_back(slotFor(p, end));
        end += uint32_t(p.stored.size());
    }
    put("smallblock", "dir-first-batch", dirSeed(2, end, first));
    const uint32_t firstDir = end;
    end += first.encodedSize();

    SmallDirectory second;
    second.sequence = 2;
    second.prevOffset = firstDir;
    const PackedPayload p = packPayload(text(2000));
    second.slots.push_back(slotFor(p, end));
    end += uint32_t(p.stored.size());
    put("smallblock", "dir-second-batch", dirSeed(0, end, second));

    // Payloads: [0x80][SlotLocation][stored bytes].
    auto payloadSeed = [](const QByteArray &raw) {
        const PackedPayload pp = packPayload(raw);
        QByteArray out(1, char(0x80));
        slotFor(pp, BlockHeader::kSize).encode(&out);
        return out + pp.stored;
    };
    put("smallblock", "payload-raw", payloadSeed(QByteArrayLiteral("a small object")));
    put("smallblock", "payload-empty", payloadSeed(QByteArray()));
    put("smallblock", "payload-zstd", payloadSeed(text(4000)));
    QByteArray mixed = text(1500);
    for (int i = 0; i < mixed.size(); i += 7)
        mixed[i] = char(i * 13);
    put("smallblock", "payload-zstd-mixed", payloadSeed(mixed));
}

void catalogpage()
{
    CatalogPage leaf;
    leaf.level = 0;
    BlockRecord b;
    b.kind = BlockKind::Data;
    b.extent = Extent{3 * kSlotSize, 0};
    b.length = 1000;
    b.hash = sha256("b");
    leaf.keys.push_back(keys::block(ruid(4), 1));
    leaf.values.push_back(b.encode());
    ClusterRecord c;
    Piece piece;
    piece.kind = Piece::Kind::Block;
    piece.blockId = ruid(4);
    piece.version = 1;
    piece.length = 1000;
    piece.hash = b.hash;
    c.birth = 4;
    c.pieces.push_back(piece);
    leaf.keys.push_back(keys::cluster(ruid(5), 0));
    leaf.values.push_back(c.encode());
    // The tree's keyspaces sort between them: a folder's entry and its index.
    tree::VNode dir;
    dir.kind = tree::Kind::Directory;
    dir.id = ruid(11);
    (void)dir.version.increment(0x0102030405060708, 3);
    leaf.keys.push_back(tree::keys::entry(tree::rootId(), QStringLiteral("docs")));
    leaf.values.push_back(dir.encode());
    tree::IndexRecord index;
    index.parent = tree::rootId();
    index.name = QStringLiteral("docs");
    index.version = dir.version;
    leaf.keys.push_back(tree::keys::index(dir.id));
    leaf.values.push_back(index.encode());
    ObjectRecord o;
    o.objectId = ruid(5);
    o.size = 1000;
    o.clusterCount = 1;
    leaf.keys.push_back(keys::object(QStringLiteral("docs/readme.txt")));
    leaf.values.push_back(o.encode());
    leaf.keys.push_back(keys::object(QStringLiteral("docs/ü.txt")));
    leaf.values.push_back(QByteArray());
    SnapshotRecord snap;
    snap.generation = 2;
    leaf.keys.push_back(keys::snapshot(QStringLiteral("daily")));
    leaf.values.push_back(snap.encode());
    put("catalogpage", "leaf", leaf.encode());

    CatalogPage one;
    one.keys.push_back(QByteArrayLiteral("k"));
    one.values.push_back(QByteArrayLiteral("v"));
    put("catalogpage", "leaf-one", one.encode());

    CatalogPage inner;
    inner.level = 1;
    inner.keys = {QByteArray(), keys::cluster(ruid(1), 0), keys::object(QStringLiteral("m"))};
    inner.children = {pageRef(2 * kSlotSize, 0, 200, text(100), 3), pageRef(2 * kSlotSize, 0, 400, text(3000), 7),
                      pageRef(4 * kSlotSize, 2, 128, text(50), 7)};
    put("catalogpage", "internal", inner.encode());
}

void rootrecord()
{
    put("rootrecord", "root-empty", prefixed(0, sampleRoot(1, false).encode()));
    put("rootrecord", "root-full", prefixed(0, sampleRoot(42, true).encode()));
    Meta state;
    state.ruid = fuzz::seedCollection();
    state.name = QStringLiteral("photos");
    state.createdMs = 1700000000000;
    state.committedMs = 1700000000000;
    state.smallThreshold = 64 * 1024;
    state.units = 1;
    state.bitmap.length = BitmapCopy::kFixedSize + 4;
    state.bitmap.hash = sha256("bitmap");
    state.generation = 1;
    state.root = sampleRoot(1, false);
    put("rootrecord", "head-empty", prefixed(1, HeadSlot::encode(state)));
    state.generation = 42;
    state.root = sampleRoot(42, true);
    state.units = 5;
    state.members = {QByteArray(32, 'a')};
    put("rootrecord", "head-full", prefixed(1, HeadSlot::encode(state)));
    // As read from idvd: the whole slot would follow; a little of it does here.
    state.ruid = ruid(7);
    state.generation = 5;
    state.root = sampleRoot(5, true);
    put("rootrecord", "head-own-padded", prefixed(3, HeadSlot::encode(state) + QByteArray(64, '\0')));
    // Format 2, as an earlier build wrote it: the root record alone.
    QByteArray old;
    ByteWriter w(&old);
    const QByteArray body = sampleRoot(3, true).encode(false);
    w.u32(HeadSlot::kMagic);
    w.u16(2);
    w.u16(uint16_t(body.size()));
    w.bytes(fuzz::seedCollection().view());
    w.bytes(body);
    w.bytes(sha256(old).view());
    put("rootrecord", "head-format2", prefixed(1, old));
}

void catalogtable()
{
    std::map<uint64_t, SegmentInfo> t;
    put("catalogtable", "empty", CatalogStore::encodeTable(t));
    SegmentInfo s;
    s.extent = Extent{kSlotSize, 0};
    s.writtenEnd = 9000;
    s.lastDirOffset = 8000;
    s.sequence = 4;
    s.liveBytes = 6000;
    t[s.extent.offset] = s;
    put("catalogtable", "one", CatalogStore::encodeTable(t));
    s.extent = Extent{4 * kSlotSize, 2};
    s.writtenEnd = uint32_t(classSize(2));
    s.lastDirOffset = s.writtenEnd - 200;
    s.sequence = 90;
    s.liveBytes = 1000000;
    t[s.extent.offset] = s;
    s.extent = Extent{kUnitSize, 4};
    s.writtenEnd = BlockHeader::kSize;
    s.lastDirOffset = 0;
    s.sequence = 0;
    s.liveBytes = 0;
    t[s.extent.offset] = s;
    put("catalogtable", "three", CatalogStore::encodeTable(t));
}

void records()
{
    BlockRecord b;
    b.kind = BlockKind::Data;
    b.extent = Extent{8 * kSlotSize, 3};
    b.length = 5000000;
    b.hash = sha256("data");
    b.refs = 3; // shared by copies
    put("records", "block-data", prefixed(0, b.encode()));
    b.kind = BlockKind::SmallData;
    b.extent = Extent{2 * kSlotSize, 1};
    b.small.writtenEnd = 60000;
    b.small.lastDirOffset = 59000;
    b.small.sequence = 3;
    b.small.liveBytes = 40000;
    b.small.liveSlots = 17;
    put("records", "block-small", prefixed(0, b.encode()));

    ObjectRecord o;
    o.objectId = ruid(6);
    o.size = 123456;
    o.createdMs = 1700000000000;
    o.modifiedMs = 1700000005000;
    o.clusterCount = 2;
    put("records", "object", prefixed(1, o.encode()));

    ClusterRecord c;
    c.birth = 17;
    Piece blockPiece;
    blockPiece.kind = Piece::Kind::Block;
    blockPiece.blockId = ruid(7);
    blockPiece.version = 3;
    blockPiece.sizeClass = 2;
    blockPiece.length = 4000000;
    blockPiece.hash = sha256("block");
    c.pieces.push_back(blockPiece);
    Piece slotPiece;
    slotPiece.kind = Piece::Kind::Slot;
    slotPiece.blockId = ruid(8);
    slotPiece.slot = slotFor(packPayload(text(3000)), 4096);
    slotPiece.length = slotPiece.slot.rawLength;
    c.pieces.push_back(slotPiece);
    c.pieces.push_back(Piece::zeros(Piece::kMaxZeroLength)); // a hole of a sparse file
    put("records", "cluster", prefixed(2, c.encode()));
    ClusterRecord tail;
    tail.birth = 1;
    tail.pieces.push_back(slotPiece);
    put("records", "cluster-tail", prefixed(2, tail.encode()));

    SnapshotRecord s;
    s.root = pageRef(5 * kSlotSize, 0, 4000, text(700), 40);
    s.generation = 42;
    s.createdMs = 1700000000000;
    s.vnodes = 250;
    s.fileBytes = 987654321;
    put("records", "snapshot", prefixed(3, s.encode()));
    SnapshotRecord empty; // of a generation whose catalog was empty: a null root
    empty.generation = 1;
    empty.createdMs = 1700000000000;
    empty.vnodes = 2;
    put("records", "snapshot-empty", prefixed(3, empty.encode()));
}

void treeRecords()
{
    using namespace vd::tree;
    VersionVector v;
    (void)v.increment(0x0102030405060708, 7001);
    (void)v.increment(0xa1b2c3d4e5f60718, 12);
    VNode n;
    n.kind = Kind::Directory;
    n.id = rootId();
    n.size = 3;
    n.createdMs = 1700000000000;
    n.modifiedMs = 1700000005000;
    (void)n.version.increment(0x0102030405060708, 1);
    put("tree", "vnode-root", prefixed(0, n.encode()));

    n.kind = Kind::File;
    n.id = ruid(20);
    n.size = 17 * 1024 * 1024 + 512;
    n.version = v;
    n.clusterCount = 2;
    put("tree", "vnode-file", prefixed(0, n.encode()));

    n.kind = Kind::JsonObject;
    n.id = ruid(21);
    n.size = 4;
    n.clusterCount = 0;
    n.ordinal = 2;
    put("tree", "vnode-json-object", prefixed(0, n.encode()));

    n.kind = Kind::JsonValue;
    n.id = ruid(22);
    n.value = QByteArrayLiteral("12345678901234567890.50e-3");
    n.size = uint64_t(n.value.size());
    n.ordinal = 0;
    put("tree", "vnode-json-number", prefixed(0, n.encode()));

    n.value = QByteArrayLiteral(R"("写真 \"quoted\"\n")");
    n.size = uint64_t(n.value.size());
    put("tree", "vnode-json-string", prefixed(0, n.encode()));

    IndexRecord x;
    x.parent = rootId();
    x.name = QStringLiteral("docs");
    x.version = v;
    put("tree", "index", prefixed(1, x.encode()));
    x.parent = ruid(21);
    x.name = QStringLiteral("写真 ~1 ~e.json");
    put("tree", "index-unicode", prefixed(1, x.encode()));

    TrashRecord t;
    t.originalParent = ruid(23);
    t.originalName = QStringLiteral("report.pdf");
    t.originalPath = QStringLiteral("/work/2023/report.pdf");
    t.deletedMs = 1700000009000;
    put("tree", "trash", prefixed(2, t.encode()));

    ChangeRecord c;
    c.sequence = fuzz::kChangeSequence;
    c.generation = 77;
    c.op = ChangeOp::Create;
    c.id = ruid(20);
    c.after = ChangeSide{ruid(23), QStringLiteral("report.pdf"), Kind::File, 1234, 1700000001000, QByteArray(32, '\x5a')};
    c.version = v;
    c.timeMs = 1700000001000;
    put("tree", "change-create", prefixed(3, c.encode()));
    // Into the trash, where a node is named by its id: a move.
    c.op = ChangeOp::Move;
    c.before = c.after;
    c.after = ChangeSide{trashId(), ruid(20).toString(), Kind::File, 1234, 1700000001000, QByteArray(32, '\x5a')};
    put("tree", "change-move", prefixed(3, c.encode()));
    c.op = ChangeOp::Remove;
    c.before = c.after;
    c.after.reset();
    put("tree", "change-remove", prefixed(3, c.encode()));
    ChangeRecord snap;
    snap.op = ChangeOp::SnapshotCreate;
    snap.generation = 78;
    snap.snapshot = QStringLiteral("daily");
    put("tree", "change-snapshot", prefixed(3, snap.encode()));
    Tombstone tomb;
    tomb.parent = ruid(23);
    tomb.removedMs = 1700000002000;
    tomb.version = v;
    put("tree", "tombstone", prefixed(4, tomb.encode()));
}

// Whole documents. fuzz_json also reads each one as a scalar and as a name,
// which only the bare scalars pass.
void json()
{
    put("json", "config", QByteArrayLiteral(R"({"name":"vdrive","version":2,"enabled":true,"ratio":0.75,"owner":null,)"
                                            R"("tags":["a","b",""],"limits":{"files":1000,"bytes":1e12,"depth":-1}})"));
    put("json", "pretty-crlf-bom", QByteArrayLiteral("\xEF\xBB\xBF{\r\n  \"items\": [\r\n    {\"id\": 1, \"done\": false},\r\n"
                                                     "    {\"id\": 2, \"done\": true, \"note\": \"tab\\there\"}\r\n  ],\r\n"
                                                     "  \"empty\": {},\r\n  \"none\": []\r\n}\r\n"));
    put("json", "unicode", QByteArrayLiteral(R"({"写真":"猫 🐈","é":"\u00e9\ud83d\ude00","":"empty key",".":"dot","..":"dots",)"
                                             R"("a/b~c":"\"\\\/\b\f\n\r\t\u0001","nul\u0000key":"\u007f"})"));
    put("json", "numbers", QByteArrayLiteral(R"([0,-0,1.50,-1.5E-300,1e400,12345678901234567890123456789,)"
                                             R"(-9223372036854775809,18446744073709551616,0.1e+2,2E0])"));
    put("json", "nested", QByteArrayLiteral(R"([[[[{"a":[{"b":{"c":[[],{},[null]]}}]}]]],{"k":{"k":{"k":"v"}}}])"));
    // As deep as parseJson goes (256 levels): one more is the depth error.
    put("json", "deepest", QByteArray(256, '[') + QByteArray(256, ']'));
    // A few records, one per line, as a hand-written file has them.
    QByteArray rows = "[\n";
    for (int i = 0; i < 8; ++i) {
        rows += QStringLiteral(R"(  {"id": %1, "name": "item %1 – Ünïcödé", "price": %2.%3, "tags": ["t%1", "x"], "stock": null, "ok": %4})")
                    .arg(i)
                    .arg(i * 37 + 1)
                    .arg(i * 7 % 100, 2, 10, QLatin1Char('0'))
                    .arg(i % 2 ? QLatin1String("true") : QLatin1String("false"))
                    .toUtf8();
        rows += i < 7 ? ",\n" : "\n";
    }
    put("json", "rows", rows + "]\n");
    // Also a canonical scalar once re-escaped, and a name whose escapes are valid.
    put("json", "scalar-name", QByteArrayLiteral(R"("~0 and ~1 \u00e9")"));
    put("json", "scalar-number", QByteArrayLiteral(" \n-12.5e+3\t"));
}

// Control protocol frames: one of each kind as a stream read in small
// pieces, and single bodies.
void controlFrames()
{
    using namespace vd::control;
    auto frame = [](const Message &m) { return *encodeFrame(m); };
    auto body = [&](const Message &m) { return QByteArray(1, '\x01') + frame(m).sliced(4); };
    QCborMap args;
    args.insert(QLatin1String("path"), QStringLiteral("/docs/写真"));
    args.insert(QLatin1String("recursive"), true);
    args.insert(QLatin1String("limit"), 100);
    Chunk data;
    data.id = 2;
    data.data = QByteArray("some bytes\0\x01\xff", 13);
    Chunk items;
    items.id = 3;
    items.seq = 1;
    items.isItems = true;
    items.items.append(args);
    items.items.append(QStringLiteral("name"));
    items.end = true;
    QByteArray session = frame(Hello{1, QStringLiteral("vdrive ls")}) + frame(Request{1, QStringLiteral("ls"), args, 2 << 20, false}) +
                         frame(Credit{1, 65536}) + frame(Cancel{1});
    put("control", "client-stream", QByteArray(1, char(6 << 1)) + session); // pieces of 7 bytes
    QByteArray answers = frame(Welcome{1, QStringLiteral("vdrive serve"), 4242}) + frame(data) + frame(items) +
                         frame(Progress{2, 5, 10}) + frame(Reply{2, {}, args}) +
                         frame(Reply{3, Status::notFound(QStringLiteral("no '/x'")), {}}) +
                         frame(Event{QStringLiteral("changes/docs"), args});
    put("control", "server-stream", QByteArray(1, char(63 << 1)) + answers); // pieces of 64 bytes
    put("control", "request", body(Request{7, QStringLiteral("put"), args, 0, true}));
    put("control", "error", body(Error{Status::versionMismatch(QStringLiteral("speaks 2"))}));
    put("control", "chunk-items", body(items));
}

} // namespace

// Node ids as vdrive prints them and as people type them back.
void nodeIds()
{
    node::NodeId id;
    for (int i = 0; i < node::NodeId::size; ++i)
        id.bytes[size_t(i)] = uint8_t(i);
    const QString text = id.toString();
    put("nodeid", "printed", text.toLatin1());
    put("nodeid", "typed", text.toLower().replace(QLatin1Char('-'), QLatin1Char(' ')).toLatin1() + "\n");
    put("nodeid", "plain", QString(text).remove(QLatin1Char('-')).toLatin1());
    id.bytes.fill(0xff);
    put("nodeid", "ones", id.toString().toLatin1());
}

// Version vectors: empty, one node, a few nodes with small and large counters,
// and two vectors back to back (read as a pair by the target).
void versionVectors()
{
    VersionVector one;
    (void)one.increment(0x0001020304050607);
    VersionVector few = one;
    (void)few.increment(0x7fffffffffffffff, 300);
    (void)few.increment(0xfedcba9876543210, VersionVector::kMaxCounter);
    VersionVector other;
    (void)other.increment(0x0001020304050607, 2);
    (void)other.increment(0x1111111111111111);
    put("versionvector", "empty", VersionVector().encode());
    put("versionvector", "one", one.encode());
    put("versionvector", "few", few.encode());
    put("versionvector", "pair", few.encode() + other.encode());
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
        return 2;
    }
    g_root = QString::fromLocal8Bit(argv[1]);
    meta();
    bitmap();
    blockheader();
    smallblock();
    catalogpage();
    rootrecord();
    catalogtable();
    records();
    treeRecords();
    json();
    nodeIds();
    versionVectors();
    controlFrames();
    return g_failures == 0 ? 0 : 1;
}
