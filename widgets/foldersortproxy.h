// FolderSortProxy: the contents view's order — folders (and JSON
// containers) first whichever way a column sorts, names compared as people
// read them ("file2" before "file10", case-insensitively), other columns by
// their raw values (FolderModel::SortRole) with the name breaking ties.
//
// Thread safety: the GUI thread only.
#pragma once

#include <QCollator>
#include <QSortFilterProxyModel>

namespace vd::widgets {

class FolderSortProxy : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    explicit FolderSortProxy(QObject *parent = nullptr);

protected:
    bool lessThan(const QModelIndex &left, const QModelIndex &right) const override;

private:
    QCollator m_collator;
};

} // namespace vd::widgets
