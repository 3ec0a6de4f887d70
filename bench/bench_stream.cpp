// bench_stream: streaming one large object in and out of a collection on the
// real file system, side by side with plain QFile I/O on the same disk in the
// same run.
//
//   write/plain       copy the source file to a new file with QFile, 1 MiB
//                     chunks, fsync at the end
//   write/vdrive_put  Collection::putObject(key, source QFile) + commit()
//                     (commit syncs idvd, .bitmap and .meta)
//   read/plain        read that plain file back in 1 MiB chunks into a QFile
//                     on /dev/null
//   read/vdrive_get   Collection::getObject(key, QFile on /dev/null) on a
//                     freshly opened collection (every block is SHA-256
//                     verified)
//   readToFile/*      the same two reads, written to a new file in the bench
//                     directory instead of /dev/null (no fsync)
//   readCached/*      the same two reads with the file already in the page
//                     cache: what the CPU costs, without the disk
//   */plain_sha256    (diagnostic) the plain copy or read, also computing the
//                     SHA-256 of each 16 MiB block 1 MiB at a time: the best a
//                     single-threaded writer or reader that hashes every byte,
//                     as the engine does, can do on this machine
//
// Before every write and every cold read the page cache is dropped (sync;
// echo 3 > /proc/sys/vm/drop_caches, root only); the source file is then read
// once, untimed, so that both writers read it from memory. If the cache cannot
// be dropped, "cold" reads come from the page cache and the counter cold=0
// says so.
//
// Environment: VD_BENCH_BYTES (default 1G; suffixes K, M, G), VD_BENCH_DIR
// (default: a temporary directory under /var/tmp).
// Targets (docs/PERFORMANCE.md): put >= 0.8x plain write, get >= 0.8x plain read.
#include "benchutil.h"

#include "core/hash.h"
#include "io/env.h"
#include "storage/collection.h"

#include <benchmark/benchmark.h>

#include <QDir>
#include <QFile>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>

using namespace vd;
using namespace vd::bench;

namespace {

constexpr qint64 kChunk = qint64(1) << 20;
const QString kKey = QStringLiteral("bench/stream.bin");

struct Globals
{
    std::unique_ptr<BenchDir> dir;
    uint64_t bytes = 0;
    bool canDrop = false;
    QString source, plain, collections, readOut;
    QString collectionDir; // the collection holding kKey, once put
    std::map<std::string, double> extra; // counters the last phase adds
};
Globals g;

[[noreturn]] void die(const QString &what)
{
    std::fprintf(stderr, "bench_stream: %s\n", qPrintable(what));
    std::exit(1);
}

bool openFile(QFile &f, QIODevice::OpenMode mode)
{
    return f.open(mode | QIODevice::Unbuffered);
}

// Reads the whole file once (untimed) so that it sits in the page cache.
void warm(const QString &path)
{
    QFile f(path);
    if (!openFile(f, QIODevice::ReadOnly))
        die(QStringLiteral("cannot open %1").arg(path));
    QByteArray buf(kChunk, Qt::Uninitialized);
    while (f.read(buf.data(), kChunk) > 0) {
    }
}

void dropCache()
{
    if (g.canDrop && !dropPageCache())
        g.canDrop = false;
    if (!g.canDrop)
        ::sync();
}

// Copies in to out in 1 MiB chunks; with sync, fsyncs out at the end; with
// hash, also computes the SHA-256 of every 16 MiB of the stream, chunk by chunk.
bool copyPlain(const QString &from, const QString &to, bool sync, bool hash = false)
{
    QFile in(from);
    QFile out(to);
    if (!openFile(in, QIODevice::ReadOnly) || !openFile(out, QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    QByteArray buf(kChunk, Qt::Uninitialized);
    Sha256 sha;
    qint64 inBlock = 0;
    for (;;) {
        const qint64 n = in.read(buf.data(), kChunk);
        if (n < 0)
            return false;
        if (n == 0)
            break;
        if (hash) {
            sha.add(QByteArrayView(buf.constData(), n));
            inBlock += n;
            if (inBlock >= 16 * kChunk) {
                benchmark::DoNotOptimize(sha.finish());
                inBlock = 0;
            }
        }
        if (out.write(buf.constData(), n) != n)
            return false;
    }
    if (hash)
        benchmark::DoNotOptimize(sha.finish());
    if (sync && ::fsync(out.handle()) != 0)
        return false;
    return true;
}

// Writes the source file the first time a phase needs it (not at all with
// --benchmark_list_tests or a filter that matches nothing).
void makeSource()
{
    static bool made = false;
    if (made)
        return;
    made = true;
    QFile f(g.source);
    if (!openFile(f, QIODevice::WriteOnly | QIODevice::Truncate))
        die(QStringLiteral("cannot create %1").arg(g.source));
    Rng rng(0x5712ea3);
    QByteArray buf(kChunk, Qt::Uninitialized);
    for (uint64_t done = 0; done < g.bytes;) {
        const qint64 n = qint64(std::min<uint64_t>(uint64_t(kChunk), g.bytes - done));
        fillRandom(rng, buf.data(), size_t(n));
        if (f.write(buf.constData(), n) != n)
            die(QStringLiteral("cannot write %1").arg(g.source));
        done += uint64_t(n);
    }
    if (::fsync(f.handle()) != 0)
        die(QStringLiteral("cannot sync %1").arg(g.source));
}

// Stores the source as kKey in a new collection (replacing any earlier one);
// returns the seconds putObject + commit took.
double putFresh()
{
    makeSource();
    g.collectionDir.clear();
    QDir(g.collections).removeRecursively();
    QDir().mkpath(g.collections);
    auto created = storage::Collection::create(*io::Env::posix(), g.collections, QStringLiteral("bench"));
    if (!created)
        die(QStringLiteral("create: %1").arg(created.status().toString()));
    std::unique_ptr<storage::Collection> c = std::move(created).value();
    dropCache();
    warm(g.source);
    QFile in(g.source);
    if (!openFile(in, QIODevice::ReadOnly))
        die(QStringLiteral("cannot open %1").arg(g.source));
    const auto t0 = std::chrono::steady_clock::now();
    Status st = c->putObject(kKey, in);
    const auto t1 = std::chrono::steady_clock::now();
    if (st)
        st = c->commit();
    const auto t2 = std::chrono::steady_clock::now();
    if (!st)
        die(QStringLiteral("put: %1").arg(st.toString()));
    g.collectionDir = c->path();
    g.extra["commit_ms"] = std::chrono::duration<double, std::milli>(t2 - t1).count();
    return std::chrono::duration<double>(t2 - t0).count();
}

double putPlain(bool hash = false)
{
    makeSource();
    QFile::remove(g.plain);
    dropCache();
    warm(g.source);
    const auto t0 = std::chrono::steady_clock::now();
    if (!copyPlain(g.source, g.plain, true, hash))
        die(QStringLiteral("cannot write %1").arg(g.plain));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

enum class Sink { DevNull, File };
enum class Cache { Cold, Warm };

double readPlain(Sink sink, Cache cache, bool hash = false)
{
    if (!QFile::exists(g.plain))
        (void)putPlain();
    QFile::remove(g.readOut);
    if (cache == Cache::Cold)
        dropCache();
    else
        warm(g.plain);
    const QString to = sink == Sink::DevNull ? QStringLiteral("/dev/null") : g.readOut;
    const auto t0 = std::chrono::steady_clock::now();
    if (!copyPlain(g.plain, to, false, hash))
        die(QStringLiteral("cannot read %1").arg(g.plain));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double readVdrive(Sink sink, Cache cache)
{
    if (g.collectionDir.isEmpty())
        (void)putFresh();
    g.extra.clear(); // counters of that untimed put are not this phase's
    QFile::remove(g.readOut);
    if (cache == Cache::Cold) {
        dropCache();
    } else {
        warm(g.collectionDir + QStringLiteral("/idvd"));
    }
    auto opened = storage::Collection::open(*io::Env::posix(), g.collectionDir, storage::Access::ReadOnly);
    if (!opened)
        die(QStringLiteral("open: %1").arg(opened.status().toString()));
    QFile out(sink == Sink::DevNull ? QStringLiteral("/dev/null") : g.readOut);
    if (!openFile(out, QIODevice::WriteOnly | QIODevice::Truncate))
        die(QStringLiteral("cannot open %1").arg(out.fileName()));
    const auto t0 = std::chrono::steady_clock::now();
    const Status st = (*opened)->getObject(kKey, out);
    const auto t1 = std::chrono::steady_clock::now();
    if (!st)
        die(QStringLiteral("get: %1").arg(st.toString()));
    return std::chrono::duration<double>(t1 - t0).count();
}

void run(benchmark::State &state, const std::function<double()> &phase, bool cold)
{
    double seconds = 0;
    for (auto _ : state) {
        g.extra.clear();
        seconds = phase();
        state.SetIterationTime(seconds);
    }
    for (const auto &[name, value] : g.extra)
        state.counters[name] = value;
    state.SetBytesProcessed(int64_t(g.bytes) * state.iterations());
    state.counters["MB/s"] = mb(g.bytes) / seconds;
    state.counters["cold"] = cold && g.canDrop ? 1 : 0;
}

} // namespace

int main(int argc, char **argv)
{
    vd::bench::SummaryReporter reporter(vd::bench::SummaryReporter::optionsFrom(argc, argv));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;

    g.bytes = envBytes("VD_BENCH_BYTES", uint64_t(1) << 30);
    g.dir = std::make_unique<BenchDir>();
    g.source = g.dir->file(QStringLiteral("source.bin"));
    g.plain = g.dir->file(QStringLiteral("plain.bin"));
    g.readOut = g.dir->file(QStringLiteral("read-out.bin"));
    g.collections = g.dir->file(QStringLiteral("collections"));
    g.canDrop = dropPageCache();
    std::printf("bench_stream: %.1f MiB in %s; page cache %s\n", mib(g.bytes), qPrintable(g.dir->path()),
                g.canDrop ? "dropped before each phase" : "cannot be dropped (not root): cold reads come from the page cache");
    std::fflush(stdout);

    auto reg = [](const char *name, std::function<double()> phase, bool cold) {
        benchmark::RegisterBenchmark(name, [phase, cold](benchmark::State &s) { run(s, phase, cold); })
            ->UseManualTime()
            ->Iterations(1)
            ->Unit(benchmark::kMillisecond);
    };
    reg("write/plain", [] { return putPlain(); }, true);
    reg("write/vdrive_put", putFresh, true);
    reg("write/plain_sha256", [] { return putPlain(true); }, true);
    reg("read/plain", [] { return readPlain(Sink::DevNull, Cache::Cold); }, true);
    reg("read/vdrive_get", [] { return readVdrive(Sink::DevNull, Cache::Cold); }, true);
    reg("read/plain_sha256", [] { return readPlain(Sink::DevNull, Cache::Cold, true); }, true);
    reg("readToFile/plain", [] { return readPlain(Sink::File, Cache::Cold); }, true);
    reg("readToFile/vdrive_get", [] { return readVdrive(Sink::File, Cache::Cold); }, true);
    reg("readCached/plain", [] { return readPlain(Sink::DevNull, Cache::Warm); }, false);
    reg("readCached/vdrive_get", [] { return readVdrive(Sink::DevNull, Cache::Warm); }, false);
    reg("readCached/plain_sha256", [] { return readPlain(Sink::DevNull, Cache::Warm, true); }, false);
    benchmark::RunSpecifiedBenchmarks(&reporter);

    std::printf("\nSummary: %.1f MiB, MB/s = 10^6 bytes/s%s\n", mib(g.bytes), g.canDrop ? "" : " (page cache NOT dropped)");
    std::printf("%-12s %12s %12s %8s  %-16s %14s %10s\n", "phase", "plain MB/s", "vdrive MB/s", "ratio", "target",
                "plain+sha MB/s", "vd/(p+sha)");
    auto mbps = [&](const std::string &name) { return reporter.value(name + "/iterations:1/manual_time", "MB/s"); };
    for (const char *group : {"write", "read", "readToFile", "readCached"}) {
        const std::string gname = group;
        const double plain = mbps(gname + "/plain");
        const double vd = mbps(gname + (gname == "write" ? "/vdrive_put" : "/vdrive_get"));
        const double sha = mbps(gname + "/plain_sha256");
        if (plain < 0 || vd < 0)
            continue;
        const double ratio = vd / plain;
        const bool targeted = gname == "write" || gname == "read";
        std::printf("%-12s %12.0f %12.0f %8.2f  %-16s", group, plain, vd, ratio,
                    !targeted ? "(info)" : ratio >= 0.8 ? ">= 0.8: met" : ">= 0.8: MISSED");
        if (sha > 0)
            std::printf(" %14.0f %10.2f", sha, vd / sha);
        std::printf("\n");
    }
    benchmark::Shutdown();
    return 0;
}
