// bench_tree: metadata operations of the tree (Drive), each beside the same
// operation on the plain file system (ext4) on the same disk, in the same run.
//
//   create/*        N files (VD_BENCH_FILES, default 10,000) of 0 or 100
//                   bytes into a fresh folder:
//                     vdrive          Drive::putFileBytes, commit() every
//                                     1,000 files and at the end (a commit
//                                     syncs idvd, .bitmap and .meta)
//                     plain           open(O_CREAT) + write + close, no sync
//                     plain_syncfs    the same, syncfs() every 1,000 files and
//                                     at the end: vdrive's durability (but
//                                     syncfs also writes back every other
//                                     process's dirty data on that file system)
//                     plain_fsync     the same, fsync() of each file before
//                                     its close and of the folder every 1,000
//                                     files: durable, only its own files
//                   The folders stay until the end: on ext4 without a journal,
//                   inodes freed in the last minutes are skipped (and scanned)
//                   when new ones are allocated, so deleting a run's files
//                   would slow down the next run's creates.
//   stat/*          a random one of 10,000 existing files, /s/fNNNNN, warm
//                   (Drive::stat vs ::stat)
//   lookup10/*      depth-10 path /d1/d2/.../d10/fNNNN (one of 1,000), warm:
//                   the Drive's caches, ext4's dentry cache
//   lookup10_cold/* the first look-up after a reopen (only the look-up is
//                   timed, not the open):
//                     vdrive_nolmdb   Drive reopened read-only without the
//                                     LMDB cache: the path is read from the
//                                     catalog pages (idvd in the page cache)
//                     vdrive_lmdb     Drive reopened with its LMDB cache,
//                                     which a previous open filled with the
//                                     1,000 paths
//                     plain_drop2     ::stat after `echo 2 >
//                                     /proc/sys/vm/drop_caches` (dentries and
//                                     inodes dropped, page cache kept: the
//                                     same state as the reopened Drive)
//   lookup10_diskcold/*  the same with the page cache dropped too (echo 3)
//                   before the reopen / before ::stat
//   list/*          a folder of VD_BENCH_ENTRIES (default 100,000) empty files:
//                     vdrive_warm     Drive::list (full VNodes: kind, size,
//                                     times), listed once before
//                     vdrive_cold     Drive::list right after a read-only reopen
//                     plain_readdir[_fstatat]_{warm,cold}  opendir/readdir of
//                                     the same folder on ext4, with or without
//                                     an fstatat per entry (what `ls -l`
//                                     does); cold: after echo 2
//
// Needs root for the cold variants (drop_caches); without it they say so and
// their figures are not cold. Environment: VD_BENCH_DIR (default /var/tmp),
// VD_BENCH_FILES, VD_BENCH_ENTRIES. Targets (docs/PERFORMANCE.md §4): depth-10
// warm look-up under 5 µs; listing 100,000 entries under 100 ms.
#include "benchutil.h"

#include "io/env.h"
#include "storage/collection.h"
#include "tree/drive.h"

#include <benchmark/benchmark.h>

#include <QDir>
#include <QFile>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <functional>
#include <string>
#include <vector>

using namespace vd;
using namespace vd::bench;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kDepth = 10;
constexpr int kDeepFiles = 1000;
constexpr int kStatFiles = 10000;
constexpr uint64_t kCommitEvery = 1000;
constexpr int kColdIterations = 15;

struct Globals
{
    std::unique_ptr<BenchDir> dir;
    bool canDrop = false;
    uint64_t createFiles = 10000;
    uint64_t listEntries = 100000;
    QString collections; // parent folder of the collections
    QString treeDir;     // the collection holding the look-up tree
    QString lmdbDir;     // its LMDB cache
    std::string plain;   // the same tree on ext4
    bool built = false;
    std::unique_ptr<tree::Drive> drive; // open on treeDir without LMDB (warm benchmarks)
    std::vector<QString> statPaths, deepPaths;
    std::vector<std::string> plainStatPaths, plainDeepPaths;
    double buildVdriveS = 0, buildPlainS = 0;
    uint64_t buildFiles = 0;
    int createRun = 0;
};
Globals g;

double secondsSince(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

QString deepDir()
{
    QString p;
    for (int i = 1; i <= kDepth; ++i)
        p += QStringLiteral("/d%1").arg(i);
    return p;
}

std::string toStd(const QString &s)
{
    return QFile::encodeName(s).toStdString();
}

void writePlain(const std::string &path, const QByteArray &bytes, bool sync = false)
{
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die(QStringLiteral("cannot create %1: %2").arg(QString::fromStdString(path), QString::fromLocal8Bit(std::strerror(errno))));
    if (!bytes.isEmpty() && ::write(fd, bytes.constData(), size_t(bytes.size())) != bytes.size())
        die(QStringLiteral("cannot write %1").arg(QString::fromStdString(path)));
    if (sync && ::fsync(fd) != 0)
        die(QStringLiteral("cannot sync %1").arg(QString::fromStdString(path)));
    ::close(fd);
}

std::unique_ptr<tree::Drive> openDrive(const QString &dir, storage::Access access, bool lmdb)
{
    tree::DriveOptions opts;
    if (lmdb)
        opts.lmdbCacheDir = g.lmdbDir;
    auto d = take(tree::Drive::open(*io::Env::posix(), dir, access, vd::bench::testDrive(opts)), QStringLiteral("open %1").arg(dir));
    if (lmdb && !d->lmdbProblem().isEmpty())
        die(QStringLiteral("LMDB cache not in use: %1").arg(d->lmdbProblem()));
    return d;
}

// Puts count files named prefix + number into the drive, committing every
// kCommitEvery (and at the end).
void putMany(tree::Drive &d, const QString &folder, uint64_t count, int width, const QByteArray &bytes)
{
    for (uint64_t i = 0; i < count; ++i) {
        (void)take(d.putFileBytes(QStringLiteral("%1/f%2").arg(folder).arg(i, width, 10, QLatin1Char('0')), bytes), QStringLiteral("put"));
        if ((i + 1) % kCommitEvery == 0)
            check(d.commit(), QStringLiteral("commit"));
    }
    check(d.commit(), QStringLiteral("commit"));
}

void plainMany(const std::string &folder, uint64_t count, int width, const QByteArray &bytes)
{
    ::mkdir(folder.c_str(), 0755);
    char name[64];
    for (uint64_t i = 0; i < count; ++i) {
        std::snprintf(name, sizeof name, "/f%0*llu", width, static_cast<unsigned long long>(i));
        writePlain(folder + name, bytes);
    }
}

// The look-up tree, in a collection and on ext4, built once:
//   /s/f00000 .. f09999          100 bytes each
//   /d1/d2/.../d10/f0000 .. f0999 100 bytes each
//   /big/f000000 ..              VD_BENCH_ENTRIES empty files
void buildTree()
{
    if (g.built)
        return;
    g.built = true;
    QDir().mkpath(g.collections);
    auto col = take(storage::Collection::create(*io::Env::posix(), g.collections, QStringLiteral("tree")), QStringLiteral("create"));
    g.treeDir = col->path();
    auto d = take(tree::Drive::attach(std::move(col), vd::bench::testDrive()), QStringLiteral("attach"));
    QByteArray hundred(100, Qt::Uninitialized);
    Rng rng(0x7ee);
    fillRandom(rng, hundred.data(), size_t(hundred.size()));
    const QString deep = deepDir();

    std::printf("building the look-up tree: %d + %d + %llu files ...\n", kStatFiles, kDeepFiles, static_cast<unsigned long long>(g.listEntries));
    std::fflush(stdout);
    auto t0 = Clock::now();
    (void)take(d->mkdir(QStringLiteral("/s"), false), QStringLiteral("mkdir"));
    putMany(*d, QStringLiteral("/s"), kStatFiles, 5, hundred);
    (void)take(d->mkdir(deep, true), QStringLiteral("mkdir -p"));
    putMany(*d, deep, kDeepFiles, 4, hundred);
    (void)take(d->mkdir(QStringLiteral("/big"), false), QStringLiteral("mkdir"));
    putMany(*d, QStringLiteral("/big"), g.listEntries, 6, QByteArray());
    g.buildVdriveS = secondsSince(t0);
    g.buildFiles = kStatFiles + kDeepFiles + g.listEntries;
    d.reset();

    t0 = Clock::now();
    ::mkdir(g.plain.c_str(), 0755);
    plainMany(g.plain + "/s", kStatFiles, 5, hundred);
    std::string p = g.plain;
    for (int i = 1; i <= kDepth; ++i) {
        p += "/d" + std::to_string(i);
        ::mkdir(p.c_str(), 0755);
    }
    plainMany(p, kDeepFiles, 4, hundred);
    plainMany(g.plain + "/big", g.listEntries, 6, QByteArray());
    ::sync();
    g.buildPlainS = secondsSince(t0);
    std::printf("built: vdrive %.1f s (%.0f files/s, commit every %llu), plain %.1f s (incl. one sync)\n", g.buildVdriveS,
                double(g.buildFiles) / g.buildVdriveS, static_cast<unsigned long long>(kCommitEvery), g.buildPlainS);
    std::fflush(stdout);

    for (int i = 0; i < kStatFiles; ++i) {
        g.statPaths.push_back(QStringLiteral("/s/f%1").arg(i, 5, 10, QLatin1Char('0')));
        g.plainStatPaths.push_back(g.plain + toStd(g.statPaths.back()));
    }
    for (int i = 0; i < kDeepFiles; ++i) {
        g.deepPaths.push_back(QStringLiteral("%1/f%2").arg(deep).arg(i, 4, 10, QLatin1Char('0')));
        g.plainDeepPaths.push_back(g.plain + toStd(g.deepPaths.back()));
    }
}

// The warm Drive: open (without LMDB), every path used once.
tree::Drive &warmDrive()
{
    buildTree();
    if (!g.drive) {
        g.drive = openDrive(g.treeDir, storage::Access::ReadOnly, false);
        for (const auto *paths : {&g.statPaths, &g.deepPaths})
            for (const QString &p : *paths)
                (void)take(g.drive->stat(p), QStringLiteral("stat %1").arg(p));
    }
    return *g.drive;
}

void setTime(benchmark::State &state, double secondsPerOp)
{
    state.counters["t_us"] = secondsPerOp * 1e6;
    state.counters["per_s"] = 1.0 / secondsPerOp;
}

// ---- create ----------------------------------------------------------------

enum class Create { Vdrive, Plain, PlainSyncfs, PlainFsync };

void BM_Create(benchmark::State &state, Create how)
{
    const auto size = int(state.range(0));
    QByteArray bytes(size, Qt::Uninitialized);
    Rng rng(0xc4ea7e + uint64_t(size));
    fillRandom(rng, bytes.data(), size_t(bytes.size()));
    const uint64_t n = g.createFiles;
    double seconds = 0;
    for (auto _ : state) {
        const int run = ++g.createRun;
        const QString parent = g.dir->file(QStringLiteral("create%1").arg(run));
        QDir().mkpath(parent);
        ::sync(); // nothing dirty from earlier phases is written back inside the timing
        if (how == Create::Vdrive) {
            auto col = take(storage::Collection::create(*io::Env::posix(), parent, QStringLiteral("create")), QStringLiteral("create"));
            auto d = take(tree::Drive::attach(std::move(col), vd::bench::testDrive()), QStringLiteral("attach"));
            (void)take(d->mkdir(QStringLiteral("/c"), false), QStringLiteral("mkdir"));
            check(d->commit(), QStringLiteral("commit"));
            const auto t0 = Clock::now();
            for (uint64_t i = 0; i < n; ++i) {
                (void)take(d->putFileBytes(QStringLiteral("/c/f%1").arg(i, 6, 10, QLatin1Char('0')), bytes), QStringLiteral("put"));
                if ((i + 1) % kCommitEvery == 0)
                    check(d->commit(), QStringLiteral("commit"));
            }
            check(d->commit(), QStringLiteral("commit"));
            seconds = secondsSince(t0);
        } else {
            const std::string folder = toStd(parent) + "/c";
            ::mkdir(folder.c_str(), 0755);
            const int dirFd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            char name[64];
            const auto t0 = Clock::now();
            for (uint64_t i = 0; i < n; ++i) {
                std::snprintf(name, sizeof name, "/f%06llu", static_cast<unsigned long long>(i));
                writePlain(folder + name, bytes, how == Create::PlainFsync);
                if ((i + 1) % kCommitEvery == 0) {
                    if (how == Create::PlainSyncfs)
                        ::syncfs(dirFd);
                    else if (how == Create::PlainFsync)
                        ::fsync(dirFd);
                }
            }
            if (how == Create::PlainSyncfs)
                ::syncfs(dirFd);
            else if (how == Create::PlainFsync)
                ::fsync(dirFd);
            seconds = secondsSince(t0);
            ::close(dirFd);
        }
        state.SetIterationTime(seconds);
    }
    setTime(state, seconds / double(n));
    state.counters["files"] = double(n);
}

// ---- warm look-ups ---------------------------------------------------------

// Random paths, the same sequence for vdrive and plain.
std::vector<uint32_t> order(size_t n, uint64_t seed)
{
    std::vector<uint32_t> o(1 << 16);
    Rng rng(seed);
    for (auto &x : o)
        x = uint32_t(rng.below(n));
    return o;
}

void BM_StatVdrive(benchmark::State &state, bool deep)
{
    tree::Drive &d = warmDrive();
    const auto &paths = deep ? g.deepPaths : g.statPaths;
    const auto o = order(paths.size(), 0x57a7);
    size_t i = 0;
    const auto t0 = Clock::now();
    for (auto _ : state) {
        auto r = d.stat(paths[o[i++ & 0xffff]]);
        if (!r)
            die(r.status().toString());
        benchmark::DoNotOptimize(r);
    }
    setTime(state, secondsSince(t0) / double(state.iterations()));
    const auto stats = d.cacheStats();
    state.counters["entry_hit_pct"] = 100.0 * double(stats.entryHits) / double(std::max<uint64_t>(1, stats.entryHits + stats.entryMisses));
}

void BM_StatPlain(benchmark::State &state, bool deep)
{
    buildTree();
    const auto &paths = deep ? g.plainDeepPaths : g.plainStatPaths;
    for (const auto &p : paths) {
        struct stat st;
        ::stat(p.c_str(), &st);
    }
    const auto o = order(paths.size(), 0x57a7);
    size_t i = 0;
    const auto t0 = Clock::now();
    for (auto _ : state) {
        struct stat st;
        if (::stat(paths[o[i++ & 0xffff]].c_str(), &st) != 0)
            die(QStringLiteral("stat failed"));
        benchmark::DoNotOptimize(st);
    }
    setTime(state, secondsSince(t0) / double(state.iterations()));
}

// ---- cold look-ups ---------------------------------------------------------

enum class Cold { VdriveNoLmdb, VdriveLmdb, Plain };

void BM_Cold(benchmark::State &state, Cold how, int dropLevel)
{
    buildTree();
    g.drive.reset();
    if (how == Cold::VdriveLmdb) {
        // Fill the LMDB cache: every deep path looked up once, flushed at close.
        QDir(g.lmdbDir).removeRecursively();
        auto d = openDrive(g.treeDir, storage::Access::ReadOnly, true);
        for (const QString &p : g.deepPaths)
            (void)take(d->stat(p), QStringLiteral("stat %1").arg(p));
    }
    std::vector<double> samples, opens;
    uint64_t lmdbHits = 0;
    bool cold = dropLevel == 0 || g.canDrop;
    Rng rng(0xc01d + uint64_t(dropLevel));
    for (auto _ : state) {
        const size_t k = size_t(rng.below(kDeepFiles));
        if (dropLevel && g.canDrop && !dropKernelCaches(dropLevel))
            cold = false;
        double t = 0;
        if (how == Cold::Plain) {
            struct stat st;
            const auto t0 = Clock::now();
            const int rc = ::stat(g.plainDeepPaths[k].c_str(), &st);
            t = secondsSince(t0);
            if (rc != 0)
                die(QStringLiteral("stat failed"));
        } else {
            const auto o0 = Clock::now();
            auto d = openDrive(g.treeDir, storage::Access::ReadOnly, how == Cold::VdriveLmdb);
            opens.push_back(secondsSince(o0));
            const auto t0 = Clock::now();
            auto r = d->stat(g.deepPaths[k]);
            t = secondsSince(t0);
            if (!r)
                die(r.status().toString());
            lmdbHits += d->cacheStats().lmdbHits;
        }
        samples.push_back(t);
        state.SetIterationTime(t);
    }
    // The median over this repetition's look-ups (each one the first after a reopen).
    setTime(state, median(samples));
    state.counters["max_us"] = *std::max_element(samples.begin(), samples.end()) * 1e6;
    if (!opens.empty())
        state.counters["open_ms"] = median(opens) * 1e3;
    if (how == Cold::VdriveLmdb)
        state.counters["lmdb_hits"] = double(lmdbHits);
    state.counters["cold"] = cold ? 1 : 0;
}

// ---- listing ---------------------------------------------------------------

void BM_ListVdrive(benchmark::State &state, bool cold)
{
    buildTree();
    const QString big = QStringLiteral("/big");
    std::vector<double> samples;
    for (auto _ : state) {
        if (cold)
            g.drive.reset();
        tree::Drive &d = warmDrive();
        if (!cold && samples.empty())
            (void)take(d.list(big), QStringLiteral("list"));
        const auto t0 = Clock::now();
        auto r = d.list(big);
        const double t = secondsSince(t0);
        if (!r || r->size() != g.listEntries)
            die(QStringLiteral("list /big: %1").arg(r ? QStringLiteral("%1 entries").arg(r->size()) : r.status().toString()));
        samples.push_back(t);
        state.SetIterationTime(t);
    }
    setTime(state, median(samples));
    state.counters["entries"] = double(g.listEntries);
}

void BM_ListPlain(benchmark::State &state, bool withStat, bool cold)
{
    buildTree();
    const std::string big = g.plain + "/big";
    std::vector<double> samples;
    bool reallyCold = !cold || g.canDrop;
    bool first = true;
    for (auto _ : state) {
        if (cold && g.canDrop && !dropKernelCaches(2))
            reallyCold = false;
        for (int pass = (!cold && first) ? 0 : 1; pass < 2; ++pass) { // a warm run lists once untimed
            const auto t0 = Clock::now();
            DIR *dir = ::opendir(big.c_str());
            if (!dir)
                die(QStringLiteral("opendir"));
            const int fd = ::dirfd(dir);
            uint64_t n = 0, bytes = 0;
            while (dirent *e = ::readdir(dir)) {
                if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0)))
                    continue;
                ++n;
                if (withStat) {
                    struct stat st;
                    if (::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
                        die(QStringLiteral("fstatat"));
                    bytes += uint64_t(st.st_size);
                }
            }
            ::closedir(dir);
            const double t = secondsSince(t0);
            benchmark::DoNotOptimize(bytes);
            if (n != g.listEntries)
                die(QStringLiteral("readdir found %1 entries").arg(n));
            if (pass == 1) {
                samples.push_back(t);
                state.SetIterationTime(t);
            }
        }
        first = false;
    }
    setTime(state, median(samples));
    state.counters["entries"] = double(g.listEntries);
    state.counters["cold"] = reallyCold ? 1 : 0;
}

// ---- summary ---------------------------------------------------------------

// The result whose name is name, name/..., e.g. with "/iterations:1/manual_time".
std::string resultName(const SummaryReporter &rep, const std::string &name)
{
    for (const auto &[full, counters] : rep.results())
        if (full == name || full.rfind(name + "/", 0) == 0)
            return full;
    return {};
}

struct Figure
{
    double median = -1, lo = -1, hi = -1;
    bool ok() const { return median >= 0; }
};

Figure figure(const SummaryReporter &rep, const std::string &name, const std::string &counter, double scale)
{
    const std::string full = resultName(rep, name);
    if (full.empty())
        return {};
    const auto [lo, hi] = rep.spread(full, counter);
    return {rep.value(full, counter) * scale, lo * scale, hi * scale};
}

std::string fmt(const Figure &f, const char *unit)
{
    if (!f.ok())
        return "-";
    auto num = [](double v) {
        char b[32];
        if (v >= 1e6)
            std::snprintf(b, sizeof b, "%.2fM", v / 1e6);
        else if (v >= 1e4)
            std::snprintf(b, sizeof b, "%.1fk", v / 1e3);
        else if (v >= 100)
            std::snprintf(b, sizeof b, "%.0f", v);
        else if (v >= 10)
            std::snprintf(b, sizeof b, "%.1f", v);
        else
            std::snprintf(b, sizeof b, "%.2f", v);
        return std::string(b);
    };
    std::string s = num(f.median) + " " + unit;
    if (f.lo >= 0 && f.hi >= 0 && (f.lo != f.median || f.hi != f.median))
        s += " [" + num(f.lo) + "-" + num(f.hi) + "]";
    return s;
}

} // namespace

int main(int argc, char **argv)
{
    SummaryReporter reporter(SummaryReporter::optionsFrom(argc, argv));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;

    g.createFiles = envBytes("VD_BENCH_FILES", 10000);
    g.listEntries = envBytes("VD_BENCH_ENTRIES", 100000);
    g.dir = std::make_unique<BenchDir>();
    g.collections = g.dir->file(QStringLiteral("collections"));
    g.lmdbDir = g.dir->file(QStringLiteral("lmdb-cache"));
    g.plain = toStd(g.dir->file(QStringLiteral("plain")));
    g.canDrop = dropKernelCaches(2);
    std::printf("bench_tree: in %s; kernel caches %s\n", qPrintable(g.dir->path()),
                g.canDrop ? "can be dropped (cold figures are cold)" : "CANNOT be dropped (not root): 'cold' figures are warm");
    std::fflush(stdout);

    auto manual = [](benchmark::internal::Benchmark *b, int iterations, benchmark::TimeUnit unit) {
        b->UseManualTime()->Iterations(iterations)->Unit(unit);
    };
    for (const auto &[name, how] : {std::pair{"create/vdrive", Create::Vdrive}, std::pair{"create/plain", Create::Plain},
                                    std::pair{"create/plain_syncfs", Create::PlainSyncfs}, std::pair{"create/plain_fsync", Create::PlainFsync}}) {
        auto *b = benchmark::RegisterBenchmark(name, [how = how](benchmark::State &s) { BM_Create(s, how); });
        b->ArgName("size")->Arg(0)->Arg(100);
        manual(b, 1, benchmark::kMillisecond);
    }
    benchmark::RegisterBenchmark("stat/vdrive", [](benchmark::State &s) { BM_StatVdrive(s, false); });
    benchmark::RegisterBenchmark("stat/plain", [](benchmark::State &s) { BM_StatPlain(s, false); });
    benchmark::RegisterBenchmark("lookup10/vdrive", [](benchmark::State &s) { BM_StatVdrive(s, true); });
    benchmark::RegisterBenchmark("lookup10/plain", [](benchmark::State &s) { BM_StatPlain(s, true); });
    for (const int level : {0, 3}) {
        const std::string base = std::string(level ? "lookup10_diskcold" : "lookup10_cold");
        const int lvl = level;
        manual(benchmark::RegisterBenchmark((base + "/vdrive_nolmdb").c_str(), [lvl](benchmark::State &s) { BM_Cold(s, Cold::VdriveNoLmdb, lvl); }),
               kColdIterations, benchmark::kMicrosecond);
        manual(benchmark::RegisterBenchmark((base + "/vdrive_lmdb").c_str(), [lvl](benchmark::State &s) { BM_Cold(s, Cold::VdriveLmdb, lvl); }),
               kColdIterations, benchmark::kMicrosecond);
        manual(benchmark::RegisterBenchmark((base + (lvl ? "/plain_drop3" : "/plain_drop2")).c_str(),
                                            [lvl](benchmark::State &s) { BM_Cold(s, Cold::Plain, lvl ? 3 : 2); }),
               kColdIterations, benchmark::kMicrosecond);
    }
    manual(benchmark::RegisterBenchmark("list/vdrive_warm", [](benchmark::State &s) { BM_ListVdrive(s, false); }), 5, benchmark::kMillisecond);
    manual(benchmark::RegisterBenchmark("list/vdrive_cold", [](benchmark::State &s) { BM_ListVdrive(s, true); }), 3, benchmark::kMillisecond);
    for (const bool withStat : {false, true})
        for (const bool cold : {false, true}) {
            const std::string name = std::string("list/plain_readdir") + (withStat ? "_fstatat" : "") + (cold ? "_cold" : "_warm");
            manual(benchmark::RegisterBenchmark(name.c_str(), [withStat, cold](benchmark::State &s) { BM_ListPlain(s, withStat, cold); }),
                   cold ? 3 : 5, benchmark::kMillisecond);
        }
    benchmark::RunSpecifiedBenchmarks(&reporter);
    g.drive.reset();

    // figure, vdrive benchmark, baseline benchmark, unit, target (vdrive, in that unit; 0: none)
    struct Row
    {
        const char *what;
        std::string vd, base;
        bool rate; // files/s (higher is better), else a time
        const char *unit;
        double scale; // from t_us (time) or per_s (rate) to unit
        double target;
    };
    const std::vector<Row> rows = {
        {"create 0 B, commit/1000 vs no sync", "create/vdrive/size:0", "create/plain/size:0", true, "files/s", 1, 0},
        {"create 0 B, commit/1000 vs syncfs/1000", "create/vdrive/size:0", "create/plain_syncfs/size:0", true, "files/s", 1, 0},
        {"create 0 B, commit/1000 vs fsync each", "create/vdrive/size:0", "create/plain_fsync/size:0", true, "files/s", 1, 0},
        {"create 100 B, commit/1000 vs no sync", "create/vdrive/size:100", "create/plain/size:100", true, "files/s", 1, 0},
        {"create 100 B, commit/1000 vs syncfs/1000", "create/vdrive/size:100", "create/plain_syncfs/size:100", true, "files/s", 1, 0},
        {"create 100 B, commit/1000 vs fsync each", "create/vdrive/size:100", "create/plain_fsync/size:100", true, "files/s", 1, 0},
        {"stat /s/f (10k files), warm", "stat/vdrive", "stat/plain", false, "us", 1, 0},
        {"depth-10 look-up, warm", "lookup10/vdrive", "lookup10/plain", false, "us", 1, 5},
        {"depth-10 cold, no LMDB vs drop 2", "lookup10_cold/vdrive_nolmdb", "lookup10_cold/plain_drop2", false, "us", 1, 0},
        {"depth-10 cold, LMDB vs drop 2", "lookup10_cold/vdrive_lmdb", "lookup10_cold/plain_drop2", false, "us", 1, 0},
        {"depth-10 disk-cold, no LMDB vs drop 3", "lookup10_diskcold/vdrive_nolmdb", "lookup10_diskcold/plain_drop3", false, "us", 1, 0},
        {"depth-10 disk-cold, LMDB vs drop 3", "lookup10_diskcold/vdrive_lmdb", "lookup10_diskcold/plain_drop3", false, "us", 1, 0},
        {"list 100k, warm vs readdir", "list/vdrive_warm", "list/plain_readdir_warm", false, "ms", 1e-3, 100},
        {"list 100k, warm vs readdir+fstatat", "list/vdrive_warm", "list/plain_readdir_fstatat_warm", false, "ms", 1e-3, 100},
        {"list 100k, cold vs readdir (drop 2)", "list/vdrive_cold", "list/plain_readdir_cold", false, "ms", 1e-3, 0},
        {"list 100k, cold vs readdir+fstatat (drop 2)", "list/vdrive_cold", "list/plain_readdir_fstatat_cold", false, "ms", 1e-3, 0},
    };
    std::printf("\nSummary: median [min-max] over repetitions; speed = vdrive's rate / baseline's rate (>1: vdrive faster)\n");
    std::printf("%-44s %-28s %-28s %8s  %s\n", "figure", "vdrive", "baseline", "speed", "target");
    for (const Row &r : rows) {
        const char *counter = r.rate ? "per_s" : "t_us";
        const Figure vd = figure(reporter, r.vd, counter, r.scale);
        const Figure base = figure(reporter, r.base, counter, r.scale);
        if (!vd.ok() && !base.ok())
            continue;
        const double speed = vd.ok() && base.ok() ? (r.rate ? vd.median / base.median : base.median / vd.median) : -1;
        std::string target = "-";
        if (r.target > 0 && vd.ok()) {
            char b[64];
            std::snprintf(b, sizeof b, "< %g %s: %s", r.target, r.unit, vd.median < r.target ? "met" : "MISSED");
            target = b;
        }
        std::printf("%-44s %-28s %-28s %8.3f  %s\n", r.what, fmt(vd, r.unit).c_str(), fmt(base, r.unit).c_str(), speed, target.c_str());
    }
    if (g.buildFiles)
        std::printf("(building the look-up tree: vdrive %.0f files/s with a commit every 1,000; plain %.0f files/s)\n",
                    double(g.buildFiles) / g.buildVdriveS, double(g.buildFiles) / g.buildPlainS);
    if (!g.canDrop)
        std::printf("NOTE: the kernel caches could not be dropped (not root): the cold baselines are warm.\n");
    benchmark::Shutdown();
    return 0;
}
