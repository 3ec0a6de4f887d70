// Round trips of every on-disk structure, and rejection of every one of its
// bytes flipped: a decoder returns Corruption (or VersionMismatch), never
// garbage and never a crash.
#include "testsupport.h"

#include "storage/bitmapfile.h"
#include "storage/blockheader.h"
#include "storage/catalogpage.h"
#include "storage/catalogstore.h"
#include "storage/metafile.h"
#include "storage/records.h"
#include "storage/rootrecord.h"
#include "storage/smallblock.h"

#include "core/bytes.h"

#include <functional>
#include <map>

using namespace vd;
using namespace vd::storage;

namespace {

PageRef samplePageRef()
{
    PageRef p;
    p.blockOffset = 5 * kSlotSize;
    p.blockClass = 0;
    p.slot.offset = 200;
    p.slot.storedLength = 100;
    p.slot.rawLength = 300;
    p.slot.codec = Codec::Zstd;
    p.slot.rawHash = sha256("page");
    return p;
}

RootRecord sampleRoot(uint64_t generation)
{
    RootRecord r;
    r.generation = generation;
    r.catalogRoot = samplePageRef();
    r.segmentTable = samplePageRef();
    r.openSegmentOffset = 5 * kSlotSize;
    r.openSegmentClass = 0;
    r.openSegmentEnd = 4000;
    r.openSegmentLastDir = 3000;
    r.openSegmentSequence = 3;
    r.openSmallBlocks = {Ruid::generate(), Ruid::generate()};
    r.objectCount = 12;
    r.logicalBytes = 123456789;
    return r;
}

Meta sampleMeta()
{
    Meta m;
    m.generation = 7;
    m.ruid = Ruid::generate();
    m.name = QStringLiteral("写真 & photos");
    m.createdMs = 1700000000000;
    m.committedMs = 1700000001000;
    m.smallThreshold = 1000;
    m.units = 3;
    m.bitmap.offset = 4096;
    m.bitmap.length = 68;
    m.bitmap.hash = sha256("bitmap");
    m.root = sampleRoot(7);
    return m;
}

// Flips each byte in [from, to) of a valid encoding and checks the decoder
// refuses it as Corruption: damage is damage, in the format field too.
void everyFlipIsCaught(const QByteArray &good, qsizetype from, qsizetype to, const std::function<Status(const QByteArray &)> &decode)
{
    for (qsizetype i = from; i < to; ++i) {
        QByteArray bad = good;
        bad[i] = char(bad[i] ^ 0x5a);
        const Status st = decode(bad);
        QVERIFY2(st.code() == ErrorCode::Corruption, qPrintable(QStringLiteral("byte %1 flipped: %2").arg(i).arg(st.toString())));
    }
}

uint32_t readLe(const QByteArray &b, qsizetype at, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; ++i)
        v |= uint32_t(uint8_t(b[at + i])) << (8 * i);
    return v;
}

// Writes the SHA-256 of [0, end) at end: the checksum every structure with
// a format field ends its covered bytes with.
void reseal(QByteArray *b, qsizetype end)
{
    const Hash256 h = sha256(QByteArrayView(*b).first(end));
    b->replace(end, 32, QByteArray(reinterpret_cast<const char *>(h.bytes.data()), 32));
}

// One checksummed structure with a u16 format field: a good encoding, where
// its format field and its checksum lie, and its decoder.
struct Framed
{
    QByteArray good;
    qsizetype formatAt = 4;
    std::function<qsizetype(const QByteArray &)> checksumAt;
    std::function<Status(const QByteArray &)> decode;
    uint16_t current = 1;

    QByteArray withFormat(uint16_t format) const
    {
        QByteArray b = good;
        b[formatAt] = char(format & 0xff);
        b[formatAt + 1] = char(format >> 8);
        reseal(&b, checksumAt(b));
        return b;
    }
};

std::map<QString, Framed> framedStructures()
{
    std::map<QString, Framed> out;
    const Meta meta = sampleMeta();
    out[QStringLiteral(".meta copy")] = Framed{meta.encodeCopy(), 8, [](const QByteArray &b) { return qsizetype(readLe(b, 12, 4)); },
                                               [](const QByteArray &b) { return Meta::decodeCopy(b).status(); }, Meta::kFormat};
    const Ruid owner = meta.ruid;
    out[QStringLiteral("head slot")] = Framed{HeadSlot::encode(meta), 4, [](const QByteArray &b) { return qsizetype(24 + readLe(b, 6, 2)); },
                                              [owner](const QByteArray &b) { return HeadSlot::decode(b, owner).status(); }, HeadSlot::kFormat};
    BlockHeader h;
    h.kind = BlockKind::Data;
    h.blockId = Ruid::generate();
    h.version = 1;
    out[QStringLiteral("block header")] = Framed{h.encode(), 4, [](const QByteArray &) { return qsizetype(BlockHeader::kSize - 32); },
                                                 [](const QByteArray &b) { return BlockHeader::decode(b).status(); }, BlockHeader::kFormat};
    BitmapCopy c;
    c.generation = 5;
    c.words = {0x00010001u, 0u};
    out[QStringLiteral("bitmap copy")] = Framed{c.encode(), 4, [](const QByteArray &b) { return b.size() - 32; },
                                                [](const QByteArray &b) { return BitmapCopy::decode(b).status(); }, BitmapCopy::kFormat};
    SmallDirectory d;
    d.sequence = 1;
    SlotLocation loc;
    loc.offset = 200;
    loc.storedLength = 10;
    loc.rawLength = 10;
    d.slots = {loc};
    out[QStringLiteral("SmallBlock directory")] = Framed{d.encode(), 4, [](const QByteArray &b) { return b.size() - 32; },
                                                         [](const QByteArray &b) { return SmallDirectory::decode(b, 3000, kSlotSize).status(); },
                                                         SmallDirectory::kFormat};
    return out;
}

} // namespace

class TestCodecs : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void blockHeaderRoundTrips()
    {
        BlockHeader h;
        h.kind = BlockKind::Data;
        h.sizeClass = 3;
        h.blockId = Ruid::generate();
        h.version = 9;
        h.usedLength = 12345;
        h.payloadHash = sha256("payload");
        h.generation = 44;
        const QByteArray bytes = h.encode();
        QCOMPARE(bytes.size(), BlockHeader::kSize);
        auto back = BlockHeader::decode(bytes);
        VD_VERIFY_OK(back);
        QCOMPARE(back->blockId, h.blockId);
        QCOMPARE(back->version, h.version);
        QCOMPARE(back->usedLength, h.usedLength);
        QCOMPARE(back->payloadHash, h.payloadHash);
        QCOMPARE(int(back->sizeClass), 3);
        everyFlipIsCaught(bytes, 0, bytes.size(), [](const QByteArray &b) { return BlockHeader::decode(b).status(); });
        VD_VERIFY_CODE(BlockHeader::decode(bytes.left(100)), ErrorCode::Corruption);
        VD_VERIFY_CODE(BlockHeader::decode(QByteArray(128, '\0')), ErrorCode::Corruption);
    }

    void metaRoundTripsAndRejectsFlips()
    {
        const Meta m = sampleMeta();
        const QByteArray copy = m.encodeCopy();
        QCOMPARE(copy.size(), Meta::kCopySize);
        auto back = Meta::decodeCopy(copy);
        VD_VERIFY_OK(back);
        QCOMPARE(back->name, m.name);
        QCOMPARE(back->ruid, m.ruid);
        QCOMPARE(back->generation, m.generation);
        QCOMPARE(back->bitmap, m.bitmap);
        QVERIFY(back->root == m.root);
        // every byte up to and including the checksum matters
        qsizetype used = copy.size();
        while (used > 0 && copy[used - 1] == '\0')
            --used;
        everyFlipIsCaught(copy, 0, used, [](const QByteArray &b) { return Meta::decodeCopy(b).status(); });
    }

    void metaPicksTheNewestValidCopy()
    {
        // Exercised through the file in tst_badinput; here the pure rules.
        Meta a = sampleMeta();
        Meta b = a;
        b.generation = a.generation + 1;
        b.root.generation = b.generation;
        QVERIFY(Meta::decodeCopy(b.encodeCopy())->generation == a.generation + 1);
        Meta wrongRoot = a;
        wrongRoot.root.generation = a.generation - 1;
        VD_VERIFY_CODE(Meta::decodeCopy(wrongRoot.encodeCopy()), ErrorCode::Corruption);
    }

    void metaRejectsANewerFormat()
    {
        const Framed meta = framedStructures().at(QStringLiteral(".meta copy"));
        VD_VERIFY_CODE(meta.decode(meta.withFormat(Meta::kFormat + 1)), ErrorCode::VersionMismatch);
    }

    // FORMAT.md, "Versioning": magic, then checksum, then format. A flipped
    // bit of the format field is Corruption; a valid newer format is
    // VersionMismatch from a newer vdrive; a valid older one is upgraded or
    // refused saying what to run; 0 was never written by anyone.
    void formatFieldsAreBelievedOnlyAfterTheChecksum_data()
    {
        QTest::addColumn<QString>("structure");
        for (const auto &[name, framed] : framedStructures())
            QTest::newRow(qPrintable(name)) << name;
    }
    void formatFieldsAreBelievedOnlyAfterTheChecksum()
    {
        QFETCH(QString, structure);
        const Framed f = framedStructures().at(structure);
        VD_VERIFY_OK(f.decode(f.good));
        QCOMPARE(uint16_t(readLe(f.good, f.formatAt, 2)), f.current);
        for (int bit = 0; bit < 16; ++bit) {
            QByteArray flipped = f.good;
            flipped[f.formatAt + bit / 8] = char(flipped[f.formatAt + bit / 8] ^ (1 << (bit % 8)));
            const Status st = f.decode(flipped);
            QVERIFY2(st.code() == ErrorCode::Corruption, qPrintable(QStringLiteral("bit %1 of the format flipped: %2").arg(bit).arg(st.toString())));
        }
        for (uint16_t newer : {uint16_t(f.current + 1), uint16_t(0xffff)}) {
            const Status st = f.decode(f.withFormat(newer));
            QVERIFY2(st.code() == ErrorCode::VersionMismatch && st.message().contains(QStringLiteral("made by a newer vdrive")),
                     qPrintable(QStringLiteral("format %1: %2").arg(newer).arg(st.toString())));
        }
        const Status zero = f.decode(f.withFormat(0));
        QVERIFY2(zero.code() == ErrorCode::Corruption, qPrintable(zero.toString()));
    }

    void olderFormatsAreNamedAsOlder()
    {
        // .meta format 1 and head slot format 1 predate births: refused,
        // naming what to run. Head slot format 2 is read (and upgraded by
        // the collection at its first writable open).
        const auto all = framedStructures();
        for (const QString &name : {QStringLiteral(".meta copy"), QStringLiteral("head slot")}) {
            const Framed &f = all.at(name);
            const Status st = f.decode(f.withFormat(1));
            QVERIFY2(st.code() == ErrorCode::VersionMismatch && st.message().contains(QStringLiteral("made by an older vdrive"))
                         && st.message().contains(QStringLiteral("vdrive get-object")),
                     qPrintable(name + QStringLiteral(": ") + st.toString()));
        }
        const Meta meta = sampleMeta();
        QByteArray old;
        ByteWriter w(&old);
        const QByteArray body = meta.root.encode(false);
        w.u32(HeadSlot::kMagic);
        w.u16(2);
        w.u16(uint16_t(body.size()));
        w.bytes(meta.ruid.view());
        w.bytes(body);
        w.bytes(sha256(old).view());
        auto slot = HeadSlot::decode(old, meta.ruid);
        VD_VERIFY_OK(slot);
        QCOMPARE(slot->format, uint16_t(2));
        QVERIFY(!slot->isComplete());
        RootRecord earlier = meta.root;
        earlier.catalogFormat = 1;
        earlier.reserve.clear();
        QVERIFY(slot->state.root == earlier);
        QCOMPARE(slot->state.generation, meta.generation);
    }

    void collectionNamesAreChecked_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("valid");
        QTest::newRow("plain") << QStringLiteral("photos") << true;
        QTest::newRow("japanese") << QStringLiteral("写真") << true;
        QTest::newRow("empty") << QString() << false;
        QTest::newRow("slash") << QStringLiteral("a/b") << false;
        QTest::newRow("dot") << QStringLiteral(".") << false;
        QTest::newRow("dotdot") << QStringLiteral("..") << false;
        QTest::newRow("newline") << QStringLiteral("a\nb") << false;
        QTest::newRow("leading space") << QStringLiteral(" a") << false;
        QTest::newRow("256 bytes") << QString(256, QLatin1Char('x')) << false;
        QTest::newRow("255 bytes") << QString(255, QLatin1Char('x')) << true;
    }
    void collectionNamesAreChecked()
    {
        QFETCH(QString, name);
        QFETCH(bool, valid);
        QCOMPARE(validateCollectionName(name).isOk(), valid);
        if (!valid)
            QCOMPARE(validateCollectionName(name).code(), ErrorCode::InvalidArgument);
    }

    void bitmapRoundTripsAndRejectsFlips()
    {
        BitmapCopy c;
        c.generation = 5;
        c.words = {0x00010001u, 0u, 0x11110000u | 0xffffu};
        const QByteArray bytes = c.encode();
        auto back = BitmapCopy::decode(bytes);
        VD_VERIFY_OK(back);
        QCOMPARE(back->words, c.words);
        everyFlipIsCaught(bytes, 0, bytes.size(), [](const QByteArray &b) { return BitmapCopy::decode(b).status(); });
        VD_VERIFY_CODE(BitmapCopy::decode(bytes.left(bytes.size() - 1)), ErrorCode::Corruption);
        VD_VERIFY_CODE(BitmapCopy::decode(QByteArray()), ErrorCode::Corruption);
    }

    void bitmapCopiesNeverOverlapTheCommittedOne()
    {
        BitmapLocation committed;
        QCOMPARE(nextBitmapOffset(committed, 100), uint64_t(0));
        committed.offset = 0;
        committed.length = 100;
        const uint64_t next = nextBitmapOffset(committed, 100);
        QVERIFY(next >= 100);
        committed.offset = next;
        QCOMPARE(nextBitmapOffset(committed, 100), uint64_t(0)); // fits before
        QVERIFY(nextBitmapOffset(committed, uint32_t(next) + 1) >= next + 100); // does not: after
    }

    void smallDirectoryRoundTripsAndRejectsFlips()
    {
        SmallDirectory d;
        d.sequence = 2;
        d.prevOffset = 1000;
        for (int i = 0; i < 3; ++i) {
            SlotLocation s;
            s.offset = 2000 + 100 * uint32_t(i);
            s.storedLength = 90;
            s.rawLength = 200;
            s.codec = Codec::Zstd;
            s.rawHash = sha256(QByteArray::number(i));
            d.slots.push_back(s);
        }
        const QByteArray bytes = d.encode();
        QCOMPARE(uint32_t(bytes.size()), d.encodedSize());
        auto back = SmallDirectory::decode(bytes, 3000, kSlotSize);
        VD_VERIFY_OK(back);
        QCOMPARE(back->slots.size(), size_t(3));
        QCOMPARE(back->slots[1], d.slots[1]);
        everyFlipIsCaught(bytes, 0, bytes.size(), [](const QByteArray &b) { return SmallDirectory::decode(b, 3000, kSlotSize).status(); });
        // slots must lie before the directory
        VD_VERIFY_CODE(SmallDirectory::decode(bytes, 2100, kSlotSize), ErrorCode::Corruption);
    }

    void payloadsCompressOnlyWhenItPays()
    {
        const QByteArray text = test::randomBytes(100000, 1, true);
        const PackedPayload p = packPayload(text);
        QCOMPARE(p.codec, Codec::Zstd);
        QVERIFY(p.stored.size() < text.size() / 2);
        SlotLocation loc;
        loc.storedLength = uint32_t(p.stored.size());
        loc.rawLength = p.rawLength;
        loc.codec = p.codec;
        loc.rawHash = p.rawHash;
        auto back = unpackPayload(p.stored, loc);
        VD_VERIFY_OK(back);
        QCOMPARE(*back, text);

        const QByteArray noise = test::randomBytes(100000, 2);
        const PackedPayload q = packPayload(noise);
        QCOMPARE(q.codec, Codec::Raw);
        QCOMPARE(q.stored, noise);

        // A reference claiming more than any block holds is refused before
        // anything is allocated; so is a frame whose size disagrees.
        SlotLocation huge = loc;
        huge.rawLength = 0xfffffff0u;
        VD_VERIFY_CODE(unpackPayload(p.stored, huge), ErrorCode::Corruption);
        SlotLocation off = loc;
        off.rawLength = loc.rawLength + 1;
        VD_VERIFY_CODE(unpackPayload(p.stored, off), ErrorCode::Corruption);
        QByteArray encoded;
        huge.encode(&encoded);
        ByteReader r(encoded, QStringLiteral("slot"));
        SlotLocation::decode(r);
        QVERIFY(!r.ok());

        // A damaged compressed payload is a Corruption error, not a crash.
        QByteArray bad = p.stored;
        bad[bad.size() / 2] = char(bad[bad.size() / 2] ^ 1);
        VD_VERIFY_CODE(unpackPayload(bad, loc), ErrorCode::Corruption);
        VD_VERIFY_CODE(unpackPayload(p.stored.left(10), loc), ErrorCode::Corruption);
    }

    void rootRecordAndHeadSlotRoundTrip()
    {
        const RootRecord r = sampleRoot(3);
        auto back = RootRecord::decode(r.encode());
        VD_VERIFY_OK(back);
        QVERIFY(*back == r);
        // A head slot holds everything a .meta copy does.
        Meta state = sampleMeta();
        state.members = {QByteArray(32, 'm')};
        const Ruid owner = state.ruid;
        const QByteArray slot = HeadSlot::encode(state);
        QVERIFY(slot.size() <= HeadSlot::kSlotSize);
        auto fromSlot = HeadSlot::decode(slot, owner);
        VD_VERIFY_OK(fromSlot);
        QVERIFY(fromSlot->isComplete());
        QVERIFY(fromSlot->state == state);
        VD_VERIFY_CODE(HeadSlot::decode(slot, Ruid::generate()), ErrorCode::Corruption);
        everyFlipIsCaught(slot, 0, slot.size(), [&](const QByteArray &b) { return HeadSlot::decode(b, owner).status(); });
        // The largest state there is still fits a slot.
        state.name = QString(Meta::kMaxNameBytes, QLatin1Char('n'));
        state.members.assign(Meta::kMaxMembers, QByteArray(32, 'm'));
        QVERIFY(HeadSlot::encode(state).size() <= HeadSlot::kSlotSize);
        VD_VERIFY_OK(HeadSlot::decode(HeadSlot::encode(state), owner));
    }

    void catalogPageRoundTripsAndChecksOrder()
    {
        CatalogPage leaf;
        leaf.level = 0;
        leaf.keys = {"a", "b", "c"};
        leaf.values = {"1", QByteArray(1000, 'x'), ""};
        auto back = CatalogPage::decode(leaf.encode());
        VD_VERIFY_OK(back);
        QCOMPARE(back->keys, leaf.keys);
        QCOMPARE(back->values, leaf.values);
        CatalogPage unordered = leaf;
        std::swap(unordered.keys[0], unordered.keys[1]);
        VD_VERIFY_CODE(CatalogPage::decode(unordered.encode()), ErrorCode::Corruption);
        CatalogPage inner;
        inner.level = 1;
        inner.keys = {"", "m"};
        inner.children = {samplePageRef(), samplePageRef()};
        auto innerBack = CatalogPage::decode(inner.encode());
        VD_VERIFY_OK(innerBack);
        QCOMPARE(innerBack->children[1], inner.children[1]);
        VD_VERIFY_CODE(CatalogPage::decode(QByteArray("\x01\x00\x00\x00\xff\xff\xff\xff", 8)), ErrorCode::Corruption);
    }

    void segmentTableRoundTrips()
    {
        std::map<uint64_t, SegmentInfo> t;
        SegmentInfo s;
        s.extent = Extent{2 * kUnitSize + 4 * kSlotSize, 2};
        s.writtenEnd = 5000;
        s.lastDirOffset = 4000;
        s.sequence = 4;
        s.liveBytes = 3000;
        t[s.extent.offset] = s;
        auto back = CatalogStore::decodeTable(CatalogStore::encodeTable(t));
        VD_VERIFY_OK(back);
        QCOMPARE(back->size(), size_t(1));
        QCOMPARE(back->begin()->second.liveBytes, uint64_t(3000));
        QByteArray huge("\xff\xff\xff\x7f", 4);
        VD_VERIFY_CODE(CatalogStore::decodeTable(huge), ErrorCode::Corruption);
    }

    void recordsRoundTrip()
    {
        ClusterRecord c;
        Piece b;
        b.kind = Piece::Kind::Block;
        b.blockId = Ruid::generate();
        b.version = 1;
        b.sizeClass = 4;
        b.length = uint32_t(BlockHeader::capacity(4));
        b.hash = sha256("x");
        Piece s;
        s.kind = Piece::Kind::Slot;
        s.blockId = Ruid::generate();
        s.slot.offset = 128;
        s.slot.storedLength = 10;
        s.slot.rawLength = 20;
        s.slot.codec = Codec::Zstd;
        s.length = 20;
        c.pieces = {b, s};
        auto back = ClusterRecord::decode(c.encode());
        VD_VERIFY_OK(back);
        QCOMPARE(back->length(), c.length());
        QCOMPARE(back->pieces[1].slot, s.slot);
        VD_VERIFY_CODE(ClusterRecord::decode(QByteArray(1, '\0')), ErrorCode::Corruption);

        ObjectRecord o;
        o.objectId = Ruid::generate();
        o.size = 99;
        o.clusterCount = 1;
        auto ob = ObjectRecord::decode(o.encode());
        VD_VERIFY_OK(ob);
        QCOMPARE(ob->size, uint64_t(99));
        VD_VERIFY_CODE(ObjectRecord::decode(o.encode().left(10)), ErrorCode::Corruption);

        Ruid id;
        uint64_t version = 0;
        const Ruid want = Ruid::generate();
        QVERIFY(keys::parseBlockKey(keys::block(want, 258), &id, &version));
        QCOMPARE(id, want);
        QCOMPARE(version, uint64_t(258));
        // big-endian keys sort numerically
        QVERIFY(keys::cluster(want, 255) < keys::cluster(want, 256));
    }
};

QTEST_GUILESS_MAIN(TestCodecs)
#include "tst_codecs.moc"
