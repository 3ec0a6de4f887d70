// The block map: hit-testing as a pure function (a point → a cell → a
// block → its files) at several zoom levels, and the map in the explorer's
// window over a real node — selecting a file outlines its blocks, clicking
// a block selects its file, hostile names show literally in the tooltip.
#include "blockmapdata.h"
#include "blockmappanel.h"
#include "blockmapview.h"
#include "client/localdriveapi.h"
#include "displaytext.h"
#include "foldermodel.h"
#include "mainwindow.h"
#include "node/node.h"
#include "testsupport.h"
#include "treedamage.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMessageBox>
#include <QProgressDialog>
#include <QPushButton>
#include <QSettings>
#include <QTemporaryDir>
#include <QTextDocument>
#include <QTreeView>

#include <QScopeGuard>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

using namespace vd;
using widgets::BlockMapData;
using widgets::BlockMapLayout;
using widgets::CellState;
using widgets::FolderModel;
using widgets::MainWindow;

namespace {

template <typename T> Result<T> await(QFuture<Result<T>> f)
{
    while (!f.isFinished())
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    return f.result();
}

constexpr uint64_t MiB = storage::kSlotSize;

// Two units: head (slot 0), a catalog block (1), a 2 MiB data block (2-3),
// a 4 MiB SmallBlock (4-7) half full, free 8-15; unit 1: a 16 MiB data
// block only a snapshot holds.
BlockMapData sample()
{
    storage::AllocationMap m;
    m.generation = 9;
    m.words = { ((1u << 0 | 1u << 1 | 1u << 2 | 1u << 4) << 16) | 0x00ff, (1u << 16) | 0xffff };
    m.blocks = { { 0, 0, storage::BlockUse::Head, 0 }, { 1 * MiB, 0, storage::BlockUse::Catalog, 1000 },
        { 2 * MiB, 1, storage::BlockUse::Data, 2 * MiB - 300 }, { 4 * MiB, 2, storage::BlockUse::Small, 2 * MiB },
        { 16 * MiB, 4, storage::BlockUse::Data, 16 * MiB - 128 } };
    tree::BlockOwners o;
    o.generation = 9;
    const Ruid a = Ruid::generate(), b = Ruid::generate(), c = Ruid::generate();
    o.files = { { a, QStringLiteral("/docs/a.bin"), QString(), { 2 * MiB, 4 * MiB } }, { b, QStringLiteral("/docs/b.txt"), QString(), { 4 * MiB } },
        { c, QStringLiteral("/old.iso"), QStringLiteral("monday"), {} } };
    o.blocks = { { 2 * MiB, true, false, 5, 1, { 0 } }, { 4 * MiB, true, true, 7, 2, { 0, 1 } }, { 16 * MiB, false, true, 3, 1, { 2 } } };
    BlockMapData d;
    d.setMap(m);
    d.setOwners(o);
    return d;
}

QString plainOf(const QString &rich)
{
    QTextDocument doc;
    doc.setHtml(rich);
    return doc.toPlainText();
}

} // namespace

class TestBlockMap : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    std::unique_ptr<node::Node> m_node;
    std::unique_ptr<client::LocalDriveApi> m_api;
    Ruid m_col;
    // (No '/': a name cannot hold one.)
    const QString m_hostile = QStringLiteral("<b>x<img src=y>&amp;\u202Eevil\u0007");

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        QCoreApplication::setOrganizationName(QStringLiteral("vdrive-test"));
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_tmp.filePath(QStringLiteral("settings")));
        node::NodeOptions o;
        o.dataDir = m_tmp.filePath(QStringLiteral("data"));
        m_node = std::make_unique<node::Node>(o);
        m_api = std::make_unique<client::LocalDriveApi>(*m_node);
        auto made = await(m_api->createCollection(QStringLiteral("map")));
        VD_VERIFY_OK(made);
        m_col = made->ruid;
        // A folder with a 5 MiB file, a small one with a hostile name, and a
        // file replaced after a snapshot.
        QTemporaryDir src;
        QDir(src.path()).mkpath(QStringLiteral("pics"));
        auto write = [&](const QString &name, qsizetype size, quint32 seed) {
            QFile f(src.filePath(QStringLiteral("pics/") + name));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(test::randomBytes(size, seed));
        };
        write(QStringLiteral("large.bin"), 5 * MiB + 77, 1);
        write(m_hostile, 2000, 2);
        write(QStringLiteral("changed.bin"), 2 * MiB, 3);
        VD_VERIFY_OK(await(m_api->importLocal(m_col, { src.filePath(QStringLiteral("pics")) }, QStringLiteral("/")).done));
        VD_VERIFY_OK(await(m_api->createSnapshot(m_col, QStringLiteral("first"))));
        write(QStringLiteral("changed.bin"), 2 * MiB, 4);
        VD_VERIFY_OK(await(m_api->importLocal(m_col, { src.filePath(QStringLiteral("pics/changed.bin")) }, QStringLiteral("/pics")).done));
    }

    void cleanupTestCase()
    {
        m_api.reset();
        m_node.reset();
    }

    // Which cell is which block, and whose, at a few zoom levels.
    void hitTests_data()
    {
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("cellSize");
        QTest::addColumn<int>("columns");
        QTest::newRow("1 px, 100 wide") << 100 << 1 << 96;
        QTest::newRow("8 px, 300 wide") << 300 << 8 << 32;
        QTest::newRow("64 px: one unit a row") << 300 << 64 << 16;
    }
    void hitTests()
    {
        QFETCH(int, width);
        QFETCH(int, cellSize);
        QFETCH(int, columns);
        const BlockMapData d = sample();
        const BlockMapLayout l = BlockMapLayout::forWidth(width, cellSize);
        QCOMPARE(l.columns, columns);
        QCOMPARE(d.cellCount(), uint64_t(32));
        // Every cell: its rectangle's centre hits it again.
        for (uint64_t cell = 0; cell < d.cellCount(); ++cell) {
            const QRect r = l.cellRect(cell);
            QCOMPARE(r.size(), QSize(cellSize, cellSize));
            QCOMPARE(l.cellAt(r.center(), d.cellCount()), std::optional<uint64_t>(cell));
            QCOMPARE(l.cellAt(r.topLeft(), d.cellCount()), std::optional<uint64_t>(cell));
            QCOMPARE(l.cellAt(r.bottomRight(), d.cellCount()), std::optional<uint64_t>(cell));
        }
        // Outside the cells: nothing.
        QVERIFY(!l.cellAt(QPoint(-1, 0), d.cellCount()));
        QVERIFY(!l.cellAt(QPoint(columns * cellSize, 0), d.cellCount()));
        QVERIFY(!l.cellAt(QPoint(0, int(l.rows(d.cellCount())) * cellSize), d.cellCount()));
        // Cells to blocks to files.
        auto blockAt = [&](uint64_t cell) { return d.blockAt(*l.cellAt(l.cellRect(cell).center(), d.cellCount())); };
        QCOMPARE(blockAt(0), 0);
        QCOMPARE(d.stateOf(blockAt(0)), CellState::Head);
        QCOMPARE(blockAt(1), 1);
        QCOMPARE(d.stateOf(1), CellState::Catalog);
        QCOMPARE(blockAt(2), 2);
        QCOMPARE(blockAt(3), 2); // a 2 MiB block is two cells
        QCOMPARE(d.stateOf(2), CellState::Data);
        QCOMPARE(d.filesOf(2).size(), size_t(1));
        QCOMPARE(d.filesOf(2)[0].path, QStringLiteral("/docs/a.bin"));
        for (uint64_t c = 4; c < 8; ++c)
            QCOMPARE(blockAt(c), 3);
        QCOMPARE(d.stateOf(3), CellState::Small);
        QCOMPARE(d.filesOf(3).size(), size_t(2));
        QCOMPARE(d.filesOf(3)[1].path, QStringLiteral("/docs/b.txt"));
        for (uint64_t c = 8; c < 16; ++c)
            QCOMPARE(blockAt(c), -1);
        QCOMPARE(d.stateOf(-1), CellState::Free);
        for (uint64_t c = 16; c < 32; ++c)
            QCOMPARE(blockAt(c), 4);
        QCOMPARE(d.stateOf(4), CellState::Snapshot);
        QCOMPARE(d.filesOf(4)[0].snapshot, QStringLiteral("monday"));
        // A block never wraps a row: its cells are one run.
        const QRect run = l.runRect(16, 16);
        QCOMPARE(run.width(), 16 * cellSize);
        QCOMPARE(l.cellAt(run.topLeft(), d.cellCount()), std::optional<uint64_t>(16));
        QCOMPARE(l.cellAt(run.bottomRight(), d.cellCount()), std::optional<uint64_t>(31));
        // The picture: one pixel per cell, in the cell's colour.
        const QImage pic = d.picture(l.columns);
        QCOMPARE(pic.width(), l.columns);
        for (uint64_t c : { 0, 2, 5, 9, 20 })
            QCOMPARE(pic.pixel(int(c % uint64_t(l.columns)), int(c / uint64_t(l.columns))), d.colourOf(d.blockAt(c)).rgb());
        // Selection: by id, and by folder.
        QCOMPARE(d.blocksUsedBy({ d.filesOf(2)[0].id }, {}), (std::vector<int> { 2, 3 }));
        QCOMPARE(d.blocksUsedBy({}, { QStringLiteral("/docs") }), (std::vector<int> { 2, 3 }));
        QCOMPARE(d.blocksUsedBy({}, { QStringLiteral("/doc") }), std::vector<int> {});
        // Health: two units, 8 MiB allocated in unit 0, the other 8 free in one run.
        const storage::AllocatorHealth &h = d.health();
        QCOMPARE(h.idvdBytes, 32 * MiB);
        QCOMPARE(h.allocatedBytes, 24 * MiB);
        QCOMPARE(h.freeBytes, 8 * MiB);
        QCOMPARE(h.freeRuns[3], uint64_t(1));
        QCOMPARE(h.fragmentedBytes, 8 * MiB);
        QCOMPARE(h.paddingBytes, uint64_t(300 + 2 * MiB + 128));
    }

    // Owners matched by offset: one for a block the map does not have is dropped.
    void ownersOfAnotherGeneration()
    {
        BlockMapData d = sample();
        tree::BlockOwners o;
        o.files = { { Ruid::generate(), QStringLiteral("/x"), QString(), { 8 * MiB, 16 * MiB } } };
        o.blocks = { { 8 * MiB, true, false, 12, 1, { 0 } }, { 16 * MiB, true, false, 12, 1, { 0 } } };
        d.setOwners(o);
        QVERIFY(!d.usersOf(2));
        QCOMPARE(d.stateOf(2), CellState::Unused); // a data block no tree uses
        QCOMPARE(d.stateOf(4), CellState::Data);
        QCOMPARE(d.filesOf(4)[0].path, QStringLiteral("/x"));
    }

    // A check that finds a damaged block: Collection ▸ Check Drive... says
    // so behind "Show Details...", and the block map paints exactly that
    // block in the corrupt colour, with a tooltip saying why. A clean
    // collection has no corrupt cell; a cancelled check keeps the last one.
    void corruptBlocksAfterACheck()
    {
        auto made = await(m_api->createCollection(QStringLiteral("damaged")));
        VD_VERIFY_OK(made);
        const Ruid col = made->ruid;
        QTemporaryDir src;
        QFile f(src.filePath(QStringLiteral("victim.bin")));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(test::randomBytes(3 * MiB / 2, 5)); // one 2 MiB data block
        f.close();
        VD_VERIFY_OK(await(m_api->importLocal(col, { f.fileName() }, QStringLiteral("/")).done));

        MainWindow w(m_api.get());
        w.resize(1000, 700);
        w.show();
        w.openCollection(col.toString(), QStringLiteral("/"));
        QTRY_COMPARE_WITH_TIMEOUT(w.folderModel()->state(), FolderModel::State::Ready, 10000);
        w.action(QStringLiteral("showBlockMap"))->trigger();
        widgets::BlockMapPanel *panel = w.blockMapPanel();
        widgets::BlockMapView *view = panel->view();
        QAction *check = w.action(QStringLiteral("checkDrive"));
        QVERIFY(check);
        QCOMPARE(check->shortcut(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_K));
        auto box = [&](const char *name) { return w.findChild<QMessageBox *>(QLatin1String(name)); };

        // Clean: said so, and the map (asked again after it) has no corrupt cell.
        check->trigger();
        QVERIFY(w.checkProgress());
        QTRY_VERIFY_WITH_TIMEOUT(box("checkClean"), 10000);
        QVERIFY(box("checkClean")->text().contains(QStringLiteral("clean")));
        box("checkClean")->close();
        QTRY_VERIFY_WITH_TIMEOUT(panel->isComplete() && view->isPictureCurrent() && view->data()->map().checkedMs > 0, 10000);
        const BlockMapData *data = view->data();
        int victim = -1;
        for (int b = 0; b < data->blockCount(); ++b) {
            QVERIFY(data->stateOf(b) != CellState::Corrupt);
            if (data->block(b).use == storage::BlockUse::Data)
                victim = b;
        }
        QVERIFY(victim >= 0);
        const uint64_t offset = data->block(victim).offset;

        // Damage the block on disk; the next check finds it.
        VD_VERIFY_OK(test::damageIdvd(m_node->dataDir(), col.toString(), offset + MiB / 2));
        QTRY_VERIFY(!w.checkProgress()); // the last dialog is gone
        check->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(box("checkFaults"), 10000);
        QMessageBox *faults = box("checkFaults");
        QVERIFY(faults->text().contains(QStringLiteral("fault")));
        QVERIFY(faults->text().contains(QStringLiteral("red")));
        QVERIFY2(faults->detailedText().contains(QStringLiteral("/victim.bin")), qPrintable(faults->detailedText()));
        faults->close();

        // The map: that block, and only it, corrupt — in the data, the picture and on the screen.
        QTRY_VERIFY_WITH_TIMEOUT(panel->isComplete() && view->isPictureCurrent() && !view->data()->map().corrupt.empty(), 10000);
        data = view->data();
        QCOMPARE(data->map().corrupt, std::vector<uint64_t> { offset });
        for (int b = 0; b < data->blockCount(); ++b)
            QCOMPARE(data->stateOf(b) == CellState::Corrupt, data->block(b).offset == offset);
        const int corrupt = data->blockAt(offset / MiB);
        QCOMPARE(data->block(corrupt).offset, offset);
        const QColor red = BlockMapData::colourOf(CellState::Corrupt);
        QCOMPARE(data->colourOf(corrupt), red);
        for (CellState other : { CellState::Free, CellState::Head, CellState::Catalog, CellState::Snapshot, CellState::Unused })
            QVERIFY(BlockMapData::colourOf(other) != red);
        view->setCellSize(16);
        QTRY_VERIFY(view->isPictureCurrent());
        const QPoint at = view->showCell(offset / MiB);
        QCOMPARE(view->blockAt(at), corrupt);
        QCOMPARE(view->viewport()->grab().toImage().pixelColor(at), red);
        const QString tip = plainOf(data->tooltipOf(corrupt));
        QVERIFY2(tip.contains(QStringLiteral("failed the check")), qPrintable(tip));
        QVERIFY(panel->healthLabel()->text().contains(QStringLiteral("Last check")));
        bool inLegend = false;
        for (QLabel *l : panel->findChildren<QLabel *>())
            inLegend = inLegend || l->text() == BlockMapData::nameOf(CellState::Corrupt);
        QVERIFY(inLegend);

        // Cancelled while it waits for the writer (held by a request of the
        // test's): it never runs, the window says so, the last check stands.
        // (The map is refreshed meanwhile, and data with it: keep what to
        // compare.)
        const int64_t lastChecked = data->map().checkedMs;
        data = nullptr;
        auto host = m_node->host(col.toString());
        VD_VERIFY_OK(host);
        std::atomic<bool> release { false };
        QFuture<Result<int>> blocker = (*host)->write<int>([&release](tree::Drive &, node::OpContext &) -> Result<int> {
            while (!release)
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            return 0;
        });
        QTRY_VERIFY(!w.checkProgress());
        check->trigger();
        QProgressDialog *progress = w.checkProgress();
        QVERIFY(progress && progress->isVisible());
        QPushButton *cancel = progress->findChild<QPushButton *>();
        QVERIFY(cancel);
        QTest::mouseClick(cancel, Qt::LeftButton);
        release = true;
        VD_VERIFY_OK(await(blocker));
        QTRY_VERIFY_WITH_TIMEOUT(!w.checkProgress(), 10000);
        QVERIFY(!box("checkFaults") && !box("checkClean"));
        QTRY_VERIFY_WITH_TIMEOUT(panel->isComplete() && view->isPictureCurrent(), 10000);
        QCOMPARE(view->data()->map().corrupt, std::vector<uint64_t> { offset });
        QCOMPARE(view->data()->map().checkedMs, lastChecked);
    }

    // The map is the last commit's, made on a reader: it answers while a
    // long change holds the writer (an import of hours would otherwise keep
    // the map blank), and it is the picture the writer has at rest.
    void theMapDoesNotWaitForTheWriter()
    {
        auto host = m_node->host(m_col.toString());
        VD_VERIFY_OK(host);
        std::promise<void> release;
        std::shared_future<void> released = release.get_future().share();
        std::atomic<bool> holding { false };
        QFuture<Result<storage::AllocationMap>> atRest = (*host)->write<storage::AllocationMap>(
            [&](tree::Drive &d, node::OpContext &) -> Result<storage::AllocationMap> {
                holding = true;
                released.wait();
                return d.allocationMap(); // the writer's own picture, nothing changed
            },
            node::DriveHost::Grouping::Alone);
        auto letGo = qScopeGuard([&] { release.set_value(); });
        QTRY_VERIFY_WITH_TIMEOUT(holding.load(), 10000);
        QFuture<Result<storage::AllocationMap>> map = m_api->blockMap(m_col);
        QTRY_VERIFY_WITH_TIMEOUT(map.isFinished(), 10000); // the writer is still held
        QVERIFY(holding.load() && !atRest.isFinished());
        VD_VERIFY_OK(map.result());
        letGo.dismiss();
        release.set_value();
        auto writers = await(atRest);
        VD_VERIFY_OK(writers);
        const Result<storage::AllocationMap> answer = map.result();
        const storage::AllocationMap &r = *answer;
        QCOMPARE(r.generation, writers->generation);
        QCOMPARE(r.words, writers->words);
        QCOMPARE(r.blocks.size(), writers->blocks.size());
        for (size_t i = 0; i < r.blocks.size(); ++i) {
            QCOMPARE(r.blocks[i].offset, writers->blocks[i].offset);
            QCOMPARE(int(r.blocks[i].use), int(writers->blocks[i].use));
            QCOMPARE(r.blocks[i].used, writers->blocks[i].used);
        }
        QVERIFY(std::any_of(r.blocks.begin(), r.blocks.end(), [](const storage::MapBlock &b) { return b.use == storage::BlockUse::Catalog; }));
        QVERIFY(std::any_of(r.blocks.begin(), r.blocks.end(), [](const storage::MapBlock &b) { return b.use == storage::BlockUse::Small; }));
        QVERIFY(std::any_of(r.blocks.begin(), r.blocks.end(), [](const storage::MapBlock &b) { return b.use == storage::BlockUse::Data; }));
    }

    // A SmallBlock packs many files but lists only kMaxListed of them: a
    // file beyond those is still highlighted when selected (its own list
    // of blocks says where it is).
    void aFileAmongManyPackedIsHighlighted()
    {
        QTemporaryDir src;
        const QString crowd = src.filePath(QStringLiteral("crowd"));
        QVERIFY(QDir().mkpath(crowd));
        for (int i = 0; i < 40; ++i) {
            QFile f(crowd + QStringLiteral("/f-%1.txt").arg(i));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(test::randomBytes(3000, quint32(100 + i)));
        }
        VD_VERIFY_OK(await(m_api->importLocal(m_col, { crowd }, QStringLiteral("/")).done));
        auto map = await(m_api->blockMap(m_col));
        VD_VERIFY_OK(map);
        auto owners = await(m_api->blockOwners(m_col));
        VD_VERIFY_OK(owners);
        BlockMapData d;
        d.setMap(std::move(map).value());
        d.setOwners(std::move(owners).value());
        // The SmallBlock of /crowd, and a file of it that it does not list.
        int packed = -1;
        for (int b = 0; b < d.blockCount() && packed < 0; ++b)
            for (const tree::BlockOwner &f : d.filesOf(b))
                if (f.path.startsWith(QStringLiteral("/crowd/")) && d.usersOf(b)->fileCount > tree::BlockOwners::kMaxListed)
                    packed = b;
        QVERIFY(packed >= 0);
        QCOMPARE(d.stateOf(packed), CellState::Small);
        std::set<Ruid> listed;
        int listedHere = 0; // (the block may pack files of other folders too)
        for (const tree::BlockOwner &f : d.filesOf(packed)) {
            listed.insert(f.id);
            listedHere += f.path.startsWith(QStringLiteral("/crowd/")) ? 1 : 0;
        }
        QCOMPARE(listed.size(), size_t(tree::BlockOwners::kMaxListed));
        auto ls = await(m_api->list(m_col, QStringLiteral("/crowd"), QString()));
        VD_VERIFY_OK(ls);
        int unlisted = 0;
        for (const tree::VNode &n : ls->entries) {
            if (listed.count(n.id))
                continue;
            ++unlisted;
            const std::vector<int> lit = d.blocksUsedBy({ n.id }, {});
            QVERIFY2(std::find(lit.begin(), lit.end(), packed) != lit.end(), qPrintable(n.name));
        }
        QCOMPARE(unlisted, 40 - listedHere);
        QVERIFY(unlisted >= 40 - int(tree::BlockOwners::kMaxListed));
        // The folder: its SmallBlock, once.
        const std::vector<int> folder = d.blocksUsedBy({}, { QStringLiteral("/crowd") });
        QCOMPARE(std::count(folder.begin(), folder.end(), packed), 1);
    }

    // The window: the map dock (F7) over the collection; a selected file's
    // blocks outlined; a click on a block selects its file; hostile names
    // literal in the tooltip.
    void inTheWindow()
    {
        MainWindow w(m_api.get());
        w.resize(1100, 800);
        w.show();
        w.openCollection(m_col.toString(), QStringLiteral("/pics"));
        QTRY_COMPARE_WITH_TIMEOUT(w.folderModel()->state(), FolderModel::State::Ready, 10000);
        QAction *toggle = w.action(QStringLiteral("showBlockMap"));
        QVERIFY(toggle);
        QCOMPARE(toggle->shortcut(), QKeySequence(Qt::Key_F7));
        toggle->trigger();
        QVERIFY(w.blockMapDock()->isVisible());
        widgets::BlockMapPanel *panel = w.blockMapPanel();
        widgets::BlockMapView *view = panel->view();
        QTRY_VERIFY_WITH_TIMEOUT(panel->isComplete() && view->isPictureCurrent(), 10000);
        const BlockMapData *data = view->data();
        QVERIFY(panel->healthLabel()->text().contains(QStringLiteral("Fragmentation")));

        // Select large.bin: its blocks (5 MiB: at least two) are outlined.
        auto rowOf = [&](const QString &name) {
            for (int r = 0; r < w.folderModel()->rowCount(); ++r)
                if (w.folderModel()->node(r).name == name)
                    return r;
            return -1;
        };
        const int large = rowOf(QStringLiteral("large.bin"));
        QVERIFY(large >= 0);
        const Ruid largeId = w.folderModel()->node(large).id;
        auto select = [&](int row) {
            for (int r = 0; r < w.detailsView()->model()->rowCount(); ++r) {
                const QModelIndex at = w.detailsView()->model()->index(r, 0);
                if (at.data(FolderModel::IdRole).toString() == w.folderModel()->node(row).id.toString())
                    w.detailsView()->selectionModel()->select(at, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
            }
        };
        select(large);
        QTRY_VERIFY(view->highlighted().size() >= 2);
        for (const int b : view->highlighted()) {
            bool usedByLarge = false;
            for (const tree::BlockOwner &f : data->filesOf(b))
                usedByLarge = usedByLarge || f.id == largeId;
            QVERIFY(usedByLarge);
            QVERIFY(data->stateOf(b) == CellState::Data || data->stateOf(b) == CellState::Small); // its tail may be packed
        }
        // Selecting the folder outlines every block of the files in it.
        w.navigate(QStringLiteral("/"));
        QTRY_COMPARE_WITH_TIMEOUT(w.folderModel()->state(), FolderModel::State::Ready, 10000);
        select(rowOf(QStringLiteral("pics")));
        QTRY_VERIFY(view->highlighted().size() >= 4); // large.bin's, changed.bin's, the SmallBlock

        // Click the hostile file's SmallBlock: the window shows /pics with
        // the block's files there selected, the hostile one among them.
        int small = -1;
        for (int b = 0; b < data->blockCount() && small < 0; ++b)
            for (const tree::BlockOwner &f : data->filesOf(b))
                if (f.path == QStringLiteral("/pics/") + m_hostile)
                    small = b;
        QVERIFY(small >= 0);
        QCOMPARE(data->stateOf(small), CellState::Small);
        view->setCellSize(16);
        QTRY_VERIFY(view->isPictureCurrent());
        const QPoint at = view->showCell(data->block(small).offset / MiB);
        QCOMPARE(view->blockAt(at), small);
        QTest::mouseClick(view->viewport(), Qt::LeftButton, Qt::NoModifier, at);
        QTRY_COMPARE_WITH_TIMEOUT(w.currentPath(), QStringLiteral("/pics"), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(w.selectedPaths().contains(QStringLiteral("/pics/") + m_hostile), 10000);
        for (const QString &path : w.selectedPaths()) {
            bool listed = false;
            for (const tree::BlockOwner &f : data->filesOf(small))
                listed = listed || (f.path == path && f.snapshot.isEmpty());
            QVERIFY2(listed, qPrintable(path));
        }

        // Its tooltip: rich text in which the name is text, not markup.
        const QString tip = data->tooltipOf(small);
        QVERIFY(tip.startsWith(QStringLiteral("<qt>")));
        QVERIFY(!tip.contains(QStringLiteral("<b>x")));
        QVERIFY(!tip.contains(QStringLiteral("<img")));
        const QString plain = plainOf(tip);
        QVERIFY2(plain.contains(widgets::displayName(QStringLiteral("/pics/") + m_hostile)), qPrintable(plain));
        QVERIFY(plain.contains(QStringLiteral("SmallBlock")));

        // The old version of changed.bin: held only by the snapshot, named there.
        bool snapshotOnly = false;
        for (int b = 0; b < data->blockCount(); ++b)
            if (data->stateOf(b) == CellState::Snapshot) {
                snapshotOnly = true;
                QCOMPARE(data->filesOf(b).at(0).snapshot, QStringLiteral("first"));
                QVERIFY(plainOf(data->tooltipOf(b)).contains(QStringLiteral("/pics/changed.bin")));
            }
        QVERIFY(snapshotOnly);

        // A change refreshes the map while shown (coalesced); hidden, it asks nothing.
        const uint64_t before = data->map().generation;
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/new"))));
        QTRY_VERIFY_WITH_TIMEOUT(view->data()->map().generation > before && panel->isComplete(), 10000);
        toggle->trigger();
        QVERIFY(!w.blockMapDock()->isVisible());
        const uint64_t hidden = view->data()->map().generation;
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/newer"))));
        QTest::qWait(1300); // past the 1 s coalescing: nothing may be asked meanwhile
        QCOMPARE(view->data()->map().generation, hidden);
        QVERIFY(!panel->isComplete()); // stale
        toggle->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(view->data()->map().generation > hidden && panel->isComplete(), 10000);
    }
};

QTEST_MAIN(TestBlockMap)
#include "tst_blockmap.moc"
