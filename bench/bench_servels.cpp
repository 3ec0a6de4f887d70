// bench_servels: `vdrive ls` through a running node, without the cost of
// starting a process (bench/serve_ls.sh starts the node and runs this).
//
//   ping        ControlClient::call("control.ping"): the transport alone
//   ls          call("cli.run") of `vdrive -c bench ls /` on one connection:
//               the node parses, runs ls on the collection's host, streams
//               the listing back
//   connectLs   the same on a fresh connection each time (connect, hello,
//               cli.run), as a vdrive process does
//
// Environment: VD_BENCH_SOCKET (the node's socket), VD_BENCH_DATA (its data
// directory). Both are required.
#include "control/controlclient.h"

#include <benchmark/benchmark.h>

#include <QCborArray>
#include <QCborMap>
#include <QCoreApplication>
#include <QDir>
#include <QFile>

#include <cstdio>
#include <cstdlib>

using namespace vd;
using namespace vd::control;

namespace {

QString env(const char *name)
{
    const QString v = qEnvironmentVariable(name);
    if (v.isEmpty()) {
        std::fprintf(stderr, "bench_servels: %s is not set (run bench/serve_ls.sh)\n", name);
        std::exit(2);
    }
    return v;
}

QCborMap lsArgs()
{
    QCborArray argv;
    for (const QString &a : {QStringLiteral("vdrive"), QStringLiteral("--data-dir"), env("VD_BENCH_DATA"), QStringLiteral("-c"),
                             QStringLiteral("bench"), QStringLiteral("ls"), QStringLiteral("/")})
        argv.append(a.toUtf8());
    QCborMap args;
    args.insert(QStringLiteral("argv"), argv);
    args.insert(QStringLiteral("cwd"), QFile::encodeName(QDir::currentPath()));
    return args;
}

void callLs(ControlClient &client, const QCborMap &args, benchmark::State &state)
{
    qint64 bytes = 0;
    CallOptions o;
    o.onItems = [&](const QCborArray &items) {
        for (const QCborValue &i : items)
            bytes += i.toArray().at(1).toByteArray().size();
        return Status();
    };
    auto r = client.call(QStringLiteral("cli.run"), args, o);
    if (!r || r->toMap().value(QStringLiteral("exit")).toInteger() != 0 || bytes == 0)
        state.SkipWithError("ls through the node failed");
}

void BM_ping(benchmark::State &state)
{
    ControlClient client;
    if (!client.connectToSocket(env("VD_BENCH_SOCKET"), QStringLiteral("bench"), 5000))
        return state.SkipWithError("cannot connect");
    for (auto _ : state)
        if (!client.call(QStringLiteral("control.ping"), QCborMap{{QStringLiteral("x"), 1}}))
            return state.SkipWithError("ping failed");
}
BENCHMARK(BM_ping)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_ls(benchmark::State &state)
{
    ControlClient client;
    if (!client.connectToSocket(env("VD_BENCH_SOCKET"), QStringLiteral("bench"), 5000))
        return state.SkipWithError("cannot connect");
    const QCborMap args = lsArgs();
    for (auto _ : state)
        callLs(client, args, state);
}
BENCHMARK(BM_ls)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_connectLs(benchmark::State &state)
{
    const QCborMap args = lsArgs();
    for (auto _ : state) {
        ControlClient client;
        if (!client.connectToSocket(env("VD_BENCH_SOCKET"), QStringLiteral("bench"), 5000))
            return state.SkipWithError("cannot connect");
        callLs(client, args, state);
    }
}
BENCHMARK(BM_connectLs)->Unit(benchmark::kMicrosecond)->UseRealTime();

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
