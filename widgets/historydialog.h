// HistoryDialog: the versions of one file (or folder) across the
// snapshots — now, then each snapshot where the path exists, newest first:
// its size, when it was modified, and whether it differs from the next
// newer version (size, modification time or version vector). Activating a
// row asks the window to show that snapshot at the entry's folder.
//
// It asks the node for the snapshots, then stats the path in each of them
// and in the live tree, all at once; the rows appear when every answer is
// in (isReady()). Non-modal; deletes itself when closed.
//
// Thread safety: the GUI thread only.
#pragma once

#include "client/driveapi.h"

#include <QDialog>
#include <QPointer>

#include <optional>
#include <vector>

class QLabel;
class QStandardItemModel;
class QTreeView;

namespace vd::widgets {

class HistoryDialog : public QDialog
{
    Q_OBJECT
public:
    enum Column { VersionColumn, TakenColumn, SizeColumn, ModifiedColumn, ChangeColumn, ColumnCount };
    static constexpr int SnapshotRole = Qt::UserRole + 1; // the row's snapshot name ("" for now)

    HistoryDialog(client::DriveApi *api, const Ruid &collection, const QString &path, QWidget *parent = nullptr);

    QString path() const { return m_path; }
    bool isReady() const { return m_ready; }
    QStandardItemModel *model() const { return m_model; }
    QTreeView *view() const { return m_view; }

Q_SIGNALS:
    void ready();
    // Show the folder holding the entry, in snapshot `at` (empty: now).
    void showRequested(const QString &path, const QString &at);

private:
    struct Version
    {
        QString snapshot; // empty: now
        int64_t takenMs = 0;
        std::optional<tree::VNode> node; // nullopt: not there
    };
    void statAll(std::vector<tree::SnapshotInfo> snapshots);
    void fill();
    void fail(const QString &why);

    QPointer<client::DriveApi> m_api;
    Ruid m_collection;
    QString m_path;
    std::vector<Version> m_versions; // newest first: now, then the snapshots
    int m_pending = 0;
    bool m_ready = false;
    QStandardItemModel *m_model = nullptr;
    QTreeView *m_view = nullptr;
    QLabel *m_status = nullptr;
};

} // namespace vd::widgets
