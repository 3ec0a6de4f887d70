#include "snapshotmodel.h"

#include "displaytext.h"
#include "nodeinfo.h"

#include <QFutureWatcher>

#include <algorithm>

namespace vd::widgets {

SnapshotModel::SnapshotModel(client::DriveApi *api, QObject *parent)
    : QAbstractTableModel(parent)
    , m_api(api)
{
    m_coalesce.setSingleShot(true);
    m_coalesce.setInterval(kCoalesceMs);
    connect(&m_coalesce, &QTimer::timeout, this, &SnapshotModel::reload);
    if (m_api) {
        connect(m_api, &client::DriveApi::changed, this, &SnapshotModel::onChanged);
        connect(m_api, &client::DriveApi::resyncNeeded, this, [this](const Ruid &collection) {
            if (collection == m_collection)
                m_coalesce.start();
        });
    }
}

void SnapshotModel::setCollection(const Ruid &collection)
{
    beginResetModel();
    m_collection = collection;
    m_rows.clear();
    m_listed = false;
    m_haveUnique = false;
    m_error.clear();
    ++m_epoch;
    endResetModel();
    reload();
}

void SnapshotModel::reload()
{
    m_coalesce.stop();
    if (!m_api || m_collection.isNull())
        return;
    ++m_epoch;
    request(false);
}

void SnapshotModel::request(bool withUniqueBytes)
{
    using Infos = std::vector<tree::SnapshotInfo>;
    auto *watcher = new QFutureWatcher<Result<Infos>>(this);
    const uint64_t epoch = m_epoch;
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, epoch, withUniqueBytes] {
        watcher->deleteLater();
        if (epoch != m_epoch)
            return; // a newer listing is on its way
        if (watcher->future().resultCount() == 0 || !watcher->result()) {
            m_error = watcher->future().resultCount() ? watcher->result().status().message() : tr("The listing was cancelled.");
            if (!withUniqueBytes) {
                m_listed = true;
                Q_EMIT listed();
            }
            return;
        }
        m_error.clear();
        apply(watcher->result().value(), withUniqueBytes);
        if (!withUniqueBytes) {
            m_listed = true;
            Q_EMIT listed();
            request(true); // the slow count, same epoch
        } else {
            Q_EMIT uniqueBytesFilled();
        }
    });
    watcher->setFuture(m_api->snapshots(m_collection, withUniqueBytes));
}

void SnapshotModel::apply(std::vector<tree::SnapshotInfo> infos, bool withUniqueBytes)
{
    // Gone ones out, from the last row up.
    for (int r = int(m_rows.size()) - 1; r >= 0; --r) {
        const QString &name = m_rows[size_t(r)].name;
        if (std::none_of(infos.begin(), infos.end(), [&](const tree::SnapshotInfo &i) { return i.name == name; })) {
            beginRemoveRows({}, r, r);
            m_rows.erase(m_rows.begin() + r);
            endRemoveRows();
        }
    }
    // Staying ones updated in place, new ones appended.
    std::vector<tree::SnapshotInfo> added;
    for (tree::SnapshotInfo &info : infos) {
        const int r = rowOf(info.name);
        if (r < 0) {
            added.push_back(std::move(info));
            continue;
        }
        m_rows[size_t(r)] = std::move(info);
        Q_EMIT dataChanged(index(r, 0), index(r, ColumnCount - 1));
    }
    if (!added.empty()) {
        const int first = int(m_rows.size());
        beginInsertRows({}, first, first + int(added.size()) - 1);
        for (tree::SnapshotInfo &info : added)
            m_rows.push_back(std::move(info));
        endInsertRows();
    }
    m_haveUnique = withUniqueBytes;
    Q_ASSERT(checkInvariants());
}

void SnapshotModel::onChanged(const Ruid &collection, const std::vector<tree::ChangeRecord> &records)
{
    if (collection != m_collection)
        return;
    if (std::any_of(records.begin(), records.end(), [](const tree::ChangeRecord &r) { return r.isSnapshot(); }) && !m_coalesce.isActive())
        m_coalesce.start();
}

int SnapshotModel::rowOf(const QString &name) const
{
    for (size_t i = 0; i < m_rows.size(); ++i)
        if (m_rows[i].name == name)
            return int(i);
    return -1;
}

int SnapshotModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int SnapshotModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SnapshotModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const tree::SnapshotInfo &s = m_rows[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NameColumn:
            return displayName(s.name);
        case TakenColumn:
            return timeText(s.createdMs);
        case FreesColumn:
            return s.uniqueBytes && m_haveUnique ? formatBytes(*s.uniqueBytes) : tr("counting…");
        }
        break;
    case Qt::ToolTipRole:
        switch (index.column()) {
        case NameColumn:
            return richTextOf(tr("%1\n%n item(s), %2 in files", nullptr, int(s.vnodes)).arg(s.name, formatBytes(s.fileBytes)));
        case FreesColumn:
            return richTextOf(tr("What deleting this snapshot would free (after the next garbage collection)"));
        }
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == FreesColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Qt::AccessibleTextRole:
        if (index.column() == NameColumn)
            return s.name;
        break;
    case SortRole:
        switch (index.column()) {
        case NameColumn:
            return s.name;
        case TakenColumn:
            return qlonglong(s.createdMs);
        case FreesColumn:
            return s.uniqueBytes ? qulonglong(*s.uniqueBytes) : QVariant();
        }
        break;
    case NameRole:
        return s.name;
    case CreatedRole:
        return qlonglong(s.createdMs);
    }
    return {};
}

QVariant SnapshotModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case NameColumn:
        return tr("Name");
    case TakenColumn:
        return tr("Taken");
    case FreesColumn:
        return tr("Frees");
    }
    return {};
}

bool SnapshotModel::checkInvariants() const
{
    for (size_t i = 0; i < m_rows.size(); ++i)
        for (size_t j = i + 1; j < m_rows.size(); ++j)
            if (m_rows[i].name == m_rows[j].name)
                return false;
    return !m_haveUnique
        || std::all_of(m_rows.begin(), m_rows.end(), [](const tree::SnapshotInfo &s) { return s.uniqueBytes.has_value(); });
}

} // namespace vd::widgets
