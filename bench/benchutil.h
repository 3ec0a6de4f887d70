// Helpers shared by the benchmark programs: where to put files, how big,
// fast incompressible bytes, dropping the page cache and summing allocated
// bytes the way `du` does. Header-only; benchmarks only.
#pragma once

#include "core/status.h"
#include "tree/drive.h"

#include <benchmark/benchmark.h>

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QString>
#include <QTemporaryDir>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <sys/stat.h>
#include <unistd.h>

namespace vd::bench {

// A Drive opened for writing needs a node id (DriveOptions::nodeShortId);
// the benchmarks open Drives directly, without a data directory's identity.
inline tree::DriveOptions testDrive(tree::DriveOptions options = {})
{
    options.nodeShortId = 0xbe7c'0000'0000'0001;
    return options;
}

// A benchmark stops at the first setup step that fails, saying which.
[[noreturn]] inline void die(const QString &what)
{
    std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, qPrintable(what));
    std::exit(1);
}

inline void check(const Status &st, const QString &what)
{
    if (!st)
        die(what + QStringLiteral(": ") + st.toString());
}

template<typename T>
T take(Result<T> r, const QString &what)
{
    if (!r)
        die(what + QStringLiteral(": ") + r.status().toString());
    return std::move(r).value();
}

// splitmix64: fast, reproducible, good enough for sizes, classes and bytes.
class Rng
{
public:
    explicit Rng(uint64_t seed) : m_s(seed) {}
    uint64_t next()
    {
        uint64_t z = (m_s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, n); the modulo bias is negligible for the n used here.
    uint64_t below(uint64_t n) { return next() % n; }
    double unit() { return double(next() >> 11) * (1.0 / double(uint64_t(1) << 53)); }

private:
    uint64_t m_s;
};

inline void fillRandom(Rng &rng, char *out, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        const uint64_t v = rng.next();
        std::memcpy(out + i, &v, 8);
    }
    if (i < len) {
        const uint64_t v = rng.next();
        std::memcpy(out + i, &v, len - i);
    }
}

inline uint64_t envBytes(const char *name, uint64_t fallback)
{
    const char *v = std::getenv(name);
    if (!v || !*v)
        return fallback;
    char *end = nullptr;
    const unsigned long long n = std::strtoull(v, &end, 10);
    uint64_t mult = 1;
    if (end && *end) {
        switch (*end) {
        case 'k': case 'K': mult = uint64_t(1) << 10; break;
        case 'm': case 'M': mult = uint64_t(1) << 20; break;
        case 'g': case 'G': mult = uint64_t(1) << 30; break;
        default: break;
        }
    }
    return uint64_t(n) * mult;
}

// The directory the benchmark works in: $VD_BENCH_DIR if set (a fresh
// subfolder is made in it and removed at the end), else a QTemporaryDir
// under /var/tmp (on a real disk; /tmp may be tmpfs).
class BenchDir
{
public:
    BenchDir()
    {
        const QByteArray base = qgetenv("VD_BENCH_DIR");
        const QString parent = base.isEmpty() ? QStringLiteral("/var/tmp") : QString::fromLocal8Bit(base);
        QDir().mkpath(parent);
        m_tmp = std::make_unique<QTemporaryDir>(parent + QStringLiteral("/vdbench-XXXXXX"));
        if (!m_tmp->isValid()) {
            std::fprintf(stderr, "cannot create a directory under %s: %s\n", qPrintable(parent), qPrintable(m_tmp->errorString()));
            std::exit(2);
        }
    }
    QString path() const { return m_tmp->path(); }
    QString file(const QString &name) const { return m_tmp->filePath(name); }

private:
    std::unique_ptr<QTemporaryDir> m_tmp;
};

// Writes back dirty pages and drops the clean ones. Needs root; returns false
// (and the caller reads through the page cache) when not allowed.
inline bool dropPageCache()
{
    ::sync();
    FILE *f = std::fopen("/proc/sys/vm/drop_caches", "w");
    if (!f)
        return false;
    const bool ok = std::fputs("3\n", f) >= 0;
    return std::fclose(f) == 0 && ok;
}

// Writes back dirty pages, then drops the kernel's clean caches: level 1 the
// page cache, 2 dentries and inodes (the file system's name cache), 3 both.
// Needs root; returns false when not allowed.
inline bool dropKernelCaches(int level)
{
    ::sync();
    FILE *f = std::fopen("/proc/sys/vm/drop_caches", "w");
    if (!f)
        return false;
    const bool ok = std::fprintf(f, "%d\n", level) > 0;
    return std::fclose(f) == 0 && ok;
}

// Bytes allocated on disk (st_blocks * 512) of a file, or of everything
// under a directory: what `du -s --block-size=1` reports.
inline uint64_t allocatedBytes(const QString &path)
{
    struct stat st;
    const QByteArray native = QFile::encodeName(path);
    if (::lstat(native.constData(), &st) != 0)
        return 0;
    uint64_t total = uint64_t(st.st_blocks) * 512;
    if (S_ISDIR(st.st_mode)) {
        total = 0; // count file contents only, not directory entries
        DIR *d = ::opendir(native.constData());
        if (!d)
            return 0;
        while (dirent *e = ::readdir(d)) {
            if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0)
                continue;
            total += allocatedBytes(path + QLatin1Char('/') + QFile::decodeName(e->d_name));
        }
        ::closedir(d);
    }
    return total;
}

// The console reporter, also keeping each benchmark's counters so main() can
// print a summary (baseline vs vdrive, ratio, target) after the run. With
// --benchmark_repetitions the median is kept, else the (last) measured run.
class SummaryReporter : public benchmark::ConsoleReporter
{
public:
    explicit SummaryReporter(OutputOptions opts) : benchmark::ConsoleReporter(opts) {}

    // Tabular counters, in colour only on a terminal and without
    // --benchmark_color=false (a reporter passed to RunSpecifiedBenchmarks
    // does not read that flag itself). Call before benchmark::Initialize.
    static OutputOptions optionsFrom(int argc, char **argv)
    {
        bool color = ::isatty(STDOUT_FILENO) != 0;
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "--benchmark_color=false" || a == "--benchmark_color=no" || a == "--benchmark_color=0")
                color = false;
            else if (a == "--benchmark_color=true" || a == "--benchmark_color=yes" || a == "--benchmark_color=1")
                color = true;
        }
        return color ? OO_ColorTabular : OO_Tabular;
    }

    void ReportRuns(const std::vector<Run> &runs) override
    {
        benchmark::ConsoleReporter::ReportRuns(runs);
        for (const Run &r : runs) {
            if (r.error_occurred)
                continue;
            const std::string name = r.run_name.str();
            const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
            if (r.run_type == Run::RT_Aggregate && !median)
                continue;
            if (!median && m_haveMedian.count(name))
                continue;
            std::map<std::string, double> c;
            for (const auto &[k, v] : r.counters)
                c[k] = v.value;
            c["real_time_s"] = r.real_accumulated_time / double(r.iterations ? r.iterations : 1);
            c["cpu_time_s"] = r.cpu_accumulated_time / double(r.iterations ? r.iterations : 1);
            if (r.run_type == Run::RT_Iteration)
                for (const auto &[k, v] : c)
                    m_samples[name][k].push_back(v);
            m_results[name] = std::move(c);
            if (median)
                m_haveMedian[name] = true;
        }
    }
    // A counter of the benchmark with exactly this name; -1 if it did not run.
    double value(const std::string &name, const std::string &counter) const
    {
        const auto b = m_results.find(name);
        if (b == m_results.end())
            return -1;
        const auto it = b->second.find(counter);
        return it == b->second.end() ? -1 : it->second;
    }
    const std::map<std::string, std::map<std::string, double>> &results() const { return m_results; }
    // The smallest and largest value of a counter over the repetitions of a
    // benchmark (each repetition once); {-1, -1} if it did not run.
    std::pair<double, double> spread(const std::string &name, const std::string &counter) const
    {
        const auto b = m_samples.find(name);
        if (b == m_samples.end())
            return {-1, -1};
        const auto it = b->second.find(counter);
        if (it == b->second.end() || it->second.empty())
            return {-1, -1};
        const auto [lo, hi] = std::minmax_element(it->second.begin(), it->second.end());
        return {*lo, *hi};
    }

private:
    std::map<std::string, std::map<std::string, std::vector<double>>> m_samples;
    std::map<std::string, std::map<std::string, double>> m_results;
    std::map<std::string, bool> m_haveMedian;
};

inline double mb(uint64_t bytes) { return double(bytes) / 1e6; }
inline double mib(uint64_t bytes) { return double(bytes) / double(uint64_t(1) << 20); }

} // namespace vd::bench
