// The DriveApi through the control socket: a real node serving DriveService
// on a Unix socket, and RemoteDriveApi in the same process but over real
// connections — answers, errors, streams of thousands of entries, imports
// and exports with progress, and change records as events, as the
// explorer sees them when it is a client of `vdrive serve`. Bad arguments
// get clear errors.
#include "client/localdriveapi.h"
#include "control/apicodec.h"
#include "control/controlclient.h"
#include "control/controlserver.h"
#include "control/driveservice.h"
#include "control/remotedriveapi.h"
#include "foldermodel.h"
#include "node/node.h"
#include "testsupport.h"
#include "treedamage.h"

#include <QAbstractItemModelTester>
#include <QCborArray>
#include <QCborMap>
#include <QSignalSpy>
#include <QTemporaryDir>

#include <algorithm>
#include <set>

using namespace vd;
using control::RemoteDriveApi;

namespace {

template<typename T>
Result<T> await(QFuture<Result<T>> f)
{
    while (!f.isFinished())
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    return f.result();
}

struct Handler final : control::RequestHandler
{
    control::DriveService *service = nullptr;
    void handle(const control::Request &request, control::Responder responder) override
    {
        if (control::DriveService::serves(request.method))
            service->handle(request, std::move(responder));
        else
            responder.fail(Status::invalidArgument(QStringLiteral("unknown method")));
    }
};

} // namespace

class TestRemoteDriveApi : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    std::unique_ptr<node::Node> m_node;
    std::unique_ptr<client::LocalDriveApi> m_local;
    Handler m_handler;
    std::unique_ptr<control::ControlServer> m_server;
    std::unique_ptr<control::DriveService> m_service;
    std::unique_ptr<RemoteDriveApi> m_remote;
    Ruid m_col;

    client::DriveApi &remote() { return *m_remote; }
    client::DriveApi &local() { return *m_local; }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        node::NodeOptions o;
        o.dataDir = m_tmp.filePath(QStringLiteral("data"));
        m_node = std::make_unique<node::Node>(o);
        m_local = std::make_unique<client::LocalDriveApi>(*m_node);
        m_server = std::make_unique<control::ControlServer>(m_handler);
        m_service = std::make_unique<control::DriveService>(*m_local, m_server.get());
        m_handler.service = m_service.get();
        const QString socket = m_tmp.filePath(QStringLiteral("s"));
        VD_VERIFY_OK(m_server->listen(socket));
        m_remote = std::make_unique<RemoteDriveApi>(o.dataDir, socket, QStringLiteral("tst_remotedriveapi"));
        VD_VERIFY_OK(m_remote->start());
        auto made = await(remote().createCollection(QStringLiteral("far")));
        VD_VERIFY_OK(made);
        QCOMPARE(made->name, QStringLiteral("far"));
        m_col = made->ruid;
    }

    void cleanupTestCase()
    {
        m_remote.reset();
        m_service.reset();
        m_server.reset();
        m_local.reset();
        m_node.reset();
    }

    // The same answers as the node's own API, errors with their codes.
    void answersAsTheNodeDoes()
    {
        auto cols = await(remote().collections());
        VD_VERIFY_OK(cols);
        QCOMPARE(cols->size(), size_t(1));
        QCOMPARE(cols->front().ruid, m_col);
        VD_VERIFY_OK(await(remote().mkdir(m_col, QStringLiteral("/a"))));
        auto made = await(remote().mkdir(m_col, QStringLiteral("/a/名前 with spaces")));
        VD_VERIFY_OK(made);
        auto seen = await(local().stat(m_col, QStringLiteral("/a/名前 with spaces"), {}));
        VD_VERIFY_OK(seen);
        QCOMPARE(seen->id, made->id);
        auto path = await(remote().pathOf(m_col, made->id, {}));
        VD_VERIFY_OK(path);
        QCOMPARE(*path, QStringLiteral("/a/名前 with spaces"));
        VD_VERIFY_CODE(await(remote().stat(m_col, QStringLiteral("/missing"), {})), ErrorCode::NotFound);
        VD_VERIFY_CODE(await(remote().mkdir(m_col, QStringLiteral("/a"))), ErrorCode::AlreadyExists);
        VD_VERIFY_CODE(await(remote().list(Ruid::generate(), QStringLiteral("/"), {})), ErrorCode::NotFound);
        VD_VERIFY_OK(await(remote().move(m_col, QStringLiteral("/a/名前 with spaces"), QStringLiteral("/b"))));
        VD_VERIFY_OK(await(remote().copy(m_col, QStringLiteral("/b"), QStringLiteral("/c"), {})));
        auto removed = await(remote().remove(m_col, {QStringLiteral("/c")}, false));
        VD_VERIFY_OK(removed);
        QCOMPARE(*removed, uint64_t(1));
        auto trash = await(remote().trash(m_col));
        VD_VERIFY_OK(trash);
        QCOMPARE(trash->size(), size_t(1));
        QCOMPARE(trash->front().originalPath, QStringLiteral("/c"));
        VD_VERIFY_OK(await(remote().restoreFromTrash(m_col, trash->front().id, {})));
        auto snap = await(remote().createSnapshot(m_col, QStringLiteral("s1")));
        VD_VERIFY_OK(snap);
        VD_VERIFY_OK(await(remote().mkdir(m_col, QStringLiteral("/after"))));
        auto diff = await(remote().diff(m_col, QStringLiteral("s1"), {}));
        VD_VERIFY_OK(diff);
        QCOMPARE(diff->size(), size_t(1));
        QCOMPARE(diff->front().path, QStringLiteral("/after"));
        QCOMPARE(diff->front().change, tree::DiffEntry::Change::Added);
        auto snaps = await(remote().snapshots(m_col, true));
        VD_VERIFY_OK(snaps);
        QCOMPARE(snaps->size(), size_t(1));
        QVERIFY(snaps->front().uniqueBytes.has_value());
        auto usage = await(remote().usage(m_col));
        VD_VERIFY_OK(usage);
        QVERIFY(usage->vnodes > 0);
        QVERIFY(usage->diskFreeBytes > 0);
    }

    // A listing of 20,000 entries comes as a stream of chunks, whole and in order.
    void streamsALargeListing()
    {
        auto host = m_local->host(m_col);
        VD_VERIFY_OK(host);
        auto made = await((*host)->write<bool>([](tree::Drive &d, node::OpContext &) -> Result<bool> {
            VD_TRY(d.mkdir(QStringLiteral("/big"), false).status());
            for (int i = 0; i < 20000; ++i)
                VD_TRY(d.mkdir(QStringLiteral("/big/entry %1").arg(i, 5, 10, QLatin1Char('0')), false).status());
            return true;
        }));
        VD_VERIFY_OK(made);
        auto far = await(remote().list(m_col, QStringLiteral("/big"), {}));
        auto near = await(local().list(m_col, QStringLiteral("/big"), {}));
        VD_VERIFY_OK(far);
        VD_VERIFY_OK(near);
        QCOMPARE(far->entries.size(), size_t(20000));
        QCOMPARE(far->generation, near->generation);
        QCOMPARE(far->folder.id, near->folder.id);
        for (size_t i = 0; i < far->entries.size(); ++i) {
            QCOMPARE(far->entries[i].name, near->entries[i].name);
            QCOMPARE(far->entries[i].id, near->entries[i].id);
        }
    }

    // A model over the remote API follows a change another client makes:
    // the records come as events.
    void followsChangesThroughEvents()
    {
        VD_VERIFY_OK(await(local().mkdir(m_col, QStringLiteral("/live"))));
        widgets::FolderModel m(m_remote.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setLocation(m_col, QStringLiteral("/live"));
        QVERIFY(QTest::qWaitFor([&] { return m.state() == widgets::FolderModel::State::Ready; }, 10000));
        QSignalSpy changed(m_remote.get(), &client::DriveApi::changed);
        VD_VERIFY_OK(await(local().mkdir(m_col, QStringLiteral("/live/made elsewhere"))));
        QVERIFY(QTest::qWaitFor([&] { return m.entryCount() == 1; }, 10000));
        QCOMPARE(m.node(0).name, QStringLiteral("made elsewhere"));
        QVERIFY(changed.count() >= 1);
    }

    // Collections renamed and deleted through the socket, each change
    // announced to the client as a drive.collections event.
    void renamesAndDeletesCollections()
    {
        QSignalSpy announced(m_remote.get(), &client::DriveApi::collectionsChanged);
        auto made = await(remote().createCollection(QStringLiteral("temporary")));
        VD_VERIFY_OK(made);
        QVERIFY(QTest::qWaitFor([&] { return announced.count() >= 1; }, 10000));
        VD_VERIFY_OK(await(remote().mkdir(made->ruid, QStringLiteral("/inside"))));

        VD_VERIFY_CODE(await(remote().renameCollection(made->ruid, QStringLiteral("far"))), ErrorCode::AlreadyExists);
        const int before = int(announced.count());
        auto renamed = await(remote().renameCollection(made->ruid, QStringLiteral("一時 temporary")));
        VD_VERIFY_OK(renamed);
        QCOMPARE(renamed->ruid, made->ruid);
        QCOMPARE(renamed->name, QStringLiteral("一時 temporary"));
        QVERIFY(QTest::qWaitFor([&] { return announced.count() > before; }, 10000));
        auto cols = await(local().collections());
        VD_VERIFY_OK(cols);
        QStringList names;
        for (const client::CollectionSummary &c : *cols)
            names << c.name;
        names.sort();
        QCOMPARE(names, (QStringList{QStringLiteral("far"), QStringLiteral("一時 temporary")}));

        const int beforeDelete = int(announced.count());
        auto deleted = await(remote().deleteCollection(made->ruid));
        VD_VERIFY_OK(deleted);
        QVERIFY(QTest::qWaitFor([&] { return announced.count() > beforeDelete; }, 10000));
        auto after = await(remote().collections());
        VD_VERIFY_OK(after);
        QCOMPARE(after->size(), size_t(1));
        QCOMPARE(after->front().ruid, m_col);
        VD_VERIFY_CODE(await(remote().list(made->ruid, QStringLiteral("/"), {})), ErrorCode::NotFound);
        VD_VERIFY_CODE(await(remote().deleteCollection(made->ruid)), ErrorCode::NotFound);
        VD_VERIFY_OK(await(remote().stat(m_col, QStringLiteral("/"), {}))); // the other one is served on
    }

    // Import and export through the node: progress as it goes, the report
    // at the end, the bytes unchanged; a relative local path is refused.
    void importsAndExports()
    {
        QTemporaryDir src;
        QDir(src.path()).mkpath(QStringLiteral("tree/sub"));
        for (int i = 0; i < 50; ++i) {
            QFile f(src.filePath(QStringLiteral("tree/sub/f%1").arg(i)));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(test::randomBytes(1000 + i, quint32(i)));
        }
        VD_VERIFY_OK(await(remote().mkdir(m_col, QStringLiteral("/in"))));
        client::Transfer t = remote().importLocal(m_col, {src.filePath(QStringLiteral("tree"))}, QStringLiteral("/in"));
        auto report = await(t.done);
        VD_VERIFY_OK(report);
        QCOMPARE(report->files, uint64_t(50));
        QCOMPARE(t.state->progress().files, uint64_t(50)); // the last progress came before the end
        QCOMPARE(t.state->progress().totalFiles, uint64_t(50));
        QTemporaryDir out;
        client::Transfer e = remote().exportLocal(m_col, {QStringLiteral("/in/tree")}, out.path(), {}, false);
        auto exported = await(e.done);
        VD_VERIFY_OK(exported);
        QCOMPARE(exported->files, uint64_t(50));
        for (int i = 0; i < 50; i += 7) {
            QFile f(out.filePath(QStringLiteral("tree/sub/f%1").arg(i)));
            QVERIFY(f.open(QIODevice::ReadOnly));
            QCOMPARE(f.readAll(), test::randomBytes(1000 + i, quint32(i)));
        }
        VD_VERIFY_CODE(await(remote().importLocal(m_col, {QStringLiteral("relative/path")}, QStringLiteral("/in")).done), ErrorCode::InvalidArgument);
    }

    // A search streams its matches through the node.
    void searches()
    {
        VD_VERIFY_OK(await(local().mkdir(m_col, QStringLiteral("/find"))));
        VD_VERIFY_OK(await(local().mkdir(m_col, QStringLiteral("/find/Alpha"))));
        VD_VERIFY_OK(await(local().mkdir(m_col, QStringLiteral("/find/Alpha/alphabet"))));
        client::Search s = remote().search(m_col, QStringLiteral("/find"), QStringLiteral("ALPHA"), {});
        auto outcome = await(s.done);
        VD_VERIFY_OK(outcome);
        QCOMPARE(outcome->matches, uint64_t(2));
        const auto found = s.state->takeFrom(0);
        QCOMPARE(found.size(), size_t(2));
        QCOMPARE(found[0].path, QStringLiteral("/find/Alpha"));
        QCOMPARE(found[1].path, QStringLiteral("/find/Alpha/alphabet"));
    }

    // A JSON document through the node: read whole (exact literals, key
    // order), a value set, read again.
    void editsJson()
    {
        QTemporaryDir local;
        QFile f(local.filePath(QStringLiteral("doc.json")));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"z\": 12345678901234567890, \"a\": [1.10, true], \"m\": {\"k\": null}}");
        f.close();
        VD_VERIFY_OK(await(remote().importJson(m_col, f.fileName(), QStringLiteral("/doc.json"), false)));
        auto tree = await(remote().jsonTree(m_col, QStringLiteral("/doc.json"), {}));
        VD_VERIFY_OK(tree);
        QCOMPARE(tree->nodes, uint64_t(7));
        QCOMPARE(tree->root.children.size(), size_t(3));
        QCOMPARE(tree->root.children[0].key, QStringLiteral("z"));
        QCOMPARE(tree->root.children[0].literal, QByteArray("12345678901234567890"));
        QCOMPARE(tree->root.children[1].children[0].literal, QByteArray("1.10"));
        QCOMPARE(tree->root.children[2].children[0].key, QStringLiteral("k"));
        VD_VERIFY_OK(await(remote().setJson(m_col, QStringLiteral("/doc.json/a/0"), "2.50")));
        auto again = await(remote().jsonTree(m_col, QStringLiteral("/doc.json"), {}));
        VD_VERIFY_OK(again);
        QCOMPARE(again->root.children[1].children[0].literal, QByteArray("2.50"));
        QVERIFY(again->generation > tree->generation);
        QTemporaryDir out;
        auto written = await(remote().exportJson(m_col, QStringLiteral("/doc.json"), out.filePath(QStringLiteral("x.json")), {}));
        VD_VERIFY_OK(written);
        QVERIFY(*written > 0);
        VD_VERIFY_OK(await(remote().deleteJson(m_col, QStringLiteral("/doc.json/m"))));
        VD_VERIFY_CODE(await(remote().jsonTree(m_col, QStringLiteral("/doc.json/m"), {})), ErrorCode::NotFound);
    }

    // Deleting from the trash for good: chosen entries (all or none), then
    // the rest; what the node's own API sees agrees.
    void emptiesTheTrash()
    {
        for (const char *p : {"/t1", "/t2", "/t3"})
            VD_VERIFY_OK(await(remote().mkdir(m_col, QString::fromLatin1(p))));
        VD_VERIFY_OK(await(remote().remove(m_col, {QStringLiteral("/t1"), QStringLiteral("/t2"), QStringLiteral("/t3")}, false)));
        auto trash = await(remote().trash(m_col));
        VD_VERIFY_OK(trash);
        std::vector<Ruid> ids;
        for (const tree::TrashEntry &e : *trash)
            if (e.originalPath.startsWith(QLatin1String("/t")))
                ids.push_back(e.id);
        QCOMPARE(ids.size(), size_t(3));
        // One of them and one that is not there: nothing goes.
        VD_VERIFY_CODE(await(remote().emptyTrash(m_col, std::vector<Ruid>{ids[0], Ruid::generate()})), ErrorCode::NotFound);
        QCOMPARE(await(local().trash(m_col))->size(), trash->size());
        auto one = await(remote().emptyTrash(m_col, std::vector<Ruid>{ids[0]}));
        VD_VERIFY_OK(one);
        QCOMPARE(*one, uint64_t(1));
        auto left = await(local().trash(m_col));
        VD_VERIFY_OK(left);
        QCOMPARE(left->size(), trash->size() - 1);
        QVERIFY(std::none_of(left->begin(), left->end(), [&](const tree::TrashEntry &e) { return e.id == ids[0]; }));
        auto all = await(remote().emptyTrash(m_col));
        VD_VERIFY_OK(all);
        QCOMPARE(*all, uint64_t(left->size()));
        QCOMPARE(await(local().trash(m_col))->size(), size_t(0));
        VD_VERIFY_CODE(await(local().stat(m_col, QStringLiteral("/t2"), {})), ErrorCode::NotFound);
    }

    // The block map of a real collection: files of several sizes, small
    // ones packed in a SmallBlock, a snapshot holding a replaced file's old
    // version. The cheap map names every block's kind; the owners name the
    // files (live, or in the snapshot for the old version); the node's own
    // API and the socket answer the same.
    void mapsBlocksAndTheirOwners()
    {
        auto made = await(local().createCollection(QStringLiteral("blocks")));
        VD_VERIFY_OK(made);
        const Ruid col = made->ruid;
        QTemporaryDir src;
        QDir(src.path()).mkpath(QStringLiteral("m"));
        auto write = [&](const QString &name, qsizetype size, quint32 seed) {
            QFile f(src.filePath(QStringLiteral("m/") + name));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(test::randomBytes(size, seed));
        };
        write(QStringLiteral("big.bin"), (20 << 20) + 5, 1);
        write(QStringLiteral("mid.bin"), 3 << 20, 2);
        write(QStringLiteral("a.txt"), 3000, 3);
        write(QStringLiteral("b.txt"), 5000, 4);
        VD_VERIFY_OK(await(local().importLocal(col, {src.filePath(QStringLiteral("m"))}, QStringLiteral("/")).done));
        VD_VERIFY_OK(await(local().createSnapshot(col, QStringLiteral("before"))));
        auto oldMid = await(local().stat(col, QStringLiteral("/m/mid.bin"), {}));
        VD_VERIFY_OK(oldMid);
        write(QStringLiteral("mid.bin"), 3 << 20, 22); // a new version of mid.bin
        VD_VERIFY_OK(await(local().importLocal(col, {src.filePath(QStringLiteral("m/mid.bin"))}, QStringLiteral("/m")).done));

        auto map = await(local().blockMap(col));
        VD_VERIFY_OK(map);
        auto owners = await(local().blockOwners(col));
        VD_VERIFY_OK(owners);
        QCOMPARE(owners->generation, map->generation);

        // The map: exactly the allocator's blocks, each of a known kind.
        std::vector<storage::Extent> fromWords;
        for (size_t u = 0; u < map->words.size(); ++u)
            QVERIFY(storage::blocksOfWord(map->words[u], uint32_t(u), &fromWords));
        QCOMPARE(fromWords.size(), map->blocks.size());
        std::map<storage::BlockUse, int> kinds;
        std::map<uint64_t, const storage::MapBlock *> byOffset;
        for (const storage::MapBlock &b : map->blocks) {
            ++kinds[b.use];
            byOffset[b.offset] = &b;
        }
        QCOMPARE(map->blocks.front().use, storage::BlockUse::Head);
        QVERIFY(kinds[storage::BlockUse::Catalog] >= 1);
        QVERIFY(kinds[storage::BlockUse::Small] >= 1);
        QVERIFY(kinds[storage::BlockUse::Data] >= 3); // big.bin's blocks, the two versions of mid.bin
        const storage::AllocatorHealth health = storage::healthOf(*map);
        QCOMPARE(health.allocatedBytes + health.freeBytes, health.idvdBytes);
        QVERIFY(health.paddingBytes > 0); // at least the headers
        QVERIFY(health.fragmentedBytes <= health.freeBytes);

        // The owners: each file's blocks, live; the old mid.bin only in the snapshot.
        auto idOf = [&](const QString &path) {
            auto n = await(local().stat(col, path, {}));
            return n ? n->id : Ruid();
        };
        const Ruid big = idOf(QStringLiteral("/m/big.bin")), mid = idOf(QStringLiteral("/m/mid.bin"));
        const Ruid a = idOf(QStringLiteral("/m/a.txt")), b = idOf(QStringLiteral("/m/b.txt"));
        int bigBlocks = 0, midBlocks = 0, oldMidBlocks = 0, smallWithBoth = 0;
        for (const tree::BlockUsers &u : owners->blocks) {
            QVERIFY(byOffset.count(u.offset));
            const storage::MapBlock &blk = *byOffset[u.offset];
            QVERIFY(blk.use == storage::BlockUse::Data || blk.use == storage::BlockUse::Small);
            QVERIFY(u.birth > 0 && u.birth <= map->generation);
            QVERIFY(!u.files.empty());
            std::set<Ruid> ids;
            for (const uint32_t f : u.files)
                ids.insert(owners->files[f].id);
            if (ids.count(big))
                QVERIFY(u.live && u.inSnapshot); // unchanged since the snapshot
            if (ids.count(big) && blk.use == storage::BlockUse::Data) { // (its tail may be packed)
                ++bigBlocks;
                QCOMPARE(owners->files[u.files[0]].path, QStringLiteral("/m/big.bin"));
            }
            if (u.live && ids.count(mid))
                ++midBlocks;
            if (!u.live) {
                ++oldMidBlocks;
                QVERIFY(u.inSnapshot);
                QCOMPARE(u.files.size(), size_t(1));
                const tree::BlockOwner &f = owners->files[u.files[0]];
                QCOMPARE(f.snapshot, QStringLiteral("before"));
                QCOMPARE(f.path, QStringLiteral("/m/mid.bin"));
                QCOMPARE(f.id, oldMid->id); // replaced in place: the same node
            }
            if (ids.count(a) && ids.count(b)) {
                ++smallWithBoth;
                QCOMPARE(blk.use, storage::BlockUse::Small);
                QVERIFY(blk.used >= 3000 / 4); // packed, but holding something
            }
        }
        QVERIFY(bigBlocks >= 2);
        QVERIFY(midBlocks >= 1);
        QVERIFY(oldMidBlocks >= 1);
        QCOMPARE(smallWithBoth, 1);

        // Through the socket: the same picture, byte for byte.
        auto farMap = await(remote().blockMap(col));
        VD_VERIFY_OK(farMap);
        QCOMPARE(control::codec::fromBlockMap(*farMap).toCborValue().toCbor(), control::codec::fromBlockMap(*map).toCborValue().toCbor());
        auto farOwners = await(remote().blockOwners(col));
        VD_VERIFY_OK(farOwners);
        QCOMPARE(farOwners->generation, owners->generation);
        QCOMPARE(control::codec::fromBlockOwners(*farOwners).toCborValue().toCbor(), control::codec::fromBlockOwners(*owners).toCborValue().toCbor());
    }

    // The block map's decoders refuse what a node could not have sent.
    void refusesBadBlockMaps()
    {
        using namespace control::codec;
        storage::AllocationMap m;
        m.words = {0x00030003u}; // slots 0 and 1, two 1 MiB blocks
        m.blocks = {{0, 0, storage::BlockUse::Head, 0}, {storage::kSlotSize, 0, storage::BlockUse::Data, 77}};
        VD_VERIFY_OK(toBlockMap(fromBlockMap(m), 1));
        auto damaged = [&](auto change) {
            storage::AllocationMap copy = m;
            change(copy);
            return toBlockMap(fromBlockMap(copy), 1);
        };
        VD_VERIFY_CODE(damaged([](storage::AllocationMap &c) { c.words = {0x00010003u}; }), ErrorCode::ProtocolError); // a slot of no block
        VD_VERIFY_CODE(damaged([](storage::AllocationMap &c) { c.blocks.pop_back(); }), ErrorCode::ProtocolError);
        VD_VERIFY_CODE(damaged([](storage::AllocationMap &c) { c.blocks[1].sizeClass = 1; }), ErrorCode::ProtocolError);
        VD_VERIFY_CODE(damaged([](storage::AllocationMap &c) { c.blocks[1].use = storage::BlockUse(9); }), ErrorCode::ProtocolError);
        VD_VERIFY_CODE(toBlockMap(QCborArray{QCborMap{{QStringLiteral("words"), QByteArray("abc")}}}, 1), ErrorCode::ProtocolError);
        VD_VERIFY_CODE(toBlockMap(QCborArray{7}, 1), ErrorCode::ProtocolError);

        tree::BlockOwners o;
        o.files = {{Ruid::generate(), QStringLiteral("/x"), QString(), {storage::kSlotSize}}};
        o.blocks = {{storage::kSlotSize, true, false, 3, 1, {0}}};
        VD_VERIFY_OK(toBlockOwners(fromBlockOwners(o), 1));
        const QCborValue id = fromRuid(Ruid::generate());
        auto ownersOf = [&](QCborArray fileBlocks, QCborArray block) {
            return toBlockOwners(QCborArray{QCborArray{QStringLiteral("f"), id, QStringLiteral("/x"), QString(), fileBlocks}, block}, 1);
        };
        auto owners = [&](QCborArray block) { return ownersOf(QCborArray{}, block); };
        VD_VERIFY_OK(owners(QCborArray{QStringLiteral("b"), 0, 1, 1, 1, QCborArray{0}}));
        // A file's own list of blocks: increasing, each one of those listed.
        const QCborArray block0{QStringLiteral("b"), 0, 1, 1, 1, QCborArray{0}};
        VD_VERIFY_OK(ownersOf(QCborArray{0}, block0));
        VD_VERIFY_CODE(ownersOf(QCborArray{qint64(storage::kSlotSize)}, block0), ErrorCode::ProtocolError); // not a block listed
        VD_VERIFY_CODE(ownersOf(QCborArray{0, 0}, block0), ErrorCode::ProtocolError);                       // not increasing
        VD_VERIFY_CODE(ownersOf(QCborArray{7}, block0), ErrorCode::ProtocolError);                          // not a MiB
        VD_VERIFY_CODE(ownersOf(QCborArray{-1}, block0), ErrorCode::ProtocolError);
        VD_VERIFY_CODE(toBlockOwners(QCborArray{QCborArray{QStringLiteral("f"), id, QStringLiteral("/x"), QString()}, block0}, 1),
                       ErrorCode::ProtocolError); // no list at all
        VD_VERIFY_CODE(toBlockOwners(QCborArray{QCborArray{QStringLiteral("f"), id, QStringLiteral("/x"), QStringLiteral("monday"), QCborArray{0}}, block0}, 1),
                       ErrorCode::ProtocolError); // a snapshot's file names none
        VD_VERIFY_CODE(owners(QCborArray{QStringLiteral("b"), 0, 1, 1, 1, QCborArray{1}}), ErrorCode::ProtocolError);       // no file 1
        VD_VERIFY_CODE(owners(QCborArray{QStringLiteral("b"), 5, 1, 1, 1, QCborArray{0}}), ErrorCode::ProtocolError);       // not a MiB
        VD_VERIFY_CODE(owners(QCborArray{QStringLiteral("b"), 0, 4, 1, 1, QCborArray{0}}), ErrorCode::ProtocolError);       // flags
        VD_VERIFY_CODE(owners(QCborArray{QStringLiteral("b"), 0, 1, 1, 0, QCborArray{0}}), ErrorCode::ProtocolError);       // count below the list
        VD_VERIFY_CODE(owners(QCborArray{QStringLiteral("b"), -1, 1, 1, 1, QCborArray{0}}), ErrorCode::ProtocolError);
        VD_VERIFY_CODE(owners(QCborArray{QStringLiteral("x")}), ErrorCode::ProtocolError);
        VD_VERIFY_CODE(toBlockOwners(QCborArray{QCborArray{QStringLiteral("b"), 0, 1, 1, 0, QCborArray{}}, QCborArray{QStringLiteral("b"), 0, 1, 1, 0, QCborArray{}}}, 1),
                       ErrorCode::ProtocolError); // offsets must increase
    }

    // A check through the socket: clean, then a data block damaged on disk
    // is named — in the faults, in the corrupt offsets, and in the block
    // map's answer — the same as the node's own API says.
    void checksThroughTheSocket()
    {
        auto made = await(local().createCollection(QStringLiteral("checked")));
        VD_VERIFY_OK(made);
        const Ruid col = made->ruid;
        QTemporaryDir src;
        QFile f(src.filePath(QStringLiteral("victim.bin")));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(test::randomBytes((3 << 20) / 2, 7)); // one 2 MiB data block
        f.close();
        QFile small(src.filePath(QStringLiteral("small.txt")));
        QVERIFY(small.open(QIODevice::WriteOnly));
        small.write(test::randomBytes(3000, 8)); // a packed slot of a SmallBlock
        small.close();
        VD_VERIFY_OK(await(local().importLocal(col, {f.fileName(), small.fileName()}, QStringLiteral("/")).done));

        auto clean = await(remote().fsck(col));
        VD_VERIFY_OK(clean);
        QVERIFY2(clean->isClean(), qPrintable(clean->faults.empty() ? QString() : clean->faults.front()));
        QVERIFY(clean->corruptOffsets.empty());
        QVERIFY(clean->blocksChecked > 0 && clean->bytesVerified >= uint64_t(f.size()));
        QVERIFY(clean->finishedMs > 0);
        auto map = await(remote().blockMap(col));
        VD_VERIFY_OK(map);
        QVERIFY(map->checkedMs > 0); // a check ran, and found nothing
        QCOMPARE(map->checkedGeneration, clean->generation);
        QVERIFY(map->corrupt.empty());

        uint64_t victim = 0, smallBlock = 0;
        for (const storage::MapBlock &b : map->blocks) {
            if (b.use == storage::BlockUse::Data)
                victim = b.offset;
            if (b.use == storage::BlockUse::Small && b.used > 0)
                smallBlock = b.offset;
        }
        QVERIFY(victim > 0 && smallBlock > 0);
        VD_VERIFY_OK(test::damageIdvd(m_node->dataDir(), col.toString(), victim + (512 << 10)));
        // The packed payload: right after the SmallBlock's 128-byte header.
        VD_VERIFY_OK(test::damageIdvd(m_node->dataDir(), col.toString(), smallBlock + 128 + 16));

        auto found = await(remote().fsck(col));
        VD_VERIFY_OK(found);
        QVERIFY(!found->isClean());
        QVERIFY(!found->faults.empty());
        std::vector<uint64_t> both{victim, smallBlock};
        std::sort(both.begin(), both.end());
        QCOMPARE(found->corruptOffsets, both);
        QCOMPARE(found->corruptNotListed, uint64_t(0));
        // The node's own answer, byte for byte (but for when it ran).
        auto near = await(local().fsck(col));
        VD_VERIFY_OK(near);
        storage::FsckReport farCopy = *found;
        farCopy.finishedMs = near->finishedMs;
        QCOMPARE(control::codec::fromFsckReport(farCopy).toCborValue().toCbor(), control::codec::fromFsckReport(*near).toCborValue().toCbor());
        auto marked = await(remote().blockMap(col));
        VD_VERIFY_OK(marked);
        QCOMPARE(marked->corrupt, both);
        QVERIFY(marked->isCorrupt(victim) && marked->isCorrupt(smallBlock));
        QCOMPARE(marked->checkFaults, uint64_t(near->faults.size()));
        QCOMPARE(marked->checkedMs, near->finishedMs);

        // A cancelled check leaves the last one standing.
        QFuture<Result<storage::FsckReport>> stopped = remote().fsck(col);
        stopped.cancel();
        QTRY_VERIFY_WITH_TIMEOUT(stopped.isFinished(), 10000);
        auto still = await(remote().blockMap(col));
        VD_VERIFY_OK(still);
        QCOMPARE(still->corrupt, both);
        VD_VERIFY_OK(await(local().deleteCollection(col)));
    }

    // A check's answer from a node is decoded strictly.
    void refusesBadChecks()
    {
        using namespace control::codec;
        storage::FsckReport r;
        r.faults = {QStringLiteral("data block x: hash mismatch"), QStringLiteral("another")};
        r.notes = {QStringLiteral("a note")};
        r.corruptOffsets = {2 * storage::kSlotSize, 5 * storage::kSlotSize};
        r.blocksChecked = 4;
        r.generation = 12;
        r.finishedMs = 1700000000000;
        auto back = toFsckReport(fromFsckReport(r));
        VD_VERIFY_OK(back);
        QCOMPARE(back->faults, r.faults);
        QCOMPARE(back->notes, r.notes);
        QCOMPARE(back->corruptOffsets, r.corruptOffsets);
        QCOMPARE(back->finishedMs, r.finishedMs);
        auto damaged = [&](auto change) {
            QCborArray items = fromFsckReport(r);
            change(items);
            return toFsckReport(items);
        };
        auto offsets = [](std::vector<uint64_t> list) {
            QByteArray raw;
            for (uint64_t o : list)
                for (int i = 0; i < 8; ++i)
                    raw.append(char(o >> (8 * i)));
            return QCborMap{{QStringLiteral("corrupt"), raw}};
        };
        VD_VERIFY_CODE(toFsckReport(QCborArray{}), ErrorCode::ProtocolError);                             // no counts
        VD_VERIFY_CODE(damaged([](QCborArray &i) { i.removeFirst(); }), ErrorCode::ProtocolError);        // counts not first
        VD_VERIFY_CODE(damaged([&](QCborArray &i) { i.append(offsets({3 * storage::kSlotSize + 5})); }), ErrorCode::ProtocolError); // not a block's
        VD_VERIFY_CODE(damaged([&](QCborArray &i) { i.append(offsets({storage::kSlotSize})); }), ErrorCode::ProtocolError);         // out of order
        VD_VERIFY_CODE(damaged([&](QCborArray &i) { i.append(QCborMap{{QStringLiteral("corrupt"), QByteArray("abc")}}); }), ErrorCode::ProtocolError);
        VD_VERIFY_CODE(damaged([](QCborArray &i) { i.append(QCborMap{{QStringLiteral("fault"), QStringLiteral("late")}}); }), ErrorCode::ProtocolError); // after the offsets
        VD_VERIFY_CODE(damaged([](QCborArray &i) { i.append(QCborMap{{QStringLiteral("fault"), 7}}); }), ErrorCode::ProtocolError);
        VD_VERIFY_CODE(damaged([](QCborArray &i) { i.append(QCborMap{{QStringLiteral("what"), 7}}); }), ErrorCode::ProtocolError);
        VD_VERIFY_CODE(damaged([](QCborArray &i) { i.append(7); }), ErrorCode::ProtocolError);
        VD_VERIFY_CODE(damaged([](QCborArray &i) {
                           QCborMap c = i.at(0).toMap().value(QStringLiteral("counts")).toMap();
                           c.insert(QStringLiteral("blocks"), -1);
                           i[0] = QCborMap{{QStringLiteral("counts"), c}};
                       }),
                       ErrorCode::ProtocolError);
        VD_VERIFY_CODE(damaged([](QCborArray &i) { i.insert(1, QCborMap{{QStringLiteral("fault"), QString(kMaxReportLineLength + 1, QLatin1Char('x'))}}); }),
                       ErrorCode::ProtocolError);
        // Too many offsets: past FsckReport::kMaxCorruptOffsets.
        std::vector<uint64_t> many(storage::FsckReport::kMaxCorruptOffsets + 1);
        for (size_t k = 0; k < many.size(); ++k)
            many[k] = uint64_t(k) * storage::kSlotSize;
        storage::FsckReport big = r;
        big.corruptOffsets = many;
        VD_VERIFY_CODE(toFsckReport(fromFsckReport(big)), ErrorCode::ProtocolError);
        // Too many faults are cut by the encoder, the rest counted in the last line.
        storage::FsckReport noisy;
        noisy.faults.assign(size_t(kMaxReportLines) + 5, QStringLiteral("x"));
        auto cut = toFsckReport(fromFsckReport(noisy));
        VD_VERIFY_OK(cut);
        QCOMPARE(qsizetype(cut->faults.size()), kMaxReportLines);
        QVERIFY(cut->faults.back().contains(QStringLiteral("6 more")));

        // The report's own bound: 65,536 offsets listed, each once, the rest counted.
        storage::FsckReport full;
        for (uint64_t k = 0; k < storage::FsckReport::kMaxCorruptOffsets; ++k) {
            full.markCorrupt(k * storage::kSlotSize);
            full.markCorrupt(k * storage::kSlotSize); // named twice: listed once
        }
        for (uint64_t k = 0; k < 10; ++k)
            full.markCorrupt((storage::FsckReport::kMaxCorruptOffsets + k) * storage::kSlotSize);
        full.markCorrupt(0); // already listed, out of order
        full.finishCorrupt();
        QCOMPARE(full.corruptOffsets.size(), storage::FsckReport::kMaxCorruptOffsets);
        QCOMPARE(full.corruptNotListed, uint64_t(10));
        VD_VERIFY_OK(toFsckReport(fromFsckReport(full)));

        // The block map's check: after the blocks, once; offsets after it.
        storage::AllocationMap m;
        m.words = {0x00030003u};
        m.blocks = {{0, 0, storage::BlockUse::Head, 0}, {storage::kSlotSize, 0, storage::BlockUse::Data, 77}};
        m.checkedMs = 1700000000000;
        m.checkedGeneration = 3;
        m.checkFaults = 1;
        m.corrupt = {storage::kSlotSize};
        auto mapBack = toBlockMap(fromBlockMap(m), 1);
        VD_VERIFY_OK(mapBack);
        QCOMPARE(mapBack->corrupt, m.corrupt);
        QCOMPARE(mapBack->checkedMs, m.checkedMs);
        auto badMap = [&](auto change) {
            QCborArray items = fromBlockMap(m);
            change(items);
            return toBlockMap(items, 1);
        };
        VD_VERIFY_CODE(badMap([](QCborArray &i) { i.append(i.at(i.size() - 2)); }), ErrorCode::ProtocolError); // the check twice
        VD_VERIFY_CODE(badMap([](QCborArray &i) { i.removeAt(i.size() - 2); }), ErrorCode::ProtocolError);     // offsets with no check
        VD_VERIFY_CODE(badMap([](QCborArray &i) { i.append(i.at(0)); }), ErrorCode::ProtocolError);            // words after the check
        VD_VERIFY_CODE(badMap([&](QCborArray &i) { i.append(offsets({0})); }), ErrorCode::ProtocolError);      // out of order
        VD_VERIFY_CODE(badMap([](QCborArray &i) {
                           QCborMap c = i.at(i.size() - 2).toMap().value(QStringLiteral("check")).toMap();
                           c.insert(QStringLiteral("ms"), 0);
                           i[i.size() - 2] = QCborMap{{QStringLiteral("check"), c}};
                       }),
                       ErrorCode::ProtocolError);
    }

    // Garbage from a client: a clear error for each, and the node serves on.
    void refusesBadArguments_data()
    {
        QTest::addColumn<QString>("method");
        QTest::addColumn<QCborValue>("args");
        QTest::addColumn<int>("code");
        const QCborValue col = control::codec::fromRuid(Ruid::generate());
        QTest::newRow("no collection") << QStringLiteral("drive.list") << QCborValue(QCborMap{{QStringLiteral("path"), QStringLiteral("/")}}) << int(ErrorCode::ProtocolError);
        QTest::newRow("short ruid") << QStringLiteral("drive.list") << QCborValue(QCborMap{{QStringLiteral("collection"), QByteArray("abc")}}) << int(ErrorCode::ProtocolError);
        QTest::newRow("path not text") << QStringLiteral("drive.stat") << QCborValue(QCborMap{{QStringLiteral("collection"), col}, {QStringLiteral("path"), 7}})
                                       << int(ErrorCode::ProtocolError);
        QTest::newRow("args not a map") << QStringLiteral("drive.stat") << QCborValue(QCborArray{1, 2}) << int(ErrorCode::InvalidArgument);
        QTest::newRow("no paths") << QStringLiteral("drive.remove") << QCborValue(QCborMap{{QStringLiteral("collection"), col}, {QStringLiteral("paths"), QCborArray{}}})
                                  << int(ErrorCode::InvalidArgument);
        QTest::newRow("rename: name not text") << QStringLiteral("drive.renameCollection")
                                               << QCborValue(QCborMap{{QStringLiteral("collection"), col}, {QStringLiteral("name"), 7}}) << int(ErrorCode::ProtocolError);
        QTest::newRow("rename: no collection") << QStringLiteral("drive.renameCollection") << QCborValue(QCborMap{{QStringLiteral("name"), QStringLiteral("x")}})
                                               << int(ErrorCode::ProtocolError);
        QTest::newRow("delete: no such collection") << QStringLiteral("drive.deleteCollection") << QCborValue(QCborMap{{QStringLiteral("collection"), col}})
                                                    << int(ErrorCode::NotFound);
        QTest::newRow("ids not ruids") << QStringLiteral("drive.emptyTrash")
                                       << QCborValue(QCborMap{{QStringLiteral("collection"), col}, {QStringLiteral("ids"), QCborArray{QByteArray("abc")}}})
                                       << int(ErrorCode::ProtocolError);
        QTest::newRow("ids not a list") << QStringLiteral("drive.emptyTrash")
                                        << QCborValue(QCborMap{{QStringLiteral("collection"), col}, {QStringLiteral("ids"), 7}}) << int(ErrorCode::ProtocolError);
        QTest::newRow("unknown") << QStringLiteral("drive.format") << QCborValue(QCborMap{{QStringLiteral("collection"), col}}) << int(ErrorCode::InvalidArgument);
    }
    void refusesBadArguments()
    {
        QFETCH(QString, method);
        QFETCH(QCborValue, args);
        QFETCH(int, code);
        control::ControlClient c;
        VD_VERIFY_OK(c.connectToSocket(m_server->socketPath(), QStringLiteral("garbage"), 5000));
        auto r = c.call(method, args);
        QVERIFY(!r);
        QCOMPARE(int(r.status().code()), code);
        QVERIFY(r.status().message().size() > 5);
        VD_VERIFY_OK(await(remote().stat(m_col, QStringLiteral("/"), {}))); // and the node serves on
    }
};

QTEST_MAIN(TestRemoteDriveApi)
#include "tst_remotedriveapi.moc"
