// The explorer's snapshots, offscreen, over a real node: the panel and its
// model (live, with what each snapshot frees), the read-only view of a
// snapshot, comparisons, restore and a file's history. Changes "by another
// client" are requests of their own on the node, not through the window's
// API object. Models run under QAbstractItemModelTester (fatal).
#include "addressbar.h"
#include "clusterview.h"
#include "client/localdriveapi.h"
#include "diffdialog.h"
#include "diffmodel.h"
#include "displaytext.h"
#include "dragdrop.h"
#include "foldermodel.h"
#include "historydialog.h"
#include "mainwindow.h"
#include "node/node.h"
#include "snapshotmodel.h"
#include "testsupport.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QBuffer>
#include <QComboBox>
#include <QDockWidget>
#include <QFrame>
#include <QInputDialog>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTemporaryDir>
#include <QTimer>
#include <QTreeView>
#include <QTreeWidget>
#include <QUrl>

using namespace vd;
using node::DriveHost;
using node::OpContext;
using tree::DiffEntry;
using tree::Drive;
using widgets::DiffDialog;
using widgets::DiffModel;
using widgets::FolderModel;
using widgets::HistoryDialog;
using widgets::MainWindow;
using widgets::SnapshotModel;

namespace {

template <typename T> Result<T> await(QFuture<Result<T>> f)
{
    while (!f.isFinished())
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    return f.result();
}

QStringList namesOf(const FolderModel &m)
{
    QStringList out;
    for (int r = 0; r < m.entryCount(); ++r)
        out.append(m.node(r).name);
    out.sort();
    return out;
}

// The first top-level widget of type T named `name` (a dialog a window opened).
template <typename T> T *openDialog(QWidget *parent, const QString &name)
{
    T *found = nullptr;
    const bool shown = QTest::qWaitFor(
        [&] {
            found = parent->findChild<T *>(name);
            return found && found->isVisible();
        },
        5000);
    return shown ? found : nullptr;
}

} // namespace

class TestSnapshots : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    std::unique_ptr<node::Node> m_node;
    std::unique_ptr<client::LocalDriveApi> m_api;
    Ruid m_col;

    DriveHost &host() { return *m_api->host(m_col).value(); }

    // A change by "another client": a request of its own on the node.
    void change(std::function<Status(Drive &)> fn)
    {
        auto r = await(host().write<bool>([fn](Drive &d, OpContext &) -> Result<bool> {
            VD_TRY(fn(d));
            return true;
        }));
        VD_VERIFY_OK(r);
    }

    QByteArray bytesOf(const QString &path, const QString &at = {})
    {
        auto r = await(host().read<QByteArray>([path, at](Drive &d, OpContext &) -> Result<QByteArray> {
            QBuffer out;
            out.open(QIODevice::WriteOnly);
            VD_TRY(d.readFile(path, out, {}, at));
            return out.data();
        }));
        return r ? *r : QByteArray("<" + r.status().message().toUtf8() + ">");
    }

    static bool waitReady(MainWindow &w, const QString &path, const QString &at = {})
    {
        return QTest::qWaitFor(
            [&] {
                return w.currentPath() == path && w.currentSnapshot() == at && w.folderModel()->snapshot() == at
                    && w.folderModel()->state() == FolderModel::State::Ready;
            },
            10000);
    }

    static QModelIndex rowNamed(QAbstractItemView *view, const QString &name)
    {
        for (int r = 0; r < view->model()->rowCount(); ++r)
            if (view->model()->index(r, 0).data(Qt::EditRole).toString() == name)
                return view->model()->index(r, 0);
        return {};
    }

    // Drops mime on the contents view, as a drag from elsewhere delivers it.
    static bool drop(MainWindow &w, QMimeData *mime, Qt::DropAction action)
    {
        QWidget *viewport = w.detailsView()->viewport();
        const QPoint pos(viewport->width() / 2, viewport->height() - 5);
        QDragEnterEvent enter(pos, action, mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(viewport, &enter);
        if (!enter.isAccepted())
            return false;
        QDragMoveEvent move(pos, action, mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(viewport, &move);
        if (!move.isAccepted())
            return false;
        QDropEvent dropped(QPointF(pos), action, mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(viewport, &dropped);
        return true;
    }

    // Every change asked before it has been through the writer: a request
    // queued after them has come back.
    void drainWriter()
    {
        change([](Drive &) { return Status(); });
    }

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
        auto made = await(m_api->createCollection(QStringLiteral("snaps")));
        VD_VERIFY_OK(made);
        m_col = made->ruid;
    }

    void cleanupTestCase()
    {
        m_api.reset();
        m_node.reset();
    }

    // A snapshot taken by another client appears in the panel without a
    // reload; what deleting it would free fills in after; one deleted
    // elsewhere goes.
    void panelFollowsSnapshotsAndFillsInWhatTheyFree()
    {
        QByteArray noise(300000, Qt::Uninitialized); // incompressible
        QRandomGenerator(7).fillRange(reinterpret_cast<quint32 *>(noise.data()), noise.size() / 4);
        change([noise](Drive &d) { return d.putFileBytes(QStringLiteral("/big.bin"), noise).status(); });
        SnapshotModel m(m_api.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setCollection(m_col);
        QVERIFY(QTest::qWaitFor([&] { return m.isListed(); }, 10000));
        const int before = m.rowCount();

        // Taken elsewhere, then the file only it keeps removed for good.
        change([](Drive &d) { return d.createSnapshot(QStringLiteral("elsewhere")).status(); });
        change([](Drive &d) { return d.remove(QStringLiteral("/big.bin"), false, false); });
        QVERIFY(QTest::qWaitFor([&] { return m.rowOf(QStringLiteral("elsewhere")) >= 0; }, 10000));
        QCOMPARE(m.rowCount(), before + 1);
        const int row = m.rowOf(QStringLiteral("elsewhere"));
        QCOMPARE(m.index(row, SnapshotModel::NameColumn).data().toString(), widgets::displayName(QStringLiteral("elsewhere")));
        QVERIFY(!m.index(row, SnapshotModel::TakenColumn).data().toString().isEmpty());

        // The slow count arrives and fills the column in: the 300 KB only it keeps.
        QVERIFY(QTest::qWaitFor([&] { return m.hasUniqueBytes(); }, 20000));
        QVERIFY(m.checkInvariants());
        const int r2 = m.rowOf(QStringLiteral("elsewhere"));
        const qulonglong frees = m.index(r2, SnapshotModel::FreesColumn).data(SnapshotModel::SortRole).toULongLong();
        QVERIFY2(frees >= 300000ull, qPrintable(QString::number(frees)));
        QCOMPARE(m.index(r2, SnapshotModel::FreesColumn).data().toString(),
            widgets::formatBytes(m.index(r2, SnapshotModel::FreesColumn).data(SnapshotModel::SortRole).toULongLong()));

        // Deleted elsewhere: gone from the panel.
        change([](Drive &d) { return d.deleteSnapshot(QStringLiteral("elsewhere")); });
        QVERIFY(QTest::qWaitFor([&] { return m.rowOf(QStringLiteral("elsewhere")) < 0; }, 10000));
        QCOMPARE(m.rowCount(), before);
    }

    // Compare: each change with its word and its colour; a filter by kind
    // of change; a count line; two snapshots compared with each other.
    void comparesWithWordsAndColours()
    {
        change([](Drive &d) -> Status {
            VD_TRY(d.mkdir(QStringLiteral("/cmp"), false).status());
            for (const char *n : { "keep.txt", "gone.txt", "edit.txt", "old.txt" })
                VD_TRY(d.putFileBytes(QStringLiteral("/cmp/") + QLatin1String(n), QByteArray("one ") + n).status());
            return d.createSnapshot(QStringLiteral("cmp")).status();
        });
        change([](Drive &d) -> Status {
            VD_TRY(d.putFileBytes(QStringLiteral("/cmp/new.txt"), "new").status());
            VD_TRY(d.remove(QStringLiteral("/cmp/gone.txt"), false, false));
            VD_TRY(d.putFileBytes(QStringLiteral("/cmp/edit.txt"), "two, longer").status());
            VD_TRY(d.move(QStringLiteral("/cmp/old.txt"), QStringLiteral("/cmp/moved.txt")).status());
            return d.createSnapshot(QStringLiteral("cmp2")).status();
        });

        DiffModel m(m_api.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setComparison(m_col, QStringLiteral("cmp"));
        QVERIFY(QTest::qWaitFor([&] { return m.state() == DiffModel::State::Ready; }, 10000));
        QMap<QString, DiffEntry::Change> seen;
        for (int r = 0; r < m.rowCount(); ++r) {
            const QString path = m.index(r, DiffModel::PathColumn).data(DiffModel::PathRole).toString();
            if (!path.startsWith(QLatin1String("/cmp/")))
                continue;
            const auto c = DiffEntry::Change(m.index(r, 0).data(DiffModel::ChangeRole).toInt());
            seen.insert(path, c);
            // The word, not colour alone; the colour of the word and a tint of the row.
            const QModelIndex word = m.index(r, DiffModel::ChangeColumn);
            QCOMPARE(word.data().toString(), DiffModel::changeText(c));
            QCOMPARE(word.data(Qt::ForegroundRole).value<QColor>(), DiffModel::changeColor(c));
            QCOMPARE(m.index(r, DiffModel::PathColumn).data(Qt::BackgroundRole).value<QColor>(), DiffModel::changeTint(c));
            if (c == DiffEntry::Change::Moved)
                QCOMPARE(m.index(r, DiffModel::OldPathColumn).data(DiffModel::OldPathRole).toString(), QStringLiteral("/cmp/old.txt"));
        }
        const QMap<QString, DiffEntry::Change> expected { { QStringLiteral("/cmp/new.txt"), DiffEntry::Change::Added },
            { QStringLiteral("/cmp/gone.txt"), DiffEntry::Change::Removed },
            { QStringLiteral("/cmp/edit.txt"), DiffEntry::Change::Modified },
            { QStringLiteral("/cmp/moved.txt"), DiffEntry::Change::Moved } };
        QCOMPARE(seen, expected);
        QCOMPARE(DiffModel::changeText(DiffEntry::Change::Added), QStringLiteral("added"));
        QCOMPARE(DiffModel::changeText(DiffEntry::Change::Removed), QStringLiteral("removed"));
        QCOMPARE(DiffModel::changeText(DiffEntry::Change::Modified), QStringLiteral("modified"));
        QCOMPARE(DiffModel::changeText(DiffEntry::Change::Moved), QStringLiteral("moved"));
        // Green, red, amber, blue.
        QVERIFY(DiffModel::changeColor(DiffEntry::Change::Added).green() > DiffModel::changeColor(DiffEntry::Change::Added).red());
        QVERIFY(DiffModel::changeColor(DiffEntry::Change::Removed).red() > DiffModel::changeColor(DiffEntry::Change::Removed).green());
        QVERIFY(DiffModel::changeColor(DiffEntry::Change::Modified).red() > DiffModel::changeColor(DiffEntry::Change::Modified).blue());
        QVERIFY(DiffModel::changeColor(DiffEntry::Change::Moved).blue() > DiffModel::changeColor(DiffEntry::Change::Moved).red());

        // Snapshot with snapshot: the same four.
        m.setComparison(m_col, QStringLiteral("cmp"), QStringLiteral("cmp2"));
        QVERIFY(QTest::qWaitFor([&] { return m.state() == DiffModel::State::Ready; }, 10000));
        int fromCmp = 0;
        for (int r = 0; r < m.rowCount(); ++r)
            fromCmp += m.index(r, 0).data(DiffModel::PathRole).toString().startsWith(QLatin1String("/cmp/")) ? 1 : 0;
        QCOMPARE(fromCmp, 4);

        // The dialog: the count line, the filter, double-click shows the entry.
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("snaps"), QStringLiteral("/"));
        QVERIFY(waitReady(w, QStringLiteral("/")));
        QVERIFY(QTest::qWaitFor([&] { return w.snapshotModel()->rowOf(QStringLiteral("cmp")) >= 0; }, 10000));
        w.snapshotPanel()->show();
        w.snapshotView()->setCurrentIndex(w.snapshotModel()->index(w.snapshotModel()->rowOf(QStringLiteral("cmp")), 0));
        QVERIFY(w.action(QStringLiteral("compareWithNow"))->isEnabled());
        w.action(QStringLiteral("compareWithNow"))->trigger();
        auto *dialog = openDialog<DiffDialog>(&w, QStringLiteral("diffDialog"));
        QVERIFY(dialog);
        QVERIFY(!dialog->isModal());
        QVERIFY(QTest::qWaitFor([&] { return dialog->model()->state() == DiffModel::State::Ready; }, 10000));
        const auto n = dialog->model()->counts();
        QCOMPARE(dialog->countLabel()->text(),
            QStringLiteral("Changes: %1 — %2 added, %3 removed, %4 modified, %5 moved")
                .arg(dialog->model()->rowCount())
                .arg(n[0])
                .arg(n[1])
                .arg(n[2])
                .arg(n[3]));
        dialog->filter()->setCurrentIndex(dialog->filter()->findData(int(DiffEntry::Change::Moved)));
        QCOMPARE(dialog->view()->model()->rowCount(), n[3]);
        for (int r = 0; r < dialog->view()->model()->rowCount(); ++r)
            QCOMPARE(dialog->view()->model()->index(r, 0).data().toString(), QStringLiteral("moved"));
        QVERIFY(dialog->countLabel()->text().contains(QStringLiteral("shown")));
        // Double-click the move: the window shows /cmp now, moved.txt selected.
        QModelIndex movedRow;
        for (int r = 0; r < dialog->view()->model()->rowCount(); ++r)
            if (dialog->view()->model()->index(r, 0).data(DiffModel::PathRole).toString() == QLatin1String("/cmp/moved.txt"))
                movedRow = dialog->view()->model()->index(r, 0);
        QVERIFY(movedRow.isValid());
        Q_EMIT dialog->view()->activated(movedRow);
        QVERIFY(waitReady(w, QStringLiteral("/cmp")));
        QVERIFY(QTest::qWaitFor([&] { return w.selectedPaths() == QStringList { QStringLiteral("/cmp/moved.txt") }; }, 5000));
        // The removed one is shown in the snapshot it is still in.
        dialog->filter()->setCurrentIndex(dialog->filter()->findData(int(DiffEntry::Change::Removed)));
        QModelIndex goneRow;
        for (int r = 0; r < dialog->view()->model()->rowCount(); ++r)
            if (dialog->view()->model()->index(r, 0).data(DiffModel::PathRole).toString() == QLatin1String("/cmp/gone.txt"))
                goneRow = dialog->view()->model()->index(r, 0);
        QVERIFY(goneRow.isValid());
        Q_EMIT dialog->view()->activated(goneRow);
        QVERIFY(waitReady(w, QStringLiteral("/cmp"), QStringLiteral("cmp")));
        QVERIFY(namesOf(*w.folderModel()).contains(QStringLiteral("gone.txt")));
        dialog->close();
    }

    // A snapshot opened in the window: its old content while the live tree
    // changed, a banner and the address bar say read-only, and every write
    // is disabled and refused. Back to now shows the present again.
    void snapshotViewIsReadOnly()
    {
        change([](Drive &d) -> Status {
            VD_TRY(d.mkdir(QStringLiteral("/past"), false).status());
            VD_TRY(d.mkdir(QStringLiteral("/dest"), false).status());
            VD_TRY(d.putFileBytes(QStringLiteral("/past/a.txt"), "old").status());
            return d.createSnapshot(QStringLiteral("past")).status();
        });
        change([](Drive &d) -> Status {
            VD_TRY(d.putFileBytes(QStringLiteral("/past/a.txt"), "new!").status());
            return d.putFileBytes(QStringLiteral("/past/b.txt"), "b").status();
        });
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("snaps"), QStringLiteral("/past"));
        QVERIFY(waitReady(w, QStringLiteral("/past")));
        QCOMPARE(namesOf(*w.folderModel()), (QStringList { QStringLiteral("a.txt"), QStringLiteral("b.txt") }));
        QVERIFY(!w.snapshotBanner()->isVisibleTo(&w));
        QVERIFY(QTest::qWaitFor([&] { return w.snapshotModel()->rowOf(QStringLiteral("past")) >= 0; }, 10000));

        // The panel opens it (F9 shows the panel; double-click a row).
        w.action(QStringLiteral("showSnapshots"))->trigger();
        QVERIFY(w.snapshotPanel()->isVisible());
        Q_EMIT w.snapshotView()->activated(w.snapshotModel()->index(w.snapshotModel()->rowOf(QStringLiteral("past")), 0));
        QVERIFY(waitReady(w, QStringLiteral("/past"), QStringLiteral("past")));
        QCOMPARE(namesOf(*w.folderModel()), QStringList { QStringLiteral("a.txt") });
        QCOMPARE(w.folderModel()->node(0).size, uint64_t(3)); // "old"
        QVERIFY(w.folderModel()->isReadOnly());

        // What says so: the banner, and the address bar.
        QVERIFY(w.snapshotBanner()->isVisibleTo(&w));
        const QString banner = w.snapshotBanner()->findChild<QLabel *>(QStringLiteral("snapshotBannerText"))->text();
        QVERIFY2(banner.contains(QStringLiteral("past")) && banner.contains(QStringLiteral("read-only")), qPrintable(banner));
        QVERIFY(w.snapshotBanner()->findChild<QPushButton *>(QStringLiteral("backToNowButton"))->isVisibleTo(&w));
        bool suffix = false;
        for (QLabel *l : w.addressBar()->findChildren<QLabel *>())
            suffix = suffix || (l->isVisibleTo(w.addressBar()) && l->text().contains(QStringLiteral("read-only")));
        QVERIFY(suffix);

        // Every write disabled, even with a selection.
        QTreeView *view = w.detailsView();
        view->setCurrentIndex(rowNamed(view, QStringLiteral("a.txt")));
        QCOMPARE(w.selectedPaths(), QStringList { QStringLiteral("/past/a.txt") });
        for (const char *name : { "newFolder", "import", "rename", "delete" })
            QVERIFY2(!w.action(QLatin1String(name))->isEnabled(), name);
        QVERIFY(w.action(QStringLiteral("restore"))->isEnabled());
        QVERIFY(w.action(QStringLiteral("export"))->isEnabled()); // reading out is fine

        // ... and refused when asked all the same.
        FolderModel *m = w.folderModel();
        const QModelIndex a = m->index(0, FolderModel::NameColumn);
        QVERIFY(!(m->flags(a) & Qt::ItemIsEditable));
        QVERIFY(!m->setData(a, QStringLiteral("renamed.txt")));
        QMimeData files;
        files.setUrls({ QUrl::fromLocalFile(m_tmp.filePath(QStringLiteral("settings"))) });
        QSignalSpy imports(m, &FolderModel::importRequested);
        QVERIFY(!drop(w, &files, Qt::CopyAction));
        QVERIFY(!m->dropMimeData(&files, Qt::CopyAction, -1, -1, {}));
        QCOMPARE(imports.count(), 0);
        for (const char *name : { "newFolder", "delete", "import" }) {
            QAction *act = w.action(QLatin1String(name));
            act->setEnabled(true); // as if a stale state let it through
            // Import would ask for files first: a dialog that asks is closed
            // (and noted) from inside its own event loop.
            bool asked = false;
            QTimer closer;
            closer.setInterval(0);
            connect(&closer, &QTimer::timeout, this, [&] {
                if (QWidget *modal = QApplication::activeModalWidget()) {
                    asked = true;
                    modal->close();
                }
            });
            closer.start();
            act->trigger();
            closer.stop();
            QVERIFY2(!asked, name);
        }
        drainWriter();
        QCoreApplication::processEvents();
        QCOMPARE(bytesOf(QStringLiteral("/past/a.txt")), QByteArray("new!")); // not deleted
        QVERIFY(!await(m_api->stat(m_col, QStringLiteral("/past/renamed.txt"), {})).isOk()); // not renamed
        QVERIFY(!await(m_api->stat(m_col, QStringLiteral("/past/New folder"), {})).isOk()); // no folder made
        QCOMPARE(bytesOf(QStringLiteral("/past/a.txt"), QStringLiteral("past")), QByteArray("old"));
        view->clearSelection();
        view->setCurrentIndex(rowNamed(view, QStringLiteral("a.txt"))); // the actions are worked out again
        for (const char *name : { "newFolder", "import", "rename", "delete" })
            QVERIFY2(!w.action(QLatin1String(name))->isEnabled(), name);

        // Dragged from the snapshot into a live folder: a copy of the old bytes.
        MainWindow live(m_api.get());
        live.show();
        live.openCollection(QStringLiteral("snaps"), QStringLiteral("/dest"));
        QVERIFY(waitReady(live, QStringLiteral("/dest")));
        std::unique_ptr<QMimeData> nodes(view->model()->mimeData({ rowNamed(view, QStringLiteral("a.txt")) }));
        QVERIFY(nodes);
        QVERIFY(drop(live, nodes.get(), Qt::MoveAction));
        QVERIFY(QTest::qWaitFor([&] { return namesOf(*live.folderModel()).contains(QStringLiteral("a.txt")); }, 10000));
        QCOMPARE(bytesOf(QStringLiteral("/dest/a.txt")), QByteArray("old"));
        QCOMPARE(bytesOf(QStringLiteral("/past/a.txt")), QByteArray("new!")); // nothing moved

        // Back to now.
        QTest::mouseClick(w.snapshotBanner()->findChild<QPushButton *>(QStringLiteral("backToNowButton")), Qt::LeftButton);
        QVERIFY(waitReady(w, QStringLiteral("/past")));
        QVERIFY(!w.snapshotBanner()->isVisibleTo(&w));
        QCOMPARE(namesOf(*w.folderModel()), (QStringList { QStringLiteral("a.txt"), QStringLiteral("b.txt") }));
        QVERIFY(w.action(QStringLiteral("newFolder"))->isEnabled());
    }

    // Restore puts the old bytes back (the newer version to the trash, as
    // the confirmation says); Restore to puts them elsewhere.
    void restoresOldBytes()
    {
        change([](Drive &d) -> Status {
            VD_TRY(d.mkdir(QStringLiteral("/rest"), false).status());
            VD_TRY(d.putFileBytes(QStringLiteral("/rest/f.txt"), "version one").status());
            return d.createSnapshot(QStringLiteral("rest")).status();
        });
        change([](Drive &d) { return d.putFileBytes(QStringLiteral("/rest/f.txt"), "version two").status(); });
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("snaps"), QStringLiteral("/rest"));
        QVERIFY(waitReady(w, QStringLiteral("/rest")));
        QVERIFY(QTest::qWaitFor([&] { return w.snapshotModel()->rowOf(QStringLiteral("rest")) >= 0; }, 10000));
        w.openSnapshot(QStringLiteral("rest"), QStringLiteral("/rest"));
        QVERIFY(waitReady(w, QStringLiteral("/rest"), QStringLiteral("rest")));
        w.detailsView()->setCurrentIndex(rowNamed(w.detailsView(), QStringLiteral("f.txt")));
        QVERIFY(w.action(QStringLiteral("restore"))->isEnabled());
        w.action(QStringLiteral("restore"))->trigger();
        auto *box = openDialog<QMessageBox>(&w, QStringLiteral("restoreDialog"));
        QVERIFY(box);
        QVERIFY2(box->text().contains(QStringLiteral("trash")), qPrintable(box->text()));
        QTest::mouseClick(box->findChild<QPushButton *>(QStringLiteral("confirm")), Qt::LeftButton);
        QVERIFY(QTest::qWaitFor([&] { return bytesOf(QStringLiteral("/rest/f.txt")) == "version one"; }, 10000));
        auto trash = await(m_api->trash(m_col));
        VD_VERIFY_OK(trash);
        bool inTrash = false;
        for (const tree::TrashEntry &e : *trash)
            if (e.originalPath == QLatin1String("/rest/f.txt") && e.size == 11)
                inTrash = true;
        QVERIFY(inTrash);

        w.action(QStringLiteral("restoreTo"))->trigger();
        auto *ask = openDialog<QInputDialog>(&w, QStringLiteral("restoreToDialog"));
        QVERIFY(ask);
        ask->setTextValue(QStringLiteral("/rest/again.txt"));
        ask->accept();
        QVERIFY(QTest::qWaitFor([&] { return bytesOf(QStringLiteral("/rest/again.txt")) == "version one"; }, 10000));
    }

    // History: the versions a file had across snapshots, whether each
    // differs from the next newer one; a row opens that snapshot.
    void listsAFilesHistory()
    {
        change([](Drive &d) -> Status {
            VD_TRY(d.mkdir(QStringLiteral("/hist"), false).status());
            VD_TRY(d.putFileBytes(QStringLiteral("/hist/h.txt"), "a").status());
            return d.createSnapshot(QStringLiteral("h1")).status();
        });
        change([](Drive &d) -> Status {
            VD_TRY(d.putFileBytes(QStringLiteral("/hist/h.txt"), "bb").status());
            VD_TRY(d.createSnapshot(QStringLiteral("h2")).status());
            return d.createSnapshot(QStringLiteral("h3")).status();
        });
        change([](Drive &d) { return d.putFileBytes(QStringLiteral("/hist/h.txt"), "ccc").status(); });
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("snaps"), QStringLiteral("/hist"));
        QVERIFY(waitReady(w, QStringLiteral("/hist")));
        w.detailsView()->setCurrentIndex(rowNamed(w.detailsView(), QStringLiteral("h.txt")));
        QVERIFY(w.action(QStringLiteral("history"))->isEnabled());
        w.action(QStringLiteral("history"))->trigger();
        auto *dialog = openDialog<HistoryDialog>(&w, QStringLiteral("historyDialog"));
        QVERIFY(dialog);
        QVERIFY(QTest::qWaitFor([&] { return dialog->isReady(); }, 10000));
        QStandardItemModel *m = dialog->model();
        QStringList versions, sizes, changes;
        for (int r = 0; r < m->rowCount(); ++r) {
            versions.append(m->index(r, 0).data(HistoryDialog::SnapshotRole).toString());
            sizes.append(m->index(r, HistoryDialog::SizeColumn).data().toString());
            changes.append(m->index(r, HistoryDialog::ChangeColumn).data().toString());
        }
        // Only the snapshots that have it; newest first.
        QCOMPARE(versions, (QStringList { QString(), QStringLiteral("h3"), QStringLiteral("h2"), QStringLiteral("h1") }));
        QCOMPARE(changes,
            (QStringList { QStringLiteral("current"), QStringLiteral("differs"), QStringLiteral("same"), QStringLiteral("differs") }));
        QVERIFY(sizes[0] != sizes[3]);
        QCOMPARE(m->index(1, 0).data().toString(), widgets::displayName(QStringLiteral("h3")));

        Q_EMIT dialog->view()->activated(m->index(3, 0));
        QVERIFY(waitReady(w, QStringLiteral("/hist"), QStringLiteral("h1")));
        QCOMPARE(w.folderModel()->node(0).size, uint64_t(1));
        QVERIFY(QTest::qWaitFor([&] { return w.selectedPaths() == QStringList { QStringLiteral("/hist/h.txt") }; }, 5000));
        dialog->close();
    }

    // Take a snapshot (a name asked, today's date offered) and delete one
    // (confirmed) from the window.
    void takesAndDeletesFromTheWindow()
    {
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("snaps"), QStringLiteral("/"));
        QVERIFY(waitReady(w, QStringLiteral("/")));
        QVERIFY(QTest::qWaitFor([&] { return w.snapshotModel()->isListed(); }, 10000));
        w.action(QStringLiteral("takeSnapshot"))->trigger();
        auto *ask = openDialog<QInputDialog>(&w, QStringLiteral("takeSnapshotDialog"));
        QVERIFY(ask);
        QVERIFY(QRegularExpression(QStringLiteral("^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d$")).match(ask->textValue()).hasMatch());
        ask->setTextValue(QStringLiteral("by hand"));
        ask->accept();
        QVERIFY(QTest::qWaitFor([&] { return w.snapshotModel()->rowOf(QStringLiteral("by hand")) >= 0; }, 10000));

        w.snapshotPanel()->show();
        w.snapshotView()->setCurrentIndex(w.snapshotModel()->index(w.snapshotModel()->rowOf(QStringLiteral("by hand")), 0));
        QVERIFY(w.action(QStringLiteral("deleteSnapshot"))->isEnabled());
        w.action(QStringLiteral("deleteSnapshot"))->trigger();
        auto *box = openDialog<QMessageBox>(&w, QStringLiteral("deleteSnapshotDialog"));
        QVERIFY(box);
        QVERIFY(box->text().contains(QStringLiteral("by hand")));
        QTest::mouseClick(box->findChild<QPushButton *>(QStringLiteral("confirm")), Qt::LeftButton);
        QVERIFY(QTest::qWaitFor([&] { return w.snapshotModel()->rowOf(QStringLiteral("by hand")) < 0; }, 10000));
    }

    // The cluster view (F8) of the file selected, in a collection of one
    // block per cluster: a file of three clusters (a 2 MiB block, a 1 MiB
    // block, its tail packed into a SmallBlock), drawn one strip each; after
    // a snapshot and a write into its first bytes, only the rewritten
    // cluster is not marked as shared; a small file is one SmallBlock slot,
    // not shared with a snapshot that holds other slots of that SmallBlock;
    // a hostile snapshot name in a tooltip stays text; nothing is asked
    // while the panel is hidden.
    void showsAFilesClusters()
    {
        storage::CreateOptions options;
        options.clusterMaxBlocks = 1;
        auto made = m_node->create(QStringLiteral("clusters"), options);
        VD_VERIFY_OK(made);
        DriveHost *h = *made;
        auto write = [h](std::function<Status(Drive &)> fn) {
            return await(h->write<bool>([fn](Drive &d, OpContext &) -> Result<bool> {
                VD_TRY(fn(d));
                return true;
            }));
        };
        const QByteArray bytes = test::randomBytes((3 << 20) + 5000, 11);
        VD_VERIFY_OK(write([&](Drive &d) -> Status {
            VD_TRY(d.mkdir(QStringLiteral("/c"), false).status());
            VD_TRY(d.putFileBytes(QStringLiteral("/c/big.bin"), bytes).status());
            VD_TRY(d.putFileBytes(QStringLiteral("/c/old small.txt"), QByteArray(700, 'o')).status());
            return d.createSnapshot(QStringLiteral("<img src=x>snap")).status();
        }));

        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("clusters"), QStringLiteral("/c"));
        QVERIFY(waitReady(w, QStringLiteral("/c")));
        widgets::ClusterView *view = w.clusterView();
        QVERIFY(!w.clusterPanel()->isVisible());
        QVERIFY(w.action(QStringLiteral("showClusters")));
        w.detailsView()->setCurrentIndex(rowNamed(w.detailsView(), QStringLiteral("big.bin")));
        QCOMPARE(view->path(), QStringLiteral("/c/big.bin"));
        QTest::qWait(widgets::ClusterView::kCoalesceMs * 2);
        QCOMPARE(view->gathers(), 0); // hidden: nothing asked

        w.action(QStringLiteral("showClusters"))->trigger();
        QVERIFY(w.clusterPanel()->isVisible());
        QVERIFY(QTest::qWaitFor([&] { return view->isCurrent() && !view->picture()->clusterLayout().clusters.empty(); }, 10000));
        QCOMPARE(view->gathers(), 1);
        {
            const widgets::ClusterLayout &l = view->picture()->clusterLayout();
            QCOMPARE(l.clusters.size(), size_t(3));
            QCOMPARE(l.logicalBytes, uint64_t(bytes.size()));
            QVERIFY(!l.clusters[0].pieces.front().isPacked());
            QVERIFY(!l.clusters[1].pieces.front().isPacked());
            QVERIFY(l.clusters[2].pieces.front().isPacked()); // the tail
            for (const auto &c : l.clusters)
                QCOMPARE(c.pieces.front().sharedWith, QStringList{QStringLiteral("<img src=x>snap")}); // unchanged since
            QVERIFY(l.clusters[0].pieces.front().padding > 0); // the block's header at least
            // Strips in order, pieces as wide as their space: the 2 MiB block is wider than the 1 MiB one.
            const QRect first = view->picture()->pieceRect(0, 0), second = view->picture()->pieceRect(1, 0);
            QVERIFY(first.isValid() && second.isValid());
            QVERIFY(first.top() < second.top());
            QVERIFY(first.width() > second.width());
            QCOMPARE(view->picture()->pieceAt(first.center()), std::make_pair(0, 0));
            // The tooltip names the snapshot as text.
            const QString tip = view->picture()->toolTipAt(first.center());
            QVERIFY2(tip.contains(QStringLiteral("&lt;img src=x&gt;snap")), qPrintable(tip));
            QVERIFY(!tip.contains(QStringLiteral("<img")));
            QCOMPARE(view->table()->topLevelItemCount(), 3);
        }
        const uint64_t firstEnd = view->picture()->clusterLayout().clusters[0].start + view->picture()->clusterLayout().clusters[0].length;

        // A write into the first bytes rewrites the first cluster only; the
        // view gathers again by itself.
        const int before = view->gathers();
        VD_VERIFY_OK(write([](Drive &d) { return d.writeFile(QStringLiteral("/c/big.bin"), 10, QByteArray(100, 'x')).status(); }));
        QVERIFY(QTest::qWaitFor([&] { return view->gathers() > before && view->isCurrent(); }, 10000));
        {
            const widgets::ClusterLayout &l = view->picture()->clusterLayout();
            QVERIFY(l.clusters.size() >= 3);
            uint64_t rewritten = 0;
            for (const auto &c : l.clusters)
                for (const auto &p : c.pieces) {
                    // What the write touched is new; the rest the snapshot holds too.
                    QCOMPARE(p.sharedWith.isEmpty(), p.offset < firstEnd);
                    rewritten += p.offset < firstEnd;
                }
            QVERIFY(rewritten >= 1);
            QCOMPARE(l.sharedPieces, l.pieces - rewritten);
            QVERIFY(view->summary().contains(QStringLiteral("also held by snapshots")));
        }

        // A small file, new since the snapshot: one packed slot, not shared.
        VD_VERIFY_OK(write([](Drive &d) { return d.putFileBytes(QStringLiteral("/c/new small.txt"), QByteArray(300, 'n')).status(); }));
        QVERIFY(QTest::qWaitFor([&] { return rowNamed(w.detailsView(), QStringLiteral("new small.txt")).isValid(); }, 10000));
        w.detailsView()->setCurrentIndex(rowNamed(w.detailsView(), QStringLiteral("new small.txt")));
        QVERIFY(QTest::qWaitFor([&] { return view->path() == QLatin1String("/c/new small.txt") && view->isCurrent(); }, 10000));
        {
            const widgets::ClusterLayout &l = view->picture()->clusterLayout();
            QCOMPARE(l.clusters.size(), size_t(1));
            QCOMPARE(l.clusters[0].pieces.size(), size_t(1));
            QVERIFY(l.clusters[0].pieces[0].isPacked());
            QVERIFY(l.clusters[0].pieces[0].sharedWith.isEmpty());
            QCOMPARE(l.sharedPieces, uint64_t(0));
        }
        // The old small file: held by the snapshot too.
        w.detailsView()->setCurrentIndex(rowNamed(w.detailsView(), QStringLiteral("old small.txt")));
        QVERIFY(QTest::qWaitFor([&] { return view->path() == QLatin1String("/c/old small.txt") && view->isCurrent(); }, 10000));
        QCOMPARE(view->picture()->clusterLayout().sharedPieces, uint64_t(1));

        // Hidden: a change is not gathered until the panel is shown again.
        w.clusterPanel()->hide();
        const int hidden = view->gathers();
        VD_VERIFY_OK(write([](Drive &d) { return d.writeFile(QStringLiteral("/c/old small.txt"), 0, QByteArray("changed")).status(); }));
        QTest::qWait(widgets::ClusterView::kCoalesceMs * 3);
        QCOMPARE(view->gathers(), hidden);
        w.clusterPanel()->show();
        QVERIFY(QTest::qWaitFor([&] { return view->gathers() == hidden + 1 && view->isCurrent(); }, 10000));
        QCOMPARE(view->picture()->clusterLayout().sharedPieces, uint64_t(0));

        // A folder has no clusters: the view says so instead.
        w.navigate(QStringLiteral("/"));
        QVERIFY(waitReady(w, QStringLiteral("/")));
        w.detailsView()->setCurrentIndex(rowNamed(w.detailsView(), QStringLiteral("c")));
        QVERIFY(QTest::qWaitFor([&] { return view->summary().contains(QStringLiteral("not a file")); }, 5000));
        QVERIFY(view->picture()->clusterLayout().clusters.empty());
    }

    // Every snapshot action is in a menu with a shortcut; views have names.
    void everyActionHasAShortcut()
    {
        MainWindow w(m_api.get());
        for (const char *name : { "showClusters", "showSnapshots", "takeSnapshot", "deleteSnapshot", "openSnapshot", "backToNow", "compareWithNow",
                 "compareWith", "restore", "restoreTo", "history" }) {
            QAction *a = w.action(QLatin1String(name));
            QVERIFY2(a, name);
            QVERIFY2(!a->shortcut().isEmpty(), name);
            bool inMenu = false;
            for (QObject *o : a->associatedObjects())
                inMenu = inMenu || qobject_cast<QMenu *>(o);
            QVERIFY2(inMenu, name);
        }
        QVERIFY(!w.snapshotView()->accessibleName().isEmpty());
        QVERIFY(!w.snapshotBanner()->accessibleName().isEmpty());
    }
};

QTEST_MAIN(TestSnapshots)
#include "tst_snapshots.moc"
