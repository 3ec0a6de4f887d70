#include "searchmodel.h"

#include "displaytext.h"
#include "dragdrop.h"
#include "foldermodel.h"
#include "nodeinfo.h"

#include <QLocale>

namespace vd::widgets {

SearchModel::SearchModel(client::DriveApi *api, QObject *parent) : QAbstractTableModel(parent), m_api(api)
{
    m_poll.setInterval(100);
    connect(&m_poll, &QTimer::timeout, this, &SearchModel::poll);
}

SearchModel::~SearchModel()
{
    cancel();
}

void SearchModel::cancel()
{
    if (m_state)
        m_state->cancel();
    if (m_watcher) {
        m_watcher->disconnect(this);
        m_watcher->deleteLater();
        m_watcher = nullptr;
    }
    m_poll.stop();
    m_running = false;
}

void SearchModel::search(const Ruid &collection, const QString &under, const QString &pattern, const QString &at)
{
    cancel();
    beginResetModel();
    m_rows.clear();
    m_collection = collection;
    m_at = at;
    m_pattern = pattern;
    m_end.clear();
    m_state.reset();
    endResetModel();
    if (!m_api || collection.isNull() || pattern.isEmpty())
        return;
    client::Search s = m_api->search(collection, under, pattern, at);
    m_state = s.state;
    m_running = true;
    m_watcher = new QFutureWatcher<Result<client::SearchOutcome>>(this);
    connect(m_watcher, &QFutureWatcherBase::finished, this, [this, watcher = m_watcher] {
        poll(); // the last matches
        m_poll.stop();
        m_running = false;
        const auto r = watcher->future().resultCount() ? watcher->result() : Result<client::SearchOutcome>(Status::cancelled(QString()));
        if (!r)
            m_end = r.status().code() == ErrorCode::Cancelled ? tr("Search stopped.") : tr("Search failed: %1").arg(r.status().message());
        else if (r->truncated)
            m_end = tr("Stopped at %1 matches: type more to narrow the search.").arg(QLocale().toString(qulonglong(r->matches)));
        watcher->deleteLater();
        m_watcher = nullptr;
        Q_EMIT finished();
    });
    m_watcher->setFuture(s.done);
    m_poll.start();
}

void SearchModel::poll()
{
    if (!m_state)
        return;
    std::vector<client::SearchState::Found> more = m_state->takeFrom(m_rows.size());
    if (!more.empty()) {
        beginInsertRows({}, int(m_rows.size()), int(m_rows.size() + more.size()) - 1);
        for (auto &f : more)
            m_rows.push_back(std::move(f));
        endInsertRows();
    }
    Q_EMIT progressed();
}

QString SearchModel::statusText() const
{
    const QString found = tr("%n match(es)", nullptr, int(m_rows.size()));
    const uint64_t visited = m_state ? m_state->visited() : 0;
    if (m_running)
        return tr("Searching for “%1”: %2, %3 looked at...").arg(m_pattern, found, QLocale().toString(qulonglong(visited)));
    if (!m_end.isEmpty())
        return found + QStringLiteral(". ") + m_end;
    return tr("%1 for “%2” (%3 looked at)").arg(found, m_pattern, QLocale().toString(qulonglong(visited)));
}

int SearchModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int SearchModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SearchModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const client::SearchState::Found &f = m_rows[size_t(index.row())];
    const tree::VNode &n = f.node;
    const QString folder = f.path.left(std::max<qsizetype>(1, f.path.lastIndexOf(QLatin1Char('/'))));
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NameColumn: return displayName(n.name);
        case FolderColumn: return displayName(folder);
        case SizeColumn: return sizeText(n);
        case ModifiedColumn: return timeText(n.modifiedMs);
        }
        break;
    case Qt::DecorationRole:
        if (index.column() == NameColumn)
            return iconFor(n);
        break;
    case Qt::ToolTipRole: return richTextOf(f.path);
    case Qt::EditRole:
    case Qt::AccessibleTextRole:
        if (index.column() == NameColumn)
            return n.name;
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == SizeColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case FolderModel::SortRole:
        switch (index.column()) {
        case NameColumn: return n.name;
        case FolderColumn: return folder;
        case SizeColumn: return qulonglong(n.size);
        case ModifiedColumn: return qlonglong(n.modifiedMs);
        }
        break;
    case FolderModel::IdRole: return n.id.toString();
    case FolderModel::PathRole: return f.path;
    case FolderModel::KindRole: return int(n.kind);
    case FolderModel::IsFolderRole: return n.isContainer();
    }
    return {};
}

QVariant SearchModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case NameColumn: return tr("Name");
    case FolderColumn: return tr("In folder");
    case SizeColumn: return tr("Size");
    case ModifiedColumn: return tr("Modified");
    }
    return {};
}

Qt::ItemFlags SearchModel::flags(const QModelIndex &index) const
{
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    return index.isValid() ? f | Qt::ItemIsDragEnabled : f;
}

QStringList SearchModel::mimeTypes() const
{
    return {QString::fromLatin1(kNodesMimeType)};
}

QMimeData *SearchModel::mimeData(const QModelIndexList &indexes) const
{
    NodesPayload nodes{m_collection, m_at, {}};
    for (const QModelIndex &i : indexes)
        if (i.isValid() && i.column() == NameColumn)
            nodes.paths.append(m_rows[size_t(i.row())].path);
    return nodes.paths.isEmpty() ? nullptr : mimeDataForNodes(nodes);
}

} // namespace vd::widgets
