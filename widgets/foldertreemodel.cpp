#include "foldertreemodel.h"

#include "displaytext.h"
#include "nodeinfo.h"

#include <QFutureWatcher>

#include <algorithm>
#include <functional>

namespace vd::widgets {

using tree::ChangeRecord;
using tree::Kind;

namespace {

bool nameLess(const QString &a, const QString &b)
{
    const int c = QString::localeAwareCompare(a, b);
    return c != 0 ? c < 0 : a < b;
}

} // namespace

FolderTreeModel::FolderTreeModel(client::DriveApi *api, QObject *parent)
    : QAbstractItemModel(parent), m_api(api), m_root(std::make_unique<Item>())
{
    m_coalesce.setSingleShot(true);
    m_coalesce.setInterval(50);
    connect(&m_coalesce, &QTimer::timeout, this, &FolderTreeModel::applyQueued);
    if (m_api) {
        connect(m_api, &client::DriveApi::changed, this, &FolderTreeModel::onChanged);
        // Changes were lost: start again from the root, listed anew as opened.
        connect(m_api, &client::DriveApi::resyncNeeded, this, [this](const Ruid &collection) {
            if ((collection.isNull() || collection == m_collection) && m_at.isEmpty() && !m_collection.isNull() && !m_root->children.empty())
                setCollection(m_collection, m_root->children.front()->name, m_at);
        });
    }
}

FolderTreeModel::~FolderTreeModel() = default;

void FolderTreeModel::setCollection(const Ruid &collection, const QString &rootLabel, const QString &at)
{
    beginResetModel();
    ++m_epoch;
    m_collection = collection;
    m_at = at;
    m_root = std::make_unique<Item>();
    m_items.clear();
    m_queued.clear();
    if (!collection.isNull()) {
        auto top = std::make_unique<Item>();
        top->id = tree::rootId();
        top->name = rootLabel;
        top->parent = m_root.get();
        m_items.emplace(top->id, top.get());
        m_root->children.push_back(std::move(top));
    }
    m_root->listing = Item::Listing::Done;
    endResetModel();
}

void FolderTreeModel::setRootLabel(const QString &rootLabel)
{
    if (m_root->children.empty() || m_root->children.front()->name == rootLabel)
        return;
    m_root->children.front()->name = rootLabel;
    const QModelIndex top = index(0, 0);
    Q_EMIT dataChanged(top, top);
}

FolderTreeModel::Item *FolderTreeModel::itemOf(const QModelIndex &index) const
{
    return index.isValid() ? static_cast<Item *>(index.internalPointer()) : m_root.get();
}

int FolderTreeModel::rowOf(const Item *item) const
{
    const auto &siblings = item->parent->children;
    const auto it = std::find_if(siblings.begin(), siblings.end(), [item](const auto &c) { return c.get() == item; });
    return int(it - siblings.begin());
}

QModelIndex FolderTreeModel::indexOf(const Item *item) const
{
    if (!item || item == m_root.get())
        return {};
    return createIndex(rowOf(item), 0, const_cast<Item *>(item));
}

QString FolderTreeModel::pathOf(const Item *item) const
{
    if (!item || item == m_root.get() || item->parent == m_root.get())
        return QStringLiteral("/");
    QStringList names;
    for (const Item *i = item; i->parent && i->parent != m_root.get(); i = i->parent)
        names.prepend(i->name);
    return QLatin1Char('/') + names.join(QLatin1Char('/'));
}

QString FolderTreeModel::pathOf(const QModelIndex &index) const
{
    return pathOf(itemOf(index));
}

QModelIndex FolderTreeModel::indexOf(const QString &path)
{
    if (m_root->children.empty())
        return {};
    Item *item = m_root->children.front().get();
    for (const QString &name : path.split(QLatin1Char('/'), Qt::SkipEmptyParts)) {
        if (item->listing != Item::Listing::Done) {
            list(item);
            break;
        }
        const auto it = std::find_if(item->children.begin(), item->children.end(), [&](const auto &c) { return c->name == name; });
        if (it == item->children.end())
            break;
        item = it->get();
    }
    return indexOf(item);
}

QModelIndex FolderTreeModel::index(int row, int column, const QModelIndex &parent) const
{
    const Item *p = itemOf(parent);
    if (column != 0 || row < 0 || row >= int(p->children.size()))
        return {};
    return createIndex(row, 0, p->children[size_t(row)].get());
}

QModelIndex FolderTreeModel::parent(const QModelIndex &child) const
{
    if (!child.isValid())
        return {};
    return indexOf(itemOf(child)->parent);
}

int FolderTreeModel::rowCount(const QModelIndex &parent) const
{
    if (parent.column() > 0)
        return 0;
    return int(itemOf(parent)->children.size());
}

int FolderTreeModel::columnCount(const QModelIndex &) const
{
    return 1;
}

QVariant FolderTreeModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid))
        return {};
    const Item *item = itemOf(index);
    const bool top = item->parent == m_root.get();
    switch (role) {
    case Qt::DisplayRole: return displayName(item->name);
    case Qt::ToolTipRole: return richTextOf(top ? item->name : pathOf(item));
    case Qt::AccessibleTextRole: return item->name;
    case Qt::DecorationRole: {
        tree::VNode n;
        n.kind = Kind::Directory;
        return iconFor(n);
    }
    case PathRole: return pathOf(item);
    case IdRole: return item->id.toString();
    }
    return {};
}

Qt::ItemFlags FolderTreeModel::flags(const QModelIndex &index) const
{
    Qt::ItemFlags f = QAbstractItemModel::flags(index);
    if (index.isValid() && m_at.isEmpty())
        f |= Qt::ItemIsDropEnabled;
    return f;
}

bool FolderTreeModel::hasChildren(const QModelIndex &parent) const
{
    const Item *item = itemOf(parent);
    return item->listing != Item::Listing::Done || !item->children.empty();
}

bool FolderTreeModel::canFetchMore(const QModelIndex &parent) const
{
    return parent.isValid() && itemOf(parent)->listing == Item::Listing::No;
}

void FolderTreeModel::fetchMore(const QModelIndex &parent)
{
    if (canFetchMore(parent))
        list(itemOf(parent));
}

void FolderTreeModel::list(Item *item)
{
    if (!m_api || item->listing != Item::Listing::No)
        return;
    item->listing = Item::Listing::Running;
    auto *watcher = new QFutureWatcher<Result<client::FolderListing>>(this);
    const Ruid id = item->id;
    const uint64_t epoch = m_epoch;
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, id, epoch] {
        watcher->deleteLater();
        const auto it = m_items.find(id);
        if (epoch != m_epoch || it == m_items.end())
            return; // another collection now, or the folder went meanwhile
        Item *folder = it->second;
        if (watcher->future().resultCount() == 0 || !watcher->result()) {
            folder->listing = Item::Listing::No; // tried again when asked again
            Q_EMIT failed(watcher->future().resultCount() ? watcher->result().status().message() : tr("The listing was cancelled."));
            return;
        }
        const Result<client::FolderListing> result = watcher->result();
        const client::FolderListing &listing = *result;
        std::vector<std::unique_ptr<Item>> folders;
        for (const tree::VNode &n : listing.entries) {
            if (n.kind != Kind::Directory || m_items.count(n.id))
                continue;
            auto child = std::make_unique<Item>();
            child->id = n.id;
            child->name = n.name;
            child->parent = folder;
            folders.push_back(std::move(child));
        }
        std::sort(folders.begin(), folders.end(), [](const auto &a, const auto &b) { return nameLess(a->name, b->name); });
        folder->generation = listing.generation;
        folder->listing = Item::Listing::Done;
        const QModelIndex parent = indexOf(folder);
        if (!folders.empty()) {
            beginInsertRows(parent, 0, int(folders.size()) - 1);
            for (auto &f : folders) {
                m_items.emplace(f->id, f.get());
                folder->children.push_back(std::move(f));
            }
            endInsertRows();
        } else {
            // No expander any more: the view asks hasChildren() again.
            Q_EMIT dataChanged(parent, parent);
        }
        Q_EMIT listed(parent);
    });
    watcher->setFuture(m_api->list(m_collection, pathOf(item), m_at));
}

void FolderTreeModel::onChanged(const Ruid &collection, const std::vector<ChangeRecord> &records)
{
    if (collection != m_collection || !m_at.isEmpty())
        return;
    for (const ChangeRecord &r : records)
        if (!r.isSnapshot() && r.kind() == Kind::Directory)
            m_queued.push_back(r);
    if (!m_queued.empty() && !m_coalesce.isActive())
        m_coalesce.start();
}

void FolderTreeModel::applyQueued()
{
    std::vector<ChangeRecord> records;
    records.swap(m_queued);
    for (const ChangeRecord &r : records) {
        const auto known = m_items.find(r.id);
        Item *item = known == m_items.end() ? nullptr : known->second;
        Item *newParent = nullptr;
        if (r.after) {
            const auto p = m_items.find(r.after->parent);
            if (p != m_items.end() && p->second->listing == Item::Listing::Done && r.generation > p->second->generation)
                newParent = p->second;
        }
        if (item && item->parent == m_root.get())
            continue; // the root stays
        if (item) {
            if (r.generation <= item->parent->generation)
                continue; // its parent's listing had it already
            if (r.after && r.after->parent == item->parent->id && r.after->name == item->name && r.after->parent != tree::trashId())
                continue; // where it was, under its name: only its contents or times changed
            std::unique_ptr<Item> taken = takeChild(item);
            if (newParent && r.after) {
                taken->name = r.after->name;
                taken->parent = newParent;
                insertChild(newParent, std::move(taken));
            } else {
                forget(taken.get());
            }
        } else if (newParent) {
            auto child = std::make_unique<Item>();
            child->id = r.id;
            child->name = r.after->name;
            child->parent = newParent;
            m_items.emplace(child->id, child.get());
            insertChild(newParent, std::move(child));
        }
    }
    Q_ASSERT(checkInvariants());
    Q_EMIT changesApplied();
}

void FolderTreeModel::insertChild(Item *parent, std::unique_ptr<Item> child)
{
    auto &c = parent->children;
    const auto at = std::lower_bound(c.begin(), c.end(), child->name, [](const auto &i, const QString &n) { return nameLess(i->name, n); });
    const int row = int(at - c.begin());
    const QModelIndex p = indexOf(parent);
    beginInsertRows(p, row, row);
    c.insert(c.begin() + row, std::move(child));
    endInsertRows();
}

std::unique_ptr<FolderTreeModel::Item> FolderTreeModel::takeChild(Item *item)
{
    Item *parent = item->parent;
    const int row = rowOf(item);
    beginRemoveRows(indexOf(parent), row, row);
    std::unique_ptr<Item> taken = std::move(parent->children[size_t(row)]);
    parent->children.erase(parent->children.begin() + row);
    endRemoveRows();
    return taken;
}

void FolderTreeModel::forget(Item *item)
{
    m_items.erase(item->id);
    for (auto &c : item->children)
        forget(c.get());
}

bool FolderTreeModel::checkInvariants() const
{
    size_t count = 0;
    std::function<bool(const Item *)> walk = [&](const Item *item) {
        for (size_t i = 0; i < item->children.size(); ++i) {
            const Item *c = item->children[i].get();
            if (c->parent != item)
                return false;
            const auto it = m_items.find(c->id);
            if (it == m_items.end() || it->second != c)
                return false;
            if (i > 0 && nameLess(c->name, item->children[i - 1]->name))
                return false;
            ++count;
            if (!walk(c))
                return false;
        }
        return true;
    };
    return walk(m_root.get()) && count == m_items.size();
}

} // namespace vd::widgets
