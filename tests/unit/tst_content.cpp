// Content-named blocks (catalog format 3): identical content stored once,
// references counted by name through removal, snapshots and gc, a reference
// to content held elsewhere reads NotHere (and fsck and gc know it from
// damage), content imported by name and bytes, and a range read that
// verifies only the 1 MiB chunks it touches.
#include "testsupport.h"

#include "io/memenv.h"
#include "storage/blockheader.h"
#include "storage/collection.h"
#include "storage/content.h"
#include "storage/readertable.h"
#include "storage/records.h"

#include <QBuffer>

using namespace vd;
using namespace vd::storage;

namespace {

constexpr uint64_t MiB = uint64_t(1) << 20;

QString joined(const std::vector<QString> &lines)
{
    return QStringList(lines.begin(), lines.end()).join(QStringLiteral(" | "));
}

// The content pieces of an object, in order.
std::vector<Piece> contentPieces(Collection &c, const QString &key)
{
    std::vector<Piece> out;
    auto info = c.statObject(key);
    if (!info)
        return out;
    (void)Collection::forEachCluster(c.catalog(), info->id, [&](uint64_t, const ClusterRecord &rec) -> Status {
        for (const Piece &p : rec.pieces)
            if (p.kind == Piece::Kind::Content)
                out.push_back(p);
        return {};
    });
    return out;
}

uint64_t allocated(Collection &c)
{
    auto info = c.info();
    return info ? info->allocatedBytes : 0;
}

} // namespace

class TestContent : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void theNameIsOverTheChunkHashes()
    {
        const QByteArray data = test::randomBytes(qsizetype(2 * MiB + 5), 1);
        const NamedContent n = nameContent(data);
        QCOMPARE(n.chunks.size(), size_t(3));
        QCOMPARE(n.chunks[2], sha256(QByteArrayView(data).sliced(qsizetype(2 * MiB))));
        QCOMPARE(nameContent(data, true).name, n.name);
        QCOMPARE(contentName(uint64_t(data.size()), n.chunks), n.name);
        // The length is named too: the same chunk hashes under another length differ.
        QVERIFY(contentName(uint64_t(data.size()) + 1, n.chunks) != n.name);
        // Every piece written is named by its content: the same on any node.
        io::MemEnv mem;
        auto c = Collection::create(mem, QStringLiteral("/a"), QStringLiteral("a")).value();
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("k"), data));
        const auto pieces = contentPieces(*c, QStringLiteral("k"));
        QCOMPARE(pieces.size(), size_t(2)); // a 2 MiB block and a packed tail
        QCOMPARE(pieces[0].name, nameContent(QByteArrayView(data).first(qsizetype(BlockHeader::capacity(1)))).name);
    }

    void identicalContentIsStoredOnce()
    {
        io::MemEnv mem;
        auto c = Collection::create(mem, QStringLiteral("/a"), QStringLiteral("a")).value();
        const QByteArray big = test::randomBytes(qsizetype(64 * MiB + 1000), 2);
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("first"), big));
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("small1"), "a small file's bytes"));
        VD_VERIFY_OK(c->commit());
        const uint64_t before = allocated(*c);
        const auto infoBefore = c->info().value();
        // The same bytes again, from outside: a second copy costs < 1%.
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("second"), big));
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("small2"), "a small file's bytes"));
        VD_VERIFY_OK(c->commit());
        const uint64_t after = allocated(*c);
        const auto infoAfter = c->info().value();
        QVERIFY2(after < before + before / 100, qPrintable(QStringLiteral("%1 -> %2 bytes allocated").arg(before).arg(after)));
        QCOMPARE(infoAfter.dataBlocks, infoBefore.dataBlocks);
        QCOMPARE(infoAfter.smallSlots, infoBefore.smallSlots);
        QCOMPARE(c->readObject(QStringLiteral("second"), 0, big.size()).value(), big);
        QCOMPARE(c->readObject(QStringLiteral("small2"), 0, 100).value(), QByteArray("a small file's bytes"));
        const FsckReport r = c->fsck();
        QVERIFY2(r.isClean(), qPrintable(joined(r.faults)));
        QCOMPARE(r.overcountedBlocks, uint64_t(0));
    }

    void sharedContentLivesUntilItsLastReference()
    {
        io::MemEnv mem;
        auto c = Collection::create(mem, QStringLiteral("/a"), QStringLiteral("a")).value();
        VD_VERIFY_OK(c->commit());
        const QByteArray big = test::randomBytes(qsizetype(20 * MiB), 3);
        const QByteArray small = test::randomBytes(5000, 4);
        for (const char *k : {"a", "b"}) {
            VD_VERIFY_OK(c->putObjectBytes(QString::fromLatin1(k), big));
            VD_VERIFY_OK(c->putObjectBytes(QString::fromLatin1(k) + QStringLiteral(".s"), small));
        }
        VD_VERIFY_OK(c->commit());
        const uint64_t both = allocated(*c);
        VD_VERIFY_OK(c->removeObject(QStringLiteral("a")));
        VD_VERIFY_OK(c->removeObject(QStringLiteral("a.s")));
        VD_VERIFY_OK(c->commit());
        // gc's recount agrees with the counts kept on the way: nothing to fix or free.
        auto gc = c->collectGarbage();
        VD_VERIFY_OK(gc);
        QCOMPARE(gc->countsFixed, uint64_t(0));
        QCOMPARE(gc->blocksFreed, uint64_t(0));
        QCOMPARE(allocated(*c), both);
        QCOMPARE(c->readObject(QStringLiteral("b"), 0, big.size()).value(), big);
        QCOMPARE(c->readObject(QStringLiteral("b.s"), 0, small.size()).value(), small);
        FsckReport r = c->fsck();
        QVERIFY2(r.isClean() && r.overcountedBlocks == 0, qPrintable(joined(r.faults)));

        // A snapshot holds the content after the last live reference goes;
        // deleting it leaves counts that gc lowers and then frees.
        VD_VERIFY_OK(c->addSnapshot(QStringLiteral("s"), 1));
        VD_VERIFY_OK(c->commit());
        VD_VERIFY_OK(c->removeObject(QStringLiteral("b")));
        VD_VERIFY_OK(c->removeObject(QStringLiteral("b.s")));
        VD_VERIFY_OK(c->commit());
        gc = c->collectGarbage();
        VD_VERIFY_OK(gc);
        QCOMPARE(gc->blocksFreed, uint64_t(0));
        QCOMPARE(allocated(*c), both);
        VD_VERIFY_OK(c->removeSnapshot(QStringLiteral("s")));
        VD_VERIFY_OK(c->commit());
        r = c->fsck();
        QVERIFY2(r.isClean(), qPrintable(joined(r.faults)));
        QVERIFY(r.reclaimableBytes > 0);
        gc = c->collectGarbage();
        VD_VERIFY_OK(gc);
        QCOMPARE(gc->blocksFreed, uint64_t(2)); // 16 + 4 MiB of data (the open SmallBlock stays open)
        const auto info = c->info().value();
        QCOMPARE(info.dataBlocks, uint64_t(0));
        QCOMPARE(info.smallSlots, uint64_t(0));
        QVERIFY2(allocated(*c) + 20 * MiB <= both, qPrintable(QStringLiteral("%1 of %2 bytes still allocated").arg(allocated(*c)).arg(both)));
        r = c->fsck();
        QVERIFY2(r.isClean() && r.reclaimableBytes == 0 && r.overcountedBlocks == 0, qPrintable(joined(r.faults)));
    }

    void contentHeldElsewhereReadsNotHereUntilImported()
    {
        io::MemEnv mem;
        auto opened = Collection::create(mem, QStringLiteral("/a"), QStringLiteral("a"));
        VD_VERIFY_OK(opened);
        auto c = std::move(opened).value();
        const QByteArray data = test::randomBytes(qsizetype(BlockHeader::capacity(1)), 5); // one 2 MiB block
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("x"), data));
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("y"), data));
        VD_VERIFY_OK(c->commit());
        const auto pieces = contentPieces(*c, QStringLiteral("x"));
        QCOMPARE(pieces.size(), size_t(1));
        const Hash256 name = pieces[0].name;
        // This node forgets where it keeps the block (as if a peer had sent
        // the references only); what held it is then a leak, which repair frees.
        QVERIFY(c->removeRecord(keys::location(name)).value());
        VD_VERIFY_OK(c->commit());
        const QString dir = c->path();
        c.reset();
        bool changed = false;
        auto repaired = Collection::openAndRepair(mem, dir, &changed);
        VD_VERIFY_OK(repaired);
        QVERIFY(changed);
        c = std::move(repaired).value();
        const uint64_t without = allocated(*c);

        auto read = c->readObject(QStringLiteral("x"), 0, 10);
        VD_VERIFY_CODE(read, ErrorCode::NotHere);
        QVERIFY2(read.status().message().contains(name.shortHex()), qPrintable(read.status().message()));
        QByteArray sink;
        QBuffer out(&sink);
        out.open(QIODevice::WriteOnly);
        VD_VERIFY_CODE(c->getObject(QStringLiteral("y"), out), ErrorCode::NotHere);
        // Not damage: fsck counts it apart, gc keeps the references.
        FsckReport r = c->fsck();
        QVERIFY2(r.isClean(), qPrintable(joined(r.faults)));
        QCOMPARE(r.contentNotHere, uint64_t(1));
        QVERIFY2(joined(r.notes).contains(QStringLiteral("not here")), qPrintable(joined(r.notes)));
        VD_VERIFY_OK(c->collectGarbage());
        VD_VERIFY_CODE(c->readObject(QStringLiteral("x"), 0, 10), ErrorCode::NotHere);

        // Import: bytes that do not match the name are refused, nothing stored.
        QByteArray wrong = data;
        wrong[qsizetype(MiB) + 7] = char(wrong[qsizetype(MiB) + 7] ^ 1);
        VD_VERIFY_CODE(c->importContent(name, wrong), ErrorCode::Corruption);
        QVERIFY(!c->hasUncommittedChanges());
        QCOMPARE(allocated(*c), without);
        VD_VERIFY_CODE(c->readObject(QStringLiteral("x"), 0, 10), ErrorCode::NotHere);
        // The right bytes: stored, and both references read them.
        auto imported = c->importContent(name, data);
        VD_VERIFY_OK(imported);
        QVERIFY(*imported);
        VD_VERIFY_OK(c->commit());
        QCOMPARE(c->readObject(QStringLiteral("x"), 0, data.size()).value(), data);
        QCOMPARE(c->readObject(QStringLiteral("y"), 0, data.size()).value(), data);
        const uint64_t with = allocated(*c);
        QCOMPARE(with, without + 2 * MiB);
        r = c->fsck();
        QVERIFY2(r.isClean() && r.contentNotHere == 0 && r.overcountedBlocks == 0, qPrintable(joined(r.faults)));
        // Twice: nothing more.
        imported = c->importContent(name, data);
        VD_VERIFY_OK(imported);
        QVERIFY(!*imported);
        QVERIFY(!c->hasUncommittedChanges());
        QCOMPARE(allocated(*c), with);
        // The counts imported are exact: removing one copy keeps the other.
        VD_VERIFY_OK(c->removeObject(QStringLiteral("x")));
        VD_VERIFY_OK(c->commit());
        QCOMPARE(c->readObject(QStringLiteral("y"), 0, data.size()).value(), data);
        auto gc = c->collectGarbage();
        VD_VERIFY_OK(gc);
        QCOMPARE(gc->countsFixed, uint64_t(0));
    }

    void aPackedPayloadHeldElsewhereIsImportedToo()
    {
        io::MemEnv mem;
        auto c = Collection::create(mem, QStringLiteral("/a"), QStringLiteral("a")).value();
        const QByteArray small = test::randomBytes(3000, 6);
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("s"), small));
        VD_VERIFY_OK(c->commit());
        const Hash256 name = contentPieces(*c, QStringLiteral("s")).at(0).name;
        QVERIFY(c->removeRecord(keys::location(name)).value());
        VD_VERIFY_OK(c->commit());
        VD_VERIFY_CODE(c->readObject(QStringLiteral("s"), 0, 10), ErrorCode::NotHere);
        VD_VERIFY_CODE(c->importContent(name, small.left(2999)), ErrorCode::Corruption);
        VD_VERIFY_OK(c->importContent(name, small));
        VD_VERIFY_OK(c->commit());
        QCOMPARE(c->readObject(QStringLiteral("s"), 0, 5000).value(), small);
    }

    void aRangeReadVerifiesOnlyTheChunksItTouches()
    {
        io::MemEnv mem;
        auto c = Collection::create(mem, QStringLiteral("/a"), QStringLiteral("a")).value();
        const QByteArray data = test::randomBytes(qsizetype(BlockHeader::capacity(2)), 7); // one 4 MiB block: 4 chunks
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("r"), data));
        VD_VERIFY_OK(c->commit());
        const QString idvd = c->path() + QStringLiteral("/idvd");
        const QString dir = c->path();
        c.reset();
        QByteArray disk = mem.contents(idvd).value();
        const qsizetype at = disk.indexOf(QByteArrayView(data).sliced(qsizetype(3 * MiB), 64));
        QVERIFY(at > 0);
        disk[at + 10] = char(disk[at + 10] ^ 0x40); // a byte of chunk 3
        VD_VERIFY_OK(mem.setContents(idvd, disk));
        c = Collection::open(mem, dir, Access::ReadOnly).value();
        QCOMPARE(c->readObject(QStringLiteral("r"), 5, MiB).value(), QByteArray(data.mid(5, qsizetype(MiB))));
        QCOMPARE(c->readObject(QStringLiteral("r"), 2 * MiB - 3, 100).value(), QByteArray(data.mid(qsizetype(2 * MiB - 3), 100)));
        auto bad = c->readObject(QStringLiteral("r"), 3 * MiB + 100, 10);
        VD_VERIFY_CODE(bad, ErrorCode::Corruption);
        QVERIFY2(bad.status().message().contains(QStringLiteral("chunk 3")), qPrintable(bad.status().message()));
        VD_VERIFY_CODE(c->readObject(QStringLiteral("r"), 2 * MiB, 2 * MiB), ErrorCode::Corruption);
        QByteArray sink;
        QBuffer out(&sink);
        out.open(QIODevice::WriteOnly);
        VD_VERIFY_CODE(c->getObject(QStringLiteral("r"), out), ErrorCode::Corruption);
        QVERIFY(!c->fsck().isClean());
    }

    void aStreamNeverHandsOutAChunkThatFailedItsCheck()
    {
        // get streams data blocks a 1 MiB chunk at a time, each checked by a
        // worker before it is written out: a damaged chunk in the second
        // block stops the stream there, and every byte handed out before it
        // is the file's own.
        io::MemEnv mem;
        auto c = Collection::create(mem, QStringLiteral("/a"), QStringLiteral("a")).value();
        const QByteArray data = test::randomBytes(qsizetype(40 * MiB + 123), 8);
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("s"), data));
        VD_VERIFY_OK(c->commit());
        {
            QByteArray sink;
            QBuffer out(&sink);
            out.open(QIODevice::WriteOnly);
            VD_VERIFY_OK(c->getObject(QStringLiteral("s"), out));
            QVERIFY(sink == data);
        }
        const QString idvd = c->path() + QStringLiteral("/idvd");
        const QString dir = c->path();
        c.reset();
        QByteArray disk = mem.contents(idvd).value();
        const qsizetype bad = qsizetype(BlockHeader::capacity(kClassCount - 1) + 5 * MiB + 77); // chunk 5 of the second block
        const qsizetype at = disk.indexOf(QByteArrayView(data).sliced(bad - 77, 64));
        QVERIFY(at > 0);
        disk[at + 77] = char(disk[at + 77] ^ 0x01);
        VD_VERIFY_OK(mem.setContents(idvd, disk));
        c = Collection::open(mem, dir, Access::ReadOnly).value();
        QByteArray sink;
        QBuffer out(&sink);
        out.open(QIODevice::WriteOnly);
        const Status st = c->getObject(QStringLiteral("s"), out);
        VD_VERIFY_CODE(st, ErrorCode::Corruption);
        QVERIFY2(st.message().contains(QStringLiteral("chunk 5")), qPrintable(st.message()));
        QVERIFY2(sink.size() <= bad - 77, qPrintable(QStringLiteral("%1 bytes handed out").arg(sink.size())));
        QVERIFY(sink == data.first(sink.size()));
        // The same through a reader pinned on the committed generation.
        auto pinned = c->readers()->pin(QStringLiteral("test"));
        VD_VERIFY_OK(pinned);
        const ObjectInfo info = c->statObject(QStringLiteral("s")).value();
        QByteArray sink2;
        QBuffer out2(&sink2);
        out2.open(QIODevice::WriteOnly);
        VD_VERIFY_CODE((*pinned)->streamData((*pinned)->catalog(), info.id, info.size, out2, {}, QStringLiteral("s")), ErrorCode::Corruption);
        QVERIFY(sink2.size() <= bad - 77);
        QVERIFY(sink2 == data.first(sink2.size()));
    }

    void aBigPutCancelledHalfWayLeavesNothingBehind()
    {
        // Full blocks are written while they are read, into extents taken
        // before their name is known: cancelled half way, the put gives
        // every one back, and a second copy of content held already is
        // referenced, its extents given back too.
        io::MemEnv mem;
        auto c = Collection::create(mem, QStringLiteral("/a"), QStringLiteral("a")).value();
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("small"), "before"));
        VD_VERIFY_OK(c->commit());
        const uint64_t before = allocated(*c);
        const QByteArray data = test::randomBytes(qsizetype(80 * MiB), 9);
        QBuffer in;
        in.setData(data);
        in.open(QIODevice::ReadOnly);
        uint64_t seen = 0;
        const Status st = c->putObject(QStringLiteral("big"), in, [&](uint64_t done) {
            seen = done;
            return done < 40 * MiB;
        });
        VD_VERIFY_CODE(st, ErrorCode::Cancelled);
        QVERIFY(seen >= 40 * MiB);
        VD_VERIFY_OK(c->rollback());
        QCOMPARE(allocated(*c), before);
        FsckReport r = c->fsck();
        QVERIFY2(r.isClean(), qPrintable(joined(r.faults)));

        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("big"), data));
        VD_VERIFY_OK(c->commit());
        const uint64_t once = allocated(*c);
        QVERIFY(once >= before + 80 * MiB);
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("again"), data));
        VD_VERIFY_OK(c->commit());
        QCOMPARE(allocated(*c), once);
        QByteArray sink;
        QBuffer out(&sink);
        out.open(QIODevice::WriteOnly);
        VD_VERIFY_OK(c->getObject(QStringLiteral("again"), out));
        QVERIFY(sink == data);
        r = c->fsck();
        QVERIFY2(r.isClean(), qPrintable(joined(r.faults)));
    }

    void aFullDiskStillTakesACopyOfContentHeldHere()
    {
        // A big put writes each block before its name is known; when the
        // disk is full those writes fail, but content held here already
        // needs none of them: the copy is a reference, as before.
        io::MemEnv mem;
        auto c = Collection::create(mem, QStringLiteral("/a"), QStringLiteral("a")).value();
        const QByteArray data = test::randomBytes(qsizetype(40 * MiB), 10);
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("first"), data));
        VD_VERIFY_OK(c->commit());
        mem.setCapacity(mem.usedBytes() + 2 * MiB); // room for the catalog, not for a block
        const uint64_t before = allocated(*c);
        VD_VERIFY_OK(c->putObjectBytes(QStringLiteral("copy"), data));
        VD_VERIFY_OK(c->commit());
        QCOMPARE(allocated(*c), before);
        QCOMPARE(c->readObject(QStringLiteral("copy"), 20 * MiB, 100).value(), data.mid(qsizetype(20 * MiB), 100));
        // New content does not fit, and says so; what was there stays.
        VD_VERIFY_CODE(c->putObjectBytes(QStringLiteral("new"), test::randomBytes(qsizetype(40 * MiB), 11)), ErrorCode::NoSpace);
        VD_VERIFY_OK(c->rollback());
        QCOMPARE(c->readObject(QStringLiteral("first"), 0, 100).value(), data.first(100));
        const FsckReport r = c->fsck();
        QVERIFY2(r.isClean(), qPrintable(joined(r.faults)));
    }
};

QTEST_GUILESS_MAIN(TestContent)
#include "tst_content.moc"
