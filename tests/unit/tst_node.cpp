// The node: one collection served to many threads at once through a
// DriveHost — requests queued and committed, each answered after its
// changes are durable, a refused one taking back only its own changes,
// cancel and progress, change notifications, shutdown.
#include "node/node.h"
#include "storage/datadir.h"

#include "testsupport.h"

#include "io/memenv.h"

#include <QBuffer>
#include <QDir>
#include <QFileInfo>
#include <QDeadlineTimer>
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

    // Every long tree operation reports progress and stops when its caller
    // says so: cancelled part way, it fails with Cancelled and the tree is
    // exactly as before (its transaction rolled back); let run, it reports a
    // count that covers every node it handled. Through the host, as the
    // explorer, the CLI and peers call it.
    void everyLongOperationReportsAndCancels()
    {
        auto node = freshNode(QStringLiteral("long"));
        DriveHost *h = node->create(QStringLiteral("c")).value();
        // 12 folders of 50 files, a JSON document of 400 values, a snapshot,
        // then changes after it (so the diff has something to walk).
        QByteArray doc = "{";
        for (int i = 0; i < 400; ++i)
            doc += (i ? ",\"k" : "\"k") + QByteArray::number(i) + "\":" + QByteArray::number(i);
        doc += "}";
        VD_VERIFY_OK(await(h->write<bool>([doc](Drive &d, OpContext &) -> Result<bool> {
            for (int f = 0; f < 12; ++f) {
                VD_TRY(d.mkdir(QStringLiteral("/src/d%1").arg(f), true).status());
                for (int i = 0; i < 50; ++i)
                    VD_TRY(d.putFileBytes(QStringLiteral("/src/d%1/f%2").arg(f).arg(i), QByteArray::number(i)).status());
            }
            QBuffer in;
            in.setData(doc);
            in.open(QIODevice::ReadOnly);
            VD_TRY(d.importJson(QStringLiteral("/doc.json"), in).status());
            VD_TRY(d.createSnapshot(QStringLiteral("s")).status());
            for (int i = 0; i < 300; ++i)
                VD_TRY(d.putFileBytes(QStringLiteral("/new%1").arg(i), "n").status());
            for (int f = 0; f < 3; ++f)
                VD_TRY(d.remove(QStringLiteral("/src/d%1").arg(f), true, true)); // into the trash: 153 nodes
            return true;
        })));
        auto fingerprint = [&]() -> QString {
            auto r = await(h->read<QString>([](Drive &d, OpContext &) -> Result<QString> {
                VD_TRY_ASSIGN(const tree::DuInfo all, d.du(QStringLiteral("/")));
                VD_TRY_ASSIGN(const auto top, d.list(QStringLiteral("/")));
                VD_TRY_ASSIGN(const auto trash, d.listTrash());
                QStringList names;
                for (const VNode &n : top)
                    names << n.name;
                return QStringLiteral("%1 files %2 dirs %3 json %4 bytes; %5; trash %6; next change %7")
                    .arg(all.files).arg(all.directories).arg(all.jsonNodes).arg(all.logicalBytes)
                    .arg(names.join(QLatin1Char(','))).arg(trash.size()).arg(d.nextChangeSequence());
            }));
            return r ? *r : r.status().toString();
        };
        const QString before = fingerprint();

        // Each with the nodes (or index entries) it must at least count; fsck:
        // every node's entry and index record and a piece of each file of the
        // snapshot; snapshot sizes: a piece of each file of each tree.
        using Op = std::function<Status(Drive &, const storage::ProgressFn &)>;
        struct Long
        {
            const char *what;
            uint64_t least;
            Op op;
        };
        const std::vector<Long> ops = {
            {"cp -r", 9 * 51 + 1, [](Drive &d, const storage::ProgressFn &p) { return d.copy(QStringLiteral("/src"), QStringLiteral("/copy"), {}, p).status(); }},
            {"rm -r --permanent", 9 * 51 + 1, [](Drive &d, const storage::ProgressFn &p) { return d.remove(QStringLiteral("/src"), true, false, p); }},
            {"trash empty", 3 * 51, [](Drive &d, const storage::ProgressFn &p) { return d.emptyTrash(INT64_MAX, p).status(); }},
            {"restore", 12 * 51 + 1, [](Drive &d, const storage::ProgressFn &p) { return d.restore(QStringLiteral("s"), QStringLiteral("/src"), QStringLiteral("/back"), p).status(); }},
            {"json import --replace", 2 * 401, [doc](Drive &d, const storage::ProgressFn &p) {
                 QBuffer in;
                 in.setData(doc);
                 in.open(QIODevice::ReadOnly);
                 return d.importJson(QStringLiteral("/doc.json"), in, true, p).status();
             }},
            {"diff", 2 * 1000, [](Drive &d, const storage::ProgressFn &p) { return d.diff(QStringLiteral("s"), {}, true, p).status(); }},
            {"du", 9 * 51 + 401 + 300, [](Drive &d, const storage::ProgressFn &p) { return d.du(QStringLiteral("/"), {}, p).status(); }},
            {"fsck", 2 * (12 * 51 + 401 + 300) + 12 * 50, [](Drive &d, const storage::ProgressFn &p) {
                 const storage::FsckReport r = d.fsck(p);
                 if (r.status && !r.isClean())
                     return Status::internal(QStringLiteral("fsck: %1").arg(r.faults.front()));
                 return r.status;
             }},
            {"snapshot sizes", 12 * 50 + 9 * 50 + 300, [](Drive &d, const storage::ProgressFn &p) { return d.listSnapshots(true, p).status(); }},
        };
        for (const auto &[what, least, op] : ops) {
            // Cancelled at the first report past 100 steps.
            auto cancelled = await(h->write<uint64_t>([op = op](Drive &d, OpContext &) -> Result<uint64_t> {
                uint64_t seen = 0;
                const Status st = op(d, [&](uint64_t done) {
                    seen = done;
                    return done < 100;
                });
                if (st.code() != ErrorCode::Cancelled)
                    return Status::internal(QStringLiteral("not cancelled: %1").arg(st.toString()));
                return st; // fails the request: its changes go back
            }));
            QVERIFY2(cancelled.status().code() == ErrorCode::Cancelled, what);
            QCOMPARE(fingerprint(), before);

            // Let run (then rolled back by the test, so each op sees the same tree):
            // the count covers what it handled.
            auto counted = await(h->write<uint64_t>([op = op](Drive &d, OpContext &ctx) -> Result<uint64_t> {
                uint64_t seen = 0;
                bool growing = true;
                const storage::ProgressFn toHost = ctx.progressFn();
                VD_TRY(op(d, [&](uint64_t done) {
                    growing = growing && done > seen;
                    seen = done;
                    return toHost(done);
                }));
                if (!growing)
                    return Status::internal(QStringLiteral("the count went back"));
                return Status::cancelled(QString::number(seen)); // taken back
            }));
            const uint64_t seen = counted.status().message().toULongLong();
            QVERIFY2(seen >= least, qPrintable(QStringLiteral("%1: %2").arg(QLatin1String(what), counted.status().toString())));
            QCOMPARE(fingerprint(), before);
        }
    }

    // After a commit, one notification carries what it changed.
    void changesAreNotified()
    {
        auto node = freshNode(QStringLiteral("notify"));
        DriveHost *h = node->create(QStringLiteral("c")).value();
        // changed() comes from the writer thread: received here through a
        // queued connection, as node.h asks (a QSignalSpy connects directly,
        // so it would append on the writer thread while this one reads).
        std::vector<std::pair<Ruid, std::vector<tree::ChangeRecord>>> received;
        QObject receiver;
        connect(node.get(), &Node::changed, &receiver,
                [&received](const Ruid &c, const std::vector<tree::ChangeRecord> &records) { received.emplace_back(c, records); },
                Qt::QueuedConnection);
        VD_VERIFY_OK(await(h->write<VNode>([](Drive &d, OpContext &) -> Result<VNode> {
            VD_TRY(d.mkdir(QStringLiteral("/x"), false).status());
            return d.putFileBytes(QStringLiteral("/x/y"), "y");
        })));
        QTRY_COMPARE_WITH_TIMEOUT(received.size(), size_t(1), 10000);
        QStringList names;
        for (const auto &r : received[0].second)
            names << r.name();
        QVERIFY2(names.contains(QStringLiteral("x")) && names.contains(QStringLiteral("y")), qPrintable(names.join(QLatin1Char(','))));
        QCOMPARE(received[0].first, h->ruid());
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

    // A collection renamed keeps its RUID, host and contents; refusals
    // change nothing; every change of the list is announced.
    void renameCollection()
    {
        auto node = freshNode(QStringLiteral("rename"));
        int announced = 0;
        QObject receiver;
        connect(node.get(), &Node::collectionsChanged, &receiver, [&announced] { ++announced; }, Qt::QueuedConnection);
        DriveHost *a = node->create(QStringLiteral("a")).value();
        QVERIFY(node->create(QStringLiteral("b")));
        QTRY_COMPARE_WITH_TIMEOUT(announced, 2, 5000);
        VD_VERIFY_OK(await(a->write<VNode>([](Drive &d, OpContext &) { return d.putFileBytes(QStringLiteral("/kept"), "kept"); })));

        VD_VERIFY_CODE(node->renameCollection(QStringLiteral("a"), QStringLiteral("b")), ErrorCode::AlreadyExists);
        VD_VERIFY_CODE(node->renameCollection(QStringLiteral("a"), QStringLiteral("x/y")), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(node->renameCollection(QStringLiteral("nothing"), QStringLiteral("z")), ErrorCode::NotFound);
        QCOMPARE(a->name(), QStringLiteral("a"));

        const QString newName = QStringLiteral("写真 a");
        auto renamed = node->renameCollection(a->ruid().toString(), newName);
        VD_VERIFY_OK(renamed);
        QCOMPARE(renamed->ruid, a->ruid());
        QCOMPARE(renamed->name, newName);
        QCOMPARE(a->name(), newName);
        QCOMPARE(node->host(newName).value(), a);
        VD_VERIFY_CODE(node->host(QStringLiteral("a")), ErrorCode::NotFound);
        QTRY_COMPARE_WITH_TIMEOUT(announced, 3, 5000);
        const QString data = node->dataDir();
        node.reset();
        // Durable: .meta and the head slot both name it so.
        auto dir = storage::findCollection(*io::Env::posix(), data, newName);
        VD_VERIFY_OK(dir);
        auto d = Drive::open(*io::Env::posix(), *dir, storage::Access::ReadOnly);
        VD_VERIFY_OK(d);
        QCOMPARE((*d)->collection().name(), newName);
        QCOMPARE(storage::Collection::peekHead(*io::Env::posix(), *dir).value().name, newName);
        QCOMPARE((*d)->read(QStringLiteral("/kept"), 0, 4).value(), QByteArray("kept"));
    }

    // Deleting: refused while the collection is busy here or held
    // elsewhere (nothing changes), then its files go, its host refuses
    // every request, and the other collections are untouched.
    void deleteCollection()
    {
        auto node = freshNode(QStringLiteral("delete"));
        DriveHost *a = node->create(QStringLiteral("a")).value();
        DriveHost *b = node->create(QStringLiteral("b")).value();
        VD_VERIFY_OK(await(b->write<VNode>([](Drive &d, OpContext &) { return d.putFileBytes(QStringLiteral("/b"), "b"); })));
        const QString dirA = storage::findCollection(*io::Env::posix(), node->dataDir(), QStringLiteral("a")).value();

        // A request running on it: Busy, and it is still served.
        std::atomic<bool> release{false};
        std::atomic<bool> running{false};
        auto held = a->write<VNode>([&](Drive &d, OpContext &) {
            running = true;
            while (!release)
                QThread::msleep(5);
            return d.putFileBytes(QStringLiteral("/late"), "late");
        });
        QTRY_VERIFY_WITH_TIMEOUT(running.load(), 5000);
        auto busy = node->deleteCollection(QStringLiteral("a"));
        VD_VERIFY_CODE(busy, ErrorCode::Busy);
        QVERIFY2(busy.status().message().contains(QStringLiteral("in use")), qPrintable(busy.status().message()));
        release = true;
        VD_VERIFY_OK(await(held));
        QCOMPARE(node->host(QStringLiteral("a")).value(), a);
        QVERIFY(QFileInfo::exists(dirA + QStringLiteral("/idvd")));

        // Idle: deleted, whole.
        int announced = 0;
        QObject receiver;
        connect(node.get(), &Node::collectionsChanged, &receiver, [&announced] { ++announced; }, Qt::QueuedConnection);
        auto gone = node->deleteCollection(QStringLiteral("a"));
        VD_VERIFY_OK(gone);
        QCOMPARE(gone->name, QStringLiteral("a"));
        QCOMPARE(gone->ruid, a->ruid());
        QTRY_COMPARE_WITH_TIMEOUT(announced, 1, 5000);
        QVERIFY(!QFileInfo::exists(dirA));
        QCOMPARE(QDir(storage::collectionsDir(node->dataDir())).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
                 QStringList{b->ruid().toString()});
        // The retired host stays a valid object that refuses everything.
        auto late = await(a->read<VNode>([](Drive &d, OpContext &) { return d.stat(QStringLiteral("/")); }));
        VD_VERIFY_CODE(late, ErrorCode::NotFound);
        QVERIFY(late.status().message().contains(QStringLiteral("was deleted")));
        VD_VERIFY_CODE(await(a->write<VNode>([](Drive &d, OpContext &) { return d.mkdir(QStringLiteral("/x"), false); })), ErrorCode::NotFound);
        VD_VERIFY_CODE(node->host(QStringLiteral("a")), ErrorCode::NotFound);
        VD_VERIFY_CODE(node->deleteCollection(QStringLiteral("a")), ErrorCode::NotFound);
        QCOMPARE(node->collections().value().size(), size_t(1));
        QCOMPARE(node->hosts().size(), size_t(1));
        // A new collection may take the name again.
        VD_VERIFY_OK(node->create(QStringLiteral("a")));

        // Held by another writer (as another process would): Busy, intact.
        const QString dirB = storage::findCollection(*io::Env::posix(), node->dataDir(), QStringLiteral("b")).value();
        const QString data = node->dataDir();
        node.reset();
        auto other = Drive::open(*io::Env::posix(), dirB, storage::Access::ReadWrite, vd::test::testDrive());
        VD_VERIFY_OK(other);
        NodeOptions o;
        o.dataDir = data;
        Node second(o);
        VD_VERIFY_CODE(second.deleteCollection(QStringLiteral("b")), ErrorCode::Busy);
        QVERIFY(QFileInfo::exists(dirB + QStringLiteral("/idvd")));
        other->reset();
        VD_VERIFY_OK(second.deleteCollection(QStringLiteral("b")));
        QVERIFY(!QFileInfo::exists(dirB));
    }

    // A delete interrupted after its rename leaves a tombstone: never
    // listed nor opened, swept by the next delete or create.
    void deletedTombstoneIsNoCollection()
    {
        io::MemEnv env;
        const QString data = QStringLiteral("/data");
        auto made = storage::createCollection(env, data, QStringLiteral("t"));
        VD_VERIFY_OK(made);
        const QString dir = (*made)->path();
        made->reset();
        const QString tombstone = storage::collectionsDir(data) + QStringLiteral("/.deleted-") + QFileInfo(dir).fileName();
        VD_VERIFY_OK(env.rename(dir, tombstone)); // as a crash right after the rename leaves it
        QCOMPARE(storage::listCollections(env, data).value().size(), size_t(0));
        VD_VERIFY_CODE(storage::findCollection(env, data, QStringLiteral("t")), ErrorCode::NotFound);
        VD_VERIFY_OK(storage::createCollection(env, data, QStringLiteral("u")));
        QCOMPARE(env.exists(tombstone).value(), false);
        QCOMPARE(env.exists(tombstone + QStringLiteral("/idvd")).value(), false);
        QCOMPARE(storage::listCollections(env, data).value().size(), size_t(1));
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
