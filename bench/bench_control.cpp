// bench_control: what the control socket costs, beside a bare Unix socket
// doing the same in the same run.
//
//   roundTrip/raw       a 64-byte message to an echo thread and back, over a
//                       Unix socket pair
//   roundTrip/control   ControlClient::call("control.ping") to a ControlServer
//                       in this process (the I/O thread answers): two frames,
//                       CBOR both ways
//   stream/raw          VD_BENCH_BYTES from a thread through a Unix socket pair,
//                       256 KiB writes, read in 256 KiB pieces
//   stream/control      the same bytes as the reply's stream of one call: a
//                       handler thread sends 256 KiB chunks under the client's
//                       credit (2 MiB window), the client takes them in a callback
//
// Environment: VD_BENCH_BYTES (default 1G; suffixes K, M, G).
// The ratio control/raw is the figure (docs/PERFORMANCE.md, "control socket").
#include "benchutil.h"

#include "control/controlclient.h"
#include "control/controlserver.h"

#include <benchmark/benchmark.h>

#include <QCborMap>
#include <QCoreApplication>
#include <QTemporaryDir>

#include <thread>

#include <sys/socket.h>
#include <unistd.h>

using namespace vd;
using namespace vd::bench;
using namespace vd::control;

namespace {

constexpr qsizetype kChunk = 256 << 10;

uint64_t benchBytes()
{
    const QByteArray v = qgetenv("VD_BENCH_BYTES");
    if (v.isEmpty())
        return uint64_t(1) << 30;
    uint64_t mult = 1;
    QByteArray n = v;
    switch (n.back()) {
    case 'K': mult = 1 << 10; n.chop(1); break;
    case 'M': mult = 1 << 20; n.chop(1); break;
    case 'G': mult = uint64_t(1) << 30; n.chop(1); break;
    default: break;
    }
    return n.toULongLong() * mult;
}

bool writeAll(int fd, const char *p, size_t n)
{
    while (n) {
        const ssize_t w = ::write(fd, p, n);
        if (w <= 0)
            return false;
        p += w;
        n -= size_t(w);
    }
    return true;
}

bool readAll(int fd, char *p, size_t n)
{
    while (n) {
        const ssize_t r = ::read(fd, p, n);
        if (r <= 0)
            return false;
        p += r;
        n -= size_t(r);
    }
    return true;
}

// Answers ping itself; "stream" {bytes}: that many bytes in 256 KiB chunks.
class Handler final : public RequestHandler
{
public:
    ~Handler() override
    {
        for (auto &t : m_threads)
            t.join();
    }
    void handle(const Request &request, Responder responder) override
    {
        const uint64_t total = uint64_t(request.args.toMap().value(QLatin1String("bytes")).toInteger());
        m_threads.emplace_back([responder, total]() mutable {
            const QByteArray chunk(kChunk, 'c');
            for (uint64_t sent = 0; sent < total; sent += uint64_t(kChunk)) {
                const Status s = responder.sendData(total - sent >= uint64_t(kChunk) ? chunk : chunk.left(qsizetype(total - sent)));
                if (!s) {
                    responder.fail(s);
                    return;
                }
            }
            responder.finish();
        });
    }

private:
    std::vector<std::thread> m_threads;
};

struct Served
{
    QTemporaryDir dir;
    Handler handler;
    ControlServer server{handler};
    ControlClient client;
    Served()
    {
        const QString path = dir.filePath(QStringLiteral("node.sock"));
        check(server.listen(path), QStringLiteral("listen"));
        check(client.connectToSocket(path, QStringLiteral("bench"), 10000), QStringLiteral("connect"));
    }
};

void roundTripRaw(benchmark::State &state)
{
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        die(QStringLiteral("socketpair"));
    std::thread echo([fd = sv[1]] {
        char buf[64];
        while (readAll(fd, buf, sizeof buf) && writeAll(fd, buf, sizeof buf)) {
        }
    });
    char msg[64] = {};
    for (auto _ : state) {
        if (!writeAll(sv[0], msg, sizeof msg) || !readAll(sv[0], msg, sizeof msg))
            die(QStringLiteral("echo"));
    }
    ::shutdown(sv[0], SHUT_RDWR);
    ::close(sv[0]);
    echo.join();
    ::close(sv[1]);
}

void roundTripControl(benchmark::State &state)
{
    Served s;
    QCborMap args;
    args.insert(QLatin1String("path"), QStringLiteral("/docs/report.pdf"));
    for (auto _ : state) {
        auto r = s.client.call(QStringLiteral("control.ping"), args);
        if (!r)
            die(r.status().toString());
    }
}

void streamRaw(benchmark::State &state)
{
    const uint64_t total = benchBytes();
    for (auto _ : state) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            die(QStringLiteral("socketpair"));
        std::thread writer([fd = sv[1], total] {
            const QByteArray chunk(kChunk, 'c');
            for (uint64_t sent = 0; sent < total; sent += uint64_t(kChunk))
                writeAll(fd, chunk.constData(), size_t(std::min<uint64_t>(uint64_t(kChunk), total - sent)));
            ::close(fd);
        });
        QByteArray buf(kChunk, '\0');
        uint64_t got = 0;
        for (;;) {
            const ssize_t n = ::read(sv[0], buf.data(), size_t(buf.size()));
            if (n <= 0)
                break;
            got += uint64_t(n);
        }
        writer.join();
        ::close(sv[0]);
        if (got != total)
            die(QStringLiteral("raw stream: %1 of %2 bytes").arg(got).arg(total));
    }
    state.SetBytesProcessed(int64_t(state.iterations() * total));
}

void streamControl(benchmark::State &state)
{
    Served s;
    const uint64_t total = benchBytes();
    QCborMap args;
    args.insert(QLatin1String("bytes"), qint64(total));
    for (auto _ : state) {
        uint64_t got = 0;
        CallOptions o;
        o.onData = [&](const QByteArray &d) {
            got += uint64_t(d.size());
            return Status();
        };
        auto r = s.client.call(QStringLiteral("stream"), args, o);
        if (!r || got != total)
            die(QStringLiteral("control stream: %1 of %2 bytes: %3").arg(got).arg(total).arg(r.status().toString()));
    }
    state.SetBytesProcessed(int64_t(state.iterations() * total));
}

} // namespace

BENCHMARK(roundTripRaw)->Name("roundTrip/raw")->Unit(benchmark::kMicrosecond);
BENCHMARK(roundTripControl)->Name("roundTrip/control")->Unit(benchmark::kMicrosecond);
BENCHMARK(streamRaw)->Name("stream/raw")->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK(streamControl)->Name("stream/control")->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
