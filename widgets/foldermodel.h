// FolderModel: the entries of one folder of a collection (or of a JSON
// container, or of a folder in a snapshot), for the contents view.
//
// Lifetime: one model for the window's life; setLocation() points it at
// another folder (a reset). Its rows are its own copies of the entries
// (never engine pointers), keyed by the VNode's id.
//
// Loading is asynchronous and lazy: setLocation() asks the node for the
// listing (DriveApi::list); its index (id → row) is built off the GUI
// thread, on the global thread pool, so taking even 100,000 entries is a
// swap on the GUI thread. Rows are then revealed kBatchRows at a time as
// the view asks for more (canFetchMore/fetchMore), so a 100,000-entry
// folder never blocks the GUI thread in one long insert. The rows of the
// folder left are freed on the pool too.
//
// Live: the model follows the node's change records (DriveApi::changed)
// for its collection — whoever made the change, this window, a `vdrive`
// command in a terminal, later a peer. Records are queued and applied
// together on a short timer (kCoalesceMs): one insert for the entries a
// commit added, one removal per run of rows, no listing again. Records of
// the listing's own generation or older are already in it and are skipped,
// so nothing is lost or applied twice between the listing and the feed.
// A snapshot's folder never changes and is not followed. When the feed
// cannot be followed (resyncNeeded), the folder is listed again.
//
// Thread safety: the GUI thread only.
#pragma once

#include "client/driveapi.h"

#include <QAbstractTableModel>
#include <QFutureWatcher>
#include <QHash>
#include <unordered_map>
#include <QPointer>
#include <QTimer>

#include <vector>

namespace vd::widgets {

class FolderModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { NameColumn, SizeColumn, KindColumn, ModifiedColumn, ColumnCount };
    enum Role {
        SortRole = Qt::UserRole + 1, // the raw value a column sorts by
        IdRole,                      // the VNode's id (QString of the RUID)
        PathRole,                    // its path in the drive
        KindRole,                    // int(tree::Kind)
        IsFolderRole,                // a folder or JSON container: it opens
    };
    enum class State { Empty, Loading, Ready, Failed };

    static constexpr int kBatchRows = 2000;
    static constexpr int kCoalesceMs = 50;

    explicit FolderModel(client::DriveApi *api, QObject *parent = nullptr);
    ~FolderModel() override;

    // Lists path of collection (at: a snapshot, read-only) and follows it.
    void setLocation(const Ruid &collection, const QString &path, const QString &at = {});
    void reload();
    Ruid collection() const { return m_collection; }
    QString path() const { return m_path; }
    QString snapshot() const { return m_at; }
    bool isReadOnly() const { return !m_at.isEmpty(); }
    State state() const { return m_state; }
    QString errorText() const { return m_error; } // why the listing failed
    // The folder itself (valid once Ready).
    const tree::VNode &folder() const { return m_folder; }
    // Every entry, revealed or not yet.
    int entryCount() const { return int(m_rows.size()); }

    const tree::VNode &node(int row) const { return m_rows[size_t(row)]; }
    int rowOf(const Ruid &id) const;
    QString pathOf(const tree::VNode &n) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    // Renaming in place (EditRole of the name): asks the node to move the
    // entry; the row changes when the change comes back through the feed.
    bool setData(const QModelIndex &index, const QVariant &value, int role = Qt::EditRole) override;
    bool canFetchMore(const QModelIndex &parent) const override;
    void fetchMore(const QModelIndex &parent) override;

    // Drag and drop (dragdrop.h): rows drag out as nodes; a drop of local
    // files asks for an import, a drop of nodes for a move or copy — into
    // the folder dropped on, else this one. The window does the asking.
    QStringList mimeTypes() const override;
    QMimeData *mimeData(const QModelIndexList &indexes) const override;
    Qt::DropActions supportedDropActions() const override;
    Qt::DropActions supportedDragActions() const override;
    bool canDropMimeData(const QMimeData *data, Qt::DropAction action, int row, int column, const QModelIndex &parent) const override;
    bool dropMimeData(const QMimeData *data, Qt::DropAction action, int row, int column, const QModelIndex &parent) override;

    // Consistency of the rows and the id index (tests call it after every change).
    bool checkInvariants() const;

Q_SIGNALS:
    void stateChanged(vd::widgets::FolderModel::State state);
    // The folder shown was moved or renamed (path() is stale: ask the node
    // for the path of folder().id), or it is gone (to the trash or for good).
    void folderMoved();
    void folderRemoved();
    // Records applied (tests wait on it).
    void changesApplied();
    // A drop: local files to import into the folder `into`, or nodes of the
    // drive (collection, snapshot, paths) to move there — or copy.
    void importRequested(const QStringList &localPaths, const QString &into);
    void nodesDropped(const QStringList &paths, const vd::Ruid &collection, const QString &at, const QString &into, bool copy);
    // A change asked through the model (a rename) failed: a short
    // sentence, and the engine's words.
    void operationFailed(const QString &summary, const QString &detail);

private:
    // A listing made ready for the model off the GUI thread.
    struct Prepared
    {
        client::FolderListing listing;
        std::unordered_map<Ruid, int> rowOf;
    };

    void onListed();
    void onPrepared();
    void onChanged(const vd::Ruid &collection, const std::vector<vd::tree::ChangeRecord> &records);
    void onResync(const vd::Ruid &collection, const QString &why);
    void applyQueued();
    void setState(State s);
    void insertRows(std::vector<tree::VNode> rows);
    void removeRowSet(std::vector<int> rows);
    void reindex(int from);

    QPointer<client::DriveApi> m_api;
    Ruid m_collection;
    QString m_path, m_at;
    State m_state = State::Empty;
    QString m_error;
    tree::VNode m_folder;
    uint64_t m_generation = 0; // the listing's: records up to it are in it
    std::vector<tree::VNode> m_rows; // [0, m_revealed) are rows of the model
    int m_revealed = 0;
    bool m_inserting = false; // inside begin/endInsertRows
    std::unordered_map<Ruid, int> m_rowOf;
    QFutureWatcher<Result<client::FolderListing>> *m_listing = nullptr;
    QFutureWatcher<Prepared> *m_preparing = nullptr; // the listing's index, built on the pool
    std::vector<tree::ChangeRecord> m_queued;
    QTimer m_coalesce;
    uint64_t m_epoch = 0; // bumped by setLocation: late answers are ignored
};

} // namespace vd::widgets
