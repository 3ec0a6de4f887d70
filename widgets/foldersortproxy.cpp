#include "foldersortproxy.h"

#include "foldermodel.h"

namespace vd::widgets {

FolderSortProxy::FolderSortProxy(QObject *parent) : QSortFilterProxyModel(parent)
{
    m_collator.setNumericMode(true);
    m_collator.setCaseSensitivity(Qt::CaseInsensitive);
    setSortRole(FolderModel::SortRole);
    setDynamicSortFilter(true);
}

bool FolderSortProxy::lessThan(const QModelIndex &left, const QModelIndex &right) const
{
    const bool leftFolder = left.data(FolderModel::IsFolderRole).toBool();
    const bool rightFolder = right.data(FolderModel::IsFolderRole).toBool();
    if (leftFolder != rightFolder) // folders first, also when sorting down
        return sortOrder() == Qt::AscendingOrder ? leftFolder : rightFolder;
    const QVariant l = left.data(FolderModel::SortRole);
    const QVariant r = right.data(FolderModel::SortRole);
    if (left.column() != FolderModel::NameColumn && l != r) {
        if (l.typeId() == QMetaType::QString)
            return m_collator.compare(l.toString(), r.toString()) < 0;
        return QVariant::compare(l, r) == QPartialOrdering::Less;
    }
    const QString ln = left.siblingAtColumn(FolderModel::NameColumn).data(FolderModel::SortRole).toString();
    const QString rn = right.siblingAtColumn(FolderModel::NameColumn).data(FolderModel::SortRole).toString();
    const int c = m_collator.compare(ln, rn);
    return c != 0 ? c < 0 : ln < rn;
}

} // namespace vd::widgets
