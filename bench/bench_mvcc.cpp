// Reads during writes (issue 8): 8 reader threads, each read pinning the
// last committed generation and reading one random file whole through a
// reader's Drive, while a writer commits continuously (puts, overwrites and
// removals of small files, one commit per round) — against the same readers
// with no writer, and the writer with no readers, in the same run,
// interleaved. Prints read throughput, p50/p99 read latency and the commit
// rate each way, and the p99 ratio. Failed reads are counted (must be 0).
//
// Not a Google Benchmark: latency percentiles across threads are the figure.
//   bench_mvcc [seconds per phase, default 5] [rounds, default 2]
// Environment: VD_BENCH_DIR (default: a temporary folder under /tmp).
#include "benchutil.h"

#include "storage/readertable.h"
#include "tree/drive.h"

#include <QCoreApplication>

#include <atomic>
#include <chrono>
#include <thread>

using namespace vd;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kReaders = 8;
constexpr int kFiles = 2000;

QString pathOf(uint64_t i)
{
    return QStringLiteral("/d%1/f%2").arg(i % 20).arg(i);
}

QByteArray content(uint64_t size, uint64_t seed)
{
    QByteArray b(qsizetype(size), Qt::Uninitialized);
    bench::Rng r(seed);
    for (qsizetype i = 0; i + 8 <= b.size(); i += 8) {
        const uint64_t v = r.next();
        std::memcpy(b.data() + i, &v, 8);
    }
    return b;
}

// 1–64 KiB: small files, packed and in whole blocks both.
uint64_t sizeOf(bench::Rng &r)
{
    return 1024 + r.next() % (63 * 1024);
}

struct Phase
{
    uint64_t reads = 0, failed = 0, commits = 0;
    double seconds = 0;
    std::vector<double> latencyUs;
    double percentile(double p) const
    {
        if (latencyUs.empty())
            return 0;
        std::vector<double> v = latencyUs;
        const size_t k = std::min(v.size() - 1, size_t(p * double(v.size())));
        std::nth_element(v.begin(), v.begin() + qsizetype(k), v.end());
        return v[k];
    }
};

Phase run(tree::Drive &writer, const std::shared_ptr<storage::ReaderTable> &table, bool readers, bool write, double seconds, uint64_t seed)
{
    Phase out;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    std::vector<Phase> per(kReaders);
    if (readers)
        for (int t = 0; t < kReaders; ++t)
            threads.emplace_back([&, t] {
                bench::Rng r(seed * 131 + uint64_t(t));
                Phase &mine = per[size_t(t)];
                while (!stop.load(std::memory_order_relaxed)) {
                    const QString path = pathOf(r.next() % kFiles);
                    const auto start = Clock::now();
                    bool ok = false;
                    if (auto g = table->pin(QStringLiteral("bench reader"))) {
                        auto d = tree::Drive::reader(std::move(g).value());
                        if (auto n = d->stat(path))
                            ok = d->read(path, 0, n->size).isOk();
                        else
                            ok = n.status().code() == ErrorCode::NotFound; // removed by the writer: a valid answer
                    }
                    mine.latencyUs.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
                    ++mine.reads;
                    if (!ok)
                        ++mine.failed;
                }
            });
    const auto start = Clock::now();
    const auto end = start + std::chrono::duration<double>(seconds);
    bench::Rng r(seed);
    if (write) {
        while (Clock::now() < end) {
            const int changes = 1 + int(r.next() % 4);
            for (int k = 0; k < changes; ++k) {
                const uint64_t i = r.next() % kFiles;
                if (r.next() % 8 == 0)
                    (void)writer.remove(pathOf(i), false, false);
                else
                    bench::check(writer.putFileBytes(pathOf(i), content(sizeOf(r), r.next())).status(), QStringLiteral("put"));
            }
            bench::check(writer.commit(), QStringLiteral("commit"));
            ++out.commits;
        }
    } else {
        std::this_thread::sleep_until(end);
    }
    stop = true;
    for (auto &t : threads)
        t.join();
    out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    for (const Phase &p : per) {
        out.reads += p.reads;
        out.failed += p.failed;
        out.latencyUs.insert(out.latencyUs.end(), p.latencyUs.begin(), p.latencyUs.end());
    }
    return out;
}

void print(const char *name, const Phase &p)
{
    std::printf("%-22s %9.0f reads/s  p50 %7.0f us  p99 %7.0f us  %6.1f commits/s  failed reads %llu\n", name, double(p.reads) / p.seconds,
                p.percentile(0.5), p.percentile(0.99), double(p.commits) / p.seconds, qulonglong(p.failed));
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const double seconds = argc > 1 ? std::atof(argv[1]) : 5.0;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 2;
    const QByteArray base = qgetenv("VD_BENCH_DIR");
    QTemporaryDir tmp(base.isEmpty() ? QStringLiteral("/tmp/vd-bench-mvcc-XXXXXX") : QString::fromLocal8Bit(base) + QStringLiteral("/vd-bench-mvcc-XXXXXX"));
    if (!tmp.isValid())
        bench::die(QStringLiteral("cannot make a temporary folder"));
    auto col = bench::take(storage::Collection::create(*io::Env::posix(), tmp.path(), QStringLiteral("bench")), QStringLiteral("create"));
    auto drive = bench::take(tree::Drive::attach(std::move(col), vd::bench::testDrive()), QStringLiteral("attach"));
    const std::shared_ptr<storage::ReaderTable> table = drive->collection().readers();
    bench::Rng r(1);
    for (int f = 0; f < 20; ++f)
        bench::check(drive->mkdir(QStringLiteral("/d%1").arg(f), false).status(), QStringLiteral("mkdir"));
    for (uint64_t i = 0; i < kFiles; ++i)
        bench::check(drive->putFileBytes(pathOf(i), content(sizeOf(r), i)).status(), QStringLiteral("populate"));
    bench::check(drive->commit(), QStringLiteral("commit"));
    std::printf("%d files of 1-64 KiB, %d reader threads, %.1f s per phase, %d rounds interleaved\n", kFiles, kReaders, seconds, rounds);

    Phase readOnly, writeOnly, both;
    auto add = [](Phase &to, const Phase &p) {
        to.reads += p.reads;
        to.failed += p.failed;
        to.commits += p.commits;
        to.seconds += p.seconds;
        to.latencyUs.insert(to.latencyUs.end(), p.latencyUs.begin(), p.latencyUs.end());
    };
    for (int round = 0; round < rounds; ++round) {
        const Phase a = run(*drive, table, true, false, seconds, uint64_t(round) * 3 + 1);
        const Phase b = run(*drive, table, true, true, seconds, uint64_t(round) * 3 + 2);
        const Phase w = run(*drive, table, false, true, seconds, uint64_t(round) * 3 + 3);
        print("readers, no writer", a);
        print("readers + writer", b);
        print("writer, no readers", w);
        add(readOnly, a);
        add(both, b);
        add(writeOnly, w);
    }
    std::printf("--- all rounds\n");
    print("readers, no writer", readOnly);
    print("readers + writer", both);
    print("writer, no readers", writeOnly);
    std::printf("p99 read latency with the writer / without: %.2f; read throughput ratio %.2f; commit rate with readers / without: %.2f\n",
                both.percentile(0.99) / std::max(1.0, readOnly.percentile(0.99)),
                (double(both.reads) / both.seconds) / std::max(1e-9, double(readOnly.reads) / readOnly.seconds),
                (double(both.commits) / both.seconds) / std::max(1e-9, double(writeOnly.commits) / writeOnly.seconds));
    std::printf("limbo after the run: %llu bytes\n", qulonglong(drive->collection().limboBytes()));
    return both.failed + readOnly.failed == 0 ? 0 : 1;
}
