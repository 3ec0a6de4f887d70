#include "jsoneditor.h"
#include "whenready.h"

#include "displaytext.h"
#include "errorbox.h"
#include "jsondiff.h"
#include "jsonmodel.h"

#include <QAction>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFutureWatcher>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QStatusBar>
#include <QStyledItemDelegate>
#include <QToolBar>
#include <QTreeView>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace vd::widgets {

namespace {

// The type column is edited with a list of the JSON types.
class JsonDelegate final : public QStyledItemDelegate
{
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    QWidget *createEditor(QWidget *parent, const QStyleOptionViewItem &option, const QModelIndex &index) const override
    {
        if (index.column() != JsonModel::TypeColumn)
            return QStyledItemDelegate::createEditor(parent, option, index);
        auto *box = new QComboBox(parent);
        box->setAccessibleName(JsonModel::tr("Type"));
        for (int t = 0; t < JsonModel::kValueTypes; ++t)
            box->addItem(JsonModel::typeName(JsonModel::ValueType(t)));
        return box;
    }
    void setEditorData(QWidget *editor, const QModelIndex &index) const override
    {
        if (auto *box = qobject_cast<QComboBox *>(editor); box && index.column() == JsonModel::TypeColumn)
            box->setCurrentIndex(index.data(Qt::EditRole).toInt());
        else
            QStyledItemDelegate::setEditorData(editor, index);
    }
    void setModelData(QWidget *editor, QAbstractItemModel *model, const QModelIndex &index) const override
    {
        if (auto *box = qobject_cast<QComboBox *>(editor); box && index.column() == JsonModel::TypeColumn)
            model->setData(index, box->currentIndex());
        else
            QStyledItemDelegate::setModelData(editor, model, index);
    }
};

} // namespace

JsonEditor::JsonEditor(client::DriveApi *api, const Ruid &collection, const QString &path, const QString &at, QWidget *parent)
    : QMainWindow(parent), m_api(api), m_collection(collection), m_path(path), m_at(at)
{
    setObjectName(QStringLiteral("jsonEditor"));
    setAttribute(Qt::WA_DeleteOnClose);
    m_model = new JsonModel(api, this);

    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    m_banner = new QLabel(central);
    m_banner->setObjectName(QStringLiteral("readOnlyBanner"));
    m_banner->setTextFormat(Qt::PlainText);
    m_banner->setWordWrap(true);
    m_banner->setMargin(6);
    m_banner->setAutoFillBackground(true);
    m_banner->setBackgroundRole(QPalette::ToolTipBase);
    m_banner->setForegroundRole(QPalette::ToolTipText);
    m_banner->setText(tr("Read-only: this is the document as the snapshot “%1” keeps it. Nothing in a snapshot can be changed.").arg(displayName(at)));
    m_banner->setAccessibleName(tr("Read-only notice"));
    m_banner->setVisible(!at.isEmpty());
    layout->addWidget(m_banner);

    m_view = new QTreeView(central);
    m_view->setObjectName(QStringLiteral("jsonTree"));
    m_view->setAccessibleName(tr("JSON document"));
    m_view->setModel(m_model);
    m_view->setItemDelegate(new JsonDelegate(m_view));
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(true);
    m_view->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed | QAbstractItemView::SelectedClicked);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->header()->setStretchLastSection(false);
    m_view->header()->setSectionResizeMode(JsonModel::KeyColumn, QHeaderView::Interactive);
    m_view->header()->setSectionResizeMode(JsonModel::ValueColumn, QHeaderView::Stretch);
    m_view->header()->setSectionResizeMode(JsonModel::TypeColumn, QHeaderView::ResizeToContents);
    m_view->setColumnWidth(JsonModel::KeyColumn, 220);
    layout->addWidget(m_view);
    setCentralWidget(central);

    m_status = new QLabel(this);
    m_status->setTextFormat(Qt::PlainText);
    statusBar()->addWidget(m_status, 1);

    buildActions();

    connect(m_model, &JsonModel::operationFailed, this, [this](const QString &summary, const QString &detail) { showError(this, summary, detail); });
    connect(m_model, &JsonModel::stateChanged, this, [this](JsonModel::State s) {
        if (s == JsonModel::State::Ready) {
            m_view->expand(m_model->index(0, 0));
            m_view->setCurrentIndex(m_model->index(0, 0));
        }
        updateTitle();
        updateActions();
    });
    connect(m_model, &JsonModel::changesApplied, this, &JsonEditor::updateActions);
    connect(m_model, &JsonModel::documentRemoved, this, [this] { m_status->setText(tr("The document was removed or moved away.")); });
    connect(m_view->selectionModel(), &QItemSelectionModel::currentChanged, this, &JsonEditor::updateActions);

    resize(760, 520);
    m_model->setDocument(collection, path, at);
    updateTitle();
    updateActions();
}

JsonEditor::~JsonEditor() = default;

QAction *JsonEditor::action(const QString &name) const
{
    return findChild<QAction *>(name);
}

bool JsonEditor::isReadOnly() const
{
    return m_model->isReadOnly();
}

void JsonEditor::buildActions()
{
    auto make = [this](const QString &name, const QString &text, const QKeySequence &keys, auto slot) {
        auto *a = new QAction(text, this);
        a->setObjectName(name);
        if (!keys.isEmpty())
            a->setShortcut(keys);
        a->setShortcutContext(Qt::WindowShortcut);
        connect(a, &QAction::triggered, this, slot);
        addAction(a);
        return a;
    };
    QStyle *s = style();
    QAction *addMemberAction = make(QStringLiteral("addMember"), tr("Add &Member..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_M), &JsonEditor::addMember);
    QAction *addElementAction = make(QStringLiteral("addElement"), tr("Add &Element"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E), &JsonEditor::addElement);
    QAction *removeAction = make(QStringLiteral("remove"), tr("&Remove"), QKeySequence::Delete, &JsonEditor::removeCurrent);
    removeAction->setIcon(s->standardIcon(QStyle::SP_TrashIcon));
    QAction *editAction = make(QStringLiteral("editValue"), tr("Edit &Value"), QKeySequence(Qt::Key_F2), [this] {
        const QModelIndex i = current().siblingAtColumn(JsonModel::ValueColumn);
        if (i.isValid())
            m_view->edit(i);
    });
    QAction *importAction = make(QStringLiteral("import"), tr("&Import..."), QKeySequence(Qt::CTRL | Qt::Key_I), &JsonEditor::chooseImport);
    QAction *exportAction = make(QStringLiteral("export"), tr("&Export..."), QKeySequence(Qt::CTRL | Qt::Key_E), &JsonEditor::chooseExport);
    QAction *compareAction = make(QStringLiteral("compare"), tr("&Compare with Snapshot..."), QKeySequence(Qt::CTRL | Qt::Key_D), &JsonEditor::chooseSnapshot);
    QAction *reloadAction = make(QStringLiteral("reload"), tr("Re&load"), QKeySequence::Refresh, [this] { m_model->reload(); });
    reloadAction->setIcon(s->standardIcon(QStyle::SP_BrowserReload));
    QAction *closeAction = make(QStringLiteral("close"), tr("&Close"), QKeySequence::Close, &QWidget::close);

    QMenu *typeMenu = new QMenu(tr("Change &Type"), this);
    for (int t = 0; t < JsonModel::kValueTypes; ++t) {
        const auto type = JsonModel::ValueType(t);
        m_typeActions[t] = typeMenu->addAction(JsonModel::typeName(type), this, [this, type] { m_model->setValueType(current(), type); });
        m_typeActions[t]->setObjectName(QStringLiteral("type%1").arg(t));
        m_typeActions[t]->setCheckable(true);
    }

    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(importAction);
    file->addAction(exportAction);
    file->addSeparator();
    file->addAction(compareAction);
    file->addSeparator();
    file->addAction(closeAction);
    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(editAction);
    edit->addMenu(typeMenu);
    edit->addSeparator();
    edit->addAction(addMemberAction);
    edit->addAction(addElementAction);
    edit->addAction(removeAction);
    QMenu *view = menuBar()->addMenu(tr("&View"));
    view->addAction(reloadAction);
    view->addAction(tr("E&xpand All"), QKeySequence(Qt::CTRL | Qt::Key_Plus), m_view, &QTreeView::expandAll);
    view->addAction(tr("Co&llapse All"), QKeySequence(Qt::CTRL | Qt::Key_Minus), m_view, &QTreeView::collapseAll);

    QToolBar *bar = addToolBar(tr("JSON"));
    bar->setObjectName(QStringLiteral("jsonToolBar"));
    bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    bar->addAction(addMemberAction);
    bar->addAction(addElementAction);
    bar->addAction(removeAction);
    bar->addSeparator();
    bar->addAction(importAction);
    bar->addAction(exportAction);
    bar->addAction(compareAction);

    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_view, &QWidget::customContextMenuRequested, this, [=, this](const QPoint &at) {
        QMenu menu;
        menu.addAction(editAction);
        menu.addMenu(typeMenu);
        menu.addSeparator();
        menu.addAction(addMemberAction);
        menu.addAction(addElementAction);
        menu.addAction(removeAction);
        menu.exec(m_view->viewport()->mapToGlobal(at));
    });
}

QModelIndex JsonEditor::current() const
{
    return m_view->currentIndex().siblingAtColumn(JsonModel::KeyColumn);
}

void JsonEditor::updateTitle()
{
    QString title = tr("%1 — JSON").arg(displayName(m_path));
    if (!m_at.isEmpty())
        title = tr("%1 (snapshot “%2”, read-only)").arg(title, displayName(m_at));
    setWindowTitle(title);
    switch (m_model->state()) {
    case JsonModel::State::Empty: m_status->clear(); break;
    case JsonModel::State::Loading: m_status->setText(tr("Reading the document...")); break;
    case JsonModel::State::Failed: m_status->setText(tr("Cannot show this document: %1").arg(m_model->errorText())); break;
    case JsonModel::State::Ready: m_status->setText(isReadOnly() ? tr("Read-only") : tr("Double-click a value or a type to change it.")); break;
    }
}

void JsonEditor::updateActions()
{
    const bool ready = m_model->state() == JsonModel::State::Ready;
    const bool writable = ready && !isReadOnly();
    const QModelIndex i = current();
    const auto kind = i.isValid() ? tree::Kind(i.data(JsonModel::KindRole).toInt()) : tree::Kind::JsonValue;
    const bool inObject = i.isValid() && (kind == tree::Kind::JsonObject || tree::Kind(i.parent().data(JsonModel::KindRole).toInt()) == tree::Kind::JsonObject);
    const bool inArray = i.isValid() && (kind == tree::Kind::JsonArray || tree::Kind(i.parent().data(JsonModel::KindRole).toInt()) == tree::Kind::JsonArray);
    action(QStringLiteral("addMember"))->setEnabled(writable && inObject);
    action(QStringLiteral("addElement"))->setEnabled(writable && inArray);
    action(QStringLiteral("remove"))->setEnabled(writable && i.isValid() && i.parent().isValid());
    action(QStringLiteral("editValue"))->setEnabled(writable && i.isValid() && kind == tree::Kind::JsonValue);
    action(QStringLiteral("import"))->setEnabled(!isReadOnly() && m_model->state() != JsonModel::State::Loading);
    action(QStringLiteral("export"))->setEnabled(ready);
    action(QStringLiteral("compare"))->setEnabled(ready);
    const int type = i.isValid() ? i.data(JsonModel::TypeRole).toInt() : -1;
    for (int t = 0; t < JsonModel::kValueTypes; ++t) {
        m_typeActions[t]->setEnabled(writable && i.isValid());
        m_typeActions[t]->setChecked(t == type);
    }
}

void JsonEditor::addMember()
{
    const QModelIndex at = current();
    auto *ask = new QInputDialog(this);
    ask->setAttribute(Qt::WA_DeleteOnClose);
    ask->setWindowTitle(tr("Add Member"));
    ask->setLabelText(tr("Key of the new member (its value starts as null):"));
    ask->setInputMode(QInputDialog::TextInput);
    const QPersistentModelIndex keep(at);
    connect(ask, &QInputDialog::textValueSelected, this, [this, keep](const QString &key) { m_model->addMember(keep, key); });
    ask->open();
}

void JsonEditor::addElement()
{
    m_model->addElement(current());
}

void JsonEditor::removeCurrent()
{
    const QModelIndex i = current();
    if (i.isValid())
        m_model->removeValue(i);
}

void JsonEditor::chooseImport()
{
    auto *dialog = new QFileDialog(this, tr("Import JSON over %1").arg(displayName(m_path)));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setFileMode(QFileDialog::ExistingFile);
    dialog->setNameFilters({tr("JSON files (*.json)"), tr("All files (*)")});
    connect(dialog, &QFileDialog::fileSelected, this, &JsonEditor::importFrom);
    dialog->open();
}

void JsonEditor::chooseExport()
{
    auto *dialog = new QFileDialog(this, tr("Export %1").arg(displayName(m_path)));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setAcceptMode(QFileDialog::AcceptSave);
    dialog->setNameFilters({tr("JSON files (*.json)"), tr("All files (*)")});
    dialog->selectFile(m_path.section(QLatin1Char('/'), -1));
    connect(dialog, &QFileDialog::fileSelected, this, &JsonEditor::exportTo);
    dialog->open();
}

void JsonEditor::importFrom(const QString &localFile)
{
    if (isReadOnly() || !m_api) {
        showError(this, tr("A snapshot's document cannot be replaced."));
        Q_EMIT transferFinished(Status::permissionDenied(QStringLiteral("read-only")));
        return;
    }
    m_status->setText(tr("Importing %1...").arg(localFile));
    whenReady(this, m_api->importJson(m_collection, localFile, m_path, true), [this, localFile](const Result<tree::VNode> &r) {
        if (!r)
            showError(this, tr("Could not import %1.").arg(localFile), r.status().toString());
        m_status->setText(r ? tr("Imported %1.").arg(localFile) : QString());
        Q_EMIT transferFinished(r ? Status() : r.status());
    });
}

void JsonEditor::exportTo(const QString &localFile)
{
    if (!m_api)
        return;
    whenReady(this, m_api->exportJson(m_collection, m_path, localFile, m_at), [this, localFile](const Result<qint64> &r) {
        if (!r)
            showError(this, tr("Could not export to %1.").arg(localFile), r.status().toString());
        m_status->setText(r ? tr("Exported to %1.").arg(localFile) : QString());
        Q_EMIT transferFinished(r ? Status() : r.status());
    });
}

void JsonEditor::chooseSnapshot()
{
    if (!m_api)
        return;
    whenReady(this, m_api->snapshots(m_collection), [this](const Result<std::vector<tree::SnapshotInfo>> &r) {
        if (!r) {
            showError(this, tr("Could not list the snapshots."), r.status().toString());
            return;
        }
        QStringList names;
        for (const tree::SnapshotInfo &s : *r)
            if (s.name != m_at)
                names.append(s.name);
        if (names.isEmpty()) {
            showError(this, tr("There is no snapshot to compare with."));
            return;
        }
        auto *ask = new QInputDialog(this);
        ask->setAttribute(Qt::WA_DeleteOnClose);
        ask->setWindowTitle(tr("Compare with Snapshot"));
        ask->setLabelText(tr("Compare the document as this snapshot keeps it with the document now:"));
        ask->setComboBoxItems(names);
        ask->setComboBoxEditable(false);
        connect(ask, &QInputDialog::textValueSelected, this, &JsonEditor::compareWith);
        ask->open();
    });
}

void JsonEditor::compareWith(const QString &snapshot)
{
    if (!m_api)
        return;
    // The snapshot's copy, then the live one (what this window shows may be a snapshot's).
    whenReady(this, m_api->jsonTree(m_collection, m_path, snapshot), [this, snapshot](const Result<client::JsonTree> &before) {
        if (!before) {
            showError(this, tr("Could not read the document in the snapshot “%1”.").arg(snapshot), before.status().toString());
            return;
        }
        whenReady(this, m_api->jsonTree(m_collection, m_path, QString()), [this, snapshot, old = before->root](const Result<client::JsonTree> &now) {
            if (!now) {
                showError(this, tr("Could not read the document."), now.status().toString());
                return;
            }
            const std::vector<JsonChange> changes = jsonDiff(old, now->root);
            showDiff(snapshot, changes);
            Q_EMIT compared(changes);
        });
    });
}

void JsonEditor::showDiff(const QString &snapshot, const std::vector<JsonChange> &changes)
{
    auto *dialog = new QDialog(this);
    dialog->setObjectName(QStringLiteral("jsonDiffDialog"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Changes since “%1”").arg(displayName(snapshot)));
    auto *layout = new QVBoxLayout(dialog);
    auto *summary = new QLabel(dialog);
    summary->setTextFormat(Qt::PlainText);
    summary->setText(changes.empty() ? tr("The document is as the snapshot “%1” keeps it.").arg(displayName(snapshot))
                                     : tr("%n change(s) from the snapshot “%1” to now:", nullptr, int(changes.size())).arg(displayName(snapshot)));
    layout->addWidget(summary);
    auto *list = new QTreeWidget(dialog);
    list->setObjectName(QStringLiteral("jsonDiffList"));
    list->setAccessibleName(tr("Changes"));
    list->setRootIsDecorated(false);
    list->setHeaderLabels({tr("Change"), tr("Path"), tr("Before"), tr("After")});
    // Long values are cut for the list; the tooltip has them whole.
    auto cut = [](const QString &s) { return s.size() > 200 ? s.left(200) + QChar(0x2026) : s; };
    for (const JsonChange &c : changes) {
        auto *row = new QTreeWidgetItem(list);
        row->setText(0, changeKindText(c.kind));
        row->setText(1, displayName(c.path.isEmpty() ? QStringLiteral("/") : c.path));
        row->setText(2, displayName(cut(c.oldText)));
        row->setText(3, displayName(cut(c.newText)));
        row->setToolTip(2, richTextOf(c.oldText));
        row->setToolTip(3, richTextOf(c.newText));
    }
    for (int col = 0; col < 3; ++col)
        list->resizeColumnToContents(col);
    layout->addWidget(list);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    layout->addWidget(buttons);
    dialog->resize(720, 400);
    dialog->open();
}

} // namespace vd::widgets
