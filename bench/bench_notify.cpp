// bench_notify: commit-to-notification latency — how long after a change is
// durable a client of the node hears of it — beside the kernel's own
// notification of a plain directory change (inotify, through
// QFileSystemWatcher), in the same run (docs/PERFORMANCE.md §12).
//
//   node     a Node on a real data directory; a listener on the main thread
//            connected to DriveHost::changed with a queued connection (as the
//            explorer's models are). Each round: a write request (mkdir) is
//            submitted; its answer (the future, watched from the main thread)
//            says the change is durable; the notification carries the
//            change's records. Measured: answer -> notification (the figure:
//            negative when the notification came first) and submit ->
//            notification.
//   inotify  mkdir(2) + fsync of the directory (durable, as the commit is) on
//            the same file system; QFileSystemWatcher's directoryChanged on the
//            main thread. Measured: fsync returned -> notification.
//
// Environment: VD_BENCH_DIR (default /var/tmp), VD_BENCH_ROUNDS (default 300).
#include "node/drivehost.h"
#include "node/node.h"

#include "benchutil.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileSystemWatcher>
#include <QFutureWatcher>
#include <QTemporaryDir>

#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <optional>
#include <vector>

using namespace vd;

namespace {

int rounds()
{
    bool ok = false;
    const int n = qEnvironmentVariableIntValue("VD_BENCH_ROUNDS", &ok);
    return ok && n > 0 ? n : 300;
}

struct Figures
{
    std::vector<double> us;
    double quantile(double q)
    {
        std::sort(us.begin(), us.end());
        return us.empty() ? 0 : us[std::min(us.size() - 1, size_t(q * double(us.size())))];
    }
};

// Runs the event loop until done() (bounded: a lost notification ends the run).
void spinUntil(const std::function<bool()> &done)
{
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.hasExpired(10000))
            bench::die(QStringLiteral("no notification within 10 s"));
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 5);
    }
}

void nodeRounds(const QString &base, int n, Figures *afterAnswer, Figures *afterSubmit)
{
    node::NodeOptions o;
    o.dataDir = base + QStringLiteral("/data");
    node::Node nd(o);
    auto host = nd.create(QStringLiteral("bench"));
    bench::check(host.status(), QStringLiteral("create the collection"));
    QElapsedTimer clock;
    clock.start();
    std::optional<qint64> heard;
    QObject listener;
    QObject::connect(*host, &node::DriveHost::changed, &listener, [&](const std::vector<tree::ChangeRecord> &) { heard = clock.nsecsElapsed(); },
                     Qt::QueuedConnection);
    for (int i = 0; i < n + 20; ++i) {
        heard.reset();
        std::optional<qint64> answered;
        const qint64 submitted = clock.nsecsElapsed();
        QFutureWatcher<Result<tree::VNode>> watcher;
        QObject::connect(&watcher, &QFutureWatcherBase::finished, &listener, [&] { answered = clock.nsecsElapsed(); });
        watcher.setFuture((*host)->write<tree::VNode>([i](tree::Drive &d, node::OpContext &) { return d.mkdir(QStringLiteral("/d%1").arg(i), false); },
                                                      node::DriveHost::Grouping::Replayable));
        spinUntil([&] { return heard && answered; });
        bench::check(watcher.result().status(), QStringLiteral("mkdir"));
        if (i < 20)
            continue; // warm-up
        afterAnswer->us.push_back(double(*heard - *answered) / 1000.0);
        afterSubmit->us.push_back(double(*heard - submitted) / 1000.0);
    }
}

void inotifyRounds(const QString &base, int n, Figures *afterSync)
{
    const QString dir = base + QStringLiteral("/plain");
    QDir().mkpath(dir);
    QFileSystemWatcher watcher({dir});
    QElapsedTimer clock;
    clock.start();
    std::optional<qint64> heard;
    QObject::connect(&watcher, &QFileSystemWatcher::directoryChanged, &watcher, [&] { heard = clock.nsecsElapsed(); });
    const QByteArray dirName = QFile::encodeName(dir);
    const int fd = ::open(dirName.constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        bench::die(QStringLiteral("open %1").arg(dir));
    for (int i = 0; i < n + 20; ++i) {
        heard.reset();
        const QByteArray path = dirName + "/d" + QByteArray::number(i);
        if (::mkdir(path.constData(), 0755) != 0 || ::fsync(fd) != 0)
            bench::die(QStringLiteral("mkdir %1").arg(QString::fromUtf8(path)));
        const qint64 synced = clock.nsecsElapsed();
        spinUntil([&] { return heard.has_value(); });
        if (i >= 20)
            afterSync->us.push_back(double(*heard - synced) / 1000.0);
    }
    ::close(fd);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QString base = qEnvironmentVariable("VD_BENCH_DIR", QStringLiteral("/var/tmp"));
    QTemporaryDir work(base + QStringLiteral("/vdnotify-XXXXXX"));
    if (!work.isValid())
        bench::die(QStringLiteral("cannot make a folder in %1").arg(base));
    const int n = rounds();
    Figures answer, submit, plain;
    nodeRounds(work.path(), n, &answer, &submit);
    inotifyRounds(work.path(), n, &plain);
    std::printf("commit-to-notification, %d rounds (microseconds: median / p90 / p99)\n", n);
    std::printf("  node: answer -> notification  %8.1f / %8.1f / %8.1f   (negative: the notification came first)\n", answer.quantile(0.5),
                answer.quantile(0.9), answer.quantile(0.99));
    std::printf("  node: submit -> notification  %8.1f / %8.1f / %8.1f   (includes the commit's fsyncs)\n", submit.quantile(0.5), submit.quantile(0.9),
                submit.quantile(0.99));
    std::printf("  inotify: fsync -> notification %7.1f / %8.1f / %8.1f   (baseline: a plain directory)\n", plain.quantile(0.5), plain.quantile(0.9),
                plain.quantile(0.99));
    return 0;
}
