// MainWindow's cluster view: a dock (View > Clusters Panel, F8) with a
// ClusterView of the file selected in the contents — of the snapshot shown,
// when one is. Kept apart from mainwindow.cpp: the window calls
// setupClusters() once; the dock follows the selection and the location on
// its own, and gathers only while it is shown (ClusterView's rule).
#include "mainwindow.h"

#include "clusterview.h"
#include "foldermodel.h"

#include <QAction>
#include <QDockWidget>
#include <QItemSelectionModel>
#include <QListView>
#include <QMenu>
#include <QMenuBar>
#include <QStackedWidget>
#include <QTreeView>

namespace vd::widgets {

void MainWindow::setupClusters()
{
    m_clusterView = new ClusterView(m_api, this);
    m_clusterDock = new QDockWidget(tr("Clusters"), this);
    m_clusterDock->setObjectName(QStringLiteral("clusterDock"));
    m_clusterDock->setAccessibleName(tr("Clusters panel"));
    m_clusterDock->setWidget(m_clusterView);
    addDockWidget(Qt::BottomDockWidgetArea, m_clusterDock);
    m_clusterDock->hide();

    QAction *toggle = m_clusterDock->toggleViewAction();
    toggle->setObjectName(QStringLiteral("showClusters"));
    toggle->setText(tr("C&lusters Panel"));
    toggle->setShortcut(QKeySequence(Qt::Key_F8));
    toggle->setShortcutContext(Qt::WindowShortcut);
    addAction(toggle);
    for (QAction *m : menuBar()->actions())
        if (m->menu() && m->text() == tr("&View"))
            m->menu()->addAction(toggle);
    // Shown the first time: tall enough for a few strips and the table.
    connect(toggle, &QAction::toggled, this, [this](bool on) {
        if (on && !m_clusterDock->property("sized").toBool()) {
            m_clusterDock->setProperty("sized", true);
            resizeDocks({m_clusterDock}, {height() / 2}, Qt::Vertical);
        }
    });
    for (QAbstractItemView *v : {static_cast<QAbstractItemView *>(m_details), static_cast<QAbstractItemView *>(m_icons)}) {
        connect(v->selectionModel(), &QItemSelectionModel::currentChanged, this, &MainWindow::followSelectionInClusters);
        connect(v->selectionModel(), &QItemSelectionModel::selectionChanged, this, &MainWindow::followSelectionInClusters);
    }
    connect(m_views, &QStackedWidget::currentChanged, this, &MainWindow::followSelectionInClusters);
    connect(this, &MainWindow::locationShown, this, &MainWindow::followSelectionInClusters);
    // A row renamed or replaced in place keeps its selection: follow its path.
    connect(m_model, &QAbstractItemModel::dataChanged, this, &MainWindow::followSelectionInClusters);
}

void MainWindow::followSelectionInClusters()
{
    if (!m_clusterView)
        return;
    QAbstractItemView *v = m_views->currentWidget() == m_icons ? static_cast<QAbstractItemView *>(m_icons) : m_details;
    // The current row if it is selected, else the first selected one.
    QModelIndex at = v->currentIndex();
    if (!at.isValid() || !v->selectionModel()->isSelected(at)) {
        const QModelIndexList rows = v->selectionModel()->selectedIndexes();
        at = rows.isEmpty() ? QModelIndex() : rows.constFirst();
    }
    if (!at.isValid()) {
        m_clusterView->setFile(m_collection, {}, {}, {}, false);
        return;
    }
    const QString path = at.data(FolderModel::PathRole).toString();
    const Result<Ruid> parsed = Ruid::parse(at.data(FolderModel::IdRole).toString());
    const Ruid id = parsed ? *parsed : Ruid();
    const bool isFile = tree::Kind(at.data(FolderModel::KindRole).toInt()) == tree::Kind::File;
    m_clusterView->setFile(m_collection, path, m_model->snapshot(), id, isFile);
}

} // namespace vd::widgets
