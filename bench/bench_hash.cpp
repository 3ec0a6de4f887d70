// bench_hash: the content hash, measured for the network (issue 8). The same
// bytes in memory (1 GiB of random data, as 64 blocks of 16 MiB) hashed the
// way the engine does it today and the ways it could, beside the command-line
// tools hashing the same bytes from a file in the page cache, in the same run:
//
//   hash/sha256_block/threads:N    one SHA-256 per 16 MiB block (today's block
//                                  name); with 2 threads, blocks in parallel as
//                                  put's workers do
//   hash/sha256_chunks/threads:N   SHA-256 per 1 MiB chunk, the block's name the
//                                  SHA-256 of its chunk hashes; with 2 threads,
//                                  the chunks of each block split between them
//   hash/blake2b_chunks/threads:N  the same with BLAKE2b (OpenSSL's BLAKE2b-512:
//                                  3.0 has no 256-bit output; truncating costs
//                                  nothing, the work per byte is the same)
//   hash/blake2s_chunks/threads:N  the same with BLAKE2s-256
//   tool/sha256sum, tool/b2sum     `sha256sum FILE`, `b2sum -l 256 FILE` of the
//                                  same bytes, FILE in the page cache
//   tool/b3sum/threads:N           `b3sum --num-threads N FILE`: BLAKE3, for
//                                  scale (Debian 12 ships the tool, not a C
//                                  library); only when b3sum is installed
//   range/verify_chunk             what a read of a few bytes in a 16 MiB block
//                                  costs to verify with per-chunk hashes: hash
//                                  its 1 MiB chunk, hash the 16 chunk hashes,
//                                  compare with the block's name
//   range/verify_block             the same with today's whole-block hash: hash
//                                  the 16 MiB block
//
// GB/s = 10^9 bytes per second of wall-clock time; cpu GB/s = 10^9 bytes per
// CPU-second of the whole process (all its threads; for the tools, the
// child's user + system time): what hashing costs, whatever else the machine
// is doing. Run with
// --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true so that
// the tools and the candidates take turns (medians are summarised).
//
// Environment: VD_BENCH_BYTES (default 1G), VD_BENCH_DIR (where the tools'
// file goes; default a temporary directory under /var/tmp).
#include "benchutil.h"

#include <benchmark/benchmark.h>

#include <QElapsedTimer>
#include <QProcess>
#include <QStandardPaths>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <sys/resource.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

using namespace vd::bench;

namespace {

constexpr size_t kBlock = size_t(16) << 20;
constexpr size_t kChunk = size_t(1) << 20;
constexpr size_t kChunksPerBlock = kBlock / kChunk;

struct Globals
{
    std::unique_ptr<BenchDir> dir;
    QByteArray data;
    QString file;
    size_t blocks = 0;
} g;

struct Digest
{
    unsigned char bytes[64];
};

// One-shot digest with OpenSSL's EVP interface (as engine/core/hash.cpp does).
void digest(const EVP_MD *md, const char *p, size_t n, Digest *out)
{
    unsigned int len = 0;
    if (EVP_Digest(p, n, out->bytes, &len, md, nullptr) != 1)
        die(QStringLiteral("EVP_Digest failed"));
}

// Runs work(i) for i in [0, n) on `threads` threads, taking items in turn.
template<typename F>
void parallel(size_t n, int threads, F work)
{
    if (threads <= 1) {
        for (size_t i = 0; i < n; ++i)
            work(i);
        return;
    }
    std::atomic<size_t> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            for (size_t i = next++; i < n; i = next++)
                work(i);
        });
    for (std::thread &t : pool)
        t.join();
}

// Today's scheme: one hash per block.
void hashBlocks(benchmark::State &state, const EVP_MD *md)
{
    std::vector<Digest> names(g.blocks);
    for (auto _ : state) {
        parallel(g.blocks, int(state.range(0)), [&](size_t b) { digest(md, g.data.constData() + b * kBlock, kBlock, &names[b]); });
        benchmark::DoNotOptimize(names.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(g.data.size()));
    state.counters["GB/s"] = benchmark::Counter(double(g.data.size()) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// Per-chunk hashes; a block's name is the hash of its chunk hashes (the
// first 32 bytes of each, so BLAKE2b-512 stands in for BLAKE2b-256).
void hashChunks(benchmark::State &state, const EVP_MD *md)
{
    const size_t chunks = g.blocks * kChunksPerBlock;
    std::vector<Digest> chunkHashes(chunks);
    std::vector<Digest> names(g.blocks);
    for (auto _ : state) {
        parallel(chunks, int(state.range(0)), [&](size_t c) { digest(md, g.data.constData() + c * kChunk, kChunk, &chunkHashes[c]); });
        for (size_t b = 0; b < g.blocks; ++b) {
            char list[kChunksPerBlock * 32];
            for (size_t c = 0; c < kChunksPerBlock; ++c)
                std::memcpy(list + c * 32, chunkHashes[b * kChunksPerBlock + c].bytes, 32);
            digest(md, list, sizeof list, &names[b]);
        }
        benchmark::DoNotOptimize(names.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(g.data.size()));
    state.counters["GB/s"] = benchmark::Counter(double(g.data.size()) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// A command-line tool over the file, its output thrown away.
void tool(benchmark::State &state, const QString &program, const QStringList &args)
{
    struct rusage before, after;
    double cpu = 0;
    for (auto _ : state) {
        ::getrusage(RUSAGE_CHILDREN, &before);
        QProcess p;
        p.setStandardOutputFile(QProcess::nullDevice());
        QElapsedTimer t;
        t.start();
        p.start(program, args + QStringList{g.file});
        if (!p.waitForFinished(600'000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0)
            die(QStringLiteral("%1 failed: %2").arg(program, QString::fromLocal8Bit(p.readAllStandardError())));
        state.SetIterationTime(double(t.nsecsElapsed()) / 1e9);
        ::getrusage(RUSAGE_CHILDREN, &after);
        auto seconds = [](const timeval &tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
        cpu += seconds(after.ru_utime) - seconds(before.ru_utime) + seconds(after.ru_stime) - seconds(before.ru_stime);
    }
    state.counters["child_cpu_s"] = benchmark::Counter(cpu, benchmark::Counter::kAvgIterations);
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(g.data.size()));
    state.counters["GB/s"] = benchmark::Counter(double(g.data.size()) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// Verifying what a small read touches: the chunk scheme hashes the chunk,
// then the chunk list (kept with the block) against the block's name.
void verifyChunk(benchmark::State &state)
{
    const EVP_MD *md = EVP_sha256();
    std::vector<Digest> chunkHashes(kChunksPerBlock);
    for (size_t c = 0; c < kChunksPerBlock; ++c)
        digest(md, g.data.constData() + c * kChunk, kChunk, &chunkHashes[c]);
    char list[kChunksPerBlock * 32];
    for (size_t c = 0; c < kChunksPerBlock; ++c)
        std::memcpy(list + c * 32, chunkHashes[c].bytes, 32);
    Digest name;
    digest(md, list, sizeof list, &name);
    size_t which = 0;
    for (auto _ : state) {
        Digest got, listHash;
        digest(md, g.data.constData() + which * kChunk, kChunk, &got);
        digest(md, list, sizeof list, &listHash);
        if (std::memcmp(got.bytes, list + which * 32, 32) != 0 || std::memcmp(listHash.bytes, name.bytes, 32) != 0)
            die(QStringLiteral("chunk verification failed"));
        which = (which + 7) % kChunksPerBlock;
    }
    state.counters["bytes_hashed"] = double(kChunk + sizeof list);
}

void verifyBlock(benchmark::State &state)
{
    const EVP_MD *md = EVP_sha256();
    Digest name;
    digest(md, g.data.constData(), kBlock, &name);
    for (auto _ : state) {
        Digest got;
        digest(md, g.data.constData(), kBlock, &got);
        if (std::memcmp(got.bytes, name.bytes, 32) != 0)
            die(QStringLiteral("block verification failed"));
    }
    state.counters["bytes_hashed"] = double(kBlock);
}

} // namespace

int main(int argc, char **argv)
{
    SummaryReporter reporter(SummaryReporter::optionsFrom(argc, argv));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;

    const uint64_t bytes = envBytes("VD_BENCH_BYTES", uint64_t(1) << 30);
    g.blocks = size_t(std::max<uint64_t>(1, bytes / kBlock));
    g.data = QByteArray(qsizetype(g.blocks * kBlock), Qt::Uninitialized);
    Rng rng(8);
    fillRandom(rng, g.data.data(), size_t(g.data.size()));
    g.dir = std::make_unique<BenchDir>();
    g.file = g.dir->file(QStringLiteral("data.bin"));
    {
        QFile f(g.file);
        if (!f.open(QIODevice::WriteOnly) || f.write(g.data) != g.data.size())
            die(QStringLiteral("cannot write %1").arg(g.file));
    }
    { // into the page cache before the tools read it
        QFile f(g.file);
        if (!f.open(QIODevice::ReadOnly))
            die(QStringLiteral("cannot read %1").arg(g.file));
        while (!f.read(qint64(kBlock)).isEmpty()) {
        }
    }
    std::printf("bench_hash: %.0f MiB in memory (%zu blocks of 16 MiB), the tools read %s from the page cache; %s\n", mib(uint64_t(g.data.size())),
                g.blocks, qPrintable(g.file), OpenSSL_version(OPENSSL_VERSION));
    std::fflush(stdout);

    auto candidate = [](const char *name, void (*fn)(benchmark::State &, const EVP_MD *), const EVP_MD *md) {
        benchmark::RegisterBenchmark(name, [fn, md](benchmark::State &s) { fn(s, md); })->Arg(1)->Arg(2)->ArgName("threads")->MeasureProcessCPUTime()->UseRealTime()->Unit(benchmark::kMillisecond);
    };
    candidate("hash/sha256_block", hashBlocks, EVP_sha256());
    candidate("hash/sha256_chunks", hashChunks, EVP_sha256());
    candidate("hash/blake2b_chunks", hashChunks, EVP_blake2b512());
    candidate("hash/blake2s_chunks", hashChunks, EVP_blake2s256());
    benchmark::RegisterBenchmark("tool/sha256sum", [](benchmark::State &s) { tool(s, QStringLiteral("sha256sum"), {}); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("tool/b2sum", [](benchmark::State &s) { tool(s, QStringLiteral("b2sum"), {QStringLiteral("-l"), QStringLiteral("256")}); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    const bool haveB3sum = !QStandardPaths::findExecutable(QStringLiteral("b3sum")).isEmpty();
    if (haveB3sum) {
        for (int t : {1, 2})
            benchmark::RegisterBenchmark(("tool/b3sum/threads:" + std::to_string(t)).c_str(),
                                         [t](benchmark::State &s) { tool(s, QStringLiteral("b3sum"), {QStringLiteral("--num-threads"), QString::number(t)}); })
                ->UseManualTime()
                ->Unit(benchmark::kMillisecond);
    } else {
        std::printf("b3sum is not installed (apt-get install b3sum): no BLAKE3 figures\n");
    }
    benchmark::RegisterBenchmark("range/verify_chunk", verifyChunk)->MeasureProcessCPUTime()->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("range/verify_block", verifyBlock)->MeasureProcessCPUTime()->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RunSpecifiedBenchmarks(&reporter);

    // Summary: medians when repeated.
    auto find = [&](const std::string &prefix, const std::string &counter) {
        for (const auto &[name, c] : reporter.results())
            if (name.rfind(prefix, 0) == 0 && c.count(counter))
                return c.at(counter);
        return -1.0;
    };
    const double gib = double(g.data.size()) / 1e9;
    auto cpuRate = [&](const std::string &name) {
        const double t = name.rfind("tool/", 0) == 0 ? find(name, "child_cpu_s") : find(name, "cpu_time_s");
        return t > 0 ? gib / t : -1.0;
    };
    const double sha256sum = find("tool/sha256sum", "GB/s"), sha256sumCpu = cpuRate("tool/sha256sum");
    const double b2sum = find("tool/b2sum", "GB/s"), b2sumCpu = cpuRate("tool/b2sum");
    const double today = find("hash/sha256_block/threads:1", "GB/s"), todayCpu = cpuRate("hash/sha256_block/threads:1");
    std::printf("\nSummary. GB/s: 10^9 bytes per wall-clock second; cpu GB/s: per CPU-second of all threads (the cost, whatever the load).\n"
                "Ratios: against the tool of the same hash (sha256sum; b2sum for BLAKE2b), and against today's scheme on 1 thread.\n");
    std::printf("%-20s %7s %7s %9s %9s %9s %9s %9s\n", "scheme", "threads", "GB/s", "cpu GB/s", "/tool", "cpu/tool", "/today", "cpu/today");
    const struct
    {
        const char *name;
        double tool, toolCpu;
    } rows[] = {{"hash/sha256_block", sha256sum, sha256sumCpu},
                {"hash/sha256_chunks", sha256sum, sha256sumCpu},
                {"hash/blake2b_chunks", b2sum, b2sumCpu},
                {"hash/blake2s_chunks", -1, -1}};
    auto ratio = [](double a, double b) { return a > 0 && b > 0 ? QString::number(a / b, 'f', 2) : QStringLiteral("-"); };
    for (const auto &row : rows) {
        for (int t : {1, 2}) {
            const std::string name = std::string(row.name) + "/threads:" + std::to_string(t);
            const double v = find(name, "GB/s"), c = cpuRate(name);
            if (v < 0)
                continue;
            std::printf("%-20s %7d %7.2f %9.2f %9s %9s %9s %9s\n", row.name + 5, t, v, c, qPrintable(ratio(v, row.tool)), qPrintable(ratio(c, row.toolCpu)),
                        qPrintable(ratio(v, today)), qPrintable(ratio(c, todayCpu)));
        }
    }
    std::printf("%-20s %7d %7.2f %9.2f\n", "sha256sum (tool)", 1, sha256sum, sha256sumCpu);
    std::printf("%-20s %7d %7.2f %9.2f\n", "b2sum -l 256 (tool)", 1, b2sum, b2sumCpu);
    for (int t : {1, 2}) {
        const std::string name = "tool/b3sum/threads:" + std::to_string(t);
        if (find(name, "GB/s") > 0)
            std::printf("%-20s %7d %7.2f %9.2f %9s %9s %9s %9s\n", "b3sum (tool)", t, find(name, "GB/s"), cpuRate(name), "", "",
                        qPrintable(ratio(find(name, "GB/s"), today)), qPrintable(ratio(cpuRate(name), todayCpu)));
    }
    const double chunkUs = find("range/verify_chunk", "real_time_s") * 1e6, chunkCpuUs = find("range/verify_chunk", "cpu_time_s") * 1e6;
    const double blockUs = find("range/verify_block", "real_time_s") * 1e6, blockCpuUs = find("range/verify_block", "cpu_time_s") * 1e6;
    if (chunkUs > 0 && blockUs > 0)
        std::printf("verifying a small read in a 16 MiB block: its 1 MiB chunk + the chunk list %.0f us (cpu %.0f), the whole block %.0f us (cpu %.0f): "
                    "%.1fx less CPU, 16x fewer bytes read\n",
                    chunkUs, chunkCpuUs, blockUs, blockCpuUs, blockCpuUs / chunkCpuUs);
    benchmark::Shutdown();
    return 0;
}
