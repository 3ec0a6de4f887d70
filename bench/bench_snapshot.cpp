// bench_snapshot: snapshot creation and snapshot diff as the tree grows, at
// 10k, 100k and 1M VNodes, in one collection on the real file system.
//
// The tree: folders /dNNNN of 1,000 empty files each, added with
// Drive::putFileBytes and a commit every 10,000 files, up to each size in
// turn (10 folders, then 100, then 1,000: 10,010, 100,100 and 1,001,000
// VNodes besides the root and the trash). At each size:
//
//   build/vnodes:N            building up to N (only the files added since
//                             the previous size), as files/s
//   snapshot/vnodes:N         Drive::createSnapshot with nothing pending
//                             (the snapshot itself: a record and a commit),
//                             once per iteration
//   fdatasync4k/vnodes:N      (baseline) 4 KiB written to a new, empty file
//                             (created untimed) + fdatasync, on the same disk:
//                             the cost floor of any durable change
//   diff/vnodes:N             100 random files rewritten (100 bytes each) and
//                             committed after the first snapshot of that size;
//                             then Drive::diff(snapshot) against the live
//                             tree, on a Drive reopened before each iteration
//                             (the reopen is not timed)
//   diff_warm/vnodes:N        the same diff repeated on the same Drive
//   diff_exhaustive/vnodes:N  diff(snapshot, {}, true) (compares the whole
//                             indexes), on a reopened Drive: the in-run
//                             comparison for diff
//
// Each benchmark keeps its own samples: the counters are the median, min and
// max over its iterations. Run it WITHOUT --benchmark_repetitions (the tree
// is built once). Environment: VD_BENCH_DIR (default /var/tmp),
// VD_BENCH_VNODES (largest size, default 1M: sizes 10k, 100k, 1M up to it).
// Target (docs/PERFORMANCE.md §4): a snapshot in under 10 ms whatever the
// tree's size.
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
#include <string>
#include <vector>

using namespace vd;
using namespace vd::bench;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kFilesPerFolder = 1000;
constexpr uint64_t kCommitEvery = 10000;
constexpr int kChanged = 100;

struct Stage
{
    uint64_t files = 0;
    double buildS = 0;       // building from the previous size up to this one
    double buildTotalS = 0;  // from empty
    std::vector<double> snapshotMs, syncMs, diffMs, diffWarmMs, diffExhaustiveMs;
    size_t diffEntries = 0, diffExhaustiveEntries = 0;
    QString base; // the snapshot the diff is taken against
    bool changed = false;
};

struct Globals
{
    std::unique_ptr<BenchDir> dir;
    QString collectionDir;
    std::unique_ptr<tree::Drive> drive;
    uint64_t files = 0; // built so far
    uint64_t folders = 0;
    double buildTotalS = 0;
    int snapshots = 0, syncFiles = 0;
    std::map<uint64_t, Stage> stages;
};
Globals g;

double msSince(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void summarize(benchmark::State &state, const std::vector<double> &ms)
{
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    state.counters["median_ms"] = v[v.size() / 2];
    state.counters["min_ms"] = v.front();
    state.counters["max_ms"] = v.back();
}

tree::Drive &drive()
{
    if (!g.drive)
        g.drive = take(tree::Drive::open(*io::Env::posix(), g.collectionDir, storage::Access::ReadWrite, vd::bench::testDrive()), QStringLiteral("open"));
    return *g.drive;
}

void reopen()
{
    g.drive.reset();
    (void)drive();
}

QString filePath(uint64_t i)
{
    return QStringLiteral("/d%1/f%2").arg(i / kFilesPerFolder, 4, 10, QLatin1Char('0')).arg(i % kFilesPerFolder, 3, 10, QLatin1Char('0'));
}

void BM_Build(benchmark::State &state)
{
    const auto target = uint64_t(state.range(0));
    Stage &s = g.stages[target];
    for (auto _ : state) {
        tree::Drive &d = drive();
        const uint64_t from = g.files;
        const auto t0 = Clock::now();
        for (uint64_t i = g.files; i < target; ++i) {
            if (i % kFilesPerFolder == 0) {
                (void)take(d.mkdir(QStringLiteral("/d%1").arg(i / kFilesPerFolder, 4, 10, QLatin1Char('0')), false), QStringLiteral("mkdir"));
                ++g.folders;
            }
            (void)take(d.putFileBytes(filePath(i), QByteArrayView()), QStringLiteral("put"));
            if ((i + 1) % kCommitEvery == 0)
                check(d.commit(), QStringLiteral("commit"));
        }
        check(d.commit(), QStringLiteral("commit"));
        const double sec = msSince(t0) / 1e3;
        g.files = target;
        g.buildTotalS += sec;
        s.files = target - from;
        s.buildS = sec;
        s.buildTotalS = g.buildTotalS;
        state.SetIterationTime(sec);
        std::printf("  built %llu files (+%llu folders) in %.1f s; %llu VNodes in the tree, %.1f s in all\n",
                    static_cast<unsigned long long>(s.files), static_cast<unsigned long long>(s.files / kFilesPerFolder), sec,
                    static_cast<unsigned long long>(g.files + g.folders), g.buildTotalS);
        std::fflush(stdout);
    }
    state.counters["files_per_s"] = double(s.files) / s.buildS;
    state.counters["vnodes"] = double(g.files + g.folders);
}

void BM_Snapshot(benchmark::State &state)
{
    Stage &s = g.stages[uint64_t(state.range(0))];
    tree::Drive &d = drive();
    check(d.commit(), QStringLiteral("commit"));
    for (auto _ : state) {
        const QString name = QStringLiteral("s%1-%2").arg(++g.snapshots).arg(state.range(0));
        const auto t0 = Clock::now();
        const auto info = take(d.createSnapshot(name), QStringLiteral("snapshot"));
        const double ms = msSince(t0);
        if (s.base.isEmpty())
            s.base = name;
        s.snapshotMs.push_back(ms);
        state.SetIterationTime(ms / 1e3);
        benchmark::DoNotOptimize(info);
    }
    summarize(state, s.snapshotMs);
}

void BM_Fdatasync(benchmark::State &state)
{
    Stage &s = g.stages[uint64_t(state.range(0))];
    QByteArray page(4096, Qt::Uninitialized);
    Rng rng(0xfda7a);
    fillRandom(rng, page.data(), size_t(page.size()));
    const QString folder = g.dir->file(QStringLiteral("plain"));
    QDir().mkpath(folder);
    for (auto _ : state) {
        const QByteArray path = QFile::encodeName(folder + QStringLiteral("/sync%1").arg(++g.syncFiles));
        // Created untimed: on an ext4 without a journal, allocating an inode
        // can cost more than the write when many were freed recently.
        const int fd = ::open(path.constData(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
        const auto t0 = Clock::now();
        if (fd < 0 || ::write(fd, page.constData(), size_t(page.size())) != page.size() || ::fdatasync(fd) != 0)
            die(QStringLiteral("cannot write %1").arg(QString::fromLocal8Bit(path)));
        ::close(fd);
        const double ms = msSince(t0);
        s.syncMs.push_back(ms);
        state.SetIterationTime(ms / 1e3);
    }
    summarize(state, s.syncMs);
}

// Rewrites kChanged random files of the tree (once per size) and commits.
void changeFiles(Stage &s)
{
    if (s.changed)
        return;
    s.changed = true;
    tree::Drive &d = drive();
    Rng rng(0xd1ff + g.files);
    QByteArray bytes(100, Qt::Uninitialized);
    std::vector<uint64_t> picked;
    while (picked.size() < size_t(kChanged)) {
        const uint64_t i = rng.below(g.files);
        if (std::find(picked.begin(), picked.end(), i) != picked.end())
            continue;
        picked.push_back(i);
        fillRandom(rng, bytes.data(), size_t(bytes.size()));
        (void)take(d.putFileBytes(filePath(i), bytes), QStringLiteral("rewrite"));
    }
    check(d.commit(), QStringLiteral("commit"));
}

enum class Diff { Reopened, Warm, Exhaustive };

void BM_Diff(benchmark::State &state, Diff how)
{
    Stage &s = g.stages[uint64_t(state.range(0))];
    if (s.base.isEmpty())
        die(QStringLiteral("diff without a snapshot: run the snapshot benchmark of this size first"));
    changeFiles(s);
    auto &samples = how == Diff::Reopened ? s.diffMs : how == Diff::Warm ? s.diffWarmMs : s.diffExhaustiveMs;
    if (how == Diff::Warm)
        (void)take(drive().diff(s.base), QStringLiteral("diff"));
    for (auto _ : state) {
        if (how != Diff::Warm)
            reopen();
        tree::Drive &d = drive();
        const auto t0 = Clock::now();
        const auto out = take(d.diff(s.base, QString(), how == Diff::Exhaustive), QStringLiteral("diff"));
        const double ms = msSince(t0);
        size_t modified = 0;
        for (const auto &e : out)
            modified += e.change == tree::DiffEntry::Change::Modified ? 1 : 0;
        if (out.size() != size_t(kChanged) || modified != size_t(kChanged))
            die(QStringLiteral("diff found %1 entries, %2 of them modified; expected %3").arg(out.size()).arg(modified).arg(kChanged));
        (how == Diff::Exhaustive ? s.diffExhaustiveEntries : s.diffEntries) = out.size();
        samples.push_back(ms);
        state.SetIterationTime(ms / 1e3);
    }
    summarize(state, samples);
}

std::string range(const std::vector<double> &ms)
{
    if (ms.empty())
        return "-";
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    char b[64];
    auto num = [](double x) {
        char t[24];
        std::snprintf(t, sizeof t, x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : "%.2f", x);
        return std::string(t);
    };
    std::snprintf(b, sizeof b, "%s [%s-%s]", num(v[v.size() / 2]).c_str(), num(v.front()).c_str(), num(v.back()).c_str());
    return b;
}

double med(const std::vector<double> &ms)
{
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    return v.empty() ? -1 : v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv)
{
    SummaryReporter reporter(SummaryReporter::optionsFrom(argc, argv));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;

    const uint64_t maxNodes = envBytes("VD_BENCH_VNODES", 1000000);
    g.dir = std::make_unique<BenchDir>();
    const QString parent = g.dir->file(QStringLiteral("collections"));
    QDir().mkpath(parent);
    {
        auto col = take(storage::Collection::create(*io::Env::posix(), parent, QStringLiteral("snapshots")), QStringLiteral("create"));
        g.collectionDir = col->path();
        g.drive = take(tree::Drive::attach(std::move(col), vd::bench::testDrive()), QStringLiteral("attach"));
    }
    std::printf("bench_snapshot: in %s, sizes up to %llu files\n", qPrintable(g.dir->path()), static_cast<unsigned long long>(maxNodes));
    std::fflush(stdout);

    std::vector<uint64_t> sizes;
    for (uint64_t n = 10000; n <= maxNodes; n *= 10)
        sizes.push_back(n);
    for (const uint64_t n : sizes) {
        const auto arg = int64_t(n);
        benchmark::RegisterBenchmark("build", BM_Build)->ArgName("vnodes")->Arg(arg)->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);
        benchmark::RegisterBenchmark("snapshot", BM_Snapshot)->ArgName("vnodes")->Arg(arg)->UseManualTime()->Iterations(7)->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark("fdatasync4k", BM_Fdatasync)->ArgName("vnodes")->Arg(arg)->UseManualTime()->Iterations(7)->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark("diff", [](benchmark::State &s) { BM_Diff(s, Diff::Reopened); })
            ->ArgName("vnodes")->Arg(arg)->UseManualTime()->Iterations(5)->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark("diff_warm", [](benchmark::State &s) { BM_Diff(s, Diff::Warm); })
            ->ArgName("vnodes")->Arg(arg)->UseManualTime()->Iterations(5)->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark("diff_exhaustive", [](benchmark::State &s) { BM_Diff(s, Diff::Exhaustive); })
            ->ArgName("vnodes")->Arg(arg)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
    }
    benchmark::RunSpecifiedBenchmarks(&reporter);
    g.drive.reset();

    std::printf("\nSummary: median [min-max] in ms over each benchmark's iterations; ratio = vdrive / baseline time\n");
    std::printf("%-10s %-22s %-18s %-18s %6s %-9s %-18s %-18s %-20s %6s\n", "files", "build (files/s)", "snapshot ms",
                "fdatasync 4k ms", "ratio", "<10 ms", "diff ms (reopen)", "diff ms (warm)", "exhaustive ms", "ratio");
    for (const uint64_t n : sizes) {
        const auto it = g.stages.find(n);
        if (it == g.stages.end())
            continue;
        const Stage &s = it->second;
        char build[48] = "-";
        if (s.buildS > 0)
            std::snprintf(build, sizeof build, "%.1f s, %.0f/s", s.buildS, double(s.files) / s.buildS);
        const double snap = med(s.snapshotMs), sync = med(s.syncMs), diff = med(s.diffMs), ex = med(s.diffExhaustiveMs);
        std::printf("%-10llu %-22s %-18s %-18s %6.2f %-9s %-18s %-18s %-20s %6.3f\n", static_cast<unsigned long long>(n), build,
                    range(s.snapshotMs).c_str(), range(s.syncMs).c_str(), snap > 0 && sync > 0 ? snap / sync : -1,
                    snap < 0 ? "-" : snap < 10 ? "met" : "MISSED", range(s.diffMs).c_str(), range(s.diffWarmMs).c_str(),
                    range(s.diffExhaustiveMs).c_str(), diff > 0 && ex > 0 ? diff / ex : -1);
    }
    std::printf("(building: %.1f s in all; the diff ratio is diff / exhaustive diff)\n", g.buildTotalS);
    for (const uint64_t n : sizes) {
        const auto it = g.stages.find(n);
        if (it == g.stages.end() || it->second.snapshotMs.empty())
            continue;
        std::printf("snapshots at %llu files, in order (ms):", static_cast<unsigned long long>(n));
        for (const double ms : it->second.snapshotMs)
            std::printf(" %.2f", ms);
        std::printf("\n");
    }
    benchmark::Shutdown();
    return 0;
}
