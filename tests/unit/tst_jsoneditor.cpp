// The explorer's JSON editor on a real node: JsonModel (under
// QAbstractItemModelTester, fatal, and its own checkInvariants()),
// JsonEditor and JsonDiff, over documents imported, edited and exported
// through DriveApi, with changes made by "another client" (a request of its
// own on the node's host) followed live.
#include "client/localdriveapi.h"
#include "displaytext.h"
#include "jsondiff.h"
#include "jsoneditor.h"
#include "jsonmodel.h"
#include "node/node.h"
#include "testsupport.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QDialog>
#include <QTreeView>
#include <QFile>
#include <QLabel>
#include <QSignalSpy>
#include <QTemporaryDir>

using namespace vd;
using client::JsonNode;
using client::LocalDriveApi;
using node::DriveHost;
using node::Node;
using node::NodeOptions;
using node::OpContext;
using tree::Drive;
using widgets::JsonChange;
using widgets::JsonEditor;
using widgets::JsonModel;

namespace {

template<typename T>
Result<T> await(QFuture<Result<T>> f)
{
    while (!f.isFinished())
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    return f.result();
}

// As `vdrive json export` writes it (nlohmann's dump(2) and a newline): an
// import exports byte for byte the same.
const QByteArray kDocument = "{\n"
    "  \"zeta\": 12345678901234567890,\n"
    "  \"alpha\": -98765432109876543210,\n"
    "  \"float\": 1.10,\n"
    "  \"huge\": 1e400,\n"
    "  \"nested\": {\n"
    "    \"list\": [\n"
    "      1,\n"
    "      [\n"
    "        2,\n"
    "        3\n"
    "      ],\n"
    "      {\n"
    "        \"b\": true,\n"
    "        \"a\": null\n"
    "      }\n"
    "    ],\n"
    "    \"empty\": {},\n"
    "    \"none\": []\n"
    "  },\n"
    "  \"name\": \"x\\\"y\"\n"
    "}\n"
    "";

QStringList keysOf(const QAbstractItemModel &m, const QModelIndex &parent)
{
    QStringList out;
    for (int r = 0; r < m.rowCount(parent); ++r)
        out.append(m.index(r, JsonModel::KeyColumn, parent).data(Qt::EditRole).toString());
    return out;
}

QStringList L(std::initializer_list<const char *> keys)
{
    QStringList out;
    for (const char *k : keys)
        out.append(QString::fromUtf8(k));
    return out;
}

QString literalAt(const JsonModel &m, const QStringList &keys)
{
    return m.indexAt(keys).data(JsonModel::LiteralRole).toString();
}

} // namespace

class TestJsonEditor : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    std::unique_ptr<Node> m_node;
    std::unique_ptr<LocalDriveApi> m_api;
    Ruid m_col;
    int m_serial = 0;

    DriveHost &host() { return *m_api->host(m_col).value(); }

    // A change made by "another client": a request of its own on the node.
    void change(std::function<Status(Drive &)> fn)
    {
        auto r = await(host().write<bool>([fn](Drive &d, OpContext &) -> Result<bool> {
            VD_TRY(fn(d));
            return true;
        }));
        VD_VERIFY_OK(r);
    }

    QString localFile(const QByteArray &bytes)
    {
        const QString path = m_tmp.filePath(QStringLiteral("in%1.json").arg(++m_serial));
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
            return {};
        return path;
    }

    // A fresh document /docN.json imported from bytes through the API.
    QString freshDocument(const QByteArray &bytes = kDocument)
    {
        const QString vpath = QStringLiteral("/doc%1.json").arg(++m_serial);
        auto r = await(m_api->importJson(m_col, localFile(bytes), vpath, false));
        if (!r)
            qWarning() << r.status().toString();
        return r ? vpath : QString();
    }

    static bool waitReady(JsonModel &m)
    {
        return QTest::qWaitFor([&] { return m.state() == JsonModel::State::Ready || m.state() == JsonModel::State::Failed; }, 10000)
               && m.state() == JsonModel::State::Ready;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        NodeOptions o;
        o.dataDir = m_tmp.filePath(QStringLiteral("data"));
        m_node = std::make_unique<Node>(o);
        m_api = std::make_unique<LocalDriveApi>(*m_node);
        auto made = await(m_api->createCollection(QStringLiteral("json")));
        VD_VERIFY_OK(made);
        m_col = made->ruid;
    }

    void cleanupTestCase()
    {
        m_api.reset();
        m_node.reset();
    }

    // Import, show, edit one value in place, export: the exported text is
    // the imported text with that one value changed — every other literal
    // (20-digit integers, 1.10, 1e400) and the key order byte for byte.
    void roundTripKeepsLiteralsAndOrder()
    {
        const QString doc = freshDocument();
        QVERIFY(!doc.isEmpty());
        JsonModel m(m_api.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setDocument(m_col, doc);
        QCOMPARE(m.state(), JsonModel::State::Loading);
        QVERIFY(waitReady(m));
        QVERIFY(m.checkInvariants());
        const QModelIndex root = m.index(0, 0);
        QCOMPARE(m.rowCount(), 1);
        QCOMPARE(keysOf(m, root), (L({"zeta", "alpha", "float", "huge", "nested", "name"})));
        QCOMPARE(keysOf(m, m.indexAt(L({"nested"}))), (L({"list", "empty", "none"})));
        QCOMPARE(keysOf(m, m.indexAt(L({"nested", "list", "2"}))), (L({"b", "a"})));
        QCOMPARE(literalAt(m, L({"zeta"})), QStringLiteral("12345678901234567890"));
        QCOMPARE(literalAt(m, L({"alpha"})), QStringLiteral("-98765432109876543210"));
        QCOMPARE(literalAt(m, L({"float"})), QStringLiteral("1.10"));
        QCOMPARE(literalAt(m, L({"huge"})), QStringLiteral("1e400"));
        QCOMPARE(literalAt(m, L({"name"})), QStringLiteral("\"x\\\"y\""));
        const QModelIndex zeta = m.indexAt(L({"zeta"}));
        QCOMPARE(zeta.siblingAtColumn(JsonModel::ValueColumn).data(Qt::EditRole).toString(), QStringLiteral("12345678901234567890"));
        QCOMPARE(zeta.siblingAtColumn(JsonModel::ValueColumn).data().toString(), widgets::displayName(QStringLiteral("12345678901234567890")));
        QCOMPARE(zeta.siblingAtColumn(JsonModel::TypeColumn).data().toString(), JsonModel::typeName(JsonModel::ValueType::Number));
        QCOMPARE(m.indexAt(L({"name"})).siblingAtColumn(JsonModel::ValueColumn).data(Qt::EditRole).toString(), QStringLiteral("x\"y"));
        QCOMPARE(m.indexAt(L({"nested", "list", "1", "0"})).data(JsonModel::PathRole).toString(), doc + QStringLiteral("/nested/list/1/0"));

        // Unchanged: the export is the import.
        const QString same = m_tmp.filePath(QStringLiteral("same%1.json").arg(m_serial));
        VD_VERIFY_OK(await(m_api->exportJson(m_col, doc, same, QString())));
        QFile s(same);
        QVERIFY(s.open(QIODevice::ReadOnly));
        QCOMPARE(s.readAll(), kDocument);

        QSignalSpy reset(&m, &QAbstractItemModel::modelReset);
        const QModelIndex value = m.indexAt(L({"float"})).siblingAtColumn(JsonModel::ValueColumn);
        QVERIFY(m.flags(value) & Qt::ItemIsEditable);
        QVERIFY(m.setData(value, QStringLiteral("2.50000000000000000001")));
        QVERIFY(QTest::qWaitFor([&] { return literalAt(m, L({"float"})) == QStringLiteral("2.50000000000000000001"); }, 10000));
        QCOMPARE(reset.count(), 0);
        QVERIFY(m.checkInvariants());

        const QString out = m_tmp.filePath(QStringLiteral("out%1.json").arg(m_serial));
        VD_VERIFY_OK(await(m_api->exportJson(m_col, doc, out, QString())));
        QFile f(out);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QByteArray expected = kDocument;
        expected.replace("\"float\": 1.10,", "\"float\": 2.50000000000000000001,");
        QCOMPARE(f.readAll(), expected);
    }

    // What is typed is checked against the value's type before anything is
    // sent: a number must be a JSON number, a boolean true or false; text
    // typed into a string is stored escaped; the type changes through the
    // type column.
    void validatesEditsAndChangesTypes()
    {
        const QString doc = freshDocument();
        JsonModel m(m_api.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setDocument(m_col, doc);
        QVERIFY(waitReady(m));
        QSignalSpy failed(&m, &JsonModel::operationFailed);
        const QModelIndex zeta = m.indexAt(L({"zeta"})).siblingAtColumn(JsonModel::ValueColumn);
        for (const char *bad : {"12abc", "0x10", "1.", "NaN", "01", "\"1\"", ""}) {
            QVERIFY2(!m.setData(zeta, QString::fromLatin1(bad)), bad);
            QVERIFY(failed.last().at(1).toString().contains(QStringLiteral("not a JSON number")));
        }
        QCOMPARE(failed.count(), 7);
        const QModelIndex b = m.indexAt(L({"nested", "list", "2", "b"})).siblingAtColumn(JsonModel::ValueColumn);
        QVERIFY(!m.setData(b, QStringLiteral("yes")));
        QVERIFY(!m.setData(m.indexAt(L({"nested", "list", "2", "a"})).siblingAtColumn(JsonModel::ValueColumn), QStringLiteral("0")));
        QCOMPARE(failed.count(), 9);
        QVERIFY(!(m.flags(m.indexAt(L({"nested"})).siblingAtColumn(JsonModel::ValueColumn)) & Qt::ItemIsEditable));
        QCOMPARE(literalAt(m, L({"zeta"})), QStringLiteral("12345678901234567890"));

        // A string takes any text: quotes, backslashes and controls escaped.
        const QModelIndex name = m.indexAt(L({"name"})).siblingAtColumn(JsonModel::ValueColumn);
        QVERIFY(m.setData(name, QStringLiteral("he said \"hi\"\\\n\t\x01 <b>x</b> 名前")));
        QVERIFY(QTest::qWaitFor([&] { return literalAt(m, L({"name"})).startsWith(QStringLiteral("\"he")); }, 10000));
        QCOMPARE(literalAt(m, L({"name"})), QStringLiteral("\"he said \\\"hi\\\"\\\\\\n\\t\\u0001 <b>x</b> 名前\""));
        QCOMPARE(m.indexAt(L({"name"})).siblingAtColumn(JsonModel::ValueColumn).data(Qt::EditRole).toString(),
                 QStringLiteral("he said \"hi\"\\\n\t\x01 <b>x</b> 名前"));
        QVERIFY(m.setData(b, QStringLiteral("false")));
        QVERIFY(QTest::qWaitFor([&] { return literalAt(m, L({"nested", "list", "2", "b"})) == QStringLiteral("false"); }, 10000));

        // Types: a number becomes a string of its digits and back; a scalar an object.
        const QModelIndex zetaType = m.indexAt(L({"zeta"})).siblingAtColumn(JsonModel::TypeColumn);
        QVERIFY(m.flags(zetaType) & Qt::ItemIsEditable);
        QVERIFY(m.setData(zetaType, int(JsonModel::ValueType::String)));
        QVERIFY(QTest::qWaitFor([&] { return literalAt(m, L({"zeta"})) == QStringLiteral("\"12345678901234567890\""); }, 10000));
        QVERIFY(m.setData(m.indexAt(L({"zeta"})).siblingAtColumn(JsonModel::TypeColumn), int(JsonModel::ValueType::Number)));
        QVERIFY(QTest::qWaitFor([&] { return literalAt(m, L({"zeta"})) == QStringLiteral("12345678901234567890"); }, 10000));
        QVERIFY(m.setValueType(m.indexAt(L({"huge"})), JsonModel::ValueType::Object));
        QVERIFY(QTest::qWaitFor([&] { return m.typeOf(m.indexAt(L({"huge"}))) == JsonModel::ValueType::Object; }, 10000));
        QCOMPARE(keysOf(m, m.index(0, 0)), (L({"zeta", "alpha", "float", "huge", "nested", "name"}))); // the place is kept
        QVERIFY(m.setValueType(m.indexAt(L({"nested"})), JsonModel::ValueType::Null));
        QVERIFY(QTest::qWaitFor([&] { return literalAt(m, L({"nested"})) == QStringLiteral("null"); }, 10000));
        QCOMPARE(m.rowCount(m.indexAt(L({"nested"}))), 0);
        QVERIFY(m.checkInvariants());
        QCOMPARE(failed.count(), 9); // the node refused nothing

        // The pure rules.
        QCOMPARE(*JsonModel::literalFor(JsonModel::ValueType::Number, QStringLiteral(" -0.0e-7 ")), QByteArray("-0.0e-7"));
        QVERIFY(!JsonModel::literalFor(JsonModel::ValueType::Object, QStringLiteral("[1]")));
        QCOMPARE(*JsonModel::literalFor(JsonModel::ValueType::Array, QStringLiteral("[1, {\"a\": 2}]")), QByteArray("[1, {\"a\": 2}]"));
    }

    // Members and elements come and go, with their types checked: a
    // member needs an object and a new key, an element an array.
    void addsAndRemovesMembersAndElements()
    {
        const QString doc = freshDocument();
        JsonModel m(m_api.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setDocument(m_col, doc);
        QVERIFY(waitReady(m));
        QSignalSpy failed(&m, &JsonModel::operationFailed);
        QVERIFY(m.addMember(m.index(0, 0), QStringLiteral("new/key~"), "{\"x\": 12345678901234567890}"));
        QVERIFY(QTest::qWaitFor([&] { return keysOf(m, m.index(0, 0)).size() == 7; }, 10000));
        QCOMPARE(keysOf(m, m.index(0, 0)).last(), QStringLiteral("new/key~"));
        QCOMPARE(literalAt(m, L({"new/key~", "x"})), QStringLiteral("12345678901234567890"));
        QVERIFY(!m.addMember(m.index(0, 0), QStringLiteral("zeta"))); // taken
        QVERIFY(!m.addMember(m.indexAt(L({"nested", "list", "0"})), QStringLiteral("k"))); // an element of an array
        QVERIFY(!m.addMember(m.index(0, 0), QStringLiteral("k"), "{bad"));
        QVERIFY(!m.addElement(m.indexAt(L({"nested", "empty"})))); // an object
        QCOMPARE(failed.count(), 4);

        const QModelIndex list = m.indexAt(L({"nested", "list"}));
        QVERIFY(m.addElement(list, "-98765432109876543210"));
        QVERIFY(QTest::qWaitFor([&] { return m.rowCount(m.indexAt(L({"nested", "list"}))) == 4; }, 10000));
        QCOMPARE(literalAt(m, L({"nested", "list", "3"})), QStringLiteral("-98765432109876543210"));
        QVERIFY(m.addElement(m.indexAt(L({"nested", "list", "1", "0"})))); // an element's array
        QVERIFY(QTest::qWaitFor([&] { return m.rowCount(m.indexAt(L({"nested", "list", "1"}))) == 3; }, 10000));
        QCOMPARE(literalAt(m, L({"nested", "list", "1", "2"})), QStringLiteral("null"));

        QVERIFY(m.removeValue(m.indexAt(L({"nested", "list", "0"}))));
        QVERIFY(QTest::qWaitFor([&] { return m.rowCount(m.indexAt(L({"nested", "list"}))) == 3; }, 10000));
        QCOMPARE(keysOf(m, m.indexAt(L({"nested", "list"}))), (L({"0", "1", "2"})));
        QCOMPARE(m.typeOf(m.indexAt(L({"nested", "list", "0"}))), JsonModel::ValueType::Array); // moved up
        QCOMPARE(literalAt(m, L({"nested", "list", "2"})), QStringLiteral("-98765432109876543210"));
        QVERIFY(m.removeValue(m.indexAt(L({"alpha"}))));
        QVERIFY(QTest::qWaitFor([&] { return !keysOf(m, m.index(0, 0)).contains(QStringLiteral("alpha")); }, 10000));
        QVERIFY(!m.removeValue(m.index(0, 0))); // the document itself
        QCOMPARE(failed.count(), 5);
        QVERIFY(m.checkInvariants());
    }

    // Another client's changes reach the model: a value set, a member
    // added, an element removed — merged, never a reset.
    void followsChangesFromAnotherClient()
    {
        const QString doc = freshDocument();
        JsonModel m(m_api.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setDocument(m_col, doc);
        QVERIFY(waitReady(m));
        QSignalSpy reset(&m, &QAbstractItemModel::modelReset);
        QSignalSpy applied(&m, &JsonModel::changesApplied);
        change([doc](Drive &d) { return d.setJson(doc + QStringLiteral("/float"), "3.14159265358979323846264338327950288").status(); });
        QVERIFY(QTest::qWaitFor([&] { return literalAt(m, L({"float"})) == QStringLiteral("3.14159265358979323846264338327950288"); }, 10000));
        change([doc](Drive &d) -> Status {
            VD_TRY(d.setJson(doc + QStringLiteral("/nested/added"), "[true]").status());
            return d.deleteJson(doc + QStringLiteral("/nested/list/0"));
        });
        QVERIFY(QTest::qWaitFor([&] { return keysOf(m, m.indexAt(L({"nested"}))).contains(QStringLiteral("added")); }, 10000));
        QCOMPARE(m.rowCount(m.indexAt(L({"nested", "list"}))), 2);
        QCOMPARE(literalAt(m, L({"nested", "added", "0"})), QStringLiteral("true"));
        // A change elsewhere in the collection is not this document's.
        const int before = int(applied.count());
        change([](Drive &d) { return d.mkdir(QStringLiteral("/elsewhere%1").arg(QDateTime::currentMSecsSinceEpoch()), false).status(); });
        QTest::qWait(JsonModel::kCoalesceMs * 3);
        QCOMPARE(int(applied.count()), before);
        QCOMPARE(reset.count(), 0);
        QVERIFY(m.checkInvariants());

        // Replaced whole (an import over it): the new document shows.
        VD_VERIFY_OK(await(m_api->importJson(m_col, localFile("[1, 2]"), doc, true)));
        QVERIFY(QTest::qWaitFor([&] { return m.typeOf(m.index(0, 0)) == JsonModel::ValueType::Array && m.rowCount(m.index(0, 0)) == 2; }, 10000));
        QVERIFY(m.checkInvariants());
        // And removed: the model says so.
        QSignalSpy removed(&m, &JsonModel::documentRemoved);
        change([doc](Drive &d) { return d.remove(doc, true, true); });
        QVERIFY(removed.wait(10000));
        QCOMPARE(m.state(), JsonModel::State::Failed);
    }

    // Keys and strings are shown as the characters they are: no markup, no
    // control characters reaching the screen.
    void showsHostileKeysLiterally()
    {
        const QString doc = freshDocument("{\"<b>x\": \"<img src=x>\", \"a\\u0001b\\nc\": 1, \"\\u202eabc\": true}");
        JsonModel m(m_api.get());
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        m.setDocument(m_col, doc);
        QVERIFY(waitReady(m));
        const QStringList keys{QStringLiteral("<b>x"), QStringLiteral("a\x01" "b\nc"), QStringLiteral("\u202e" "abc")};
        QCOMPARE(keysOf(m, m.index(0, 0)), keys);
        for (int r = 0; r < 3; ++r) {
            const QModelIndex k = m.index(r, JsonModel::KeyColumn, m.index(0, 0));
            const QString shown = k.data().toString();
            QCOMPARE(shown, widgets::displayName(keys[r]));
            for (const QChar c : shown)
                QVERIFY2(c.unicode() >= 0x20, "a control character reaches the screen");
            QVERIFY(Qt::mightBeRichText(k.data(Qt::ToolTipRole).toString()));
            QVERIFY(!k.data(Qt::ToolTipRole).toString().contains(QStringLiteral("<b>x")));
        }
        QCOMPARE(m.index(0, JsonModel::ValueColumn, m.index(0, 0)).data().toString(), widgets::displayName(QStringLiteral("\"<img src=x>\"")));
    }

    // On a snapshot the editor says it is read-only and refuses every change.
    void snapshotEditorRefusesEdits()
    {
        const QString doc = freshDocument();
        const QString snap = QStringLiteral("snap%1").arg(m_serial);
        VD_VERIFY_OK(await(m_api->createSnapshot(m_col, snap)));
        JsonEditor editor(m_api.get(), m_col, doc, snap);
        editor.setAttribute(Qt::WA_DeleteOnClose, false);
        JsonModel &m = *editor.model();
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::Fatal);
        QVERIFY(waitReady(m));
        QVERIFY(editor.isReadOnly());
        QVERIFY(!editor.readOnlyBanner()->isHidden());
        QVERIFY(editor.windowTitle().contains(snap));
        QSignalSpy failed(&m, &JsonModel::operationFailed);
        const QModelIndex zeta = m.indexAt(L({"zeta"}));
        QVERIFY(!(m.flags(zeta.siblingAtColumn(JsonModel::ValueColumn)) & Qt::ItemIsEditable));
        QVERIFY(!(m.flags(zeta.siblingAtColumn(JsonModel::TypeColumn)) & Qt::ItemIsEditable));
        QVERIFY(!m.setData(zeta.siblingAtColumn(JsonModel::ValueColumn), QStringLiteral("1")));
        QVERIFY(!m.setValueType(zeta, JsonModel::ValueType::String));
        QVERIFY(!m.addMember(m.index(0, 0), QStringLiteral("k")));
        QVERIFY(!m.addElement(m.indexAt(L({"nested", "list"}))));
        QVERIFY(!m.removeValue(zeta));
        QCOMPARE(failed.count(), 5);
        editor.view()->setCurrentIndex(zeta);
        for (const char *name : {"addMember", "addElement", "remove", "editValue", "import", "type0"})
            QVERIFY2(!editor.action(QString::fromLatin1(name))->isEnabled(), name);
        QVERIFY(editor.action(QStringLiteral("export"))->isEnabled());
        QSignalSpy finished(&editor, &JsonEditor::transferFinished);
        editor.importFrom(localFile("{}"));
        QCOMPARE(finished.count(), 1);
        QVERIFY(!finished.at(0).at(0).value<Status>());
        // Nothing changed, and the snapshot does not follow the live document.
        change([doc](Drive &d) { return d.setJson(doc + QStringLiteral("/zeta"), "0").status(); });
        QTest::qWait(JsonModel::kCoalesceMs * 3);
        QCOMPARE(literalAt(m, L({"zeta"})), QStringLiteral("12345678901234567890"));
        // A snapshot's document exports as it was.
        const QString out = m_tmp.filePath(QStringLiteral("snap%1.json").arg(m_serial));
        editor.exportTo(out);
        QVERIFY(finished.wait(10000));
        QFile f(out);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), kDocument);
    }

    // The live editor: its actions follow the current value.
    void editorActionsFollowTheSelection()
    {
        const QString doc = freshDocument();
        JsonEditor editor(m_api.get(), m_col, doc);
        editor.setAttribute(Qt::WA_DeleteOnClose, false);
        JsonModel &m = *editor.model();
        QVERIFY(waitReady(m));
        QVERIFY(editor.readOnlyBanner()->isHidden());
        editor.view()->setCurrentIndex(m.indexAt(L({"nested", "list", "0"})));
        QVERIFY(editor.action(QStringLiteral("addElement"))->isEnabled());
        QVERIFY(!editor.action(QStringLiteral("addMember"))->isEnabled());
        QVERIFY(editor.action(QStringLiteral("remove"))->isEnabled());
        QVERIFY(editor.action(QStringLiteral("remove"))->shortcut() == QKeySequence(QKeySequence::Delete));
        editor.view()->setCurrentIndex(m.index(0, 0));
        QVERIFY(editor.action(QStringLiteral("addMember"))->isEnabled());
        QVERIFY(!editor.action(QStringLiteral("remove"))->isEnabled());
        editor.action(QStringLiteral("remove"))->trigger(); // disabled: nothing happens
        editor.view()->setCurrentIndex(m.indexAt(L({"nested", "list"})));
        editor.action(QStringLiteral("addElement"))->trigger();
        QVERIFY(QTest::qWaitFor([&] { return m.rowCount(m.indexAt(L({"nested", "list"}))) == 4; }, 10000));
        // Import over it from a file.
        QSignalSpy finished(&editor, &JsonEditor::transferFinished);
        editor.importFrom(localFile("{\"only\": 12345678901234567890}"));
        QVERIFY(finished.wait(10000));
        QVERIFY(finished.at(0).at(0).value<Status>());
        QVERIFY(QTest::qWaitFor([&] { return keysOf(m, m.index(0, 0)) == QStringList{QStringLiteral("only")}; }, 10000));
        QCOMPARE(literalAt(m, L({"only"})), QStringLiteral("12345678901234567890"));
    }

    // JsonDiff between a snapshot's read and now: each change once, with
    // old and new literals; an order change noted.
    void diffListsTheChanges()
    {
        const QString doc = freshDocument();
        const QString snap = QStringLiteral("before%1").arg(m_serial);
        VD_VERIFY_OK(await(m_api->createSnapshot(m_col, snap)));
        change([doc](Drive &d) -> Status {
            VD_TRY(d.setJson(doc + QStringLiteral("/zeta"), "12345678901234567891").status());
            VD_TRY(d.deleteJson(doc + QStringLiteral("/alpha")));
            VD_TRY(d.setJson(doc + QStringLiteral("/nested/list/2/c"), "\"new\"").status());
            VD_TRY(d.setJson(doc + QStringLiteral("/nested/list/3"), "[]").status());
            VD_TRY(d.setJson(doc + QStringLiteral("/nested/empty"), "[]").status());
            // "huge" removed and added again: same key, now last.
            VD_TRY(d.deleteJson(doc + QStringLiteral("/huge")));
            return d.setJson(doc + QStringLiteral("/huge"), "1e400").status();
        });
        auto before = await(m_api->jsonTree(m_col, doc, snap));
        auto now = await(m_api->jsonTree(m_col, doc, QString()));
        VD_VERIFY_OK(before);
        VD_VERIFY_OK(now);
        QCOMPARE(before->nodes, 17ull);
        const std::vector<JsonChange> changes = widgets::jsonDiff(before->root, now->root);
        using K = JsonChange::Kind;
        const std::vector<JsonChange> expected{
            {K::Reordered, QString(), QStringLiteral("[\"zeta\",\"float\",\"huge\",\"nested\",\"name\"]"), QStringLiteral("[\"zeta\",\"float\",\"nested\",\"name\",\"huge\"]")},
            {K::Changed, QStringLiteral("/zeta"), QStringLiteral("12345678901234567890"), QStringLiteral("12345678901234567891")},
            {K::Removed, QStringLiteral("/alpha"), QStringLiteral("-98765432109876543210"), QString()},
            {K::Added, QStringLiteral("/nested/list/2/c"), QString(), QStringLiteral("\"new\"")},
            {K::Added, QStringLiteral("/nested/list/3"), QString(), QStringLiteral("[]")},
            {K::Changed, QStringLiteral("/nested/empty"), QStringLiteral("{}"), QStringLiteral("[]")},
        };
        for (size_t i = 0; i < std::min(changes.size(), expected.size()); ++i) {
            QCOMPARE(int(changes[i].kind), int(expected[i].kind));
            QCOMPARE(changes[i].path, expected[i].path);
            QCOMPARE(changes[i].oldText, expected[i].oldText);
            QCOMPARE(changes[i].newText, expected[i].newText);
        }
        QCOMPARE(changes.size(), expected.size());
        QVERIFY(widgets::jsonDiff(now->root, now->root).empty());
        // Keys become JSON Pointer tokens.
        JsonNode a{Ruid(), QString(), QString(), tree::Kind::JsonObject, {}, {}};
        JsonNode b = a;
        b.children.push_back({Ruid(), QString(), QStringLiteral("a/b~c"), tree::Kind::JsonValue, "1", {}});
        QCOMPARE(widgets::jsonDiff(a, b).at(0).path, QStringLiteral("/a~1b~0c"));
        QCOMPARE(widgets::compactJson(b), QStringLiteral("{\"a/b~c\":1}"));

        // The editor compares with a snapshot and shows the changes.
        JsonEditor editor(m_api.get(), m_col, doc);
        editor.setAttribute(Qt::WA_DeleteOnClose, false);
        QVERIFY(waitReady(*editor.model()));
        QSignalSpy compared(&editor, &JsonEditor::compared);
        editor.compareWith(snap);
        QVERIFY(compared.wait(10000));
        QCOMPARE(compared.at(0).at(0).value<std::vector<JsonChange>>().size(), expected.size());
        QVERIFY(editor.findChild<QDialog *>(QStringLiteral("jsonDiffDialog")));
    }

    // Past JsonTree::kMaxNodes values a document is refused, with a reason.
    void refusesHugeDocuments()
    {
        QByteArray big = "[";
        for (uint64_t i = 0; i < client::JsonTree::kMaxNodes; ++i)
            big += i ? ",0" : "0";
        big += "]";
        const QString doc = freshDocument(big);
        QVERIFY(!doc.isEmpty());
        auto r = await(m_api->jsonTree(m_col, doc, QString()));
        VD_VERIFY_CODE(r.status(), ErrorCode::InvalidArgument);
        QVERIFY2(r.status().message().contains(QStringLiteral("200000")), qPrintable(r.status().message()));
        JsonModel m(m_api.get());
        m.setDocument(m_col, doc);
        QVERIFY(QTest::qWaitFor([&] { return m.state() == JsonModel::State::Failed; }, 30000));
        QVERIFY(!m.errorText().isEmpty());
    }
};

QTEST_MAIN(TestJsonEditor)
#include "tst_jsoneditor.moc"
