// Readers never wait for the writer (MVCC): readers on many threads pin a
// committed generation and read it while the writer commits, removes, takes
// and deletes snapshots and collects garbage; what they pinned is never
// freed or reused under them (limbo), a pin held too long is reported, and
// a crash while pins hold reopens with limbo free. Through a DriveHost, a
// read submitted during a long write answers before the write does.
#include "io/faultenv.h"
#include "io/memenv.h"
#include "node/node.h"
#include "storage/readertable.h"
#include "tree/drive.h"

#include "testsupport.h"

#include <QDeadlineTimer>
#include <QMutex>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <map>
#include <thread>

using namespace vd;
using tree::Drive;
using tree::VNode;

namespace {

const QString kParent = QStringLiteral("/data/collections");

// A file that carries its own checksum: SHA-256 of the rest, then the rest.
QByteArray selfChecked(qsizetype size, quint32 seed)
{
    const QByteArray body = test::randomBytes(size, seed, seed % 3 == 0);
    return sha256(body).view().toByteArray() + body;
}

bool checksOut(const QByteArray &bytes)
{
    return bytes.size() >= 32 && sha256(QByteArrayView(bytes).sliced(32)).view().toByteArray() == bytes.left(32);
}

// What the writer's tree holds, committed with it as /manifest: one line per
// file, "path size sha256-hex". A reader that finds every file of its
// generation's manifest as listed read one consistent generation.
using Manifest = std::map<QString, std::pair<qsizetype, QByteArray>>;

QByteArray encodeManifest(const Manifest &m)
{
    QByteArray out;
    for (const auto &[path, v] : m)
        out += path.toUtf8() + ' ' + QByteArray::number(v.first) + ' ' + v.second + '\n';
    return out;
}

Manifest decodeManifest(const QByteArray &raw)
{
    Manifest m;
    for (const QByteArray &line : raw.split('\n')) {
        const QList<QByteArray> f = line.split(' ');
        if (f.size() == 3)
            m[QString::fromUtf8(f[0])] = {f[1].toLongLong(), f[2]};
    }
    return m;
}

QByteArray hexHash(const QByteArray &bytes)
{
    return sha256(bytes).view().toByteArray().toHex();
}

// Checks one pinned generation: the manifest's files (all of them, or
// `sample` picked at random) are there with the listed size and bytes, the
// folder lists exactly them, and a snapshot's files read back checked.
Status checkGeneration(Drive &d, QRandomGenerator &rng, int sample, uint64_t *reads)
{
    VD_TRY_ASSIGN(const QByteArray raw, d.read(QStringLiteral("/manifest"), 0, 1 << 20));
    const Manifest m = decodeManifest(raw);
    VD_TRY_ASSIGN(const auto listed, d.list(QStringLiteral("/d")));
    if (listed.size() != m.size())
        return Status::internal(QStringLiteral("generation %1: /d lists %2 files, the manifest %3").arg(d.generation()).arg(listed.size()).arg(m.size()));
    std::vector<const Manifest::value_type *> entries;
    for (const auto &e : m)
        entries.push_back(&e);
    const int n = sample < 0 ? int(entries.size()) : std::min<int>(sample, int(entries.size()));
    for (int i = 0; i < n; ++i) {
        const auto &[path, v] = sample < 0 ? *entries[size_t(i)] : *entries[rng.bounded(quint32(entries.size()))];
        VD_TRY_ASSIGN(const VNode node, d.stat(path));
        if (qsizetype(node.size) != v.first)
            return Status::internal(QStringLiteral("generation %1: %2 is %3 bytes, the manifest says %4").arg(d.generation()).arg(path).arg(node.size).arg(v.first));
        VD_TRY_ASSIGN(const QByteArray bytes, d.read(path, 0, uint64_t(v.first)));
        ++*reads;
        if (!checksOut(bytes) || hexHash(bytes) != v.second)
            return Status::internal(QStringLiteral("generation %1: %2 does not read back as written").arg(d.generation()).arg(path));
    }
    // Snapshot reads (`at`) of the same generation.
    VD_TRY_ASSIGN(const auto snaps, d.listSnapshots());
    if (!snaps.empty()) {
        const QString at = snaps[rng.bounded(quint32(snaps.size()))].name;
        VD_TRY_ASSIGN(const auto files, d.list(QStringLiteral("/d"), at));
        if (!files.empty()) {
            const VNode &f = files[rng.bounded(quint32(files.size()))];
            VD_TRY_ASSIGN(const QByteArray bytes, d.read(QStringLiteral("/d/") + f.name, 0, f.size, at));
            ++*reads;
            if (!checksOut(bytes))
                return Status::internal(QStringLiteral("generation %1: /d/%2 of snapshot %3 does not check out").arg(d.generation()).arg(f.name, at));
        }
    }
    return {};
}

Result<std::unique_ptr<Drive>> pinnedDrive(storage::ReaderTable &readers, const QString &label)
{
    VD_TRY_ASSIGN(auto g, readers.pin(label));
    return Drive::reader(std::move(g));
}

Result<std::unique_ptr<Drive>> pinnedDrive(Drive &writer, const QString &label)
{
    return pinnedDrive(*writer.collection().readers(), label);
}

Result<std::unique_ptr<Drive>> freshDrive(io::Env &env)
{
    VD_TRY_ASSIGN(auto c, storage::Collection::create(env, kParent, QStringLiteral("mvcc")));
    return Drive::attach(std::move(c), vd::test::testDrive());
}

// Counts warnings of the pins' logging category.
std::atomic<int> g_pinWarnings{0};
QtMessageHandler g_previousHandler = nullptr;
void countPinWarnings(QtMsgType type, const QMessageLogContext &ctx, const QString &msg)
{
    if (type == QtWarningMsg && ctx.category && qstrcmp(ctx.category, "vd.storage.pins") == 0) {
        ++g_pinWarnings;
        return;
    }
    if (g_previousHandler)
        g_previousHandler(type, ctx, msg);
}

template<typename T>
Result<T> await(QFuture<Result<T>> f)
{
    f.waitForFinished();
    if (f.isCanceled() || f.resultCount() == 0)
        return Status::cancelled(QStringLiteral("cancelled"));
    return f.result();
}

} // namespace

class TestMvcc : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_tmp.isValid()); }

    // Eight reader threads pin, list, stat and read (each file checks its
    // own bytes; each generation's manifest says what must be there) while
    // the writer commits puts, overwrites, removals, snapshots taken and
    // deleted and gc, so blocks are freed and reused all along: not one
    // read fails. A reader pinned before all of it still reads its
    // generation whole at the end; once it lets go, limbo is empty.
    void readersDuringCommitsAndGc()
    {
        auto created = storage::Collection::create(*io::Env::posix(), m_tmp.filePath(QStringLiteral("stress")), QStringLiteral("mvcc"));
        VD_VERIFY_OK(created);
        auto opened = Drive::attach(std::move(created).value(), vd::test::testDrive());
        VD_VERIFY_OK(opened);
        Drive &w = **opened;
        // The readers reach the writer's collection through its table only.
        const std::shared_ptr<storage::ReaderTable> table = w.collection().readers();
        QRandomGenerator rng(20261205);
        Manifest manifest;
        quint32 seed = 1;
        auto putOne = [&](const QString &path) -> Status {
            // Mostly small files (packed into SmallBlocks), some of whole blocks.
            const qsizetype size = rng.bounded(10) < 7 ? qsizetype(100 + rng.bounded(20000)) : qsizetype(200000 + rng.bounded(1800000));
            const QByteArray bytes = selfChecked(size, seed++);
            VD_TRY(w.putFileBytes(path, bytes).status());
            manifest[path] = {bytes.size(), hexHash(bytes)};
            return {};
        };
        auto commitWithManifest = [&]() -> Status {
            VD_TRY(w.putFileBytes(QStringLiteral("/manifest"), encodeManifest(manifest)).status());
            return w.commit();
        };
        VD_VERIFY_OK(w.mkdir(QStringLiteral("/d"), false));
        for (int i = 0; i < 24; ++i)
            VD_VERIFY_OK(putOne(QStringLiteral("/d/f%1").arg(i)));
        VD_VERIFY_OK(commitWithManifest());

        // Held across everything below.
        auto held = pinnedDrive(w, QStringLiteral("the held reader"));
        VD_VERIFY_OK(held);
        const Manifest heldManifest = manifest;

        std::atomic<bool> done{false};
        std::atomic<uint64_t> reads{0}, generations{0}, failures{0};
        QMutex errorsLock;
        QStringList errors;
        std::vector<std::thread> readers;
        for (int t = 0; t < 8; ++t)
            readers.emplace_back([&, t] {
                QRandomGenerator r(quint32(t) * 7919u + 1u);
                uint64_t myReads = 0;
                uint64_t last = 0;
                while (!done.load()) {
                    auto d = pinnedDrive(*table, QStringLiteral("reader %1").arg(t));
                    Status st = d.status();
                    if (st) {
                        // Generations only go forward.
                        if ((*d)->generation() < last)
                            st = Status::internal(QStringLiteral("generation %1 after %2").arg((*d)->generation()).arg(last));
                        last = (*d)->generation();
                        if (st)
                            st = checkGeneration(**d, r, 4, &myReads);
                    }
                    ++generations;
                    if (!st) {
                        ++failures;
                        QMutexLocker lock(&errorsLock);
                        if (errors.size() < 5)
                            errors << st.toString();
                    }
                }
                reads += myReads;
            });

        // The writer: 120 commits of changes, a snapshot every 8, the one
        // before deleted and gc run, so freed blocks come back into use.
        int snapshot = 0;
        uint64_t limboSeen = 0;
        for (int round = 0; round < 120; ++round) {
            const int changes = 1 + int(rng.bounded(4));
            for (int k = 0; k < changes; ++k) {
                const QString path = QStringLiteral("/d/f%1").arg(rng.bounded(40));
                if (rng.bounded(4) == 0 && manifest.count(path)) {
                    VD_VERIFY_OK(w.remove(path, false, false));
                    manifest.erase(path);
                } else {
                    VD_VERIFY_OK(putOne(path));
                }
            }
            VD_VERIFY_OK(commitWithManifest());
            if (round % 8 == 7) {
                VD_VERIFY_OK(w.createSnapshot(QStringLiteral("s%1").arg(++snapshot)));
                if (snapshot > 1)
                    VD_VERIFY_OK(w.deleteSnapshot(QStringLiteral("s%1").arg(snapshot - 1)));
                VD_VERIFY_OK(w.commit());
                VD_VERIFY_OK(w.gc());
            }
            limboSeen = std::max(limboSeen, w.collection().limboBytes());
        }
        done = true;
        for (auto &t : readers)
            t.join();
        QVERIFY2(failures.load() == 0, qPrintable(errors.join(QStringLiteral("\n"))));
        QVERIFY(reads.load() > 0);
        qInfo("%llu generations read, %llu files, while the writer committed", qulonglong(generations.load()), qulonglong(reads.load()));
        QVERIFY2(limboSeen > 0, "the held reader kept freed blocks in limbo");

        // The held reader reads its generation whole, many commits and gcs later.
        QVERIFY((*held)->generation() < w.collection().generation() - 100);
        uint64_t heldReads = 0;
        QRandomGenerator r(1);
        VD_VERIFY_OK(checkGeneration(**held, r, -1, &heldReads));
        QCOMPARE(heldReads, uint64_t(heldManifest.size()));

        // Let go: the next transaction gives limbo back, and fsck agrees.
        QVERIFY(w.collection().limboBytes() > 0);
        const uint64_t allocatedBefore = w.collection().info().value().allocatedBytes;
        held->reset();
        QCOMPARE(w.collection().readers()->stats().pins, uint64_t(0));
        VD_VERIFY_OK(w.collection().releaseLimbo());
        QCOMPARE(w.collection().limboBytes(), uint64_t(0));
        QVERIFY(w.collection().info().value().allocatedBytes < allocatedBefore);
        QVERIFY2(w.fsck().isClean(), "fsck");
    }

    // One pinned generation, a removal, gc: the removed file's blocks wait
    // in limbo (the reader still reads them), new data goes elsewhere; when
    // the pin goes, the blocks come back and are used again.
    void limboHoldsUntilUnpinned()
    {
        io::MemEnv mem;
        auto opened = freshDrive(mem);
        VD_VERIFY_OK(opened);
        Drive &w = **opened;
        const QByteArray big = selfChecked(3 << 20, 7);
        VD_VERIFY_OK(w.putFileBytes(QStringLiteral("/big"), big));
        VD_VERIFY_OK(w.commit());
        auto reader = pinnedDrive(w, QStringLiteral("limbo test"));
        VD_VERIFY_OK(reader);
        const uint64_t pinned = (*reader)->generation();

        VD_VERIFY_OK(w.remove(QStringLiteral("/big"), false, false));
        VD_VERIFY_OK(w.commit());
        // The writer's next data cannot land on the held blocks.
        VD_VERIFY_OK(w.putFileBytes(QStringLiteral("/other"), selfChecked(3 << 20, 8)));
        VD_VERIFY_OK(w.commit());
        VD_VERIFY_OK(w.gc());
        VD_VERIFY_CODE(w.stat(QStringLiteral("/big")), ErrorCode::NotFound);
        QCOMPARE((*reader)->generation(), pinned);
        const auto stillThere = (*reader)->read(QStringLiteral("/big"), 0, uint64_t(big.size()));
        VD_VERIFY_OK(stillThere);
        QCOMPARE(*stillThere, big);
        QVERIFY(w.collection().limboBytes() >= uint64_t(3) << 20);
        QVERIFY2(w.fsck().isClean(), "fsck with blocks in limbo");

        // Unpinned: back at the next transaction, used again by the next put.
        const auto before = w.collection().info().value();
        reader->reset();
        VD_VERIFY_OK(w.collection().releaseLimbo());
        QCOMPARE(w.collection().limboBytes(), uint64_t(0));
        const auto released = w.collection().info().value();
        QVERIFY(released.allocatedBytes + (uint64_t(3) << 20) <= before.allocatedBytes);
        VD_VERIFY_OK(w.putFileBytes(QStringLiteral("/again"), selfChecked(3 << 20, 9)));
        VD_VERIFY_OK(w.commit());
        const auto reused = w.collection().info().value();
        QCOMPARE(reused.units, before.units); // no growth: the freed space took it
        QVERIFY2(w.fsck().isClean(), "fsck");
    }

    // A reader's Drive refuses every change, cleanly.
    void aReadersDriveIsReadOnly()
    {
        io::MemEnv mem;
        auto opened = freshDrive(mem);
        VD_VERIFY_OK(opened);
        Drive &w = **opened;
        VD_VERIFY_OK(w.putFileBytes(QStringLiteral("/a"), "a"));
        VD_VERIFY_OK(w.commit());
        auto r = pinnedDrive(w, QStringLiteral("read-only test"));
        VD_VERIFY_OK(r);
        Drive &d = **r;
        QVERIFY(d.isReader());
        VD_VERIFY_CODE(d.putFileBytes(QStringLiteral("/b"), "b"), ErrorCode::PermissionDenied);
        VD_VERIFY_CODE(d.mkdir(QStringLiteral("/m"), false), ErrorCode::PermissionDenied);
        VD_VERIFY_CODE(d.move(QStringLiteral("/a"), QStringLiteral("/c")), ErrorCode::PermissionDenied);
        VD_VERIFY_CODE(d.remove(QStringLiteral("/a"), false, true), ErrorCode::PermissionDenied);
        VD_VERIFY_CODE(d.createSnapshot(QStringLiteral("s")), ErrorCode::PermissionDenied);
        VD_VERIFY_CODE(d.gc(), ErrorCode::PermissionDenied);
        VD_VERIFY_CODE(d.setJson(QStringLiteral("/j"), "1"), ErrorCode::PermissionDenied);
        QVERIFY(!d.fsck().isClean());
        QVERIFY(!d.hasUncommittedChanges());
        QCOMPARE(d.read(QStringLiteral("/a"), 0, 10).value(), QByteArray("a"));
        // It sees the last commit, not the writer's pending work.
        VD_VERIFY_OK(w.putFileBytes(QStringLiteral("/pending"), "p"));
        auto later = pinnedDrive(w, QStringLiteral("read-only test 2"));
        VD_VERIFY_OK(later);
        VD_VERIFY_CODE((*later)->stat(QStringLiteral("/pending")), ErrorCode::NotFound);
        VD_VERIFY_OK(w.rollback());
    }

    // A pin held past the limit is reported once (a warning in
    // vd.storage.pins) and shows in the counters; released, it is gone.
    void aLongPinIsReported()
    {
        io::MemEnv mem;
        auto opened = freshDrive(mem);
        VD_VERIFY_OK(opened);
        Drive &w = **opened;
        auto table = w.collection().readers();
        auto r = pinnedDrive(w, QStringLiteral("the forgotten reader"));
        VD_VERIFY_OK(r);
        g_pinWarnings = 0;
        g_previousHandler = qInstallMessageHandler(countPinWarnings);
        // Not yet past the (default) limit: nothing reported.
        VD_VERIFY_OK(w.putFileBytes(QStringLiteral("/a"), "a"));
        VD_VERIFY_OK(w.commit());
        QCOMPARE(g_pinWarnings.load(), 0);
        QCOMPARE(table->stats().overdue, uint64_t(0));
        // Past it: the next commit reports it, once.
        table->setReportAfter(std::chrono::milliseconds(0));
        VD_VERIFY_OK(w.putFileBytes(QStringLiteral("/b"), "b"));
        VD_VERIFY_OK(w.commit());
        VD_VERIFY_OK(w.putFileBytes(QStringLiteral("/c"), "c"));
        VD_VERIFY_OK(w.commit());
        qInstallMessageHandler(g_previousHandler);
        QCOMPARE(g_pinWarnings.load(), 1);
        const storage::PinStats s = table->stats();
        QCOMPARE(s.pins, uint64_t(1));
        QCOMPARE(s.overdue, uint64_t(1));
        QCOMPARE(s.reported, uint64_t(1));
        QCOMPARE(s.oldestLabel, QStringLiteral("the forgotten reader"));
        QCOMPARE(s.oldestGeneration, (*r)->generation());
        r->reset();
        QCOMPARE(table->stats().pins, uint64_t(0));
        QCOMPARE(table->oldestPin(), std::optional<uint64_t>());
    }

    // A power cut at every step of a commit that frees blocks while a
    // reader pins an older generation: the collection reopens at the old
    // or the new generation, and its .bitmap has limbo free (a crash
    // forgets pins): fsck finds no leaked block.
    void crashWhilePinned()
    {
        auto setup = [](io::Env &env, std::unique_ptr<Drive> *out, std::unique_ptr<Drive> *reader) -> Status {
            VD_TRY_ASSIGN(*out, freshDrive(env));
            Drive &w = **out;
            VD_TRY(w.putFileBytes(QStringLiteral("/gone"), selfChecked(2 << 20, 1)).status());
            VD_TRY(w.putFileBytes(QStringLiteral("/first"), selfChecked(1500000, 2)).status());
            VD_TRY(w.commit());
            VD_TRY_ASSIGN(*reader, pinnedDrive(w, QStringLiteral("crash test")));
            // Held from an earlier commit, so limbo is not empty going in.
            VD_TRY(w.remove(QStringLiteral("/first"), false, false));
            return w.commit();
        };
        auto change = [](Drive &w) -> Status {
            VD_TRY(w.remove(QStringLiteral("/gone"), false, false));
            VD_TRY(w.putFileBytes(QStringLiteral("/new"), selfChecked(1 << 20, 3)).status());
            return w.commit();
        };
        // Count the change's steps.
        uint64_t steps = 0;
        {
            io::MemEnv mem;
            io::FaultEnv counting(&mem);
            std::unique_ptr<Drive> w, r;
            VD_VERIFY_OK(setup(counting, &w, &r));
            QVERIFY(w->collection().limboBytes() > 0);
            const uint64_t from = counting.steps();
            VD_VERIFY_OK(change(*w));
            steps = counting.steps() - from;
            QVERIFY(w->collection().limboBytes() >= uint64_t(2) << 20);
        }
        QVERIFY(steps > 3);
        int sawOld = 0, sawNew = 0;
        for (uint64_t step = 1; step <= steps + 1; ++step) {
            io::MemEnv mem;
            io::FaultEnv faulty(&mem);
            std::unique_ptr<Drive> w, r;
            VD_VERIFY_OK(setup(faulty, &w, &r));
            const QString dir = w->collection().path();
            if (step <= steps)
                faulty.arm(step, io::FaultEnv::Fault::PowerCut);
            (void)change(*w);
            // The pins die with the process: nothing of them is on disk.
            w.reset();
            r.reset();
            mem.simulateCrash(io::MemEnv::CrashMode::DropUnsynced, step);
            auto reopened = Drive::open(mem, dir, storage::Access::ReadWrite, vd::test::testDrive());
            QVERIFY2(reopened.isOk(), qPrintable(QStringLiteral("step %1: %2").arg(step).arg(reopened.status().toString())));
            const storage::FsckReport report = (*reopened)->fsck();
            QVERIFY2(report.isClean(), qPrintable(QStringLiteral("step %1: %2").arg(step).arg(QStringList(report.faults.begin(), report.faults.end()).join(QStringLiteral("; ")))));
            VD_VERIFY_CODE((*reopened)->stat(QStringLiteral("/first")), ErrorCode::NotFound);
            if ((*reopened)->stat(QStringLiteral("/new")).isOk()) {
                ++sawNew;
                VD_VERIFY_CODE((*reopened)->stat(QStringLiteral("/gone")), ErrorCode::NotFound);
            } else {
                ++sawOld;
                QVERIFY(checksOut((*reopened)->read(QStringLiteral("/gone"), 0, 3 << 20).value()));
            }
        }
        QVERIFY(sawOld > 0 && sawNew > 0);
    }

    // A commit that fails (an I/O error at each of its steps) while a
    // reader pins an older generation rolls back and leaves the collection
    // working: limbo stays held, the reader reads on, the change then
    // commits, and fsck agrees.
    void aFailedCommitWhilePinned()
    {
        uint64_t steps = 0;
        {
            io::MemEnv mem;
            io::FaultEnv counting(&mem);
            auto w = freshDrive(counting);
            VD_VERIFY_OK(w);
            VD_VERIFY_OK((*w)->putFileBytes(QStringLiteral("/gone"), selfChecked(2 << 20, 1)));
            VD_VERIFY_OK((*w)->commit());
            auto r = pinnedDrive(**w, QStringLiteral("failing commit"));
            VD_VERIFY_OK(r);
            const uint64_t from = counting.steps();
            VD_VERIFY_OK((*w)->remove(QStringLiteral("/gone"), false, false));
            VD_VERIFY_OK((*w)->commit());
            steps = counting.steps() - from;
        }
        for (uint64_t step = 1; step <= steps; ++step) {
            io::MemEnv mem;
            io::FaultEnv faulty(&mem);
            auto opened = freshDrive(faulty);
            VD_VERIFY_OK(opened);
            Drive &w = **opened;
            const QByteArray gone = selfChecked(2 << 20, 1);
            VD_VERIFY_OK(w.putFileBytes(QStringLiteral("/gone"), gone));
            VD_VERIFY_OK(w.commit());
            auto r = pinnedDrive(w, QStringLiteral("failing commit"));
            VD_VERIFY_OK(r);
            faulty.arm(step, io::FaultEnv::Fault::IoError);
            Status st = w.remove(QStringLiteral("/gone"), false, false);
            if (st)
                st = w.commit();
            faulty.disarm();
            const QString where = QStringLiteral("step %1 of %2 (%3)").arg(step).arg(steps).arg(st.toString());
            QVERIFY2(w.collection().checkUsable().isOk(), qPrintable(where + QStringLiteral(": ") + w.collection().checkUsable().toString()));
            if (w.stat(QStringLiteral("/gone")).isOk()) {
                VD_VERIFY_OK(w.remove(QStringLiteral("/gone"), false, false));
                VD_VERIFY_OK(w.commit());
            }
            const auto still = (*r)->read(QStringLiteral("/gone"), 0, uint64_t(gone.size()));
            QVERIFY2(still.isOk() && *still == gone, qPrintable(where + QStringLiteral(": the reader lost its file")));
            QVERIFY2(w.fsck().isClean(), qPrintable(where + QStringLiteral(": fsck")));
            r->reset();
            VD_VERIFY_OK(w.collection().releaseLimbo());
            QCOMPARE(w.collection().limboBytes(), uint64_t(0));
            QVERIFY2(w.fsck().isClean(), qPrintable(where + QStringLiteral(": fsck after unpinning")));
        }
    }

    // Through a DriveHost: a read submitted while a long write runs answers
    // from the last commit before the write ends (it never waits for it).
    void aReadDoesNotWaitForAWrite()
    {
        node::NodeOptions o;
        o.dataDir = m_tmp.filePath(QStringLiteral("host"));
        node::Node n(o);
        node::DriveHost *h = n.create(QStringLiteral("c")).value();
        VD_VERIFY_OK(await(h->write<VNode>([](Drive &d, node::OpContext &) { return d.putFileBytes(QStringLiteral("/before"), "committed"); })));
        std::atomic<bool> writing{false}, release{false};
        auto write = h->write<VNode>([&](Drive &d, node::OpContext &) -> Result<VNode> {
            VD_TRY(d.putFileBytes(QStringLiteral("/during"), "not yet").status());
            writing = true;
            QDeadlineTimer deadline(60000);
            while (!release.load() && !deadline.hasExpired())
                QThread::msleep(1);
            return d.putFileBytes(QStringLiteral("/after"), "x");
        });
        QVERIFY(QTest::qWaitFor([&] { return writing.load(); }, 30000));
        auto read = h->read<QByteArray>([](Drive &d, node::OpContext &) -> Result<QByteArray> {
            VD_TRY_ASSIGN(const QByteArray a, d.read(QStringLiteral("/before"), 0, 100));
            if (d.stat(QStringLiteral("/during")).isOk())
                return Status::internal(QStringLiteral("a read saw uncommitted work"));
            return a;
        });
        const bool answered = QTest::qWaitFor([&] { return read.isFinished(); }, 30000);
        const bool writeStillRunning = !write.isFinished();
        release = true;
        QVERIFY2(answered, "the read waited for the write");
        QVERIFY(writeStillRunning);
        QCOMPARE(await(read).value(), QByteArray("committed"));
        VD_VERIFY_OK(await(write));
        // The next read sees the write.
        VD_VERIFY_OK(await(h->read<VNode>([](Drive &d, node::OpContext &) { return d.stat(QStringLiteral("/during")); })));
        const node::HostCounters c = h->counters();
        QCOMPARE(c.reads, uint64_t(2));
        QCOMPARE(h->pins().pins, uint64_t(0));
        // A read's Drive refuses changes.
        VD_VERIFY_CODE(await(h->read<VNode>([](Drive &d, node::OpContext &) { return d.mkdir(QStringLiteral("/x"), false); })),
                       ErrorCode::PermissionDenied);
    }

    // Blocks freed while a read held an older generation come back when that
    // read ends, through the host, without waiting for another write.
    void limboComesBackWhenTheLastReadEnds()
    {
        node::NodeOptions o;
        o.dataDir = m_tmp.filePath(QStringLiteral("limbohost"));
        node::Node n(o);
        node::DriveHost *h = n.create(QStringLiteral("c")).value();
        const QByteArray body = test::randomBytes(3 << 20, 7);
        VD_VERIFY_OK(await(h->write<VNode>([&](Drive &d, node::OpContext &) { return d.putFileBytes(QStringLiteral("/big"), body); })));
        std::atomic<bool> reading{false}, release{false};
        auto read = h->read<QByteArray>([&](Drive &d, node::OpContext &) -> Result<QByteArray> {
            reading = true;
            QDeadlineTimer deadline(60000);
            while (!release.load() && !deadline.hasExpired())
                QThread::msleep(1);
            return d.read(QStringLiteral("/big"), 0, body.size());
        });
        QVERIFY(QTest::qWaitFor([&] { return reading.load(); }, 30000));
        VD_VERIFY_OK(await(h->write<bool>([](Drive &d, node::OpContext &) -> Result<bool> {
            VD_TRY(d.remove(QStringLiteral("/big"), false, false));
            return true;
        })));
        QVERIFY2(h->counters().limboBytes >= uint64_t(3) << 20, "the removed file's blocks should wait for the read");
        release = true;
        QCOMPARE(await(read).value(), body); // its generation, whole
        QVERIFY2(QTest::qWaitFor([&] { return h->counters().limboBytes == 0; }, 30000), "limbo kept after the last read ended");
        QCOMPARE(h->pins().pins, uint64_t(0));
    }
};

QTEST_GUILESS_MAIN(TestMvcc)
#include "tst_mvcc.moc"
