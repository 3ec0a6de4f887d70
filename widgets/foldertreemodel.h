// FolderTreeModel: the folders of a collection as a tree, for the pane
// beside the contents — only folders (files and JSON documents are the
// contents view's), listed one level at a time as the user opens them.
//
// Lifetime: one per window; setCollection() starts over with the root.
// Its items are its own (id, name, children), never engine pointers.
//
// Lazy: a folder not listed yet says it may have children; fetchMore()
// asks the node for its listing and inserts its folders when it arrives.
// Live, as FolderModel: change records of folders whose parent is a listed
// item insert, rename, move or remove items, coalesced on a short timer;
// records no newer than an item's listing are skipped.
//
// Thread safety: the GUI thread only.
#pragma once

#include "client/driveapi.h"

#include <QAbstractItemModel>
#include <QPointer>
#include <QTimer>

#include <memory>
#include <unordered_map>
#include <vector>

namespace vd::widgets {

class FolderTreeModel : public QAbstractItemModel
{
    Q_OBJECT
public:
    enum Role { PathRole = Qt::UserRole + 1, IdRole };

    explicit FolderTreeModel(client::DriveApi *api, QObject *parent = nullptr);
    ~FolderTreeModel() override;

    // The collection's folders (at: a snapshot's), from the root.
    void setCollection(const Ruid &collection, const QString &rootLabel, const QString &at = {});
    Ruid collection() const { return m_collection; }
    // The root's label (the collection was renamed), the folders kept.
    void setRootLabel(const QString &rootLabel);

    // The item of path if the folders down to it are listed (else the
    // deepest listed one on the way, and listing of the rest is started:
    // call again after the folders arrive — expanded() says when).
    QModelIndex indexOf(const QString &path);
    QString pathOf(const QModelIndex &index) const;

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    bool hasChildren(const QModelIndex &parent = {}) const override;
    bool canFetchMore(const QModelIndex &parent) const override;
    void fetchMore(const QModelIndex &parent) override;

    bool checkInvariants() const;

Q_SIGNALS:
    // The folders of an item arrived (tests and indexOf's callers wait on it).
    void listed(const QModelIndex &parent);
    void changesApplied();
    void failed(const QString &message);

private:
    struct Item
    {
        Ruid id;
        QString name;
        Item *parent = nullptr;
        std::vector<std::unique_ptr<Item>> children; // by name
        enum class Listing { No, Running, Done } listing = Listing::No;
        uint64_t generation = 0; // of its listing
    };

    Item *itemOf(const QModelIndex &index) const;
    QModelIndex indexOf(const Item *item) const;
    int rowOf(const Item *item) const;
    QString pathOf(const Item *item) const;
    void list(Item *item);
    void onChanged(const vd::Ruid &collection, const std::vector<vd::tree::ChangeRecord> &records);
    void applyQueued();
    void insertChild(Item *parent, std::unique_ptr<Item> child);
    std::unique_ptr<Item> takeChild(Item *item);
    void forget(Item *item);

    QPointer<client::DriveApi> m_api;
    Ruid m_collection;
    QString m_at;
    std::unique_ptr<Item> m_root;
    std::unordered_map<Ruid, Item *> m_items;
    std::vector<tree::ChangeRecord> m_queued;
    QTimer m_coalesce;
    uint64_t m_epoch = 0;
};

} // namespace vd::widgets
