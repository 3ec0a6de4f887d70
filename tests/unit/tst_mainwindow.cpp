// The explorer's window, offscreen, over a real node that also serves the
// control socket — so `vdrive` commands run as real processes change the
// same drive while the window shows it, as they would from a terminal.
#include "addressbar.h"
#include "client/localdriveapi.h"
#include "control/nodelock.h"
#include "displaytext.h"
#include "dragdrop.h"
#include "dragout.h"
#include "foldermodel.h"
#include "foldertreemodel.h"
#include "jsoneditor.h"
#include "jsonmodel.h"
#include "mainwindow.h"
#include "node/node.h"
#include "propertiesdialog.h"
#include "searchmodel.h"
#include "serve.h"
#include "testsupport.h"
#include "transferdialog.h"
#include "trashmodel.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QCborArray>
#include <QCborMap>
#include <QClipboard>
#include <QComboBox>
#include <QDesktopServices>
#include <QDir>
#include <QDockWidget>
#include <QInputDialog>
#include <QLineEdit>
#include <QListView>
#include <QStatusBar>
#include <QScopeGuard>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QToolButton>
#include <QTreeWidget>
#include <QTreeView>

using namespace vd;
using widgets::FolderModel;
using widgets::MainWindow;

namespace {

template<typename T>
Result<T> await(QFuture<Result<T>> f)
{
    while (!f.isFinished())
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    return f.result();
}

// Text as shown, without the isolates displayName() wraps a name in.
QString plain(QString shown)
{
    return shown.remove(QChar(0x2068)).remove(QChar(0x2069));
}

QStringList namesOf(const FolderModel &m)
{
    QStringList out;
    for (int r = 0; r < m.entryCount(); ++r)
        out.append(m.node(r).name);
    out.sort();
    return out;
}

// Stands in for the desktop: QDesktopServices hands it the file URLs the
// window asks to open (setUrlHandler), instead of starting an application.
class UrlCatcher : public QObject
{
    Q_OBJECT
public:
    QList<QUrl> urls;
public Q_SLOTS:
    void open(const QUrl &url) { urls.append(url); }
};

QByteArray readLocal(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("(unreadable)");
}

} // namespace

class TestMainWindow : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    QString m_dataDir;
    std::unique_ptr<node::Node> m_node;
    std::unique_ptr<cli::NodeServer> m_server;
    std::unique_ptr<client::LocalDriveApi> m_api;
    Ruid m_col;

    // `vdrive ARGS` as a process of its own; its standard output.
    QByteArray vdrive(const QStringList &args, int *exitCode = nullptr)
    {
        QProcess p;
        QStringList all{QStringLiteral("--data-dir"), m_dataDir};
        all += args;
        p.start(QStringLiteral(VDRIVE_BINARY), all);
        // The event loop turns while it runs: the node answers it from its
        // own threads, and the window keeps applying changes.
        if (!QTest::qWaitFor([&] { return p.state() == QProcess::NotRunning; }, 60000))
            p.kill();
        p.waitForFinished(5000);
        if (exitCode)
            *exitCode = p.exitCode();
        else if (p.exitCode() != 0)
            qWarning("vdrive %s: %s", qPrintable(args.join(QLatin1Char(' '))), p.readAllStandardError().constData());
        return p.readAllStandardOutput();
    }

    // Drops mime on the contents view at pos (viewport coordinates), as a
    // drag from another program delivers it: enter, move, drop.
    static bool drop(MainWindow &w, QMimeData *mime, QPoint pos, Qt::DropAction action)
    {
        QWidget *viewport = w.detailsView()->viewport();
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

    static QPoint emptySpot(MainWindow &w)
    {
        return QPoint(w.detailsView()->viewport()->width() / 2, w.detailsView()->viewport()->height() - 5);
    }

    static bool waitReady(MainWindow &w, const QString &path)
    {
        return QTest::qWaitFor([&] { return w.currentPath() == path && w.folderModel()->state() == FolderModel::State::Ready; }, 10000);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        QCoreApplication::setOrganizationName(QStringLiteral("vdrive-test"));
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_tmp.filePath(QStringLiteral("settings")));
        m_dataDir = m_tmp.filePath(QStringLiteral("data"));
        auto lock = control::NodeLock::acquire(*io::Env::posix(), m_dataDir, QStringLiteral("tst_mainwindow"));
        VD_VERIFY_OK(lock);
        node::NodeOptions o;
        o.dataDir = m_dataDir;
        m_node = std::make_unique<node::Node>(o);
        auto server = cli::NodeServer::start(*m_node, std::move(lock).value(), QStringLiteral("tst_mainwindow"));
        VD_VERIFY_OK(server);
        m_server = std::move(server).value();
        m_api = std::make_unique<client::LocalDriveApi>(*m_node);
        auto made = await(m_api->createCollection(QStringLiteral("win")));
        VD_VERIFY_OK(made);
        m_col = made->ruid;
        QCOMPARE(vdrive({QStringLiteral("-c"), QStringLiteral("win"), QStringLiteral("mkdir"), QStringLiteral("-p"), QStringLiteral("/a/b"),
                         QStringLiteral("/c")}),
                 QByteArray());
    }

    void cleanupTestCase()
    {
        m_api.reset();
        m_server.reset();
        m_node.reset();
    }

    // Opens on the collection, and moves about as a file manager does:
    // into a folder, up, back, forward, and to a typed path.
    void navigates()
    {
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"));
        QVERIFY(waitReady(w, QStringLiteral("/")));
        QCOMPARE(namesOf(*w.folderModel()), (QStringList{QStringLiteral("a"), QStringLiteral("c")}));
        QVERIFY(!w.action(QStringLiteral("up"))->isEnabled());
        QVERIFY(!w.action(QStringLiteral("back"))->isEnabled());

        // Into "a" as a double-click or Enter does.
        QTreeView *view = w.detailsView();
        QModelIndex a;
        for (int r = 0; r < view->model()->rowCount(); ++r)
            if (view->model()->index(r, 0).data(Qt::EditRole).toString() == QLatin1String("a"))
                a = view->model()->index(r, 0);
        QVERIFY(a.isValid());
        Q_EMIT view->activated(a);
        QVERIFY(waitReady(w, QStringLiteral("/a")));
        QCOMPARE(namesOf(*w.folderModel()), QStringList{QStringLiteral("b")});
        QVERIFY(w.windowTitle().contains(QLatin1String("a")));

        w.action(QStringLiteral("up"))->trigger();
        QVERIFY(waitReady(w, QStringLiteral("/")));
        w.action(QStringLiteral("back"))->trigger();
        QVERIFY(waitReady(w, QStringLiteral("/a")));
        w.action(QStringLiteral("forward"))->trigger();
        QVERIFY(waitReady(w, QStringLiteral("/")));

        // A typed path (Ctrl+L, type, Enter); doubled slashes are one.
        w.action(QStringLiteral("location"))->trigger();
        auto *edit = w.addressBar()->findChild<QLineEdit *>();
        QVERIFY(edit && edit->isVisible());
        edit->setText(QStringLiteral("a//b/"));
        QTest::keyClick(edit, Qt::Key_Return);
        QVERIFY(waitReady(w, QStringLiteral("/a/b")));
        // The crumbs: the collection, then each folder, each one a way back.
        QStringList crumbs;
        for (auto *b : w.addressBar()->findChildren<QToolButton *>())
            if (b->isVisibleTo(w.addressBar()))
                crumbs.append(b->accessibleName());
        QCOMPARE(crumbs, (QStringList{QStringLiteral("win"), QStringLiteral("a"), QStringLiteral("b")}));

        // A path that is not there: the folder says why, nothing breaks.
        w.navigate(QStringLiteral("/nowhere"));
        QVERIFY(QTest::qWaitFor([&] { return w.folderModel()->state() == FolderModel::State::Failed; }, 10000));
        w.action(QStringLiteral("back"))->trigger();
        QVERIFY(waitReady(w, QStringLiteral("/a/b")));
    }

    // A `vdrive` command in a terminal changes the folder the window shows:
    // the window follows it without a reload; and what the window does,
    // `vdrive ls` sees.
    void followsTheTerminalAndTheTerminalFollowsIt()
    {
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/c"));
        QVERIFY(waitReady(w, QStringLiteral("/c")));
        QCOMPARE(w.folderModel()->entryCount(), 0);
        QSignalSpy reset(w.folderModel(), &QAbstractItemModel::modelReset);

        QTemporaryDir local;
        QFile f(local.filePath(QStringLiteral("from terminal.txt")));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("typed in a shell\n");
        f.close();
        QCOMPARE(vdrive({QStringLiteral("-c"), QStringLiteral("win"), QStringLiteral("-q"), QStringLiteral("put"), f.fileName(), QStringLiteral("/c/")}),
                 QByteArray());
        QVERIFY(QTest::qWaitFor([&] { return namesOf(*w.folderModel()) == QStringList{QStringLiteral("from terminal.txt")}; }, 10000));
        QCOMPARE(reset.count(), 0);

        // New folder (Ctrl+Shift+N): made, selected, its name open for typing.
        w.action(QStringLiteral("newFolder"))->trigger();
        QVERIFY(QTest::qWaitFor([&] { return namesOf(*w.folderModel()).contains(tr("New folder")); }, 10000));
        QVERIFY(QTest::qWaitFor([&] { return w.detailsView()->findChild<QLineEdit *>() != nullptr; }, 5000));
        QCOMPARE(vdrive({QStringLiteral("-c"), QStringLiteral("win"), QStringLiteral("ls"), QStringLiteral("/c")}),
                 QByteArray("New folder/\nfrom terminal.txt\n"));

        // Removed in the terminal: gone from the window.
        QCOMPARE(vdrive({QStringLiteral("-c"), QStringLiteral("win"), QStringLiteral("-q"), QStringLiteral("rm"), QStringLiteral("/c/from terminal.txt")}),
                 QByteArray());
        QVERIFY(QTest::qWaitFor([&] { return namesOf(*w.folderModel()) == QStringList{tr("New folder")}; }, 10000));
    }

    // Files and folders dropped from a file manager (text/uri-list, as a
    // drop delivers it) are imported with a progress dialog: names with
    // spaces and Japanese characters, a folder tree, a 3 MiB file; the rows
    // arrive through the feed, and the bytes come back out unchanged.
    void importsADrop()
    {
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/drop"))));
        QTemporaryDir local;
        QDir(local.path()).mkpath(QStringLiteral("写真 2024/夏"));
        auto write = [&](const QString &rel, const QByteArray &bytes) {
            QFile f(local.filePath(rel));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(bytes);
        };
        write(QStringLiteral("写真 2024/夏/海 の 日.txt"), "umi");
        write(QStringLiteral("写真 2024/empty"), QByteArray());
        write(QStringLiteral("a file with spaces.bin"), test::randomBytes(3 << 20, 7));
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/drop"));
        QVERIFY(waitReady(w, QStringLiteral("/drop")));

        auto *mime = new QMimeData;
        mime->setUrls({QUrl::fromLocalFile(local.filePath(QStringLiteral("写真 2024"))),
                       QUrl::fromLocalFile(local.filePath(QStringLiteral("a file with spaces.bin"))), QUrl(QStringLiteral("https://example.invalid/x"))});
        QSignalSpy finished(&w, &MainWindow::transferFinished);
        QVERIFY(drop(w, mime, emptySpot(w), Qt::CopyAction));
        QVERIFY(finished.wait(30000));
        QVERIFY2(finished.at(0).at(0).value<Status>().isOk(), qPrintable(finished.at(0).at(0).value<Status>().toString()));
        QVERIFY(QTest::qWaitFor([&] { return namesOf(*w.folderModel()) == (QStringList{QStringLiteral("a file with spaces.bin"), QStringLiteral("写真 2024")}); }, 10000));
        delete mime;

        // Out again through the engine's export: the same names and bytes.
        QTemporaryDir out;
        const client::Transfer t = m_api->exportLocal(m_col, {QStringLiteral("/drop/写真 2024"), QStringLiteral("/drop/a file with spaces.bin")}, out.path(), {}, false);
        VD_VERIFY_OK(await(t.done));
        QFile umi(out.filePath(QStringLiteral("写真 2024/夏/海 の 日.txt")));
        QVERIFY(umi.open(QIODevice::ReadOnly));
        QCOMPARE(umi.readAll(), QByteArray("umi"));
        QFile big(out.filePath(QStringLiteral("a file with spaces.bin")));
        QVERIFY(big.open(QIODevice::ReadOnly));
        QCOMPARE(big.readAll(), test::randomBytes(3 << 20, 7));
        QVERIFY(QFileInfo(out.filePath(QStringLiteral("写真 2024/empty"))).isFile());
        // And a terminal sees them.
        QCOMPARE(vdrive({QStringLiteral("-c"), QStringLiteral("win"), QStringLiteral("ls"), QStringLiteral("/drop/写真 2024")}), QByteArray("empty\n夏/\n"));
    }

    // A drop cancelled half-way: the dialog says so and stays, the drive
    // holds exactly what the message says was kept, and it is consistent.
    void cancelsADropHalfWay()
    {
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/cancel"))));
        QTemporaryDir local;
        QDir(local.path()).mkpath(QStringLiteral("many"));
        for (int i = 0; i < 5000; ++i) {
            QFile f(local.filePath(QStringLiteral("many/f%1").arg(i)));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray::number(i));
        }
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/cancel"));
        QVERIFY(waitReady(w, QStringLiteral("/cancel")));
        auto *mime = new QMimeData;
        mime->setUrls({QUrl::fromLocalFile(local.filePath(QStringLiteral("many")))});
        QSignalSpy finished(&w, &MainWindow::transferFinished);
        QVERIFY(drop(w, mime, emptySpot(w), Qt::CopyAction));
        auto *dialog = w.findChild<widgets::TransferDialog *>();
        QVERIFY(dialog);
        QPushButton *cancel = dialog->findChild<QPushButton *>();
        QVERIFY(cancel);
        // Cancel once some files are in: the button, as a user would.
        const auto state = dialog->transfer().state;
        QVERIFY(QTest::qWaitFor([&] { return state->progress().files >= 20 || !finished.isEmpty(); }, 30000));
        QVERIFY2(finished.isEmpty(), "the import ended before it could be cancelled");
        cancel->click();
        QVERIFY(finished.wait(30000) || !finished.isEmpty());
        const Status st = finished.at(0).at(0).value<Status>();
        delete mime;
        QCOMPARE(st.code(), ErrorCode::Cancelled);
        QVERIFY(w.findChild<widgets::TransferDialog *>()); // stays open, says why
        QVERIFY2(dialog->resultText().startsWith(QStringLiteral("Cancelled")), qPrintable(dialog->resultText()));
        // Nothing of an uncommitted batch remains; the tree checks clean.
        auto listing = await(m_api->list(m_col, QStringLiteral("/cancel"), {}));
        VD_VERIFY_OK(listing);
        if (!dialog->resultText().contains(QStringLiteral("stay")))
            QVERIFY(listing->entries.empty());
        int code = -1;
        vdrive({QStringLiteral("-c"), QStringLiteral("win"), QStringLiteral("-q"), QStringLiteral("fsck")}, &code);
        QCOMPARE(code, 0);
    }

    // Dragging rows onto a folder moves them there; with Ctrl, copies.
    void movesAndCopiesWithin()
    {
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/within"))));
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/within/target"))));
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/within/moved"))));
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/within/copied"))));
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/within"));
        QVERIFY(waitReady(w, QStringLiteral("/within")));
        QTreeView *view = w.detailsView();
        auto rowOf = [&](const QString &name) {
            for (int r = 0; r < view->model()->rowCount(); ++r)
                if (view->model()->index(r, 0).data(Qt::EditRole).toString() == name)
                    return view->model()->index(r, 0);
            return QModelIndex();
        };
        auto dragOnto = [&](const QString &name, const QString &onto, Qt::DropAction action) {
            QMimeData *mime = view->model()->mimeData({rowOf(name)});
            const QPoint at = view->visualRect(rowOf(onto)).center();
            const bool ok = drop(w, mime, at, action);
            delete mime;
            return ok;
        };
        QVERIFY(dragOnto(QStringLiteral("moved"), QStringLiteral("target"), Qt::MoveAction));
        QVERIFY(QTest::qWaitFor([&] { return !namesOf(*w.folderModel()).contains(QStringLiteral("moved")); }, 10000));
        QVERIFY(dragOnto(QStringLiteral("copied"), QStringLiteral("target"), Qt::CopyAction));
        QVERIFY(QTest::qWaitFor([&] { return await(m_api->stat(m_col, QStringLiteral("/within/target/copied"), {})).isOk(); }, 10000));
        QVERIFY(namesOf(*w.folderModel()).contains(QStringLiteral("copied"))); // a copy leaves the original
        QVERIFY(await(m_api->stat(m_col, QStringLiteral("/within/target/moved"), {})).isOk());
    }

    // Delete moves the selection to the trash; Undo puts it back.
    void deletesToTheTrashAndUndoes()
    {
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/d"))));
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/d/x"))));
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/d/y"))));
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/d"));
        QVERIFY(waitReady(w, QStringLiteral("/d")));
        QTreeView *view = w.detailsView();
        QCOMPARE(view->model()->rowCount(), 2);
        view->setCurrentIndex(view->model()->index(0, 0)); // "x", sorted first
        QCOMPARE(w.selectedPaths(), QStringList{QStringLiteral("/d/x")});
        QVERIFY(w.action(QStringLiteral("delete"))->isEnabled());
        w.action(QStringLiteral("delete"))->trigger();
        QVERIFY(QTest::qWaitFor([&] { return namesOf(*w.folderModel()) == QStringList{QStringLiteral("y")}; }, 10000));
        auto trash = await(m_api->trash(m_col));
        VD_VERIFY_OK(trash);
        QVERIFY(std::any_of(trash->begin(), trash->end(), [](const tree::TrashEntry &e) { return e.originalPath == QLatin1String("/d/x"); }));

        QVERIFY(w.action(QStringLiteral("undo"))->isEnabled());
        w.action(QStringLiteral("undo"))->trigger();
        QVERIFY(QTest::qWaitFor([&] { return namesOf(*w.folderModel()) == (QStringList{QStringLiteral("x"), QStringLiteral("y")}); }, 10000));
    }

    // Icons view shows the same rows; the choice, the geometry and the
    // columns come back with the next window.
    void remembersItsViewState()
    {
        {
            MainWindow w(m_api.get());
            w.show();
            w.openCollection(QStringLiteral("win"));
            QVERIFY(waitReady(w, QStringLiteral("/")));
            w.action(QStringLiteral("viewIcons"))->trigger();
            QVERIFY(w.iconView()->isVisible());
            QCOMPARE(w.iconView()->model()->rowCount(), w.detailsView()->model()->rowCount());
            w.resize(777, 555);
            w.close();
        }
        MainWindow w(m_api.get());
        w.show();
        QVERIFY(w.action(QStringLiteral("viewIcons"))->isChecked());
        QCOMPARE(w.size(), QSize(777, 555));
        w.action(QStringLiteral("viewDetails"))->trigger();
        w.close();
    }

    // A name with markup in the crumbs, the tree and the title: shown as
    // the characters it is.
    void showsHostileNamesLiterally()
    {
        const QString name = QStringLiteral("<b>bold<i>\u202Etxt.exe");
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QLatin1Char('/') + name)));
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QLatin1Char('/') + name);
        QVERIFY(waitReady(w, QLatin1Char('/') + name));
        bool found = false;
        for (auto *b : w.addressBar()->findChildren<QToolButton *>())
            if (b->accessibleName() == name) {
                found = true;
                QCOMPARE(b->text(), widgets::displayName(name)); // a button draws text as text
                QVERIFY(!Qt::mightBeRichText(b->toolTip()) || b->toolTip().contains(QStringLiteral("&lt;b&gt;")));
            }
        QVERIFY(found);
    }

    // Properties of a file: its size, its clusters and blocks with their
    // padding, and the snapshot that holds its older version.
    void showsProperties()
    {
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/props"))));
        QTemporaryDir local;
        QFile f(local.filePath(QStringLiteral("big.bin")));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(test::randomBytes((3 << 20) + 1000, 3)); // blocks, and a packed tail
        f.close();
        VD_VERIFY_OK(await(m_api->importLocal(m_col, {f.fileName()}, QStringLiteral("/props")).done));
        VD_VERIFY_OK(await(m_api->createSnapshot(m_col, QStringLiteral("before-props"))));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("now small");
        f.close();
        VD_VERIFY_OK(await(m_api->importLocal(m_col, {f.fileName()}, QStringLiteral("/props")).done));

        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/props"));
        QVERIFY(waitReady(w, QStringLiteral("/props")));
        w.detailsView()->setCurrentIndex(w.detailsView()->model()->index(0, 0));
        w.action(QStringLiteral("properties"))->trigger();
        auto *dialog = w.findChild<widgets::PropertiesDialog *>();
        QVERIFY(dialog);
        QSignalSpy filled(dialog, &widgets::PropertiesDialog::filled);
        QVERIFY(filled.wait(10000));
        QVERIFY2(dialog->field(QStringLiteral("size")).contains(QStringLiteral("9 bytes")), qPrintable(dialog->field(QStringLiteral("size"))));
        QCOMPARE(dialog->snapshotTable()->topLevelItemCount(), 1);
        QCOMPARE(dialog->snapshotTable()->topLevelItem(0)->text(3), QStringLiteral("an older version"));
        dialog->close();

        // The older version, read from the snapshot: 3 MiB in whole blocks.
        auto *old = new widgets::PropertiesDialog(m_api.get(), m_col, QStringLiteral("/props/big.bin"), QStringLiteral("before-props"), &w);
        QSignalSpy oldFilled(old, &widgets::PropertiesDialog::filled);
        QVERIFY(oldFilled.wait(10000));
        QVERIFY(old->field(QStringLiteral("size")).contains(QLocale().toString(qulonglong((3 << 20) + 1000))));
        QVERIFY(old->clusterTable()->topLevelItemCount() >= 1);
        int blocks = 0;
        for (int c = 0; c < old->clusterTable()->topLevelItemCount(); ++c)
            for (int p = 0; p < old->clusterTable()->topLevelItem(c)->childCount(); ++p)
                blocks += old->clusterTable()->topLevelItem(c)->child(p)->text(2).startsWith(QStringLiteral("block"));
        QVERIFY(blocks >= 1);
        QVERIFY2(old->field(QStringLiteral("onDisk")).contains(QStringLiteral("with block padding")), qPrintable(old->field(QStringLiteral("onDisk"))));
        old->close();
    }

    // Typing in the search field finds names below the folder shown,
    // case-insensitively, nearest first, with wildcards; a match opens its
    // folder; Escape goes back to the contents.
    void searchesBelowTheFolder()
    {
        for (const char *p : {"/s", "/s/a", "/s/b", "/s/b/c"})
            VD_VERIFY_OK(await(m_api->mkdir(m_col, QString::fromLatin1(p))));
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/s/a/needle folder"))));
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/s/b/c/NEEDLE-2.md"))));
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/s/hay"))));
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/needle outside"))));
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/s"));
        QVERIFY(waitReady(w, QStringLiteral("/s")));
        QVERIFY(!w.resultsView()->isVisible()); // (it once sat over the toolbar's corner)
        QSignalSpy finished(w.searchModel(), &widgets::SearchModel::finished);
        QTest::keyClicks(w.searchField(), QStringLiteral("needle"));
        QVERIFY(finished.wait(10000));
        QVERIFY(w.resultsView()->isVisible());
        QAbstractItemModel *results = w.resultsView()->model();
        QCOMPARE(results->rowCount(), 2); // not the one outside /s
        QCOMPARE(results->index(0, 0).data(Qt::EditRole).toString(), QStringLiteral("needle folder")); // nearer: first
        QCOMPARE(results->index(1, 0).data(widgets::FolderModel::PathRole).toString(), QStringLiteral("/s/b/c/NEEDLE-2.md"));

        w.searchField()->setText(QStringLiteral("*.md"));
        QVERIFY(finished.wait(10000));
        QCOMPARE(results->rowCount(), 1);

        Q_EMIT w.resultsView()->activated(results->index(0, 0));
        QVERIFY(waitReady(w, QStringLiteral("/s/b/c/NEEDLE-2.md")));
        QVERIFY(!w.resultsView()->isVisible());
        QVERIFY(w.searchField()->text().isEmpty());

        QTest::keyClicks(w.searchField(), QStringLiteral("zzz-nothing"));
        QVERIFY(finished.wait(10000));
        QCOMPARE(results->rowCount(), 0);
        QTest::keyClick(w.searchField(), Qt::Key_Escape);
        QVERIFY(QTest::qWaitFor([&] { return w.detailsView()->isVisible(); }, 5000));
    }

    // Double-clicking a JSON document in the contents opens it in the JSON
    // editor (a window of its own, showing its values); the window stays
    // in the folder.
    void doubleClickOpensTheJsonEditor()
    {
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/jdoc"))));
        QTemporaryDir local;
        QFile f(local.filePath(QStringLiteral("conf.json")));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"name": "demo", "port": 7400, "big": 12345678901234567890})");
        f.close();
        VD_VERIFY_OK(await(m_api->importJson(m_col, f.fileName(), QStringLiteral("/jdoc/conf.json"), false)));
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/jdoc"));
        QVERIFY(waitReady(w, QStringLiteral("/jdoc")));
        QTreeView *view = w.detailsView();
        QCOMPARE(view->model()->rowCount(), 1);
        const QRect row = view->visualRect(view->model()->index(0, 0));
        QVERIFY(row.isValid());
        // What a double-click delivers: a click, then the double-click
        // (QTest::mouseDClick alone sends no press before it).
        QTest::mouseClick(view->viewport(), Qt::LeftButton, Qt::NoModifier, row.center());
        QTest::mouseDClick(view->viewport(), Qt::LeftButton, Qt::NoModifier, row.center());
        widgets::JsonEditor *editor = nullptr;
        QVERIFY(QTest::qWaitFor(
            [&] {
                editor = w.findChild<widgets::JsonEditor *>();
                return editor && editor->isVisible();
            },
            5000));
        QVERIFY2(editor->windowTitle().contains(QStringLiteral("conf.json")), qPrintable(editor->windowTitle()));
        QVERIFY(QTest::qWaitFor([&] { return editor->model()->rowCount() > 0; }, 10000));
        QCOMPARE(w.currentPath(), QStringLiteral("/jdoc"));
        editor->close();
    }

    // The trash panel (Ctrl+Shift+T): what Del moved there appears at
    // once, with the folder it was in; Restore puts it back where `vdrive
    // ls` sees it; one whose folder is gone asks where (and makes the
    // folder again); Delete Permanently asks first, then it is gone for
    // good, for `vdrive trash list` too.
    void restoresFromTheTrashPanel()
    {
        for (const char *p : {"/tr", "/tr/keep", "/tr/gone", "/tr/gone/inner"})
            VD_VERIFY_OK(await(m_api->mkdir(m_col, QString::fromLatin1(p))));
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/tr"));
        QVERIFY(waitReady(w, QStringLiteral("/tr")));
        QVERIFY(!w.trashPanel()->isVisible());
        w.action(QStringLiteral("showTrash"))->trigger();
        QVERIFY(w.trashPanel()->isVisible());
        widgets::TrashModel *trash = w.trashModel();
        QAbstractItemModelTester tester(trash, QAbstractItemModelTester::FailureReportingMode::Fatal);
        QVERIFY(QTest::qWaitFor([&] { return trash->isListed(); }, 10000));
        QVERIFY(!w.action(QStringLiteral("trashRestore"))->isEnabled()); // nothing chosen
        QVERIFY(!w.action(QStringLiteral("trashDelete"))->isEnabled());
        QSignalSpy reset(trash, &QAbstractItemModel::modelReset);

        // Delete in the window: the panel shows it, where it was, at once.
        QTreeView *view = w.detailsView();
        view->setCurrentIndex(view->model()->index(1, 0)); // "keep", after "gone"
        QCOMPARE(w.selectedPaths(), QStringList{QStringLiteral("/tr/keep")});
        w.action(QStringLiteral("delete"))->trigger();
        QVERIFY(QTest::qWaitFor([&] { return trash->rowOfPath(QStringLiteral("/tr/keep")) >= 0; }, 10000));
        QCOMPARE(reset.count(), 0); // a row inserted, not a new listing
        QCOMPARE(namesOf(*w.folderModel()), QStringList{QStringLiteral("gone")});
        const int row = trash->rowOfPath(QStringLiteral("/tr/keep"));
        QCOMPARE(trash->index(row, widgets::TrashModel::NameColumn).data().toString(), widgets::displayName(QStringLiteral("keep")));
        QCOMPARE(trash->index(row, widgets::TrashModel::FromColumn).data().toString(), widgets::displayName(QStringLiteral("/tr")));
        QVERIFY(!trash->index(row, widgets::TrashModel::DeletedColumn).data().toString().isEmpty());

        auto choose = [&](const QString &originalPath) {
            QAbstractItemModel *m = w.trashView()->model();
            for (int r = 0; r < m->rowCount(); ++r)
                if (m->index(r, 0).data(widgets::TrashModel::OriginalPathRole).toString() == originalPath) {
                    w.trashView()->setCurrentIndex(m->index(r, 0));
                    return true;
                }
            return false;
        };

        // Restore: back in its folder, for the window and for `vdrive ls`.
        QVERIFY(choose(QStringLiteral("/tr/keep")));
        QVERIFY(w.action(QStringLiteral("trashRestore"))->isEnabled());
        w.action(QStringLiteral("trashRestore"))->trigger();
        QVERIFY(QTest::qWaitFor([&] { return namesOf(*w.folderModel()) == (QStringList{QStringLiteral("gone"), QStringLiteral("keep")}); }, 10000));
        QVERIFY(QTest::qWaitFor([&] { return trash->rowOfPath(QStringLiteral("/tr/keep")) < 0; }, 10000));
        QCOMPARE(vdrive({QStringLiteral("-c"), QStringLiteral("win"), QStringLiteral("ls"), QStringLiteral("/tr")}), QByteArray("gone/\nkeep/\n"));

        // Its folder gone since: the panel asks where, offering the old
        // place, and restoring there makes the folder again.
        VD_VERIFY_OK(await(m_api->remove(m_col, {QStringLiteral("/tr/gone/inner")}, false)));
        VD_VERIFY_OK(await(m_api->remove(m_col, {QStringLiteral("/tr/gone")}, true)));
        QVERIFY(QTest::qWaitFor([&] { return choose(QStringLiteral("/tr/gone/inner")); }, 10000));
        w.action(QStringLiteral("trashRestore"))->trigger();
        QInputDialog *ask = nullptr;
        QVERIFY(QTest::qWaitFor(
            [&] {
                ask = w.findChild<QInputDialog *>(QStringLiteral("restoreFromTrashDialog"));
                return ask && ask->isVisible();
            },
            5000));
        QCOMPARE(ask->textValue(), QStringLiteral("/tr/gone/inner"));
        QVERIFY(ask->labelText().contains(QStringLiteral("gone")));
        ask->accept();
        QVERIFY(QTest::qWaitFor([&] { return await(m_api->stat(m_col, QStringLiteral("/tr/gone/inner"), {})).isOk(); }, 10000));
        QCOMPARE(vdrive({QStringLiteral("-c"), QStringLiteral("win"), QStringLiteral("ls"), QStringLiteral("/tr/gone")}), QByteArray("inner/\n"));

        // Removed in a terminal: in the panel; Delete Permanently asks, then it is gone.
        QCOMPARE(vdrive({QStringLiteral("-c"), QStringLiteral("win"), QStringLiteral("-q"), QStringLiteral("rm"), QStringLiteral("-r"), QStringLiteral("/tr/keep")}), QByteArray());
        QVERIFY(QTest::qWaitFor([&] { return choose(QStringLiteral("/tr/keep")); }, 10000));
        QVERIFY(w.action(QStringLiteral("trashDelete"))->isEnabled());
        w.action(QStringLiteral("trashDelete"))->trigger();
        QMessageBox *box = nullptr;
        QVERIFY(QTest::qWaitFor(
            [&] {
                box = w.findChild<QMessageBox *>(QStringLiteral("deleteForGoodDialog"));
                return box && box->isVisible();
            },
            5000));
        box->findChild<QPushButton *>(QStringLiteral("confirm"))->click();
        QVERIFY(QTest::qWaitFor([&] { return trash->rowOfPath(QStringLiteral("/tr/keep")) < 0; }, 10000));
        QVERIFY(!vdrive({QStringLiteral("-c"), QStringLiteral("win"), QStringLiteral("trash"), QStringLiteral("list")}).contains("/tr/keep"));

        // A hostile name in the panel: text in its cell and in its tooltip.
        const QString hostile = QStringLiteral("<b>bold<i><img src=x>\u202Eexe");
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/tr/") + hostile)));
        VD_VERIFY_OK(await(m_api->remove(m_col, {QStringLiteral("/tr/") + hostile}, false)));
        QVERIFY(QTest::qWaitFor([&] { return trash->rowOfPath(QStringLiteral("/tr/") + hostile) >= 0; }, 10000));
        const QModelIndex bad = trash->index(trash->rowOfPath(QStringLiteral("/tr/") + hostile), widgets::TrashModel::NameColumn);
        QCOMPARE(bad.data().toString(), widgets::displayName(hostile));
        const QString tip = bad.data(Qt::ToolTipRole).toString();
        QVERIFY2(tip.contains(QStringLiteral("&lt;b&gt;bold&lt;i&gt;&lt;img src=x&gt;")) && !tip.contains(QStringLiteral("<img")), qPrintable(tip));
        QCOMPARE(reset.count(), 0);
        QVERIFY(trash->checkInvariants());
    }

    // Every action is reachable from a menu and has a shortcut; the views
    // have accessible names.
    void everyActionHasAShortcut()
    {
        MainWindow w(m_api.get());
        for (const QString &name : {QStringLiteral("newFolder"), QStringLiteral("newCollection"), QStringLiteral("import"), QStringLiteral("export"), QStringLiteral("properties"), QStringLiteral("quit"), QStringLiteral("undo"),
                                    QStringLiteral("rename"), QStringLiteral("delete"), QStringLiteral("selectAll"), QStringLiteral("viewDetails"),
                                    QStringLiteral("viewIcons"), QStringLiteral("reload"), QStringLiteral("back"), QStringLiteral("forward"),
                                    QStringLiteral("up"), QStringLiteral("location"), QStringLiteral("find"), QStringLiteral("renameCollection"),
                                    QStringLiteral("deleteCollection"), QStringLiteral("cut"), QStringLiteral("copy"), QStringLiteral("paste"),
                                    QStringLiteral("openExternally")}) {
            QAction *a = w.action(name);
            QVERIFY2(a, qPrintable(name));
            QVERIFY2(!a->shortcut().isEmpty(), qPrintable(name));
            QVERIFY2(!a->associatedObjects().isEmpty(), qPrintable(name));
        }
        QVERIFY(!w.detailsView()->accessibleName().isEmpty());
        QVERIFY(!w.folderTree()->accessibleName().isEmpty());
        QVERIFY(!w.iconView()->accessibleName().isEmpty());
        for (const char *name : {"showClusters", "showTrash", "trashRestore", "trashRestoreTo", "trashDelete", "emptyTrash", "checkDrive"}) {
            QAction *a = w.action(QLatin1String(name));
            QVERIFY2(a && !a->shortcut().isEmpty(), name);
            bool inMenu = false;
            for (QObject *o : a->associatedObjects())
                inMenu = inMenu || qobject_cast<QMenu *>(o);
            QVERIFY2(inMenu, name);
        }
        QVERIFY(!w.trashView()->accessibleName().isEmpty());
    }

    // A folder of the drive holding a file with spaces and one with a
    // Japanese name (their bytes: their names, as UTF-8).
    void makeClipFolder(const QString &folder)
    {
        QTemporaryDir local;
        QStringList paths;
        for (const QString &name : {QStringLiteral("with spaces.txt"), QStringLiteral("日本語 の 名前.txt")}) {
            QFile f(local.filePath(name));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(name.toUtf8());
            paths << f.fileName();
        }
        VD_VERIFY_OK(await(m_api->mkdir(m_col, folder)));
        VD_VERIFY_OK(await(m_api->importLocal(m_col, paths, folder).done));
    }

    // A file of these bytes, named name, imported into the drive's folder.
    void importBytes(const QString &folder, const QString &name, const QByteArray &bytes)
    {
        QTemporaryDir local;
        QFile f(local.filePath(name));
        QVERIFY(f.open(QIODevice::WriteOnly));
        QCOMPARE(f.write(bytes), bytes.size());
        f.close();
        VD_VERIFY_OK(await(m_api->importLocal(m_col, {f.fileName()}, folder).done));
    }

    static void selectNames(MainWindow &w, const QStringList &names)
    {
        QTreeView *view = w.detailsView();
        view->clearSelection();
        for (int r = 0; r < view->model()->rowCount(); ++r)
            if (names.contains(view->model()->index(r, 0).data(Qt::EditRole).toString()))
                view->selectionModel()->select(view->model()->index(r, 0), QItemSelectionModel::Select | QItemSelectionModel::Rows);
    }

    QByteArray bytesAt(const QString &path) { return vdrive({QStringLiteral("-c"), QStringLiteral("win"), QStringLiteral("cat"), path}); }

    // Ctrl+C / Ctrl+V copies (a second paste beside the originals as
    // "(copy)"), Ctrl+X / Ctrl+V moves; the bytes stay the same.
    void copiesCutsAndPastes()
    {
        makeClipFolder(QStringLiteral("/clip"));
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/clip/to"))));
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/clip"));
        QVERIFY(waitReady(w, QStringLiteral("/clip")));
        QApplication::setActiveWindow(&w);
        QVERIFY(QTest::qWaitForWindowActive(&w));
        const QString spaces = QStringLiteral("with spaces.txt"), japanese = QStringLiteral("日本語 の 名前.txt");
        selectNames(w, {spaces, japanese});
        QCOMPARE(w.selectedPaths().size(), 2);
        QVERIFY(w.action(QStringLiteral("copy"))->isEnabled());
        QTest::keyClick(w.detailsView(), Qt::Key_C, Qt::ControlModifier);
        QVERIFY(widgets::nodesIn(QApplication::clipboard()->mimeData()).has_value());
        QCOMPARE(QApplication::clipboard()->text().split(QLatin1Char('\n')).size(), 2);

        w.navigate(QStringLiteral("/clip/to"));
        QVERIFY(waitReady(w, QStringLiteral("/clip/to")));
        QVERIFY(w.action(QStringLiteral("paste"))->isEnabled());
        QSignalSpy pasted(&w, &MainWindow::pasteFinished);
        QTest::keyClick(w.detailsView(), Qt::Key_V, Qt::ControlModifier);
        QVERIFY(pasted.wait(10000));
        QCOMPARE(pasted.at(0).at(0).toBool(), true);
        QTRY_COMPARE_WITH_TIMEOUT(namesOf(*w.folderModel()), (QStringList{spaces, japanese}), 10000);
        // Again: copies beside them, named as file managers do.
        w.paste();
        QVERIFY(pasted.wait(10000));
        QTRY_COMPARE_WITH_TIMEOUT(namesOf(*w.folderModel()),
                                  (QStringList{QStringLiteral("with spaces (copy).txt"), spaces, QStringLiteral("日本語 の 名前 (copy).txt"), japanese}), 10000);
        QCOMPARE(bytesAt(QStringLiteral("/clip/to/日本語 の 名前 (copy).txt")), japanese.toUtf8());

        // Cut one in /clip, paste it in another folder: it moves.
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/clip/moved here"))));
        w.navigate(QStringLiteral("/clip"));
        QVERIFY(waitReady(w, QStringLiteral("/clip")));
        selectNames(w, {spaces});
        w.action(QStringLiteral("cut"))->trigger();
        w.navigate(QStringLiteral("/clip/moved here"));
        QVERIFY(waitReady(w, QStringLiteral("/clip/moved here")));
        w.action(QStringLiteral("paste"))->trigger();
        QVERIFY(pasted.wait(10000));
        QTRY_COMPARE_WITH_TIMEOUT(namesOf(*w.folderModel()), QStringList{spaces}, 10000);
        QCOMPARE(bytesAt(QStringLiteral("/clip/moved here/with spaces.txt")), spaces.toUtf8());
        VD_VERIFY_CODE(await(m_api->stat(m_col, QStringLiteral("/clip/with spaces.txt"), {})), ErrorCode::NotFound);
        QVERIFY(!widgets::nodesIn(QApplication::clipboard()->mimeData())); // a cut is pasted once

        // From a snapshot: copy only (cut is disabled; a cut marker would not move).
        VD_VERIFY_OK(await(m_api->createSnapshot(m_col, QStringLiteral("clip-snap"))));
        w.openSnapshot(QStringLiteral("clip-snap"), QStringLiteral("/clip"));
        QVERIFY(QTest::qWaitFor([&] { return w.folderModel()->snapshot() == QLatin1String("clip-snap") && w.folderModel()->state() == FolderModel::State::Ready; }, 10000));
        selectNames(w, {japanese});
        QVERIFY(!w.action(QStringLiteral("cut"))->isEnabled());
        QVERIFY(!w.action(QStringLiteral("paste"))->isEnabled());
        w.action(QStringLiteral("copy"))->trigger();
        w.leaveSnapshot();
        w.navigate(QStringLiteral("/clip/moved here"));
        QVERIFY(waitReady(w, QStringLiteral("/clip/moved here")));
        w.paste();
        QVERIFY(pasted.wait(10000));
        QTRY_COMPARE_WITH_TIMEOUT(namesOf(*w.folderModel()), (QStringList{spaces, japanese}), 10000);
        QVERIFY(await(m_api->stat(m_col, QStringLiteral("/clip/日本語 の 名前.txt"), {})).isOk()); // the original stays
    }

    // Files copied in a file manager (text/uri-list of file: URLs) paste
    // as an import.
    void pastesLocalFiles()
    {
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/pasted"))));
        QTemporaryDir local;
        QFile f(local.filePath(QStringLiteral("コピー された file.bin")));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(test::randomBytes(100000, 3));
        f.close();
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/pasted"));
        QVERIFY(waitReady(w, QStringLiteral("/pasted")));
        auto *mime = new QMimeData;
        mime->setUrls({QUrl::fromLocalFile(f.fileName())});
        QApplication::clipboard()->setMimeData(mime);
        QTRY_VERIFY_WITH_TIMEOUT(w.action(QStringLiteral("paste"))->isEnabled(), 5000);
        QSignalSpy finished(&w, &MainWindow::transferFinished);
        w.action(QStringLiteral("paste"))->trigger();
        QVERIFY(finished.wait(30000));
        QVERIFY(finished.at(0).at(0).value<Status>().isOk());
        QTRY_COMPARE_WITH_TIMEOUT(namesOf(*w.folderModel()), QStringList{QStringLiteral("コピー された file.bin")}, 10000);
        QCOMPARE(bytesAt(QStringLiteral("/pasted/コピー された file.bin")), test::randomBytes(100000, 3));
    }

    // Return on a file that is not a JSON document exports it to a
    // temporary folder and asks the desktop to open it there.
    void opensWithTheDefaultApplication()
    {
        makeClipFolder(QStringLiteral("/open"));
        UrlCatcher catcher;
        QDesktopServices::setUrlHandler(QStringLiteral("file"), &catcher, "open");
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/open"));
        QVERIFY(waitReady(w, QStringLiteral("/open")));
        const QString japanese = QStringLiteral("日本語 の 名前.txt");
        selectNames(w, {japanese});
        QTreeView *view = w.detailsView();
        view->setCurrentIndex(view->selectionModel()->selectedRows().value(0));
        QTest::keyClick(view, Qt::Key_Return);
        QTRY_COMPARE_WITH_TIMEOUT(catcher.urls.size(), 1, 10000);
        QDesktopServices::unsetUrlHandler(QStringLiteral("file"));
        const QString local = catcher.urls.at(0).toLocalFile();
        QCOMPARE(QFileInfo(local).fileName(), japanese);
        QVERIFY(local.startsWith(QDir::tempPath()));
        QCOMPARE(readLocal(local), japanese.toUtf8());
        QCOMPARE(w.currentPath(), QStringLiteral("/open")); // a file opens, it is not navigated into
    }

    // A drag out carries the nodes and, when a target asks, the files
    // exported for it; dropped within the window it exports nothing.
    void dragOutCarriesExportedFiles()
    {
        makeClipFolder(QStringLiteral("/dragout"));
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/dragout"));
        QVERIFY(waitReady(w, QStringLiteral("/dragout")));
        const QStringList paths{QStringLiteral("/dragout/with spaces.txt"), QStringLiteral("/dragout/日本語 の 名前.txt")};
        std::unique_ptr<widgets::DragOutData> mime(w.dragOutData(paths));
        QVERIFY(mime->formats().contains(QStringLiteral("text/uri-list"))); // what a file manager looks for
        auto nodes = widgets::nodesIn(mime.get());
        QVERIFY(nodes);
        QCOMPARE(nodes->paths, paths);
        QCOMPARE(nodes->collection, m_col);
        QCOMPARE(mime->text(), paths.join(QLatin1Char('\n')));
        // Dropped back onto the window, the nodes win: a copy within, not an
        // import, and nothing exported.
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/dragout/back"))));
        w.navigate(QStringLiteral("/dragout/back"));
        QVERIFY(waitReady(w, QStringLiteral("/dragout/back")));
        QVERIFY(drop(w, mime.get(), emptySpot(w), Qt::CopyAction));
        QTRY_COMPARE_WITH_TIMEOUT(namesOf(*w.folderModel()), (QStringList{QStringLiteral("with spaces.txt"), QStringLiteral("日本語 の 名前.txt")}), 10000);
        QVERIFY(!mime->exportStarted());
        QVERIFY(!mime->filesAsked());
        // A file manager asks for the files: they are exported, then named.
        const QList<QUrl> urls = mime->urls();
        QVERIFY(mime->filesAsked());
        QCOMPARE(urls.size(), 2);
        for (int i = 0; i < 2; ++i) {
            QVERIFY(urls[i].isLocalFile());
            const QString name = paths[i].section(QLatin1Char('/'), -1);
            QCOMPARE(QFileInfo(urls[i].toLocalFile()).fileName(), name);
            QCOMPARE(readLocal(urls[i].toLocalFile()), name.toUtf8());
        }
        QCOMPARE(QString::fromUtf8(mime->data(QStringLiteral("text/uri-list"))).split(QStringLiteral("\r\n"), Qt::SkipEmptyParts).size(), 2);
    }

    // A folder drags out whole, whatever is in it; the drag starts at once
    // and the export runs while the hand moves (startExport, as when the
    // drag leaves the window).
    void dragOutOfAFolderExportsItWhole()
    {
        const QString top = QStringLiteral("/dragfolder/写真 2024");
        for (const QString &dir : {QStringLiteral("/dragfolder"), top, top + QStringLiteral("/深い"), top + QStringLiteral("/深い/deeper")})
            VD_VERIFY_OK(await(m_api->mkdir(m_col, dir)));
        QByteArray big = test::randomBytes(qsizetype(3 << 20), 77);
        importBytes(top + QStringLiteral("/深い/deeper"), QStringLiteral("big.bin"), big);
        importBytes(top, QStringLiteral("a file.txt"), "top");
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/dragfolder"));
        QVERIFY(waitReady(w, QStringLiteral("/dragfolder")));
        std::unique_ptr<widgets::DragOutData> mime(w.dragOutData({top}));
        mime->startExport();
        QVERIFY(mime->exportStarted());
        QTRY_VERIFY_WITH_TIMEOUT(mime->isExported(), 20000); // in the background: the window went on
        const QList<QUrl> urls = mime->urls();
        QCOMPARE(urls.size(), 1);
        const QString local = urls[0].toLocalFile();
        QCOMPARE(QFileInfo(local).fileName(), QStringLiteral("写真 2024"));
        QVERIFY(QFileInfo(local).isDir());
        QCOMPARE(readLocal(local + QStringLiteral("/a file.txt")), QByteArray("top"));
        QCOMPARE(readLocal(local + QStringLiteral("/深い/deeper/big.bin")), big);
    }

    // Out of a snapshot's view, a drag carries the snapshot: the file a
    // file manager gets is the version the snapshot holds, not today's.
    void dragOutOfASnapshotExportsItsVersion()
    {
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/snapdrag"))));
        importBytes(QStringLiteral("/snapdrag"), QStringLiteral("version.txt"), "as it was");
        VD_VERIFY_OK(await(m_api->createSnapshot(m_col, QStringLiteral("drag-snap"))));
        importBytes(QStringLiteral("/snapdrag"), QStringLiteral("version.txt"), "as it is now");
        QCOMPARE(bytesAt(QStringLiteral("/snapdrag/version.txt")), QByteArray("as it is now"));
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/snapdrag"));
        QVERIFY(waitReady(w, QStringLiteral("/snapdrag")));
        w.openSnapshot(QStringLiteral("drag-snap"), QStringLiteral("/snapdrag"));
        QVERIFY(QTest::qWaitFor([&] { return w.folderModel()->snapshot() == QLatin1String("drag-snap") && w.folderModel()->state() == FolderModel::State::Ready; }, 10000));
        std::unique_ptr<widgets::DragOutData> mime(w.dragOutData({QStringLiteral("/snapdrag/version.txt")}));
        auto nodes = widgets::nodesIn(mime.get());
        QVERIFY(nodes);
        QCOMPARE(nodes->at, QStringLiteral("drag-snap"));
        const QList<QUrl> urls = mime->urls();
        QCOMPARE(urls.size(), 1);
        QCOMPARE(QFileInfo(urls[0].toLocalFile()).fileName(), QStringLiteral("version.txt"));
        QCOMPARE(readLocal(urls[0].toLocalFile()), QByteArray("as it was"));
    }

    // A target that asks before a large export is done waits a bounded
    // time, then gets no files (a half-written file never), and the status
    // bar says why and what to use instead.
    void aDropThatComesTooEarlyGetsNoFilesAndSaysWhy()
    {
        VD_VERIFY_OK(await(m_api->mkdir(m_col, QStringLiteral("/early"))));
        importBytes(QStringLiteral("/early"), QStringLiteral("large.bin"), test::randomBytes(qsizetype(96 << 20), 78));
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/early"));
        QVERIFY(waitReady(w, QStringLiteral("/early")));
        const int bound = widgets::DragOutData::waitBound();
        widgets::DragOutData::setWaitBound(1);
        auto restore = qScopeGuard([bound] { widgets::DragOutData::setWaitBound(bound); });
        std::unique_ptr<widgets::DragOutData> mime(w.dragOutData({QStringLiteral("/early/large.bin")}));
        const QString expected = mime->localFiles().value(0);
        QSignalSpy ended(mime.get(), &widgets::DragOutData::exportEnded);
        QVERIFY(mime->urls().isEmpty());
        QVERIFY(!mime->isExported());
        QVERIFY2(w.statusBar()->currentMessage().contains(QStringLiteral("Export To Folder")), qPrintable(w.statusBar()->currentMessage()));
        QVERIFY(mime->urls().isEmpty()); // asked again: still none, no second wait
        // The export stopped, and left nothing behind: no file under the
        // name, no half-written one beside it.
        QTRY_COMPARE_WITH_TIMEOUT(ended.count(), 1, 20000);
        QVERIFY(!mime->isExported());
        QVERIFY(!QFileInfo::exists(expected));
        QCOMPARE(QDir(QFileInfo(expected).path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden), QStringList());
        QVERIFY(!w.statusBar()->currentMessage().startsWith(QStringLiteral("Preparing")));
    }

    // Garbage under the nodes type, dropped or pasted: refused, nothing changes.
    void refusesMalformedNodes_data()
    {
        QTest::addColumn<QByteArray>("payload");
        const QString col = m_col.toString();
        auto cbor = [](const QCborMap &m) { return m.toCborValue().toCbor(); };
        QTest::newRow("not CBOR") << QByteArray("\xff\xfe garbage", 10);
        QTest::newRow("empty") << QByteArray();
        QTest::newRow("an array") << QCborValue(QCborArray{1, 2}).toCbor();
        QTest::newRow("no paths") << cbor({{QStringLiteral("collection"), col}, {QStringLiteral("at"), QString()}});
        QTest::newRow("paths empty") << cbor({{QStringLiteral("collection"), col}, {QStringLiteral("at"), QString()}, {QStringLiteral("paths"), QCborArray{}}});
        QTest::newRow("relative path") << cbor({{QStringLiteral("collection"), col}, {QStringLiteral("at"), QString()}, {QStringLiteral("paths"), QCborArray{QStringLiteral("x")}}});
        QTest::newRow("path not text") << cbor({{QStringLiteral("collection"), col}, {QStringLiteral("at"), QString()}, {QStringLiteral("paths"), QCborArray{7}}});
        QTest::newRow("bad collection") << cbor({{QStringLiteral("collection"), QStringLiteral("zz")}, {QStringLiteral("at"), QString()}, {QStringLiteral("paths"), QCborArray{QStringLiteral("/x")}}});
        QTest::newRow("at not text") << cbor({{QStringLiteral("collection"), col}, {QStringLiteral("at"), 3}, {QStringLiteral("paths"), QCborArray{QStringLiteral("/x")}}});
        QTest::newRow("truncated") << cbor({{QStringLiteral("collection"), col}, {QStringLiteral("at"), QString()}, {QStringLiteral("paths"), QCborArray{QStringLiteral("/x")}}}).left(20);
    }
    void refusesMalformedNodes()
    {
        QFETCH(QByteArray, payload);
        const QString folder = QStringLiteral("/garbage-%1").arg(QString::fromLatin1(QTest::currentDataTag()).replace(QLatin1Char(' '), QLatin1Char('-')));
        VD_VERIFY_OK(await(m_api->mkdir(m_col, folder)));
        VD_VERIFY_OK(await(m_api->mkdir(m_col, folder + QStringLiteral("/x"))));
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), folder);
        QVERIFY(waitReady(w, folder));
        const QStringList before = namesOf(*w.folderModel());
        auto *mime = new QMimeData;
        mime->setData(QString::fromLatin1(widgets::kNodesMimeType), payload);
        QVERIFY(!widgets::nodesIn(mime));
        QVERIFY(!drop(w, mime, emptySpot(w), Qt::MoveAction));
        QVERIFY(!drop(w, mime, w.detailsView()->visualRect(w.detailsView()->model()->index(0, 0)).center(), Qt::CopyAction));
        QApplication::clipboard()->setMimeData(mime); // the clipboard owns it
        QTRY_VERIFY_WITH_TIMEOUT(!w.action(QStringLiteral("paste"))->isEnabled(), 5000);
        w.paste();
        // Nothing was asked of the node: a later change is the only one seen.
        VD_VERIFY_OK(await(m_api->mkdir(m_col, folder + QStringLiteral("/after"))));
        QStringList expected = before + QStringList{QStringLiteral("after")};
        expected.sort();
        QTRY_COMPARE_WITH_TIMEOUT(namesOf(*w.folderModel()), expected, 10000);
        QVERIFY(!w.findChild<QMessageBox *>(QStringLiteral("errorBox")));
    }

    // The switcher follows collections made and renamed in a terminal; the
    // Collection menu renames the one shown (staying where the window is)
    // and deletes it after a confirmation naming it and its size, then
    // shows another one.
    void renamesAndDeletesCollections()
    {
        MainWindow w(m_api.get());
        w.show();
        w.openCollection(QStringLiteral("win"), QStringLiteral("/a"));
        QVERIFY(waitReady(w, QStringLiteral("/a")));
        QComboBox *switcher = nullptr;
        for (QComboBox *c : w.findChildren<QComboBox *>())
            if (c->accessibleName() == QLatin1String("Collection"))
                switcher = c;
        QVERIFY(switcher);
        auto labels = [switcher] {
            QStringList out;
            for (int i = 0; i < switcher->count(); ++i)
                out << plain(switcher->itemText(i));
            out.sort();
            return out;
        };
        QCOMPARE(labels(), QStringList{QStringLiteral("win")});

        // From a terminal: the switcher follows, the window stays put.
        int code = -1;
        const QByteArray ruidText = vdrive({QStringLiteral("init"), QStringLiteral("spare 予備")}, &code).trimmed();
        QCOMPARE(code, 0);
        QTRY_COMPARE_WITH_TIMEOUT(labels(), (QStringList{QStringLiteral("spare 予備"), QStringLiteral("win")}), 10000);
        vdrive({QStringLiteral("collection"), QStringLiteral("rename"), QStringLiteral("spare 予備"), QStringLiteral("spare")}, &code);
        QCOMPARE(code, 0);
        QTRY_COMPARE_WITH_TIMEOUT(labels(), (QStringList{QStringLiteral("spare"), QStringLiteral("win")}), 10000);
        QCOMPARE(w.currentCollection(), m_col);
        QCOMPARE(w.currentPath(), QStringLiteral("/a"));

        // Rename the one shown from the window: a hostile name, shown literally.
        const Ruid spare = Ruid::parse(QString::fromLatin1(ruidText)).value();
        w.openCollection(spare.toString(), QStringLiteral("/"));
        QVERIFY(QTest::qWaitFor([&] { return w.currentCollection() == spare && w.folderModel()->state() == FolderModel::State::Ready; }, 10000));
        VD_VERIFY_OK(await(m_api->mkdir(spare, QStringLiteral("/kept"))));
        w.navigate(QStringLiteral("/kept"));
        QVERIFY(waitReady(w, QStringLiteral("/kept")));
        w.action(QStringLiteral("renameCollection"))->trigger();
        auto *ask = w.findChild<QInputDialog *>(QStringLiteral("renameCollectionDialog"));
        QVERIFY(ask);
        QTRY_VERIFY_WITH_TIMEOUT(ask->isVisible(), 5000);
        QCOMPARE(ask->textValue(), QStringLiteral("spare"));
        const QString hostile = QStringLiteral("<img src=x> <b>spare 予備"); // ('/' is no part of a collection name)
        ask->setTextValue(hostile);
        ask->accept();
        QTRY_COMPARE_WITH_TIMEOUT(labels(), (QStringList{hostile, QStringLiteral("win")}), 10000);
        QVERIFY(!w.findChild<QMessageBox *>(QStringLiteral("errorBox")));
        QCOMPARE(w.currentCollection(), spare);
        QCOMPARE(w.currentPath(), QStringLiteral("/kept")); // stayed where it was
        QVERIFY(plain(w.windowTitle()).contains(hostile));
        QCOMPARE(plain(w.folderTreeModel()->index(0, 0).data().toString()), hostile);

        // Delete, cancelled: nothing changes.
        w.action(QStringLiteral("deleteCollection"))->trigger();
        QMessageBox *box = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((box = w.findChild<QMessageBox *>(QStringLiteral("deleteCollectionDialog"))) && box->isVisible(), 10000);
        QCOMPARE(box->textFormat(), Qt::PlainText);
        QVERIFY2(plain(box->text()).contains(QStringLiteral("“<img src=x> <b>spare 予備”")), qPrintable(box->text()));
        QVERIFY2(box->text().contains(QStringLiteral("in files")), qPrintable(box->text()));
        QVERIFY(box->defaultButton() == box->button(QMessageBox::Cancel));
        QTest::mouseClick(box->button(QMessageBox::Cancel), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!w.findChild<QMessageBox *>(QStringLiteral("deleteCollectionDialog")), 5000);
        QCOMPARE(labels(), (QStringList{hostile, QStringLiteral("win")}));

        // Delete, confirmed: gone from the disk and the switcher; the window shows another.
        const QString folder = m_dataDir + QStringLiteral("/collections/") + spare.toString();
        QVERIFY(QFileInfo::exists(folder));
        w.action(QStringLiteral("deleteCollection"))->trigger();
        QTRY_VERIFY_WITH_TIMEOUT((box = w.findChild<QMessageBox *>(QStringLiteral("deleteCollectionDialog"))) && box->isVisible(), 10000);
        QTest::mouseClick(box->findChild<QPushButton *>(QStringLiteral("confirm")), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(w.currentCollection(), m_col, 10000);
        QVERIFY(waitReady(w, QStringLiteral("/")));
        QCOMPARE(labels(), QStringList{QStringLiteral("win")});
        QVERIFY(!QFileInfo::exists(folder));
        QCOMPARE(vdrive({QStringLiteral("collections")}), m_col.toString().toUtf8() + "  win\n");
    }

    // Deleting the last collection leaves the window empty, saying how to
    // make one (a node of its own: this one's collections stay).
    void deletingTheLastCollectionEmptiesTheWindow()
    {
        QTemporaryDir data;
        node::NodeOptions o;
        o.dataDir = data.path();
        node::Node alone(o);
        client::LocalDriveApi api(alone);
        VD_VERIFY_OK(await(api.createCollection(QStringLiteral("only"))));
        MainWindow w(&api);
        w.show();
        w.openCollection(QStringLiteral("only"), QStringLiteral("/"));
        QVERIFY(waitReady(w, QStringLiteral("/")));
        w.action(QStringLiteral("deleteCollection"))->trigger();
        QMessageBox *box = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((box = w.findChild<QMessageBox *>(QStringLiteral("deleteCollectionDialog"))) && box->isVisible(), 10000);
        QVERIFY2(plain(box->text()).contains(QStringLiteral("“only”")), qPrintable(box->text()));
        QTest::mouseClick(box->findChild<QPushButton *>(QStringLiteral("confirm")), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(w.currentCollection().isNull(), 10000);
        QCOMPARE(w.folderModel()->state(), FolderModel::State::Empty);
        QCOMPARE(w.windowTitle(), QStringLiteral("vdrive"));
        QVERIFY(!w.action(QStringLiteral("newFolder"))->isEnabled());
        QCOMPARE(alone.collections().value().size(), size_t(0));
        QCOMPARE(QDir(data.filePath(QStringLiteral("collections"))).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), QStringList());
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
