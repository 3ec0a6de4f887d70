#include "trashmodel.h"

#include "displaytext.h"
#include "nodeinfo.h"
#include "whenready.h"

#include <algorithm>

namespace vd::widgets {

namespace {

QString nameOf(const QString &path)
{
    return path.section(QLatin1Char('/'), -1);
}

QString folderOf(const QString &path)
{
    const qsizetype slash = path.lastIndexOf(QLatin1Char('/'));
    return slash <= 0 ? QStringLiteral("/") : path.left(slash);
}

tree::VNode asNode(const tree::TrashEntry &e)
{
    tree::VNode n;
    n.id = e.id;
    n.kind = e.kind;
    n.name = nameOf(e.originalPath);
    n.size = e.size;
    return n;
}

} // namespace

TrashModel::TrashModel(client::DriveApi *api, QObject *parent) : QAbstractTableModel(parent), m_api(api)
{
    m_coalesce.setSingleShot(true);
    m_coalesce.setInterval(kCoalesceMs);
    connect(&m_coalesce, &QTimer::timeout, this, &TrashModel::reload);
    if (m_api) {
        connect(m_api, &client::DriveApi::changed, this, &TrashModel::onChanged);
        connect(m_api, &client::DriveApi::resyncNeeded, this, [this](const Ruid &collection) {
            if (collection == m_collection || collection.isNull())
                m_coalesce.start();
        });
    }
}

void TrashModel::setCollection(const Ruid &collection)
{
    beginResetModel();
    m_collection = collection;
    m_rows.clear();
    m_listed = false;
    m_error.clear();
    ++m_epoch;
    endResetModel();
    reload();
}

void TrashModel::reload()
{
    m_coalesce.stop();
    if (!m_api || m_collection.isNull())
        return;
    const uint64_t epoch = ++m_epoch;
    whenReady(this, m_api->trash(m_collection), [this, epoch](const Result<std::vector<tree::TrashEntry>> &entries) {
        if (epoch != m_epoch)
            return; // a newer listing is on its way
        if (!entries)
            m_error = entries.status().message();
        else {
            m_error.clear();
            apply(*entries);
        }
        m_listed = true;
        Q_EMIT listed();
    });
}

void TrashModel::apply(std::vector<tree::TrashEntry> entries)
{
    // Gone ones out, from the last row up.
    for (int r = int(m_rows.size()) - 1; r >= 0; --r) {
        const Ruid &id = m_rows[size_t(r)].id;
        if (std::none_of(entries.begin(), entries.end(), [&](const tree::TrashEntry &e) { return e.id == id; })) {
            beginRemoveRows({}, r, r);
            m_rows.erase(m_rows.begin() + r);
            endRemoveRows();
        }
    }
    // Staying ones updated in place, new ones appended.
    std::vector<tree::TrashEntry> added;
    for (tree::TrashEntry &e : entries) {
        const int r = rowOf(e.id);
        if (r < 0) {
            added.push_back(std::move(e));
            continue;
        }
        tree::TrashEntry &row = m_rows[size_t(r)];
        if (row.originalPath != e.originalPath || row.deletedMs != e.deletedMs || row.kind != e.kind || row.size != e.size) {
            row = std::move(e);
            Q_EMIT dataChanged(index(r, 0), index(r, ColumnCount - 1));
        }
    }
    if (!added.empty()) {
        const int first = int(m_rows.size());
        beginInsertRows({}, first, first + int(added.size()) - 1);
        for (tree::TrashEntry &e : added)
            m_rows.push_back(std::move(e));
        endInsertRows();
    }
    Q_ASSERT(checkInvariants());
}

void TrashModel::onChanged(const Ruid &collection, const std::vector<tree::ChangeRecord> &records)
{
    if (collection != m_collection)
        return;
    // Into the trash (after: in it) or out of it (before: in it).
    const Ruid trash = tree::trashId();
    const bool touched = std::any_of(records.begin(), records.end(), [&trash](const tree::ChangeRecord &r) {
        return !r.isSnapshot() && ((r.after && r.after->parent == trash) || (r.before && r.before->parent == trash));
    });
    if (touched && !m_coalesce.isActive())
        m_coalesce.start();
}

int TrashModel::rowOf(const Ruid &id) const
{
    for (size_t i = 0; i < m_rows.size(); ++i)
        if (m_rows[i].id == id)
            return int(i);
    return -1;
}

int TrashModel::rowOfPath(const QString &originalPath) const
{
    int best = -1;
    for (size_t i = 0; i < m_rows.size(); ++i)
        if (m_rows[i].originalPath == originalPath && (best < 0 || m_rows[i].deletedMs >= m_rows[size_t(best)].deletedMs))
            best = int(i);
    return best;
}

int TrashModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int TrashModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TrashModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const tree::TrashEntry &e = m_rows[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NameColumn:
            return displayName(nameOf(e.originalPath));
        case FromColumn:
            return displayName(folderOf(e.originalPath));
        case DeletedColumn:
            return timeText(e.deletedMs);
        case SizeColumn:
            return sizeText(asNode(e));
        }
        break;
    case Qt::EditRole:
        if (index.column() == NameColumn)
            return nameOf(e.originalPath);
        break;
    case Qt::DecorationRole:
        if (index.column() == NameColumn)
            return iconFor(asNode(e));
        break;
    case Qt::ToolTipRole:
        if (index.column() == NameColumn || index.column() == FromColumn)
            return richTextOfLines({e.originalPath, tr("Deleted %1").arg(timeText(e.deletedMs))});
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == SizeColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Qt::AccessibleTextRole:
        if (index.column() == NameColumn)
            return nameOf(e.originalPath);
        if (index.column() == FromColumn)
            return folderOf(e.originalPath);
        break;
    case SortRole:
        switch (index.column()) {
        case NameColumn:
            return nameOf(e.originalPath).toLower();
        case FromColumn:
            return e.originalPath;
        case DeletedColumn:
            return qlonglong(e.deletedMs);
        case SizeColumn:
            return qulonglong(e.size);
        }
        break;
    case IdRole:
        return e.id.toString();
    case OriginalPathRole:
        return e.originalPath;
    case KindRole:
        return int(e.kind);
    }
    return {};
}

QVariant TrashModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case NameColumn:
        return tr("Name");
    case FromColumn:
        return tr("Was in");
    case DeletedColumn:
        return tr("Deleted");
    case SizeColumn:
        return tr("Size");
    }
    return {};
}

bool TrashModel::checkInvariants() const
{
    for (size_t i = 0; i < m_rows.size(); ++i)
        for (size_t j = i + 1; j < m_rows.size(); ++j)
            if (m_rows[i].id == m_rows[j].id)
                return false;
    return true;
}

} // namespace vd::widgets
