// Bad input on disk: truncated, garbled or zero-length .meta, .bitmap and
// idvd, a missing file, a folder that is not a RUID, lengths that claim far
// more than is there. Each gives a clear error naming what is wrong — never
// a crash — and opening, even for writing, changes no byte of any file.
#include "testsupport.h"

#include "io/env.h"
#include "storage/bitmapfile.h"
#include "storage/blockallocator.h"
#include "storage/collection.h"
#include "storage/metafile.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <functional>
#include <optional>

using namespace vd;
using namespace vd::storage;

namespace {

QByteArray fileBytes(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return QByteArray("<missing>");
    return f.readAll();
}

void setFileBytes(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        qFatal("cannot write %s", qPrintable(path));
    f.write(bytes);
}

using Mutation = std::function<QByteArray(const QByteArray &)>;

} // namespace

class TestBadInput : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_tmp;
    QString m_dir;
    std::map<QString, QByteArray> m_good;
    const QStringList m_files = {QStringLiteral("idvd"), QStringLiteral(".bitmap"), QStringLiteral(".meta")};

    QString file(const QString &name) const { return m_dir + QLatin1Char('/') + name; }

    void restore()
    {
        for (const auto &[name, bytes] : m_good)
            setFileBytes(file(name), bytes);
    }

    // Opens read-only and read-write; both must fail with `code` and a message
    // containing `mentions`, and no file may change.
    void expectRefused(ErrorCode code, const QString &mentions)
    {
        std::map<QString, QByteArray> before;
        for (const QString &f : m_files)
            before[f] = fileBytes(file(f));
        for (Access access : {Access::ReadOnly, Access::ReadWrite}) {
            auto c = Collection::open(*io::Env::posix(), m_dir, access);
            QVERIFY2(!c.isOk(), "a damaged collection was opened");
            QVERIFY2(c.status().code() == code, qPrintable(c.status().toString()));
            QVERIFY2(c.status().message().contains(mentions), qPrintable(QStringLiteral("'%1' does not mention '%2'").arg(c.status().message(), mentions)));
            for (const QString &f : m_files)
                QVERIFY2(fileBytes(file(f)) == before[f], qPrintable(f + QStringLiteral(" was changed by a failed open")));
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        auto c = Collection::create(*io::Env::posix(), m_tmp.path(), QStringLiteral("victim"));
        VD_VERIFY_OK(c);
        VD_VERIFY_OK((*c)->putObjectBytes(QStringLiteral("small"), "little"));
        VD_VERIFY_OK((*c)->commit());
        VD_VERIFY_OK((*c)->putObjectBytes(QStringLiteral("big"), test::randomBytes(20 << 20, 1)));
        VD_VERIFY_OK((*c)->commit());
        m_dir = (*c)->path();
        c = Result<std::unique_ptr<Collection>>(Status::cancelled(QString()));
        for (const QString &f : m_files)
            m_good[f] = fileBytes(file(f));
    }

    void cleanup() { restore(); }

    void damagedFilesAreRefused_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("kind"); // how to damage it
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("mentions");
        enum { Empty, Half, OneShort, Garbage, FlipEverywhere };
        const int corrupt = int(ErrorCode::Corruption);
        QTest::newRow(".meta empty") << QStringLiteral(".meta") << int(Empty) << corrupt << QStringLiteral(".meta");
        QTest::newRow(".meta one copy long") << QStringLiteral(".meta") << int(Half) << corrupt << QStringLiteral(".meta");
        QTest::newRow(".meta one byte short") << QStringLiteral(".meta") << int(OneShort) << corrupt << QStringLiteral(".meta");
        QTest::newRow(".meta garbage") << QStringLiteral(".meta") << int(Garbage) << corrupt << QStringLiteral("no valid copy");
        QTest::newRow(".meta both copies flipped") << QStringLiteral(".meta") << int(FlipEverywhere) << corrupt << QStringLiteral("checksum");
        QTest::newRow(".bitmap empty") << QStringLiteral(".bitmap") << int(Empty) << corrupt << QStringLiteral(".bitmap");
        QTest::newRow(".bitmap half") << QStringLiteral(".bitmap") << int(Half) << corrupt << QStringLiteral(".bitmap");
        QTest::newRow(".bitmap garbage") << QStringLiteral(".bitmap") << int(Garbage) << corrupt << QStringLiteral(".bitmap");
        QTest::newRow(".bitmap flipped") << QStringLiteral(".bitmap") << int(FlipEverywhere) << corrupt << QStringLiteral(".bitmap");
        QTest::newRow("idvd empty") << QStringLiteral("idvd") << int(Empty) << corrupt << QStringLiteral("idvd");
        QTest::newRow("idvd truncated") << QStringLiteral("idvd") << int(Half) << corrupt << QStringLiteral("truncated");
        QTest::newRow("idvd garbled head") << QStringLiteral("idvd") << int(Garbage) << corrupt << QStringLiteral("block");
    }
    void damagedFilesAreRefused()
    {
        QFETCH(QString, name);
        QFETCH(int, kind);
        QFETCH(int, code);
        QFETCH(QString, mentions);
        const QByteArray good = m_good[name];
        QByteArray bad;
        switch (kind) {
        case 0: break;
        case 1:
            if (name == QStringLiteral(".bitmap")) {
                // cut through the copy the committed .meta points at
                auto meta = Meta::decodeCopy(QByteArrayView(m_good[QStringLiteral(".meta")]).first(Meta::kCopySize));
                auto other = Meta::decodeCopy(QByteArrayView(m_good[QStringLiteral(".meta")]).last(Meta::kCopySize));
                const Meta &newest = meta->generation > other->generation ? *meta : *other;
                bad = good.left(qsizetype(newest.bitmap.offset + newest.bitmap.length / 2));
            } else {
                bad = good.left(name == QStringLiteral(".meta") ? Meta::kCopySize : good.size() / 2);
            }
            break;
        case 2: bad = good.left(good.size() - 1); break;
        case 3:
            bad = good;
            bad.replace(0, qMin<qsizetype>(good.size(), 16384), test::randomBytes(qMin<qsizetype>(good.size(), 16384), 99));
            break;
        case 4:
            bad = good;
            for (qsizetype i = 40; i < bad.size(); i += 4096)
                bad[i] = char(bad[i] ^ 0x01);
            break;
        }
        setFileBytes(file(name), bad);
        expectRefused(ErrorCode(code), mentions);
    }

    void aTornOrDamagedNewestMetaCopyRollsForward()
    {
        // The newest copy may be torn by a crash or damaged after its commit
        // was acknowledged; idvd tells which. Here the commit was complete
        // (its head slot and everything it wrote verify), so it is opened.
        QByteArray meta = m_good[QStringLiteral(".meta")];
        auto a = Meta::decodeCopy(QByteArrayView(meta).first(Meta::kCopySize));
        auto b = Meta::decodeCopy(QByteArrayView(meta).last(Meta::kCopySize));
        VD_VERIFY_OK(a);
        VD_VERIFY_OK(b);
        const bool firstIsNewest = a->generation > b->generation;
        const uint64_t newest = std::max(a->generation, b->generation);
        meta[(firstIsNewest ? 0 : Meta::kCopySize) + 100] ^= 0x40;
        setFileBytes(file(QStringLiteral(".meta")), meta);
        auto c = Collection::open(*io::Env::posix(), m_dir, Access::ReadOnly);
        VD_VERIFY_OK(c);
        QCOMPARE((*c)->generation(), newest);
        VD_VERIFY_OK((*c)->statObject(QStringLiteral("small")));
        VD_VERIFY_OK((*c)->statObject(QStringLiteral("big")));
        QCOMPARE((*c)->warnings().size(), size_t(1));
        const FsckReport r = (*c)->fsck();
        QCOMPARE(r.faults.size(), size_t(1));
        QVERIFY2(r.faults.front().contains(QStringLiteral("vdrive fsck --repair")), qPrintable(r.faults.front()));
    }

    // A cut idvd is named by the first block that lies past its end.
    void aTruncatedIdvdNamesTheFirstBlockPastTheEnd_data()
    {
        QTest::addColumn<qint64>("cut");
        QTest::newRow("inside the head block") << qint64(4096 * 3);
        QTest::newRow("after the head block") << qint64((1 << 20) + 100);
        QTest::newRow("5 MiB") << qint64(5 << 20);
        QTest::newRow("17 MiB") << qint64(17 << 20);
        QTest::newRow("one byte short") << qint64(-1);
    }
    void aTruncatedIdvdNamesTheFirstBlockPastTheEnd()
    {
        QFETCH(qint64, cut);
        auto m0 = Meta::decodeCopy(QByteArrayView(m_good[QStringLiteral(".meta")]).first(Meta::kCopySize));
        auto m1 = Meta::decodeCopy(QByteArrayView(m_good[QStringLiteral(".meta")]).last(Meta::kCopySize));
        VD_VERIFY_OK(m0);
        VD_VERIFY_OK(m1);
        const Meta &m = m0->generation > m1->generation ? *m0 : *m1;
        const QByteArray bitmap = m_good[QStringLiteral(".bitmap")].mid(qsizetype(m.bitmap.offset), qsizetype(m.bitmap.length));
        auto copy = BitmapCopy::decode(bitmap);
        VD_VERIFY_OK(copy);
        auto alloc = BlockAllocator::fromWords(copy->words);
        VD_VERIFY_OK(alloc);
        const QByteArray idvd = m_good[QStringLiteral("idvd")];
        std::optional<Extent> last;
        for (const Extent &e : alloc->blocks())
            if (!last || e.offset > last->offset)
                last = e;
        const qint64 size = cut < 0 ? qint64(last->offset + last->size()) - 1 : cut;
        std::optional<Extent> first;
        for (const Extent &e : alloc->blocks())
            if (qint64(e.offset + e.size()) > size && (!first || e.offset < first->offset))
                first = e;
        QVERIFY(first.has_value());
        QVERIFY2(cut == qint64(4096 * 3) || first->offset != 0, "the cut lies after the head block");
        setFileBytes(file(QStringLiteral("idvd")), idvd.left(size));
        expectRefused(ErrorCode::Corruption, QStringLiteral("idvd is %1 bytes long").arg(size));
        expectRefused(ErrorCode::Corruption,
                      QStringLiteral("the first block past the end is the %1 MiB block at offset %2; the file was truncated").arg(first->size() >> 20).arg(first->offset));
    }

    void lengthsThatClaimTooMuchAreRefused()
    {
        // A .meta with a valid checksum whose numbers point far past the files.
        auto m0 = Meta::decodeCopy(QByteArrayView(m_good[QStringLiteral(".meta")]).first(Meta::kCopySize));
        auto m1 = Meta::decodeCopy(QByteArrayView(m_good[QStringLiteral(".meta")]).last(Meta::kCopySize));
        VD_VERIFY_OK(m0);
        VD_VERIFY_OK(m1);
        auto &m = m0->generation > m1->generation ? m0 : m1;
        Meta huge = *m;
        huge.bitmap.length = 0x7fffffffu;
        VD_VERIFY_CODE(Meta::decodeCopy(huge.encodeCopy()), ErrorCode::Corruption);
        Meta farBitmap = *m;
        farBitmap.bitmap.offset = uint64_t(1) << 39;
        QByteArray both = farBitmap.encodeCopy() + farBitmap.encodeCopy();
        setFileBytes(file(QStringLiteral(".meta")), both);
        expectRefused(ErrorCode::Corruption, QStringLiteral(".bitmap"));
        restore();
        Meta tooManyUnits = *m;
        tooManyUnits.units = 3000000; // more than the bitmap copy holds
        both = tooManyUnits.encodeCopy() + tooManyUnits.encodeCopy();
        setFileBytes(file(QStringLiteral(".meta")), both);
        expectRefused(ErrorCode::Corruption, QStringLiteral(".bitmap"));
        restore();
        // A .bitmap copy whose unit count claims 4 million units.
        QByteArray bitmap = m_good[QStringLiteral(".bitmap")];
        const qsizetype at = qsizetype(m->bitmap.offset) + 16;
        bitmap[at] = 0;
        bitmap[at + 1] = 0;
        bitmap[at + 2] = 0x40;
        bitmap[at + 3] = 0;
        setFileBytes(file(QStringLiteral(".bitmap")), bitmap);
        expectRefused(ErrorCode::Corruption, QStringLiteral(".bitmap"));
    }

    void aMissingFileIsNamed_data()
    {
        QTest::addColumn<QString>("name");
        QTest::newRow("idvd") << QStringLiteral("idvd");
        QTest::newRow(".bitmap") << QStringLiteral(".bitmap");
        QTest::newRow(".meta") << QStringLiteral(".meta");
    }
    void aMissingFileIsNamed()
    {
        QFETCH(QString, name);
        QVERIFY(QFile::remove(file(name)));
        expectRefused(ErrorCode::Corruption, QStringLiteral("missing its %1").arg(name));
    }

    void anotherCollectionsMetaIsRefused()
    {
        auto other = Collection::create(*io::Env::posix(), m_tmp.path(), QStringLiteral("other"));
        VD_VERIFY_OK(other);
        const QByteArray foreign = fileBytes((*other)->path() + QStringLiteral("/.meta"));
        setFileBytes(file(QStringLiteral(".meta")), foreign);
        expectRefused(ErrorCode::Corruption, QStringLiteral("holds the .meta of collection"));
    }

    void aFolderThatIsNotACollection()
    {
        const QString notRuid = m_tmp.path() + QStringLiteral("/not-a-ruid");
        QVERIFY(QDir().mkpath(notRuid));
        VD_VERIFY_CODE(Collection::open(*io::Env::posix(), notRuid, Access::ReadOnly), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(Collection::open(*io::Env::posix(), m_tmp.path() + QStringLiteral("/00000000000000000000000000000001"), Access::ReadOnly),
                       ErrorCode::NotFound);
        VD_VERIFY_CODE(Collection::peekMeta(*io::Env::posix(), notRuid), ErrorCode::NotFound);
    }

    void repairRebuildsALostBitmap_data()
    {
        QTest::addColumn<bool>("deleted");
        QTest::newRow("emptied") << false;
        QTest::newRow("deleted") << true;
    }
    void repairRebuildsALostBitmap()
    {
        QFETCH(bool, deleted);
        if (deleted)
            QVERIFY(QFile::remove(file(QStringLiteral(".bitmap"))));
        else
            setFileBytes(file(QStringLiteral(".bitmap")), QByteArray());
        expectRefused(ErrorCode::Corruption, QStringLiteral(".bitmap"));
        bool changed = false;
        // Stopped (Ctrl-C) before it commits: nothing is repaired.
        VD_VERIFY_CODE(Collection::openAndRepair(*io::Env::posix(), m_dir, &changed, [](uint64_t) { return false; }), ErrorCode::Cancelled);
        QVERIFY(!changed);
        expectRefused(ErrorCode::Corruption, QStringLiteral(".bitmap"));
        auto c = Collection::openAndRepair(*io::Env::posix(), m_dir, &changed);
        VD_VERIFY_OK(c);
        QVERIFY(changed);
        QVERIFY((*c)->fsck().isClean());
        auto big = (*c)->readObject(QStringLiteral("big"), 0, 1 << 20);
        VD_VERIFY_OK(big);
        QCOMPARE(*big, test::randomBytes(20 << 20, 1).left(1 << 20));
        // A second repair finds nothing to change.
        c = Result<std::unique_ptr<Collection>>(Status::cancelled(QString()));
        auto again = Collection::openAndRepair(*io::Env::posix(), m_dir, &changed);
        VD_VERIFY_OK(again);
        QVERIFY(!changed);
        // the repaired files are the new good state for later tests
        again = Result<std::unique_ptr<Collection>>(Status::cancelled(QString()));
        for (const QString &f : m_files)
            m_good[f] = fileBytes(file(f));
    }
};

QTEST_GUILESS_MAIN(TestBadInput)
#include "tst_badinput.moc"
