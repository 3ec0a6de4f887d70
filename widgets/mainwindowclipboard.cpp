// MainWindow's clipboard and the ways out of the drive (mainwindow.h,
// "Clipboard"): cut / copy / paste within the drive and of local files,
// opening a file with the system's default application, and dragging files
// out to the desktop or a file manager — the last two through a temporary
// export, since other programs need real files.
#include "mainwindow.h"

#include "displaytext.h"
#include "dragdrop.h"
#include "dragout.h"
#include "errorbox.h"
#include "foldermodel.h"
#include "foldersortproxy.h"
#include "transferdialog.h"
#include "whenready.h"

#include <QAbstractItemView>
#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCoreApplication>
#include <QDesktopServices>
#include <QDir>
#include <QDrag>
#include <QListView>
#include <QMenu>
#include <QMenuBar>
#include <QMimeData>
#include <QMouseEvent>
#include <QPointer>
#include <QSet>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTreeView>
#include <QUrl>

namespace vd::widgets {

namespace {

// What file managers put beside a cut selection (KDE's marker, which Qt
// programs and Dolphin read): paste moves instead of copying.
constexpr char kCutMarker[] = "application/x-kde-cutselection";

// The temporary exports of this program (open with, drag out): one folder
// that lives until the application quits — an application opened on a file
// or a drop target may read it long after the window that made it closed —
// and is removed then (QTemporaryDir).
class ExportArea : public QObject
{
public:
    using QObject::QObject;
    // A new empty folder for one export, so that names never collide;
    // empty when the temporary folder cannot be made.
    QString freshFolder()
    {
        if (!m_dir.isValid())
            return {};
        const QString sub = m_dir.filePath(QString::number(++m_count));
        return QDir().mkpath(sub) ? sub : QString();
    }

private:
    QTemporaryDir m_dir{QDir::tempPath() + QStringLiteral("/vdrive-export-XXXXXX")};
    int m_count = 0;
};

ExportArea &exportArea()
{
    static QPointer<ExportArea> area;
    if (!area)
        area = new ExportArea(QCoreApplication::instance()); // deleted (and emptied) when the application goes
    return *area;
}

QString childOf(const QString &dir, const QString &name)
{
    return dir == QLatin1String("/") ? QLatin1Char('/') + name : dir + QLatin1Char('/') + name;
}

// "name (copy).ext", "name (copy 2).ext", ...: a name not in taken.
QString copyName(const QString &name, const QSet<QString> &taken)
{
    const qsizetype dot = name.lastIndexOf(QLatin1Char('.'));
    const QString base = dot > 0 ? name.left(dot) : name;
    const QString ext = dot > 0 ? name.mid(dot) : QString();
    QString candidate = QObject::tr("%1 (copy)%2").arg(base, ext);
    for (int n = 2; taken.contains(candidate); ++n)
        candidate = QObject::tr("%1 (copy %2)%3").arg(base).arg(n).arg(ext);
    return candidate;
}

} // namespace

void MainWindow::setupClipboard()
{
    auto make = [this](const QString &name, const QString &text, const QKeySequence &keys, auto slot) {
        auto *a = new QAction(text, this);
        a->setObjectName(name);
        a->setShortcut(keys);
        // The views' own shortcuts (Ctrl+C copies an index's text) must not win.
        a->setShortcutContext(Qt::WindowShortcut);
        connect(a, &QAction::triggered, this, slot);
        addAction(a);
        return a;
    };
    make(QStringLiteral("cut"), tr("Cu&t"), QKeySequence::Cut, [this] { copySelected(true); });
    make(QStringLiteral("copy"), tr("&Copy"), QKeySequence::Copy, [this] { copySelected(false); });
    make(QStringLiteral("paste"), tr("&Paste"), QKeySequence::Paste, &MainWindow::paste);
    make(QStringLiteral("openExternally"), tr("&Open with Default Application"), QKeySequence(Qt::CTRL | Qt::Key_Return), [this] {
        for (const QString &p : selectedPaths())
            openExternally(p);
    });
    // In the Edit menu, first, and in the contents' context menu.
    for (QAction *m : menuBar()->actions()) {
        if (m->menu() && m->text() == tr("&Edit")) {
            QAction *first = m->menu()->actions().value(1); // after Undo
            for (const char *name : {"cut", "copy", "paste"})
                m->menu()->insertAction(first, action(QLatin1String(name)));
            m->menu()->insertSeparator(first);
            m->menu()->insertAction(first, action(QStringLiteral("openExternally")));
        }
    }
    for (QAbstractItemView *v : {static_cast<QAbstractItemView *>(m_details), static_cast<QAbstractItemView *>(m_icons)}) {
        QAction *first = v->actions().value(0);
        v->insertActions(first, {action(QStringLiteral("openExternally")), action(QStringLiteral("cut")), action(QStringLiteral("copy")),
                                 action(QStringLiteral("paste"))});
        // Drags start here (dragOutFilter): exported first when they leave.
        v->viewport()->installEventFilter(this);
    }
    connect(QApplication::clipboard(), &QClipboard::dataChanged, this, &MainWindow::updateClipboardActions);
}

void MainWindow::updateClipboardActions()
{
    if (!action(QStringLiteral("paste")))
        return;
    const bool open = !m_collection.isNull();
    const bool writable = open && !m_model->isReadOnly() && m_model->state() == FolderModel::State::Ready;
    const bool selected = !selectedPaths().isEmpty();
    action(QStringLiteral("cut"))->setEnabled(writable && selected);
    action(QStringLiteral("copy"))->setEnabled(open && selected);
    const QMimeData *clip = QApplication::clipboard()->mimeData();
    action(QStringLiteral("paste"))->setEnabled(writable && clip && (nodesIn(clip) || !localFilesIn(clip).isEmpty()));
    action(QStringLiteral("openExternally"))->setEnabled(open && selected);
}

void MainWindow::copySelected(bool cut)
{
    const QStringList paths = selectedPaths();
    if (paths.isEmpty() || m_collection.isNull() || (cut && m_model->isReadOnly()))
        return;
    QMimeData *mime = mimeDataForNodes({m_collection, m_model->snapshot(), paths});
    if (cut)
        mime->setData(QString::fromLatin1(kCutMarker), "1");
    QApplication::clipboard()->setMimeData(mime); // the clipboard owns it
    statusBar()->showMessage(cut ? tr("Cut %n item(s): paste moves them.", nullptr, int(paths.size()))
                                 : tr("Copied %n item(s).", nullptr, int(paths.size())),
                             4000);
}

void MainWindow::paste()
{
    if (!m_api || m_collection.isNull() || m_model->isReadOnly())
        return;
    const QMimeData *clip = QApplication::clipboard()->mimeData();
    if (!clip)
        return;
    const QString into = m_path;
    if (auto nodes = nodesIn(clip)) {
        if (nodes->collection != m_collection) {
            showError(this, tr("Copying between collections is not possible yet."),
                      tr("Export the items to a local folder, then import them into the other collection."));
            return;
        }
        // A cut moves, unless it came from a snapshot (nothing moves out of one).
        const bool move = clip->data(QString::fromLatin1(kCutMarker)) == "1" && nodes->at.isEmpty();
        QSet<QString> taken;
        for (int r = 0; r < m_model->entryCount(); ++r)
            taken.insert(m_model->node(r).name);
        auto pending = std::make_shared<int>(int(nodes->paths.size()));
        auto failed = std::make_shared<bool>(false);
        for (const QString &from : nodes->paths) {
            const QString name = from.section(QLatin1Char('/'), -1);
            QString to = childOf(into, name);
            if (into == from || into.startsWith(from + QLatin1Char('/'))) {
                showError(this, tr("“%1” cannot go into itself.").arg(displayName(name)), QString());
                --*pending;
                continue;
            }
            if (move && to == from) {
                --*pending; // already here
                continue;
            }
            if (!move && taken.contains(name)) {
                // A copy beside its original, as file managers name it.
                const QString other = copyName(name, taken);
                taken.insert(other);
                to = childOf(into, other);
            }
            auto done = [this, name, move, pending, failed](const Result<tree::VNode> &r) {
                if (!r) {
                    *failed = true;
                    showError(this, (move ? tr("Could not move “%1”.") : tr("Could not copy “%1”.")).arg(displayName(name)), r.status().toString());
                }
                if (--*pending == 0) {
                    // A cut pasted is used up, as in file managers.
                    if (move && !*failed && nodesIn(QApplication::clipboard()->mimeData()))
                        QApplication::clipboard()->clear();
                    Q_EMIT pasteFinished(!*failed);
                }
            };
            if (move)
                whenReady(this, m_api->move(m_collection, from, to), done);
            else
                whenReady(this, m_api->copy(m_collection, from, to, nodes->at), done);
        }
        if (*pending == 0)
            Q_EMIT pasteFinished(false);
        return;
    }
    // Files copied in a file manager: imported as a drop would be.
    const QStringList files = localFilesIn(clip);
    if (!files.isEmpty())
        importFiles(files, into);
}

void MainWindow::openExternally(const QString &path)
{
    if (!m_api || m_collection.isNull())
        return;
    int row = -1;
    for (int r = 0; r < m_model->entryCount() && row < 0; ++r)
        if (childOf(m_path, m_model->node(r).name) == path)
            row = r;
    const QString name = path.section(QLatin1Char('/'), -1);
    if (row >= 0 && m_model->node(row).kind != tree::Kind::File) {
        statusBar()->showMessage(tr("Only files open in another application."), 4000);
        return;
    }
    const QString folder = exportArea().freshFolder();
    if (folder.isEmpty()) {
        showError(this, tr("Could not open “%1”.").arg(displayName(name)), tr("No temporary folder could be made in %1.").arg(QDir::tempPath()));
        return;
    }
    const client::Transfer t = m_api->exportLocal(m_collection, {path}, folder, m_model->snapshot(), false);
    // A big file shows its progress (and can be cancelled); a small one
    // opens before a dialog could be read.
    const uint64_t size = row >= 0 ? m_model->node(row).size : 0;
    if (size > (8u << 20))
        (new TransferDialog(tr("Opening %1").arg(displayName(name)), t, this))->show();
    statusBar()->showMessage(tr("Opening “%1”…").arg(displayName(name)));
    const QString local = folder + QLatin1Char('/') + name;
    whenReady(this, t.done, [this, name, local](const Result<client::TransferReport> &r) {
        statusBar()->clearMessage();
        if (!r) {
            if (r.status().code() != ErrorCode::Cancelled)
                showError(this, tr("Could not open “%1”.").arg(displayName(name)), r.status().toString());
            return;
        }
        if (!QDesktopServices::openUrl(QUrl::fromLocalFile(local)))
            showError(this, tr("No application opens “%1”.").arg(displayName(name)), local);
    });
}

DragOutData *MainWindow::dragOutData(const QStringList &paths)
{
    auto *out = new DragOutData(m_api, {m_collection, m_model->snapshot(), paths}, exportArea().freshFolder(), this);
    connect(out, &DragOutData::message, this, [this](const QString &text, int timeoutMs) {
        if (text.isEmpty())
            statusBar()->clearMessage();
        else
            statusBar()->showMessage(text, timeoutMs);
    });
    return out;
}

bool MainWindow::eventFilter(QObject *watched, QEvent *event)
{
    if (dragOutFilter(watched, event))
        return true;
    return QMainWindow::eventFilter(watched, event);
}

bool MainWindow::dragOutFilter(QObject *watched, QEvent *event)
{
    QAbstractItemView *v = m_views->currentWidget() == m_icons ? static_cast<QAbstractItemView *>(m_icons) : m_details;
    if (watched != v->viewport())
        return false;
    // From a press on a selected row to its release, the moves are ours:
    // the view never starts a drag of its own (nodes only, no files).
    if (event->type() == QEvent::MouseButtonPress) {
        auto *e = static_cast<QMouseEvent *>(event);
        const QModelIndex at = v->indexAt(e->position().toPoint());
        m_dragStarted = false;
        m_dragFrom = e->button() == Qt::LeftButton && at.isValid() && v->selectionModel()->isSelected(at) ? e->position().toPoint() : QPoint(-1, -1);
        return false;
    }
    if (event->type() == QEvent::MouseButtonRelease) {
        m_dragFrom = QPoint(-1, -1);
        return false;
    }
    if (event->type() != QEvent::MouseMove || m_dragFrom.x() < 0)
        return false;
    auto *e = static_cast<QMouseEvent *>(event);
    if (!(e->buttons() & Qt::LeftButton)) {
        m_dragFrom = QPoint(-1, -1);
        return false;
    }
    if (m_dragStarted || (e->position().toPoint() - m_dragFrom).manhattanLength() < QApplication::startDragDistance())
        return true;
    m_dragStarted = true;
    startDragOut();
    return true;
}

void MainWindow::startDragOut()
{
    const QStringList paths = selectedPaths();
    if (paths.isEmpty() || m_collection.isNull() || !m_api)
        return;
    const bool readOnly = m_model->isReadOnly();
    QPointer<DragOutData> out = dragOutData(paths);
    QPointer<QDrag> drag = new QDrag(this);
    drag->setMimeData(out);
    // Over another program's window: the files will be wanted, export them now.
    connect(drag, &QDrag::targetChanged, out, [out](QObject *target) {
        if (!target && out)
            out->startExport();
    });
    // Within the window a drop moves (Ctrl: copies); out of a snapshot only copies.
    const Qt::DropAction action = drag->exec(readOnly ? Qt::CopyAction : Qt::CopyAction | Qt::MoveAction, readOnly ? Qt::CopyAction : Qt::MoveAction);
    // Dropped within the explorer, or nowhere: no one wants the files. (A
    // drop on another program may ask for them after exec returns; the
    // platform keeps the drag, and its data, until then.)
    if (out && !out->filesAsked() && (action == Qt::IgnoreAction || (drag && drag->target())))
        out->cancelExport();
}

} // namespace vd::widgets
