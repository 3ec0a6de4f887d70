// bench_explorer: the explorer's three figures (issue 9 item 10), each beside
// a baseline measured in the same run (docs/PERFORMANCE.md §14). Run by
// bench/explorer.sh, which makes the small files, picks the display and
// passes the binaries; a plain harness (not Google Benchmark): each figure is
// a handful of long, whole-program or whole-window runs, printed as medians.
//
//   bench_explorer make   builds the cached data in $VD_BENCH_DATA once (it is
//                         reused while DATA.params says the same sizes):
//                           data/     a data directory with the collections
//                                     `million` (VD_BENCH_FOLDERS folders of
//                                     VD_BENCH_FOLDER_FILES empty files: 1,000 ×
//                                     1,000, so 1,001,001 VNodes), `wide` (one
//                                     folder /many of VD_BENCH_ENTRIES empty
//                                     files, 100,000) and `empty`; made
//                                     through the engine (Drive::putFileBytes,
//                                     a commit every 10,000 files)
//                           wide/     VD_BENCH_ENTRIES empty files on the plain
//                                     file system (the baseline of `scroll`)
//   bench_explorer start  start to a painted, usable window: the real
//                         vdrive-explorer ($VD_EXPLORER) with
//                         VDRIVE_EXPLORER_REPORT_READY=1 on `million`, timed
//                         from QProcess::start (fork + exec) to its "ready"
//                         line (the contents view painted with / listed);
//                         baselines in the same rounds: the explorer on the
//                         `empty` collection (the cost of the program and a
//                         window) and `vdrive -c million ls /` ($VD_VDRIVE,
//                         the whole process). VD_BENCH_ROUNDS rounds (default
//                         5), alternated, after one untimed warm-up of each.
//   bench_explorer scroll a MainWindow (1000 × 700) over a Node on data/ in
//                         this process, as the explorer embeds it: the time to
//                         list /many of `wide` (navigate → the listing painted),
//                         then the details view scrolled from top to bottom in
//                         page steps, each step a frame: the scroll bar moved,
//                         the events handled (the model reveals rows as the view
//                         asks), the viewport repainted. Baseline: QTreeView
//                         over QFileSystemModel on wide/, sorted by name, the
//                         same size, scrolled the same way. Median, p99 and
//                         max frame; the longest gap of a 10 ms timer while
//                         listing.
//   bench_explorer drop   $VD_BENCH_SMALL (a folder of small files,
//                         bench/smallfiles.sh) dropped as text/uri-list on the
//                         contents view of a MainWindow showing a fresh
//                         collection (as tst_mainwindow's importsADrop does),
//                         timed to MainWindow::transferFinished; meanwhile a
//                         10 ms timer on the GUI thread records the longest gap
//                         between its ticks. Baseline: `vdrive put -r` of the
//                         same folder into a fresh collection of another data
//                         directory (no node there: the command opens the
//                         collection itself). VD_BENCH_ROUNDS rounds (default
//                         3), the order alternating; medians.
//   bench_explorer map    the block map of `tera` (1 TiB of blocks, made once
//                         in $VD_BENCH_DATA/tera, its own data directory:
//                         VD_BENCH_MAP_GIB, default 1024) in a MainWindow over
//                         a Node: the dock shown to the first picture painted
//                         (the target: under 1 s) and to the owners painted in,
//                         with the GUI thread's longest gap. Baseline:
//                         `vdrive info` of the same collection, which reads
//                         the same records. The drive holds records only: its
//                         data blocks are allocated and recorded, their bytes
//                         never written (RecordsOnlyEnv), so it takes 9 GB of
//                         disk, not 1 TiB; nothing the map reads is missing.
//   bench_explorer all    make, start, scroll, drop, map.
//
// Environment: VD_BENCH_DATA (default build/bench-data/explorer),
// VD_BENCH_DIR (scratch, default /var/tmp), VD_EXPLORER and VD_VDRIVE (the
// binaries), VD_BENCH_SMALL, VD_BENCH_ROUNDS, VD_BENCH_MAP_SCALE (file sizes
// of `tera` divided by it, for a quick check), and the sizes above. The
// display is Qt's (QT_QPA_PLATFORM; explorer.sh uses Xvfb when it can).
#include "benchutil.h"

#include "client/localdriveapi.h"
#include "blockmappanel.h"
#include "blockmapview.h"
#include "foldermodel.h"
#include "displaytext.h"
#include "mainwindow.h"
#include "node/identity.h"
#include "node/node.h"
#include "storage/blockheader.h"
#include "storage/datadir.h"

#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QElapsedTimer>
#include <QFile>
#include <QFileSystemModel>
#include <QHeaderView>
#include <QMimeData>
#include <QProcess>
#include <QScrollBar>
#include <QSettings>
#include <QTemporaryDir>
#include <QTimer>
#include <QTreeView>
#include <QUrl>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <span>
#include <vector>

using namespace vd;
using bench::die;

namespace {

int envInt(const char *name, int fallback)
{
    bool ok = false;
    const int n = qEnvironmentVariableIntValue(name, &ok);
    return ok && n > 0 ? n : fallback;
}

QString dataRoot()
{
    return QDir(qEnvironmentVariable("VD_BENCH_DATA", QStringLiteral("build/bench-data/explorer"))).absolutePath();
}

double msSince(const QElapsedTimer &t)
{
    return double(t.nsecsElapsed()) / 1e6;
}

double quantile(std::vector<double> v, double q)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(q * double(v.size())))];
}

double median(const std::vector<double> &v)
{
    return quantile(v, 0.5);
}

double maxOf(const std::vector<double> &v)
{
    return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}

// Runs the event loop until done(); a figure that never comes ends the run.
// The GUI thread sleeps between events, as in the explorer's own event
// loop: polling (processEvents in a loop) would keep one of the machine's
// two cores busy and slow down the import or listing being timed. A 1 ms
// timer wakes it to look at done(), which may change without an event
// (a future finishing).
void spinUntil(const std::function<bool()> &done, int timeoutMs, const char *what)
{
    QElapsedTimer t;
    t.start();
    QTimer tick;
    tick.setTimerType(Qt::PreciseTimer);
    tick.start(1);
    while (!done()) {
        if (t.hasExpired(timeoutMs))
            die(QStringLiteral("%1: not within %2 s").arg(QLatin1String(what)).arg(timeoutMs / 1000));
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    }
}

template<typename T>
T awaitResult(QFuture<Result<T>> f, const char *what)
{
    spinUntil([&] { return f.isFinished(); }, 60000, what);
    return bench::take(f.result(), QLatin1String(what));
}

// A 10 ms timer on the GUI thread: the longest gap between two ticks is the
// longest the thread was away (the GUI's worst frame while it ran).
class GapMeter
{
public:
    GapMeter()
    {
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(10);
        QObject::connect(&m_timer, &QTimer::timeout, [this] {
            const double now = msSince(m_clock);
            m_gaps.push_back(now - m_last);
            m_last = now;
        });
    }
    void start()
    {
        m_gaps.clear();
        m_clock.start();
        m_last = 0;
        m_timer.start();
    }
    void stop()
    {
        m_timer.stop();
        m_gaps.push_back(msSince(m_clock) - m_last);
    }
    double longest() const { return maxOf(m_gaps); }
    int over(double ms) const { return int(std::count_if(m_gaps.begin(), m_gaps.end(), [ms](double g) { return g > ms; })); }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    double m_last = 0;
    std::vector<double> m_gaps;
};

// ---- make ----

struct Sizes
{
    int folders = envInt("VD_BENCH_FOLDERS", 1000);
    int folderFiles = envInt("VD_BENCH_FOLDER_FILES", 1000);
    int entries = envInt("VD_BENCH_ENTRIES", 100000);
    QByteArray params() const { return QStringLiteral("folders=%1 files=%2 entries=%3 v1\n").arg(folders).arg(folderFiles).arg(entries).toUtf8(); }
};

std::unique_ptr<tree::Drive> newCollection(const QString &dataDir, const QString &name, uint64_t shortId)
{
    io::Env &env = *io::Env::posix();
    auto col = bench::take(storage::createCollection(env, dataDir, name), QStringLiteral("create %1").arg(name));
    tree::DriveOptions options;
    options.nodeShortId = shortId;
    return bench::take(tree::Drive::attach(std::move(col), options), QStringLiteral("open %1").arg(name));
}

void putEmptyFiles(tree::Drive &d, const QString &folder, int count, uint64_t *sinceCommit)
{
    bench::take(d.mkdir(folder, true), QStringLiteral("mkdir %1").arg(folder));
    for (int i = 0; i < count; ++i) {
        bench::take(d.putFileBytes(QStringLiteral("%1/file-%2.txt").arg(folder).arg(i, 6, 10, QLatin1Char('0')), {}), QStringLiteral("put"));
        if (++*sinceCommit % 10000 == 0)
            bench::check(d.commit(), QStringLiteral("commit"));
    }
}

void make()
{
    const Sizes s;
    const QString root = dataRoot();
    QFile params(root + QStringLiteral(".params"));
    if (params.open(QIODevice::ReadOnly) && params.readAll() == s.params() && QFileInfo::exists(root + QStringLiteral("/data"))) {
        std::printf("data: %s (cached)\n", qPrintable(root));
        return;
    }
    params.close();
    QFile::remove(params.fileName());
    QDir(root + QStringLiteral("/data")).removeRecursively();
    QDir(root + QStringLiteral("/wide")).removeRecursively();
    QDir().mkpath(root + QStringLiteral("/wide"));
    const QString dataDir = root + QStringLiteral("/data");
    QElapsedTimer t;
    t.start();
    const auto identity = bench::take(node::NodeIdentity::open(dataDir), QStringLiteral("node identity"));
    const uint64_t shortId = identity.id().shortId();
    {
        auto d = newCollection(dataDir, QStringLiteral("million"), shortId);
        uint64_t n = 0;
        for (int f = 0; f < s.folders; ++f) {
            putEmptyFiles(*d, QStringLiteral("/folder-%1").arg(f, 4, 10, QLatin1Char('0')), s.folderFiles, &n);
            if ((f + 1) % 100 == 0)
                std::printf("  million: %d of %d folders, %.0f s\n", f + 1, s.folders, msSince(t) / 1000), std::fflush(stdout);
        }
        bench::check(d->commit(), QStringLiteral("commit"));
    }
    {
        auto d = newCollection(dataDir, QStringLiteral("wide"), shortId);
        uint64_t n = 0;
        putEmptyFiles(*d, QStringLiteral("/many"), s.entries, &n);
        bench::check(d->commit(), QStringLiteral("commit"));
        auto e = newCollection(dataDir, QStringLiteral("empty"), shortId);
        bench::check(e->commit(), QStringLiteral("commit"));
    }
    for (int i = 0; i < s.entries; ++i) {
        QFile f(root + QStringLiteral("/wide/file-%1.txt").arg(i, 6, 10, QLatin1Char('0')));
        if (!f.open(QIODevice::WriteOnly))
            die(QStringLiteral("cannot write %1").arg(f.fileName()));
    }
    ::sync();
    if (!params.open(QIODevice::WriteOnly) || params.write(s.params()) < 0 || !params.flush())
        die(QStringLiteral("cannot write %1").arg(params.fileName()));
    std::printf("data: %s made in %.0f s\n", qPrintable(root), msSince(t) / 1000);
}

// ---- make: the 1 TiB collection of `map` ----

// An io::Env over the real file system that stores a drive's records, not
// its file bytes: the payload writes of data blocks to idvd are dropped
// (written after the block's 128-byte header, in pieces of up to 1 MiB:
// at 128 past a MiB boundary, outside the head block; headers, head slots
// and the catalog's and SmallBlocks' appends — gathered writes — are
// kept), growing idvd only extends it (no disk space taken), and the disk
// reports room to spare. So a
// drive of 1 TiB of blocks fits in a few GB of disk: idvd is sparse where
// the bytes would be. Only `make` uses it; the figure reads the drive
// through the real Env, and the block map reads no data block.
class RecordsOnlyEnv final : public io::Env
{
public:
    class File final : public io::File
    {
    public:
        explicit File(std::unique_ptr<io::File> base) : m_base(std::move(base)) {}
        Status read(uint64_t offset, char *out, size_t len) override { return m_base->read(offset, out, len); }
        Status write(uint64_t offset, QByteArrayView data) override
        {
            if (offset >= (1 << 20) && offset % (1 << 20) == storage::BlockHeader::kSize && data.size() > 4096)
                return {};
            return m_base->write(offset, data);
        }
        Status writeGather(uint64_t offset, std::span<const QByteArrayView> parts) override { return m_base->writeGather(offset, parts); }
        Status sync() override { return m_base->sync(); }
        Status truncate(uint64_t size) override { return m_base->truncate(size); }
        Status punchHole(uint64_t offset, uint64_t len) override { return m_base->punchHole(offset, len); }
        Status allocate(uint64_t offset, uint64_t len) override
        {
            VD_TRY_ASSIGN(const uint64_t size, m_base->size());
            return size < offset + len ? m_base->truncate(offset + len) : Status();
        }
        Result<uint64_t> size() override { return m_base->size(); }
        QString path() const override { return m_base->path(); }

    private:
        std::unique_ptr<io::File> m_base;
    };

    Result<std::unique_ptr<io::File>> open(const QString &path, io::OpenMode mode) override
    {
        VD_TRY_ASSIGN(std::unique_ptr<io::File> f, m_base->open(path, mode));
        if (!path.endsWith(QLatin1String("/idvd")))
            return f;
        return std::unique_ptr<io::File>(std::make_unique<File>(std::move(f)));
    }
    Result<bool> exists(const QString &path) override { return m_base->exists(path); }
    Result<bool> isDirectory(const QString &path) override { return m_base->isDirectory(path); }
    Result<QStringList> listDir(const QString &dir) override { return m_base->listDir(dir); }
    Status makeDirs(const QString &dir) override { return m_base->makeDirs(dir); }
    Status syncDir(const QString &dir) override { return m_base->syncDir(dir); }
    Status remove(const QString &path) override { return m_base->remove(path); }
    Status rename(const QString &from, const QString &to) override { return m_base->rename(from, to); }
    Result<std::unique_ptr<io::FileLock>> lock(const QString &path, io::LockMode mode) override { return m_base->lock(path, mode); }
    Result<uint64_t> availableBytes(const QString &) override { return uint64_t(1) << 50; }

private:
    io::Env *m_base = io::Env::posix();
};

// size bytes that no other file shares (content-named blocks would
// otherwise be stored once): a random MiB, each MiB of each file stamped
// with the file's number and the MiB's.
class PatternDevice final : public QIODevice
{
public:
    PatternDevice(const QByteArray &mib, uint64_t file, qint64 size) : m_mib(mib), m_file(file), m_size(size) { open(QIODevice::ReadOnly); }
    qint64 size() const override { return m_size; }
    bool isSequential() const override { return false; }

protected:
    qint64 readData(char *data, qint64 max) override
    {
        const qint64 n = std::min(max, m_size - pos());
        for (qint64 done = 0; done < n;) {
            const qint64 at = pos() + done;
            const qint64 inMib = at % m_mib.size();
            const qint64 len = std::min<qint64>(n - done, m_mib.size() - inMib);
            std::memcpy(data + done, m_mib.constData() + inMib, size_t(len));
            // The stamp: the first 16 bytes of each MiB.
            for (qint64 b = 0; b < 16; ++b) {
                if (inMib + b >= 16 || b >= len)
                    break;
                const uint64_t stamp[2] = {m_file, uint64_t(at / m_mib.size())};
                data[done + b] = reinterpret_cast<const char *>(stamp)[inMib + b];
            }
            done += len;
        }
        return n;
    }
    qint64 writeData(const char *, qint64) override { return -1; }

private:
    QByteArray m_mib;
    uint64_t m_file;
    qint64 m_size;
};

QString teraRoot()
{
    return dataRoot() + QStringLiteral("/tera");
}

uint64_t teraBytes()
{
    return uint64_t(envInt("VD_BENCH_MAP_GIB", 1024)) << 30;
}

// The collection `tera` in $VD_BENCH_DATA/tera (a data directory of its
// own, so that the other figures' nodes never open it): files of every
// size until their bytes reach VD_BENCH_MAP_GIB GiB (1024) — a tenth small
// (packed into SmallBlocks), the rest 1 MiB to 512 MiB (data blocks of
// every size class) — in 64 folders; a snapshot half way, after which a
// twentieth of the files then there are deleted (blocks only the snapshot
// holds). Seeded: the same drive every time.
void makeTera()
{
    const uint64_t target = teraBytes();
    const QString root = teraRoot();
    const QByteArray params = QStringLiteral("bytes=%1 v1\n").arg(target).toUtf8();
    QFile stamp(root + QStringLiteral(".params"));
    if (stamp.open(QIODevice::ReadOnly) && stamp.readAll() == params && QFileInfo::exists(root)) {
        std::printf("data: %s (cached)\n", qPrintable(root));
        return;
    }
    stamp.close();
    QFile::remove(stamp.fileName());
    QDir(root).removeRecursively();
    QElapsedTimer t;
    t.start();
    const auto identity = bench::take(node::NodeIdentity::open(root), QStringLiteral("node identity"));
    RecordsOnlyEnv env;
    auto col = bench::take(storage::createCollection(env, root, QStringLiteral("tera")), QStringLiteral("create tera"));
    tree::DriveOptions options;
    options.nodeShortId = identity.id().shortId();
    auto d = bench::take(tree::Drive::attach(std::move(col), options), QStringLiteral("open tera"));
    std::mt19937_64 random(20261206);
    QByteArray mib(1 << 20, Qt::Uninitialized);
    for (char &c : mib)
        c = char(random() | 1); // never a zero run (zeros would be holes)
    constexpr int kFolders = 64;
    for (int f = 0; f < kFolders; ++f)
        bench::take(d->mkdir(QStringLiteral("/set-%1").arg(f, 2, 10, QLatin1Char('0')), false), QStringLiteral("mkdir"));
    auto sizeOf = [&random](uint64_t n) -> qint64 {
        auto between = [&random](qint64 lo, qint64 hi) { return lo + qint64(random() % uint64_t(hi - lo)); };
        if (n % 10 == 9)
            return between(1 << 10, 200 << 10);
        const uint64_t pick = random() % 20;
        if (pick < 6)
            return between(1 << 20, 4 << 20);
        if (pick < 12)
            return between(4 << 20, 16 << 20);
        if (pick < 17)
            return between(16 << 20, 64 << 20);
        return between(64 << 20, 512 << 20);
    };
    uint64_t stored = 0, sinceCommit = 0, files = 0;
    bool snapshotTaken = false;
    std::vector<QString> firstHalf;
    const uint64_t scale = uint64_t(envInt("VD_BENCH_MAP_SCALE", 1));
    while (stored < target) {
        const qint64 size = qint64(std::min<uint64_t>(uint64_t(sizeOf(files)) / scale, std::max<uint64_t>(target - stored, 1024)));
        const QString path = QStringLiteral("/set-%1/file-%2.bin").arg(files % kFolders, 2, 10, QLatin1Char('0')).arg(files, 6, 10, QLatin1Char('0'));
        PatternDevice in(mib, files, size);
        bench::take(d->putFile(path, in), QStringLiteral("put %1").arg(path));
        stored += uint64_t(size), sinceCommit += uint64_t(size), ++files;
        if (!snapshotTaken)
            firstHalf.push_back(path);
        if (sinceCommit >= (16ull << 30) / scale) {
            bench::check(d->commit(), QStringLiteral("commit"));
            sinceCommit = 0;
            std::printf("  tera: %llu GiB in %llu files, %.0f s\n", static_cast<unsigned long long>(stored >> 30), static_cast<unsigned long long>(files), msSince(t) / 1000);
            std::fflush(stdout);
        }
        if (!snapshotTaken && stored >= target / 2) {
            bench::check(d->commit(), QStringLiteral("commit"));
            bench::take(d->createSnapshot(QStringLiteral("half-way")), QStringLiteral("snapshot"));
            snapshotTaken = true;
        }
    }
    for (size_t i = 0; i < firstHalf.size(); i += 20)
        bench::check(d->remove(firstHalf[i], false, false), QStringLiteral("remove %1").arg(firstHalf[i]));
    bench::check(d->commit(), QStringLiteral("commit"));
    d.reset();
    ::sync();
    if (!stamp.open(QIODevice::WriteOnly) || stamp.write(params) < 0 || !stamp.flush())
        die(QStringLiteral("cannot write %1").arg(stamp.fileName()));
    std::printf("data: %s made in %.0f s (%llu files, %llu GiB)\n", qPrintable(root), msSince(t) / 1000, static_cast<unsigned long long>(files),
                static_cast<unsigned long long>(stored >> 30));
}

// ---- start ----

QString binary(const char *env)
{
    const QString path = qEnvironmentVariable(env);
    if (path.isEmpty() || !QFileInfo(path).isExecutable())
        die(QStringLiteral("%1 must name the binary (bench/explorer.sh sets it)").arg(QLatin1String(env)));
    return path;
}

// The explorer on collection, its own settings fresh: {ms to "ready" as this
// process saw it, as the explorer reported it (since its main())}.
std::pair<double, double> explorerStart(const QString &explorer, const QString &collection, const QString &scratch)
{
    QDir(scratch + QStringLiteral("/config")).removeRecursively();
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("VDRIVE_EXPLORER_REPORT_READY"), QStringLiteral("1"));
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), scratch + QStringLiteral("/config"));
    p.setProcessEnvironment(env);
    p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    QElapsedTimer t;
    t.start();
    p.start(explorer, {QStringLiteral("--data-dir"), dataRoot() + QStringLiteral("/data"), QStringLiteral("-c"), collection});
    QByteArray out;
    while (!out.contains('\n')) {
        if (!p.waitForReadyRead(60000))
            die(QStringLiteral("vdrive-explorer said nothing within 60 s (exit code %1)").arg(p.exitCode()));
        out += p.readAll();
    }
    const double seen = msSince(t);
    if (!p.waitForFinished(120000) || p.exitCode() != 0)
        die(QStringLiteral("vdrive-explorer did not quit cleanly"));
    if (!out.startsWith("ready "))
        die(QStringLiteral("vdrive-explorer said: %1").arg(QString::fromUtf8(out)));
    return {seen, out.mid(6).trimmed().toDouble()};
}

double processTime(const QString &program, const QStringList &args, const QString &scratch)
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("VDRIVE_CACHE_DIR"), scratch + QStringLiteral("/cache"));
    p.setProcessEnvironment(env);
    p.setStandardOutputFile(QProcess::nullDevice());
    p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    QElapsedTimer t;
    t.start();
    p.start(program, args);
    if (!p.waitForFinished(600000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0)
        die(QStringLiteral("%1 %2 failed").arg(program, args.join(QLatin1Char(' '))));
    return msSince(t);
}

void start(const QString &scratch)
{
    const QString explorer = binary("VD_EXPLORER");
    const QString vdrive = binary("VD_VDRIVE");
    const int rounds = envInt("VD_BENCH_ROUNDS", 5);
    const QStringList ls{QStringLiteral("--data-dir"), dataRoot() + QStringLiteral("/data"), QStringLiteral("-c"), QStringLiteral("million"),
                         QStringLiteral("ls"), QStringLiteral("/")};
    // One untimed run of each first: the page cache holds what each reads.
    explorerStart(explorer, QStringLiteral("million"), scratch);
    explorerStart(explorer, QStringLiteral("empty"), scratch);
    processTime(vdrive, ls, scratch);
    std::vector<double> big, bigSelf, empty, emptySelf, lsMs;
    for (int r = 0; r < rounds; ++r) {
        const auto [e, es] = explorerStart(explorer, QStringLiteral("empty"), scratch);
        const auto [b, bs] = explorerStart(explorer, QStringLiteral("million"), scratch);
        const double l = processTime(vdrive, ls, scratch);
        big.push_back(b), bigSelf.push_back(bs), empty.push_back(e), emptySelf.push_back(es), lsMs.push_back(l);
        std::printf("  round %d: explorer on million %.0f ms (its own clock %.0f), on empty %.0f ms (%.0f), vdrive ls %.0f ms\n", r + 1, b, bs, e, es, l);
        std::fflush(stdout);
    }
    std::printf("start to a painted, usable window (median of %d; exec to the contents view painted with / listed)\n", rounds);
    const Sizes s;
    std::printf("  vdrive-explorer, million (%lld VNodes)   %7.0f ms   (since its main(): %.0f; spread %.0f-%.0f)\n",
                static_cast<long long>(s.folders) * s.folderFiles + s.folders + 1, median(big), median(bigSelf),
                quantile(big, 0), maxOf(big));
    std::printf("  baseline: vdrive-explorer, empty collection   %7.0f ms   (since its main(): %.0f)\n", median(empty), median(emptySelf));
    std::printf("  baseline: vdrive ls / of million (process)    %7.0f ms\n", median(lsMs));
    std::printf("  ratio million / empty  %.2f   million / ls  %.2f   target < 1000 ms: %s\n", median(big) / median(empty), median(big) / median(lsMs),
                median(big) < 1000 ? "met" : "MISSED");
}

// ---- scroll ----

struct Frames
{
    std::vector<double> ms;
    int steps = 0;
};

// Scrolls view from top to bottom one page at a time; each step a frame.
Frames scrollDown(QTreeView *view)
{
    Frames f;
    QScrollBar *bar = view->verticalScrollBar();
    bar->setValue(0);
    QCoreApplication::processEvents();
    const int bound = 1000000;
    for (int i = 0; i < bound; ++i) {
        QAbstractItemModel *m = view->model();
        if (bar->value() >= bar->maximum() && !m->canFetchMore(view->rootIndex()))
            break;
        QElapsedTimer t;
        t.start();
        bar->setValue(bar->value() + bar->pageStep());
        QCoreApplication::processEvents();
        view->viewport()->repaint();
        f.ms.push_back(msSince(t));
        // The view asks for more rows only when it reaches the end: a
        // scroll bar at its maximum with rows still to come waits a tick.
        if (bar->value() >= bar->maximum() && m->canFetchMore(view->rootIndex()))
            QCoreApplication::processEvents();
    }
    f.steps = int(f.ms.size());
    return f;
}

void printFrames(const char *label, const Frames &f)
{
    std::printf("  %-34s frames %5d   median %6.2f ms   p99 %6.2f ms   max %6.2f ms   over 50 ms: %d\n", label, f.steps, median(f.ms), quantile(f.ms, 0.99),
                maxOf(f.ms), int(std::count_if(f.ms.begin(), f.ms.end(), [](double x) { return x > 50; })));
}

// Watches a viewport's paints: the time of the first one once ready() holds.
class PaintWatch : public QObject
{
public:
    PaintWatch(QWidget *viewport, std::function<bool()> ready) : m_ready(std::move(ready)) { viewport->installEventFilter(this); }
    void arm(const QElapsedTimer *clock)
    {
        m_clock = clock;
        m_at = -1;
    }
    double at() const { return m_at; }

protected:
    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (event->type() == QEvent::Paint && m_clock && m_at < 0 && m_ready())
            m_at = msSince(*m_clock);
        return QObject::eventFilter(watched, event);
    }

private:
    std::function<bool()> m_ready;
    const QElapsedTimer *m_clock = nullptr;
    double m_at = -1;
};

void scroll(const QString &scratch)
{
    const Sizes s;
    const int rounds = 3;
    std::vector<double> listVd, listFs, gapVd, gapFs;
    Frames vd, fs;
    GapMeter gaps;
    {
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, scratch + QStringLiteral("/settings"));
        node::NodeOptions o;
        o.dataDir = dataRoot() + QStringLiteral("/data");
        node::Node node(o);
        client::LocalDriveApi api(node);
        widgets::MainWindow w(&api);
        w.resize(1000, 700);
        w.show();
        w.openCollection(QStringLiteral("wide"), QStringLiteral("/"));
        widgets::FolderModel *model = w.folderModel();
        auto shown = [&](const QString &path) { return w.currentPath() == path && model->state() == widgets::FolderModel::State::Ready; };
        spinUntil([&] { return shown(QStringLiteral("/")); }, 60000, "the collection wide");
        PaintWatch watch(w.detailsView()->viewport(), [&] { return shown(QStringLiteral("/many")); });
        for (int r = 0; r < rounds; ++r) {
            w.navigate(QStringLiteral("/"));
            spinUntil([&] { return shown(QStringLiteral("/")); }, 60000, "back to /");
            QCoreApplication::processEvents();
            QElapsedTimer t;
            t.start();
            watch.arm(&t);
            gaps.start();
            w.navigate(QStringLiteral("/many"));
            spinUntil([&] { return watch.at() >= 0; }, 60000, "listing /many");
            gaps.stop();
            listVd.push_back(watch.at());
            gapVd.push_back(gaps.longest());
        }
        if (model->entryCount() != s.entries)
            die(QStringLiteral("/many lists %1 entries, not %2").arg(model->entryCount()).arg(s.entries));
        vd = scrollDown(w.detailsView());
        if (model->rowCount() != s.entries)
            die(QStringLiteral("scrolled to the end with %1 rows revealed, not %2").arg(model->rowCount()).arg(s.entries));
    }
    const QString wide = dataRoot() + QStringLiteral("/wide");
    for (int r = 0; r < rounds; ++r) {
        QFileSystemModel model;
        QTreeView view;
        view.setModel(&model);
        view.setSortingEnabled(true);
        view.sortByColumn(0, Qt::AscendingOrder);
        view.resize(1000, 700);
        view.show();
        QCoreApplication::processEvents();
        QModelIndex root;
        PaintWatch watch(view.viewport(), [&] { return root.isValid() && model.rowCount(root) == s.entries; });
        QElapsedTimer t;
        t.start();
        watch.arm(&t);
        gaps.start();
        root = model.setRootPath(wide);
        view.setRootIndex(root);
        spinUntil([&] { return watch.at() >= 0; }, 120000, "QFileSystemModel listing");
        gaps.stop();
        listFs.push_back(watch.at());
        gapFs.push_back(gaps.longest());
        if (r == rounds - 1)
            fs = scrollDown(&view);
    }
    std::printf("listing and scrolling a folder of %d entries (1000 x 700 window)\n", s.entries);
    std::printf("  list, navigate -> listing painted (median of %d): vdrive %.0f ms (longest GUI gap %.0f ms); QFileSystemModel %.0f ms (gap %.0f ms); ratio %.2f\n",
                rounds, median(listVd), median(gapVd), median(listFs), median(gapFs), median(listVd) / median(listFs));
    printFrames("vdrive (FolderModel, details view)", vd);
    printFrames("baseline QFileSystemModel + QTreeView", fs);
    std::printf("  ratio of medians %.2f, of p99 %.2f   target no frame over 50 ms: %s\n", median(vd.ms) / median(fs.ms), quantile(vd.ms, 0.99) / quantile(fs.ms, 0.99),
                maxOf(vd.ms) <= 50 ? "met" : "MISSED");
}

// ---- drop ----

void drop(const QString &scratch)
{
    const QString vdrive = binary("VD_VDRIVE");
    const QString src = qEnvironmentVariable("VD_BENCH_SMALL");
    if (src.isEmpty() || !QFileInfo(src).isDir())
        die(QStringLiteral("VD_BENCH_SMALL must name a folder of small files (bench/explorer.sh makes it)"));
    const int rounds = envInt("VD_BENCH_ROUNDS", 3);
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, scratch + QStringLiteral("/settings"));
    const QString guiData = scratch + QStringLiteral("/gui-data");
    const QString cliData = scratch + QStringLiteral("/cli-data");
    std::vector<double> gui, cli, gapMs;
    std::vector<int> over50;
    node::NodeOptions o;
    o.dataDir = guiData;
    node::Node node(o);
    client::LocalDriveApi api(node);
    widgets::MainWindow w(&api);
    w.resize(1000, 700);
    w.show();
    GapMeter gaps;
    auto runGui = [&](int r) {
        const QString name = QStringLiteral("drop-%1").arg(r);
        const client::CollectionSummary made = awaitResult(api.createCollection(name), "create a collection");
        w.openCollection(name, QStringLiteral("/"));
        spinUntil([&] { return w.currentCollection() == made.ruid && w.currentPath() == QLatin1String("/")
                               && w.folderModel()->collection() == made.ruid && w.folderModel()->state() == widgets::FolderModel::State::Ready; },
                  60000, "the fresh collection");
        QCoreApplication::processEvents();
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(src)});
        bool finished = false;
        Status status;
        const auto c = QObject::connect(&w, &widgets::MainWindow::transferFinished, [&](const Status &st) { finished = true, status = st; });
        QWidget *viewport = w.detailsView()->viewport();
        const QPoint spot(viewport->width() / 2, viewport->height() - 5);
        gaps.start();
        QElapsedTimer t;
        t.start();
        QDragEnterEvent enter(spot, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(viewport, &enter);
        QDragMoveEvent move(spot, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(viewport, &move);
        QDropEvent dropped(QPointF(spot), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(viewport, &dropped);
        if (!enter.isAccepted() || !move.isAccepted())
            die(QStringLiteral("the contents view refused the drop"));
        spinUntil([&] { return finished; }, 600000, "the import");
        const double ms = msSince(t);
        gaps.stop();
        QObject::disconnect(c);
        if (!status)
            die(QStringLiteral("the import failed: %1").arg(status.toString()));
        gui.push_back(ms), gapMs.push_back(gaps.longest()), over50.push_back(gaps.over(50));
        std::printf("  round %d: drop %.0f ms, longest GUI gap %.0f ms\n", r, ms, gaps.longest());
        std::fflush(stdout);
    };
    auto runCli = [&](int r) {
        const QString name = QStringLiteral("drop-%1").arg(r);
        processTime(vdrive, {QStringLiteral("--data-dir"), cliData, QStringLiteral("-q"), QStringLiteral("init"), name}, scratch);
        const double ms = processTime(vdrive, {QStringLiteral("--data-dir"), cliData, QStringLiteral("-c"), name, QStringLiteral("-q"), QStringLiteral("put"),
                                               QStringLiteral("-r"), src, QStringLiteral("/")},
                                      scratch);
        cli.push_back(ms);
        std::printf("  round %d: vdrive put -r %.0f ms\n", r, ms);
        std::fflush(stdout);
    };
    for (int r = 1; r <= rounds; ++r) {
        if (r % 2) {
            runGui(r);
            runCli(r);
        } else {
            runCli(r);
            runGui(r);
        }
    }
    // What the window shows once the import is done: the folder dropped.
    spinUntil([&] { return w.folderModel()->entryCount() == 1; }, 60000, "the dropped folder in the contents view");
    std::printf("a drop of %s through the window (median of %d, order alternating)\n", qPrintable(QDir(src).dirName()), rounds);
    std::printf("  drop -> transferFinished   %7.0f ms   (spread %.0f-%.0f)\n", median(gui), quantile(gui, 0), maxOf(gui));
    std::printf("  baseline: vdrive put -r    %7.0f ms   (spread %.0f-%.0f; the whole process)\n", median(cli), quantile(cli, 0), maxOf(cli));
    std::printf("  ratio %.2f   target <= 1.1: %s\n", median(gui) / median(cli), median(gui) <= 1.1 * median(cli) ? "met" : "MISSED");
    std::printf("  longest GUI gap while importing (10 ms timer): median %.0f ms, max %.0f ms; gaps over 50 ms per import: %d max   target none over 50 ms: %s\n",
                median(gapMs), maxOf(gapMs), *std::max_element(over50.begin(), over50.end()), maxOf(gapMs) <= 50 ? "met" : "MISSED");
}

// ---- map ----

// The block map of `tera` in a MainWindow over a Node on its data
// directory, as the explorer embeds it: the dock shown (with its map marked
// stale) to the first picture painted, then to the owners painted in;
// meanwhile a 10 ms timer measures the GUI thread's longest gap. Baseline:
// `vdrive info` of the same collection, the whole process, which reads the
// same records (block, location, catalog) as the map's first half.
void map(const QString &scratch)
{
    makeTera();
    const QString vdrive = binary("VD_VDRIVE");
    const int rounds = envInt("VD_BENCH_ROUNDS", 3);
    const QString data = teraRoot();
    std::vector<double> first, complete, gapMs, info;
    const QStringList infoArgs{QStringLiteral("--data-dir"), data, QStringLiteral("-c"), QStringLiteral("tera"), QStringLiteral("info")};
    processTime(vdrive, infoArgs, scratch); // untimed: the page cache holds what it reads
    for (int r = 0; r < rounds; ++r)
        info.push_back(processTime(vdrive, infoArgs, scratch));
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, scratch + QStringLiteral("/settings"));
    node::NodeOptions o;
    o.dataDir = data;
    node::Node node(o);
    client::LocalDriveApi api(node);
    widgets::MainWindow w(&api);
    w.resize(1280, 900);
    w.show();
    w.openCollection(QStringLiteral("tera"), QStringLiteral("/"));
    spinUntil([&] { return w.currentPath() == QLatin1String("/") && w.folderModel()->state() == widgets::FolderModel::State::Ready; }, 60000,
              "the collection tera");
    widgets::BlockMapPanel *panel = w.blockMapPanel();
    widgets::BlockMapView *view = panel->view();
    // A picture of the map asked for this round (the last round's stays
    // on the screen until the new one is made): shown by the panel since
    // the round began, and painted.
    bool mapShown = false, ownersShown = false;
    QObject::connect(panel, &widgets::BlockMapPanel::mapShown, [&] { mapShown = true; });
    QObject::connect(panel, &widgets::BlockMapPanel::ownersShown, [&] { ownersShown = true; });
    PaintWatch firstPaint(view->viewport(), [&] { return mapShown && view->isPictureCurrent(); });
    PaintWatch ownersPaint(view->viewport(), [&] { return ownersShown && view->isPictureCurrent(); });
    GapMeter gaps;
    uint64_t cells = 0, blocks = 0;
    for (int r = 0; r <= rounds; ++r) { // round 0 untimed
        w.blockMapDock()->hide();
        QCoreApplication::processEvents();
        panel->refresh(); // stale: asked again when shown
        mapShown = ownersShown = false;
        QElapsedTimer t;
        t.start();
        firstPaint.arm(&t);
        ownersPaint.arm(&t);
        gaps.start();
        w.blockMapDock()->show();
        spinUntil([&] { return firstPaint.at() >= 0; }, 60000, "the first picture");
        spinUntil([&] { return ownersPaint.at() >= 0; }, 600000, "the owners");
        gaps.stop();
        cells = view->data()->map().words.size() * 16;
        blocks = view->data()->map().blocks.size();
        if (r == 0)
            continue;
        first.push_back(firstPaint.at()), complete.push_back(ownersPaint.at()), gapMs.push_back(gaps.longest());
        std::printf("  round %d: first picture %.0f ms, owners %.0f ms, longest GUI gap %.0f ms\n", r, firstPaint.at(), ownersPaint.at(), gaps.longest());
        std::fflush(stdout);
    }
    std::printf("the block map of %s: %llu cells of 1 MiB, %llu blocks (median of %d)\n", qPrintable(widgets::formatBytes(cells << 20)), static_cast<unsigned long long>(cells),
                static_cast<unsigned long long>(blocks), rounds);
    std::printf("  dock shown -> first picture painted %7.0f ms   (spread %.0f-%.0f)   target < 1 s: %s\n", median(first), quantile(first, 0), maxOf(first),
                maxOf(first) < 1000 ? "met" : "MISSED");
    std::printf("  dock shown -> owners painted in     %7.0f ms   (spread %.0f-%.0f)\n", median(complete), quantile(complete, 0), maxOf(complete));
    std::printf("  baseline: vdrive info               %7.0f ms   (spread %.0f-%.0f; the whole process)   ratio (first picture) %.2f\n", median(info),
                quantile(info, 0), maxOf(info), median(first) / median(info));
    std::printf("  longest GUI gap (10 ms timer): median %.0f ms, max %.0f ms   target none over 50 ms: %s\n", median(gapMs), maxOf(gapMs),
                maxOf(gapMs) <= 50 ? "met" : "MISSED");
}

} // namespace

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("vdrive-bench"));
    const QString what = argc > 1 ? QString::fromLocal8Bit(argv[1]) : QStringLiteral("all");
    bench::BenchDir scratch;
    if (what == QLatin1String("make") || what == QLatin1String("all"))
        make();
    if (what == QLatin1String("start") || what == QLatin1String("all"))
        start(scratch.path());
    if (what == QLatin1String("scroll") || what == QLatin1String("all"))
        scroll(scratch.path());
    if (what == QLatin1String("drop") || what == QLatin1String("all"))
        drop(scratch.path());
    if (what == QLatin1String("map") || what == QLatin1String("all"))
        map(scratch.path());
    if (what != QLatin1String("make") && what != QLatin1String("start") && what != QLatin1String("scroll") && what != QLatin1String("drop")
        && what != QLatin1String("map") && what != QLatin1String("all"))
        die(QStringLiteral("usage: bench_explorer [make|start|scroll|drop|map|all]"));
    return 0;
}
