// Drive: look-ups, files, folders, moves, copies and the trash.
#include "drive.h"
#include "core/utf8.h"

#include "driveinternal.h"

#include "storage/catalog.h"
#include "cache/lmdbcache.h"

#include <QBuffer>
#include <QDateTime>

#include <algorithm>
#include <cstring>

namespace vd::tree {

namespace {
constexpr uint64_t kMaxChangesKept = 200000;
constexpr int kMaxDepth = VNode::kMaxDepth;
// The longest original path a trash record holds fits one catalog value.
static_assert(1 + 16 + 8 + 2 + VNode::kMaxNameBytes + 3 + VNode::kMaxPathBytes <= storage::Catalog::kMaxValue);

int64_t nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

qint64 costOf(const VNode &n)
{
    return 160 + n.name.size() * 2 + n.value.size();
}
} // namespace

QString elidedPath(const QString &path)
{
    constexpr qsizetype kHead = 48, kTail = 32;
    if (path.size() <= kHead + kTail + 1)
        return path;
    return path.left(kHead) + QChar(0x2026) + path.right(kTail);
}

int pathDepth(const QString &canonical)
{
    return canonical == QLatin1String("/") ? 0 : int(canonical.count(QLatin1Char('/')));
}

Result<QStringList> splitPath(const QString &path)
{
    if (!path.startsWith(QLatin1Char('/')))
        return Status::invalidArgument(QStringLiteral("paths in a drive start with '/': '%1'").arg(elidedPath(path)));
    const QStringList parts = path.split(QLatin1Char('/'), Qt::SkipEmptyParts);
    if (parts.size() > kMaxDepth)
        return Status::invalidArgument(QStringLiteral("bad path '%1': it has %2 names: a drive is at most %3 levels deep")
                                           .arg(elidedPath(path))
                                           .arg(parts.size())
                                           .arg(kMaxDepth));
    for (const QString &p : parts) {
        Status st = validateName(p);
        if (!st)
            return Status::invalidArgument(QStringLiteral("bad path '%1': %2").arg(elidedPath(path), st.message()));
    }
    return parts;
}

QString joinPath(const QString &dir, const QString &name)
{
    return dir == QLatin1String("/") ? QLatin1Char('/') + name : dir + QLatin1Char('/') + name;
}

Drive::Drive(std::unique_ptr<storage::Collection> collection, const DriveOptions &options)
    : m_col(std::move(collection))
    , m_options(options)
    , m_live(std::make_unique<View>())
{
    m_live->drive = this;
    m_live->entries.setMaxCost(options.entryCacheBytes);
    m_col->setPayloadCacheBytes(options.blockCacheBytes);
}

// Block locations in the LMDB cache: blockId+version -> extent.
class Drive::LmdbBlockLocator final : public storage::BlockLocator
{
public:
    explicit LmdbBlockLocator(cache::LmdbCache *cache) : m_cache(cache) {}
    std::optional<storage::Extent> find(const Ruid &blockId, uint64_t version) override
    {
        const auto raw = m_cache->blockLocation(key(blockId, version));
        if (!raw || raw->size() != 8)
            return std::nullopt;
        uint64_t v = 0;
        std::memcpy(&v, raw->constData(), 8);
        const storage::Extent e{v & ~uint64_t(0xff), uint8_t(v & 0xff)};
        return e.isValid() ? std::optional<storage::Extent>(e) : std::nullopt;
    }
    void remember(const Ruid &blockId, uint64_t version, const storage::Extent &extent) override
    {
        const uint64_t v = extent.offset | extent.sizeClass;
        m_cache->putBlockLocation(key(blockId, version), QByteArrayView(reinterpret_cast<const char *>(&v), 8));
    }

private:
    static QByteArray key(const Ruid &blockId, uint64_t version)
    {
        QByteArray k = blockId.view().toByteArray();
        k.append(reinterpret_cast<const char *>(&version), sizeof version);
        return k;
    }
    cache::LmdbCache *m_cache;
};

Drive::~Drive()
{
    m_col->setBlockLocator(nullptr);
    // Look-ups made since the last commit describe the committed state the
    // stamp names: worth keeping. Anything else was never written.
    if (m_lmdb && !m_col->hasUncommittedChanges())
        (void)m_lmdb->flush();
}

QByteArray Drive::stamp() const
{
    // The committed state the LMDB cache describes: collection, generation
    // and the catalog root's hash (a rebuilt or restored collection with the
    // same generation number still differs).
    QByteArray s = m_col->ruid().view().toByteArray();
    const uint64_t gen = m_col->generation();
    s.append(reinterpret_cast<const char *>(&gen), sizeof gen);
    s.append(m_col->committedRoot().slot.rawHash.view());
    return s;
}

void Drive::openLmdb()
{
    if (m_options.lmdbCacheDir.isEmpty())
        return;
    auto cache = cache::LmdbCache::open(m_options.lmdbCacheDir);
    if (!cache) {
        // Busy (another process has it) or unwritable: run without it.
        m_lmdbProblem = cache.status().toString();
        return;
    }
    m_lmdb = std::move(cache).value();
    m_locator = std::make_unique<LmdbBlockLocator>(m_lmdb.get());
    m_col->setBlockLocator(m_locator.get());
    m_stats.lmdbResets = uint64_t(m_lmdb->resets());
    if (m_lmdb->stamp() != stamp()) {
        // Written by another process since, or never: start over.
        m_lmdb->clear();
        m_lmdb->setStamp(stamp());
        (void)m_lmdb->flush();
    }
}

QByteArray Drive::cachedRecord(const VNode &n)
{
    QByteArray out = n.parent.view().toByteArray();
    const QByteArray name = n.name.toUtf8();
    const uint16_t len = uint16_t(name.size());
    out.append(reinterpret_cast<const char *>(&len), sizeof len);
    out.append(name);
    out.append(n.encode());
    return out;
}

std::optional<VNode> Drive::fromCachedRecord(QByteArrayView raw)
{
    if (raw.size() < 18)
        return std::nullopt;
    uint16_t len = 0;
    std::memcpy(&len, raw.data() + 16, sizeof len);
    if (raw.size() < 18 + len)
        return std::nullopt;
    auto n = VNode::decode(raw.sliced(18 + len), Ruid::fromView(raw.first(16)), utf8ToString(raw.sliced(18, len)));
    if (!n)
        return std::nullopt;
    return std::move(n).value();
}

Result<std::unique_ptr<Drive>> Drive::open(io::Env &env, const QString &dir, storage::Access access, const DriveOptions &options)
{
    VD_TRY_ASSIGN(auto col, storage::Collection::open(env, dir, access));
    return attach(std::move(col), options);
}

Result<std::unique_ptr<Drive>> Drive::attach(std::unique_ptr<storage::Collection> collection, const DriveOptions &options)
{
    std::unique_ptr<Drive> d(new Drive(std::move(collection), options));
    VD_TRY(d->initialize());
    d->openLmdb();
    return d;
}

Status Drive::initialize()
{
    VD_TRY_ASSIGN(const auto root, m_col->catalog().get(keys::entry(Ruid(), QString())));
    if (root || m_col->isReadOnly())
        return {};
    // A new collection: its root folder and its trash.
    Status st = [&]() -> Status {
        for (const auto &[id, name] : {std::pair{rootId(), QString()}, std::pair{trashId(), QStringLiteral("trash")}}) {
            VNode n;
            n.id = id;
            n.name = name;
            n.kind = Kind::Directory;
            n.createdMs = n.modifiedMs = nowMs();
            n.version = nextVersion();
            VD_TRY(putNode(n));
            m_col->addVnodes(1);
        }
        return m_col->commit();
    }();
    return guard(st);
}

storage::CatalogReader &Drive::View::catalog()
{
    return own ? *own : drive->m_col->catalog();
}

Result<Drive::View *> Drive::view(const QString &at)
{
    VD_TRY(m_col->checkUsable());
    if (at.isEmpty())
        return m_live.get();
    auto it = m_snapshots.find(at);
    if (it != m_snapshots.end())
        return it->second.get();
    VD_TRY_ASSIGN(auto catalog, m_col->snapshotCatalog(at));
    auto v = std::make_unique<View>();
    v->drive = this;
    v->snapshot = at;
    v->own = std::move(catalog);
    v->entries.setMaxCost(m_options.entryCacheBytes / 4);
    View *p = v.get();
    m_snapshots[at] = std::move(v);
    return p;
}

Result<std::optional<VNode>> Drive::lookupEntry(View &v, const Ruid &parent, const QString &name)
{
    const QByteArray key = keys::entry(parent, name);
    if (const VNode *hit = v.entries.object(key)) {
        ++m_stats.entryHits;
        return std::optional<VNode>(*hit);
    }
    ++m_stats.entryMisses;
    VD_TRY_ASSIGN(const auto raw, v.catalog().get(key));
    if (!raw) {
        if (parent.isNull() && name.isEmpty()) {
            // A collection no one has written a tree into yet: an empty root.
            VNode root;
            root.id = rootId();
            root.kind = Kind::Directory;
            return std::optional<VNode>(root);
        }
        return std::optional<VNode>();
    }
    VD_TRY_ASSIGN(VNode n, VNode::decode(*raw, parent, name));
    v.entries.insert(key, new VNode(n), costOf(n));
    return std::optional<VNode>(std::move(n));
}

Result<VNode> Drive::resolve(View &v, const QString &path)
{
    VD_TRY_ASSIGN(const auto found, resolveIfExists(v, path));
    if (!found)
        return Status::notFound(QStringLiteral("no such file or folder: %1%2").arg(path, v.snapshot.isEmpty() ? QString() : QStringLiteral(" (in snapshot '%1')").arg(v.snapshot)));
    return *found;
}

Result<std::optional<VNode>> Drive::resolveIfExists(View &v, const QString &path)
{
    VD_TRY_ASSIGN(const QStringList parts, splitPath(path));
    // The LMDB cache answers for the committed live tree only.
    const bool useLmdb = m_lmdb && &v == m_live.get() && !m_col->hasUncommittedChanges() && !parts.isEmpty();
    if (useLmdb) {
        // Memory first: a warm walk costs a hash look-up per component.
        VD_TRY_ASSIGN(const auto root, lookupEntry(v, Ruid(), QString()));
        VNode cur = *root;
        bool complete = true;
        for (const QString &part : parts) {
            const VNode *hit = cur.isContainer() ? v.entries.object(keys::entry(cur.id, part)) : nullptr;
            if (!hit) {
                complete = false;
                break;
            }
            cur = *hit;
        }
        if (complete) {
            m_stats.entryHits += uint64_t(parts.size());
            return std::optional<VNode>(cur);
        }
    }
    const QString canonical = useLmdb ? QLatin1Char('/') + parts.join(QLatin1Char('/')) : QString();
    if (useLmdb) {
        if (const auto id = m_lmdb->pathId(canonical)) {
            if (const auto raw = m_lmdb->record(*id)) {
                if (auto n = fromCachedRecord(*raw); n && n->id == *id) {
                    ++m_stats.lmdbHits;
                    return std::optional<VNode>(std::move(n));
                }
            }
        }
    }
    VD_TRY_ASSIGN(auto found, walk(v, parts, path));
    if (useLmdb && found) {
        m_lmdb->putPath(canonical, found->id);
        m_lmdb->putRecord(found->id, cachedRecord(*found));
    }
    return found;
}

Result<std::optional<VNode>> Drive::walk(View &v, const QStringList &parts, const QString &path)
{
    VD_TRY_ASSIGN(auto node, lookupEntry(v, Ruid(), QString()));
    for (qsizetype i = 0; i < parts.size(); ++i) {
        if (!node->isContainer()) {
            const QString walked = QLatin1Char('/') + parts.first(i).join(QLatin1Char('/'));
            return Status::notFound(QStringLiteral("%1 is a %2, not a folder: no %3 inside it").arg(walked, kindName(node->kind), path));
        }
        VD_TRY_ASSIGN(auto next, lookupEntry(v, node->id, parts[i]));
        if (!next)
            return std::optional<VNode>();
        node = std::move(next);
    }
    return node;
}

Result<VNode> Drive::nodeById(View &v, const Ruid &id)
{
    if (id == rootId()) {
        VD_TRY_ASSIGN(const auto root, lookupEntry(v, Ruid(), QString()));
        return *root;
    }
    // Where it hangs, then up to the root: a node whose ancestor is gone is
    // detached and never served.
    Ruid cur = id;
    std::optional<VNode> found;
    // A node kMaxDepth levels deep meets the root after as many steps.
    for (int depth = 0; depth <= kMaxDepth; ++depth) {
        if (cur == rootId())
            return *found;
        VD_TRY_ASSIGN(const auto raw, v.catalog().get(keys::index(cur)));
        if (!raw)
            return Status::notFound(QStringLiteral("no node %1 is attached to the tree").arg(id.toString()));
        VD_TRY_ASSIGN(const IndexRecord idx, IndexRecord::decode(*raw));
        VD_TRY_ASSIGN(const auto entry, lookupEntry(v, idx.parent, idx.name));
        if (!entry || entry->id != cur)
            return Status::corruption(QStringLiteral("node %1: its index and its folder entry disagree").arg(cur.toString()));
        if (!found)
            found = entry;
        if (idx.parent.isNull())
            return Status::notFound(QStringLiteral("node %1 is not attached to the tree (it is in the trash)").arg(id.toString()));
        cur = idx.parent;
    }
    return Status::corruption(QStringLiteral("node %1: its parents form a cycle or go more than %2 levels up (run fsck)").arg(id.toString()).arg(kMaxDepth));
}

Result<QString> Drive::pathOfIn(View &v, const Ruid &id)
{
    QStringList parts;
    Ruid cur = id;
    for (int depth = 0; cur != rootId(); ++depth) {
        if (depth == kMaxDepth)
            return Status::corruption(QStringLiteral("node %1: its parents form a cycle or go more than %2 levels up (run fsck)").arg(id.toString()).arg(kMaxDepth));
        VD_TRY_ASSIGN(const auto raw, v.catalog().get(keys::index(cur)));
        if (!raw)
            return Status::notFound(QStringLiteral("no node %1 is attached to the tree").arg(id.toString()));
        VD_TRY_ASSIGN(const IndexRecord idx, IndexRecord::decode(*raw));
        if (idx.parent.isNull())
            return Status::notFound(QStringLiteral("node %1 is in the trash").arg(id.toString()));
        parts.prepend(idx.name);
        cur = idx.parent;
    }
    return QLatin1Char('/') + parts.join(QLatin1Char('/'));
}

Result<std::vector<VNode>> Drive::children(View &v, const VNode &dir)
{
    std::vector<VNode> out;
    Status inner;
    const QByteArray prefix = keys::entryPrefix(dir.id);
    VD_TRY(v.catalog().scan(prefix, keys::entryPrefixEnd(dir.id), [&](QByteArrayView key, QByteArrayView value) {
        // Names from disk are checked like names from users: a damaged entry
        // named "../x" or "a/b" is never handed to anyone who would write it
        // to a local file system.
        auto name = decodeStoredName(dir.id, key.sliced(prefix.size()), QStringLiteral("entry name"));
        if (!name) {
            inner = Status::corruption(QStringLiteral("folder %1 holds an entry with an invalid name (run fsck): %2").arg(dir.id.toString(), name.status().message()));
            return false;
        }
        auto n = VNode::decode(value, dir.id, *name);
        if (!n) {
            inner = n.status();
            return false;
        }
        out.push_back(std::move(n).value());
        return true;
    }));
    VD_TRY(inner);
    if (dir.kind == Kind::JsonObject)
        std::sort(out.begin(), out.end(), [](const VNode &a, const VNode &b) { return a.ordinal < b.ordinal; });
    else if (dir.kind == Kind::JsonArray)
        std::sort(out.begin(), out.end(), [](const VNode &a, const VNode &b) { return a.name.toULongLong() < b.name.toULongLong(); });
    return out;
}

Result<VNode> Drive::stat(const QString &path, const QString &at)
{
    VD_TRY_ASSIGN(View * v, view(at));
    return resolve(*v, path);
}

Result<VNode> Drive::statId(const Ruid &id, const QString &at)
{
    VD_TRY_ASSIGN(View * v, view(at));
    return nodeById(*v, id);
}

Result<QString> Drive::pathOf(const Ruid &id, const QString &at)
{
    VD_TRY_ASSIGN(View * v, view(at));
    VD_TRY(nodeById(*v, id).status());
    return pathOfIn(*v, id);
}

Result<std::vector<VNode>> Drive::list(const QString &path, const QString &at)
{
    VD_TRY_ASSIGN(View * v, view(at));
    VD_TRY_ASSIGN(const VNode dir, resolve(*v, path));
    if (!dir.isContainer())
        return Status::invalidArgument(QStringLiteral("%1 is a %2, not a folder").arg(path, kindName(dir.kind)));
    return children(*v, dir);
}

Result<std::vector<ClusterInfo>> Drive::clusters(const QString &path, const QString &at)
{
    VD_TRY_ASSIGN(View * v, view(at));
    VD_TRY_ASSIGN(const VNode n, resolve(*v, path));
    std::vector<ClusterInfo> out;
    VD_TRY(storage::Collection::forEachCluster(v->catalog(), n.id, [&](uint64_t start, const storage::ClusterRecord &c) -> Status {
        ClusterInfo ci;
        ci.start = start;
        ci.length = c.length();
        ci.birth = c.birth;
        for (const storage::Piece &p : c.pieces) {
            PieceInfo pi;
            if (p.isZero()) {
                pi.zero = true;
                pi.length = p.length;
                ci.pieces.push_back(pi);
                continue;
            }
            pi.packed = p.kind == storage::Piece::Kind::Slot;
            pi.blockId = p.blockId;
            pi.version = p.version;
            pi.sizeClass = p.sizeClass;
            pi.length = p.length;
            pi.storedLength = pi.packed ? p.slot.storedLength : storage::BlockHeader::capacity(p.sizeClass) + storage::BlockHeader::kSize;
            pi.hash = (pi.packed ? p.slot.rawHash : p.hash).toHex();
            ci.pieces.push_back(pi);
        }
        out.push_back(std::move(ci));
        return {};
    }));
    return out;
}

// ---- mutations -------------------------------------------------------------

Version Drive::nextVersion()
{
    const uint64_t counter = m_col->takeVersion();
    return Version{counter, m_col->origin()};
}

Status Drive::putNode(const VNode &n, PutMode mode)
{
    if (mode == PutMode::New)
        m_col->noteGrowth(); // creating is not deleting: no reserve for this transaction
    if (m_lmdb && mode != PutMode::New)
        m_lmdb->removeRecord(n.id); // a new id has nothing cached
    const QByteArray key = keys::entry(n.parent, n.name);
    VD_TRY(m_col->putRecord(key, n.encode()));
    // The index holds where the node hangs and its version: a folder's
    // entry count and time changing touch neither.
    if (mode != PutMode::EntryOnly)
        VD_TRY(m_col->putRecord(keys::index(n.id), IndexRecord{n.parent, n.name, n.version}.encode()));
    m_live->entries.insert(key, new VNode(n), costOf(n));
    return {};
}

Status Drive::eraseNode(const VNode &n)
{
    if (m_lmdb) {
        // Every cached path through this node goes with it; a node in the
        // trash has no path to forget.
        m_lmdb->removeRecord(n.id);
        if (auto p = pathOfIn(*m_live, n.id))
            m_lmdb->invalidatePaths(*p);
    }
    const QByteArray key = keys::entry(n.parent, n.name);
    VD_TRY(m_col->removeRecord(key).status());
    VD_TRY(m_col->removeRecord(keys::index(n.id)).status());
    m_live->entries.remove(key);
    return {};
}

Status Drive::touchParent(const Ruid &parent, int64_t delta)
{
    VD_TRY_ASSIGN(const auto raw, m_col->catalog().get(keys::index(parent)));
    Ruid grand;
    QString name;
    if (raw) {
        VD_TRY_ASSIGN(const IndexRecord idx, IndexRecord::decode(*raw));
        grand = idx.parent;
        name = idx.name;
    }
    VD_TRY_ASSIGN(auto p, lookupEntry(*m_live, grand, name));
    if (!p || p->id != parent)
        return Status::corruption(QStringLiteral("folder %1 has no entry").arg(parent.toString()));
    p->size = uint64_t(std::max<int64_t>(0, int64_t(p->size) + delta));
    p->modifiedMs = nowMs();
    return putNode(*p, PutMode::EntryOnly);
}

Status Drive::recordChange(ChangeOp op, const VNode &n)
{
    ChangeRecord c;
    c.op = op;
    c.id = n.id;
    c.parent = n.parent;
    c.name = n.name;
    c.kind = n.kind;
    c.version = n.version;
    c.timeMs = nowMs();
    const uint64_t seq = m_col->takeChangeSequence();
    return m_col->putRecord(keys::change(seq), c.encode());
}

Status Drive::trimChanges()
{
    while (m_col->nextChange() - m_col->firstChange() > kMaxChangesKept) {
        VD_TRY(m_col->removeRecord(keys::change(m_col->firstChange())).status());
        m_col->dropOldestChange();
    }
    return {};
}

Status Drive::guard(Status st)
{
    if (st)
        return st;
    // The transaction is gone (the collection reloaded its committed state):
    // so are the caches' views of it.
    if (m_col->hasUncommittedChanges())
        (void)m_col->abandonTransaction(st);
    dropCaches();
    return st;
}

void Drive::dropCaches()
{
    m_live->entries.clear();
    m_snapshots.clear();
}

Status Drive::commit()
{
    if (!m_col->hasUncommittedChanges())
        return {};
    Status st = trimChanges();
    if (st)
        st = m_col->commit();
    if (!st) {
        dropCaches();
        return st;
    }
    if (m_lmdb) {
        m_lmdb->setStamp(stamp());
        (void)m_lmdb->flush(); // a cache that cannot be written resets itself
    }
    return st;
}

Status Drive::rollback()
{
    dropCaches();
    return m_col->rollback();
}

Result<std::pair<VNode, QString>> Drive::resolveParent(const QString &path)
{
    VD_TRY_ASSIGN(const QStringList parts, splitPath(path));
    if (parts.isEmpty())
        return Status::invalidArgument(QStringLiteral("the root folder cannot be replaced, moved or removed"));
    QStringList up = parts;
    const QString name = up.takeLast();
    const QString parentPath = QLatin1Char('/') + up.join(QLatin1Char('/'));
    VD_TRY_ASSIGN(const VNode parent, resolve(*m_live, parentPath));
    if (!parent.isContainer())
        return Status::invalidArgument(QStringLiteral("%1 is a %2, not a folder").arg(parentPath, kindName(parent.kind)));
    return std::pair<VNode, QString>(parent, name);
}

Result<VNode> Drive::createNode(const VNode &parent, const QString &name, Kind kind)
{
    VNode n;
    n.id = Ruid::generateOrdered();
    n.parent = parent.id;
    n.name = name;
    n.kind = kind;
    n.createdMs = n.modifiedMs = nowMs();
    n.version = nextVersion();
    VD_TRY(putNode(n, PutMode::New));
    VD_TRY(touchParent(parent.id, +1));
    m_col->addVnodes(1);
    VD_TRY(recordChange(ChangeOp::Create, n));
    return n;
}

Result<VNode> Drive::mkdir(const QString &path, bool parents)
{
    VD_TRY(m_col->checkWritable());
    VD_TRY_ASSIGN(const QStringList parts, splitPath(path));
    if (parts.isEmpty())
        return parents ? resolve(*m_live, path) : Result<VNode>(Status::alreadyExists(QStringLiteral("/ exists")));
    if (!parents) {
        VD_TRY_ASSIGN(const auto pn, resolveParent(path));
        VD_TRY_ASSIGN(const auto existing, lookupEntry(*m_live, pn.first.id, pn.second));
        if (existing)
            return Status::alreadyExists(QStringLiteral("%1 already exists").arg(path));
        if (isJson(pn.first.kind))
            return Status::invalidArgument(QStringLiteral("a folder cannot go inside a JSON document"));
        return guard(createNode(pn.first, pn.second, Kind::Directory));
    }
    VD_TRY(checkFolders(path));
    return guard(ensureFolders(path));
}

Status Drive::checkFolders(const QString &path)
{
    // Refuses up front what ensureFolders() would find only half-way, so a
    // refusal never costs the transaction.
    VD_TRY_ASSIGN(const QStringList parts, splitPath(path));
    VD_TRY_ASSIGN(auto node, lookupEntry(*m_live, Ruid(), QString()));
    QString walked = QStringLiteral("/");
    for (const QString &part : parts) {
        walked = joinPath(walked, part);
        VD_TRY_ASSIGN(auto next, lookupEntry(*m_live, node->id, part));
        if (!next)
            return {};
        if (next->kind != Kind::Directory)
            return Status::alreadyExists(QStringLiteral("%1 exists and is a %2, not a folder").arg(walked, kindName(next->kind)));
        node = std::move(next);
    }
    return {};
}

Result<VNode> Drive::ensureFolders(const QString &path)
{
    VD_TRY_ASSIGN(const QStringList parts, splitPath(path));
    VD_TRY_ASSIGN(auto node, lookupEntry(*m_live, Ruid(), QString()));
    VNode cur = *node;
    QString walked = QStringLiteral("/");
    for (const QString &part : parts) {
        walked = joinPath(walked, part);
        VD_TRY_ASSIGN(auto next, lookupEntry(*m_live, cur.id, part));
        if (next) {
            if (next->kind != Kind::Directory)
                return Status::alreadyExists(QStringLiteral("%1 exists and is a %2, not a folder").arg(walked, kindName(next->kind)));
            cur = *next;
            continue;
        }
        VD_TRY_ASSIGN(cur, createNode(cur, part, Kind::Directory));
    }
    return cur;
}

Result<VNode> Drive::putFile(const QString &path, QIODevice &in, const storage::ProgressFn &progress, io::ZeroRuns *holes)
{
    VD_TRY(m_col->checkWritable());
    VD_TRY_ASSIGN(const auto pn, resolveParent(path));
    const VNode &parent = pn.first;
    const QString &name = pn.second;
    if (isJson(parent.kind))
        return Status::invalidArgument(QStringLiteral("a file cannot go inside a JSON document (use json set)"));
    VD_TRY_ASSIGN(const auto existing, lookupEntry(*m_live, parent.id, name));
    if (existing && existing->kind != Kind::File)
        return Status::alreadyExists(QStringLiteral("%1 exists and is a %2").arg(path, kindName(existing->kind)));
    return guard([&]() -> Result<VNode> {
        VNode n;
        if (existing) {
            n = *existing;
            VD_TRY(m_col->releaseData(n.id));
            m_col->subtractFileBytes(n.size);
        } else {
            // The bytes first, then the node, once: a new file costs one
            // entry, one index record, its folder's entry and the feed.
            n.id = Ruid::generateOrdered();
            n.parent = parent.id;
            n.name = name;
            n.kind = Kind::File;
            n.createdMs = nowMs();
        }
        VD_TRY_ASSIGN(const storage::StreamWritten w, m_col->writeStream(n.id, 0, in, progress, path, holes));
        n.size = w.bytes;
        n.clusterCount = w.clusters;
        n.modifiedMs = nowMs();
        n.version = nextVersion();
        m_col->addFileBytes(n.size);
        VD_TRY(putNode(n, existing ? PutMode::Update : PutMode::New));
        if (!existing) {
            VD_TRY(touchParent(parent.id, +1));
            m_col->addVnodes(1);
        }
        VD_TRY(recordChange(existing ? ChangeOp::Modify : ChangeOp::Create, n));
        return n;
    }());
}

Result<VNode> Drive::putFileBytes(const QString &path, QByteArrayView bytes)
{
    QByteArray copy = bytes.toByteArray();
    QBuffer buf(&copy);
    buf.open(QIODevice::ReadOnly);
    return putFile(path, buf);
}

Result<VNode> Drive::writeFile(const QString &path, uint64_t offset, QByteArrayView data)
{
    VD_TRY(m_col->checkWritable());
    VD_TRY_ASSIGN(const auto pn, resolveParent(path));
    const VNode &parent = pn.first;
    const QString &name = pn.second;
    VD_TRY_ASSIGN(const auto existing, lookupEntry(*m_live, parent.id, name));
    if (existing && existing->kind != Kind::File)
        return Status::invalidArgument(QStringLiteral("%1 is a %2, not a file").arg(path, kindName(existing->kind)));
    if (!existing && isJson(parent.kind))
        return Status::invalidArgument(QStringLiteral("a file cannot go inside a JSON document"));
    if (data.size() > qsizetype(storage::Collection::kMaxRangeWrite))
        return Status::invalidArgument(QStringLiteral("a range write is at most %1 MiB").arg(storage::Collection::kMaxRangeWrite >> 20));
    return guard([&]() -> Result<VNode> {
        VNode n;
        if (existing) {
            n = *existing;
        } else {
            VD_TRY_ASSIGN(n, createNode(parent, name, Kind::File));
        }
        storage::StreamWritten w;
        VD_TRY(m_col->writeRange(n.id, n.size, offset, data, &w));
        m_col->addFileBytes(w.bytes - n.size);
        n.size = w.bytes;
        n.clusterCount = n.clusterCount - w.replaced + w.clusters;
        n.modifiedMs = nowMs();
        n.version = nextVersion();
        VD_TRY(putNode(n));
        VD_TRY(recordChange(ChangeOp::Modify, n));
        return n;
    }());
}

Result<VNode> Drive::appendFile(const QString &path, QByteArrayView data)
{
    VD_TRY_ASSIGN(const auto found, resolveIfExists(*m_live, path));
    return writeFile(path, found ? found->size : 0, data);
}

Status Drive::readFile(const QString &path, QIODevice &out, const storage::ProgressFn &progress, const QString &at)
{
    VD_TRY_ASSIGN(View * v, view(at));
    VD_TRY_ASSIGN(const VNode n, resolve(*v, path));
    if (isJson(n.kind))
        return exportJson(path, out, 2, at);
    if (n.kind != Kind::File)
        return Status::invalidArgument(QStringLiteral("%1 is a folder").arg(path));
    return m_col->streamData(v->catalog(), n.id, n.size, out, progress, path);
}

Result<QByteArray> Drive::read(const QString &path, uint64_t offset, uint64_t length, const QString &at)
{
    VD_TRY_ASSIGN(View * v, view(at));
    VD_TRY_ASSIGN(const VNode n, resolve(*v, path));
    if (n.kind == Kind::JsonValue)
        return offset >= uint64_t(n.value.size()) ? QByteArray() : n.value.mid(qsizetype(offset), qsizetype(std::min<uint64_t>(length, INT32_MAX)));
    if (n.kind != Kind::File)
        return Status::invalidArgument(QStringLiteral("%1 is a %2, not a file").arg(path, kindName(n.kind)));
    return m_col->readData(v->catalog(), n.id, n.size, offset, length, path);
}

Status Drive::invalidate(const VNode &n, bool)
{
    // Entries are cached by (folder, name): a moved or removed node's entry
    // is dropped here; entries below it stay keyed by their folder's id and
    // are reached only through it, so they go stale harmlessly and expire.
    m_live->entries.remove(keys::entry(n.parent, n.name));
    return {};
}

Result<uint64_t> Drive::nextOrdinal(const VNode &object)
{
    VD_TRY_ASSIGN(const auto kids, children(*m_live, object));
    return kids.empty() ? uint64_t(0) : kids.back().ordinal + 1;
}

Status Drive::checkPlacement(const VNode &node, const VNode &dstParent, const QString &dstName, const QString &from, const QString &to, bool refuseInsideItself)
{
    VD_TRY_ASSIGN(const auto existing, lookupEntry(*m_live, dstParent.id, dstName));
    if (existing)
        return Status::alreadyExists(QStringLiteral("%1 already exists").arg(to));
    if (dstParent.kind == Kind::JsonArray)
        return Status::invalidArgument(QStringLiteral("elements of a JSON array are placed with json set"));
    if (isJson(dstParent.kind) && !isJson(node.kind))
        return Status::invalidArgument(QStringLiteral("a %1 cannot go inside a JSON document").arg(kindName(node.kind)));
    if (!refuseInsideItself || !node.isContainer())
        return {};
    Ruid cur = dstParent.id;
    for (int steps = 0; !cur.isNull() && cur != rootId(); ++steps) {
        if (steps == kMaxDepth)
            return Status::corruption(QStringLiteral("the parents of %1 form a cycle or go more than %2 levels up (run fsck)").arg(to).arg(kMaxDepth));
        if (cur == node.id)
            return Status::invalidArgument(QStringLiteral("cannot put %1 inside itself (%2)").arg(from, to));
        VD_TRY_ASSIGN(const auto raw, m_col->catalog().get(keys::index(cur)));
        if (!raw)
            break;
        VD_TRY_ASSIGN(const IndexRecord idx, IndexRecord::decode(*raw));
        cur = idx.parent;
    }
    return {};
}

Result<VNode> Drive::move(const QString &from, const QString &to)
{
    VD_TRY(m_col->checkWritable());
    VD_TRY_ASSIGN(const VNode src, resolve(*m_live, from));
    if (src.id == rootId())
        return Status::invalidArgument(QStringLiteral("the root folder cannot be moved"));
    VD_TRY_ASSIGN(const auto pn, resolveParent(to));
    const VNode &dstParent = pn.first;
    const QString &dstName = pn.second;
    VD_TRY(checkPlacement(src, dstParent, dstName, from, to, true));
    if (dstParent.id == src.parent && dstName == src.name)
        return src;
    VD_TRY_ASSIGN(const QStringList fromParts, splitPath(from));
    VD_TRY_ASSIGN(const QStringList toParts, splitPath(to));
    VD_TRY(checkDepth(*m_live, src, int(fromParts.size()), int(toParts.size()),
                      QStringLiteral("moving %1 to %2").arg(elidedPath(from), elidedPath(to))));
    return guard([&]() -> Result<VNode> {
        VNode n = src;
        VD_TRY(eraseNode(src));
        VD_TRY(invalidate(src, true));
        if (src.parent != dstParent.id)
            VD_TRY(touchParent(src.parent, -1));
        n.parent = dstParent.id;
        n.name = dstName;
        n.version = nextVersion();
        if (dstParent.kind == Kind::JsonObject) {
            VD_TRY_ASSIGN(n.ordinal, nextOrdinal(dstParent));
        }
        VD_TRY(putNode(n));
        if (src.parent != dstParent.id)
            VD_TRY(touchParent(dstParent.id, +1));
        VD_TRY(recordChange(ChangeOp::Move, n));
        return n;
    }());
}

Result<VNode> Drive::copyTree(View &from, const VNode &src, const VNode &dstParent, const QString &dstName, uint64_t ordinal, int depth)
{
    // made[level]: the copy of the node entered last at that level, which
    // is the parent of the nodes entered next one level down.
    std::vector<VNode> made;
    VD_TRY(walkBelow(from, src, kMaxDepth - depth, [&](const VNode &s, int level) -> Result<Step> {
        VNode n = s;
        n.id = Ruid::generateOrdered();
        if (level == 0) {
            n.parent = dstParent.id;
            n.name = dstName;
            n.ordinal = ordinal;
        } else {
            n.parent = made[size_t(level - 1)].id;
        }
        n.createdMs = n.modifiedMs = nowMs();
        n.version = nextVersion();
        if (n.kind == Kind::File) {
            VD_TRY(m_col->copyData(from.catalog(), s.id, n.id));
            m_col->addFileBytes(n.size);
        } else if (n.kind == Kind::JsonValue) {
            m_col->addFileBytes(n.size);
        }
        VD_TRY(putNode(n, PutMode::New));
        m_col->addVnodes(1);
        made.resize(size_t(level));
        made.push_back(std::move(n));
        return Step::Descend;
    }));
    return made.front();
}

Status Drive::walkBelow(View &v, const VNode &top, int maxLevel, const std::function<Result<Step>(const VNode &, int level)> &enter,
                        const std::function<Status(const VNode &, int level)> &leave)
{
    struct Frame
    {
        VNode node;
        int level = 0;
        std::vector<VNode> kids;
        size_t next = 0;
    };
    std::vector<Frame> stack;
    auto visit = [&](const VNode &n, int level) -> Status {
        VD_TRY_ASSIGN(const Step step, enter(n, level));
        if (step != Step::Descend || !n.isContainer())
            return {};
        VD_TRY_ASSIGN(auto kids, children(v, n));
        if (!kids.empty() && level >= maxLevel)
            return Status::corruption(QStringLiteral("'%1' holds entries more than %2 levels below it: a cycle, or a tree deeper than a drive holds (run fsck)")
                                          .arg(top.name)
                                          .arg(maxLevel));
        stack.push_back(Frame{n, level, std::move(kids), 0});
        return {};
    };
    VD_TRY(visit(top, 0));
    while (!stack.empty()) {
        Frame &f = stack.back();
        if (f.next < f.kids.size()) {
            const VNode kid = std::move(f.kids[f.next++]); // visit() may grow the stack
            VD_TRY(visit(kid, f.level + 1));
            continue;
        }
        const Frame done = std::move(f);
        stack.pop_back();
        if (leave)
            VD_TRY(leave(done.node, done.level));
    }
    return {};
}

Status Drive::checkDepth(View &v, const VNode &node, int depthNow, int depth, const QString &what)
{
    // Nothing in the tree is deeper than kMaxDepth, so a node goes no
    // deeper than it is without anything below it passing the limit.
    if (depth <= depthNow || !node.isContainer())
        return {};
    const int room = kMaxDepth - depth; // levels allowed below the node
    // Level by level, the containers only, each record read no further than
    // its kind and id. An entry `room + 1` levels down is one too many (a
    // cycle below the node, too, ends there).
    std::vector<Ruid> level{node.id};
    for (int below = 1; !level.empty(); ++below) {
        std::vector<Ruid> next;
        bool tooDeep = false;
        Status inner;
        for (const Ruid &dir : level) {
            VD_TRY(v.catalog().scan(keys::entryPrefix(dir), keys::entryPrefixEnd(dir), [&](QByteArrayView, QByteArrayView value) {
                if (below > room)
                    return !(tooDeep = true);
                auto container = VNode::containerIdOf(value);
                if (!container) {
                    inner = container.status();
                    return false;
                }
                if (*container)
                    next.push_back(**container);
                return true;
            }));
            VD_TRY(inner);
            if (tooDeep)
                return Status::invalidArgument(
                    QStringLiteral("%1 would put what lies below it past level %2: a drive is at most %2 levels deep").arg(what).arg(kMaxDepth));
        }
        level = std::move(next);
    }
    return {};
}

Result<VNode> Drive::copy(const QString &from, const QString &to, const QString &at)
{
    VD_TRY(m_col->checkWritable());
    VD_TRY_ASSIGN(View * src, view(at));
    VD_TRY_ASSIGN(const VNode s, resolve(*src, from));
    if (s.id == rootId())
        return Status::invalidArgument(QStringLiteral("the root folder cannot be copied (copy its entries)"));
    VD_TRY_ASSIGN(const auto pn, resolveParent(to));
    const VNode &dstParent = pn.first;
    const QString &dstName = pn.second;
    VD_TRY(checkPlacement(s, dstParent, dstName, from, to, at.isEmpty()));
    VD_TRY_ASSIGN(const QStringList fromParts, splitPath(from));
    VD_TRY_ASSIGN(const QStringList toParts, splitPath(to));
    const int depth = int(toParts.size());
    VD_TRY(checkDepth(*src, s, int(fromParts.size()), depth, QStringLiteral("copying %1 to %2").arg(elidedPath(from), elidedPath(to))));
    return guard([&]() -> Result<VNode> {
        uint64_t ordinal = 0;
        if (dstParent.kind == Kind::JsonObject) {
            VD_TRY_ASSIGN(ordinal, nextOrdinal(dstParent));
        }
        VD_TRY_ASSIGN(const VNode n, copyTree(*src, s, dstParent, dstName, ordinal, depth));
        VD_TRY(touchParent(dstParent.id, +1));
        VD_TRY(recordChange(ChangeOp::Create, n));
        return n;
    }());
}

Status Drive::removeTree(const VNode &n, int depth)
{
    // A folder's entry goes before its children's, so the path of each
    // node below it is forgotten with the folder's, not looked up one by one.
    return walkBelow(*m_live, n, kMaxDepth - depth, [&](const VNode &k, int) -> Result<Step> {
        if (k.kind == Kind::File)
            VD_TRY(m_col->releaseData(k.id));
        if (k.kind == Kind::File || k.kind == Kind::JsonValue)
            m_col->subtractFileBytes(k.size);
        VD_TRY(eraseNode(k));
        m_col->addVnodes(-1);
        return Step::Descend;
    });
}

Status Drive::remove(const QString &path, bool recursive, bool toTrash)
{
    VD_TRY(m_col->checkWritable());
    VD_TRY_ASSIGN(const VNode n, resolve(*m_live, path));
    if (n.id == rootId())
        return Status::invalidArgument(QStringLiteral("the root folder cannot be removed"));
    if (n.isContainer() && n.size > 0 && !recursive)
        return Status::invalidArgument(QStringLiteral("%1 is not empty (remove it recursively)").arg(path));
    if (toTrash && isJson(n.kind)) {
        VD_TRY_ASSIGN(const VNode parent, nodeById(*m_live, n.parent));
        if (isJson(parent.kind))
            return Status::invalidArgument(QStringLiteral("%1 is inside a JSON document: delete it with json del (there is no trash inside documents)").arg(path));
    }
    VD_TRY_ASSIGN(const QString canonical, pathOfIn(*m_live, n.id));
    return guard([&]() -> Status {
        // Removing never needs new space: on a full disk its commit may use
        // the reserve.
        m_col->beginDelete();
        VD_TRY(invalidate(n, true));
        if (!toTrash && !isJson(n.kind)) {
            // Files and folders go in batches when the disk is too full for
            // one commit (a JSON document goes whole, below).
            Removal r;
            r.top = n;
            r.originalPath = canonical;
            VD_TRY(removeInBatches(r, n, pathDepth(canonical)));
            if (r.inTrash) {
                // A batch moved it to the trash and said so in the feed;
                // its entry there is what went last.
                VD_TRY(touchParent(trashId(), -1));
                return m_col->removeRecord(keys::trash(n.id)).status();
            }
        } else if (toTrash) {
            VD_TRY(eraseNode(n));
            VNode t = n;
            t.parent = trashId();
            t.name = n.id.toString();
            t.version = nextVersion();
            VD_TRY(putNode(t));
            VD_TRY(touchParent(trashId(), +1));
            TrashRecord rec;
            rec.originalParent = n.parent;
            rec.originalName = n.name;
            rec.originalPath = canonical;
            rec.deletedMs = nowMs();
            VD_TRY(m_col->putRecord(keys::trash(n.id), rec.encode()));
        } else {
            VD_TRY(removeTree(n, pathDepth(canonical)));
        }
        VD_TRY(touchParent(n.parent, -1));
        VNode gone = n;
        gone.version = nextVersion();
        VD_TRY(recordChange(ChangeOp::Remove, gone));
        if (n.parent != rootId() && isJson(n.kind)) {
            // Removing an array element renumbers the ones after it.
            VD_TRY_ASSIGN(const VNode parent, nodeById(*m_live, n.parent));
            if (parent.kind == Kind::JsonArray)
                VD_TRY(renumberArray(parent));
        }
        return {};
    }());
}

Status Drive::removeInBatches(Removal &r, const VNode &n, int depth)
{
    // Children go before their folder (so a commit between two entries
    // leaves a whole tree), without recursion and no deeper than the limit.
    auto eraseOne = [&](const VNode &k) -> Status {
        const VNode &self = k.id == r.top.id ? r.top : k; // the top may have moved to the trash
        if (self.kind == Kind::File)
            VD_TRY(m_col->releaseData(self.id));
        if (self.kind == Kind::File || self.kind == Kind::JsonValue)
            m_col->subtractFileBytes(self.size);
        VD_TRY(eraseNode(self));
        m_col->addVnodes(-1);
        return {};
    };
    // An entry of the innermost folder being emptied is gone: between two
    // entries of a folder the tree is whole, so a commit may go here when
    // the next one might not fit on the disk.
    auto entryGone = [&](const VNode &k) -> Status {
        if (k.id == r.top.id || r.pending.empty())
            return {};
        --r.pending.back().second;
        VD_TRY_ASSIGN(const bool tight, m_col->commitMayNotFit());
        if (tight)
            VD_TRY(commitRemoval(r));
        return {};
    };
    return walkBelow(
        *m_live, n, kMaxDepth - depth,
        [&](const VNode &k, int level) -> Result<Step> {
            if (isJson(k.kind)) {
                // A JSON document goes in one piece.
                VD_TRY(removeTree(k, depth + level));
                VD_TRY(entryGone(k));
                return Step::Skip;
            }
            if (k.isContainer()) {
                const bool cycle = std::any_of(r.pending.begin(), r.pending.end(), [&](const auto &p) { return p.first == k.id; });
                if (cycle) {
                    // Damage: an entry that holds a folder being emptied
                    // above it. The entry goes; the folder goes once, at
                    // its own place.
                    const QByteArray key = keys::entry(k.parent, k.name);
                    VD_TRY(m_col->removeRecord(key).status());
                    m_live->entries.remove(key);
                    VD_TRY(entryGone(k));
                    return Step::Skip;
                }
                r.pending.emplace_back(k.id, 0);
                return Step::Descend;
            }
            VD_TRY(eraseOne(k));
            VD_TRY(entryGone(k));
            return Step::Skip;
        },
        [&](const VNode &k, int) -> Status {
            r.pending.pop_back();
            VD_TRY(eraseOne(k));
            return entryGone(k);
        });
}

Status Drive::commitRemoval(Removal &r)
{
    // The folders part-way emptied get their entry counts...
    for (auto &[id, removed] : r.pending) {
        if (removed != 0)
            VD_TRY(touchParent(id, removed));
        removed = 0;
    }
    // ...and what is left of the node waits in the trash, where a crash or
    // a failure leaves it (`trash empty` finishes the job).
    if (!r.inTrash) {
        VD_TRY_ASSIGN(const auto now, lookupEntry(*m_live, r.top.parent, r.top.name));
        if (!now || now->id != r.top.id)
            return Status::corruption(QStringLiteral("%1 has no entry any more").arg(r.originalPath));
        VD_TRY(eraseNode(*now));
        VNode t = *now;
        t.parent = trashId();
        t.name = now->id.toString();
        t.version = nextVersion();
        VD_TRY(putNode(t));
        VD_TRY(touchParent(trashId(), +1));
        TrashRecord rec;
        rec.originalParent = now->parent;
        rec.originalName = now->name;
        rec.originalPath = r.originalPath;
        rec.deletedMs = nowMs();
        VD_TRY(m_col->putRecord(keys::trash(now->id), rec.encode()));
        VD_TRY(touchParent(now->parent, -1));
        VNode gone = *now;
        gone.version = nextVersion();
        VD_TRY(recordChange(ChangeOp::Remove, gone));
        r.top = t;
        r.inTrash = true;
    }
    VD_TRY(commit());
    m_col->beginDelete();
    return {};
}

Status Drive::renumberArray(const VNode &array)
{
    VD_TRY_ASSIGN(const auto kids, children(*m_live, array));
    for (size_t i = 0; i < kids.size(); ++i) {
        const QString want = QString::number(i);
        if (kids[i].name == want)
            continue;
        VD_TRY(eraseNode(kids[i]));
        VNode k = kids[i];
        k.name = want;
        VD_TRY(putNode(k));
    }
    return {};
}

Result<std::vector<TrashEntry>> Drive::listTrash()
{
    VD_TRY(m_col->checkUsable());
    std::vector<TrashEntry> out;
    std::vector<std::pair<Ruid, TrashRecord>> recs;
    Status inner;
    VD_TRY(m_col->catalog().scan(QByteArray(1, keys::kTrash), QByteArray(1, keys::kTrash + 1), [&](QByteArrayView key, QByteArrayView value) {
        auto rec = TrashRecord::decode(value);
        if (!rec || key.size() != 17) {
            inner = rec ? Status::corruption(QStringLiteral("malformed trash key")) : rec.status();
            return false;
        }
        recs.emplace_back(Ruid::fromView(key.sliced(1)), std::move(rec).value());
        return true;
    }));
    VD_TRY(inner);
    for (const auto &[id, rec] : recs) {
        VD_TRY_ASSIGN(const auto n, lookupEntry(*m_live, trashId(), id.toString()));
        if (!n)
            return Status::corruption(QStringLiteral("trash entry %1 has no node").arg(id.toString()));
        out.push_back(TrashEntry{id, rec.originalPath, rec.deletedMs, n->kind, n->size});
    }
    std::sort(out.begin(), out.end(), [](const TrashEntry &a, const TrashEntry &b) { return a.deletedMs > b.deletedMs; });
    return out;
}

Result<VNode> Drive::restoreFromTrash(const Ruid &id, const QString &to)
{
    VD_TRY(m_col->checkWritable());
    VD_TRY_ASSIGN(const auto raw, m_col->catalog().get(keys::trash(id)));
    if (!raw)
        return Status::notFound(QStringLiteral("nothing with id %1 is in the trash").arg(id.toString()));
    VD_TRY_ASSIGN(const TrashRecord rec, TrashRecord::decode(*raw));
    VD_TRY_ASSIGN(const auto node, lookupEntry(*m_live, trashId(), id.toString()));
    if (!node)
        return Status::corruption(QStringLiteral("trash entry %1 has no node").arg(id.toString()));
    const QString target = to.isEmpty() ? rec.originalPath : to;
    VD_TRY_ASSIGN(const QStringList parts, splitPath(target));
    if (parts.isEmpty())
        return Status::invalidArgument(QStringLiteral("cannot restore over the root folder"));
    VD_TRY_ASSIGN(const auto existing, resolveIfExists(*m_live, target));
    if (existing)
        return Status::alreadyExists(QStringLiteral("%1 exists; restore to another path").arg(target));
    QStringList up = parts;
    const QString name = up.takeLast();
    VD_TRY(checkFolders(QLatin1Char('/') + up.join(QLatin1Char('/'))));
    VD_TRY(checkDepth(*m_live, *node, 1, int(parts.size()), QStringLiteral("restoring %1 to %2").arg(id.toString(), elidedPath(target))));
    return guard([&]() -> Result<VNode> {
        VD_TRY_ASSIGN(const VNode parent, ensureFolders(QLatin1Char('/') + up.join(QLatin1Char('/'))));
        VD_TRY(eraseNode(*node));
        VD_TRY(touchParent(trashId(), -1));
        VNode n = *node;
        n.parent = parent.id;
        n.name = name;
        n.version = nextVersion();
        VD_TRY(putNode(n));
        VD_TRY(touchParent(parent.id, +1));
        VD_TRY(m_col->removeRecord(keys::trash(id)).status());
        VD_TRY(recordChange(ChangeOp::Create, n));
        return n;
    }());
}

Result<uint64_t> Drive::emptyTrash(int64_t deletedBeforeMs)
{
    VD_TRY(m_col->checkWritable());
    VD_TRY_ASSIGN(const auto entries, listTrash());
    uint64_t removed = 0;
    Status st = [&]() -> Status {
        m_col->beginDelete();
        for (const TrashEntry &e : entries) {
            if (e.deletedMs >= deletedBeforeMs)
                continue;
            VD_TRY_ASSIGN(const auto n, lookupEntry(*m_live, trashId(), e.id.toString()));
            if (!n)
                return Status::corruption(QStringLiteral("trash entry %1 has no node").arg(e.id.toString()));
            Removal r;
            r.top = *n;
            r.inTrash = true;
            r.originalPath = e.originalPath;
            VD_TRY(removeInBatches(r, *n, 1));
            VD_TRY(touchParent(trashId(), -1));
            VD_TRY(m_col->removeRecord(keys::trash(e.id)).status());
            ++removed;
        }
        return {};
    }();
    VD_TRY(guard(st));
    return removed;
}

Result<DuInfo> Drive::du(const QString &path, const QString &at)
{
    VD_TRY_ASSIGN(View * v, view(at));
    VD_TRY_ASSIGN(const VNode top, resolve(*v, path));
    VD_TRY_ASSIGN(const QStringList parts, splitPath(path));
    DuInfo info;
    VD_TRY(walkBelow(*v, top, kMaxDepth - int(parts.size()), [&](const VNode &n, int) -> Result<Step> {
        switch (n.kind) {
        case Kind::Directory:
            ++info.directories;
            break;
        case Kind::File:
            ++info.files;
            info.logicalBytes += n.size;
            break;
        default:
            ++info.jsonNodes;
            if (n.kind == Kind::JsonValue)
                info.logicalBytes += n.size;
        }
        return Step::Descend;
    }));
    return info;
}

Result<std::vector<ChangeRecord>> Drive::changesSince(uint64_t from, size_t limit)
{
    VD_TRY(m_col->checkUsable());
    std::vector<ChangeRecord> out;
    Status inner;
    VD_TRY(m_col->catalog().scan(keys::change(std::max<uint64_t>(from, 1)), QByteArray(1, keys::kChange + 1), [&](QByteArrayView key, QByteArrayView value) {
        uint64_t seq = 0;
        if (!keys::parseChangeKey(key, &seq)) {
            inner = Status::corruption(QStringLiteral("malformed change key"));
            return false;
        }
        auto c = ChangeRecord::decode(value, seq);
        if (!c) {
            inner = c.status();
            return false;
        }
        out.push_back(std::move(c).value());
        return out.size() < limit;
    }));
    VD_TRY(inner);
    return out;
}

Drive::CacheStats Drive::cacheStats() const
{
    CacheStats s = m_stats;
    if (m_lmdb)
        s.lmdbResets = uint64_t(m_lmdb->resets());
    return s;
}

} // namespace vd::tree
