#include "diffmodel.h"

#include "displaytext.h"
#include "nodeinfo.h"

#include <QFutureWatcher>

namespace vd::widgets {

using Change = tree::DiffEntry::Change;

DiffModel::DiffModel(client::DriveApi *api, QObject *parent)
    : QAbstractTableModel(parent)
    , m_api(api)
{ }

void DiffModel::setComparison(const Ruid &collection, const QString &from, const QString &to)
{
    beginResetModel();
    ++m_epoch;
    m_collection = collection;
    m_from = from;
    m_to = to;
    m_rows.clear();
    m_error.clear();
    endResetModel();
    if (!m_api || collection.isNull()) {
        setState(State::Empty);
        return;
    }
    setState(State::Loading);
    using Entries = std::vector<tree::DiffEntry>;
    auto *watcher = new QFutureWatcher<Result<Entries>>(this);
    const uint64_t epoch = m_epoch;
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, epoch] {
        watcher->deleteLater();
        if (epoch != m_epoch)
            return;
        if (watcher->future().resultCount() == 0 || !watcher->result()) {
            m_error = watcher->future().resultCount() ? watcher->result().status().message() : tr("The comparison was cancelled.");
            setState(State::Failed);
            return;
        }
        Entries entries = watcher->result().value();
        if (!entries.empty()) {
            beginInsertRows({}, 0, int(entries.size()) - 1);
            m_rows = std::move(entries);
            endInsertRows();
        }
        setState(State::Ready);
    });
    watcher->setFuture(m_api->diff(collection, from, to));
}

std::array<int, 4> DiffModel::counts() const
{
    std::array<int, 4> out {};
    for (const tree::DiffEntry &e : m_rows)
        ++out[size_t(e.change)];
    return out;
}

QString DiffModel::changeText(Change change)
{
    switch (change) {
    case Change::Added:
        return tr("added");
    case Change::Removed:
        return tr("removed");
    case Change::Modified:
        return tr("modified");
    case Change::Moved:
        return tr("moved");
    }
    return {};
}

QColor DiffModel::changeColor(Change change)
{
    // Dark enough to read on a white row and on its own tint.
    switch (change) {
    case Change::Added:
        return QColor(0x1e, 0x7b, 0x34); // green
    case Change::Removed:
        return QColor(0xb3, 0x26, 0x1e); // red
    case Change::Modified:
        return QColor(0x9a, 0x5b, 0x00); // amber
    case Change::Moved:
        return QColor(0x1f, 0x5f, 0xbf); // blue
    }
    return {};
}

QColor DiffModel::changeTint(Change change)
{
    switch (change) {
    case Change::Added:
        return QColor(0xe6, 0xf4, 0xea);
    case Change::Removed:
        return QColor(0xfc, 0xe8, 0xe6);
    case Change::Modified:
        return QColor(0xfe, 0xf3, 0xe0);
    case Change::Moved:
        return QColor(0xe8, 0xf0, 0xfe);
    }
    return {};
}

int DiffModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int DiffModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant DiffModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const tree::DiffEntry &e = m_rows[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case ChangeColumn:
            return changeText(e.change);
        case PathColumn:
            return displayName(e.path);
        case OldPathColumn:
            return e.change == Change::Moved ? displayName(e.oldPath) : QString();
        case KindColumn: {
            tree::VNode n;
            n.kind = e.kind;
            n.name = e.path.section(QLatin1Char('/'), -1); // a file's kind comes from its name
            return kindText(n);
        }
        }
        break;
    case Qt::ForegroundRole:
        if (index.column() == ChangeColumn)
            return changeColor(e.change);
        break;
    case Qt::BackgroundRole:
        return changeTint(e.change);
    case Qt::ToolTipRole:
        if (index.column() == PathColumn)
            return richTextOf(e.path);
        if (index.column() == OldPathColumn && e.change == Change::Moved)
            return richTextOf(e.oldPath);
        break;
    case Qt::AccessibleTextRole:
        if (index.column() == PathColumn)
            return tr("%1: %2").arg(changeText(e.change), e.path);
        break;
    case ChangeRole:
        return int(e.change);
    case PathRole:
        return e.path;
    case OldPathRole:
        return e.oldPath;
    }
    return {};
}

QVariant DiffModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case ChangeColumn:
        return tr("Change");
    case PathColumn:
        return tr("Path");
    case OldPathColumn:
        return tr("Moved from");
    case KindColumn:
        return tr("Kind");
    }
    return {};
}

void DiffModel::setState(State s)
{
    if (m_state == s && s != State::Loading)
        return;
    m_state = s;
    Q_EMIT stateChanged(s);
}

} // namespace vd::widgets
