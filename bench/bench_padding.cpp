// bench_padding: how much space a mix of file sizes takes in a collection,
// side by side with the same files on the plain file system, in one run.
//
// The mix (fixed seed, so every run stores the same sizes): sizes drawn
// log-uniform in [1 KiB, 200 MiB] until they add up to VD_BENCH_BYTES
// (default 2G), plus sizes at the block boundaries: 0, 100 B, 4 KiB, 1 MiB-128
// (exactly one 1 MiB block's payload), 1 MiB, 1 MiB+1, 4 MiB, 16 MiB-128,
// 16 MiB, 16 MiB+1, 17.5 MiB, 100 MiB. Contents are random (incompressible).
//
// Each file is written to <dir>/plain/ with QFile, then stored from that file
// with Collection::putObject; one commit at the end. Reported:
//   vdrive: CollectionInfo.logicalBytes, dataBlockBytes + smallBlockBytes and
//           paddingRatio = (data + small block bytes) / logical bytes; also
//           every allocated block (with catalog and head) and what idvd,
//           .bitmap and .meta occupy on disk (st_blocks; idvd is sparse)
//   plain:  the sum of st_blocks * 512 of the plain files (what `du` says)
//
// Environment: VD_BENCH_BYTES (budget for the random part; default 2G),
// VD_BENCH_DIR (default: a temporary directory under /var/tmp).
#include "benchutil.h"

#include "io/env.h"
#include "storage/collection.h"

#include <benchmark/benchmark.h>

#include <QDir>
#include <QFile>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

using namespace vd;
using namespace vd::bench;

namespace {

constexpr uint64_t KiB = uint64_t(1) << 10;
constexpr uint64_t MiB = uint64_t(1) << 20;

std::vector<uint64_t> sizeMix(uint64_t budget)
{
    std::vector<uint64_t> sizes = {0, 100, 4 * KiB, MiB - 128, MiB, MiB + 1, 4 * MiB,
                                   16 * MiB - 128, 16 * MiB, 16 * MiB + 1, 17 * MiB + MiB / 2, 100 * MiB};
    Rng rng(0xb10c5);
    const double lo = std::log(double(KiB));
    const double hi = std::log(double(200 * MiB));
    uint64_t total = 0;
    while (total < budget) {
        const auto s = uint64_t(std::exp(lo + (hi - lo) * rng.unit()));
        sizes.push_back(s);
        total += s;
    }
    return sizes;
}

struct Figures
{
    uint64_t objects = 0;
    uint64_t logical = 0;
    storage::CollectionInfo info;
    uint64_t collectionOnDisk = 0; // st_blocks of idvd, .bitmap, .meta
    uint64_t idvdOnDisk = 0;
    uint64_t plainOnDisk = 0;
    double plainSeconds = 0;
    double vdriveSeconds = 0;
    uint64_t minSize = 0, medianSize = 0, maxSize = 0;
};
Figures g_fig;
bool g_done = false;

[[noreturn]] void die(const QString &what)
{
    std::fprintf(stderr, "bench_padding: %s\n", qPrintable(what));
    std::exit(1);
}

void measure(const BenchDir &dir, uint64_t budget)
{
    const std::vector<uint64_t> sizes = sizeMix(budget);
    const QString plainDir = dir.file(QStringLiteral("plain"));
    const QString parent = dir.file(QStringLiteral("collections"));
    QDir().mkpath(plainDir);
    QDir().mkpath(parent);
    auto created = storage::Collection::create(*io::Env::posix(), parent, QStringLiteral("padding"));
    if (!created)
        die(QStringLiteral("create: %1").arg(created.status().toString()));
    std::unique_ptr<storage::Collection> c = std::move(created).value();

    Rng rng(0xda7a);
    QByteArray buf;
    for (size_t i = 0; i < sizes.size(); ++i) {
        const QString path = plainDir + QStringLiteral("/f%1").arg(i, 4, 10, QLatin1Char('0'));
        buf.resize(qsizetype(sizes[i]));
        fillRandom(rng, buf.data(), size_t(buf.size()));
        const auto t0 = std::chrono::steady_clock::now();
        {
            QFile f(path);
            if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(buf) != buf.size())
                die(QStringLiteral("cannot write %1").arg(path));
        }
        const auto t1 = std::chrono::steady_clock::now();
        QFile in(path);
        if (!in.open(QIODevice::ReadOnly))
            die(QStringLiteral("cannot open %1").arg(path));
        const Status st = c->putObject(QStringLiteral("obj/%1").arg(i), in);
        if (!st)
            die(QStringLiteral("put %1 (%2 bytes): %3").arg(i).arg(sizes[i]).arg(st.toString()));
        const auto t2 = std::chrono::steady_clock::now();
        g_fig.plainSeconds += std::chrono::duration<double>(t1 - t0).count();
        g_fig.vdriveSeconds += std::chrono::duration<double>(t2 - t1).count();
        g_fig.logical += sizes[i];
    }
    {
        const auto t0 = std::chrono::steady_clock::now();
        const Status st = c->commit();
        if (!st)
            die(QStringLiteral("commit: %1").arg(st.toString()));
        g_fig.vdriveSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    auto info = c->info();
    if (!info)
        die(QStringLiteral("info: %1").arg(info.status().toString()));
    g_fig.info = *info;
    g_fig.objects = sizes.size();
    ::sync(); // delayed allocation settles before st_blocks is read
    g_fig.plainOnDisk = allocatedBytes(plainDir);
    g_fig.collectionOnDisk = allocatedBytes(c->path());
    g_fig.idvdOnDisk = allocatedBytes(c->path() + QStringLiteral("/idvd"));
    std::vector<uint64_t> sorted = sizes;
    std::sort(sorted.begin(), sorted.end());
    g_fig.minSize = sorted.front();
    g_fig.medianSize = sorted[sorted.size() / 2];
    g_fig.maxSize = sorted.back();
    c.reset();
    QDir(plainDir).removeRecursively();
    QDir(parent).removeRecursively();
}

void BM_Padding(benchmark::State &state)
{
    for (auto _ : state) {
        if (!g_done) {
            BenchDir dir;
            measure(dir, envBytes("VD_BENCH_BYTES", uint64_t(2) << 30));
            g_done = true;
        }
        state.SetIterationTime(g_fig.vdriveSeconds);
    }
    const auto &i = g_fig.info;
    const double stored = double(i.dataBlockBytes + i.smallBlockBytes);
    state.counters["objects"] = double(g_fig.objects);
    state.counters["logical_MiB"] = mib(g_fig.logical);
    state.counters["vdrive_MiB"] = stored / double(MiB);
    state.counters["vdrive_ratio"] = i.paddingRatio;
    state.counters["plain_MiB"] = mib(g_fig.plainOnDisk);
    state.counters["plain_ratio"] = double(g_fig.plainOnDisk) / double(g_fig.logical);
}

} // namespace

int main(int argc, char **argv)
{
    vd::bench::SummaryReporter reporter(vd::bench::SummaryReporter::optionsFrom(argc, argv));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RegisterBenchmark("padding/mix", BM_Padding)->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);
    benchmark::RunSpecifiedBenchmarks(&reporter);
    if (!g_done)
        return 0;

    const Figures &f = g_fig;
    const auto &i = f.info;
    const double logical = double(f.logical);
    auto row = [&](const char *what, uint64_t bytes) {
        std::printf("  %-44s %14llu  %10.1f MiB  %7.4f\n", what, static_cast<unsigned long long>(bytes), mib(bytes),
                    logical > 0 ? double(bytes) / logical : 0.0);
    };
    std::printf("\n%llu objects, sizes %llu B .. %.1f MiB (median %.1f KiB); plain write %.1f s, vdrive put+commit %.1f s\n",
                static_cast<unsigned long long>(f.objects), static_cast<unsigned long long>(f.minSize), mib(f.maxSize),
                double(f.medianSize) / 1024.0, f.plainSeconds, f.vdriveSeconds);
    std::printf("  %-44s %14s  %14s  %7s\n", "", "bytes", "", "/logical");
    row("logical bytes (CollectionInfo.logicalBytes)", i.logicalBytes);
    row("vdrive: data blocks", i.dataBlockBytes);
    row("vdrive: SmallData blocks", i.smallBlockBytes);
    row("vdrive: data + SmallData (paddingRatio)", i.dataBlockBytes + i.smallBlockBytes);
    row("vdrive: all allocated blocks (+ catalog, head)", i.allocatedBytes);
    row("vdrive: on disk, idvd (st_blocks, sparse)", f.idvdOnDisk);
    row("vdrive: on disk, idvd + .bitmap + .meta", f.collectionOnDisk);
    row("plain: on disk (sum of st_blocks * 512)", f.plainOnDisk);
    std::printf("  data blocks %llu (per class 1/2/4/8/16 MiB, all kinds: %llu/%llu/%llu/%llu/%llu), SmallData blocks %llu holding %llu payloads, %.1f MiB stored\n",
                static_cast<unsigned long long>(i.dataBlocks), static_cast<unsigned long long>(i.blocksPerClass[0]),
                static_cast<unsigned long long>(i.blocksPerClass[1]), static_cast<unsigned long long>(i.blocksPerClass[2]),
                static_cast<unsigned long long>(i.blocksPerClass[3]), static_cast<unsigned long long>(i.blocksPerClass[4]),
                static_cast<unsigned long long>(i.smallBlocks), static_cast<unsigned long long>(i.smallSlots), mib(i.smallStoredBytes));
    std::printf("  catalog: %llu blocks, %.1f MiB allocated, %.2f MiB live\n", static_cast<unsigned long long>(i.catalogBlocks),
                mib(i.catalogBytes), mib(i.catalogLiveBytes));
    std::printf("Summary: paddingRatio vdrive %.4f, plain file system %.4f, vdrive/plain %.4f\n", i.paddingRatio,
                double(f.plainOnDisk) / logical, (double(i.dataBlockBytes + i.smallBlockBytes)) / double(f.plainOnDisk));
    benchmark::Shutdown();
    return 0;
}
