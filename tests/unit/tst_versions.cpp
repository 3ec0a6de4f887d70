// Versions that detect concurrency (REPLICATION.md): a VNode's version is a
// version vector whose entries are node ids (the data directory's identity,
// never the collection's), so two copies of one collection changed apart
// are concurrent, and a change made after another follows it. Records of
// format 1 (before identities) read as {legacy origin: counter} and are
// upgraded when next written, never misread; garbage is Corruption.
#include "testsupport.h"

#include "core/bytes.h"
#include "io/env.h"
#include "io/memenv.h"
#include "node/identity.h"
#include "node/node.h"
#include "storage/catalogreader.h"
#include "storage/collection.h"
#include "storage/datadir.h"
#include "tree/drive.h"

#include <QBuffer>
#include <QFileInfo>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QTemporaryDir>

#include <algorithm>
#include <map>

using namespace vd;
using namespace vd::tree;
using vd::node::DriveHost;
using vd::node::OpContext;
using vd::storage::Access;

namespace {

constexpr uint64_t kHere = 0x1111'0000'0000'0001;
constexpr uint64_t kThere = 0x2222'0000'0000'0002;

template<typename T>
Result<T> await(QFuture<Result<T>> f)
{
    f.waitForFinished();
    return f.result();
}

// Copies the folder src (a collection) to dst, file by file.
bool copyFolder(const QString &src, const QString &dst)
{
    if (!QDir().mkpath(dst))
        return false;
    QDirIterator it(src, QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot);
    while (it.hasNext()) {
        const QString from = it.next();
        if (!QFile::copy(from, dst + QLatin1Char('/') + it.fileName()))
            return false;
    }
    return true;
}

// A test-only encoder of the records builds before node identities wrote
// (FORMAT.md, vnode_record and index_record format 1): (counter, origin) in
// place of the version vector.
QByteArray legacyVNode(const VNode &n, uint64_t counter, const Ruid &origin)
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(1);
    w.u8(uint8_t(n.kind));
    w.bytes(n.id.view());
    w.u64(n.size);
    w.u64(uint64_t(n.createdMs));
    w.u64(uint64_t(n.modifiedMs));
    w.u64(counter);
    w.bytes(origin.view());
    w.u32(n.clusterCount);
    w.u64(n.ordinal);
    w.blob(n.value);
    return out;
}

QByteArray legacyIndex(const IndexRecord &x, uint64_t counter, const Ruid &origin)
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(1);
    w.bytes(x.parent.view());
    w.u64(counter);
    w.bytes(origin.view());
    w.blob(x.name.toUtf8());
    return out;
}

// Rewrites every entry and index record of the live tree as format 1 with
// origin, each with its stamp's counter, and commits: what an earlier build
// left.
Status makeLegacy(storage::Collection &col, const Ruid &origin)
{
    std::vector<std::pair<QByteArray, QByteArray>> rewrites;
    Status inner;
    VD_TRY(col.catalog().scan(QByteArray(1, keys::kIndex), QByteArray(1, keys::kIndex + 1), [&](QByteArrayView key, QByteArrayView value) {
        auto idx = IndexRecord::decode(value);
        if (!idx) {
            inner = idx.status();
            return false;
        }
        rewrites.emplace_back(key.toByteArray(), legacyIndex(*idx, stampOf(idx->version).counter, origin));
        return true;
    }));
    VD_TRY(inner);
    for (const auto &[key, value] : std::vector(rewrites)) {
        VD_TRY_ASSIGN(const IndexRecord idx, IndexRecord::decode(*col.catalog().get(key).value()));
        const QByteArray entryKey = keys::entry(idx.parent, idx.name);
        VD_TRY_ASSIGN(const auto raw, col.catalog().get(entryKey));
        VD_TRY_ASSIGN(const VNode n, VNode::decode(*raw, idx.parent, idx.name));
        rewrites.emplace_back(entryKey, legacyVNode(n, stampOf(n.version).counter, origin));
    }
    for (const auto &[key, value] : rewrites)
        VD_TRY(col.putRecord(key, value));
    return col.commit();
}

// A node's record and clusters, as its node would send them.
RemoteNode remoteOf(Drive &d, const QString &path)
{
    RemoteNode r;
    r.node = d.stat(path).value();
    (void)storage::Collection::forEachCluster(d.collection().catalog(), r.node.id, [&](uint64_t start, const storage::ClusterRecord &c) {
        r.clusters.emplace_back(start, c);
        return Status();
    });
    return r;
}

VersionVector vv(std::initializer_list<std::pair<uint64_t, uint64_t>> entries)
{
    VersionVector v;
    for (const auto &[node, counter] : entries)
        (void)v.increment(node, counter);
    return v;
}

} // namespace

class TestVersions : public QObject
{
    Q_OBJECT

    std::unique_ptr<io::MemEnv> m_env;

    std::unique_ptr<Drive> fresh(QString *dir = nullptr, uint64_t node = kHere)
    {
        auto c = storage::Collection::create(*m_env, QStringLiteral("/c"), QStringLiteral("t"));
        if (!c)
            return nullptr;
        if (dir)
            *dir = (*c)->path();
        auto d = Drive::attach(std::move(c).value(), test::testDrive({}, node));
        return d ? std::move(d).value() : nullptr;
    }

private Q_SLOTS:
    void init() { m_env = std::make_unique<io::MemEnv>(); }

    // A Drive opened for writing without a node id is refused, saying why;
    // one opened to read needs none.
    void writingNeedsAnIdentity()
    {
        QString dir;
        {
            auto d = fresh(&dir);
            QVERIFY(d);
            VD_VERIFY_OK(d->commit());
        }
        auto refused = Drive::open(*m_env, dir, Access::ReadWrite);
        VD_VERIFY_CODE(refused, ErrorCode::InvalidArgument);
        QVERIFY2(refused.status().message().contains(QStringLiteral("identity")), qPrintable(refused.status().message()));
        VD_VERIFY_OK(Drive::open(*m_env, dir, Access::ReadOnly));
    }

    // Every change increments this node's entry to the collection's clock,
    // keeping what the version had: a change made after another follows it.
    void aChangeFollowsTheOneBefore()
    {
        auto d = fresh();
        QVERIFY(d);
        const VNode made = d->putFileBytes(QStringLiteral("/f"), "one").value();
        QCOMPARE(made.version.size(), 1);
        QCOMPARE(stampOf(made.version).node, kHere);
        const VNode edited = d->putFileBytes(QStringLiteral("/f"), "two").value();
        QCOMPARE(edited.version.compare(made.version), VersionVector::Ordering::After);
        const VNode moved = d->move(QStringLiteral("/f"), QStringLiteral("/g")).value();
        QCOMPARE(moved.version.compare(edited.version), VersionVector::Ordering::After);
        VD_VERIFY_OK(d->commit());
        // The index record holds the same version as the entry.
        const VNode again = d->stat(QStringLiteral("/g")).value();
        QCOMPARE(again.version, moved.version);
        // And the feed carries it.
        const auto feed = d->changesSince(1).value();
        const auto last = std::find_if(feed.rbegin(), feed.rend(), [&](const ChangeRecord &c) { return c.id == moved.id; });
        QVERIFY(last != feed.rend());
        QCOMPARE(last->version, moved.version);
    }

    // A collection folder copied to another data directory takes no
    // identity along: the two nodes' changes carry their own ids and are
    // concurrent; a change after the copy's is "after" the copy's original.
    void aCopiedCollectionIsAnotherReplica()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString here = tmp.filePath(QStringLiteral("here"));
        const QString there = tmp.filePath(QStringLiteral("there"));
        VNode original;
        QString folder;
        {
            node::Node n(node::NodeOptions{nullptr, here, {}});
            auto h = n.create(QStringLiteral("c"));
            VD_VERIFY_OK(h);
            original = await((*h)->write<VNode>([](Drive &d, OpContext &) { return d.putFileBytes(QStringLiteral("/f"), "shared"); })).value();
            folder = storage::findCollection(*io::Env::posix(), here, QStringLiteral("c")).value();
        }
        QVERIFY(copyFolder(folder, storage::collectionsDir(there) + QLatin1Char('/') + QFileInfo(folder).fileName()));
        const uint64_t hereId = node::NodeIdentity::load(here).value().id().shortId();
        QCOMPARE(stampOf(original.version).node, hereId);

        node::Node a(node::NodeOptions{nullptr, here, {}});
        node::Node b(node::NodeOptions{nullptr, there, {}});
        auto edit = [](node::Node &n, const QByteArray &bytes) -> Result<VNode> {
            VD_TRY_ASSIGN(DriveHost * h, n.host(QStringLiteral("c")));
            return await(h->write<VNode>([bytes](Drive &d, OpContext &) { return d.putFileBytes(QStringLiteral("/f"), bytes); }));
        };
        auto editedA = edit(a, "here");
        VD_VERIFY_OK(editedA);
        auto editedB = edit(b, "there");
        VD_VERIFY_OK(editedB);
        const VNode onA = *editedA, onB = *editedB;
        const uint64_t thereId = node::NodeIdentity::load(there).value().id().shortId();
        QVERIFY(thereId != hereId);
        QCOMPARE(stampOf(onA.version).node, hereId);
        QCOMPARE(stampOf(onB.version).node, thereId);
        QCOMPARE(onA.version.compare(onB.version), VersionVector::Ordering::Concurrent);
        QCOMPARE(onA.version.compare(original.version), VersionVector::Ordering::After);
        QCOMPARE(onB.version.compare(original.version), VersionVector::Ordering::After);
    }

    // A collection whose records an earlier build wrote (format 1) opens and
    // reads: each version is {legacy origin: counter}, the same for every
    // node that reads it; a change here upgrades the record it writes, and
    // follows the legacy version.
    void formatOneRecordsReadAndUpgrade()
    {
        QString dir;
        const Ruid origin = Ruid::generate();
        VNode before;
        {
            auto d = fresh(&dir);
            QVERIFY(d);
            VD_VERIFY_OK(d->mkdir(QStringLiteral("/docs"), false));
            VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/docs/a.txt"), "alpha"));
            QBuffer json;
            json.setData(R"({"k": [1, "two"]})");
            QVERIFY(json.open(QIODevice::ReadOnly));
            VD_VERIFY_OK(d->importJson(QStringLiteral("/conf.json"), json));
            VD_VERIFY_OK(d->commit());
            before = d->stat(QStringLiteral("/docs/a.txt")).value();
            VD_VERIFY_OK(makeLegacy(d->collection(), origin));
        }
        const VersionVector legacy = vv({{legacyNode(origin), stampOf(before.version).counter}});
        auto rawEntry = [](Drive &d, const QString &folder, const QString &name) {
            const Ruid parent = d.stat(folder).value().id;
            return d.collection().catalog().get(keys::entry(parent, name)).value().value_or(QByteArray());
        };
        // Every node reads a format-1 record the same way.
        for (const uint64_t node : {kHere, kThere}) {
            auto d = Drive::open(*m_env, dir, Access::ReadWrite, test::testDrive({}, node));
            VD_VERIFY_OK(d);
            QCOMPARE(rawEntry(**d, QStringLiteral("/docs"), QStringLiteral("a.txt")).at(0), char(1));
            const VNode n = (*d)->stat(QStringLiteral("/docs/a.txt")).value();
            QCOMPARE(n.id, before.id);
            QCOMPARE(n.version, legacy);
            QCOMPARE((*d)->read(QStringLiteral("/docs/a.txt"), 0, 100).value(), QByteArray("alpha"));
            QCOMPARE((*d)->read(QStringLiteral("/conf.json/k/1"), 0, 100).value(), QByteArray("\"two\""));
            const storage::FsckReport r = (*d)->fsck();
            QVERIFY2(r.isClean(), qPrintable(QStringList(r.faults.begin(), r.faults.end()).join(QLatin1Char('\n'))));
        }
        // A change here writes format 2 and follows the legacy version; what
        // it did not touch stays format 1 and reads as before.
        auto d = Drive::open(*m_env, dir, Access::ReadWrite, test::testDrive()).value();
        const VNode edited = d->putFileBytes(QStringLiteral("/docs/a.txt"), "beta").value();
        QCOMPARE(edited.version.compare(legacy), VersionVector::Ordering::After);
        QCOMPARE(edited.version.counter(legacyNode(origin)), stampOf(before.version).counter);
        VD_VERIFY_OK(d->commit());
        QCOMPARE(rawEntry(*d, QStringLiteral("/docs"), QStringLiteral("a.txt")).at(0), char(2));
        QCOMPARE(rawEntry(*d, QStringLiteral("/"), QStringLiteral("conf.json")).at(0), char(1));
        d.reset();
        d = Drive::open(*m_env, dir, Access::ReadOnly).value();
        QCOMPARE(d->stat(QStringLiteral("/docs/a.txt")).value().version, edited.version);
        QCOMPARE(d->read(QStringLiteral("/docs/a.txt"), 0, 100).value(), QByteArray("beta"));
        const storage::FsckReport r = d->fsck();
        QVERIFY2(r.isClean(), qPrintable(QStringList(r.faults.begin(), r.faults.end()).join(QLatin1Char('\n'))));
    }

    // Records that are neither format: Corruption, never a guess.
    void garbageIsRefused()
    {
        VNode n;
        n.id = Ruid::generate();
        n.kind = Kind::File;
        n.version = vv({{kHere, 5}, {kThere, 7}});
        const QByteArray good = n.encode();
        VD_VERIFY_OK(VNode::decode(good, rootId(), QStringLiteral("f")));
        QByteArray bad = good;
        bad[0] = char(3); // an unknown format
        VD_VERIFY_CODE(VNode::decode(bad, rootId(), QStringLiteral("f")), ErrorCode::Corruption);
        VD_VERIFY_CODE(VNode::containerIdOf(bad), ErrorCode::Corruption);
        // The vector's count (at byte 42) claiming more entries than follow.
        bad = good;
        QCOMPARE(uint8_t(bad[42]), uint8_t(2));
        bad[42] = char(3);
        VD_VERIFY_CODE(VNode::decode(bad, rootId(), QStringLiteral("f")), ErrorCode::Corruption);
        // Entries out of order (the second node before the first).
        bad = good;
        std::swap(bad[50], bad[59]); // the nodes' most significant bytes (u64 LE)
        VD_VERIFY_CODE(VNode::decode(bad, rootId(), QStringLiteral("f")), ErrorCode::Corruption);
        // Cut short anywhere.
        for (qsizetype cut = 0; cut < good.size(); ++cut)
            VD_VERIFY_CODE(VNode::decode(good.first(cut), rootId(), QStringLiteral("f")), ErrorCode::Corruption);
        IndexRecord x{rootId(), QStringLiteral("f"), n.version};
        const QByteArray idx = x.encode();
        QCOMPARE(IndexRecord::decode(idx).value().version, n.version);
        for (qsizetype cut = 0; cut < idx.size(); ++cut)
            VD_VERIFY_CODE(IndexRecord::decode(idx.first(cut)), ErrorCode::Corruption);
        // A format-1 counter no vector can hold.
        QByteArray legacy = legacyVNode(n, uint64_t(1) << 63, Ruid::generate());
        VD_VERIFY_CODE(VNode::decode(legacy, rootId(), QStringLiteral("f")), ErrorCode::Corruption);
        legacy = legacyVNode(n, 9, Ruid::generate());
        QCOMPARE(VNode::decode(legacy, rootId(), QStringLiteral("f")).value().version.size(), 1);
    }

    // Removing for good leaves a tombstone per node — rm --permanent, trash
    // empty, a JSON member removed — with the version it had, raised by the
    // remover, and the folder it was in. Moving to the trash leaves none.
    void removalsLeaveTombstones()
    {
        auto d = fresh();
        QVERIFY(d);
        const VNode dir = d->mkdir(QStringLiteral("/d"), false).value();
        const VNode a = d->putFileBytes(QStringLiteral("/d/a"), "a").value();
        const VNode b = d->putFileBytes(QStringLiteral("/b"), "b").value();
        QBuffer json;
        json.setData(R"({"k": 1, "l": 2})");
        QVERIFY(json.open(QIODevice::ReadOnly));
        VD_VERIFY_OK(d->importJson(QStringLiteral("/j.json"), json));
        const VNode k = d->stat(QStringLiteral("/j.json/k")).value();
        VD_VERIFY_OK(d->commit());
        VD_VERIFY_OK(d->remove(QStringLiteral("/b"), false, true)); // to the trash: not gone
        VD_VERIFY_OK(d->commit());
        QVERIFY(d->tombstones().value().empty());
        VD_VERIFY_OK(d->remove(QStringLiteral("/d"), true, false));
        VD_VERIFY_OK(d->deleteJson(QStringLiteral("/j.json/k")));
        VD_VERIFY_OK(d->commit());
        VD_VERIFY_OK(d->emptyTrash());
        VD_VERIFY_OK(d->commit());
        std::map<Ruid, Tombstone> tombs;
        const auto listed = d->tombstones().value();
        for (const auto &[id, t] : listed)
            tombs[id] = t;
        QCOMPARE(tombs.size(), size_t(4));
        for (const VNode &n : {dir, a, b, k}) {
            QVERIFY2(tombs.count(n.id), qPrintable(n.name));
            const Tombstone &t = tombs[n.id];
            QCOMPARE(t.version.compare(n.version), VersionVector::Ordering::After);
            QCOMPARE(stampOf(t.version).node, kHere);
            QVERIFY(t.removedMs > 0);
        }
        QCOMPARE(tombs[a.id].parent, dir.id);
        QCOMPARE(tombs[dir.id].parent, rootId());
        QCOMPARE(tombs[b.id].parent, trashId());
        // The feed's removals carry the tombstones' versions.
        const auto feed = d->changesSince(1).value();
        for (const ChangeRecord &c : feed)
            if (c.op == ChangeOp::Remove)
                QCOMPARE(c.version, tombs[c.id].version);
        const storage::FsckReport r = d->fsck();
        QVERIFY2(r.isClean(), qPrintable(QStringList(r.faults.begin(), r.faults.end()).join(QLatin1Char('\n'))));
    }

    // At most maxCount tombstones: a commit past it drops the oldest.
    void tombstonesAreBounded()
    {
        auto c = storage::Collection::create(*m_env, QStringLiteral("/c"), QStringLiteral("t"));
        VD_VERIFY_OK(c);
        DriveOptions options;
        options.tombstones.maxCount = 8;
        auto d = Drive::attach(std::move(c).value(), test::testDrive(options)).value();
        std::vector<Ruid> ids;
        for (int i = 0; i < 20; ++i) {
            ids.push_back(d->putFileBytes(QStringLiteral("/f%1").arg(i), "x").value().id);
            VD_VERIFY_OK(d->commit());
            VD_VERIFY_OK(d->remove(QStringLiteral("/f%1").arg(i), false, false));
            VD_VERIFY_OK(d->commit());
            QVERIFY(d->tombstones().value().size() <= 8);
        }
        const auto kept = d->tombstones().value();
        QVERIFY(kept.size() >= 7);
        // The newest removal is among them.
        QVERIFY(std::any_of(kept.begin(), kept.end(), [&](const auto &e) { return e.first == ids.back(); }));
        const storage::FsckReport r = d->fsck();
        QVERIFY2(r.isClean(), qPrintable(QStringList(r.faults.begin(), r.faults.end()).join(QLatin1Char('\n'))));
    }

    // A tombstone goes once every member's knowledge is at or after it.
    void forgetTombstonesEveryMemberHasSeen()
    {
        auto d = fresh();
        QVERIFY(d);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/f"), "x"));
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/g"), "y"));
        VD_VERIFY_OK(d->commit());
        VD_VERIFY_OK(d->remove(QStringLiteral("/f"), false, false));
        VD_VERIFY_OK(d->commit());
        VD_VERIFY_OK(d->remove(QStringLiteral("/g"), false, false));
        VD_VERIFY_OK(d->commit());
        const auto tombs = d->tombstones().value();
        QCOMPARE(tombs.size(), size_t(2));
        const VersionVector first = std::min(tombs[0].second.version, tombs[1].second.version, [](const auto &x, const auto &y) {
            return stampOf(x) < stampOf(y);
        });
        const VersionVector last = std::max(tombs[0].second.version, tombs[1].second.version, [](const auto &x, const auto &y) {
            return stampOf(x) < stampOf(y);
        });
        VD_VERIFY_CODE(d->forgetTombstones({}), ErrorCode::InvalidArgument);
        // A member that has seen nothing of this node: nothing goes.
        QCOMPARE(d->forgetTombstones({last, vv({{kThere, 100}})}).value(), uint64_t(0));
        // Every member has seen the first removal, one not the second.
        QCOMPARE(d->forgetTombstones({last, first}).value(), uint64_t(1));
        VD_VERIFY_OK(d->commit());
        QCOMPARE(d->tombstones().value().size(), size_t(1));
        QCOMPARE(d->forgetTombstones({VersionVector::merge(last, vv({{kThere, 3}})).value(), last}).value(), uint64_t(1));
        VD_VERIFY_OK(d->commit());
        QVERIFY(d->tombstones().value().empty());
        const storage::FsckReport r = d->fsck();
        QVERIFY2(r.isClean(), qPrintable(QStringList(r.faults.begin(), r.faults.end()).join(QLatin1Char('\n'))));
    }

    // fsck: a tombstone of a node in the tree, one that does not decode, a
    // count that does not match.
    void fsckChecksTombstones()
    {
        auto d = fresh();
        QVERIFY(d);
        const VNode live = d->putFileBytes(QStringLiteral("/f"), "x").value();
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/g"), "y"));
        VD_VERIFY_OK(d->commit());
        VD_VERIFY_OK(d->remove(QStringLiteral("/g"), false, false));
        VD_VERIFY_OK(d->commit());
        storage::FsckReport r = d->fsck();
        QVERIFY(r.isClean());
        Tombstone t{rootId(), 1, vv({{kHere, 9}})};
        VD_VERIFY_OK(d->collection().putRecord(keys::tombstone(live.id), t.encode()));
        VD_VERIFY_OK(d->commit());
        r = d->fsck();
        const QString faults = QStringList(r.faults.begin(), r.faults.end()).join(QLatin1Char('\n'));
        QVERIFY2(faults.contains(QStringLiteral("in the tree and has a tombstone")), qPrintable(faults));
        QVERIFY2(faults.contains(QStringLiteral("the tombstone count says 1, there are 2")), qPrintable(faults));
        VD_VERIFY_OK(d->collection().putRecord(keys::tombstone(live.id), QByteArray("\x01garbage")));
        VD_VERIFY_OK(d->commit());
        r = d->fsck();
        QVERIFY(!r.isClean());
        VD_VERIFY_CODE(Tombstone::decode(QByteArray("\x01garbage")), ErrorCode::Corruption);
        QByteArray empty = Tombstone{rootId(), 1, {}}.encode();
        VD_VERIFY_CODE(Tombstone::decode(empty), ErrorCode::Corruption);
    }

    // Applying a record twice: the second time changes nothing — no commit,
    // no feed record, the same catalog.
    void applyingTwiceChangesNothing()
    {
        auto d = fresh();
        QVERIFY(d);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/src"), "from elsewhere"));
        VD_VERIFY_OK(d->commit());
        RemoteNode r = remoteOf(*d, QStringLiteral("/src"));
        r.node.id = Ruid::generate();
        r.node.name = QStringLiteral("arrived");
        r.node.version = vv({{kThere, 40}});
        auto first = d->applyRemote(r);
        VD_VERIFY_OK(first);
        QCOMPARE(first->outcome, Applied::Created);
        VD_VERIFY_OK(d->commit());
        QCOMPARE(d->read(QStringLiteral("/arrived"), 0, 100).value(), QByteArray("from elsewhere"));
        QCOMPARE(d->stat(QStringLiteral("/arrived")).value().version, r.node.version);
        const uint64_t generation = d->generation(), next = d->nextChangeSequence();
        auto second = d->applyRemote(r);
        VD_VERIFY_OK(second);
        QCOMPARE(second->outcome, Applied::Unchanged);
        QVERIFY(!d->hasUncommittedChanges());
        VD_VERIFY_OK(d->commit());
        QCOMPARE(d->generation(), generation);
        QCOMPARE(d->nextChangeSequence(), next);
        // The clock moved past the counter received: a change here follows it.
        const VNode edited = d->putFileBytes(QStringLiteral("/arrived"), "edited").value();
        QCOMPARE(edited.version.compare(r.node.version), VersionVector::Ordering::After);
        QVERIFY(edited.version.counter(kHere) > 40);
        const storage::FsckReport rep = d->fsck();
        QVERIFY2(rep.isClean(), qPrintable(QStringList(rep.faults.begin(), rep.faults.end()).join(QLatin1Char('\n'))));
    }

    // Two copies of one collection (two nodes): an edit there after the
    // last sync is "after" and taken here; edits on both are concurrent and
    // become a conflict, decided alike on both sides, both contents kept.
    void concurrentEditsAreKeptOnBothSides()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        QString dirA, dirB;
        {
            auto c = storage::Collection::create(*io::Env::posix(), tmp.filePath(QStringLiteral("a")), QStringLiteral("c"));
            VD_VERIFY_OK(c);
            auto d = Drive::attach(std::move(c).value(), test::testDrive({}, kHere)).value();
            QBuffer json;
            json.setData(R"({"k": "zero"})");
            QVERIFY(json.open(QIODevice::ReadOnly));
            VD_VERIFY_OK(d->importJson(QStringLiteral("/conf.json"), json));
            VD_VERIFY_OK(d->commit());
            dirA = d->collection().path();
            dirB = tmp.filePath(QStringLiteral("b/")) + QFileInfo(dirA).fileName();
        }
        QVERIFY(copyFolder(dirA, dirB));
        auto openedA = Drive::open(*io::Env::posix(), dirA, Access::ReadWrite, test::testDrive({}, kHere));
        VD_VERIFY_OK(openedA);
        auto openedB = Drive::open(*io::Env::posix(), dirB, Access::ReadWrite, test::testDrive({}, kThere));
        VD_VERIFY_OK(openedB);
        auto a = std::move(openedA).value();
        auto b = std::move(openedB).value();
        const QString k = QStringLiteral("/conf.json/k");
        // There after the copy: after, taken here.
        VD_VERIFY_OK(b->setJson(k, "\"one\""));
        VD_VERIFY_OK(b->commit());
        auto taken = a->applyRemote(remoteOf(*b, k));
        VD_VERIFY_OK(taken);
        QCOMPARE(taken->outcome, Applied::Updated);
        VD_VERIFY_OK(a->commit());
        QCOMPARE(a->read(k, 0, 100).value(), QByteArray("\"one\""));
        QCOMPARE(a->stat(k).value().version, b->stat(k).value().version);
        // Both edit: concurrent.
        VD_VERIFY_OK(a->setJson(k, "\"here\""));
        VD_VERIFY_OK(b->setJson(k, "\"there\""));
        VD_VERIFY_OK(a->commit());
        VD_VERIFY_OK(b->commit());
        const RemoteNode fromA = remoteOf(*a, k), fromB = remoteOf(*b, k);
        QCOMPARE(fromA.node.version.compare(fromB.node.version), VersionVector::Ordering::Concurrent);
        auto onA = a->applyRemote(fromB);
        auto onB = b->applyRemote(fromA);
        VD_VERIFY_OK(onA);
        VD_VERIFY_OK(onB);
        QCOMPARE(onA->outcome, Applied::Conflict);
        QCOMPARE(onB->outcome, Applied::Conflict);
        VD_VERIFY_OK(a->commit());
        VD_VERIFY_OK(b->commit());
        // The same on both: the later stamp keeps the name, the other is beside it.
        auto listing = [](Drive &d) {
            std::map<QString, std::pair<QByteArray, QString>> out;
            const auto entries = d.list(QStringLiteral("/conf.json")).value();
            for (const VNode &n : entries)
                out[n.name] = {d.read(QStringLiteral("/conf.json/") + n.name, 0, 100).value(), n.id.toString() + n.version.toString()};
            return out;
        };
        const auto seenA = listing(*a), seenB = listing(*b);
        QCOMPARE(seenA.size(), size_t(2));
        QVERIFY(seenA == seenB);
        const bool thereWins = stampOf(fromB.node.version) > stampOf(fromA.node.version);
        QCOMPARE(seenA.at(QStringLiteral("k")).first, thereWins ? QByteArray("\"there\"") : QByteArray("\"here\""));
        const QString copyName = onA->copy->name;
        QVERIFY2(copyName.startsWith(QStringLiteral("k.sync-conflict-")), qPrintable(copyName));
        QVERIFY(copyName.endsWith(QStringLiteral("-%1").arg(thereWins ? kHere : kThere, 16, 16, QLatin1Char('0'))));
        QCOMPARE(seenA.at(copyName).first, thereWins ? QByteArray("\"here\"") : QByteArray("\"there\""));
        // Both got the merged vector; applying either record again: nothing.
        const VersionVector merged = VersionVector::merge(fromA.node.version, fromB.node.version).value();
        QCOMPARE(a->stat(k).value().version, merged);
        QCOMPARE(onA->copy->version, merged);
        QCOMPARE(a->applyRemote(fromB).value().outcome, Applied::Unchanged);
        QCOMPARE(b->applyRemote(fromA).value().outcome, Applied::Unchanged);
    }

    // A file edited here and elsewhere at once: the conflict keeps both
    // contents readable, the remote's (its blocks are here) and this one's.
    void aConflictingFileKeepsBothContents()
    {
        auto d = fresh();
        QVERIFY(d);
        const VNode before = d->putFileBytes(QStringLiteral("/f"), "base").value();
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/elsewhere"), "their bytes"));
        VD_VERIFY_OK(d->commit());
        const VNode ours = d->putFileBytes(QStringLiteral("/f"), "our bytes").value();
        VD_VERIFY_OK(d->commit());
        RemoteNode r = remoteOf(*d, QStringLiteral("/elsewhere"));
        r.node.id = before.id;
        r.node.name = QStringLiteral("f");
        r.node.version = VersionVector::merge(before.version, vv({{kThere, 1000}})).value();
        auto applied = d->applyRemote(r);
        VD_VERIFY_OK(applied);
        QCOMPARE(applied->outcome, Applied::Conflict);
        VD_VERIFY_OK(d->commit());
        // Theirs has the larger stamp: it keeps the name.
        QCOMPARE(d->read(QStringLiteral("/f"), 0, 100).value(), QByteArray("their bytes"));
        QCOMPARE(d->read(QLatin1Char('/') + applied->copy->name, 0, 100).value(), QByteArray("our bytes"));
        // Named by the node and the losing version: every replica makes the same copy.
        QCOMPARE(applied->copy->id, RemoteChanges::conflictCopyId(before.id, ours.version));
        const storage::FsckReport rep = d->fsck();
        QVERIFY2(rep.isClean(), qPrintable(QStringList(rep.faults.begin(), rep.faults.end()).join(QLatin1Char('\n'))));
        // The feed holds both: the node modified, the copy created.
        const auto feed = d->changesSince(1).value();
        QVERIFY(std::any_of(feed.begin(), feed.end(), [&](const ChangeRecord &c) { return c.id == applied->copy->id && c.op == ChangeOp::Create; }));
    }

    // A stale update of a removed node loses to its tombstone; an edit the
    // remover never saw (concurrent with it) brings the node back.
    void aTombstoneWinsOverAStaleUpdate()
    {
        auto d = fresh();
        QVERIFY(d);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/g"), "gone"));
        VD_VERIFY_OK(d->commit());
        const RemoteNode stale = remoteOf(*d, QStringLiteral("/g"));
        VD_VERIFY_OK(d->remove(QStringLiteral("/g"), false, false));
        VD_VERIFY_OK(d->commit());
        auto applied = d->applyRemote(stale);
        VD_VERIFY_OK(applied);
        QCOMPARE(applied->outcome, Applied::Unchanged);
        QVERIFY(!d->hasUncommittedChanges());
        VD_VERIFY_CODE(d->stat(QStringLiteral("/g")), ErrorCode::NotFound);
        // Edited elsewhere without seeing the removal: it comes back.
        RemoteNode edit = stale;
        VD_VERIFY_OK(edit.node.version.increment(kThere, 77));
        applied = d->applyRemote(edit);
        VD_VERIFY_OK(applied);
        QCOMPARE(applied->outcome, Applied::Revived);
        VD_VERIFY_OK(d->commit());
        // Its bytes went with the removal here: the peer that kept the node
        // sends them (content named by hash, verified on import).
        VD_VERIFY_CODE(d->read(QStringLiteral("/g"), 0, 100), ErrorCode::NotHere);
        for (const auto &[start, cluster] : edit.clusters)
            for (const storage::Piece &p : cluster.pieces)
                if (p.kind == storage::Piece::Kind::Content)
                    VD_VERIFY_OK(d->collection().importContent(p.name, "gone"));
        VD_VERIFY_OK(d->commit());
        QCOMPARE(d->read(QStringLiteral("/g"), 0, 100).value(), QByteArray("gone"));
        QVERIFY(d->tombstones().value().empty());
        // Its version follows the tombstone's, so the remover takes it back.
        QCOMPARE(d->stat(QStringLiteral("/g")).value().version.compare(stale.node.version), VersionVector::Ordering::After);
        const storage::FsckReport rep = d->fsck();
        QVERIFY2(rep.isClean(), qPrintable(QStringList(rep.faults.begin(), rep.faults.end()).join(QLatin1Char('\n'))));
    }

    // A removal from a peer: taken when the node here is not newer (twice:
    // nothing more), kept when it was edited beside it; for a node not here
    // its tombstone is kept, so a stale update loses here too.
    void removalsFromAPeer()
    {
        auto d = fresh();
        QVERIFY(d);
        const VNode h = d->putFileBytes(QStringLiteral("/h"), "h").value();
        VD_VERIFY_OK(d->commit());
        Tombstone t{rootId(), 5, VersionVector::merge(h.version, vv({{kThere, 900}})).value()};
        auto applied = d->applyRemoteRemoval(h.id, t);
        VD_VERIFY_OK(applied);
        QCOMPARE(applied->outcome, Applied::Removed);
        VD_VERIFY_OK(d->commit());
        VD_VERIFY_CODE(d->stat(QStringLiteral("/h")), ErrorCode::NotFound);
        auto tombs = d->tombstones().value();
        QCOMPARE(tombs.size(), size_t(1));
        QCOMPARE(tombs[0].second.version, t.version);
        const uint64_t next = d->nextChangeSequence();
        QCOMPARE(d->applyRemoteRemoval(h.id, t).value().outcome, Applied::Unchanged);
        QVERIFY(!d->hasUncommittedChanges());
        QCOMPARE(d->nextChangeSequence(), next);
        // Edited here beside the removal: it stays.
        const VNode e = d->putFileBytes(QStringLiteral("/e"), "e").value();
        VD_VERIFY_OK(d->commit());
        const VersionVector seen = e.version;
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/e"), "edited"));
        VD_VERIFY_OK(d->commit());
        QCOMPARE(d->applyRemoteRemoval(e.id, Tombstone{rootId(), 6, VersionVector::merge(seen, vv({{kThere, 950}})).value()}).value().outcome, Applied::Kept);
        QCOMPARE(d->read(QStringLiteral("/e"), 0, 100).value(), QByteArray("edited"));
        // Not here at all: the tombstone is kept.
        const Ruid unknown = Ruid::generate();
        QCOMPARE(d->applyRemoteRemoval(unknown, Tombstone{rootId(), 7, vv({{kThere, 960}})}).value().outcome, Applied::Removed);
        VD_VERIFY_OK(d->commit());
        RemoteNode late;
        late.node.id = unknown;
        late.node.parent = rootId();
        late.node.name = QStringLiteral("late");
        late.node.kind = Kind::Directory;
        late.node.version = vv({{kThere, 955}});
        QCOMPARE(d->applyRemote(late).value().outcome, Applied::Unchanged);
        const storage::FsckReport rep = d->fsck();
        QVERIFY2(rep.isClean(), qPrintable(QStringList(rep.faults.begin(), rep.faults.end()).join(QLatin1Char('\n'))));
    }

    // Places: a move that would put a folder inside itself is skipped (the
    // rest is taken, and the outcome is a change of this node); a name
    // another node holds goes to the larger stamp.
    void movesAndNames()
    {
        auto d = fresh();
        QVERIFY(d);
        const VNode a = d->mkdir(QStringLiteral("/a"), false).value();
        const VNode b = d->mkdir(QStringLiteral("/a/b"), false).value();
        VD_VERIFY_OK(d->commit());
        RemoteNode cycle;
        cycle.node = a;
        cycle.node.parent = b.id;
        VD_VERIFY_OK(cycle.node.version.increment(kThere, 500));
        auto applied = d->applyRemote(cycle);
        VD_VERIFY_OK(applied);
        QVERIFY(applied->moveSkipped);
        VD_VERIFY_OK(d->commit());
        const VNode stays = d->stat(QStringLiteral("/a")).value();
        QCOMPARE(stays.id, a.id);
        QCOMPARE(stays.version.compare(cycle.node.version), VersionVector::Ordering::After);
        QCOMPARE(d->stat(QStringLiteral("/a/b")).value().id, b.id);
        // A new node whose name is taken here by another node with an older stamp.
        RemoteNode other;
        other.node.id = Ruid::generate();
        other.node.parent = rootId();
        other.node.name = QStringLiteral("a");
        other.node.kind = Kind::Directory;
        other.node.modifiedMs = 1700000000000;
        other.node.version = vv({{kThere, 10'000}});
        applied = d->applyRemote(other);
        VD_VERIFY_OK(applied);
        QCOMPARE(applied->outcome, Applied::Created);
        VD_VERIFY_OK(d->commit());
        QCOMPARE(d->stat(QStringLiteral("/a")).value().id, other.node.id);
        const QString renamed = RemoteChanges::conflictName(QStringLiteral("a"), stays.modifiedMs, kHere);
        QCOMPARE(d->stat(QLatin1Char('/') + renamed).value().id, a.id);
        QCOMPARE(d->stat(QLatin1Char('/') + renamed + QStringLiteral("/b")).value().id, b.id);
        const storage::FsckReport rep = d->fsck();
        QVERIFY2(rep.isClean(), qPrintable(QStringList(rep.faults.begin(), rep.faults.end()).join(QLatin1Char('\n'))));
    }

    // A remote record that does not hold together is refused before
    // anything changes.
    void badRemoteRecordsAreRefused()
    {
        auto d = fresh();
        QVERIFY(d);
        VD_VERIFY_OK(d->putFileBytes(QStringLiteral("/src"), "bytes"));
        VD_VERIFY_OK(d->commit());
        RemoteNode r = remoteOf(*d, QStringLiteral("/src"));
        r.node.id = Ruid::generate();
        r.node.version = vv({{kThere, 3}});
        RemoteNode bad = r;
        bad.node.size = 99; // not what its clusters hold
        VD_VERIFY_CODE(d->applyRemote(bad), ErrorCode::InvalidArgument);
        bad = r;
        bad.node.version = {};
        VD_VERIFY_CODE(d->applyRemote(bad), ErrorCode::InvalidArgument);
        bad = r;
        bad.node.name = QStringLiteral("a/b");
        VD_VERIFY_CODE(d->applyRemote(bad), ErrorCode::InvalidArgument);
        bad = r;
        bad.node.id = rootId();
        VD_VERIFY_CODE(d->applyRemote(bad), ErrorCode::InvalidArgument);
        bad = r;
        bad.clusters.clear();
        bad.node.kind = Kind::JsonValue;
        bad.node.value = "{\"not\": \"a scalar\"}";
        bad.node.size = uint64_t(bad.node.value.size());
        VD_VERIFY_CODE(d->applyRemote(bad), ErrorCode::InvalidArgument);
        bad = r;
        bad.node.parent = Ruid::generate(); // not here
        VD_VERIFY_CODE(d->applyRemote(bad), ErrorCode::NotFound);
        QVERIFY(!d->hasUncommittedChanges());
        VD_VERIFY_CODE(d->applyRemoteRemoval(Ruid::generate(), Tombstone{}), ErrorCode::InvalidArgument);
    }

    // The node's API for it: a write request on the host, committed before
    // its future reports; twice is nothing more.
    // A file from another node arrives as its record and its clusters,
    // which name content by hash: its bytes are not here yet, so reading it
    // says NotHere (fsck counts it, clean); once the content is imported —
    // verified against its name — it reads the same bytes as on the node it
    // came from. The peer network's whole path, without the wire.
    void aRemoteFileReadsNotHereUntilItsContentArrives()
    {
        auto replica = [&](const QString &dir, uint64_t node) -> std::unique_ptr<Drive> {
            auto c = storage::Collection::create(*m_env, dir, QStringLiteral("t"));
            if (!c)
                return nullptr;
            auto d = Drive::attach(std::move(c).value(), test::testDrive({}, node));
            return d ? std::move(d).value() : nullptr;
        };
        auto there = replica(QStringLiteral("/there"), kThere);
        auto here = replica(QStringLiteral("/here"), kHere);
        QVERIFY(there && here);
        QByteArray bytes(3 * 1024 * 1024 + 4321, Qt::Uninitialized); // whole blocks and a packed tail
        for (qsizetype i = 0; i < bytes.size(); ++i)
            bytes[i] = char((i * 7919) >> 5);
        VD_VERIFY_OK(there->putFileBytes(QStringLiteral("/f"), bytes));
        VD_VERIFY_OK(there->commit());
        const RemoteNode r = remoteOf(*there, QStringLiteral("/f"));
        QVERIFY(!r.clusters.empty());

        auto applied = here->applyRemote(r);
        VD_VERIFY_OK(applied);
        QCOMPARE(applied->outcome, Applied::Created);
        VD_VERIFY_OK(here->commit());
        QCOMPARE(here->stat(QStringLiteral("/f")).value().size, uint64_t(bytes.size()));
        VD_VERIFY_CODE(here->read(QStringLiteral("/f"), 0, 100), ErrorCode::NotHere);
        storage::FsckReport rep = here->fsck();
        QVERIFY2(rep.isClean(), qPrintable(QStringList(rep.faults.begin(), rep.faults.end()).join(QLatin1Char('\n'))));
        QVERIFY(rep.contentNotHere > 0);

        // The content, as the peer would send it: each piece's bytes.
        std::vector<std::pair<Hash256, QByteArray>> pieces;
        for (const auto &[start, cluster] : r.clusters) {
            uint64_t at = start;
            for (const storage::Piece &p : cluster.pieces) {
                if (p.kind == storage::Piece::Kind::Content)
                    pieces.emplace_back(p.name, bytes.mid(qsizetype(at), qsizetype(p.length)));
                at += p.length;
            }
        }
        QVERIFY(pieces.size() >= 2);
        // Bytes that do not match the name are refused, and nothing is stored.
        QByteArray wrong = pieces.front().second;
        wrong[0] = char(wrong[0] ^ 1);
        VD_VERIFY_CODE(here->collection().importContent(pieces.front().first, wrong), ErrorCode::Corruption);
        for (const auto &[name, content] : pieces)
            VD_VERIFY_OK(here->collection().importContent(name, content));
        VD_VERIFY_OK(here->commit());
        QCOMPARE(here->read(QStringLiteral("/f"), 0, uint64_t(bytes.size())).value(), bytes);
        rep = here->fsck();
        QVERIFY2(rep.isClean(), qPrintable(QStringList(rep.faults.begin(), rep.faults.end()).join(QLatin1Char('\n'))));
        QCOMPARE(rep.contentNotHere, uint64_t(0));
        // Applying the same record again changes nothing.
        QCOMPARE(here->applyRemote(r).value().outcome, Applied::Unchanged);
    }

    void applyThroughTheHost()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        node::Node n(node::NodeOptions{nullptr, tmp.path(), {}});
        DriveHost *h = n.create(QStringLiteral("c")).value();
        RemoteNode r;
        r.node.id = Ruid::generate();
        r.node.parent = rootId();
        r.node.name = QStringLiteral("from-a-peer");
        r.node.kind = Kind::Directory;
        r.node.version = vv({{kThere, 12}});
        auto first = await(h->applyRemote(r));
        VD_VERIFY_OK(first);
        QCOMPARE(first->outcome, Applied::Created);
        auto generation = [h] { return await(h->read<uint64_t>([](Drive &d, OpContext &) -> Result<uint64_t> { return d.generation(); })).value(); };
        const uint64_t before = generation();
        auto seen = await(h->read<VNode>([](Drive &d, OpContext &) { return d.stat(QStringLiteral("/from-a-peer")); }));
        VD_VERIFY_OK(seen);
        QCOMPARE(seen->version, r.node.version);
        auto second = await(h->applyRemote(r));
        VD_VERIFY_OK(second);
        QCOMPARE(second->outcome, Applied::Unchanged);
        QCOMPARE(generation(), before); // nothing committed
        auto removed = await(h->applyRemoteRemoval(r.node.id, Tombstone{rootId(), 1, vv({{kThere, 13}})}));
        VD_VERIFY_OK(removed);
        QCOMPARE(removed->outcome, Applied::Removed);
    }
};

QTEST_GUILESS_MAIN(TestVersions)
#include "tst_versions.moc"
