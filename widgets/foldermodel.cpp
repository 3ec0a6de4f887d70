#include "foldermodel.h"

#include "displaytext.h"
#include "dragdrop.h"
#include "nodeinfo.h"

#include <QMimeData>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace vd::widgets {

using tree::ChangeRecord;
using tree::VNode;

namespace {

// A row's copy of the node a change record describes (the record carries
// what a list shows; the creation time comes from the row it replaces).
VNode nodeOf(const ChangeRecord &r, const VNode *old)
{
    VNode n = old ? *old : VNode{};
    const tree::ChangeSide &s = *r.after;
    n.id = r.id;
    n.parent = s.parent;
    n.name = s.name;
    n.kind = s.kind;
    n.size = s.size;
    n.modifiedMs = s.modifiedMs;
    n.version = r.version;
    return n;
}

} // namespace

FolderModel::FolderModel(client::DriveApi *api, QObject *parent) : QAbstractTableModel(parent), m_api(api)
{
    m_coalesce.setSingleShot(true);
    m_coalesce.setInterval(kCoalesceMs);
    connect(&m_coalesce, &QTimer::timeout, this, &FolderModel::applyQueued);
    if (m_api) {
        connect(m_api, &client::DriveApi::changed, this, &FolderModel::onChanged);
        connect(m_api, &client::DriveApi::resyncNeeded, this, &FolderModel::onResync);
    }
}

FolderModel::~FolderModel() = default;

void FolderModel::setLocation(const Ruid &collection, const QString &path, const QString &at)
{
    beginResetModel();
    ++m_epoch;
    for (QFutureWatcherBase *w : {static_cast<QFutureWatcherBase *>(m_listing), static_cast<QFutureWatcherBase *>(m_preparing)}) {
        if (w) {
            w->disconnect(this);
            w->deleteLater(); // its future finishes on its own; the answer is not wanted
        }
    }
    m_listing = nullptr;
    m_preparing = nullptr;
    m_collection = collection;
    m_path = path;
    m_at = at;
    if (!m_rows.empty()) {
        // Freeing a big folder's rows and their index is work per entry:
        // not for the GUI thread.
        QThreadPool::globalInstance()->start([rows = std::move(m_rows), rowOf = std::move(m_rowOf)]() mutable {
            rows.clear();
            rowOf.clear();
        });
    }
    m_rows.clear();
    m_rowOf.clear();
    m_revealed = 0;
    m_queued.clear();
    m_folder = {};
    m_generation = 0;
    m_error.clear();
    endResetModel();
    if (!m_api || collection.isNull()) {
        setState(State::Empty);
        return;
    }
    setState(State::Loading);
    m_listing = new QFutureWatcher<Result<client::FolderListing>>(this);
    connect(m_listing, &QFutureWatcherBase::finished, this, &FolderModel::onListed);
    m_listing->setFuture(m_api->list(collection, path, at));
}

void FolderModel::reload()
{
    setLocation(m_collection, m_path, m_at);
}

void FolderModel::onListed()
{
    auto *watcher = m_listing;
    m_listing = nullptr;
    watcher->deleteLater();
    if (watcher->isCanceled() || watcher->future().resultCount() == 0) {
        m_error = tr("The listing was cancelled.");
        setState(State::Failed);
        return;
    }
    // Moved out of the future, not copied: no work per entry here.
    Result<client::FolderListing> listing = watcher->future().takeResult();
    if (!listing) {
        m_error = listing.status().message();
        setState(State::Failed);
        return;
    }
    // The index of a big listing costs more than a frame (100,000 entries:
    // tens of milliseconds): it is built on the pool, and the GUI thread
    // only moves the result in (onPrepared).
    m_preparing = new QFutureWatcher<Prepared>(this);
    connect(m_preparing, &QFutureWatcherBase::finished, this, &FolderModel::onPrepared);
    m_preparing->setFuture(QtConcurrent::run([listing = std::move(*listing)]() mutable {
        Prepared p{std::move(listing), {}};
        const std::vector<VNode> &rows = p.listing.entries;
        p.rowOf.reserve(rows.size());
        for (size_t i = 0; i < rows.size(); ++i)
            p.rowOf.emplace(rows[i].id, int(i));
        return p;
    }));
}

void FolderModel::onPrepared()
{
    auto *watcher = m_preparing;
    m_preparing = nullptr;
    watcher->deleteLater();
    if (watcher->isCanceled() || watcher->future().resultCount() == 0) {
        m_error = tr("The listing was cancelled.");
        setState(State::Failed);
        return;
    }
    Prepared prepared = watcher->future().takeResult();
    m_folder = prepared.listing.folder;
    m_generation = prepared.listing.generation;
    m_rows = std::move(prepared.listing.entries);
    m_rowOf = std::move(prepared.rowOf);
    // The first rows at once: a view asks for more as it scrolls.
    if (!m_rows.empty()) {
        const int first = std::min<int>(kBatchRows, int(m_rows.size()));
        m_inserting = true;
        beginInsertRows({}, 0, first - 1);
        m_revealed = first;
        endInsertRows();
        m_inserting = false;
    }
    setState(State::Ready);
    if (!m_queued.empty())
        m_coalesce.start();
}

int FolderModel::rowOf(const Ruid &id) const
{
    const auto it = m_rowOf.find(id);
    return it == m_rowOf.end() ? -1 : it->second;
}

QString FolderModel::pathOf(const VNode &n) const
{
    return m_path == QLatin1String("/") ? QLatin1Char('/') + n.name : m_path + QLatin1Char('/') + n.name;
}

int FolderModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : m_revealed;
}

int FolderModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant FolderModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const VNode &n = m_rows[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NameColumn: return displayName(n.name);
        case SizeColumn: return sizeText(n);
        case KindColumn: return kindText(n);
        case ModifiedColumn: return timeText(n.modifiedMs);
        }
        break;
    case Qt::EditRole:
        if (index.column() == NameColumn)
            return n.name;
        break;
    case Qt::DecorationRole:
        if (index.column() == NameColumn)
            return iconFor(n);
        break;
    case Qt::ToolTipRole:
        if (index.column() == NameColumn)
            return richTextOf(n.name);
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == SizeColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Qt::AccessibleTextRole:
        if (index.column() == NameColumn)
            return n.name;
        break;
    case SortRole:
        switch (index.column()) {
        case NameColumn: return n.name;
        case SizeColumn: return qulonglong(n.size);
        case KindColumn: return kindText(n);
        case ModifiedColumn: return qlonglong(n.modifiedMs);
        }
        break;
    case IdRole: return n.id.toString();
    case PathRole: return pathOf(n);
    case KindRole: return int(n.kind);
    case IsFolderRole: return n.isContainer();
    }
    return {};
}

QVariant FolderModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case NameColumn: return tr("Name");
    case SizeColumn: return tr("Size");
    case KindColumn: return tr("Kind");
    case ModifiedColumn: return tr("Modified");
    }
    return {};
}

Qt::ItemFlags FolderModel::flags(const QModelIndex &index) const
{
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (!index.isValid())
        return isReadOnly() || m_state != State::Ready ? f : f | Qt::ItemIsDropEnabled;
    f |= Qt::ItemIsDragEnabled;
    if (!isReadOnly()) {
        if (index.column() == NameColumn)
            f |= Qt::ItemIsEditable;
        if (m_rows[size_t(index.row())].kind == tree::Kind::Directory)
            f |= Qt::ItemIsDropEnabled;
    }
    return f;
}

bool FolderModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
    if (role != Qt::EditRole || index.column() != NameColumn || isReadOnly() || !m_api
        || !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return false;
    const VNode &n = m_rows[size_t(index.row())];
    const QString name = value.toString();
    if (name == n.name)
        return false;
    if (name.isEmpty() || name.contains(QLatin1Char('/')) || name == QLatin1String(".") || name == QLatin1String("..")) {
        Q_EMIT operationFailed(tr("“%1” cannot be a name.").arg(name),
                               tr("A name must not be empty, “.” or “..”, and must not contain “/”."));
        return false;
    }
    const QString from = pathOf(n);
    VNode renamed = n;
    renamed.name = name;
    const QString to = pathOf(renamed);
    auto *watcher = new QFutureWatcher<Result<VNode>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, from, name] {
        watcher->deleteLater();
        if (watcher->future().resultCount() == 0 || !watcher->result())
            Q_EMIT operationFailed(tr("Could not rename “%1” to “%2”.").arg(from.section(QLatin1Char('/'), -1), name),
                                   watcher->future().resultCount() ? watcher->result().status().toString() : QString());
    });
    watcher->setFuture(m_api->move(m_collection, from, to));
    return true;
}

bool FolderModel::canFetchMore(const QModelIndex &parent) const
{
    // Not while rows are being inserted: a view (or the model tester)
    // asking during the insert would nest a second insert inside it.
    return !parent.isValid() && !m_inserting && m_revealed < int(m_rows.size());
}

void FolderModel::fetchMore(const QModelIndex &parent)
{
    if (!canFetchMore(parent))
        return;
    const int last = std::min<int>(m_revealed + kBatchRows, int(m_rows.size())) - 1;
    m_inserting = true;
    beginInsertRows({}, m_revealed, last);
    m_revealed = last + 1;
    endInsertRows();
    m_inserting = false;
}

QStringList FolderModel::mimeTypes() const
{
    return {QString::fromLatin1(kNodesMimeType), QStringLiteral("text/uri-list")};
}

QMimeData *FolderModel::mimeData(const QModelIndexList &indexes) const
{
    NodesPayload nodes{m_collection, m_at, {}};
    for (const QModelIndex &i : indexes)
        if (i.isValid() && i.column() == NameColumn)
            nodes.paths.append(pathOf(m_rows[size_t(i.row())]));
    if (nodes.paths.isEmpty())
        return nullptr;
    return mimeDataForNodes(nodes);
}

Qt::DropActions FolderModel::supportedDropActions() const
{
    return Qt::CopyAction | Qt::MoveAction;
}

Qt::DropActions FolderModel::supportedDragActions() const
{
    // Out of a snapshot only copies: nothing in it moves.
    return isReadOnly() ? Qt::CopyAction : Qt::CopyAction | Qt::MoveAction;
}

bool FolderModel::canDropMimeData(const QMimeData *data, Qt::DropAction action, int, int, const QModelIndex &parent) const
{
    if (isReadOnly() || m_state != State::Ready || (action != Qt::CopyAction && action != Qt::MoveAction))
        return false;
    if (parent.isValid() && m_rows[size_t(parent.row())].kind != tree::Kind::Directory)
        return false;
    return nodesIn(data).has_value() || !localFilesIn(data).isEmpty();
}

bool FolderModel::dropMimeData(const QMimeData *data, Qt::DropAction action, int row, int column, const QModelIndex &parent)
{
    if (!canDropMimeData(data, action, row, column, parent))
        return false;
    // On a folder's row: into it; between rows or on empty space: here.
    const QString into = parent.isValid() ? pathOf(m_rows[size_t(parent.row())]) : m_path;
    if (auto nodes = nodesIn(data)) {
        Q_EMIT nodesDropped(nodes->paths, nodes->collection, nodes->at, into, action == Qt::CopyAction);
        // The move is the window's to make (and the feed's to show): the
        // view must not remove the rows itself, so report a copy.
        return false;
    }
    Q_EMIT importRequested(localFilesIn(data), into);
    return false; // the import runs on; the rows come through the feed
}

void FolderModel::onChanged(const Ruid &collection, const std::vector<ChangeRecord> &records)
{
    // A snapshot's folder is frozen; another collection is not shown.
    if (collection != m_collection || !m_at.isEmpty() || m_state == State::Empty || m_state == State::Failed)
        return;
    m_queued.insert(m_queued.end(), records.begin(), records.end());
    if (m_state == State::Ready && !m_coalesce.isActive())
        m_coalesce.start();
}

void FolderModel::onResync(const Ruid &collection, const QString &)
{
    if ((collection.isNull() || collection == m_collection) && m_at.isEmpty() && !m_collection.isNull())
        reload();
}

void FolderModel::applyQueued()
{
    if (m_state != State::Ready)
        return;
    std::vector<ChangeRecord> records;
    records.swap(m_queued);
    const Ruid folderId = m_folder.id;
    // The net effect per node, in feed order: the last record of a node wins.
    std::vector<VNode> added;
    std::unordered_map<Ruid, size_t> addedAt;
    std::vector<int> removed;
    std::vector<int> updated;
    bool folderGone = false, folderMoved = false;
    for (const ChangeRecord &r : records) {
        if (r.generation <= m_generation || r.isSnapshot())
            continue; // already in the listing
        if (r.id == folderId) {
            if (!r.after || r.after->parent == tree::trashId())
                folderGone = true;
            else if (r.op == tree::ChangeOp::Move)
                folderMoved = true;
            continue;
        }
        const bool inAfter = r.after && r.after->parent == folderId;
        const int row = rowOf(r.id);
        const auto pending = addedAt.find(r.id);
        if (inAfter) {
            if (pending != addedAt.end())
                added[pending->second] = nodeOf(r, &added[pending->second]);
            else if (row >= 0) {
                m_rows[size_t(row)] = nodeOf(r, &m_rows[size_t(row)]);
                updated.push_back(row);
            } else {
                addedAt.emplace(r.id, added.size());
                added.push_back(nodeOf(r, nullptr));
            }
        } else if (pending != addedAt.end()) {
            added[pending->second].id = Ruid(); // came and went within the batch
            addedAt.erase(pending);
        } else if (row >= 0) {
            removed.push_back(row);
        }
    }
    if (folderGone) {
        Q_EMIT folderRemoved();
        return;
    }
    if (folderMoved)
        Q_EMIT this->folderMoved();
    for (int row : updated)
        if (row < m_revealed)
            Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
    removeRowSet(std::move(removed));
    std::erase_if(added, [](const VNode &n) { return n.id.isNull(); });
    insertRows(std::move(added));
    Q_ASSERT(checkInvariants());
    Q_EMIT changesApplied();
}

void FolderModel::insertRows(std::vector<VNode> rows)
{
    if (rows.empty())
        return;
    const int first = int(m_rows.size());
    const bool visible = m_revealed == first; // else they join the tail not yet revealed
    m_inserting = true;
    if (visible)
        beginInsertRows({}, first, first + int(rows.size()) - 1);
    for (VNode &n : rows)
        m_rows.push_back(std::move(n));
    reindex(first);
    if (visible) {
        m_revealed = int(m_rows.size());
        endInsertRows();
    }
    m_inserting = false;
}

void FolderModel::removeRowSet(std::vector<int> rows)
{
    if (rows.empty())
        return;
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    // From the last run of consecutive rows to the first: each removal
    // leaves the rows before it where they are.
    size_t end = rows.size();
    while (end > 0) {
        size_t begin = end - 1;
        while (begin > 0 && rows[begin - 1] == rows[begin] - 1)
            --begin;
        const int first = rows[begin], last = rows[end - 1];
        for (int r = first; r <= last; ++r)
            m_rowOf.erase(m_rows[size_t(r)].id);
        const int shownLast = std::min(last, m_revealed - 1);
        if (first <= shownLast)
            beginRemoveRows({}, first, shownLast);
        m_rows.erase(m_rows.begin() + first, m_rows.begin() + last + 1);
        if (first <= shownLast) {
            m_revealed -= shownLast - first + 1;
            endRemoveRows();
        }
        end = begin;
    }
    reindex(rows.front());
}

void FolderModel::reindex(int from)
{
    for (size_t i = size_t(from); i < m_rows.size(); ++i)
        m_rowOf[m_rows[i].id] = int(i);
}

void FolderModel::setState(State s)
{
    if (m_state == s && s != State::Loading)
        return;
    m_state = s;
    Q_EMIT stateChanged(s);
}

bool FolderModel::checkInvariants() const
{
    if (m_revealed < 0 || m_revealed > int(m_rows.size()) || m_rowOf.size() != m_rows.size())
        return false;
    for (size_t i = 0; i < m_rows.size(); ++i) {
        const auto it = m_rowOf.find(m_rows[i].id);
        if (it == m_rowOf.end() || it->second != int(i))
            return false;
    }
    return true;
}

} // namespace vd::widgets
