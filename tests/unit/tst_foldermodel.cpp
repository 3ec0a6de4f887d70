// The explorer's models over a real node: a real collection on disk, real
// requests on the node's threads, change records from real commits. Each
// model runs under QAbstractItemModelTester (fatal), and its own
// checkInvariants() after every change.
#include "client/localdriveapi.h"
#include "displaytext.h"
#include "foldermodel.h"
#include "foldersortproxy.h"
#include "foldertreemodel.h"
#include "node/node.h"
#include "testsupport.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QCollator>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTextDocument>

using namespace vd;
using client::LocalDriveApi;
using node::DriveHost;
using node::Node;
using node::NodeOptions;
using node::OpContext;
using tree::Drive;
using tree::VNode;
using widgets::FolderModel;
using widgets::FolderSortProxy;
using widgets::FolderTreeModel;

namespace {

template<typename T>
Result<T> await(QFuture<Result<T>> f)
{
    // Results come through the event loop for continuations: keep it turning.
    while (!f.isFinished())
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    return f.result();
}

// The names a model shows, in its order.
QStringList namesOf(const QAbstractItemModel &m)
{
    QStringList out;
    for (int r = 0; r < m.rowCount(); ++r)
        out.append(m.index(r, 0).data(Qt::EditRole).toString());
    return out;
}

} // namespace

class TestFolderModel : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    std::unique_ptr<Node> m_node;
    std::unique_ptr<LocalDriveApi> m_api;
    Ruid m_col;
    int m_serial = 0;

    DriveHost &host() { return *m_api->host(m_col).value(); }

    // A change made by "another client": a request of its own on the node,
    // not through the model's API object.
    void change(std::function<Status(Drive &)> fn)
    {
        auto r = await(host().write<bool>([fn](Drive &d, OpContext &) -> Result<bool> {
            VD_TRY(fn(d));
            return true;
        }));
        VD_VERIFY_OK(r);
    }

    // A fresh folder for one test: /tN.
    QString freshFolder()
    {
        const QString path = QStringLiteral("/t%1").arg(++m_serial);
        change([path](Drive &d) { return d.mkdir(path, false).status(); });
        return path;
    }

    static bool waitReady(FolderModel &m)
    {
        if (m.state() == FolderModel::State::Ready)
            return true;
        QSignalSpy spy(&m, &FolderModel::stateChanged);
        return QTest::qWaitFor([&] { return m.state() == FolderModel::State::Ready || m.state() == FolderModel::State::Failed; }, 10000)
               && m.state() == FolderModel::State::Ready;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        NodeOptions o;
        o.dataDir = m_tmp.filePath(QStringLiteral("data"));
        m_node = std::make_unique<Node>(o);
        m_api = std::make_unique<LocalDriveApi>(*m_node);
        auto made = await(m_api->createCollection(QStringLiteral("models")));
        VD_VERIFY_OK(made);
        m_col = made->ruid;
    }

    void cleanupTestCase()
    {
        m_api.reset();
        m_node.reset();
    }

    // A folder lists what is in it; a missing one or a file fails with the
    // engine's words, not an empty list.
    void listsAFolderAndSaysWhyNot()
    {
        const QString dir = freshFolder();
        change([dir](Drive &d) {
            VD_TRY(d.mkdir(dir + QStringLiteral("/sub"), false).status());
            return d.putFileBytes(dir + QStringLiteral("/a.txt"), "hello").status();
        });
        FolderModel m(m_api.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setLocation(m_col, dir);
        QCOMPARE(m.state(), FolderModel::State::Loading);
        QVERIFY(waitReady(m));
        QCOMPARE(namesOf(m), (QStringList{QStringLiteral("a.txt"), QStringLiteral("sub")}));
        const QModelIndex file = m.index(0, FolderModel::SizeColumn);
        QCOMPARE(file.data(FolderModel::SortRole).toULongLong(), 5ull);
        QVERIFY(!file.data(FolderModel::IsFolderRole).toBool());
        QVERIFY(m.index(1, 0).data(FolderModel::IsFolderRole).toBool());
        QCOMPARE(m.index(1, 0).data(FolderModel::PathRole).toString(), dir + QStringLiteral("/sub"));

        m.setLocation(m_col, dir + QStringLiteral("/missing"));
        QVERIFY(QTest::qWaitFor([&] { return m.state() == FolderModel::State::Failed; }, 10000));
        QVERIFY2(m.errorText().contains(QStringLiteral("missing")), qPrintable(m.errorText()));
        QCOMPARE(m.rowCount(), 0);
        m.setLocation(m_col, dir + QStringLiteral("/a.txt"));
        QVERIFY(QTest::qWaitFor([&] { return m.state() == FolderModel::State::Failed; }, 10000));
        QVERIFY2(m.errorText().contains(QStringLiteral("not a folder")), qPrintable(m.errorText()));
    }

    // 100,000 entries: the listing arrives off the GUI thread, rows are
    // revealed a batch at a time as a view asks, and every one is reachable.
    void revealsAHugeFolderInBatches()
    {
        const QString dir = freshFolder();
        constexpr int kEntries = 100000;
        change([dir](Drive &d) -> Status {
            for (int i = 0; i < kEntries; ++i)
                VD_TRY(d.mkdir(dir + QStringLiteral("/d%1").arg(i, 6, 10, QLatin1Char('0')), false).status());
            return {};
        });
        FolderModel m(m_api.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setLocation(m_col, dir);
        QVERIFY(waitReady(m));
        QCOMPARE(m.entryCount(), kEntries);
        QCOMPARE(m.rowCount(), FolderModel::kBatchRows);
        int fetches = 0;
        while (m.canFetchMore({})) {
            m.fetchMore({});
            ++fetches;
        }
        QCOMPARE(m.rowCount(), kEntries);
        QCOMPARE(fetches, (kEntries + FolderModel::kBatchRows - 1) / FolderModel::kBatchRows - 1);
        QCOMPARE(m.index(kEntries - 1, 0).data(Qt::EditRole).toString(), QStringLiteral("d099999"));
        QVERIFY(m.checkInvariants());
    }

    // A folder larger than a batch, its index built off the GUI thread and
    // its rows revealed a batch at a time, sorts as one through the view's
    // proxy: folders first, then names as people read them; and leaving it
    // while its listing is still being prepared never shows its rows in the
    // folder gone to.
    void sortsAFolderRevealedInBatchesAndLeavesItCleanly()
    {
        const QString dir = freshFolder();
        const QString small = freshFolder();
        constexpr int kEntries = FolderModel::kBatchRows * 2 + 500;
        QStringList folders, files;
        change([&](Drive &d) -> Status {
            // Upper and lower case interleaved: the listing's byte order is
            // not the order shown.
            for (int i = 0; i < kEntries; ++i) {
                const QString name = QStringLiteral("%1%2").arg(i % 2 ? QStringLiteral("B") : QStringLiteral("a")).arg(kEntries - i);
                if (i % 100 == 0) {
                    VD_TRY(d.mkdir(dir + QLatin1Char('/') + name, false).status());
                    folders.append(name);
                } else {
                    VD_TRY(d.putFileBytes(dir + QLatin1Char('/') + name, "x").status());
                    files.append(name);
                }
            }
            return d.putFileBytes(small + QStringLiteral("/only"), "x").status();
        });
        QCollator collator;
        collator.setNumericMode(true);
        collator.setCaseSensitivity(Qt::CaseInsensitive);
        const auto byName = [&](const QString &l, const QString &r) {
            const int c = collator.compare(l, r);
            return c != 0 ? c < 0 : l < r;
        };
        std::sort(folders.begin(), folders.end(), byName);
        std::sort(files.begin(), files.end(), byName);

        FolderModel m(m_api.get());
        FolderSortProxy proxy;
        proxy.setSourceModel(&m);
        proxy.sort(FolderModel::NameColumn, Qt::AscendingOrder);
        QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setLocation(m_col, dir);
        QVERIFY(waitReady(m));
        QCOMPARE(m.entryCount(), kEntries);
        QCOMPARE(proxy.rowCount(), FolderModel::kBatchRows);
        while (proxy.canFetchMore({}))
            proxy.fetchMore({});
        QCOMPARE(proxy.rowCount(), kEntries);
        QCOMPARE(namesOf(proxy), folders + files);
        QVERIFY(m.checkInvariants());

        // Away from the big folder at every stage of its loading: asked,
        // listed, being indexed. Only the folder gone to shows.
        for (int turns = 0; turns < 12; ++turns) {
            m.setLocation(m_col, dir);
            for (int i = 0; i < turns; ++i)
                QCoreApplication::processEvents(QEventLoop::AllEvents, 1);
            m.setLocation(m_col, small);
            QVERIFY(waitReady(m));
            QTest::qWait(5); // a late answer of the big folder would land now
            QCOMPARE(m.path(), small);
            QCOMPARE(namesOf(proxy), QStringList{QStringLiteral("only")});
            QVERIFY(m.checkInvariants());
        }
    }

    // Changes made by another client reach the model through the change
    // feed: created, modified, renamed in place, moved in and out, trashed —
    // without listing again, each applied once.
    void followsChangesFromAnotherClient()
    {
        const QString dir = freshFolder();
        const QString other = freshFolder();
        change([dir, other](Drive &d) -> Status {
            VD_TRY(d.putFileBytes(dir + QStringLiteral("/keep"), "k").status());
            VD_TRY(d.putFileBytes(dir + QStringLiteral("/goes"), "g").status());
            return d.putFileBytes(other + QStringLiteral("/comes"), "c").status();
        });
        FolderModel m(m_api.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setLocation(m_col, dir);
        QVERIFY(waitReady(m));
        QSignalSpy reset(&m, &QAbstractItemModel::modelReset);
        QSignalSpy applied(&m, &FolderModel::changesApplied);

        change([dir](Drive &d) { return d.putFileBytes(dir + QStringLiteral("/new"), "12345678").status(); });
        QVERIFY(QTest::qWaitFor([&] { return namesOf(m).contains(QStringLiteral("new")); }, 10000));
        const int row = namesOf(m).indexOf(QStringLiteral("new"));
        QCOMPARE(m.index(row, FolderModel::SizeColumn).data(FolderModel::SortRole).toULongLong(), 8ull);

        change([dir](Drive &d) { return d.appendFile(dir + QStringLiteral("/new"), "9").status(); });
        QVERIFY(QTest::qWaitFor([&] { return m.index(namesOf(m).indexOf(QStringLiteral("new")), 1).data(FolderModel::SortRole).toULongLong() == 9; }, 10000));

        change([dir](Drive &d) { return d.move(dir + QStringLiteral("/new"), dir + QStringLiteral("/renamed")).status(); });
        QVERIFY(QTest::qWaitFor([&] { return namesOf(m).contains(QStringLiteral("renamed")); }, 10000));
        QVERIFY(!namesOf(m).contains(QStringLiteral("new")));

        change([dir, other](Drive &d) -> Status {
            VD_TRY(d.move(other + QStringLiteral("/comes"), dir + QStringLiteral("/comes")).status());
            VD_TRY(d.move(dir + QStringLiteral("/goes"), other + QStringLiteral("/goes")).status());
            return d.remove(dir + QStringLiteral("/renamed"), false, true);
        });
        QVERIFY(QTest::qWaitFor([&] { return namesOf(m).contains(QStringLiteral("comes")); }, 10000));
        QStringList names = namesOf(m);
        names.sort();
        QCOMPARE(names, (QStringList{QStringLiteral("comes"), QStringLiteral("keep")}));
        QCOMPARE(reset.count(), 0); // never listed again
        QVERIFY(applied.count() >= 1);
        QVERIFY(m.checkInvariants());
    }

    // Records the listing already saw are not applied again: a change
    // committed just before the listing's generation leaves one row.
    void skipsWhatTheListingAlreadyHas()
    {
        const QString dir = freshFolder();
        FolderModel m(m_api.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        // The change and the listing race: whichever order they land in,
        // the file shows exactly once.
        for (int i = 0; i < 20; ++i) {
            const QString file = dir + QStringLiteral("/f%1").arg(i);
            auto write = host().write<bool>([file](Drive &d, OpContext &) -> Result<bool> {
                VD_TRY(d.putFileBytes(file, "x").status());
                return true;
            });
            m.setLocation(m_col, dir);
            QVERIFY(waitReady(m));
            VD_VERIFY_OK(await(write));
            QVERIFY(QTest::qWaitFor([&] { return m.entryCount() == i + 1; }, 10000));
            QTest::qWait(FolderModel::kCoalesceMs * 2); // a second application would show by now
            QCOMPARE(m.entryCount(), i + 1);
            QVERIFY(m.checkInvariants());
        }
    }

    // A rename typed into the name column goes to the node; a bad name is
    // refused with a reason, and a snapshot's rows cannot be edited at all.
    void renamesInPlaceAndRefusesInSnapshots()
    {
        const QString dir = freshFolder();
        change([dir](Drive &d) { return d.putFileBytes(dir + QStringLiteral("/old name"), "x").status(); });
        FolderModel m(m_api.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setLocation(m_col, dir);
        QVERIFY(waitReady(m));
        QVERIFY(m.flags(m.index(0, 0)) & Qt::ItemIsEditable);
        QVERIFY(m.setData(m.index(0, 0), QStringLiteral("新しい 名前")));
        QVERIFY(QTest::qWaitFor([&] { return namesOf(m) == QStringList{QStringLiteral("新しい 名前")}; }, 10000));
        QVERIFY(await(m_api->stat(m_col, dir + QStringLiteral("/新しい 名前"), QString())));

        QSignalSpy failed(&m, &FolderModel::operationFailed);
        QVERIFY(!m.setData(m.index(0, 0), QStringLiteral("a/b")));
        QCOMPARE(failed.count(), 1);

        VD_VERIFY_OK(await(m_api->createSnapshot(m_col, QStringLiteral("snap%1").arg(m_serial))));
        m.setLocation(m_col, dir, QStringLiteral("snap%1").arg(m_serial));
        QVERIFY(waitReady(m));
        QVERIFY(m.isReadOnly());
        QVERIFY(!(m.flags(m.index(0, 0)) & Qt::ItemIsEditable));
        QVERIFY(!(m.flags({}) & Qt::ItemIsDropEnabled));
        QVERIFY(!m.setData(m.index(0, 0), QStringLiteral("other")));
        // And the snapshot view does not follow the live tree.
        change([dir](Drive &d) { return d.putFileBytes(dir + QStringLiteral("/later"), "x").status(); });
        QTest::qWait(FolderModel::kCoalesceMs * 3);
        QCOMPARE(m.entryCount(), 1);
    }

    // Hostile names are shown as the characters they are: markup is not
    // interpreted anywhere a name goes (cells draw plain text; tooltips are
    // escaped rich text), control characters become visible symbols, and a
    // right-to-left override cannot reorder the text around it.
    void showsHostileNamesLiterally_data()
    {
        QTest::addColumn<QString>("name");
        // ('/' cannot be in a name, so no closing tags.)
        QTest::newRow("bold") << QStringLiteral("<b>x<b>y");
        QTest::newRow("img") << QStringLiteral("<img src=x onerror=alert(1)>");
        QTest::newRow("qt") << QStringLiteral("<qt><font color=red>red");
        QTest::newRow("entity") << QStringLiteral("&lt;not&gt;");
        QTest::newRow("control") << QStringLiteral("a\nb\tc\x1b[31m");
        QTest::newRow("rtl") << QStringLiteral("invoice\u202Efdp.exe");
        QTest::newRow("255 bytes") << QString(255, QLatin1Char('n'));
        QTest::newRow("255 bytes japanese") << QString(85, QChar(0x540d)); // 3 bytes each in UTF-8
    }
    void showsHostileNamesLiterally()
    {
        QFETCH(QString, name);
        const QString dir = freshFolder();
        change([dir, name](Drive &d) { return d.putFileBytes(dir + QLatin1Char('/') + name, "x").status(); });
        FolderModel m(m_api.get());
        m.setLocation(m_col, dir);
        QVERIFY(waitReady(m));
        QCOMPARE(m.rowCount(), 1);
        const QModelIndex i = m.index(0, 0);
        QCOMPARE(i.data(Qt::EditRole).toString(), name); // renaming starts from the real name
        const QString shown = i.data(Qt::DisplayRole).toString();
        QCOMPARE(shown, widgets::displayName(name));
        for (const QChar c : shown)
            QVERIFY2(c.unicode() >= 0x20 && !(c.unicode() >= 0x7f && c.unicode() < 0xa0), "a control character reaches the screen");
        if (!name.contains(QLatin1Char('\n')))
            QVERIFY(shown.contains(name.left(3)));
        // The tooltip is rich text on purpose; rendered, it is the name.
        const QString tip = i.data(Qt::ToolTipRole).toString();
        QVERIFY(Qt::mightBeRichText(tip));
        QTextDocument doc;
        doc.setHtml(tip);
        QCOMPARE(doc.toPlainText(), shown);
        QVERIFY(!doc.toHtml().contains(QStringLiteral("<img")));
        QCOMPARE(shown.front(), QChar(0x2068)); // isolated: an override inside ends with the name
        QCOMPARE(shown.back(), QChar(0x2069));
    }

    // The folder tree lists one level at a time, shows only folders, and
    // follows folders created, renamed (re-sorted), moved and removed.
    void folderTreeIsLazyAndLive()
    {
        // A collection of its own: the model tester walks (and so lists)
        // every folder, and the others hold a 100,000-entry one.
        auto made = await(m_api->createCollection(QStringLiteral("tree")));
        VD_VERIFY_OK(made);
        const Ruid col = made->ruid;
        const QString dir = QStringLiteral("/top");
        auto changeTree = [this, col](std::function<Status(Drive &)> fn) {
            auto r = await(m_api->host(col).value()->write<bool>([fn](Drive &d, OpContext &) -> Result<bool> {
                VD_TRY(fn(d));
                return true;
            }));
            VD_VERIFY_OK(r);
        };
        changeTree([dir](Drive &d) -> Status {
            VD_TRY(d.mkdir(dir + QStringLiteral("/b/deep"), true).status());
            VD_TRY(d.mkdir(dir + QStringLiteral("/c"), false).status());
            return d.putFileBytes(dir + QStringLiteral("/file"), "x").status();
        });
        {
            // Nothing is listed before it is asked for (no tester here: it
            // walks, and so fetches, everything).
            FolderTreeModel lazy(m_api.get());
            lazy.setCollection(col, QStringLiteral("models"));
            QCOMPARE(lazy.rowCount(), 1);
            const QModelIndex root = lazy.index(0, 0);
            QCOMPARE(root.data().toString(), widgets::displayName(QStringLiteral("models")));
            QVERIFY(lazy.hasChildren(root));
            QCOMPARE(lazy.rowCount(root), 0);
            QVERIFY(lazy.canFetchMore(root));
            lazy.fetchMore(root);
            QVERIFY(QTest::qWaitFor([&] { return lazy.rowCount(root) > 0; }, 10000));
            const QModelIndex t = lazy.indexOf(dir);
            QCOMPARE(lazy.pathOf(t), dir);
            QCOMPARE(lazy.rowCount(t), 0); // one level at a time
            QVERIFY(lazy.canFetchMore(t));
        }
        FolderTreeModel m(m_api.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setCollection(col, QStringLiteral("models"));
        const QModelIndex root = m.index(0, 0);
        m.fetchMore(root);
        QVERIFY(QTest::qWaitFor([&] { return m.rowCount(root) > 0; }, 10000));
        QModelIndex t = m.indexOf(dir);
        QCOMPARE(m.pathOf(t), dir);
        m.fetchMore(t);
        QVERIFY(QTest::qWaitFor([&] { return m.rowCount(m.indexOf(dir)) == 2; }, 10000));
        t = m.indexOf(dir);
        QStringList children;
        for (int r = 0; r < m.rowCount(t); ++r)
            children.append(m.index(r, 0, t).data(Qt::AccessibleTextRole).toString());
        QCOMPARE(children, (QStringList{QStringLiteral("b"), QStringLiteral("c")})); // no file

        QSignalSpy applied(&m, &FolderTreeModel::changesApplied);
        changeTree([dir](Drive &d) -> Status {
            VD_TRY(d.mkdir(dir + QStringLiteral("/a"), false).status());
            return d.move(dir + QStringLiteral("/c"), dir + QStringLiteral("/0c")).status();
        });
        QVERIFY(applied.wait(10000));
        t = m.indexOf(dir);
        children.clear();
        for (int r = 0; r < m.rowCount(t); ++r)
            children.append(m.index(r, 0, t).data(Qt::AccessibleTextRole).toString());
        QCOMPARE(children, (QStringList{QStringLiteral("0c"), QStringLiteral("a"), QStringLiteral("b")}));

        // A file put into a folder changes the folder (its entry count), not
        // its place: the item stays (a view keeps it selected).
        QSignalSpy removed(&m, &QAbstractItemModel::rowsRemoved);
        changeTree([dir](Drive &d) { return d.putFileBytes(dir + QStringLiteral("/a/new file"), "x").status(); });
        QVERIFY(applied.wait(10000));
        QCOMPARE(removed.count(), 0);

        changeTree([dir](Drive &d) { return d.remove(dir + QStringLiteral("/b"), true, true); });
        QVERIFY(applied.wait(10000));
        t = m.indexOf(dir);
        QCOMPARE(m.rowCount(t), 2);
        QVERIFY(m.checkInvariants());
    }
};

QTEST_MAIN(TestFolderModel)
#include "tst_foldermodel.moc"
