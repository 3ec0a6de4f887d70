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

// Flips each byte in [from, to) of a valid encoding and checks the decoder refuses it.
void everyFlipIsCaught(const QByteArray &good, qsizetype from, qsizetype to, const std::function<Status(const QByteArray &)> &decode)
{
    for (qsizetype i = from; i < to; ++i) {
        QByteArray bad = good;
        bad[i] = char(bad[i] ^ 0x5a);
        const Status st = decode(bad);
        QVERIFY2(st.code() == ErrorCode::Corruption || st.code() == ErrorCode::VersionMismatch,
                 qPrintable(QStringLiteral("byte %1 flipped: %2").arg(i).arg(st.toString())));
    }
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
        QByteArray copy = sampleMeta().encodeCopy();
        copy[8] = char(Meta::kFormat + 1); // a newer format, with a checksum that still fits
        const uint32_t bodyLength = uint8_t(copy[12]) | uint32_t(uint8_t(copy[13])) << 8;
        const Hash256 h = sha256(QByteArrayView(copy).first(bodyLength));
        copy.replace(bodyLength, 32, QByteArray(reinterpret_cast<const char *>(h.bytes.data()), 32));
        VD_VERIFY_CODE(Meta::decodeCopy(copy), ErrorCode::VersionMismatch);
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
        const Ruid owner = Ruid::generate();
        const QByteArray slot = HeadSlot::encode(owner, r);
        auto fromSlot = HeadSlot::decode(slot, owner);
        VD_VERIFY_OK(fromSlot);
        QVERIFY(*fromSlot == r);
        VD_VERIFY_CODE(HeadSlot::decode(slot, Ruid::generate()), ErrorCode::Corruption);
        everyFlipIsCaught(slot, 0, slot.size(), [&](const QByteArray &b) { return HeadSlot::decode(b, owner).status(); });
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
