// DiffModel: what changed between a snapshot and another one (or the live
// tree), one row per DiffEntry, for the comparison dialog.
//
// Each kind of change has a colour (green added, red removed, amber
// modified, blue moved: ForegroundRole for the word, a light tint of it as
// BackgroundRole for the row) and always its word too — colour is never
// the only sign.
//
// Lifetime: setComparison() asks the node (DriveApi::diff) and replaces
// the rows when the answer comes (a reset); an answer to an earlier
// comparison is dropped. A comparison is a fixed picture: it does not
// follow later changes (compare again for a new one).
//
// Thread safety: the GUI thread only.
#pragma once

#include "client/driveapi.h"

#include <QAbstractTableModel>
#include <QColor>
#include <QPointer>

#include <array>
#include <vector>

namespace vd::widgets {

class DiffModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { ChangeColumn, PathColumn, OldPathColumn, KindColumn, ColumnCount };
    enum Role {
        ChangeRole = Qt::UserRole + 1, // int(tree::DiffEntry::Change)
        PathRole, // the entry's path (plain)
        OldPathRole, // moved: where it was
    };
    enum class State { Empty, Loading, Ready, Failed };

    explicit DiffModel(client::DriveApi *api, QObject *parent = nullptr);

    // from, to: snapshot names; an empty `to` is the live tree.
    void setComparison(const Ruid &collection, const QString &from, const QString &to = {});
    Ruid collection() const { return m_collection; }
    QString from() const { return m_from; }
    QString to() const { return m_to; }
    State state() const { return m_state; }
    QString errorText() const { return m_error; }
    const tree::DiffEntry &entry(int row) const { return m_rows[size_t(row)]; }
    // How many rows of each change (indexed by int(Change)).
    std::array<int, 4> counts() const;

    // The word and the colour of a change ("added", green, ...).
    static QString changeText(tree::DiffEntry::Change change);
    static QColor changeColor(tree::DiffEntry::Change change);
    static QColor changeTint(tree::DiffEntry::Change change);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

Q_SIGNALS:
    void stateChanged(vd::widgets::DiffModel::State state);

private:
    void setState(State s);

    QPointer<client::DriveApi> m_api;
    Ruid m_collection;
    QString m_from, m_to;
    State m_state = State::Empty;
    QString m_error;
    std::vector<tree::DiffEntry> m_rows; // in the engine's order (by path)
    uint64_t m_epoch = 0;
};

} // namespace vd::widgets
