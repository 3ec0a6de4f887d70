// Zeros cost nothing: blocks of zeros become zero pieces (no block, no
// space), a sparse file's holes are learnt from the file system and never
// read, and everything reads back right — whole, by range, after a range
// write into the zeros, in a snapshot, after gc — with fsck clean. Also the
// catalog format that zero pieces need: newer ones are refused, older
// collections open and are upgraded.
#include "testsupport.h"

#include "core/bytes.h"
#include "io/memenv.h"
#include "io/zeroruns.h"
#include "storage/collection.h"
#include "storage/bitmapfile.h"
#include "storage/metafile.h"
#include "storage/records.h"
#include "storage/rootrecord.h"
#include "tree/drive.h"

#include <QBuffer>
#include <QFile>
#include <QTemporaryDir>

#include <cstring>
#include <sys/stat.h>

using namespace vd;
using namespace vd::storage;
using tree::Drive;

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = uint64_t(1) << 20;
constexpr uint64_t GiB = uint64_t(1) << 30;

uint64_t allocatedOnDisk(const QString &path)
{
    struct stat st;
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return 0;
    return uint64_t(st.st_blocks) * 512;
}

// A stretch of known bytes in a file that is otherwise zeros.
struct Island
{
    uint64_t offset;
    QByteArray bytes;
};

// What the file should hold at [pos, pos + n): zeros, and the islands.
QByteArray expected(const std::vector<Island> &islands, uint64_t pos, uint64_t n)
{
    QByteArray out(qsizetype(n), '\0');
    for (const Island &i : islands) {
        const uint64_t a = std::max(pos, i.offset);
        const uint64_t b = std::min(pos + n, i.offset + uint64_t(i.bytes.size()));
        if (a < b)
            std::memcpy(out.data() + (a - pos), i.bytes.constData() + (a - i.offset), size_t(b - a));
    }
    return out;
}

// A sink that checks every byte it is given against the expected content,
// so gigabytes are verified without being held.
class CheckingSink final : public QIODevice
{
public:
    explicit CheckingSink(std::vector<Island> islands) : m_islands(std::move(islands)) { open(QIODevice::WriteOnly); }
    uint64_t written() const { return m_pos; }
    qint64 firstWrong() const { return m_firstWrong; }

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *data, qint64 len) override
    {
        if (m_firstWrong < 0) {
            bool touches = false;
            for (const Island &i : m_islands)
                touches = touches || (i.offset < m_pos + uint64_t(len) && i.offset + uint64_t(i.bytes.size()) > m_pos);
            if (touches) {
                const QByteArray want = expected(m_islands, m_pos, uint64_t(len));
                if (std::memcmp(want.constData(), data, size_t(len)) != 0)
                    m_firstWrong = qint64(m_pos);
            } else if (len > 0 && (data[0] != 0 || std::memcmp(data, data + 1, size_t(len - 1)) != 0)) {
                m_firstWrong = qint64(m_pos);
            }
        }
        m_pos += uint64_t(len);
        return len;
    }

private:
    std::vector<Island> m_islands;
    uint64_t m_pos = 0;
    qint64 m_firstWrong = -1;
};

// A sparse local file of `size` bytes with the islands written in it.
bool makeSparse(const QString &path, uint64_t size, const std::vector<Island> &islands)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || !f.resize(qint64(size)))
        return false;
    for (const Island &i : islands)
        if (!f.seek(qint64(i.offset)) || f.write(i.bytes) != i.bytes.size())
            return false;
    return true;
}

QString faultsOf(const FsckReport &r)
{
    QStringList all;
    for (const QString &f : r.faults)
        all << f;
    return all.join(QStringLiteral("; "));
}

} // namespace

class TestZeros : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_tmp;
    int m_count = 0;

    std::unique_ptr<Drive> fresh(io::Env &env, const QString &parent)
    {
        auto c = Collection::create(env, parent, QStringLiteral("z%1").arg(++m_count));
        if (!c)
            qFatal("create: %s", qPrintable(c.status().toString()));
        auto d = Drive::attach(std::move(c).value(), vd::test::testDrive());
        if (!d)
            qFatal("attach: %s", qPrintable(d.status().toString()));
        return std::move(d).value();
    }

    Status putLocal(Drive &d, const QString &local, const QString &vpath)
    {
        QFile in(local);
        if (!in.open(QIODevice::ReadOnly))
            return Status::ioError(in.errorString());
        VD_TRY_ASSIGN(auto holes, io::FileHoles::open(local));
        VD_TRY(d.putFile(vpath, in, {}, holes.get()).status());
        return d.commit();
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_tmp.isValid()); }

    void holesOfALocalFileAreFound()
    {
        const QString path = m_tmp.filePath(QStringLiteral("holes"));
        QVERIFY(makeSparse(path, 64 * MiB, {{8 * MiB, QByteArray(int(MiB), 'x')}, {40 * MiB, QByteArray(100, 'y')}}));
        auto holes = io::FileHoles::open(path);
        VD_VERIFY_OK(holes);
        const io::ZeroRun first = (*holes)->nextZeroRun(0);
        QCOMPARE(first.offset, uint64_t(0));
        QCOMPARE(first.length, 8 * MiB);
        const io::ZeroRun second = (*holes)->nextZeroRun(8 * MiB);
        QCOMPARE(second.offset, 9 * MiB);
        QVERIFY(second.offset + second.length <= 40 * MiB);
        const io::ZeroRun last = (*holes)->nextZeroRun(40 * MiB + 100);
        QVERIFY(last.length > 0);
        QCOMPARE(last.offset + last.length, 64 * MiB); // a hole to the end
        QCOMPARE((*holes)->nextZeroRun(64 * MiB).length, uint64_t(0));
    }

    void aTenGiBSparseFileCostsAlmostNothing()
    {
        const QString local = m_tmp.filePath(QStringLiteral("sparse10g"));
        const uint64_t size = 10 * GiB;
        QVERIFY(makeSparse(local, size, {}));
        QVERIFY(allocatedOnDisk(local) < MiB);
        const QString parent = m_tmp.filePath(QStringLiteral("c1"));
        auto d = fresh(*io::Env::posix(), parent);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/first"), "x"));
        VD_VERIFY_OK(d->commit());
        const QString idvd = d->collection().path() + QStringLiteral("/idvd");
        const uint64_t before = allocatedOnDisk(idvd);
        VD_VERIFY_OK(putLocal(*d, local, QStringLiteral("/sparse")));
        const uint64_t grew = allocatedOnDisk(idvd) - before;
        QVERIFY2(grew < MiB, qPrintable(QStringLiteral("idvd grew by %1 bytes").arg(grew)));
        auto st = d->stat(QStringLiteral("/sparse"));
        VD_VERIFY_OK(st);
        QCOMPARE(st->size, size);
        CheckingSink sink({});
        VD_VERIFY_OK(d->readFile(QStringLiteral("/sparse"), sink));
        QCOMPARE(sink.written(), size);
        QCOMPARE(sink.firstWrong(), qint64(-1));
        auto clusters = d->clusters(QStringLiteral("/sparse"));
        VD_VERIFY_OK(clusters);
        for (const tree::ClusterInfo &c : *clusters)
            for (const tree::PieceInfo &p : c.pieces)
                QVERIFY(p.zero);
        const FsckReport r = d->fsck();
        QVERIFY2(r.isClean(), qPrintable(faultsOf(r)));
        QFile::remove(local);
    }

    void aSparseFileWithDataReadsBackEverywhere()
    {
        // Islands of data at odd places of a 10 GiB sparse file: at the
        // start, across a block boundary, mid-way, and at the very end.
        const uint64_t size = 10 * GiB + 12345;
        std::vector<Island> islands = {
            {0, test::randomBytes(int(3 * MiB + 17), 1)},
            {16 * MiB - 128 - 1000, test::randomBytes(5000, 2)},
            {5 * GiB + 4097, test::randomBytes(int(40 * KiB), 3)},
            {size - 300, test::randomBytes(300, 4)},
        };
        const QString local = m_tmp.filePath(QStringLiteral("islands"));
        QVERIFY(makeSparse(local, size, islands));
        const QString parent = m_tmp.filePath(QStringLiteral("c2"));
        auto d = fresh(*io::Env::posix(), parent);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/first"), "x"));
        VD_VERIFY_OK(d->commit());
        const QString idvd = d->collection().path() + QStringLiteral("/idvd");
        const uint64_t before = allocatedOnDisk(idvd);
        VD_VERIFY_OK(putLocal(*d, local, QStringLiteral("/f")));
        // The islands cost about their own bytes (each laid out as if the
        // file ended there, not padded to a 16 MiB block), the holes nothing.
        const uint64_t grew = allocatedOnDisk(idvd) - before;
        QVERIFY2(grew <= 4 * MiB, qPrintable(QString::number(grew)));
        {
            CheckingSink sink(islands);
            VD_VERIFY_OK(d->readFile(QStringLiteral("/f"), sink));
            QCOMPARE(sink.written(), size);
            QCOMPARE(sink.firstWrong(), qint64(-1));
        }
        // Range reads inside the zeros, across an island's edges, at the end.
        for (const auto &[pos, n] : std::vector<std::pair<uint64_t, uint64_t>>{
                 {2 * GiB, 4096}, {3 * MiB, 100}, {16 * MiB - 128 - 1100, 7000}, {5 * GiB, 128 * KiB}, {size - 1000, 5000}}) {
            auto got = d->read(QStringLiteral("/f"), pos, n);
            VD_VERIFY_OK(got);
            const uint64_t len = std::min(n, size - pos);
            QCOMPARE(uint64_t(got->size()), len);
            QVERIFY2(*got == expected(islands, pos, len), qPrintable(QStringLiteral("range at %1").arg(pos)));
        }

        // A range write into the middle of a run of zeros, under a snapshot.
        VD_VERIFY_OK(d->createSnapshot(QStringLiteral("before")));
        VD_VERIFY_OK(d->commit());
        const uint64_t at = 7 * GiB + 333;
        const QByteArray patch = test::randomBytes(9000, 5);
        VD_VERIFY_OK(d->writeFile(QStringLiteral("/f"), at, patch));
        VD_VERIFY_OK(d->commit());
        std::vector<Island> now = islands;
        now.push_back({at, patch});
        QCOMPARE(d->stat(QStringLiteral("/f")).value().size, size);
        QCOMPARE(d->read(QStringLiteral("/f"), at - 100, 9200).value(), expected(now, at - 100, 9200));
        QCOMPARE(d->read(QStringLiteral("/f"), at - 100, 9200, QStringLiteral("before")).value(), QByteArray(9200, '\0'));
        // Overwrite an island with zeros: the bytes become a zero piece again.
        VD_VERIFY_OK(d->writeFile(QStringLiteral("/f"), 5 * GiB + 4097, QByteArray(int(40 * KiB), '\0')));
        VD_VERIFY_OK(d->commit());
        now[2].bytes.fill('\0');
        auto gc = d->gc();
        VD_VERIFY_OK(gc);
        {
            CheckingSink sink(now);
            VD_VERIFY_OK(d->readFile(QStringLiteral("/f"), sink));
            QCOMPARE(sink.firstWrong(), qint64(-1));
        }
        {
            CheckingSink sink(islands);
            VD_VERIFY_OK(d->readFile(QStringLiteral("/f"), sink, {}, QStringLiteral("before")));
            QCOMPARE(sink.firstWrong(), qint64(-1));
        }
        // A copy shares everything; deleting the snapshot and gc keep it whole.
        VD_VERIFY_OK(d->copy(QStringLiteral("/f"), QStringLiteral("/g")));
        VD_VERIFY_OK(d->deleteSnapshot(QStringLiteral("before")));
        VD_VERIFY_OK(d->commit());
        VD_VERIFY_OK(d->gc());
        {
            CheckingSink sink(now);
            VD_VERIFY_OK(d->readFile(QStringLiteral("/g"), sink));
            QCOMPARE(sink.written(), size);
            QCOMPARE(sink.firstWrong(), qint64(-1));
        }
        const FsckReport r = d->fsck();
        QVERIFY2(r.isClean(), qPrintable(faultsOf(r)));
        QFile::remove(local);
    }

    void zerosInAnOrdinaryStreamAreFoundToo()
    {
        // No holes are known (a pipe, a buffer): whole blocks of zeros are
        // still found in the bytes, and cost no block.
        io::MemEnv mem;
        auto d = fresh(mem, QStringLiteral("/c"));
        QByteArray bytes(int(48 * MiB + 5000), '\0');
        const QByteArray data = test::randomBytes(int(MiB), 9);
        std::memcpy(bytes.data() + 20 * MiB, data.constData(), size_t(data.size()));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/z"), bytes));
        VD_VERIFY_OK(d->commit());
        auto clusters = d->clusters(QStringLiteral("/z"));
        VD_VERIFY_OK(clusters);
        int zeroPieces = 0, stored = 0;
        for (const tree::ClusterInfo &c : *clusters)
            for (const tree::PieceInfo &p : c.pieces)
                (p.zero ? zeroPieces : stored) += 1;
        QCOMPARE(stored, 1);   // the 16 MiB block that holds the data
        QVERIFY(zeroPieces >= 3);
        auto info = d->collection().info();
        VD_VERIFY_OK(info);
        QCOMPARE(info->dataBlocks, uint64_t(1));
        QCOMPARE(d->read(QStringLiteral("/z"), 0, 49 * MiB).value(), bytes);
        // An empty tail of zeros and a small file of zeros cost nothing either.
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/small"), QByteArray(100, '\0')));
        VD_VERIFY_OK(d->commit());
        QCOMPARE(d->collection().info().value().smallSlots, info->smallSlots);
        QCOMPARE(d->read(QStringLiteral("/small"), 0, 1000).value(), QByteArray(100, '\0'));
        QVERIFY(d->fsck().isClean());
    }

    // ---- the catalog format --------------------------------------------

    void zeroPiecesRoundTripAndAreBounded()
    {
        ClusterRecord c;
        c.birth = 7;
        c.pieces = {Piece::zeros(Piece::kMaxZeroLength), Piece::zeros(1)};
        auto back = ClusterRecord::decode(c.encode());
        VD_VERIFY_OK(back);
        QCOMPARE(back->length(), uint64_t(Piece::kMaxZeroLength) + 1);
        QVERIFY(back->pieces[0].isZero() && back->pieces[1].isZero());
        QCOMPARE(c.encode().size(), 1 + 8 + 2 * 5); // a kind and a length, nothing else
        for (uint32_t bad : {0u, Piece::kMaxZeroLength + 1}) {
            QByteArray raw = c.encode();
            raw[9 + 1] = char(bad & 0xff);
            raw[9 + 2] = char((bad >> 8) & 0xff);
            raw[9 + 3] = char((bad >> 16) & 0xff);
            raw[9 + 4] = char((bad >> 24) & 0xff);
            VD_VERIFY_CODE(ClusterRecord::decode(raw), ErrorCode::Corruption);
        }
    }

    void aNewerCatalogFormatIsRefused()
    {
        RootRecord root;
        root.generation = 3;
        root.catalogFormat = RootRecord::kCatalogFormat + 1;
        VD_VERIFY_CODE(RootRecord::decode(root.encode()), ErrorCode::VersionMismatch);
        root.catalogFormat = 0;
        VD_VERIFY_CODE(RootRecord::decode(root.encode()), ErrorCode::Corruption);
        root.catalogFormat = RootRecord::kCatalogFormat;
        root.reserve = {Extent{3 * MiB, 0}, Extent{4 * MiB, 0}};
        auto back = RootRecord::decode(root.encode());
        VD_VERIFY_OK(back);
        QVERIFY(*back == root);
        // A whole collection whose catalog says a newer format does not open.
        io::MemEnv mem;
        QString dir;
        {
            auto d = fresh(mem, QStringLiteral("/c"));
            VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/f"), "f"));
            VD_VERIFY_OK(d->commit());
            dir = d->collection().path();
        }
        const QString metaPath = dir + QStringLiteral("/.meta");
        QByteArray raw = mem.contents(metaPath).value();
        for (int copy = 0; copy < 2; ++copy) {
            auto m = Meta::decodeCopy(QByteArrayView(raw).sliced(copy * Meta::kCopySize, Meta::kCopySize));
            VD_VERIFY_OK(m);
            m->root.catalogFormat = RootRecord::kCatalogFormat + 1;
            raw.replace(copy * Meta::kCopySize, Meta::kCopySize, m->encodeCopy());
        }
        VD_VERIFY_OK(mem.setContents(metaPath, raw));
        auto opened = Collection::open(mem, dir, Access::ReadOnly);
        VD_VERIFY_CODE(opened, ErrorCode::VersionMismatch);
        QVERIFY2(opened.status().message().contains(QStringLiteral("catalog is format 4")), qPrintable(opened.status().message()));
    }

    void anOlderCollectionOpensAndIsUpgraded()
    {
        // A collection as the previous build left it: .meta and head slot
        // format 2, whose root record ends with the tree's counters (read as
        // catalog format 1), and no reserve.
        io::MemEnv mem;
        QString dir;
        {
            auto d = fresh(mem, QStringLiteral("/c"));
            VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/f"), test::randomBytes(int(2 * MiB), 6)));
            VD_VERIFY_OK(d->commit());
            dir = d->collection().path();
        }
        const uint64_t generation = makeFormatTwo(mem, dir);
        QVERIFY(generation > 0);
        {
            auto ro = Drive::open(mem, dir, Access::ReadOnly);
            VD_VERIFY_OK(ro);
            QCOMPARE((*ro)->read(QStringLiteral("/f"), 0, 2 * MiB).value(), test::randomBytes(int(2 * MiB), 6));
            QCOMPARE((*ro)->collection().generation(), generation);
            const FsckReport r = (*ro)->fsck();
            QVERIFY2(r.isClean(), qPrintable(faultsOf(r)));
        }
        auto d = Drive::open(mem, dir, Access::ReadWrite, vd::test::testDrive());
        VD_VERIFY_OK(d);
        VD_VERIFY_OK((*d)->putFileBytes(QStringLiteral("/zeros"), QByteArray(int(17 * MiB), '\0')));
        VD_VERIFY_OK((*d)->commit());
        const QString metaPath = dir + QStringLiteral("/.meta");
        auto meta = readMeta(*mem.open(metaPath, io::OpenMode::ReadOnly).value());
        VD_VERIFY_OK(meta);
        QCOMPARE(meta->root.catalogFormat, RootRecord::kCatalogFormat);
        QCOMPARE(meta->root.reserve.size(), Collection::kReserveBlocks);
        QCOMPARE(mem.contents(metaPath).value().mid(8, 2), QByteArray("\x03\x00", 2));
        QCOMPARE((*d)->read(QStringLiteral("/zeros"), 17 * MiB - 10, 10).value(), QByteArray(10, '\0'));
        const FsckReport r = (*d)->fsck();
        QVERIFY2(r.isClean(), qPrintable(faultsOf(r)));
    }

private:
    // Rewrites the collection at dir as the previous build would have left
    // it (its newest generation in both .meta copies, format 2; the head
    // slot format 2; the reserve's blocks free). Returns the generation.
    static uint64_t makeFormatTwo(io::MemEnv &mem, const QString &dir)
    {
        const QString metaPath = dir + QStringLiteral("/.meta");
        auto metaFile = mem.open(metaPath, io::OpenMode::ReadWrite);
        auto bitmapFile = mem.open(dir + QStringLiteral("/.bitmap"), io::OpenMode::ReadWrite);
        auto idvd = mem.open(dir + QStringLiteral("/idvd"), io::OpenMode::ReadWrite);
        if (!metaFile || !bitmapFile || !idvd)
            return 0;
        auto m = readMeta(**metaFile);
        if (!m)
            return 0;
        auto alloc = readBitmap(**bitmapFile, *m);
        if (!alloc)
            return 0;
        for (const Extent &e : m->root.reserve)
            if (!alloc->free(e))
                return 0;
        m->root.reserve.clear();
        const PreparedBitmap bitmap = prepareBitmap(m->bitmap, m->generation, *alloc);
        if (!writePreparedBitmap(**bitmapFile, bitmap))
            return 0;
        m->bitmap = bitmap.location;
        const QByteArray root = m->root.encode();
        const QByteArray oldRoot = root.first(root.size() - 3); // no catalog format, no reserve count

        QByteArray copy = m->encodeCopy();
        const qsizetype rootAt = copy.indexOf(root);
        QByteArray body = copy.left(rootAt - 2);
        ByteWriter w(&body);
        w.u16(uint16_t(oldRoot.size()));
        w.bytes(oldRoot);
        w.u16(0); // members
        body[8] = 2;
        body[9] = 0;
        const uint32_t length = uint32_t(body.size());
        for (int i = 0; i < 4; ++i)
            body[12 + i] = char(uint8_t(length >> (8 * i)));
        w.bytes(sha256(body).view());
        body.resize(Meta::kCopySize, '\0');
        if (!(*metaFile)->write(0, body) || !(*metaFile)->write(Meta::kCopySize, body))
            return 0;

        QByteArray slot;
        ByteWriter h(&slot);
        h.u32(HeadSlot::kMagic);
        h.u16(2);
        h.u16(uint16_t(oldRoot.size()));
        h.bytes(m->ruid.view());
        h.bytes(oldRoot);
        h.bytes(sha256(slot).view());
        if (!(*idvd)->write(HeadSlot::offsetFor(m->generation), slot))
            return 0;
        return m->generation;
    }
};

QTEST_GUILESS_MAIN(TestZeros)
#include "tst_zeros.moc"
