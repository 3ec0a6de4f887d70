#include "mainwindow.h"
#include "whenready.h"

#include "addressbar.h"
#include "displaytext.h"
#include "errorbox.h"
#include "foldermodel.h"
#include "foldersortproxy.h"
#include "foldertreemodel.h"
#include "propertiesdialog.h"
#include "searchmodel.h"
#include "jsoneditor.h"
#include "transferdialog.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QFileDialog>
#include <QFutureWatcher>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QToolBar>
#include <QTreeView>
#include <QUndoStack>

// The icons are compiled into this static library: registered once, here,
// so that every program (and test) with a window has them.
static void initExplorerResources()
{
    Q_INIT_RESOURCE(explorer);
}

namespace vd::widgets {

namespace {

QString parentOf(const QString &path)
{
    const qsizetype slash = path.lastIndexOf(QLatin1Char('/'));
    return slash <= 0 ? QStringLiteral("/") : path.left(slash);
}

QString childOf(const QString &dir, const QString &name)
{
    return dir == QLatin1String("/") ? QLatin1Char('/') + name : dir + QLatin1Char('/') + name;
}

// Moving nodes to the trash, undone by putting them back where they were.
class TrashCommand : public QUndoCommand
{
public:
    TrashCommand(client::DriveApi *api, MainWindow *window, Ruid collection, QStringList paths, std::vector<Ruid> ids)
        : m_api(api), m_window(window), m_collection(collection), m_paths(std::move(paths)), m_ids(std::move(ids))
    {
        setText(m_paths.size() == 1 ? QObject::tr("Move “%1” to the trash").arg(m_paths.front().section(QLatin1Char('/'), -1))
                                    : QObject::tr("Move %n item(s) to the trash", nullptr, int(m_paths.size())));
    }
    void redo() override
    {
        if (!m_api)
            return;
        const QStringList paths = m_paths;
        whenReady(m_window, m_api->remove(m_collection, paths, false), [w = m_window, paths](const Result<uint64_t> &r) {
            if (!r && w)
                showError(w, QObject::tr("Could not move %n item(s) to the trash.", nullptr, int(paths.size())), r.status().toString());
        });
    }
    void undo() override
    {
        if (!m_api)
            return;
        for (const Ruid &id : m_ids)
            whenReady(m_window, m_api->restoreFromTrash(m_collection, id, {}), [w = m_window](const Result<tree::VNode> &r) {
                if (!r && w)
                    showError(w, QObject::tr("Could not restore from the trash."), r.status().toString());
            });
    }

private:
    QPointer<client::DriveApi> m_api;
    QPointer<MainWindow> m_window;
    Ruid m_collection;
    QStringList m_paths;
    std::vector<Ruid> m_ids;
};

} // namespace

MainWindow::MainWindow(client::DriveApi *api, QWidget *parent) : QMainWindow(parent), m_api(api)
{
    initExplorerResources();
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("vdrive"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/vdrive.svg")));
    m_undo = new QUndoStack(this);
    m_model = new FolderModel(api, this);
    m_proxy = new FolderSortProxy(this);
    m_proxy->setSourceModel(m_model);
    m_treeModel = new FolderTreeModel(api, this);
    buildActions();
    buildLayout();
    buildMenus();
    setupSnapshots();
    setupCollections();
    setupClipboard();
    setupClusters();
    setupTrash();
    setupBlockMap();

    connect(m_model, &FolderModel::stateChanged, this, [this] {
        updateStatus();
        updateActions();
    });
    connect(m_model, &QAbstractItemModel::rowsInserted, this, &MainWindow::updateStatus);
    connect(m_model, &QAbstractItemModel::rowsRemoved, this, &MainWindow::updateStatus);
    connect(m_model, &FolderModel::importRequested, this, &MainWindow::importFiles);
    connect(m_model, &FolderModel::nodesDropped, this, &MainWindow::dropNodes);
    connect(m_model, &FolderModel::operationFailed, this, [this](const QString &summary, const QString &detail) { showError(this, summary, detail); });
    connect(m_model, &FolderModel::folderRemoved, this, [this] {
        m_workLabel->setText(tr("The folder shown was removed."));
        goUp();
    });
    connect(m_model, &FolderModel::folderMoved, this, [this] {
        whenReady(this, m_api->pathOf(m_collection, m_model->folder().id), [this](const Result<QString> &p) {
            if (p)
                showLocation(*p, false);
        });
    });
    connect(m_treeModel, &FolderTreeModel::failed, this, [this](const QString &message) { m_workLabel->setText(message); });
    connect(m_treeModel, &FolderTreeModel::listed, this, [this] {
        // Select the current folder in the tree once the folders down to it are there.
        const QModelIndex at = m_treeModel->indexOf(m_path);
        if (at.isValid() && m_treeModel->pathOf(at) == m_path) {
            m_tree->expand(at.parent());
            m_tree->setCurrentIndex(at);
        }
    });
    if (m_api)
        connect(m_api, &client::DriveApi::changed, this, [this](const Ruid &collection) {
            if (collection == m_collection && !m_usageTimer.isActive())
                m_usageTimer.start();
        });
    m_usageTimer.setSingleShot(true);
    m_usageTimer.setInterval(1000);
    connect(&m_usageTimer, &QTimer::timeout, this, &MainWindow::refreshUsage);
    restoreState();
    updateActions();
}

MainWindow::~MainWindow() = default;

QAction *MainWindow::action(const QString &name) const
{
    return findChild<QAction *>(name);
}

void MainWindow::buildActions()
{
    auto make = [this](const QString &name, const QString &text, const QKeySequence &keys, const QIcon &icon, auto slot) {
        auto *a = new QAction(icon, text, this);
        a->setObjectName(name);
        if (!keys.isEmpty())
            a->setShortcut(keys);
        a->setShortcutContext(Qt::WindowShortcut);
        connect(a, &QAction::triggered, this, slot);
        addAction(a);
        return a;
    };
    QStyle *s = style();
    make(QStringLiteral("newFolder"), tr("New &Folder"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_N), s->standardIcon(QStyle::SP_FileDialogNewFolder),
         &MainWindow::newFolder);
    make(QStringLiteral("newCollection"), tr("New &Collection..."), QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_N), QIcon(), &MainWindow::newCollection);
    make(QStringLiteral("import"), tr("&Import Files..."), QKeySequence(Qt::CTRL | Qt::Key_I), QIcon(), &MainWindow::chooseAndImport);
    make(QStringLiteral("export"), tr("&Export To Folder..."), QKeySequence(Qt::CTRL | Qt::Key_E), QIcon(), &MainWindow::exportSelected);
    make(QStringLiteral("properties"), tr("&Properties"), QKeySequence(Qt::ALT | Qt::Key_Return), QIcon(), [this] {
        const QStringList paths = selectedPaths();
        if (m_collection.isNull())
            return;
        (new PropertiesDialog(m_api, m_collection, paths.isEmpty() ? m_path : paths.constFirst(), m_model->snapshot(), this))->show();
    });
    make(QStringLiteral("quit"), tr("&Quit"), QKeySequence(Qt::CTRL | Qt::Key_Q), QIcon(), &QWidget::close);
    QAction *undo = m_undo->createUndoAction(this, tr("&Undo"));
    undo->setObjectName(QStringLiteral("undo"));
    undo->setShortcut(QKeySequence::Undo);
    addAction(undo);
    make(QStringLiteral("rename"), tr("&Rename"), QKeySequence(Qt::Key_F2), QIcon(), &MainWindow::renameSelected);
    make(QStringLiteral("delete"), tr("Move to &Trash"), QKeySequence::Delete, s->standardIcon(QStyle::SP_TrashIcon), &MainWindow::deleteSelected);
    make(QStringLiteral("selectAll"), tr("Select &All"), QKeySequence::SelectAll, QIcon(), [this] {
        (m_views->currentWidget() == m_icons ? static_cast<QAbstractItemView *>(m_icons) : m_details)->selectAll();
    });
    QAction *details = make(QStringLiteral("viewDetails"), tr("&Details"), QKeySequence(Qt::CTRL | Qt::Key_1), s->standardIcon(QStyle::SP_FileDialogDetailedView),
                            [this] { setViewMode(false); });
    QAction *icons = make(QStringLiteral("viewIcons"), tr("&Icons"), QKeySequence(Qt::CTRL | Qt::Key_2), s->standardIcon(QStyle::SP_FileDialogListView),
                          [this] { setViewMode(true); });
    details->setCheckable(true);
    icons->setCheckable(true);
    auto *group = new QActionGroup(this);
    group->addAction(details);
    group->addAction(icons);
    details->setChecked(true);
    make(QStringLiteral("reload"), tr("Re&load"), QKeySequence::Refresh, s->standardIcon(QStyle::SP_BrowserReload), [this] {
        m_model->reload();
        refreshUsage();
    });
    make(QStringLiteral("back"), tr("&Back"), QKeySequence::Back, s->standardIcon(QStyle::SP_ArrowBack), &MainWindow::goBack);
    make(QStringLiteral("forward"), tr("&Forward"), QKeySequence::Forward, s->standardIcon(QStyle::SP_ArrowForward), &MainWindow::goForward);
    make(QStringLiteral("up"), tr("&Up"), QKeySequence(Qt::ALT | Qt::Key_Up), s->standardIcon(QStyle::SP_ArrowUp), &MainWindow::goUp);
    make(QStringLiteral("location"), tr("Edit &Location"), QKeySequence(Qt::CTRL | Qt::Key_L), QIcon(), [this] { m_address->edit(); });
    make(QStringLiteral("find"), tr("&Search Here"), QKeySequence(Qt::CTRL | Qt::Key_F), QIcon(), [this] {
        m_search->setFocus(Qt::ShortcutFocusReason);
        m_search->selectAll();
    });
    make(QStringLiteral("about"), tr("&About vdrive"), QKeySequence(), QIcon(), [this] {
        QMessageBox::about(this, tr("About vdrive"),
                           tr("vdrive %1\nA distributed virtual drive: one drive across the machines you own.\nData directory: %2")
                               .arg(QStringLiteral(VD_VERSION_STRING), m_api ? m_api->dataDir() : QString()));
    });
}

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(action(QStringLiteral("newFolder")));
    file->addSeparator();
    file->addAction(action(QStringLiteral("import")));
    file->addAction(action(QStringLiteral("export")));
    file->addSeparator();
    file->addAction(action(QStringLiteral("properties")));
    file->addSeparator();
    file->addAction(action(QStringLiteral("quit")));
    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(action(QStringLiteral("undo")));
    edit->addSeparator();
    edit->addAction(action(QStringLiteral("rename")));
    edit->addAction(action(QStringLiteral("delete")));
    {
        // --- JSON editor: Edit > Edit JSON Document (the selected one) ---
        auto *a = edit->addAction(tr("Edit &JSON Document"), QKeySequence(Qt::CTRL | Qt::Key_J), this, [this] {
            for (const QString &p : selectedPaths())
                openJsonEditor(p);
        });
        a->setObjectName(QStringLiteral("editJson"));
        addAction(a);
    }
    edit->addSeparator();
    edit->addAction(action(QStringLiteral("selectAll")));
    QMenu *view = menuBar()->addMenu(tr("&View"));
    view->addAction(action(QStringLiteral("viewDetails")));
    view->addAction(action(QStringLiteral("viewIcons")));
    view->addSeparator();
    view->addAction(action(QStringLiteral("reload")));
    QMenu *go = menuBar()->addMenu(tr("&Go"));
    go->addAction(action(QStringLiteral("back")));
    go->addAction(action(QStringLiteral("forward")));
    go->addAction(action(QStringLiteral("up")));
    go->addAction(action(QStringLiteral("location")));
    go->addAction(action(QStringLiteral("find")));
    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(action(QStringLiteral("about")));

    // The contents' context menu: what applies to a selection.
    for (QAbstractItemView *v : {static_cast<QAbstractItemView *>(m_details), static_cast<QAbstractItemView *>(m_icons)}) {
        v->setContextMenuPolicy(Qt::ActionsContextMenu);
        v->addAction(action(QStringLiteral("newFolder")));
        v->addAction(action(QStringLiteral("rename")));
        v->addAction(action(QStringLiteral("delete")));
        v->addAction(action(QStringLiteral("export")));
        v->addAction(action(QStringLiteral("properties")));
    }
}

void MainWindow::buildLayout()
{
    QToolBar *bar = addToolBar(tr("Navigation"));
    bar->setObjectName(QStringLiteral("navigationBar"));
    bar->setMovable(false);
    bar->addAction(action(QStringLiteral("back")));
    bar->addAction(action(QStringLiteral("forward")));
    bar->addAction(action(QStringLiteral("up")));
    m_address = new AddressBar(bar);
    bar->addWidget(m_address);
    connect(m_address, &AddressBar::pathRequested, this, &MainWindow::navigate);
    bar->addSeparator();
    bar->addAction(action(QStringLiteral("viewDetails")));
    bar->addAction(action(QStringLiteral("viewIcons")));
    setupSearch(bar);
    m_collections = new QComboBox(bar);
    m_collections->setAccessibleName(tr("Collection"));
    m_collections->setToolTip(tr("The collection shown"));
    m_collections->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    bar->addWidget(m_collections);
    connect(m_collections, &QComboBox::activated, this, &MainWindow::switchTo);

    m_tree = new QTreeView(this);
    m_tree->setObjectName(QStringLiteral("folderTree"));
    m_tree->setAccessibleName(tr("Folders"));
    m_tree->setModel(m_treeModel);
    m_tree->setHeaderHidden(true);
    m_tree->setUniformRowHeights(true);
    connect(m_tree, &QTreeView::clicked, this, [this](const QModelIndex &i) { navigate(m_treeModel->pathOf(i)); });
    connect(m_tree, &QTreeView::activated, this, [this](const QModelIndex &i) { navigate(m_treeModel->pathOf(i)); });

    m_details = new QTreeView(this);
    m_details->setObjectName(QStringLiteral("detailsView"));
    m_details->setAccessibleName(tr("Contents"));
    m_details->setModel(m_proxy);
    m_details->setRootIsDecorated(false);
    m_details->setItemsExpandable(false);
    m_details->setUniformRowHeights(true); // a 100,000-row folder scrolls without measuring every row
    m_details->setSortingEnabled(true);
    m_details->sortByColumn(FolderModel::NameColumn, Qt::AscendingOrder);
    m_details->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_details->setEditTriggers(QAbstractItemView::EditKeyPressed | QAbstractItemView::SelectedClicked);
    m_details->setAllColumnsShowFocus(true);
    m_details->header()->setStretchLastSection(false);
    m_details->header()->setSectionResizeMode(FolderModel::NameColumn, QHeaderView::Stretch);
    // Fixed starting widths, not ResizeToContents: that would measure every
    // row of a 100,000-entry folder. The user's widths are kept (QSettings).
    m_details->header()->resizeSection(FolderModel::SizeColumn, 90);
    m_details->header()->resizeSection(FolderModel::KindColumn, 170);
    m_details->header()->resizeSection(FolderModel::ModifiedColumn, 150);
    m_details->setTextElideMode(Qt::ElideMiddle);

    m_icons = new QListView(this);
    m_icons->setObjectName(QStringLiteral("iconView"));
    m_icons->setAccessibleName(tr("Contents as icons"));
    m_icons->setModel(m_proxy);
    m_icons->setViewMode(QListView::IconMode);
    m_icons->setResizeMode(QListView::Adjust);
    m_icons->setMovement(QListView::Static);
    m_icons->setUniformItemSizes(true);
    m_icons->setIconSize(QSize(48, 48));
    m_icons->setGridSize(QSize(112, 88));
    m_icons->setWordWrap(true);
    m_icons->setTextElideMode(Qt::ElideMiddle);
    m_icons->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_icons->setEditTriggers(QAbstractItemView::EditKeyPressed | QAbstractItemView::SelectedClicked);

    for (QAbstractItemView *v : {static_cast<QAbstractItemView *>(m_details), static_cast<QAbstractItemView *>(m_icons)}) {
        // Drops from a file manager import; drags within move (Ctrl: copy).
        v->setDragEnabled(true);
        v->setAcceptDrops(true);
        v->setDropIndicatorShown(true);
        v->setDragDropMode(QAbstractItemView::DragDrop);
        v->setDefaultDropAction(Qt::MoveAction);
        connect(v, &QAbstractItemView::activated, this, &MainWindow::activate);
        connect(v->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
            updateActions();
            updateStatus();
        });
    }

    m_views = new QStackedWidget(this);
    m_views->addWidget(m_details);
    m_views->addWidget(m_icons);

    auto *split = new QSplitter(this);
    split->setObjectName(QStringLiteral("mainSplitter"));
    split->addWidget(m_tree);
    split->addWidget(m_views);
    split->setStretchFactor(1, 3);
    split->setSizes({220, 700});
    setCentralWidget(split);
    setTabOrder(m_address, m_tree);
    setTabOrder(m_tree, m_details);
    setTabOrder(m_details, m_icons);

    m_countLabel = new QLabel(this);
    m_workLabel = new QLabel(this);
    m_usageLabel = new QLabel(this);
    for (QLabel *l : {m_countLabel, m_workLabel, m_usageLabel})
        l->setTextFormat(Qt::PlainText);
    statusBar()->addWidget(m_countLabel);
    statusBar()->addWidget(m_workLabel, 1);
    statusBar()->addPermanentWidget(m_usageLabel);
}

void MainWindow::setupSearch(QToolBar *bar)
{
    m_search = new QLineEdit(bar);
    m_search->setObjectName(QStringLiteral("searchField"));
    m_search->setAccessibleName(tr("Search by name"));
    m_search->setPlaceholderText(tr("Search here (Ctrl+F)"));
    m_search->setClearButtonEnabled(true);
    m_search->setMaximumWidth(240);
    bar->addWidget(m_search);
    m_searchModel = new SearchModel(m_api, this);
    m_searchProxy = new FolderSortProxy(this);
    m_searchProxy->setSourceModel(m_searchModel);
    m_searchProxy->setDynamicSortFilter(false); // nearest first, as found, until a column is clicked
    m_results = new QTreeView(this);
    m_results->setObjectName(QStringLiteral("resultsView"));
    // A child of the window until the first search puts it in the views'
    // stack: hidden, or it is drawn over the toolbar's corner.
    m_results->hide();
    m_results->setAccessibleName(tr("Search results"));
    m_results->setModel(m_searchProxy);
    m_results->setRootIsDecorated(false);
    m_results->setUniformRowHeights(true);
    // Unsorted (nearest first, as found) until a column header is clicked.
    m_results->header()->setSortIndicator(-1, Qt::AscendingOrder);
    m_results->setSortingEnabled(true);
    m_results->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_results->setDragEnabled(true);
    m_results->setTextElideMode(Qt::ElideMiddle);
    m_results->header()->setSectionResizeMode(SearchModel::NameColumn, QHeaderView::Interactive);
    m_results->header()->resizeSection(SearchModel::NameColumn, 260);
    m_results->header()->resizeSection(SearchModel::FolderColumn, 300);
    connect(m_results, &QAbstractItemView::activated, this, [this](const QModelIndex &i) {
        const QString path = i.data(FolderModel::PathRole).toString();
        const bool folder = i.data(FolderModel::IsFolderRole).toBool();
        endSearch();
        navigate(folder ? path : parentOf(path));
    });
    m_searchDelay.setSingleShot(true);
    m_searchDelay.setInterval(250); // a search per pause in typing, not per key
    connect(&m_searchDelay, &QTimer::timeout, this, &MainWindow::startSearch);
    connect(m_search, &QLineEdit::textChanged, this, [this] { m_searchDelay.start(); });
    auto *escape = new QAction(m_search);
    escape->setShortcut(Qt::Key_Escape);
    escape->setShortcutContext(Qt::WidgetShortcut);
    connect(escape, &QAction::triggered, this, [this] { m_search->clear(); });
    m_search->addAction(escape);
    auto report = [this] { m_workLabel->setText(m_searchModel->statusText()); };
    connect(m_searchModel, &SearchModel::progressed, this, report);
    connect(m_searchModel, &SearchModel::finished, this, report);
}

void MainWindow::startSearch()
{
    const QString pattern = m_search->text().trimmed();
    if (pattern.isEmpty() || m_collection.isNull()) {
        endSearch();
        return;
    }
    if (m_views->indexOf(m_results) < 0)
        m_views->addWidget(m_results);
    if (m_views->currentWidget() != m_results)
        m_beforeSearch = m_views->currentWidget();
    m_views->setCurrentWidget(m_results);
    m_searchModel->search(m_collection, m_path, pattern, m_model->snapshot());
}

void MainWindow::endSearch()
{
    m_searchDelay.stop();
    m_searchModel->search({}, {}, {});
    if (m_views->currentWidget() == m_results)
        m_views->setCurrentWidget(m_beforeSearch ? m_beforeSearch : m_details);
    if (!m_search->text().isEmpty()) {
        const QSignalBlocker quiet(m_search);
        m_search->clear();
    }
    m_workLabel->clear();
}

void MainWindow::openCollection(const QString &nameOrRuid, const QString &path)
{
    m_pendingCollection = nameOrRuid;
    m_pendingPath = path;
    refreshCollections(nameOrRuid);
}

void MainWindow::refreshCollections(const QString &select)
{
    if (!m_api)
        return;
    m_workLabel->setText(tr("Reading the collections..."));
    whenReady(this, m_api->collections(), [this, select](const Result<std::vector<client::CollectionSummary>> &r) {
        m_workLabel->clear();
        if (!r) {
            showError(this, tr("Could not read the collections of %1.").arg(m_api->dataDir()), r.status().toString());
            return;
        }
        m_summaries = *r;
        m_collections->clear();
        int chosen = -1;
        const QString wanted = select.isEmpty() ? QSettings().value(QStringLiteral("explorer/collection")).toString() : select;
        for (size_t i = 0; i < m_summaries.size(); ++i) {
            const client::CollectionSummary &c = m_summaries[i];
            QString label = displayName(c.name.isEmpty() ? c.ruid.shortString() : c.name);
            if (!c.problem)
                label = tr("%1 (cannot be opened)").arg(label);
            m_collections->addItem(label, c.ruid.toString());
            m_collections->setItemData(int(i), c.problem ? c.ruid.toString() : c.problem.message(), Qt::ToolTipRole);
            if (c.name == wanted || c.ruid.toString().compare(wanted, Qt::CaseInsensitive) == 0)
                chosen = int(i);
        }
        if (chosen < 0)
            for (size_t i = 0; i < m_summaries.size() && chosen < 0; ++i)
                if (m_summaries[i].problem)
                    chosen = int(i);
        if (chosen < 0) {
            m_workLabel->setText(m_summaries.empty() ? tr("No collection yet: Collection ▸ New Collection makes one.") : tr("No collection can be opened."));
            m_collection = Ruid(); // (the one shown may have been deleted)
            m_usageLabel->clear();
            m_address->setPath(QString(), QStringLiteral("/"), QString());
            setWindowTitle(tr("vdrive"));
            m_model->setLocation({}, {});
            m_treeModel->setCollection({}, {});
            updateActions();
        } else {
            m_collections->setCurrentIndex(chosen);
            switchTo(chosen);
        }
        Q_EMIT collectionsListed();
    });
}

void MainWindow::switchTo(int comboIndex)
{
    if (comboIndex < 0 || size_t(comboIndex) >= m_summaries.size())
        return;
    const client::CollectionSummary &c = m_summaries[size_t(comboIndex)];
    if (!c.problem) {
        showError(this, tr("The collection “%1” cannot be opened.").arg(c.name), c.problem.toString());
        return;
    }
    const bool same = c.ruid == m_collection;
    m_collection = c.ruid;
    QSettings().setValue(QStringLiteral("explorer/collection"), c.ruid.toString());
    m_back.clear();
    m_forward.clear();
    m_undo->clear();
    if (!same)
        m_treeModel->setCollection(c.ruid, c.name);
    const QString path = m_pendingPath.isEmpty() ? QStringLiteral("/") : m_pendingPath;
    m_pendingPath.clear();
    showLocation(path, false);
    m_tree->expand(m_treeModel->index(0, 0));
    refreshUsage();
}

QString MainWindow::collectionName() const
{
    for (const client::CollectionSummary &c : m_summaries)
        if (c.ruid == m_collection)
            return c.name;
    return m_collection.shortString();
}

void MainWindow::navigate(const QString &path)
{
    showLocation(path, true);
}

void MainWindow::showLocation(const QString &rawPath, bool record)
{
    if (m_collection.isNull())
        return;
    // One form for every path: "/a/b", no trailing or doubled slashes.
    const QString path = QLatin1Char('/') + rawPath.split(QLatin1Char('/'), Qt::SkipEmptyParts).join(QLatin1Char('/'));
    if (record && path != m_path) {
        m_back.append(m_path);
        m_forward.clear();
    }
    if (m_search && m_views->currentWidget() == m_results)
        endSearch(); // a new place: the search was of the old one
    m_path = path;
    followSnapshotCollection();
    m_model->setLocation(m_collection, path, m_snapshotAt);
    m_address->setPath(collectionName(), path, snapshotSuffix());
    setWindowTitle(tr("%1 — %2 — vdrive").arg(path == QLatin1String("/") ? collectionName() : path.section(QLatin1Char('/'), -1), collectionName()));
    const QModelIndex at = m_treeModel->indexOf(path);
    if (at.isValid()) {
        m_tree->expand(at.parent());
        m_tree->setCurrentIndex(at);
    }
    updateActions();
    Q_EMIT locationShown(path);
}

void MainWindow::goBack()
{
    if (m_back.isEmpty())
        return;
    m_forward.prepend(m_path);
    showLocation(m_back.takeLast(), false);
}

void MainWindow::goForward()
{
    if (m_forward.isEmpty())
        return;
    m_back.append(m_path);
    showLocation(m_forward.takeFirst(), false);
}

void MainWindow::goUp()
{
    if (m_path != QLatin1String("/"))
        navigate(parentOf(m_path));
}

void MainWindow::activate(const QModelIndex &proxyIndex)
{
    const QModelIndex i = m_proxy->mapToSource(proxyIndex);
    if (!i.isValid())
        return;
    // --- JSON editor (jsoneditor.h) ---
    // A JSON document (an object or array standing in a folder) opens in
    // the editor; what is inside one is still navigated into.
    const auto kind = tree::Kind(i.data(FolderModel::KindRole).toInt());
    if ((kind == tree::Kind::JsonObject || kind == tree::Kind::JsonArray) && m_model->folder().kind == tree::Kind::Directory) {
        openJsonEditor(i.data(FolderModel::PathRole).toString());
        return;
    }
    // --- end JSON editor ---
    if (i.data(FolderModel::IsFolderRole).toBool())
        navigate(i.data(FolderModel::PathRole).toString());
    else if (kind == tree::Kind::File)
        openExternally(i.data(FolderModel::PathRole).toString()); // mainwindowclipboard.cpp
}

// --- JSON editor (jsoneditor.h) ---
JsonEditor *MainWindow::openJsonEditor(const QString &path)
{
    auto *editor = new JsonEditor(m_api, m_collection, path, m_model->snapshot(), this);
    editor->setWindowFlag(Qt::Window);
    editor->show();
    return editor;
}
// --- end JSON editor ---

QStringList MainWindow::selectedPaths() const
{
    QAbstractItemView *v = m_views->currentWidget() == m_icons ? static_cast<QAbstractItemView *>(m_icons) : m_details;
    QStringList out;
    for (const QModelIndex &i : v->selectionModel()->selectedRows(FolderModel::NameColumn))
        out.append(i.data(FolderModel::PathRole).toString());
    if (out.isEmpty() && v == m_icons)
        for (const QModelIndex &i : v->selectionModel()->selectedIndexes())
            out.append(i.data(FolderModel::PathRole).toString());
    return out;
}

void MainWindow::newFolder()
{
    if (m_model->isReadOnly() || m_model->state() != FolderModel::State::Ready)
        return;
    // "New folder", else "New folder 2", ... — a name not taken here.
    QSet<QString> taken;
    for (int r = 0; r < m_model->entryCount(); ++r)
        taken.insert(m_model->node(r).name);
    QString name = tr("New folder");
    for (int n = 2; taken.contains(name); ++n)
        name = tr("New folder %1").arg(n);
    const QString path = childOf(m_path, name);
    whenReady(this, m_api->mkdir(m_collection, path), [this, path](const Result<tree::VNode> &made) {
        if (!made) {
            showError(this, tr("Could not create the folder “%1”.").arg(path.section(QLatin1Char('/'), -1)), made.status().toString());
            return;
        }
        // Once its row comes through the change feed: selected, name in edit.
        const Ruid id = made->id;
        auto edit = [this, id] {
            const int row = m_model->rowOf(id);
            if (row < 0)
                return false;
            const QModelIndex at = m_proxy->mapFromSource(m_model->index(row, FolderModel::NameColumn));
            QAbstractItemView *v = m_views->currentWidget() == m_icons ? static_cast<QAbstractItemView *>(m_icons) : m_details;
            v->setCurrentIndex(at);
            v->scrollTo(at);
            v->edit(at);
            return true;
        };
        if (!edit()) {
            auto *once = new QMetaObject::Connection;
            *once = connect(m_model, &FolderModel::changesApplied, this, [once, edit] {
                if (edit()) {
                    disconnect(*once);
                    delete once;
                }
            });
        }
    });
}

void MainWindow::newCollection()
{
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("New collection"), tr("Name of the new collection:"), QLineEdit::Normal, QString(), &ok).trimmed();
    if (!ok || name.isEmpty())
        return;
    whenReady(this, m_api->createCollection(name), [this, name](const Result<client::CollectionSummary> &made) {
        if (!made) {
            showError(this, tr("Could not create the collection “%1”.").arg(name), made.status().toString());
            return;
        }
        openCollection(made->ruid.toString());
    });
}

void MainWindow::renameSelected()
{
    QAbstractItemView *v = m_views->currentWidget() == m_icons ? static_cast<QAbstractItemView *>(m_icons) : m_details;
    const QModelIndex current = v->currentIndex();
    if (current.isValid())
        v->edit(current.siblingAtColumn(FolderModel::NameColumn));
}

void MainWindow::deleteSelected()
{
    if (m_model->isReadOnly())
        return;
    QAbstractItemView *v = m_views->currentWidget() == m_icons ? static_cast<QAbstractItemView *>(m_icons) : m_details;
    QStringList paths;
    std::vector<Ruid> ids;
    QModelIndexList rows = v->selectionModel()->selectedRows(FolderModel::NameColumn);
    if (rows.isEmpty())
        rows = v->selectionModel()->selectedIndexes();
    for (const QModelIndex &i : rows) {
        paths.append(i.data(FolderModel::PathRole).toString());
        ids.push_back(Ruid::parse(i.data(FolderModel::IdRole).toString()).value());
    }
    if (paths.isEmpty())
        return;
    m_undo->push(new TrashCommand(m_api, this, m_collection, paths, ids));
}

void MainWindow::importFiles(const QStringList &localPaths, const QString &into)
{
    if (!m_api || m_collection.isNull() || localPaths.isEmpty())
        return;
    const client::Transfer t = m_api->importLocal(m_collection, localPaths, into);
    auto *dialog = new TransferDialog(tr("Importing into %1").arg(into), t, this);
    m_workLabel->setText(tr("Importing %n item(s) into %1...", nullptr, int(localPaths.size())).arg(into));
    connect(dialog, &TransferDialog::finished, this, [this, into](const Status &st, const client::TransferReport &r) {
        m_workLabel->setText(st ? tr("Imported %n file(s) (%1) into %2.", nullptr, int(r.files)).arg(formatBytes(r.bytes), into)
                                : tr("The import into %1 stopped.").arg(into));
        Q_EMIT transferFinished(st);
    });
    dialog->show();
}

void MainWindow::chooseAndImport()
{
    if (m_model->isReadOnly() || m_collection.isNull())
        return;
    const QStringList files = QFileDialog::getOpenFileNames(this, tr("Import files into %1").arg(m_path));
    importFiles(files, m_path);
}

void MainWindow::exportSelected()
{
    const QStringList paths = selectedPaths();
    if (paths.isEmpty() || m_collection.isNull())
        return;
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export %n item(s) to", nullptr, int(paths.size())));
    if (dir.isEmpty())
        return;
    const client::Transfer t = m_api->exportLocal(m_collection, paths, dir, m_model->snapshot(), false);
    auto *dialog = new TransferDialog(tr("Exporting to %1").arg(dir), t, this);
    connect(dialog, &TransferDialog::finished, this, [this, dir](const Status &st, const client::TransferReport &r) {
        m_workLabel->setText(st ? tr("Exported %n file(s) (%1) to %2.", nullptr, int(r.files)).arg(formatBytes(r.bytes), dir)
                                : tr("The export to %1 stopped.").arg(dir));
        Q_EMIT transferFinished(st);
    });
    dialog->show();
}

void MainWindow::dropNodes(const QStringList &paths, const Ruid &collection, const QString &at, const QString &into, bool copy)
{
    if (collection != m_collection) {
        showError(this, tr("Copying between collections is not possible yet."),
                  tr("Export the items to a local folder, then import them into the other collection."));
        return;
    }
    const bool copying = copy || !at.isEmpty(); // nothing moves out of a snapshot
    for (const QString &from : paths) {
        const QString name = from.section(QLatin1Char('/'), -1);
        const QString to = childOf(into, name);
        if (to == from || into == from || into.startsWith(from + QLatin1Char('/')))
            continue; // onto itself, or into itself
        auto done = [this, name, copying](const Result<tree::VNode> &r) {
            if (!r)
                showError(this, (copying ? tr("Could not copy “%1”.") : tr("Could not move “%1”.")).arg(name), r.status().toString());
        };
        if (copying)
            whenReady(this, m_api->copy(m_collection, from, to, at), done);
        else
            whenReady(this, m_api->move(m_collection, from, to), done);
    }
}

void MainWindow::setViewMode(bool icons)
{
    m_views->setCurrentWidget(icons ? static_cast<QWidget *>(m_icons) : m_details);
    action(icons ? QStringLiteral("viewIcons") : QStringLiteral("viewDetails"))->setChecked(true);
    updateActions();
}

void MainWindow::updateActions()
{
    const bool open = !m_collection.isNull();
    const bool writable = open && !m_model->isReadOnly() && m_model->state() == FolderModel::State::Ready;
    QAbstractItemView *v = m_views->currentWidget() == m_icons ? static_cast<QAbstractItemView *>(m_icons) : m_details;
    const bool selected = v->selectionModel() && v->selectionModel()->hasSelection();
    action(QStringLiteral("newFolder"))->setEnabled(writable);
    action(QStringLiteral("import"))->setEnabled(writable);
    action(QStringLiteral("export"))->setEnabled(open && selected);
    action(QStringLiteral("rename"))->setEnabled(writable && selected);
    action(QStringLiteral("delete"))->setEnabled(writable && selected);
    action(QStringLiteral("back"))->setEnabled(!m_back.isEmpty());
    action(QStringLiteral("forward"))->setEnabled(!m_forward.isEmpty());
    action(QStringLiteral("up"))->setEnabled(open && m_path != QLatin1String("/"));
    action(QStringLiteral("reload"))->setEnabled(open);
    action(QStringLiteral("properties"))->setEnabled(open);
    updateSnapshotActions();
    updateClipboardActions();
}

void MainWindow::updateStatus()
{
    switch (m_model->state()) {
    case FolderModel::State::Empty: m_countLabel->clear(); break;
    case FolderModel::State::Loading: m_countLabel->setText(tr("Listing...")); break;
    case FolderModel::State::Failed:
        m_countLabel->setText(tr("Cannot list this folder"));
        m_workLabel->setText(m_model->errorText());
        break;
    case FolderModel::State::Ready: {
        const int n = m_model->entryCount();
        QAbstractItemView *v = m_views->currentWidget() == m_icons ? static_cast<QAbstractItemView *>(m_icons) : m_details;
        const int chosen = v->selectionModel() ? int(v->selectionModel()->selectedRows().size()) : 0;
        m_countLabel->setText(chosen > 0 ? tr("%1 of %n item(s) selected", nullptr, n).arg(chosen) : tr("%n item(s)", nullptr, n));
        break;
    }
    }
}

void MainWindow::refreshUsage()
{
    if (!m_api || m_collection.isNull())
        return;
    const Ruid collection = m_collection;
    whenReady(this, m_api->usage(collection), [this, collection](const Result<client::Usage> &u) {
        if (collection != m_collection)
            return;
        if (!u) {
            m_usageLabel->setText(tr("%1: usage unknown").arg(collectionName()));
            m_usageLabel->setToolTip(richTextOf(u.status().toString()));
            return;
        }
        m_usageLabel->setText(tr("%1 — %2 used, %3 free").arg(collectionName(), formatBytes(u->allocatedBytes), formatBytes(u->diskFreeBytes)));
        m_usageLabel->setToolTip(richTextOf(tr("%1 in files; idvd is %2 on the disk; %n snapshot(s)", nullptr, int(u->snapshots))
                                                .arg(formatBytes(u->logicalBytes), formatBytes(u->idvdBytes))));
    });
}

void MainWindow::restoreState()
{
    QSettings s;
    if (!restoreGeometry(s.value(QStringLiteral("explorer/geometry")).toByteArray()))
        resize(1000, 640);
    if (auto *split = findChild<QSplitter *>(QStringLiteral("mainSplitter")))
        split->restoreState(s.value(QStringLiteral("explorer/splitter")).toByteArray());
    m_details->header()->restoreState(s.value(QStringLiteral("explorer/header")).toByteArray());
    setViewMode(s.value(QStringLiteral("explorer/icons"), false).toBool());
}

void MainWindow::saveState()
{
    QSettings s;
    s.setValue(QStringLiteral("explorer/geometry"), saveGeometry());
    if (auto *split = findChild<QSplitter *>(QStringLiteral("mainSplitter")))
        s.setValue(QStringLiteral("explorer/splitter"), split->saveState());
    s.setValue(QStringLiteral("explorer/header"), m_details->header()->saveState());
    s.setValue(QStringLiteral("explorer/icons"), m_views->currentWidget() == m_icons);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveState();
    event->accept();
}

} // namespace vd::widgets
