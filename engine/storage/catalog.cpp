#include "catalog.h"

#include "catalogpage.h"

#include <algorithm>

namespace vd::storage {

struct Catalog::Node
{
    CatalogPage page;
    std::vector<std::unique_ptr<Node>> loaded; // internal pages: children held in memory
    PageRef ref;                               // where this page is stored; null while dirty
    bool dirty = false;
    size_t bytes = CatalogPage::kHeaderSize;   // encoded size

    bool isLeaf() const { return page.isLeaf(); }
    size_t count() const { return page.keys.size(); }

    void recomputeBytes()
    {
        bytes = CatalogPage::kHeaderSize;
        for (size_t i = 0; i < count(); ++i)
            bytes += isLeaf() ? CatalogPage::entrySize(page.keys[i], page.values[i].size())
                              : CatalogPage::internalEntrySize(page.keys[i]);
    }
    // Index of the child whose range holds key (internal pages).
    size_t route(QByteArrayView key) const
    {
        auto it = std::upper_bound(page.keys.begin() + 1, page.keys.end(), key,
                                   [](QByteArrayView k, const QByteArray &e) { return k < QByteArrayView(e); });
        return size_t(it - page.keys.begin()) - 1;
    }
};


namespace {

size_t entryBytes(const Catalog::Node &n, size_t i)
{
    return n.isLeaf() ? CatalogPage::entrySize(n.page.keys[i], n.page.values[i].size())
                      : CatalogPage::internalEntrySize(n.page.keys[i]);
}

// Moves entries [from, end) of n into a new dirty node.
std::unique_ptr<Catalog::Node> takeTail(Catalog::Node &n, size_t from)
{
    auto right = std::make_unique<Catalog::Node>();
    right->dirty = true;
    right->page.level = n.page.level;
    right->page.keys.assign(std::make_move_iterator(n.page.keys.begin() + qsizetype(from)), std::make_move_iterator(n.page.keys.end()));
    n.page.keys.resize(from);
    if (n.isLeaf()) {
        right->page.values.assign(std::make_move_iterator(n.page.values.begin() + qsizetype(from)), std::make_move_iterator(n.page.values.end()));
        n.page.values.resize(from);
    } else {
        right->page.children.assign(n.page.children.begin() + qsizetype(from), n.page.children.end());
        n.page.children.resize(from);
        right->loaded.assign(std::make_move_iterator(n.loaded.begin() + qsizetype(from)), std::make_move_iterator(n.loaded.end()));
        n.loaded.resize(from);
    }
    n.recomputeBytes();
    right->recomputeBytes();
    return right;
}

} // namespace

struct Catalog::Split
{
    QByteArray separator;
    std::unique_ptr<Node> right;
};

// Cuts an overfull page into pieces of about equal size, each within
// kPageTarget unless it is a single entry larger than that. n keeps the first
// piece; the others are returned, in order, for the parent to adopt.
std::vector<Catalog::Split> Catalog::splitIfNeeded(Node &n)
{
    std::vector<Split> out;
    if (n.bytes <= size_t(kPageTarget) || n.count() < 2)
        return out;
    const size_t payload = n.bytes - CatalogPage::kHeaderSize;
    const size_t pieces = (payload + size_t(kPageTarget) - CatalogPage::kHeaderSize - 1) / (size_t(kPageTarget) - CatalogPage::kHeaderSize);
    const size_t share = payload / std::max<size_t>(pieces, 2);
    std::vector<size_t> cuts;
    size_t cur = 0;
    for (size_t i = 0; i < n.count(); ++i) {
        const size_t e = entryBytes(n, i);
        if (cur > 0 && (CatalogPage::kHeaderSize + cur + e > size_t(kPageTarget) || cur >= share)) {
            cuts.push_back(i);
            cur = 0;
        }
        cur += e;
    }
    // Cut from the back so the indexes stay valid.
    for (size_t k = cuts.size(); k-- > 0;) {
        Split sp;
        sp.right = takeTail(n, cuts[k]);
        sp.separator = sp.right->page.keys.front();
        out.insert(out.begin(), std::move(sp));
    }
    return out;
}

void Catalog::adopt(Node &n, size_t i, std::vector<Split> &&splits)
{
    for (size_t k = 0; k < splits.size(); ++k) {
        const size_t at = i + 1 + k;
        n.page.keys.insert(n.page.keys.begin() + qsizetype(at), std::move(splits[k].separator));
        n.page.children.insert(n.page.children.begin() + qsizetype(at), PageRef());
        n.loaded.insert(n.loaded.begin() + qsizetype(at), std::move(splits[k].right));
        n.bytes += CatalogPage::internalEntrySize(n.page.keys[at]);
    }
    m_dirtyPages += splits.size();
}

void Catalog::growRoot(std::vector<Split> &&splits)
{
    while (!splits.empty()) {
        auto root = std::make_unique<Node>();
        root->dirty = true;
        ++m_dirtyPages;
        root->page.level = m_root->page.level + 1;
        root->page.keys = {QByteArray()};
        root->page.children = {PageRef()};
        root->loaded.push_back(std::move(m_root));
        root->recomputeBytes();
        adopt(*root, 0, std::move(splits));
        m_root = std::move(root);
        splits = splitIfNeeded(*m_root);
    }
}

Status validateCatalogKey(QByteArrayView key)
{
    if (key.isEmpty() || key.size() > Catalog::kMaxKey)
        return Status::invalidArgument(QStringLiteral("catalog keys are 1 to %1 bytes (got %2)").arg(Catalog::kMaxKey).arg(key.size()));
    return {};
}

Catalog::Catalog(PageStore *store) : m_store(store) {}
Catalog::~Catalog() = default;

void Catalog::reset(const PageRef &root)
{
    m_rootRef = root;
    m_root.reset();
    m_emptied = false;
    m_dirtyPages = 0;
}

PageRef Catalog::rootRef() const { return m_rootRef; }

bool Catalog::isDirty() const { return m_emptied || (m_root && m_root->dirty); }

size_t Catalog::dirtyPages() const { return m_dirtyPages; }

uint64_t Catalog::dirtyBytes() const
{
    // A dirty page's parent is dirty too (touch() runs down the path), so
    // the dirty pages hang together from the root.
    std::function<uint64_t(const Node &)> sum = [&](const Node &n) -> uint64_t {
        if (!n.dirty)
            return 0;
        uint64_t b = n.bytes;
        for (const auto &c : n.loaded)
            if (c)
                b += sum(*c);
        return b;
    };
    return m_root ? sum(*m_root) : 0;
}

Status Catalog::ensureRoot()
{
    if (m_root || m_rootRef.isNull())
        return {};
    VD_TRY_ASSIGN(const QByteArray raw, m_store->readPage(m_rootRef));
    auto page = CatalogPage::decode(raw);
    if (!page)
        return page.status().withContext(QStringLiteral("catalog root"));
    m_root = std::make_unique<Node>();
    m_root->page = std::move(page).value();
    m_root->ref = m_rootRef;
    if (!m_root->isLeaf())
        m_root->loaded.resize(m_root->count());
    m_root->recomputeBytes();
    return {};
}

Result<Catalog::Node *> Catalog::child(Node &parent, size_t i)
{
    if (parent.loaded[i])
        return parent.loaded[i].get();
    const PageRef &ref = parent.page.children[i];
    VD_TRY_ASSIGN(const QByteArray raw, m_store->readPage(ref));
    auto page = CatalogPage::decode(raw);
    if (!page)
        return page.status();
    auto node = std::make_unique<Node>();
    node->page = std::move(page).value();
    node->ref = ref;
    // The child must sit one level down and inside the range its parent gives it.
    const QByteArray &low = parent.page.keys[i];
    const bool lowOk = i == 0 || !(node->page.keys.front() < low);
    const bool highOk = i + 1 == parent.count() || node->page.keys.back() < parent.page.keys[i + 1];
    if (node->page.level != parent.page.level - 1 || !lowOk || !highOk)
        return Status::corruption(QStringLiteral("catalog page at offset %1+%2 does not fit under its parent (level %3, keys out of range)")
                                      .arg(ref.blockOffset)
                                      .arg(ref.slot.offset)
                                      .arg(node->page.level));
    if (!node->isLeaf())
        node->loaded.resize(node->count());
    node->recomputeBytes();
    parent.loaded[i] = std::move(node);
    return parent.loaded[i].get();
}

void Catalog::touch(Node &n)
{
    if (n.dirty)
        return;
    if (!n.ref.isNull())
        m_store->releasePage(n.ref);
    n.ref = PageRef();
    n.dirty = true;
    ++m_dirtyPages;
}

Result<std::optional<QByteArray>> Catalog::get(QByteArrayView key)
{
    VD_TRY(ensureRoot());
    Node *n = m_root.get();
    if (!n)
        return std::optional<QByteArray>();
    while (!n->isLeaf()) {
        VD_TRY_ASSIGN(n, child(*n, n->route(key)));
    }
    auto it = std::lower_bound(n->page.keys.begin(), n->page.keys.end(), key,
                               [](const QByteArray &e, QByteArrayView k) { return QByteArrayView(e) < k; });
    if (it == n->page.keys.end() || QByteArrayView(*it) != key)
        return std::optional<QByteArray>();
    return std::optional<QByteArray>(n->page.values[size_t(it - n->page.keys.begin())]);
}

Result<std::vector<Catalog::Split>> Catalog::insert(Node &n, QByteArrayView key, QByteArrayView value)
{
    touch(n);
    if (n.isLeaf()) {
        auto &keys = n.page.keys;
        auto it = std::lower_bound(keys.begin(), keys.end(), key, [](const QByteArray &e, QByteArrayView k) { return QByteArrayView(e) < k; });
        const size_t pos = size_t(it - keys.begin());
        if (it != keys.end() && QByteArrayView(*it) == key) {
            n.bytes -= CatalogPage::entrySize(*it, n.page.values[pos].size());
            n.page.values[pos] = value.toByteArray();
        } else {
            keys.insert(it, key.toByteArray());
            n.page.values.insert(n.page.values.begin() + qsizetype(pos), value.toByteArray());
        }
        n.bytes += CatalogPage::entrySize(keys[pos], value.size());
    } else {
        const size_t i = n.route(key);
        VD_TRY_ASSIGN(Node * c, child(n, i));
        VD_TRY_ASSIGN(auto splits, insert(*c, key, value));
        adopt(n, i, std::move(splits));
    }
    return splitIfNeeded(n);
}

Status Catalog::put(QByteArrayView key, QByteArrayView value)
{
    VD_TRY(validateCatalogKey(key));
    if (value.size() > kMaxValue)
        return Status::invalidArgument(QStringLiteral("catalog values are at most %1 bytes (got %2)").arg(kMaxValue).arg(value.size()));
    VD_TRY(ensureRoot());
    if (!m_root) {
        m_root = std::make_unique<Node>();
        m_root->dirty = true;
        ++m_dirtyPages;
    }
    VD_TRY_ASSIGN(auto splits, insert(*m_root, key, value));
    growRoot(std::move(splits));
    return {};
}

Status Catalog::fixUnderflow(Node &n, size_t i)
{
    Node *c = n.loaded[i].get();
    if (c->count() == 0) {
        // An empty child goes; if it was the first, its lower bound stays with the page.
        const QByteArray low = n.page.keys[0];
        n.page.keys.erase(n.page.keys.begin() + qsizetype(i));
        n.page.children.erase(n.page.children.begin() + qsizetype(i));
        n.loaded.erase(n.loaded.begin() + qsizetype(i));
        if (i == 0 && n.count() > 0)
            n.page.keys[0] = low;
        n.recomputeBytes();
        return {};
    }
    if (c->bytes >= size_t(kPageTarget) / 4 || n.count() < 2)
        return {};
    // Merge the right one of (i, i+1) or (i-1, i) into the left one.
    const size_t left = i + 1 < n.count() ? i : i - 1;
    VD_TRY_ASSIGN(Node * l, child(n, left));
    VD_TRY_ASSIGN(Node * r, child(n, left + 1));
    touch(*l);
    touch(*r);
    const QByteArray separator = n.page.keys[left + 1];
    if (l->isLeaf()) {
        for (size_t k = 0; k < r->count(); ++k) {
            l->page.keys.push_back(std::move(r->page.keys[k]));
            l->page.values.push_back(std::move(r->page.values[k]));
        }
    } else {
        for (size_t k = 0; k < r->count(); ++k) {
            l->page.keys.push_back(k == 0 ? separator : std::move(r->page.keys[k]));
            l->page.children.push_back(r->page.children[k]);
            l->loaded.push_back(std::move(r->loaded[k]));
        }
    }
    n.page.keys.erase(n.page.keys.begin() + qsizetype(left + 1));
    n.page.children.erase(n.page.children.begin() + qsizetype(left + 1));
    n.loaded.erase(n.loaded.begin() + qsizetype(left + 1));
    l->recomputeBytes();
    n.recomputeBytes();
    adopt(n, left, splitIfNeeded(*l)); // merged too big: cut it again
    return {};
}

Result<std::optional<std::vector<Catalog::Split>>> Catalog::erase(Node &n, QByteArrayView key)
{
    using Out = std::optional<std::vector<Split>>;
    if (n.isLeaf()) {
        auto &keys = n.page.keys;
        auto it = std::lower_bound(keys.begin(), keys.end(), key, [](const QByteArray &e, QByteArrayView k) { return QByteArrayView(e) < k; });
        if (it == keys.end() || QByteArrayView(*it) != key)
            return Out();
        touch(n);
        const size_t pos = size_t(it - keys.begin());
        n.bytes -= CatalogPage::entrySize(*it, n.page.values[pos].size());
        keys.erase(it);
        n.page.values.erase(n.page.values.begin() + qsizetype(pos));
        return Out(std::vector<Split>());
    }
    const size_t i = n.route(key);
    VD_TRY_ASSIGN(Node * c, child(n, i));
    VD_TRY_ASSIGN(auto below, erase(*c, key));
    if (!below)
        return Out();
    touch(n);
    adopt(n, i, std::move(*below));
    VD_TRY(fixUnderflow(n, i));
    return Out(splitIfNeeded(n));
}

Result<bool> Catalog::remove(QByteArrayView key)
{
    VD_TRY(validateCatalogKey(key));
    VD_TRY(ensureRoot());
    if (!m_root)
        return false;
    VD_TRY_ASSIGN(auto splits, erase(*m_root, key));
    if (!splits)
        return false;
    growRoot(std::move(*splits));
    while (m_root && !m_root->isLeaf() && m_root->count() == 1) {
        VD_TRY_ASSIGN(Node * only, child(*m_root, 0));
        touch(*only); // the new root must be written even if nothing in it changed
        std::unique_ptr<Node> c = std::move(m_root->loaded[0]);
        m_root = std::move(c);
    }
    if (m_root && m_root->count() == 0) {
        m_root.reset(); // now an empty tree; its page was released when touched
        m_emptied = true;
    }
    return true;
}

Result<std::optional<std::pair<QByteArray, QByteArray>>> Catalog::floorIn(Node &n, QByteArrayView key)
{
    using Entry = std::optional<std::pair<QByteArray, QByteArray>>;
    if (n.isLeaf()) {
        auto it = std::upper_bound(n.page.keys.begin(), n.page.keys.end(), key, [](QByteArrayView k, const QByteArray &e) { return k < QByteArrayView(e); });
        if (it == n.page.keys.begin())
            return Entry();
        const size_t pos = size_t(it - n.page.keys.begin()) - 1;
        return Entry(std::make_pair(n.page.keys[pos], n.page.values[pos]));
    }
    size_t i = n.route(key);
    VD_TRY_ASSIGN(Node * c, child(n, i));
    VD_TRY_ASSIGN(Entry e, floorIn(*c, key));
    if (e || i == 0)
        return e;
    // Everything in child i is greater: the answer is the last entry of child i-1.
    VD_TRY_ASSIGN(Node * prev, child(n, i - 1));
    while (!prev->isLeaf()) {
        VD_TRY_ASSIGN(prev, child(*prev, prev->count() - 1));
    }
    return Entry(std::make_pair(prev->page.keys.back(), prev->page.values.back()));
}

Result<std::optional<std::pair<QByteArray, QByteArray>>> Catalog::floor(QByteArrayView key)
{
    VD_TRY(ensureRoot());
    if (!m_root)
        return std::optional<std::pair<QByteArray, QByteArray>>();
    return floorIn(*m_root, key);
}

Result<bool> Catalog::scanIn(Node &n, QByteArrayView from, QByteArrayView to, const Visitor &visit)
{
    if (n.isLeaf()) {
        auto it = std::lower_bound(n.page.keys.begin(), n.page.keys.end(), from, [](const QByteArray &e, QByteArrayView k) { return QByteArrayView(e) < k; });
        for (size_t pos = size_t(it - n.page.keys.begin()); pos < n.count(); ++pos) {
            if (!to.isEmpty() && !(QByteArrayView(n.page.keys[pos]) < to))
                return false;
            if (!visit(n.page.keys[pos], n.page.values[pos]))
                return false;
        }
        return true;
    }
    for (size_t i = n.route(from); i < n.count(); ++i) {
        if (!to.isEmpty() && i > 0 && !(QByteArrayView(n.page.keys[i]) < to))
            return false;
        VD_TRY_ASSIGN(Node * c, child(n, i));
        VD_TRY_ASSIGN(const bool more, scanIn(*c, from, to, visit));
        if (!more)
            return false;
    }
    return true;
}

Status Catalog::scan(QByteArrayView from, QByteArrayView to, const Visitor &visit)
{
    VD_TRY(ensureRoot());
    if (!m_root)
        return {};
    auto r = scanIn(*m_root, from, to, visit);
    return r ? Status() : r.status();
}

Result<PageRef> Catalog::flushNode(Node &n)
{
    if (!n.dirty)
        return n.ref;
    if (!n.isLeaf()) {
        for (size_t i = 0; i < n.count(); ++i) {
            if (n.loaded[i] && n.loaded[i]->dirty) {
                VD_TRY_ASSIGN(n.page.children[i], flushNode(*n.loaded[i]));
            }
        }
    }
    VD_TRY_ASSIGN(const PageRef ref, m_store->writePage(n.page.encode()));
    n.ref = ref;
    n.dirty = false;
    return ref;
}

Result<PageRef> Catalog::flush()
{
    const bool isEmptied = m_emptied;
    m_emptied = false;
    if (!m_root) {
        if (isEmptied)
            m_rootRef = PageRef();
        return m_rootRef;
    }
    VD_TRY_ASSIGN(m_rootRef, flushNode(*m_root));
    m_dirtyPages = 0;
    return m_rootRef;
}

Status Catalog::walkPages(const std::function<Status(const PageRef &, int, int)> &visit)
{
    VD_TRY(ensureRoot());
    if (!m_root)
        return {};
    std::function<Status(Node &)> walk = [&](Node &n) -> Status {
        VD_TRY(visit(n.ref, n.page.level, int(n.count())));
        if (!n.isLeaf()) {
            for (size_t i = 0; i < n.count(); ++i) {
                VD_TRY_ASSIGN(Node * c, child(n, i));
                VD_TRY(walk(*c));
            }
        }
        return {};
    };
    return walk(*m_root);
}

Status Catalog::walkStored(const PageRef &root, const std::function<bool(const PageRef &, int)> &enter,
                           const std::function<Status(const PageRef &, const CatalogPage &)> &leaf)
{
    if (root.isNull())
        return {};
    std::function<Status(const PageRef &, int)> walk = [&](const PageRef &ref, int depth) -> Status {
        if (depth > CatalogPage::kMaxLevel)
            return Status::corruption(QStringLiteral("catalog: the tree is deeper than %1 levels").arg(CatalogPage::kMaxLevel));
        if (!enter(ref, depth))
            return {};
        VD_TRY_ASSIGN(const QByteArray raw, m_store->readPage(ref));
        VD_TRY_ASSIGN(const CatalogPage page, CatalogPage::decode(raw));
        if (page.isLeaf())
            return leaf(ref, page);
        for (const PageRef &c : page.children)
            VD_TRY(walk(c, depth + 1));
        return {};
    };
    return walk(root, 0);
}

Result<CatalogPage> Catalog::readStored(const PageRef &ref)
{
    VD_TRY_ASSIGN(const QByteArray raw, m_store->readPage(ref));
    return CatalogPage::decode(raw);
}

Status Catalog::leavesInRange(const PageRef &root, QByteArrayView from, QByteArrayView to, std::vector<PageRef> *leaves)
{
    if (root.isNull())
        return {};
    VD_TRY_ASSIGN(const CatalogPage top, readStored(root));
    if (top.isLeaf()) {
        leaves->push_back(root);
        return {};
    }
    std::function<Status(const CatalogPage &, int)> walk = [&](const CatalogPage &page, int depth) -> Status {
        if (depth > CatalogPage::kMaxLevel)
            return Status::corruption(QStringLiteral("catalog: the tree is deeper than %1 levels").arg(CatalogPage::kMaxLevel));
        for (size_t i = 0; i < page.count(); ++i) {
            // Child i covers [key[i], key[i+1]).
            const bool endsBefore = i + 1 < page.count() && QByteArrayView(page.keys[i + 1]) <= from;
            const bool startsAfter = !to.isEmpty() && QByteArrayView(page.keys[i]) >= to;
            if (endsBefore || startsAfter)
                continue;
            if (page.level == 1) {
                leaves->push_back(page.children[i]);
                continue;
            }
            VD_TRY_ASSIGN(const CatalogPage child, readStored(page.children[i]));
            if (child.level != page.level - 1)
                return Status::corruption(QStringLiteral("catalog: a level %1 page below a level %2 page").arg(child.level).arg(page.level));
            VD_TRY(walk(child, depth + 1));
        }
        return {};
    };
    return walk(top, 0);
}

Status Catalog::rewritePages(const std::function<bool(const PageRef &)> &matches)
{
    VD_TRY(ensureRoot());
    if (!m_root)
        return {};
    std::function<Result<bool>(Node &)> visit = [&](Node &n) -> Result<bool> {
        bool dirtyBelow = false;
        if (!n.isLeaf()) {
            for (size_t i = 0; i < n.count(); ++i) {
                // A leaf not in memory is read only if it must move: its
                // reference, held here, says where it lies.
                if (n.page.level == 1 && !n.loaded[i] && !matches(n.page.children[i]))
                    continue;
                VD_TRY_ASSIGN(Node * c, child(n, i));
                VD_TRY_ASSIGN(const bool d, visit(*c));
                dirtyBelow = dirtyBelow || d;
            }
        }
        if (dirtyBelow || (!n.ref.isNull() && matches(n.ref)))
            touch(n);
        return n.dirty;
    };
    auto r = visit(*m_root);
    return r ? Status() : r.status();
}

size_t Catalog::loadedNodes() const
{
    std::function<size_t(const Node &)> count = [&](const Node &n) -> size_t {
        size_t total = 1;
        for (const auto &c : n.loaded)
            if (c)
                total += count(*c);
        return total;
    };
    return m_root ? count(*m_root) : 0;
}

void Catalog::trimCache(size_t maxNodes)
{
    if (!m_root || m_root->dirty || loadedNodes() <= maxNodes)
        return;
    // Leaves go; internal pages (about one for every hundred leaves) stay,
    // so the next look-up reads one page, not the whole path again.
    std::function<void(Node &)> drop = [&](Node &n) {
        for (auto &c : n.loaded) {
            if (!c || c->dirty)
                continue;
            if (c->isLeaf())
                c.reset();
            else
                drop(*c);
        }
    };
    drop(*m_root);
    if (loadedNodes() > maxNodes)
        for (auto &c : m_root->loaded)
            if (c && !c->dirty)
                c.reset();
}

Status Catalog::checkInvariants()
{
    VD_TRY(ensureRoot());
    if (!m_root)
        return {};
    std::function<Status(Node &, const QByteArray *, const QByteArray *)> check = [&](Node &n, const QByteArray *low, const QByteArray *high) -> Status {
        if (n.count() == 0)
            return Status::internal(QStringLiteral("empty catalog page at level %1").arg(n.page.level));
        const size_t bytes = n.bytes;
        n.recomputeBytes();
        if (bytes != n.bytes)
            return Status::internal(QStringLiteral("page byte count drifted (%1 vs %2)").arg(bytes).arg(n.bytes));
        if (n.bytes > size_t(kPageTarget) && n.count() > 1)
            return Status::internal(QStringLiteral("page of %1 bytes was not split").arg(n.bytes));
        for (size_t i = 0; i < n.count(); ++i) {
            if (i > 0 && !(n.page.keys[i - 1] < n.page.keys[i]))
                return Status::internal(QStringLiteral("keys out of order"));
            const bool skipLow = !n.isLeaf() && i == 0;
            if (!skipLow && low && n.page.keys[i] < *low)
                return Status::internal(QStringLiteral("key below its page's range"));
            if (high && !(n.page.keys[i] < *high))
                return Status::internal(QStringLiteral("key above its page's range"));
        }
        if (!n.isLeaf()) {
            for (size_t i = 0; i < n.count(); ++i) {
                VD_TRY_ASSIGN(Node * c, child(n, i));
                if (c->page.level != n.page.level - 1)
                    return Status::internal(QStringLiteral("child level mismatch"));
                const QByteArray *cl = i == 0 ? low : &n.page.keys[i];
                const QByteArray *ch = i + 1 < n.count() ? &n.page.keys[i + 1] : high;
                VD_TRY(check(*c, cl, ch));
            }
        }
        return {};
    };
    return check(*m_root, nullptr, nullptr);
}

} // namespace vd::storage
