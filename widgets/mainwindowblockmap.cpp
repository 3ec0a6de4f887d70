// MainWindow's block map: a dock (View ▸ Block Map, F7) holding a
// BlockMapPanel over the collection shown. Kept apart from mainwindow.cpp:
// the window calls setupBlockMap() once; the rest follows the window's own
// signals (the location shown, the selection of the contents view).
// Selecting files or folders outlines their blocks; clicking a block shows
// its first file in its folder, selected (in its snapshot when only a
// snapshot holds it).
//
// Clicking a block shows the folder of its first file with every listed
// file of that folder selected (in the snapshot that holds them, when only
// a snapshot does).
#include "mainwindow.h"

#include "blockmappanel.h"
#include "foldermodel.h"
#include "foldersortproxy.h"

#include <QAction>
#include <QDockWidget>
#include <QItemSelectionModel>
#include <QListView>
#include <QMenu>
#include <QMenuBar>
#include <QStackedWidget>
#include <QTreeView>

#include <algorithm>

namespace vd::widgets {

namespace {

QString parentOf(const QString &path)
{
    const qsizetype slash = path.lastIndexOf(QLatin1Char('/'));
    return slash <= 0 ? QStringLiteral("/") : path.left(slash);
}

} // namespace

void MainWindow::setupBlockMap()
{
    m_blockMap = new BlockMapPanel(m_api, this);
    m_blockMap->setAccessibleName(tr("Block map"));
    m_blockMapDock = new QDockWidget(tr("Block Map"), this);
    m_blockMapDock->setObjectName(QStringLiteral("blockMapDock"));
    m_blockMapDock->setAccessibleName(tr("Block map panel"));
    m_blockMapDock->setWidget(m_blockMap);
    addDockWidget(Qt::BottomDockWidgetArea, m_blockMapDock);
    m_blockMapDock->hide();
    QAction *toggle = m_blockMapDock->toggleViewAction();
    toggle->setObjectName(QStringLiteral("showBlockMap"));
    toggle->setText(tr("&Block Map"));
    toggle->setShortcut(QKeySequence(Qt::Key_F7));
    toggle->setShortcutContext(Qt::WindowShortcut);
    addAction(toggle);
    for (QAction *m : menuBar()->actions())
        if (m->menu() && m->text() == tr("&View")) {
            m->menu()->addSeparator();
            m->menu()->addAction(toggle);
        }

    // Shown the first time with room for its rows (later, as the user left it).
    connect(m_blockMapDock, &QDockWidget::visibilityChanged, this, [this](bool visible) {
        if (visible && m_blockMapDock->height() < height() / 3)
            resizeDocks({ m_blockMapDock }, { height() * 2 / 5 }, Qt::Vertical);
    });
    connect(this, &MainWindow::locationShown, this, [this] { m_blockMap->setCollection(m_collection); });
    connect(m_blockMap, &BlockMapPanel::filesClicked, this, &MainWindow::showBlockFiles);
    for (QAbstractItemView *v : { static_cast<QAbstractItemView *>(m_details), static_cast<QAbstractItemView *>(m_icons) })
        connect(v->selectionModel(), &QItemSelectionModel::selectionChanged, this, &MainWindow::updateBlockMapSelection);
}

void MainWindow::showBlockFiles(const std::vector<tree::BlockOwner> &files)
{
    const auto first = std::find_if(files.begin(), files.end(), [](const tree::BlockOwner &f) { return !f.path.isEmpty(); });
    if (first == files.end())
        return; // only files in the trash
    const QString folder = parentOf(first->path);
    const QString at = first->snapshot;
    QStringList names;
    for (const tree::BlockOwner &f : files)
        if (!f.path.isEmpty() && f.snapshot == at && parentOf(f.path) == folder)
            names.append(f.path.section(QLatin1Char('/'), -1));
    if (at.isEmpty()) {
        m_snapshotAt.clear();
        showLocation(folder, true);
    } else {
        openSnapshot(at, folder);
    }
    // Selected once the folder is listed.
    auto select = [this, names] {
        QAbstractItemView *v = m_views->currentWidget() == m_icons ? static_cast<QAbstractItemView *>(m_icons) : m_details;
        QItemSelection selection;
        QModelIndex current;
        for (int r = 0; r < m_model->rowCount(); ++r)
            if (names.contains(m_model->node(r).name)) {
                const QModelIndex i = m_proxy->mapFromSource(m_model->index(r, 0));
                selection.select(i, i);
                if (!current.isValid())
                    current = i;
            }
        if (!current.isValid())
            return;
        v->selectionModel()->setCurrentIndex(current, QItemSelectionModel::NoUpdate);
        v->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        v->scrollTo(current);
    };
    auto *once = new QMetaObject::Connection;
    *once = connect(m_model, &FolderModel::stateChanged, this, [once, select](FolderModel::State s) {
        if (s == FolderModel::State::Loading)
            return;
        if (s == FolderModel::State::Ready)
            select();
        QObject::disconnect(*once);
        delete once;
    });
}

void MainWindow::updateBlockMapSelection()
{
    if (!m_blockMap)
        return;
    std::set<Ruid> ids;
    QStringList folders;
    // A snapshot's nodes are not the live tree's: nothing to outline then.
    if (m_snapshotAt.isEmpty()) {
        QAbstractItemView *v = m_views->currentWidget() == m_icons ? static_cast<QAbstractItemView *>(m_icons) : m_details;
        for (const QModelIndex &i : v->selectionModel()->selectedIndexes()) {
            if (i.column() != FolderModel::NameColumn)
                continue;
            if (auto id = Ruid::parse(i.data(FolderModel::IdRole).toString()))
                ids.insert(*id);
            if (i.data(FolderModel::IsFolderRole).toBool())
                folders.append(i.data(FolderModel::PathRole).toString());
        }
    }
    m_blockMap->setSelection(ids, folders);
}

} // namespace vd::widgets
