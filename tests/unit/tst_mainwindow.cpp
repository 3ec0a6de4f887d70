// The explorer's window, offscreen, over a real node that also serves the
// control socket — so `vdrive` commands run as real processes change the
// same drive while the window shows it, as they would from a terminal.
#include "addressbar.h"
#include "client/localdriveapi.h"
#include "control/nodelock.h"
#include "displaytext.h"
#include "foldermodel.h"
#include "foldertreemodel.h"
#include "mainwindow.h"
#include "node/node.h"
#include "serve.h"
#include "testsupport.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QLineEdit>
#include <QListView>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QToolButton>
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

QStringList namesOf(const FolderModel &m)
{
    QStringList out;
    for (int r = 0; r < m.entryCount(); ++r)
        out.append(m.node(r).name);
    out.sort();
    return out;
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

    // Every action is reachable from a menu and has a shortcut; the views
    // have accessible names.
    void everyActionHasAShortcut()
    {
        MainWindow w(m_api.get());
        for (const QString &name : {QStringLiteral("newFolder"), QStringLiteral("newCollection"), QStringLiteral("quit"), QStringLiteral("undo"),
                                    QStringLiteral("rename"), QStringLiteral("delete"), QStringLiteral("selectAll"), QStringLiteral("viewDetails"),
                                    QStringLiteral("viewIcons"), QStringLiteral("reload"), QStringLiteral("back"), QStringLiteral("forward"),
                                    QStringLiteral("up"), QStringLiteral("location")}) {
            QAction *a = w.action(name);
            QVERIFY2(a, qPrintable(name));
            QVERIFY2(!a->shortcut().isEmpty(), qPrintable(name));
            QVERIFY2(!a->associatedObjects().isEmpty(), qPrintable(name));
        }
        QVERIFY(!w.detailsView()->accessibleName().isEmpty());
        QVERIFY(!w.folderTree()->accessibleName().isEmpty());
        QVERIFY(!w.iconView()->accessibleName().isEmpty());
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
