// Importing local files into a drive and exporting them back
// (engine/transfer), on real files: names with spaces and Japanese, empty
// and multi-MiB files, a symbolic link skipped with a warning, countFirst's
// totals, a cancel half-way (what the message says stays is what the drive
// lists, and fsck is clean), and an export that refuses to write through a
// symbolic link. Every observer call is recorded: progress never goes back.
#include "testsupport.h"

#include "io/env.h"
#include "storage/collection.h"
#include "transfer/localexport.h"
#include "transfer/localimport.h"
#include "tree/drive.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QRegularExpression>
#include <QTemporaryDir>

#include <limits>

using namespace vd;
using namespace vd::transfer;
using vd::storage::Access;
using vd::tree::Drive;

namespace {

// Hears everything; cancels once `cancelAfterFiles` files are reported done.
class Recorder final : public TransferObserver
{
public:
    std::vector<TransferProgress> seen;
    QStringList warnings;
    uint64_t cancelAfterFiles = std::numeric_limits<uint64_t>::max();

    bool isCancelled() const override { return m_cancelled; }
    void progress(const TransferProgress &p) override
    {
        seen.push_back(p);
        if (p.files >= cancelAfterFiles)
            m_cancelled = true;
    }
    void warning(const QString &message) override { warnings << message; }

    // The first call where a count went back, or -1.
    int wentBack() const
    {
        for (size_t i = 1; i < seen.size(); ++i) {
            const TransferProgress &a = seen[i - 1];
            const TransferProgress &b = seen[i];
            if (b.files < a.files || b.folders < a.folders || b.bytes < a.bytes || b.skipped < a.skipped)
                return int(i);
        }
        return -1;
    }

private:
    bool m_cancelled = false;
};

void writeFile(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    QCOMPARE(f.write(bytes), qint64(bytes.size()));
}

// Every regular file under root (links not followed), relative path -> bytes.
std::map<QString, QByteArray> filesUnder(const QString &root)
{
    std::map<QString, QByteArray> out;
    QDirIterator it(root, QDir::Files | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        if (QFileInfo(path).isSymLink())
            continue;
        QFile f(path);
        if (f.open(QIODevice::ReadOnly))
            out[QDir(root).relativeFilePath(path)] = f.readAll();
    }
    return out;
}

uint64_t numberBefore(const QString &text, const QString &word)
{
    const auto m = QRegularExpression(QStringLiteral("(\\d+) %1").arg(word)).match(text);
    return m.hasMatch() ? m.captured(1).toULongLong() : std::numeric_limits<uint64_t>::max();
}

} // namespace

class TestTransfer : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_tmp;
    io::Env *m_env = io::Env::posix();
    int m_count = 0;

    QString path(const QString &rel) const { return m_tmp.path() + QLatin1Char('/') + rel; }

    std::unique_ptr<Drive> fresh()
    {
        const QString name = QStringLiteral("c%1").arg(++m_count);
        auto c = storage::Collection::create(*m_env, path(name), name);
        if (!c)
            qFatal("create: %s", qPrintable(c.status().toString()));
        auto d = Drive::attach(std::move(c).value(), test::testDrive());
        if (!d)
            qFatal("attach: %s", qPrintable(d.status().toString()));
        return std::move(d).value();
    }

    std::unique_ptr<Drive> reopen(std::unique_ptr<Drive> &d)
    {
        const QString dir = d->collection().path();
        d.reset();
        auto again = Drive::open(*m_env, dir, Access::ReadWrite, test::testDrive());
        if (!again)
            qFatal("reopen: %s", qPrintable(again.status().toString()));
        return std::move(again).value();
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_tmp.isValid()); }

    void importThenExportGivesBackTheSameTree()
    {
        const QString src = path(QStringLiteral("src/旅行 album"));
        const QByteArray big = test::randomBytes(qsizetype(3) << 20, 11);
        const QByteArray text = QStringLiteral("こんにちは, world\n").toUtf8();
        writeFile(src + QStringLiteral("/写真 2024/ファイル.txt"), text);
        writeFile(src + QStringLiteral("/写真 2024/empty"), QByteArray());
        writeFile(src + QStringLiteral("/big file.bin"), big);
        writeFile(src + QStringLiteral("/notes/a b.txt"), "a note");
        QVERIFY(QFile::link(src + QStringLiteral("/big file.bin"), src + QStringLiteral("/link to big")));

        auto d = fresh();
        Recorder in;
        ImportOptions options;
        options.countFirst = true;
        auto imported = importLocal(*d, {{src, QStringLiteral("/photos/旅行 album"), nullptr}}, options, in);
        VD_VERIFY_OK(imported);
        const ImportReport r = *imported;
        QCOMPARE(r.files, uint64_t(4));
        QCOMPARE(r.folders, uint64_t(3)); // the top, 写真 2024, notes
        QCOMPARE(r.skipped, uint64_t(1));
        QCOMPARE(r.bytes, uint64_t(big.size() + text.size()) + 6);
        QVERIFY(r.commits >= 1);
        QCOMPARE(in.warnings.size(), 1);
        QVERIFY2(in.warnings.front().contains(QStringLiteral("symbolic link")) && in.warnings.front().contains(QStringLiteral("link to big")),
                 qPrintable(in.warnings.front()));
        // countFirst: the totals are there from the first report on, and
        // are what was stored.
        QVERIFY(!in.seen.empty());
        QCOMPARE(in.seen.front().totalFiles, r.files);
        QCOMPARE(in.seen.front().totalBytes, r.bytes);
        QCOMPARE(in.seen.back().files, r.files);
        QCOMPARE(in.seen.back().bytes, r.bytes);
        QCOMPARE(in.wentBack(), -1);
        QVERIFY(!d->hasUncommittedChanges());

        // Stored and committed: a reopened drive has it all.
        d = reopen(d);
        QCOMPARE(d->stat(QStringLiteral("/photos/旅行 album/写真 2024/ファイル.txt")).value().size, uint64_t(text.size()));
        VD_VERIFY_CODE(d->stat(QStringLiteral("/photos/旅行 album/link to big")), ErrorCode::NotFound);

        const QString out = path(QStringLiteral("out/copy"));
        Recorder back;
        auto exported = exportLocal(*d, {{QStringLiteral("/photos/旅行 album"), out}}, {}, back);
        VD_VERIFY_OK(exported);
        QCOMPARE(exported->files, uint64_t(4));
        QCOMPARE(exported->folders, uint64_t(3));
        QCOMPARE(exported->bytes, r.bytes);
        QCOMPARE(exported->targets, std::vector<QString>{out});
        QCOMPARE(back.wentBack(), -1);
        // The same names and bytes, and no temporary left behind.
        const auto original = filesUnder(src);
        const auto copy = filesUnder(out);
        QCOMPARE(copy.size(), size_t(4));
        QVERIFY(copy == original);
        QVERIFY(copy.count(QStringLiteral("写真 2024/ファイル.txt")));
        QVERIFY(!QFileInfo::exists(out + QStringLiteral("/link to big")));

        // One file into an existing folder goes under its own name.
        const QString single = path(QStringLiteral("single"));
        QVERIFY(QDir().mkpath(single));
        Recorder one;
        auto file = exportLocal(*d, {{QStringLiteral("/photos/旅行 album/big file.bin"), single}}, {}, one);
        VD_VERIFY_OK(file);
        QCOMPARE(file->targets, std::vector<QString>{single + QStringLiteral("/big file.bin")});
        QFile f(single + QStringLiteral("/big file.bin"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), big);
        QCOMPARE(one.wentBack(), -1);
        // Again without force: the file is in the way.
        VD_VERIFY_CODE(exportLocal(*d, {{QStringLiteral("/photos/旅行 album/big file.bin"), single}}, {}, one), ErrorCode::AlreadyExists);
    }

    void cancelHalfWayKeepsExactlyWhatItSays()
    {
        const QString src = path(QStringLiteral("many"));
        for (int i = 0; i < 20; ++i)
            writeFile(src + QStringLiteral("/f%1.txt").arg(i, 2, 10, QLatin1Char('0')), QByteArray::number(i).repeated(100));

        auto d = fresh();
        Recorder obs;
        obs.cancelAfterFiles = 7;
        ImportOptions options;
        options.batchEntries = 3; // commits along the way
        auto imported = importLocal(*d, {{src, QStringLiteral("/many"), nullptr}}, options, obs);
        VD_VERIFY_CODE(imported, ErrorCode::Cancelled);
        const QString message = imported.status().message();
        QVERIFY2(message.startsWith(QStringLiteral("put was cancelled; ")), qPrintable(message));
        QVERIFY2(message.contains(QStringLiteral("stored before were committed and stay")), qPrintable(message));
        const uint64_t files = numberBefore(message, QStringLiteral("files? \\("));
        const uint64_t folders = numberBefore(message, QStringLiteral("folders? stored"));
        QVERIFY2(files > 0 && files < 7, qPrintable(message));
        QCOMPARE(folders, uint64_t(1));
        QVERIFY(!d->hasUncommittedChanges());

        // What the message says stays is exactly what the drive lists, and
        // the drive is consistent.
        d = reopen(d);
        const auto listed = d->list(QStringLiteral("/many"));
        VD_VERIFY_OK(listed);
        QCOMPARE(uint64_t(listed->size()), files);
        for (const tree::VNode &n : *listed)
            QCOMPARE(n.size, uint64_t(n.name.mid(1, 2).toInt() < 10 ? 100 : 200));
        const auto fsck = d->fsck();
        QVERIFY2(fsck.isClean(), qPrintable(fsck.faults.empty() ? QString() : fsck.faults.front()));
    }

    void exportRefusesToWriteThroughASymlink()
    {
        auto d = fresh();
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/f"), true));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/f/a.txt"), "from the drive"));
        VD_VERIFY_OK(d->commit());

        const QString victim = path(QStringLiteral("elsewhere/victim"));
        writeFile(victim, "precious");
        const QString target = path(QStringLiteral("target"));
        QVERIFY(QDir().mkpath(target));
        QVERIFY(QFile::link(victim, target + QStringLiteral("/a.txt")));

        Recorder obs;
        // A folder whose copy would go through the link: refused before a byte is written.
        auto folder = exportLocal(*d, {{QStringLiteral("/f"), target}}, {}, obs);
        VD_VERIFY_CODE(folder, ErrorCode::PermissionDenied);
        QVERIFY2(folder.status().message().contains(QStringLiteral("nothing was written")), qPrintable(folder.status().message()));
        // Forced, a file named by the link itself: refused too.
        ExportOptions force;
        force.force = true;
        VD_VERIFY_CODE(exportLocal(*d, {{QStringLiteral("/f/a.txt"), target + QStringLiteral("/a.txt")}}, force, obs), ErrorCode::PermissionDenied);
        VD_VERIFY_CODE(exportLocal(*d, {{QStringLiteral("/f"), target}}, force, obs), ErrorCode::PermissionDenied);

        QFile f(victim);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), QByteArray("precious"));
        QCOMPARE(QDir(target).entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot), QStringList{QStringLiteral("a.txt")});
        QVERIFY(QFileInfo(target + QStringLiteral("/a.txt")).isSymLink());
    }
};

QTEST_GUILESS_MAIN(TestTransfer)
#include "tst_transfer.moc"
