// Catalog: the collection's records in a copy-on-write B+tree.
//
// Keys and values are byte strings, keys in byte order. Pages live as slots
// of CatalogLog SmallBlocks (see smallblock.h) and are never changed once
// written: changing a record loads the pages on its path, changes them in
// memory (marking them dirty) and flush() writes the dirty pages bottom-up,
// each parent holding its children's location and SHA-256, so one page ref —
// the root — names a whole consistent tree (a Merkle tree, as in ZFS).
//
// A page is cut into pieces when it grows past kPageTarget bytes (a single
// entry larger than that gets a page of its own) and merged with a neighbour
// when it shrinks below a quarter of that. Internal pages route by
// separator keys: entry i covers keys from key[i] up to key[i+1]; key[0] is
// the page's own lower bound ("" on the left edge).
//
// The pages a flush replaces are reported to the PageStore as released, so
// it can account for the space they free. Not thread-safe.
#pragma once

#include "catalogpage.h"
#include "rootrecord.h"

#include "core/status.h"

#include <QByteArray>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace vd::storage {

class PageStore
{
public:
    virtual ~PageStore() = default;
    virtual Result<QByteArray> readPage(const PageRef &ref) = 0;
    virtual Result<PageRef> writePage(QByteArrayView raw) = 0;
    // The page at ref is no longer part of the working tree.
    virtual void releasePage(const PageRef &ref) = 0;
};

class Catalog
{
public:
    static constexpr int kMaxKey = 1024;
    static constexpr int kMaxValue = 256 * 1024;
    static constexpr int kPageTarget = 16 * 1024;

    explicit Catalog(PageStore *store);
    ~Catalog();
    Catalog(const Catalog &) = delete;
    Catalog &operator=(const Catalog &) = delete;

    // Forgets everything in memory and starts from a committed root.
    void reset(const PageRef &root);

    Result<std::optional<QByteArray>> get(QByteArrayView key);
    Status put(QByteArrayView key, QByteArrayView value);
    // true if the key was there.
    Result<bool> remove(QByteArrayView key);

    using Visitor = std::function<bool(QByteArrayView key, QByteArrayView value)>;
    // Visits keys in [from, to) in order (to empty: no upper bound); the
    // visitor returns false to stop.
    Status scan(QByteArrayView from, QByteArrayView to, const Visitor &visit);
    // The entry with the greatest key <= key, if any.
    Result<std::optional<std::pair<QByteArray, QByteArray>>> floor(QByteArrayView key);

    bool isDirty() const;
    // At most this many pages are written by the next flush() (an upper
    // bound kept as pages turn dirty: one merged away still counts).
    size_t dirtyPages() const;
    // The encoded (uncompressed) bytes of the dirty pages: what the next
    // flush() writes at most, before each page's directory entry.
    uint64_t dirtyBytes() const;
    // Writes dirty pages; returns the root (null for an empty tree).
    Result<PageRef> flush();
    // The root as last flushed or reset.
    PageRef rootRef() const;

    // Visits every page of the tree as stored (fsck, compaction, space
    // accounting). Loads pages it has not seen.
    Status walkPages(const std::function<Status(const PageRef &ref, int level, int entries)> &visit);
    // Walks a committed tree straight from the store, keeping nothing in
    // memory: enter(ref) says whether to read a page (and so what lies
    // below it); leaf() sees every leaf read. Lets several trees that share
    // pages (snapshots) be walked once per distinct page.
    Status walkStored(const PageRef &root, const std::function<bool(const PageRef &ref, int level)> &enter,
                      const std::function<Status(const PageRef &ref, const CatalogPage &leaf)> &leaf);
    // The leaves of a committed tree that may hold keys in [from, to), in
    // key order, found by reading internal pages only. Two trees that share
    // a leaf (the same ref) hold the same entries there: comparing trees
    // (snapshot diff) then reads only the leaves that differ.
    Status leavesInRange(const PageRef &root, QByteArrayView from, QByteArrayView to, std::vector<PageRef> *leaves);
    Result<CatalogPage> readStored(const PageRef &ref);
    // Marks dirty every page whose ref matches, so the next flush moves it.
    Status rewritePages(const std::function<bool(const PageRef &)> &matches);
    // Drops clean pages held in memory when more than maxNodes are loaded.
    void trimCache(size_t maxNodes);
    size_t loadedNodes() const;

    // Checks order, separators and page sizes of the whole tree (tests).
    Status checkInvariants();

    struct Node;

private:
    struct Split;
    Result<Node *> child(Node &parent, size_t i);
    Result<std::vector<Split>> insert(Node &n, QByteArrayView key, QByteArrayView value);
    // nullopt when the key is not there; else the pages n was cut into.
    Result<std::optional<std::vector<Split>>> erase(Node &n, QByteArrayView key);
    static std::vector<Split> splitIfNeeded(Node &n);
    void adopt(Node &n, size_t i, std::vector<Split> &&splits);
    void growRoot(std::vector<Split> &&splits);
    Status fixUnderflow(Node &n, size_t i);
    Result<std::optional<std::pair<QByteArray, QByteArray>>> floorIn(Node &n, QByteArrayView key);
    Result<bool> scanIn(Node &n, QByteArrayView from, QByteArrayView to, const Visitor &visit);
    Result<PageRef> flushNode(Node &n);
    void touch(Node &n);
    Status ensureRoot();

    PageStore *m_store;
    PageRef m_rootRef;
    std::unique_ptr<Node> m_root;
    bool m_emptied = false; // the last entry went since the last flush
    size_t m_dirtyPages = 0;
};

// Key validation shared by the catalog's users.
Status validateCatalogKey(QByteArrayView key);

} // namespace vd::storage
