// MainWindow: the explorer's window over one DriveApi — a folder tree, the
// contents of the current folder (details or icons), breadcrumbs that also
// take a typed path, back / forward / up, a collection switcher and a
// status bar (collection, used and free space, work in progress).
//
// Everything it shows comes from models fed by the node's asynchronous
// API and its change records; nothing here waits for the engine. Every
// action is in a menu with a shortcut. Window geometry and view state are
// kept with QSettings.
//
// Lifetime: the api must outlive the window.
// Thread safety: the GUI thread only.
#pragma once

#include "client/driveapi.h"

#include <QMainWindow>
#include <QPoint>
#include <QPointer>
#include <QProgressDialog>
#include <QTimer>

#include <functional>

class QAction;
class QMimeData;
class QComboBox;
class QLineEdit;
class QDockWidget;
class QFrame;
class QLabel;
class QListView;
class QModelIndex;
class QSortFilterProxyModel;
class QStackedWidget;
class QTreeView;
class QToolBar;
class QUndoStack;

namespace vd::widgets {

class AddressBar;
class ClusterView;
class BlockMapPanel;
class DragOutData;
class FolderModel;
class FolderSortProxy;
class FolderTreeModel;
class SearchModel;
class SnapshotModel;
class TrashModel;

class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(client::DriveApi *api, QWidget *parent = nullptr);
    ~MainWindow() override;

    // Shows collection (by RUID or name; empty: the last one used, else
    // the first), at path.
    void openCollection(const QString &nameOrRuid, const QString &path = QStringLiteral("/"));
    void navigate(const QString &path);

    // For tests and screenshots.
    FolderModel *folderModel() const { return m_model; }
    FolderTreeModel *folderTreeModel() const { return m_treeModel; }
    QTreeView *detailsView() const { return m_details; }
    QListView *iconView() const { return m_icons; }
    QTreeView *folderTree() const { return m_tree; }
    QLineEdit *searchField() const { return m_search; }
    QTreeView *resultsView() const { return m_results; }
    SearchModel *searchModel() const { return m_searchModel; }
    AddressBar *addressBar() const { return m_address; }
    QAction *action(const QString &name) const;
    Ruid currentCollection() const { return m_collection; }
    QString currentPath() const { return m_path; }
    // The paths selected in the contents view.
    QStringList selectedPaths() const;
    // Opens the JSON editor on the document at path (of the folder shown:
    // read-only in a snapshot).
    class JsonEditor *openJsonEditor(const QString &path);

Q_SIGNALS:
    void collectionsListed();
    void locationShown(const QString &path);
    // An import or export this window started ended (tests wait on it).
    void transferFinished(const vd::Status &status);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildActions();
    void buildMenus();
    void buildLayout();
    void refreshCollections(const QString &select = {});
    void switchTo(int comboIndex);
    void showLocation(const QString &path, bool record);
    void goBack();
    void goForward();
    void goUp();
    void activate(const QModelIndex &proxyIndex);
    void newFolder();
    void newCollection();
    void renameSelected();
    void deleteSelected();
    void importFiles(const QStringList &localPaths, const QString &into);
    void dropNodes(const QStringList &paths, const vd::Ruid &collection, const QString &at, const QString &into, bool copy);
    void chooseAndImport();
    void setupSearch(QToolBar *bar);
    void startSearch();
    void endSearch();
    void exportSelected();
    void setViewMode(bool icons);
    void updateActions();
    void updateStatus();
    void refreshUsage();
    void restoreState();
    void saveState();
    QString collectionName() const;

    // ---- Snapshots (mainwindowsnapshots.cpp): the panel, the read-only
    // snapshot view, compare, restore, history. ----
public:
    // Shows snapshot `name` at path, read-only, until leaveSnapshot().
    void openSnapshot(const QString &name, const QString &path = QStringLiteral("/"));
    void leaveSnapshot(); // "Back to now": the live tree at the same path
    QString currentSnapshot() const { return m_snapshotAt; }
    SnapshotModel *snapshotModel() const { return m_snapshots; }
    QDockWidget *snapshotPanel() const { return m_snapshotDock; }
    QTreeView *snapshotView() const { return m_snapshotView; }
    QFrame *snapshotBanner() const { return m_banner; }

private:
    void setupSnapshots();
    void followSnapshotCollection(); // showLocation: a new collection has other snapshots
    QString snapshotSuffix() const;  // for the address bar
    void updateSnapshotActions();
    QString chosenSnapshot() const; // the panel's current row, else the one shown
    void takeSnapshot();
    void deleteChosenSnapshot();
    void compareWithNow();
    void compareWithOther();
    void compare(const QString &from, const QString &to);
    void restoreSelected(bool elsewhere);
    void showHistory();
    void showInWindow(const QString &path, const QString &at);

    // ---- Collections (mainwindowcollections.cpp): the Collection menu —
    // new, rename, delete — and a switcher kept up to date whoever changes
    // the list (the node's collectionsChanged()). ----
public:
    // Lists the collections again, staying where the window is unless the
    // collection shown is gone (then another, or the empty state).
    void relistCollections();

private:
    void setupCollections();
    void renameCurrentCollection();
    void deleteCurrentCollection();
    void confirmDelete(const Ruid &collection, const QString &name, const Result<client::Usage> &usage);
    QTimer m_relistDelay;
    // ---- end of collections ----

    // ---- Checking a collection (mainwindowcheck.cpp): Collection ▸ Check
    // Drive... runs DriveApi::fsck off the GUI thread behind a progress
    // dialog with Cancel, then says what it found; the block map paints
    // the corrupt blocks. ----
public:
    // The dialog of the check in progress (null when none runs).
    QProgressDialog *checkProgress() const { return m_check; }
    void checkCurrentCollection();

private:
    void showCheckResult(const QString &name, const Result<storage::FsckReport> &report);
    QPointer<QProgressDialog> m_check;
    // ---- end of checking ----

    // ---- Clipboard and the ways out (mainwindowclipboard.cpp): cut, copy
    // and paste (nodes within the drive, local files from a file manager),
    // open with the default application and drag out, both through a
    // temporary export kept until the application quits. ----
public:
    // A drag's data for paths (of the folder shown): the nodes, and the
    // files exported on demand into a fresh temporary folder (dragout.h),
    // its messages on the status bar. The caller owns it (a QDrag does).
    DragOutData *dragOutData(const QStringList &paths);
    // Exports the file at path to a temporary folder (with the transfer
    // dialog when it is big) and opens it with QDesktopServices::openUrl.
    void openExternally(const QString &path);
    void paste();

Q_SIGNALS:
    // A paste of nodes ended (every move or copy answered): ok when all went.
    void pasteFinished(bool ok);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void setupClipboard();
    void updateClipboardActions();
    void copySelected(bool cut);
    bool dragOutFilter(QObject *watched, QEvent *event);
    void startDragOut();
    QPoint m_dragFrom{-1, -1}; // a press on a selected row (viewport coordinates)
    bool m_dragStarted = false;
    // ---- end of clipboard ----

    QString m_snapshotAt; // the snapshot shown; empty: the live tree
    int64_t m_snapshotTakenMs = 0;
    SnapshotModel *m_snapshots = nullptr;
    QDockWidget *m_snapshotDock = nullptr;
    QTreeView *m_snapshotView = nullptr;
    QFrame *m_banner = nullptr;
    QLabel *m_bannerLabel = nullptr;
    // ---- end of snapshots ----

    // ---- The cluster view (mainwindowclusters.cpp): a dock picturing the
    // clusters of the file selected in the contents. ----
public:
    ClusterView *clusterView() const { return m_clusterView; }
    QDockWidget *clusterPanel() const { return m_clusterDock; }

private:
    void setupClusters();
    void followSelectionInClusters();

    ClusterView *m_clusterView = nullptr;
    QDockWidget *m_clusterDock = nullptr;
    // ---- end of the cluster view ----

    // ---- The trash (mainwindowtrash.cpp): a dock listing the trash of the
    // collection shown, to restore from or delete for good. ----
public:
    TrashModel *trashModel() const { return m_trash; }
    QTreeView *trashView() const { return m_trashView; }
    QDockWidget *trashPanel() const { return m_trashDock; }

private:
    void setupTrash();
    void updateTrashActions();
    // The entries chosen in the panel: {id, original path}.
    std::vector<std::pair<Ruid, QString>> chosenTrashEntries() const;
    void restoreChosenFromTrash(bool elsewhere);
    // why: what is in the way (empty: the user chose Restore To); suggestion: the path offered.
    void askWhereToRestore(const Ruid &id, const QString &originalPath, const QString &why, const QString &suggestion);
    void restoreFromTrashTo(const Ruid &id, const QString &originalPath, const QString &to);
    void deleteChosenForGood();
    void emptyTrash();

    TrashModel *m_trash = nullptr;
    QSortFilterProxyModel *m_trashProxy = nullptr;
    QTreeView *m_trashView = nullptr;
    QDockWidget *m_trashDock = nullptr;
    // ---- end of the trash ----

    // ---- The block map (mainwindowblockmap.cpp): a dock over the collection shown. ----
public:
    BlockMapPanel *blockMapPanel() const { return m_blockMap; }
    QDockWidget *blockMapDock() const { return m_blockMapDock; }

private:
    void setupBlockMap();
    void updateBlockMapSelection();
    void showBlockFiles(const std::vector<tree::BlockOwner> &files);
    BlockMapPanel *m_blockMap = nullptr;
    QDockWidget *m_blockMapDock = nullptr;
    // ---- end of the block map ----

    QPointer<client::DriveApi> m_api;
    Ruid m_collection;
    QString m_path = QStringLiteral("/");
    QStringList m_back, m_forward;
    QString m_pendingCollection, m_pendingPath;

    FolderModel *m_model = nullptr;
    FolderSortProxy *m_proxy = nullptr;
    FolderTreeModel *m_treeModel = nullptr;
    QTreeView *m_tree = nullptr;
    QTreeView *m_details = nullptr;
    QListView *m_icons = nullptr;
    QStackedWidget *m_views = nullptr;
    AddressBar *m_address = nullptr;
    QComboBox *m_collections = nullptr;
    QLabel *m_usageLabel = nullptr;
    QLabel *m_countLabel = nullptr;
    QLabel *m_workLabel = nullptr;
    QUndoStack *m_undo = nullptr;
    QTimer m_usageTimer;
    std::vector<client::CollectionSummary> m_summaries;
    // Search by name below the folder shown (its results replace the contents).
    QLineEdit *m_search = nullptr;
    SearchModel *m_searchModel = nullptr;
    FolderSortProxy *m_searchProxy = nullptr;
    QTreeView *m_results = nullptr;
    QWidget *m_beforeSearch = nullptr; // the view the results replaced
    QTimer m_searchDelay;
};

} // namespace vd::widgets
