// SnapshotModel: the snapshots of one collection, for the snapshot panel —
// name, when it was taken, and what deleting it would free.
//
// Lifetime: one model for the window's life; setCollection() points it at
// another collection (a reset). Rows are copies of the engine's
// SnapshotInfo, in the engine's order (oldest first), keyed by name.
//
// Two answers per listing: the names and times first (a plain read), then
// what each snapshot alone keeps (DriveApi::snapshots with uniqueBytes: a
// walk of every tree on the writer, much slower), which fills the "Frees"
// column in when it arrives. Until then the column says it is counting.
//
// Live: a change record of a snapshot taken or deleted (by this window or
// anyone else) lists again, coalesced on a short timer; rows that stay keep
// their place (a selection survives), gone ones are removed, new ones
// appended. Answers to an older request are dropped.
//
// Thread safety: the GUI thread only.
#pragma once

#include "client/driveapi.h"

#include <QAbstractTableModel>
#include <QPointer>
#include <QTimer>

#include <vector>

namespace vd::widgets {

class SnapshotModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { NameColumn, TakenColumn, FreesColumn, ColumnCount };
    enum Role {
        SortRole = Qt::UserRole + 1, // the raw value of a column
        NameRole, // the snapshot's name (plain)
        CreatedRole, // qint64 ms since the epoch
    };
    static constexpr int kCoalesceMs = 100;

    explicit SnapshotModel(client::DriveApi *api, QObject *parent = nullptr);

    void setCollection(const Ruid &collection);
    Ruid collection() const { return m_collection; }
    void reload();
    bool isListed() const { return m_listed; }
    // Every row's uniqueBytes is known (the second answer came).
    bool hasUniqueBytes() const { return m_haveUnique; }
    const tree::SnapshotInfo &snapshot(int row) const { return m_rows[size_t(row)]; }
    int rowOf(const QString &name) const;
    QString errorText() const { return m_error; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    bool checkInvariants() const;

Q_SIGNALS:
    // The names and times arrived (or failed: errorText()).
    void listed();
    // The "Frees" column is filled in.
    void uniqueBytesFilled();

private:
    void request(bool withUniqueBytes);
    void apply(std::vector<tree::SnapshotInfo> infos, bool withUniqueBytes);
    void onChanged(const vd::Ruid &collection, const std::vector<vd::tree::ChangeRecord> &records);

    QPointer<client::DriveApi> m_api;
    Ruid m_collection;
    std::vector<tree::SnapshotInfo> m_rows;
    bool m_listed = false;
    bool m_haveUnique = false;
    QString m_error;
    uint64_t m_epoch = 0; // bumped by every listing: older answers are dropped
    QTimer m_coalesce;
};

} // namespace vd::widgets
