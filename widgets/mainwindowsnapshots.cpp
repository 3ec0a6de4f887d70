// MainWindow's snapshots: the "Snapshots" panel (a dock over SnapshotModel),
// the read-only view of a snapshot (FolderModel at a snapshot, with a
// banner, the address bar's suffix and every write action disabled),
// comparisons (DiffDialog), restore and a file's history (HistoryDialog).
// Kept apart from mainwindow.cpp: the window calls setupSnapshots() once,
// followSnapshotCollection() and snapshotSuffix() when it shows a location,
// and updateSnapshotActions() when it updates its actions.
#include "mainwindow.h"

#include "addressbar.h"
#include "diffdialog.h"
#include "displaytext.h"
#include "errorbox.h"
#include "foldermodel.h"
#include "foldersortproxy.h"
#include "historydialog.h"
#include "nodeinfo.h"
#include "snapshotmodel.h"
#include "whenready.h"

#include <QAction>
#include <QDateTime>
#include <QDockWidget>
#include <QFrame>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QListView>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QToolBar>
#include <QTreeView>
#include <QVBoxLayout>

namespace vd::widgets {

namespace {

QString parentOf(const QString &path)
{
    const qsizetype slash = path.lastIndexOf(QLatin1Char('/'));
    return slash <= 0 ? QStringLiteral("/") : path.left(slash);
}

QString lastName(const QString &path)
{
    return path.section(QLatin1Char('/'), -1);
}

} // namespace

void MainWindow::setupSnapshots()
{
    m_snapshots = new SnapshotModel(m_api, this);

    // The actions, each with a shortcut, in the Snapshots menu.
    auto make = [this](const QString &name, const QString &text, const QKeySequence &keys, auto slot) {
        auto *a = new QAction(text, this);
        a->setObjectName(name);
        a->setShortcut(keys);
        a->setShortcutContext(Qt::WindowShortcut);
        connect(a, &QAction::triggered, this, slot);
        addAction(a);
        return a;
    };
    make(
        QStringLiteral("takeSnapshot"), tr("&Take Snapshot..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S), &MainWindow::takeSnapshot);
    make(QStringLiteral("deleteSnapshot"), tr("&Delete Snapshot..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Delete),
        &MainWindow::deleteChosenSnapshot);
    make(QStringLiteral("openSnapshot"), tr("&Open Snapshot"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O), [this] {
        const QString name = chosenSnapshot();
        if (!name.isEmpty())
            openSnapshot(name, m_path);
    });
    make(QStringLiteral("backToNow"), tr("&Back to Now"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Home), &MainWindow::leaveSnapshot);
    make(QStringLiteral("compareWithNow"), tr("&Compare with Now"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D),
        &MainWindow::compareWithNow);
    make(
        QStringLiteral("compareWith"), tr("Compare &With..."), QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_D), &MainWindow::compareWithOther);
    make(QStringLiteral("restore"), tr("&Restore"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R), [this] { restoreSelected(false); });
    make(
        QStringLiteral("restoreTo"), tr("Restore &To..."), QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_R), [this] { restoreSelected(true); });
    make(QStringLiteral("history"), tr("&History..."), QKeySequence(Qt::CTRL | Qt::Key_H), &MainWindow::showHistory);

    // The panel: the snapshots, newest last, with what each would free.
    m_snapshotView = new QTreeView(this);
    m_snapshotView->setObjectName(QStringLiteral("snapshotView"));
    m_snapshotView->setAccessibleName(tr("Snapshots"));
    m_snapshotView->setModel(m_snapshots);
    m_snapshotView->setRootIsDecorated(false);
    m_snapshotView->setItemsExpandable(false);
    m_snapshotView->setUniformRowHeights(true);
    m_snapshotView->setAllColumnsShowFocus(true);
    m_snapshotView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_snapshotView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_snapshotView->header()->setStretchLastSection(false);
    m_snapshotView->header()->setSectionResizeMode(SnapshotModel::NameColumn, QHeaderView::Stretch);
    m_snapshotView->header()->resizeSection(SnapshotModel::TakenColumn, 130);
    m_snapshotView->header()->resizeSection(SnapshotModel::FreesColumn, 80);
    m_snapshotView->setContextMenuPolicy(Qt::ActionsContextMenu);
    for (const char *name : { "openSnapshot", "compareWithNow", "compareWith", "deleteSnapshot" })
        m_snapshotView->addAction(action(QLatin1String(name)));
    connect(m_snapshotView, &QTreeView::activated, this,
        [this](const QModelIndex &i) { openSnapshot(i.siblingAtColumn(0).data(SnapshotModel::NameRole).toString(), m_path); });
    connect(m_snapshotView->selectionModel(), &QItemSelectionModel::currentChanged, this, &MainWindow::updateSnapshotActions);
    connect(m_snapshots, &QAbstractItemModel::rowsRemoved, this, &MainWindow::updateSnapshotActions);
    connect(m_snapshots, &SnapshotModel::listed, this, [this] {
        if (!m_snapshotAt.isEmpty() && m_snapshots->rowOf(m_snapshotAt) < 0) { // deleted while shown
            statusBar()->showMessage(tr("The snapshot shown was deleted."), 5000);
            leaveSnapshot();
        }
        updateSnapshotActions();
    });

    auto *panel = new QWidget(this);
    auto *panelLayout = new QVBoxLayout(panel);
    panelLayout->setContentsMargins(0, 0, 0, 0);
    auto *bar = new QToolBar(panel);
    bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    bar->addAction(action(QStringLiteral("takeSnapshot")));
    bar->addAction(action(QStringLiteral("compareWithNow")));
    bar->addAction(action(QStringLiteral("deleteSnapshot")));
    panelLayout->addWidget(bar);
    panelLayout->addWidget(m_snapshotView);

    m_snapshotDock = new QDockWidget(tr("Snapshots"), this);
    m_snapshotDock->setObjectName(QStringLiteral("snapshotDock"));
    m_snapshotDock->setAccessibleName(tr("Snapshots panel"));
    m_snapshotDock->setWidget(panel);
    addDockWidget(Qt::RightDockWidgetArea, m_snapshotDock);
    m_snapshotDock->hide();
    QAction *toggle = m_snapshotDock->toggleViewAction();
    toggle->setObjectName(QStringLiteral("showSnapshots"));
    toggle->setText(tr("&Snapshots Panel"));
    toggle->setShortcut(QKeySequence(Qt::Key_F9));
    toggle->setShortcutContext(Qt::WindowShortcut);
    addAction(toggle);

    // The banner above the contents: what is shown is the past, read-only.
    m_banner = new QFrame(this);
    m_banner->setObjectName(QStringLiteral("snapshotBanner"));
    m_banner->setAccessibleName(tr("Read-only snapshot"));
    m_banner->setFrameShape(QFrame::StyledPanel);
    m_banner->setAutoFillBackground(true);
    m_banner->setStyleSheet(QStringLiteral("#snapshotBanner { background: #fff4ce; border: 1px solid #e0b400; border-radius: 3px; }"
                                           "#snapshotBanner QLabel { color: #4a3800; }"));
    m_bannerLabel = new QLabel(m_banner);
    m_bannerLabel->setObjectName(QStringLiteral("snapshotBannerText"));
    m_bannerLabel->setTextFormat(Qt::PlainText);
    auto *back = new QPushButton(tr("Back to now"), m_banner);
    back->setObjectName(QStringLiteral("backToNowButton"));
    back->setAccessibleName(tr("Back to now"));
    connect(back, &QPushButton::clicked, this, &MainWindow::leaveSnapshot);
    auto *bannerLayout = new QHBoxLayout(m_banner);
    bannerLayout->setContentsMargins(8, 4, 8, 4);
    bannerLayout->addWidget(m_bannerLabel, 1);
    bannerLayout->addWidget(back);
    m_banner->hide();
    if (auto *split = findChild<QSplitter *>(QStringLiteral("mainSplitter"))) {
        const int at = split->indexOf(m_views);
        auto *box = new QWidget;
        auto *boxLayout = new QVBoxLayout(box);
        boxLayout->setContentsMargins(0, 0, 0, 0);
        boxLayout->setSpacing(2);
        boxLayout->addWidget(m_banner);
        split->replaceWidget(at, box);
        boxLayout->addWidget(m_views, 1);
    }

    // The menus: the panel in View; the rest in Snapshots, before Help.
    QMenu *snapshots = new QMenu(tr("&Snapshots"), this);
    snapshots->setObjectName(QStringLiteral("snapshotsMenu"));
    for (const char *name : std::initializer_list<const char *> { "takeSnapshot", "deleteSnapshot", nullptr, "openSnapshot", "backToNow",
             nullptr, "compareWithNow", "compareWith", nullptr, "restore", "restoreTo", "history" }) {
        if (name)
            snapshots->addAction(action(QLatin1String(name)));
        else
            snapshots->addSeparator();
    }
    const QList<QAction *> menus = menuBar()->actions();
    menuBar()->insertMenu(menus.isEmpty() ? nullptr : menus.back(), snapshots);
    for (QAction *m : menus)
        if (m->menu() && m->text() == tr("&View")) {
            m->menu()->addSeparator();
            m->menu()->addAction(toggle);
        }
    // What applies to a selection in the contents.
    for (QAbstractItemView *v : { static_cast<QAbstractItemView *>(m_details), static_cast<QAbstractItemView *>(m_icons) }) {
        v->addAction(action(QStringLiteral("restore")));
        v->addAction(action(QStringLiteral("restoreTo")));
        v->addAction(action(QStringLiteral("history")));
    }
}

void MainWindow::followSnapshotCollection()
{
    if (m_snapshots && m_snapshots->collection() != m_collection) {
        m_snapshotAt.clear();
        m_snapshots->setCollection(m_collection);
    }
}

QString MainWindow::snapshotSuffix() const
{
    return m_snapshotAt.isEmpty() ? QString() : tr("(snapshot “%1”, read-only)").arg(displayName(m_snapshotAt));
}

void MainWindow::openSnapshot(const QString &name, const QString &path)
{
    if (name.isEmpty() || m_collection.isNull())
        return;
    const int row = m_snapshots->rowOf(name);
    m_snapshotTakenMs = row >= 0 ? m_snapshots->snapshot(row).createdMs : 0;
    m_snapshotAt = name;
    showLocation(path, true);
}

void MainWindow::leaveSnapshot()
{
    if (m_snapshotAt.isEmpty())
        return;
    m_snapshotAt.clear();
    showLocation(m_path, false);
}

QString MainWindow::chosenSnapshot() const
{
    const QModelIndex current = m_snapshotView ? m_snapshotView->currentIndex() : QModelIndex();
    if (current.isValid() && m_snapshotDock->isVisible())
        return current.siblingAtColumn(0).data(SnapshotModel::NameRole).toString();
    return m_snapshotAt;
}

void MainWindow::updateSnapshotActions()
{
    if (!m_snapshots)
        return;
    const bool open = !m_collection.isNull();
    const bool chosen = open && !chosenSnapshot().isEmpty();
    const bool inSnapshot = open && !m_snapshotAt.isEmpty();
    const QStringList selected = selectedPaths();
    action(QStringLiteral("takeSnapshot"))->setEnabled(open);
    action(QStringLiteral("deleteSnapshot"))->setEnabled(chosen);
    action(QStringLiteral("openSnapshot"))->setEnabled(chosen);
    action(QStringLiteral("backToNow"))->setEnabled(inSnapshot);
    action(QStringLiteral("compareWithNow"))->setEnabled(chosen);
    action(QStringLiteral("compareWith"))->setEnabled(chosen && m_snapshots->rowCount() > 1);
    action(QStringLiteral("restore"))->setEnabled(inSnapshot && !selected.isEmpty());
    action(QStringLiteral("restoreTo"))->setEnabled(inSnapshot && selected.size() == 1);
    action(QStringLiteral("history"))->setEnabled(open && selected.size() == 1);

    // The banner and the title say what is shown is the past.
    m_banner->setVisible(inSnapshot);
    if (inSnapshot) {
        const int row = m_snapshots->rowOf(m_snapshotAt);
        if (row >= 0)
            m_snapshotTakenMs = m_snapshots->snapshot(row).createdMs;
        m_bannerLabel->setText(tr("Snapshot “%1” of %2 — read-only").arg(displayName(m_snapshotAt), timeText(m_snapshotTakenMs)));
    }
}

void MainWindow::takeSnapshot()
{
    if (!m_api || m_collection.isNull())
        return;
    auto *ask = new QInputDialog(this);
    ask->setObjectName(QStringLiteral("takeSnapshotDialog"));
    ask->setAttribute(Qt::WA_DeleteOnClose);
    ask->setWindowTitle(tr("Take snapshot"));
    ask->setLabelText(tr("Name of the snapshot of “%1”:").arg(displayName(collectionName())));
    ask->setTextValue(QDateTime::currentDateTime().toString(QStringLiteral("yyyy-MM-dd hh:mm")));
    ask->setWindowModality(Qt::WindowModal);
    const Ruid collection = m_collection;
    connect(ask, &QInputDialog::textValueSelected, this, [this, collection](const QString &typed) {
        const QString name = typed.trimmed();
        if (name.isEmpty())
            return;
        statusBar()->showMessage(tr("Taking snapshot “%1”…").arg(displayName(name)));
        whenReady(this, m_api->createSnapshot(collection, name), [this, name](const Result<tree::SnapshotInfo> &r) {
            if (!r) {
                statusBar()->clearMessage();
                showError(this, tr("Could not take the snapshot “%1”.").arg(displayName(name)), r.status().toString());
                return;
            }
            statusBar()->showMessage(tr("Snapshot “%1” taken.").arg(displayName(name)), 5000);
        });
    });
    ask->open();
}

void MainWindow::deleteChosenSnapshot()
{
    const QString name = chosenSnapshot();
    if (!m_api || name.isEmpty())
        return;
    auto *box = new QMessageBox(QMessageBox::Question, tr("Delete snapshot"),
        tr("Delete the snapshot “%1”?\nWhat only it keeps is freed by the next garbage collection; this cannot be undone.")
            .arg(displayName(name)),
        QMessageBox::Cancel, this);
    box->setObjectName(QStringLiteral("deleteSnapshotDialog"));
    box->setTextFormat(Qt::PlainText);
    box->setAttribute(Qt::WA_DeleteOnClose);
    QPushButton *yes = box->addButton(tr("Delete Snapshot"), QMessageBox::DestructiveRole);
    yes->setObjectName(QStringLiteral("confirm"));
    box->setDefaultButton(QMessageBox::Cancel);
    box->setWindowModality(Qt::WindowModal);
    const Ruid collection = m_collection;
    connect(box, &QMessageBox::buttonClicked, this, [this, yes, collection, name](QAbstractButton *clicked) {
        if (clicked != yes)
            return;
        whenReady(this, m_api->deleteSnapshot(collection, name), [this, name](const Result<bool> &r) {
            if (!r)
                showError(this, tr("Could not delete the snapshot “%1”.").arg(displayName(name)), r.status().toString());
            else
                statusBar()->showMessage(tr("Snapshot “%1” deleted.").arg(displayName(name)), 5000);
        });
    });
    box->open();
}

void MainWindow::compareWithNow()
{
    const QString name = chosenSnapshot();
    if (!name.isEmpty())
        compare(name, {});
}

void MainWindow::compareWithOther()
{
    const QString name = chosenSnapshot();
    if (name.isEmpty())
        return;
    QStringList others;
    for (int r = 0; r < m_snapshots->rowCount(); ++r)
        if (m_snapshots->snapshot(r).name != name)
            others.append(m_snapshots->snapshot(r).name);
    if (others.isEmpty())
        return;
    auto *ask = new QInputDialog(this);
    ask->setObjectName(QStringLiteral("compareWithDialog"));
    ask->setAttribute(Qt::WA_DeleteOnClose);
    ask->setWindowTitle(tr("Compare with"));
    ask->setLabelText(tr("Compare snapshot “%1” with:").arg(displayName(name)));
    ask->setComboBoxItems(others);
    ask->setComboBoxEditable(false);
    ask->setWindowModality(Qt::WindowModal);
    connect(ask, &QInputDialog::textValueSelected, this, [this, name](const QString &other) {
        // Older first, so "added" means added since the older one.
        const int a = m_snapshots->rowOf(name), b = m_snapshots->rowOf(other);
        if (a >= 0 && b >= 0 && m_snapshots->snapshot(b).generation < m_snapshots->snapshot(a).generation)
            compare(other, name);
        else
            compare(name, other);
    });
    ask->open();
}

void MainWindow::compare(const QString &from, const QString &to)
{
    auto *dialog = new DiffDialog(m_api, m_collection, from, to, this);
    connect(dialog, &DiffDialog::showRequested, this, &MainWindow::showInWindow);
    dialog->show();
}

void MainWindow::showInWindow(const QString &path, const QString &at)
{
    // The entry's folder, in the snapshot it exists in; then the entry selected.
    const QString name = lastName(path);
    if (at.isEmpty()) {
        m_snapshotAt.clear();
        showLocation(parentOf(path), true);
    } else {
        openSnapshot(at, parentOf(path));
    }
    auto select = [this, name] {
        for (int r = 0; r < m_model->rowCount(); ++r)
            if (m_model->node(r).name == name) {
                QAbstractItemView *v = m_views->currentWidget() == m_icons ? static_cast<QAbstractItemView *>(m_icons) : m_details;
                const QModelIndex i = m_proxy->mapFromSource(m_model->index(r, 0));
                v->setCurrentIndex(i);
                v->scrollTo(i);
                return;
            }
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
    raise();
    activateWindow();
}

void MainWindow::restoreSelected(bool elsewhere)
{
    const QStringList paths = selectedPaths();
    const QString snapshot = m_snapshotAt;
    if (!m_api || snapshot.isEmpty() || paths.isEmpty() || (elsewhere && paths.size() != 1))
        return;
    const Ruid collection = m_collection;
    auto run = [this, collection, snapshot](const QString &path, const QString &to) {
        whenReady(this, m_api->restore(collection, snapshot, path, to), [this, path, to](const Result<tree::VNode> &r) {
            if (!r) {
                showError(this, tr("Could not restore “%1”.").arg(displayName(lastName(path))), r.status().toString());
                return;
            }
            statusBar()->showMessage(
                tr("Restored “%1” to %2.").arg(displayName(lastName(path)), displayName(to.isEmpty() ? path : to)), 8000);
        });
    };
    if (elsewhere) {
        const QString path = paths.front();
        auto *ask = new QInputDialog(this);
        ask->setObjectName(QStringLiteral("restoreToDialog"));
        ask->setAttribute(Qt::WA_DeleteOnClose);
        ask->setWindowTitle(tr("Restore to"));
        ask->setLabelText(tr("Restore “%1” as it was in snapshot “%2” to this path (it must not exist yet):")
                              .arg(displayName(lastName(path)), displayName(snapshot)));
        ask->setTextValue(tr("%1 (restored)").arg(path));
        ask->setWindowModality(Qt::WindowModal);
        connect(ask, &QInputDialog::textValueSelected, this, [run, path](const QString &to) {
            if (!to.trimmed().isEmpty())
                run(path, to.trimmed());
        });
        ask->open();
        return;
    }
    const QString what
        = paths.size() == 1 ? tr("“%1”").arg(displayName(lastName(paths.front()))) : tr("%n item(s)", nullptr, int(paths.size()));
    auto *box = new QMessageBox(QMessageBox::Question, tr("Restore"),
        tr("Restore %1 as it was in snapshot “%2”?\nThe current version, if there is one, goes to the trash.")
            .arg(what, displayName(snapshot)),
        QMessageBox::Cancel, this);
    box->setObjectName(QStringLiteral("restoreDialog"));
    box->setTextFormat(Qt::PlainText);
    box->setAttribute(Qt::WA_DeleteOnClose);
    QPushButton *yes = box->addButton(tr("Restore"), QMessageBox::AcceptRole);
    yes->setObjectName(QStringLiteral("confirm"));
    box->setDefaultButton(yes);
    box->setWindowModality(Qt::WindowModal);
    connect(box, &QMessageBox::buttonClicked, this, [run, yes, paths](QAbstractButton *clicked) {
        if (clicked == yes)
            for (const QString &p : paths)
                run(p, {});
    });
    box->open();
}

void MainWindow::showHistory()
{
    const QStringList paths = selectedPaths();
    if (!m_api || m_collection.isNull() || paths.size() != 1)
        return;
    auto *dialog = new HistoryDialog(m_api, m_collection, paths.front(), this);
    connect(dialog, &HistoryDialog::showRequested, this, &MainWindow::showInWindow);
    dialog->show();
}

} // namespace vd::widgets
