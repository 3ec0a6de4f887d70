// TrashModel: what is in one collection's trash — each trashed node's
// name, the folder it was in, when it was deleted and its size — for the
// window's trash panel, where it is restored or deleted for good.
//
// Lifetime: one model for the window's life; setCollection() points it at
// another collection (a reset). Rows are copies of the engine's
// TrashEntry, keyed by id, in the engine's order until a view sorts them
// (SortRole).
//
// Live: a change record that moves a node into or out of the trash (a
// delete from this window or a `vdrive rm` in a terminal, a restore, an
// emptied trash) lists it again, coalesced on a short timer; rows that
// stay keep their place (a selection survives), gone ones are removed,
// new ones appended — never a reset. Answers to an older request are
// dropped.
//
// Thread safety: the GUI thread only.
#pragma once

#include "client/driveapi.h"

#include <QAbstractTableModel>
#include <QPointer>
#include <QTimer>

#include <vector>

namespace vd::widgets {

class TrashModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { NameColumn, FromColumn, DeletedColumn, SizeColumn, ColumnCount };
    enum Role {
        SortRole = Qt::UserRole + 1, // the raw value of a column
        IdRole,                      // the trashed node's id (QString of the RUID)
        OriginalPathRole,            // where it was (plain)
        KindRole,                    // int(tree::Kind)
    };
    static constexpr int kCoalesceMs = 100;

    explicit TrashModel(client::DriveApi *api, QObject *parent = nullptr);

    void setCollection(const Ruid &collection);
    Ruid collection() const { return m_collection; }
    void reload();
    bool isListed() const { return m_listed; }
    const tree::TrashEntry &entry(int row) const { return m_rows[size_t(row)]; }
    int rowOf(const Ruid &id) const;
    int rowOfPath(const QString &originalPath) const; // the newest entry that was at this path
    QString errorText() const { return m_error; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    bool checkInvariants() const;

Q_SIGNALS:
    // A listing has been applied (tests and the window wait on it).
    void listed();

private:
    void apply(std::vector<tree::TrashEntry> entries);
    void onChanged(const Ruid &collection, const std::vector<tree::ChangeRecord> &records);

    QPointer<client::DriveApi> m_api;
    Ruid m_collection;
    std::vector<tree::TrashEntry> m_rows;
    bool m_listed = false;
    QString m_error;
    uint64_t m_epoch = 0;
    QTimer m_coalesce;
};

} // namespace vd::widgets
