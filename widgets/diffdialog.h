// DiffDialog: a comparison of a snapshot with now (or with another
// snapshot) — a table of what was added, removed, modified and moved, a
// filter by kind of change, and a line that counts them. Non-modal: the
// window stays usable beside it; double-clicking an entry asks the window
// to show it (showRequested).
//
// Lifetime: deletes itself when closed (Qt::WA_DeleteOnClose).
// Thread safety: the GUI thread only.
#pragma once

#include "client/driveapi.h"

#include <QDialog>

class QComboBox;
class QLabel;
class QSortFilterProxyModel;
class QTreeView;

namespace vd::widgets {

class DiffModel;

class DiffDialog : public QDialog
{
    Q_OBJECT
public:
    // from, to: snapshot names; an empty `to` is now (the live tree).
    DiffDialog(client::DriveApi *api, const Ruid &collection, const QString &from, const QString &to, QWidget *parent = nullptr);

    DiffModel *model() const { return m_model; }
    QTreeView *view() const { return m_view; }
    QComboBox *filter() const { return m_filter; }
    QLabel *countLabel() const { return m_count; }

Q_SIGNALS:
    // Show path in the window: in snapshot `at` (empty: now) — where the
    // entry is on the side it exists on.
    void showRequested(const QString &path, const QString &at);

private:
    void updateCount();
    void activate(const QModelIndex &proxyIndex);

    DiffModel *m_model = nullptr;
    QSortFilterProxyModel *m_proxy = nullptr;
    QTreeView *m_view = nullptr;
    QComboBox *m_filter = nullptr;
    QLabel *m_count = nullptr;
};

} // namespace vd::widgets
