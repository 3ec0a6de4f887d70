// The node: one collection served to many threads at once through a
// DriveHost — requests queued and committed, each answered after its
// changes are durable, a refused one taking back only its own changes,
// cancel and progress, change notifications, shutdown.
#include "node/node.h"
#include "storage/datadir.h"

#include "testsupport.h"

#include <QBuffer>
#include <QDeadlineTimer>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <thread>

using namespace vd;
using namespace vd::node;
using tree::Drive;
using tree::VNode;

namespace {

template<typename T>
Result<T> await(QFuture<Result<T>> f)
{
    f.waitForFinished();
    if (f.isCanceled() || f.resultCount() == 0)
        return Status::cancelled(QStringLiteral("cancelled"));
    return f.result();
}

// A device that hands out `total` bytes slowly, a chunk per read, and
// tells when it has been read from (so a test can cancel mid-way).
class SlowDevice final : public QIODevice
{
public:
    explicit SlowDevice(qint64 total) : m_total(total) { open(QIODevice::ReadOnly); }
    bool isSequential() const override { return true; }
    std::atomic<qint64> served{0};

protected:
    qint64 readData(char *data, qint64 maxlen) override
    {
        const qint64 n = std::min<qint64>({maxlen, m_total - served.load(), 64 * 1024});
        if (n <= 0)
            return -1;
        std::memset(data, 'x', size_t(n));
        served += n;
        QThread::usleep(200);
        return n;
    }
    qint64 writeData(const char *, qint64) override { return -1; }

private:
    qint64 m_total;
};

} // namespace

class TestNode : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;

    std::unique_ptr<Node> freshNode(const QString &sub)
    {
        NodeOptions o;
        o.dataDir = m_tmp.filePath(sub);
        return std::make_unique<Node>(o);
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_tmp.isValid()); }

    // Eight threads, 50 changes each, at once: every one answered OK, all
    // there afterwards (also after reopening), and every answer came after
    // its commit (the count of commits covers every request).
    void manyWritersAtOnce()
    {
        auto node = freshNode(QStringLiteral("many"));
        auto host = node->create(QStringLiteral("c"));
        VD_VERIFY_OK(host);
        DriveHost *h = *host;
        constexpr int kThreads = 8, kEach = 50;
        std::atomic<int> failures{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([h, t, &failures] {
                for (int i = 0; i < kEach; ++i) {
                    const QString path = QStringLiteral("/t%1/f%2").arg(t).arg(i);
                    const QByteArray bytes = QByteArray::number(t * 1000 + i);
                    auto r = await(h->write<VNode>(
                        [path, bytes](Drive &d, OpContext &) -> Result<VNode> {
                            VD_TRY(d.mkdir(path.section(QLatin1Char('/'), 0, 1), true).status());
                            return d.putFileBytes(path, bytes);
                        },
                        DriveHost::Grouping::Replayable));
                    if (!r)
                        ++failures;
                }
            });
        for (auto &t : threads)
            t.join();
        QCOMPARE(failures.load(), 0);
        const HostCounters c = h->counters();
        QCOMPARE(c.requests, uint64_t(kThreads * kEach));
        QVERIFY(c.commits >= 1 && c.commits <= c.requests);
        node.reset();

        auto dir = storage::findCollection(*io::Env::posix(), m_tmp.filePath(QStringLiteral("many")), QStringLiteral("c"));
        VD_VERIFY_OK(dir);
        auto d = Drive::open(*io::Env::posix(), *dir, storage::Access::ReadOnly);
        VD_VERIFY_OK(d);
        for (int t = 0; t < kThreads; ++t)
            for (int i = 0; i < kEach; i += 7)
                QCOMPARE((*d)->read(QStringLiteral("/t%1/f%2").arg(t).arg(i), 0, 100).value(), QByteArray::number(t * 1000 + i));
        QVERIFY2((*d)->fsck().isClean(), "fsck");
    }

    // A request refused for its own reasons fails alone: what was asked
    // before and after it in the same group is kept. The writer is held
    // busy until all three wait, so they are committed as one group.
    void aRefusedRequestFailsAlone()
    {
        auto node = freshNode(QStringLiteral("alone"));
        DriveHost *h = node->create(QStringLiteral("c")).value();
        std::atomic<bool> release{false};
        auto blocker = h->write<bool>([&release](Drive &, OpContext &) -> Result<bool> {
            QDeadlineTimer deadline(30000);
            while (!release.load() && !deadline.hasExpired())
                QThread::msleep(1);
            return true;
        });
        using G = DriveHost::Grouping;
        auto before = h->write<VNode>([](Drive &d, OpContext &) { return d.putFileBytes(QStringLiteral("/a"), "a"); }, G::Replayable);
        auto refused = h->write<VNode>(
            [](Drive &d, OpContext &) -> Result<VNode> {
                VD_TRY(d.putFileBytes(QStringLiteral("/half"), "written, then taken back").status());
                return d.mkdir(QStringLiteral("/a"), false); // a file is there
            },
            G::Replayable);
        auto after = h->write<VNode>([](Drive &d, OpContext &) { return d.putFileBytes(QStringLiteral("/b"), "b"); }, G::Replayable);
        QTRY_COMPARE_WITH_TIMEOUT(h->counters().queued, uint64_t(3), 10000);
        release = true;
        VD_VERIFY_OK(await(blocker));
        VD_VERIFY_OK(await(before));
        VD_VERIFY_CODE(await(refused), ErrorCode::AlreadyExists);
        VD_VERIFY_OK(await(after));
        auto names = await(h->read<std::vector<VNode>>([](Drive &d, OpContext &) { return d.list(QStringLiteral("/")); }));
        VD_VERIFY_OK(names);
        QStringList got;
        for (const VNode &n : *names)
            got << n.name;
        QCOMPARE(got, (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
        const HostCounters c = h->counters();
        QCOMPARE(c.rolledBack, uint64_t(1));
        QCOMPARE(c.largestGroup, uint64_t(3));
        QVERIFY(c.replayed >= 1);
        // One commit for the blocker, one for the group.
        QCOMPARE(c.commits, uint64_t(2));
    }

    // Cancelling a long put stops it part way; nothing of it stays, and
    // the host goes on serving. Progress was reported on the way.
    void cancelStopsALongRequest()
    {
        auto node = freshNode(QStringLiteral("cancel"));
        DriveHost *h = node->create(QStringLiteral("c")).value();
        auto dev = std::make_shared<SlowDevice>(qint64(1) << 30);
        auto put = h->write<VNode>([dev](Drive &d, OpContext &ctx) { return d.putFile(QStringLiteral("/big"), *dev, ctx.progressFn(uint64_t(1) << 30)); });
        QVERIFY(QTest::qWaitFor([&] { return dev->served.load() > (8 << 20); }, 60000));
        QVERIFY(put.progressValue() > 0);
        put.cancel();
        put.waitForFinished();
        QVERIFY(dev->served.load() < (qint64(1) << 30));
        auto st = await(h->read<VNode>([](Drive &d, OpContext &) { return d.stat(QStringLiteral("/big")); }));
        VD_VERIFY_CODE(st, ErrorCode::NotFound);
        VD_VERIFY_OK(await(h->write<VNode>([](Drive &d, OpContext &) { return d.mkdir(QStringLiteral("/still"), false); })));
    }

    // After a commit, one notification carries what it changed.
    void changesAreNotified()
    {
        auto node = freshNode(QStringLiteral("notify"));
        DriveHost *h = node->create(QStringLiteral("c")).value();
        QSignalSpy spy(node.get(), &Node::changed);
        VD_VERIFY_OK(await(h->write<VNode>([](Drive &d, OpContext &) -> Result<VNode> {
            VD_TRY(d.mkdir(QStringLiteral("/x"), false).status());
            return d.putFileBytes(QStringLiteral("/x/y"), "y");
        })));
        QTRY_COMPARE_WITH_TIMEOUT(spy.count(), 1, 10000);
        const auto records = spy.at(0).at(1).value<std::vector<tree::ChangeRecord>>();
        QStringList names;
        for (const auto &r : records)
            names << r.name();
        QVERIFY2(names.contains(QStringLiteral("x")) && names.contains(QStringLiteral("y")), qPrintable(names.join(QLatin1Char(','))));
        QCOMPARE(spy.at(0).at(0).value<Ruid>(), h->ruid());
    }

    // Closing runs what is queued and commits it; later requests are refused.
    void closeFinishesWhatIsQueued()
    {
        const QString data = m_tmp.filePath(QStringLiteral("close"));
        {
            NodeOptions o;
            o.dataDir = data;
            Node node(o);
            DriveHost *h = node.create(QStringLiteral("c")).value();
            std::vector<QFuture<Result<VNode>>> futures;
            for (int i = 0; i < 100; ++i)
                futures.push_back(h->write<VNode>([i](Drive &d, OpContext &) { return d.putFileBytes(QStringLiteral("/f%1").arg(i), "z"); }));
            node.close();
            for (auto &f : futures)
                VD_VERIFY_OK(await(f));
            VD_VERIFY_CODE(node.host(QStringLiteral("c")), ErrorCode::Cancelled);
        }
        auto dir = storage::findCollection(*io::Env::posix(), data, QStringLiteral("c"));
        auto d = Drive::open(*io::Env::posix(), *dir, storage::Access::ReadOnly);
        VD_VERIFY_OK(d);
        QCOMPARE((*d)->list(QStringLiteral("/")).value().size(), size_t(100));
    }

    // The collection stays the node's while it runs: another writer is told who holds it.
    void theNodeHoldsTheCollection()
    {
        auto node = freshNode(QStringLiteral("held"));
        DriveHost *h = node->create(QStringLiteral("c")).value();
        QVERIFY(h);
        auto dir = storage::findCollection(*io::Env::posix(), node->dataDir(), QStringLiteral("c"));
        VD_VERIFY_CODE(Drive::open(*io::Env::posix(), *dir, storage::Access::ReadWrite, vd::test::testDrive()), ErrorCode::Busy);
        QCOMPARE(node->host(QStringLiteral("c")).value(), h);
    }

    // Clients asking at once for a collection not open yet all get its one
    // host (none finds it locked by the node itself), by name or by RUID in
    // either case.
    void clientsOpenACollectionAtOnce()
    {
        QString ruid;
        {
            auto made = freshNode(QStringLiteral("race"));
            ruid = made->create(QStringLiteral("c")).value()->ruid().toString();
        }
        for (int round = 0; round < 5; ++round) {
            auto node = freshNode(QStringLiteral("race"));
            const QStringList asked = {QStringLiteral("c"), ruid, ruid.toUpper(), QStringLiteral("c")};
            std::vector<Result<DriveHost *>> got(size_t(asked.size()), Result<DriveHost *>(Status::internal(QString())));
            std::vector<std::thread> threads;
            for (qsizetype i = 0; i < asked.size(); ++i)
                threads.emplace_back([&, i] { got[size_t(i)] = node->host(asked[i]); });
            for (auto &t : threads)
                t.join();
            for (const auto &r : got) {
                QVERIFY2(r, qPrintable(r.status().toString()));
                QCOMPARE(*r, *got.front());
            }
            QCOMPARE(node->hosts().size(), size_t(1));
        }
    }
};

QTEST_GUILESS_MAIN(TestNode)
#include "tst_node.moc"
