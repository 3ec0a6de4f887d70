// SearchModel: the matches of a search by name below a folder, as the node
// finds them (DriveApi::search) — nearest first, appended while the search
// runs, a new search (the next keystroke) cancelling the last one.
//
// The roles are FolderModel's (PathRole, IsFolderRole, SortRole, ...), so
// the window opens, drags and sorts a match as it does an entry.
//
// Thread safety: the GUI thread only.
#pragma once

#include "client/driveapi.h"

#include <QAbstractTableModel>
#include <QFutureWatcher>
#include <QPointer>
#include <QTimer>

namespace vd::widgets {

class SearchModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { NameColumn, FolderColumn, SizeColumn, ModifiedColumn, ColumnCount };

    explicit SearchModel(client::DriveApi *api, QObject *parent = nullptr);
    ~SearchModel() override;

    // Starts a search (cancelling one that runs); an empty pattern clears.
    void search(const Ruid &collection, const QString &under, const QString &pattern, const QString &at = {});
    void cancel();
    bool isRunning() const { return m_running; }
    QString pattern() const { return m_pattern; }
    // "Searching: 12 found, 3,400 looked at" and the like.
    QString statusText() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    QStringList mimeTypes() const override;
    QMimeData *mimeData(const QModelIndexList &indexes) const override;

Q_SIGNALS:
    // Matches arrived, or the search ended (tests and the status bar).
    void progressed();
    void finished();

private:
    void poll();

    QPointer<client::DriveApi> m_api;
    Ruid m_collection;
    QString m_at, m_pattern;
    std::shared_ptr<client::SearchState> m_state;
    QFutureWatcher<Result<client::SearchOutcome>> *m_watcher = nullptr;
    std::vector<client::SearchState::Found> m_rows;
    QTimer m_poll;
    bool m_running = false;
    QString m_end; // how it ended, for statusText()
};

} // namespace vd::widgets
