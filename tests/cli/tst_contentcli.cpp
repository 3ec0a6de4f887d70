// Content-named blocks through the real binary: a second copy of a file put
// from outside costs < 1% more space (df honest), and a collection written
// by the previous build (catalog format 2: a stored fixture made by it)
// still reads, checks clean, takes new writes and collects garbage.
#include "clitest.h"

#include "io/env.h"
#include "storage/collection.h"
#include "storage/records.h"

using namespace vd::clitest;

namespace {

const QString kCollection = u"old"_s;

// The fixture's files, as the previous build was given them.
QByteArray bigText()
{
    QByteArray out;
    for (int i = 0; i < 60000; ++i)
        out += QByteArray("line ") + QByteArray::number(i).rightJustified(7, '0') + " of the big file, kept by an older vdrive\n";
    return out;
}
QByteArray smallText()
{
    QByteArray out;
    for (int i = 0; i < 20; ++i)
        out += "a small file, packed in a SmallBlock by catalog format 2\n";
    return out;
}

} // namespace

class TestContentCli : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void aSecondCopyCostsUnderOnePercent()
    {
        Sandbox sb;
        EXPECT_EXIT(sb.run({u"init"_s, u"c"_s}), ExitOk);
        const QString file = sb.path(u"big.bin"_s);
        QVERIFY(writeFile(file, randomBytes(64 * MiB + 12345, 8)));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put"_s, file, u"/a"_s}), ExitOk);
        const Run before = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"df"_s});
        EXPECT_EXIT(before, ExitOk);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put"_s, file, u"/b"_s}), ExitOk);
        const Run after = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"df"_s});
        EXPECT_EXIT(after, ExitOk);
        const qint64 a = parseJson(before).toObject().value(u"allocatedBytes"_s).toInteger();
        const qint64 b = parseJson(after).toObject().value(u"allocatedBytes"_s).toInteger();
        const qint64 logical = parseJson(after).toObject().value(u"logicalBytes"_s).toInteger();
        QVERIFY2(a > 64 * MiB && b < a + a / 100, qPrintable(u"allocated %1 -> %2 bytes"_s.arg(a).arg(b)));
        QCOMPARE(logical, 2 * (64 * MiB + 12345));
        const Run cat = sb.run({u"-c"_s, u"c"_s, u"cat"_s, u"/b"_s});
        EXPECT_EXIT(cat, ExitOk);
        QVERIFY(cat.out == readFile(file));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s}), ExitOk);
    }

    void contentHeldElsewhereIsNotHereNotDamage()
    {
        Sandbox sb;
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());
        const QString file = sb.path(u"f.bin"_s);
        QVERIFY(writeFile(file, randomBytes(2 * MiB - 128, 9))); // one 2 MiB block
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put"_s, file, u"/f"_s}), ExitOk);
        {
            // This node forgets where it keeps the content (what a replica
            // that has the references but not the bytes looks like), and the
            // block that held it is given back.
            auto opened = vd::storage::Collection::open(*vd::io::Env::posix(), sb.collectionDir(ruid), vd::storage::Access::ReadWrite);
            VD_VERIFY_OK(opened);
            auto &c = **opened;
            std::vector<QByteArray> names;
            VD_VERIFY_OK(c.catalog().scan(QByteArray(1, 'N'), QByteArray(1, 'O'), [&](QByteArrayView key, QByteArrayView) {
                names.push_back(key.toByteArray());
                return true;
            }));
            QCOMPARE(names.size(), size_t(1));
            VD_VERIFY_OK(c.removeRecord(names[0]));
            VD_VERIFY_OK(c.commit());
        }
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s, u"--repair"_s}), ExitOk);
        const Run cat = sb.run({u"-c"_s, u"c"_s, u"cat"_s, u"/f"_s});
        EXPECT_EXIT(cat, ExitNotHere);
        EXPECT_CONTAINS(cat.errText(), u"vdrive: not-here: content "_s);
        EXPECT_CONTAINS(cat.errText(), u"is referenced here but held by other nodes"_s);
        const Run fsck = sb.run({u"-c"_s, u"c"_s, u"fsck"_s});
        EXPECT_EXIT(fsck, ExitOk);
        EXPECT_CONTAINS(fsck.outText(), u"not here: 1 piece of content is referenced here but held by other nodes (not damage)"_s);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"gc"_s}), ExitOk);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"cat"_s, u"/f"_s}), ExitNotHere);
    }

    void aCollectionOfTheEarlierFormatReadsAndIsUpgraded()
    {
        Sandbox sb;
        QProcess tar;
        tar.start(u"tar"_s, {u"-xzf"_s, QStringLiteral(VD_FIXTURES) + u"/format2-collection.tar.gz"_s, u"-C"_s, sb.path(QString())});
        QVERIFY(tar.waitForFinished(kTimeoutMs) && tar.exitCode() == 0);
        auto cat = [&](const QString &path) { return sb.run({u"-c"_s, kCollection, u"cat"_s, path}); };
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"fsck"_s}), ExitOk);
        Run r = cat(u"/big.txt"_s);
        EXPECT_EXIT(r, ExitOk);
        QVERIFY(r.out == bigText());
        r = cat(u"/copy.txt"_s);
        EXPECT_EXIT(r, ExitOk);
        QVERIFY(r.out == bigText());
        r = cat(u"/small.txt"_s);
        EXPECT_EXIT(r, ExitOk);
        QVERIFY(r.out == smallText());
        // New writes use content pieces beside the old block and slot pieces;
        // the same bytes written anew are named, old copies keep their blocks.
        const QString local = sb.path(u"again.txt"_s);
        QVERIFY(writeFile(local, bigText()));
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"put"_s, local, u"/again.txt"_s}), ExitOk);
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"cp"_s, u"/big.txt"_s, u"/copy2.txt"_s}), ExitOk);
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"rm"_s, u"/big.txt"_s, u"/small.txt"_s}), ExitOk);
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"snapshot"_s, u"delete"_s, u"before"_s}), ExitOk);
        EXPECT_EXIT(sb.run({u"-c"_s, kCollection, u"gc"_s}), ExitOk);
        const Run fsck = sb.run({u"-c"_s, kCollection, u"fsck"_s});
        EXPECT_EXIT(fsck, ExitOk);
        for (const QString &path : {u"/again.txt"_s, u"/copy.txt"_s, u"/copy2.txt"_s}) {
            r = cat(path);
            EXPECT_EXIT(r, ExitOk);
            QVERIFY2(r.out == bigText(), qPrintable(path));
        }
        r = cat(u"/later.txt"_s);
        EXPECT_EXIT(r, ExitOk);
        QVERIFY(r.out == smallText());
    }
};

QTEST_GUILESS_MAIN(TestContentCli)
#include "tst_contentcli.moc"
