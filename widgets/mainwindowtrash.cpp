// MainWindow's trash: a dock (Go > Trash, Ctrl+Shift+T) over a TrashModel
// of the collection shown — what was deleted, from where, when, how big —
// with Restore (to where it was; when that place is taken or its folder is
// gone, it asks where), Restore To..., Delete Permanently (Shift+Del in the
// panel) and Empty Trash, both confirmed. Kept apart from mainwindow.cpp:
// the window calls setupTrash() once; the panel follows the collection on
// its own (locationShown).
#include "mainwindow.h"

#include "displaytext.h"
#include "errorbox.h"
#include "trashmodel.h"
#include "whenready.h"

#include <QAction>
#include <QDockWidget>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QStatusBar>
#include <QToolBar>
#include <QTreeView>
#include <QVBoxLayout>

namespace vd::widgets {

namespace {

QString lastNameOf(const QString &path)
{
    return path.section(QLatin1Char('/'), -1);
}

QString parentPathOf(const QString &path)
{
    const qsizetype slash = path.lastIndexOf(QLatin1Char('/'));
    return slash <= 0 ? QStringLiteral("/") : path.left(slash);
}

} // namespace

void MainWindow::setupTrash()
{
    m_trash = new TrashModel(m_api, this);
    m_trashProxy = new QSortFilterProxyModel(this);
    m_trashProxy->setSourceModel(m_trash);
    m_trashProxy->setSortRole(TrashModel::SortRole);

    auto make = [this](const QString &name, const QString &text, const QKeySequence &keys, auto slot) {
        auto *a = new QAction(text, this);
        a->setObjectName(name);
        a->setShortcut(keys);
        a->setShortcutContext(Qt::WindowShortcut);
        connect(a, &QAction::triggered, this, slot);
        addAction(a);
        return a;
    };
    make(QStringLiteral("trashRestore"), tr("&Restore from Trash"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_U), [this] { restoreChosenFromTrash(false); });
    make(QStringLiteral("trashRestoreTo"), tr("Restore from Trash &To..."), QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_U), [this] { restoreChosenFromTrash(true); });
    QAction *forGood = make(QStringLiteral("trashDelete"), tr("&Delete Permanently..."), QKeySequence(Qt::SHIFT | Qt::Key_Delete), &MainWindow::deleteChosenForGood);
    make(QStringLiteral("emptyTrash"), tr("&Empty Trash..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Backspace), &MainWindow::emptyTrash);

    m_trashView = new QTreeView(this);
    m_trashView->setObjectName(QStringLiteral("trashView"));
    m_trashView->setAccessibleName(tr("Trash"));
    m_trashView->setModel(m_trashProxy);
    m_trashView->setRootIsDecorated(false);
    m_trashView->setItemsExpandable(false);
    m_trashView->setUniformRowHeights(true);
    m_trashView->setAllColumnsShowFocus(true);
    m_trashView->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_trashView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_trashView->setTextElideMode(Qt::ElideMiddle);
    m_trashView->setSortingEnabled(true);
    m_trashView->sortByColumn(TrashModel::DeletedColumn, Qt::DescendingOrder); // the last deleted first
    m_trashView->header()->setStretchLastSection(false);
    m_trashView->header()->setSectionResizeMode(TrashModel::NameColumn, QHeaderView::Stretch);
    m_trashView->header()->resizeSection(TrashModel::FromColumn, 140);
    m_trashView->header()->resizeSection(TrashModel::DeletedColumn, 130);
    m_trashView->header()->resizeSection(TrashModel::SizeColumn, 80);
    // Shift+Del deletes for good only here: in the contents it would be
    // too near Del, which only moves to the trash.
    forGood->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    removeAction(forGood);
    m_trashView->addAction(forGood);
    m_trashView->setContextMenuPolicy(Qt::ActionsContextMenu);
    for (const char *name : {"trashRestore", "trashRestoreTo", "emptyTrash"})
        m_trashView->addAction(action(QLatin1String(name)));
    connect(m_trashView, &QTreeView::activated, this, [this] { restoreChosenFromTrash(false); });
    connect(m_trashView->selectionModel(), &QItemSelectionModel::selectionChanged, this, &MainWindow::updateTrashActions);
    connect(m_trash, &QAbstractItemModel::rowsRemoved, this, &MainWindow::updateTrashActions);
    connect(m_trash, &QAbstractItemModel::rowsInserted, this, &MainWindow::updateTrashActions);
    connect(m_trash, &QAbstractItemModel::modelReset, this, &MainWindow::updateTrashActions);
    connect(m_trash, &TrashModel::listed, this, &MainWindow::updateTrashActions);

    auto *panel = new QWidget(this);
    auto *panelLayout = new QVBoxLayout(panel);
    panelLayout->setContentsMargins(0, 0, 0, 0);
    auto *bar = new QToolBar(panel);
    bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    for (const char *name : {"trashRestore", "trashRestoreTo", "emptyTrash"})
        bar->addAction(action(QLatin1String(name)));
    bar->insertAction(action(QStringLiteral("emptyTrash")), forGood);
    panelLayout->addWidget(bar);
    panelLayout->addWidget(m_trashView);

    m_trashDock = new QDockWidget(tr("Trash"), this);
    m_trashDock->setObjectName(QStringLiteral("trashDock"));
    m_trashDock->setAccessibleName(tr("Trash panel"));
    m_trashDock->setWidget(panel);
    addDockWidget(Qt::RightDockWidgetArea, m_trashDock);
    m_trashDock->hide();
    QAction *toggle = m_trashDock->toggleViewAction();
    toggle->setObjectName(QStringLiteral("showTrash"));
    toggle->setText(tr("&Trash"));
    toggle->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));
    toggle->setShortcutContext(Qt::WindowShortcut);
    addAction(toggle);
    connect(toggle, &QAction::toggled, this, [this](bool on) {
        if (on)
            m_trashView->setFocus(Qt::ShortcutFocusReason);
    });

    // The panel in Go; restore and delete in Edit, below Move to Trash.
    for (QAction *m : menuBar()->actions()) {
        if (!m->menu())
            continue;
        if (m->text() == tr("&Go")) {
            m->menu()->addSeparator();
            m->menu()->addAction(toggle);
        } else if (m->text() == tr("&Edit")) {
            QMenu *trash = m->menu()->addMenu(tr("T&rash"));
            trash->setObjectName(QStringLiteral("trashMenu"));
            trash->addAction(action(QStringLiteral("trashRestore")));
            trash->addAction(action(QStringLiteral("trashRestoreTo")));
            trash->addAction(forGood);
            trash->addSeparator();
            trash->addAction(action(QStringLiteral("emptyTrash")));
        }
    }

    // The collection shown is the one whose trash is listed.
    connect(this, &MainWindow::locationShown, this, [this] {
        if (m_trash->collection() != m_collection)
            m_trash->setCollection(m_collection);
    });
    updateTrashActions();
}

void MainWindow::updateTrashActions()
{
    if (!m_trashView)
        return;
    const bool open = m_api && !m_collection.isNull();
    const size_t chosen = chosenTrashEntries().size();
    action(QStringLiteral("trashRestore"))->setEnabled(open && chosen > 0);
    action(QStringLiteral("trashRestoreTo"))->setEnabled(open && chosen == 1);
    action(QStringLiteral("trashDelete"))->setEnabled(open && chosen > 0);
    action(QStringLiteral("emptyTrash"))->setEnabled(open && m_trash->rowCount() > 0);
}

std::vector<std::pair<Ruid, QString>> MainWindow::chosenTrashEntries() const
{
    std::vector<std::pair<Ruid, QString>> out;
    if (!m_trashView || !m_trashView->selectionModel())
        return out;
    for (const QModelIndex &i : m_trashView->selectionModel()->selectedRows(TrashModel::NameColumn)) {
        const Result<Ruid> id = Ruid::parse(i.data(TrashModel::IdRole).toString());
        if (id)
            out.emplace_back(*id, i.data(TrashModel::OriginalPathRole).toString());
    }
    return out;
}

void MainWindow::restoreChosenFromTrash(bool elsewhere)
{
    const auto chosen = chosenTrashEntries();
    if (!m_api || m_collection.isNull() || chosen.empty() || (elsewhere && chosen.size() != 1))
        return;
    if (elsewhere) {
        askWhereToRestore(chosen.front().first, chosen.front().second, {}, chosen.front().second);
        return;
    }
    const Ruid collection = m_collection;
    for (const auto &[id, original] : chosen) {
        // Its folder gone: ask (restoring there makes the folders again).
        whenReady(this, m_api->stat(collection, parentPathOf(original)), [this, collection, id, original](const Result<tree::VNode> &parent) {
            if (collection != m_collection)
                return;
            if (!parent && parent.status().code() == ErrorCode::NotFound) {
                askWhereToRestore(id, original,
                                  tr("The folder “%1” it was in is gone: restoring it there makes that folder again.").arg(displayName(parentPathOf(original))),
                                  original);
                return;
            }
            restoreFromTrashTo(id, original, {});
        });
    }
}

void MainWindow::restoreFromTrashTo(const Ruid &id, const QString &originalPath, const QString &to)
{
    const Ruid collection = m_collection;
    whenReady(this, m_api->restoreFromTrash(collection, id, to), [this, collection, id, originalPath, to](const Result<tree::VNode> &r) {
        if (r) {
            statusBar()->showMessage(tr("Restored “%1” to %2.").arg(displayName(lastNameOf(originalPath)), displayName(to.isEmpty() ? originalPath : to)), 8000);
            return;
        }
        if (r.status().code() == ErrorCode::AlreadyExists && collection == m_collection) {
            const QString taken = to.isEmpty() ? originalPath : to;
            askWhereToRestore(id, originalPath, tr("“%1” is taken by something else now.").arg(displayName(taken)), tr("%1 (restored)").arg(taken));
            return;
        }
        showError(this, tr("Could not restore “%1” from the trash.").arg(displayName(lastNameOf(originalPath))), r.status().toString());
    });
}

void MainWindow::askWhereToRestore(const Ruid &id, const QString &originalPath, const QString &why, const QString &suggestion)
{
    auto *ask = new QInputDialog(this);
    ask->setObjectName(QStringLiteral("restoreFromTrashDialog"));
    ask->setAttribute(Qt::WA_DeleteOnClose);
    ask->setWindowTitle(tr("Restore from the trash"));
    QString label = why.isEmpty() ? QString() : why + QLatin1Char('\n');
    label += tr("Restore “%1” to this path:").arg(displayName(lastNameOf(originalPath)));
    ask->setLabelText(label);
    ask->setTextValue(suggestion);
    ask->setWindowModality(Qt::WindowModal);
    // A QInputDialog's label guesses rich text: a name must stay text.
    if (auto *l = ask->findChild<QLabel *>())
        l->setTextFormat(Qt::PlainText);
    connect(ask, &QInputDialog::textValueSelected, this, [this, id, originalPath](const QString &to) {
        if (!to.trimmed().isEmpty())
            restoreFromTrashTo(id, originalPath, to.trimmed());
    });
    ask->open();
}

void MainWindow::deleteChosenForGood()
{
    const auto chosen = chosenTrashEntries();
    if (!m_api || m_collection.isNull() || chosen.empty())
        return;
    const QString what = chosen.size() == 1 ? tr("“%1”").arg(displayName(lastNameOf(chosen.front().second)))
                                            : tr("%n item(s)", nullptr, int(chosen.size()));
    auto *box = new QMessageBox(QMessageBox::Warning, tr("Delete permanently"),
                                tr("Delete %1 permanently?\nIt cannot be restored afterwards (a snapshot that holds it still does).").arg(what),
                                QMessageBox::Cancel, this);
    box->setObjectName(QStringLiteral("deleteForGoodDialog"));
    box->setTextFormat(Qt::PlainText);
    box->setAttribute(Qt::WA_DeleteOnClose);
    QPushButton *yes = box->addButton(tr("Delete Permanently"), QMessageBox::DestructiveRole);
    yes->setObjectName(QStringLiteral("confirm"));
    box->setDefaultButton(qobject_cast<QPushButton *>(box->button(QMessageBox::Cancel)));
    box->setWindowModality(Qt::WindowModal);
    std::vector<Ruid> ids;
    for (const auto &c : chosen)
        ids.push_back(c.first);
    const Ruid collection = m_collection;
    connect(box, &QMessageBox::buttonClicked, this, [this, yes, ids, collection, what](QAbstractButton *clicked) {
        if (clicked != yes)
            return;
        whenReady(this, m_api->emptyTrash(collection, ids), [this, what](const Result<uint64_t> &r) {
            if (!r)
                showError(this, tr("Could not delete %1 permanently.").arg(what), r.status().toString());
            else
                statusBar()->showMessage(tr("Deleted %n item(s) permanently.", nullptr, int(*r)), 8000);
        });
    });
    box->open();
}

void MainWindow::emptyTrash()
{
    if (!m_api || m_collection.isNull() || m_trash->rowCount() == 0)
        return;
    auto *box = new QMessageBox(QMessageBox::Warning, tr("Empty the trash"),
                                tr("Delete the %n item(s) in the trash of “%1” permanently?\nThey cannot be restored afterwards.", nullptr, m_trash->rowCount())
                                    .arg(collectionName()),
                                QMessageBox::Cancel, this);
    box->setObjectName(QStringLiteral("emptyTrashDialog"));
    box->setTextFormat(Qt::PlainText);
    box->setAttribute(Qt::WA_DeleteOnClose);
    QPushButton *yes = box->addButton(tr("Empty Trash"), QMessageBox::DestructiveRole);
    yes->setObjectName(QStringLiteral("confirm"));
    box->setDefaultButton(qobject_cast<QPushButton *>(box->button(QMessageBox::Cancel)));
    box->setWindowModality(Qt::WindowModal);
    const Ruid collection = m_collection;
    connect(box, &QMessageBox::buttonClicked, this, [this, yes, collection](QAbstractButton *clicked) {
        if (clicked != yes)
            return;
        whenReady(this, m_api->emptyTrash(collection), [this](const Result<uint64_t> &r) {
            if (!r)
                showError(this, tr("Could not empty the trash."), r.status().toString());
            else
                statusBar()->showMessage(tr("Deleted %n item(s) permanently.", nullptr, int(*r)), 8000);
        });
    });
    box->open();
}

} // namespace vd::widgets
