// The change feed. The proof that it is complete: thousands of random
// operations of every kind on a Drive, and a replica that knows nothing but
// the feed — each commit's records applied as one batch, keyed by id — holds
// exactly the nodes (ids, parents, names, kinds, sizes, content ids) the
// collection holds, the trash's included, and the same snapshots. Then the
// consumers: a registered one keeps its records, one behind the bound gets
// Resync, never a gap; and a collection whose feed an earlier build wrote.
#include "testsupport.h"

#include "core/bytes.h"
#include "io/memenv.h"
#include "storage/catalogreader.h"
#include "storage/collection.h"
#include "tree/changefeed.h"
#include "tree/drive.h"

#include <QBuffer>
#include <QRandomGenerator>

#include <map>
#include <set>

using namespace vd;
using namespace vd::tree;
using vd::storage::Access;

namespace {

struct Node
{
    Ruid parent;
    QString name;
    Kind kind = Kind::File;
    uint64_t size = 0;
    QByteArray content;
    bool operator==(const Node &) const = default;
};
using Nodes = std::map<Ruid, Node>;

QString describe(const Ruid &id, const Node &n)
{
    return QStringLiteral("%1 '%2' under %3: %4, %5 bytes, content %6")
        .arg(id.toString(), n.name, n.parent.toString(), kindName(n.kind))
        .arg(n.size)
        .arg(QString::fromLatin1(n.content.toHex().left(12)));
}

// Every node of the committed tree (the trash's too): its index record and
// its entry, as a reader of the catalog finds them.
Result<Nodes> committedNodes(storage::Collection &col)
{
    VD_TRY_ASSIGN(auto catalog, col.committedCatalog());
    std::vector<std::pair<Ruid, IndexRecord>> index;
    Status inner;
    VD_TRY(catalog->scan(QByteArray(1, keys::kIndex), QByteArray(1, keys::kIndex + 1), [&](QByteArrayView key, QByteArrayView value) {
        auto rec = IndexRecord::decode(value);
        if (!rec) {
            inner = rec.status();
            return false;
        }
        index.emplace_back(Ruid::fromView(key.sliced(1)), *rec);
        return true;
    }));
    VD_TRY(inner);
    Nodes out;
    for (const auto &[id, idx] : index) {
        VD_TRY_ASSIGN(const auto raw, catalog->get(keys::entry(idx.parent, idx.name)));
        if (!raw)
            return Status::corruption(QStringLiteral("no entry for %1").arg(id.toString()));
        VD_TRY_ASSIGN(const VNode n, VNode::decode(*raw, idx.parent, idx.name));
        VD_TRY_ASSIGN(const QByteArray content, ChangeFeed::contentId(*catalog, n));
        out[id] = Node{n.parent, n.name, n.kind, n.size, content};
    }
    return out;
}

QString compare(const Nodes &replica, const Nodes &real)
{
    for (const auto &[id, n] : real) {
        const auto it = replica.find(id);
        if (it == replica.end())
            return QStringLiteral("the replica lacks %1").arg(describe(id, n));
        if (!(it->second == n))
            return QStringLiteral("the replica has %1, the drive %2").arg(describe(id, it->second), describe(id, n));
    }
    for (const auto &[id, n] : replica)
        if (!real.count(id))
            return QStringLiteral("the replica has %1, which the drive does not").arg(describe(id, n));
    return {};
}

// The replica: what the feed says, applied a commit at a time.
struct Replica
{
    Nodes nodes;
    std::set<QString> snapshots;
    uint64_t batches = 0;
    std::map<ChangeOp, uint64_t> ops;

    QString apply(const std::vector<ChangeRecord> &recs)
    {
        for (size_t begin = 0; begin < recs.size();) {
            size_t end = begin;
            while (end < recs.size() && recs[end].generation == recs[begin].generation)
                ++end;
            if (begin > 0 && recs[begin].generation <= recs[begin - 1].generation)
                return QStringLiteral("record %1: generation %2 after %3").arg(recs[begin].sequence).arg(recs[begin].generation).arg(recs[begin - 1].generation);
            ++batches;
            if (QString bad = applyBatch(recs, begin, end); !bad.isEmpty())
                return bad;
            begin = end;
        }
        return {};
    }

    // One commit's records as a batch: their order inside it is free, so
    // apply them backwards to show it.
    QString applyBatch(const std::vector<ChangeRecord> &recs, size_t begin, size_t end)
    {
        for (size_t i = end; i-- > begin;) {
            const ChangeRecord &r = recs[i];
            ++ops[r.op];
            switch (r.op) {
            case ChangeOp::SnapshotCreate:
                snapshots.insert(r.snapshot);
                break;
            case ChangeOp::SnapshotDelete:
                snapshots.erase(r.snapshot);
                break;
            case ChangeOp::Remove:
                if (!nodes.erase(r.id))
                    return QStringLiteral("record %1 removes %2, which the replica does not hold").arg(r.sequence).arg(r.id.toString());
                break;
            case ChangeOp::Create:
                if (nodes.count(r.id))
                    return QStringLiteral("record %1 creates %2, which the replica holds").arg(r.sequence).arg(r.id.toString());
                nodes[r.id] = Node{r.after->parent, r.after->name, r.after->kind, r.after->size, r.after->content};
                break;
            case ChangeOp::Modify:
            case ChangeOp::Move: {
                const auto found = nodes.find(r.id);
                if (found == nodes.end())
                    return QStringLiteral("record %1 changes %2, which the replica does not hold").arg(r.sequence).arg(r.id.toString());
                const Node was{r.before->parent, r.before->name, r.before->kind, r.before->size, r.before->content};
                if (!(found->second == was))
                    return QStringLiteral("record %1: the old side %2 is not what the replica holds: %3")
                        .arg(r.sequence)
                        .arg(describe(r.id, was), describe(r.id, found->second));
                found->second = Node{r.after->parent, r.after->name, r.after->kind, r.after->size, r.after->content};
                break;
            }
            }
        }
        return {};
    }
};

struct Picked
{
    QString path;
    VNode node;
};

} // namespace

class TestFeed : public QObject
{
    Q_OBJECT
private:
    std::unique_ptr<io::MemEnv> m_env;
    int m_count = 0;

    std::unique_ptr<Drive> fresh(const DriveOptions &options = {})
    {
        m_env = std::make_unique<io::MemEnv>();
        const QString name = QStringLiteral("f%1").arg(++m_count);
        auto c = storage::Collection::create(*m_env, QStringLiteral("/data"), name);
        if (!c)
            qFatal("create: %s", qPrintable(c.status().toString()));
        auto d = Drive::attach(std::move(c).value(), vd::test::testDrive(options));
        if (!d)
            qFatal("attach: %s", qPrintable(d.status().toString()));
        return std::move(d).value();
    }

    // Every path of the live tree below the root, with its node.
    static std::vector<Picked> walk(Drive &d)
    {
        std::vector<Picked> out;
        std::vector<QString> todo{QStringLiteral("/")};
        while (!todo.empty()) {
            const QString dir = todo.back();
            todo.pop_back();
            auto kids = d.list(dir);
            if (!kids)
                continue;
            for (const VNode &k : *kids) {
                const QString p = dir == QLatin1String("/") ? QLatin1Char('/') + k.name : dir + QLatin1Char('/') + k.name;
                out.push_back(Picked{p, k});
                if (k.isContainer())
                    todo.push_back(p);
            }
        }
        return out;
    }

private Q_SLOTS:
    // Thousands of random operations of every kind; after each check
    // point, the replica built from the feed alone equals the drive.
    void replayingTheFeedGivesTheSameTree()
    {
        const quint64 seed = qEnvironmentVariableIsSet("VD_FEED_SEED") ? qEnvironmentVariable("VD_FEED_SEED").toULongLong()
                                                                       : QRandomGenerator::system()->generate64();
        // 3,000 operations; under the sanitizers (VD_SWEEP=sample, as the
        // crash sweeps) a sample of 1,000.
        const int defaultSteps = qgetenv("VD_SWEEP") == "sample" ? 1000 : 3000;
        const int steps = qEnvironmentVariableIsSet("VD_FEED_STEPS") ? qEnvironmentVariableIntValue("VD_FEED_STEPS") : defaultSteps;
        qInfo("feed model: seed %llu, %d operations (rerun: VD_FEED_SEED=%llu VD_FEED_STEPS=%d)", seed, steps, seed, steps);
        QRandomGenerator rng(seed);
        DriveOptions options;
        options.trashExpiryMs = 1; // gc expires what is in the trash
        // Few records kept past what the replica has read: it reads through
        // its registered cursor, which keeps the rest.
        options.feed.keep = 20;
        auto d = fresh(options);
        // A replica starts as any reader that must resynchronise does: it
        // registers, lists everything, then reads on from its cursor, which
        // keeps what it has not read.
        uint64_t readFrom = d->registerConsumer(QStringLiteral("replica")).value();
        VD_VERIFY_OK(d->commit());
        Replica replica;
        replica.nodes = committedNodes(d->collection()).value();
        QCOMPARE(replica.nodes.size(), size_t(2)); // the root and the trash
        const QString dir = d->collection().path();
        int snapshotCount = 0;
        std::map<QString, uint64_t> tried, done;
        auto name = [&]() { return QStringLiteral("n%1").arg(rng.bounded(12)); };
        auto scalar = [&]() -> QByteArray {
            switch (rng.bounded(4)) {
            case 0: return QByteArray::number(rng.bounded(1000));
            case 1: return "\"s" + QByteArray::number(rng.bounded(50)) + '"';
            case 2: return "true";
            default: return "null";
            }
        };
        auto document = [&]() -> QByteArray {
            QByteArray doc = "{\"a\":" + scalar() + ",\"list\":[";
            const int n = int(rng.bounded(5));
            for (int i = 0; i < n; ++i)
                doc += (i ? "," : "") + scalar();
            return doc + "],\"o\":{\"x\":" + scalar() + "}}";
        };
        auto checkPoint = [&]() -> QString {
            if (Status st = d->commit(); !st)
                return st.toString();
            const uint64_t from = readFrom;
            if (d->consumers().value().front().next != from)
                return QStringLiteral("the consumer is at %1, the replica at %2").arg(d->consumers().value().front().next).arg(from);
            auto recs = d->changesSince(from, 1000000);
            if (!recs)
                return recs.status().toString();
            if (!recs->empty() && recs->front().sequence != from)
                return QStringLiteral("the feed starts at %1, not at the consumer's %2").arg(recs->front().sequence).arg(from);
            if (QString bad = replica.apply(*recs); !bad.isEmpty())
                return bad;
            readFrom = d->nextChangeSequence();
            if (Status st = d->advanceConsumer(QStringLiteral("replica"), readFrom); !st)
                return st.toString();
            if (Status st = d->commit(); !st)
                return st.toString();
            auto real = committedNodes(d->collection());
            if (!real)
                return real.status().toString();
            if (QString bad = compare(replica.nodes, *real); !bad.isEmpty())
                return bad;
            std::set<QString> snaps;
            const auto listed = d->listSnapshots();
            if (!listed)
                return listed.status().toString();
            for (const auto &s : *listed)
                snaps.insert(s.name);
            if (snaps != replica.snapshots)
                return QStringLiteral("the replica has %1 snapshots, the drive %2").arg(replica.snapshots.size()).arg(snaps.size());
            return {};
        };

        for (int step = 0; step < steps; ++step) {
            const auto all = walk(*d);
            auto pick = [&](auto pred) -> std::optional<Picked> {
                std::vector<const Picked *> fit;
                for (const Picked &p : all)
                    if (pred(p.node))
                        fit.push_back(&p);
                if (fit.empty())
                    return std::nullopt;
                return *fit[rng.bounded(quint32(fit.size()))];
            };
            auto folder = [&]() -> QString {
                auto f = pick([](const VNode &n) { return n.kind == Kind::Directory; });
                return f && rng.bounded(4) ? f->path : QStringLiteral("/");
            };
            auto under = [](const QString &parent, const QString &leaf) {
                return parent == QLatin1String("/") ? QLatin1Char('/') + leaf : parent + QLatin1Char('/') + leaf;
            };
            auto any = [&]() { return pick([](const VNode &) { return true; }); };
            const bool crowded = all.size() > 300;
            const quint32 op = crowded && rng.bounded(3) == 0 ? 7 : rng.bounded(22);
            QString what;
            Status st;
            switch (op) {
            case 0:
            case 1: { // put, new or over a file
                auto f = rng.bounded(2) ? pick([](const VNode &n) { return n.kind == Kind::File; }) : std::nullopt;
                const QString path = f ? f->path : under(folder(), name());
                what = QStringLiteral("put");
                st = d->putFileBytes(path, test::randomBytes(qsizetype(rng.bounded(rng.bounded(8) ? 3000 : 300000)), rng.generate())).status();
                break;
            }
            case 2: { // write a range, append
                auto f = pick([](const VNode &n) { return n.kind == Kind::File; });
                if (!f)
                    break;
                what = QStringLiteral("write");
                const QByteArray bytes = test::randomBytes(qsizetype(rng.bounded(5000)), rng.generate());
                st = rng.bounded(2) ? d->appendFile(f->path, bytes).status() : d->writeFile(f->path, rng.bounded(quint32(f->node.size + 10)), bytes).status();
                break;
            }
            case 3: // mkdir -p
                what = QStringLiteral("mkdir");
                st = d->mkdir(under(under(folder(), name()), name()), true).status();
                break;
            case 4:
            case 5: { // mv
                auto n = any();
                if (!n)
                    break;
                what = QStringLiteral("mv");
                st = d->move(n->path, under(folder(), name())).status();
                break;
            }
            case 6: { // cp -r, from the live tree or a snapshot
                auto n = any();
                if (!n)
                    break;
                what = QStringLiteral("cp");
                st = d->copy(n->path, under(folder(), name())).status();
                break;
            }
            case 7:
            case 8: { // rm -r, to the trash or for good
                auto n = pick([](const VNode &k) { return !isJson(k.kind) || k.kind == Kind::JsonObject; });
                if (!n)
                    break;
                const bool toTrash = op == 8 || rng.bounded(2);
                what = toTrash ? QStringLiteral("rm") : QStringLiteral("rm --permanent");
                st = d->remove(n->path, true, toTrash);
                break;
            }
            case 9: { // trash restore
                auto trash = d->listTrash().value();
                if (trash.empty())
                    break;
                const TrashEntry &e = trash[rng.bounded(quint32(trash.size()))];
                what = QStringLiteral("trash restore");
                st = d->restoreFromTrash(e.id, rng.bounded(2) ? QString() : under(folder(), name())).status();
                break;
            }
            case 10: // trash empty
                if (rng.bounded(3))
                    break;
                what = QStringLiteral("trash empty");
                st = d->emptyTrash().status();
                break;
            case 11:
            case 12: { // json import, --replace
                QByteArray doc = document();
                QBuffer in(&doc);
                in.open(QIODevice::ReadOnly);
                auto existing = rng.bounded(2) ? pick([](const VNode &n) { return n.kind == Kind::JsonObject || n.kind == Kind::File; }) : std::nullopt;
                what = existing ? QStringLiteral("json import --replace") : QStringLiteral("json import");
                st = d->importJson(existing ? existing->path : under(folder(), name() + QStringLiteral(".json")), in, existing.has_value()).status();
                break;
            }
            case 13:
            case 14: { // json set: a member, an element, appending
                auto c = pick([](const VNode &n) { return n.kind == Kind::JsonObject || n.kind == Kind::JsonArray; });
                if (!c)
                    break;
                const QString leaf = c->node.kind == Kind::JsonArray ? QString::number(rng.bounded(quint32(c->node.size + 1))) : name();
                what = QStringLiteral("json set");
                st = d->setJson(under(c->path, leaf), rng.bounded(4) ? scalar() : QByteArray("[1,{\"y\":2}]")).status();
                break;
            }
            case 15:
            case 16: { // json del, array elements too (the later ones renumbered)
                auto j = pick([&](const VNode &n) {
                    return isJson(n.kind) && std::any_of(all.begin(), all.end(), [&](const Picked &p) { return p.node.id == n.parent && isJson(p.node.kind); });
                });
                if (!j)
                    break;
                what = QStringLiteral("json del");
                st = d->deleteJson(j->path);
                break;
            }
            case 17: // snapshot create
                what = QStringLiteral("snapshot create");
                st = d->createSnapshot(QStringLiteral("s%1").arg(++snapshotCount)).status();
                break;
            case 18: { // snapshot restore, delete
                auto snaps = d->listSnapshots().value();
                if (snaps.empty())
                    break;
                const QString s = snaps[rng.bounded(quint32(snaps.size()))].name;
                if (rng.bounded(3) == 0) {
                    what = QStringLiteral("snapshot delete");
                    st = d->deleteSnapshot(s);
                    break;
                }
                auto inSnap = d->list(QStringLiteral("/"), s);
                if (!inSnap || inSnap->empty())
                    break;
                const VNode &top = (*inSnap)[rng.bounded(quint32(inSnap->size()))];
                what = QStringLiteral("snapshot restore");
                st = d->restore(s, QLatin1Char('/') + top.name, rng.bounded(2) ? QString() : under(folder(), name())).status();
                break;
            }
            case 19: // gc (expires the trash)
                if (rng.bounded(4))
                    break;
                what = QStringLiteral("gc");
                st = d->gc().status();
                break;
            case 20: // a rollback: nothing of it reaches the feed
                what = QStringLiteral("rollback");
                st = d->rollback();
                break;
            case 21: // reopen
                if (rng.bounded(4))
                    break;
                what = QStringLiteral("reopen");
                st = d->commit();
                if (st) {
                    d.reset();
                    auto again = Drive::open(*m_env, dir, Access::ReadWrite, vd::test::testDrive(options));
                    QVERIFY2(again, qPrintable(again.status().toString()));
                    d = std::move(again).value();
                }
                break;
            }
            if (what.isEmpty())
                continue;
            ++tried[what];
            if (st)
                ++done[what];
            // Refusals are part of the game (a name taken, a folder into
            // itself); anything else is not.
            const QList<ErrorCode> refusals{ErrorCode::AlreadyExists, ErrorCode::InvalidArgument, ErrorCode::NotFound};
            QVERIFY2(st || refusals.contains(st.code()), qPrintable(QStringLiteral("step %1 (%2), seed %3: %4").arg(step).arg(what).arg(seed).arg(st.toString())));
            if (rng.bounded(3) == 0)
                VD_VERIFY_OK(d->commit());
            if (step % 100 == 99 || step == steps - 1) {
                const QString bad = checkPoint();
                QVERIFY2(bad.isEmpty(), qPrintable(QStringLiteral("after step %1, seed %2: %3").arg(step).arg(seed).arg(bad)));
            }
        }
        QStringList summary;
        for (const auto &[w, n] : tried)
            summary << QStringLiteral("%1 %2/%3").arg(w).arg(done[w]).arg(n);
        qInfo("%s", qPrintable(summary.join(QStringLiteral(", "))));
        qInfo("%llu commits replayed, %llu create, %llu modify, %llu move, %llu remove", static_cast<unsigned long long>(replica.batches),
              static_cast<unsigned long long>(replica.ops[ChangeOp::Create]), static_cast<unsigned long long>(replica.ops[ChangeOp::Modify]),
              static_cast<unsigned long long>(replica.ops[ChangeOp::Move]), static_cast<unsigned long long>(replica.ops[ChangeOp::Remove]));
        // Every kind of operation happened, and succeeded, at least once.
        if (steps >= 1000)
            for (const auto &[w, n] : tried)
                QVERIFY2(done[w] > 0, qPrintable(w));
    }

    // A registered consumer keeps the records it has not read past the
    // number kept otherwise; once it has read them they go.
    void aConsumerKeepsItsRecords()
    {
        DriveOptions options;
        options.feed.keep = 5;
        options.feed.maxKept = 1000;
        auto d = fresh(options);
        const uint64_t start = d->registerConsumer(QStringLiteral("slow")).value();
        VD_VERIFY_OK(d->commit());
        for (int i = 0; i < 30; ++i) {
            VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/f%1").arg(i), "x"));
            VD_VERIFY_OK(d->commit());
        }
        QCOMPARE(d->firstChangeSequence(), start);
        auto kept = d->changesSince(start, 1000);
        VD_VERIFY_OK(kept);
        QCOMPARE(kept->size(), size_t(60)); // each commit: the file and the root's entry count
        QCOMPARE(kept->front().sequence, start);
        // Registering again keeps its place.
        QCOMPARE(d->registerConsumer(QStringLiteral("slow")).value(), start);
        VD_VERIFY_CODE(d->advanceConsumer(QStringLiteral("slow"), start - 1), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(d->advanceConsumer(QStringLiteral("slow"), d->nextChangeSequence() + 1), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(d->advanceConsumer(QStringLiteral("nobody"), start), ErrorCode::NotFound);
        VD_VERIFY_CODE(d->registerConsumer(QStringLiteral("a/b")), ErrorCode::InvalidArgument);
        VD_VERIFY_OK(d->advanceConsumer(QStringLiteral("slow"), start + 40));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/g"), "x"));
        VD_VERIFY_OK(d->commit());
        QCOMPARE(d->firstChangeSequence(), start + 40);
        // Kept across a reopen: the cursor is in the collection.
        const QString dir = d->collection().path();
        d.reset();
        d = Drive::open(*m_env, dir, Access::ReadWrite, vd::test::testDrive(options)).value();
        QCOMPARE(d->consumers().value().size(), size_t(1));
        QCOMPARE(d->consumers().value().front().next, start + 40);
        // Without consumers, only the newest `keep` stay.
        VD_VERIFY_OK(d->unregisterConsumer(QStringLiteral("slow")));
        VD_VERIFY_CODE(d->unregisterConsumer(QStringLiteral("slow")), ErrorCode::NotFound);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/h"), "x"));
        VD_VERIFY_OK(d->commit());
        QCOMPARE(d->nextChangeSequence() - d->firstChangeSequence(), uint64_t(5));
    }

    // A consumer further behind than the bound lost records: it is told to
    // resynchronise, and so is any reader asking for a sequence gone.
    void aConsumerBehindTheBoundGetsResync()
    {
        DriveOptions options;
        options.feed.keep = 5;
        options.feed.maxKept = 20;
        auto d = fresh(options);
        const uint64_t start = d->registerConsumer(QStringLiteral("late")).value();
        VD_VERIFY_OK(d->commit());
        for (int i = 0; i < 30; ++i) {
            VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/f%1").arg(i), "x"));
            VD_VERIFY_OK(d->commit());
        }
        const uint64_t first = d->firstChangeSequence();
        QCOMPARE(d->nextChangeSequence() - first, uint64_t(20));
        QVERIFY(d->consumers().value().front().next < first);
        VD_VERIFY_CODE(d->changesSince(start), ErrorCode::Resync);
        VD_VERIFY_CODE(d->changesSince(0), ErrorCode::Resync);
        VD_VERIFY_CODE(d->changesSince(first - 1), ErrorCode::Resync);
        auto rest = d->changesSince(first, 100);
        VD_VERIFY_OK(rest);
        QCOMPARE(rest->size(), size_t(20));
        // Resynchronised: it lists the tree and reads on from the end.
        VD_VERIFY_OK(d->advanceConsumer(QStringLiteral("late"), d->nextChangeSequence()));
        VD_VERIFY_OK(d->changesSince(d->consumers().value().front().next));
    }

    // Snapshot create and delete are records of their own.
    void snapshotsAreInTheFeed()
    {
        auto d = fresh();
        const uint64_t from = d->nextChangeSequence();
        VD_VERIFY_OK(d->createSnapshot(QStringLiteral("one")));
        VD_VERIFY_OK(d->deleteSnapshot(QStringLiteral("one")));
        VD_VERIFY_OK(d->commit());
        const auto recs = d->changesSince(from).value();
        QCOMPARE(recs.size(), size_t(2));
        QCOMPARE(recs[0].op, ChangeOp::SnapshotCreate);
        QCOMPARE(recs[0].snapshot, QStringLiteral("one"));
        QCOMPARE(recs[1].op, ChangeOp::SnapshotDelete);
        QVERIFY(recs[1].generation > recs[0].generation);
    }

    // Records an earlier build wrote (format 1: one per operation, no
    // sizes) are never misread: read-only they are VersionMismatch naming
    // what to do; a writable open drops them, and a reader from before
    // them gets Resync.
    void anEarlierBuildsRecordsAreDroppedNotMisread()
    {
        auto d = fresh();
        const QString dir = d->collection().path();
        // What the earlier build wrote: a create of /old.
        const uint64_t oldFirst = d->nextChangeSequence();
        for (int i = 0; i < 3; ++i) {
            QByteArray raw;
            ByteWriter w(&raw);
            w.u8(1);
            w.u8(1);
            w.u8(uint8_t(Kind::File));
            w.bytes(Ruid::generate().view());
            w.bytes(rootId().view());
            w.u64(7);
            w.bytes(Ruid::generate().view());
            w.u64(7);
            w.blob(QByteArray("old"));
            VD_VERIFY_OK(d->collection().putRecord(keys::change(d->collection().takeChangeSequence()), raw));
        }
        VD_VERIFY_OK(d->collection().commit());
        d.reset();
        auto ro = Drive::open(*m_env, dir, Access::ReadOnly).value();
        auto old = ro->changesSince(oldFirst);
        VD_VERIFY_CODE(old, ErrorCode::VersionMismatch);
        QVERIFY2(old.status().message().contains(QStringLiteral("open the collection for writing once")), qPrintable(old.status().message()));
        ro.reset();
        d = Drive::open(*m_env, dir, Access::ReadWrite, vd::test::testDrive()).value();
        QCOMPARE(d->firstChangeSequence(), oldFirst + 3);
        VD_VERIFY_CODE(d->changesSince(oldFirst), ErrorCode::Resync);
        VD_VERIFY_OK(d->mkdir(QStringLiteral("/new"), false));
        VD_VERIFY_OK(d->commit());
        const auto recs = d->changesSince(oldFirst + 3).value();
        QCOMPARE(recs.size(), size_t(2));
    }
};

QTEST_GUILESS_MAIN(TestFeed)
#include "tst_feed.moc"
