#include "lmdbtreecache.h"

#include "core/utf8.h"
#include "cache/lmdbcache.h"
#include "storage/collection.h"

#include <cstring>

namespace vd::tree {

namespace {

// A node as cached: parent id, name (u16 length + UTF-8), the entry record.
QByteArray cachedRecord(const VNode &n)
{
    QByteArray out = n.parent.view().toByteArray();
    const QByteArray name = n.name.toUtf8();
    const uint16_t len = uint16_t(name.size());
    out.append(reinterpret_cast<const char *>(&len), sizeof len);
    out.append(name);
    out.append(n.encode());
    return out;
}

std::optional<VNode> fromCachedRecord(QByteArrayView raw)
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

} // namespace

// Block locations in the LMDB cache: blockId+version -> extent.
class LmdbTreeCache::Locator final : public storage::BlockLocator
{
public:
    explicit Locator(cache::LmdbCache *cache) : m_cache(cache) {}
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

std::unique_ptr<LmdbTreeCache> LmdbTreeCache::open(const QString &dir, storage::Collection &collection, QString *problem)
{
    auto cache = cache::LmdbCache::open(dir);
    if (!cache) {
        if (problem)
            *problem = cache.status().toString();
        return nullptr;
    }
    return std::unique_ptr<LmdbTreeCache>(new LmdbTreeCache(std::move(cache).value(), collection));
}

LmdbTreeCache::LmdbTreeCache(std::unique_ptr<cache::LmdbCache> cache, storage::Collection &collection)
    : m_cache(std::move(cache))
    , m_collection(collection)
    , m_locator(std::make_unique<Locator>(m_cache.get()))
{
    m_collection.setBlockLocator(m_locator.get());
    if (m_cache->stamp() != stamp()) {
        // Written by another process since, or never: start over.
        m_cache->clear();
        m_cache->setStamp(stamp());
        (void)m_cache->flush();
    }
}

LmdbTreeCache::~LmdbTreeCache()
{
    m_collection.setBlockLocator(nullptr);
    // Look-ups made since the last commit describe the committed state the
    // stamp names: worth keeping. Anything else was never written.
    if (!m_collection.hasUncommittedChanges())
        (void)m_cache->flush();
}

QByteArray LmdbTreeCache::stamp() const
{
    // The committed state the cache describes: collection, generation and
    // the catalog root's hash (a rebuilt or restored collection with the
    // same generation number still differs).
    QByteArray s = m_collection.ruid().view().toByteArray();
    const uint64_t gen = m_collection.generation();
    s.append(reinterpret_cast<const char *>(&gen), sizeof gen);
    s.append(m_collection.committedRoot().slot.rawHash.view());
    return s;
}

std::optional<VNode> LmdbTreeCache::node(const QString &canonicalPath)
{
    const auto id = m_cache->pathId(canonicalPath);
    if (!id)
        return std::nullopt;
    const auto raw = m_cache->record(*id);
    if (!raw)
        return std::nullopt;
    auto n = fromCachedRecord(*raw);
    if (!n || n->id != *id)
        return std::nullopt;
    return n;
}

void LmdbTreeCache::remember(const QString &canonicalPath, const VNode &node)
{
    m_cache->putPath(canonicalPath, node.id);
    m_cache->putRecord(node.id, cachedRecord(node));
}

void LmdbTreeCache::forgetNode(const Ruid &id)
{
    m_cache->removeRecord(id);
}

void LmdbTreeCache::forgetPaths(const QString &canonicalPath)
{
    m_cache->invalidatePaths(canonicalPath);
}

void LmdbTreeCache::committed()
{
    m_cache->setStamp(stamp());
    (void)m_cache->flush(); // a cache that cannot be written resets itself
}

uint64_t LmdbTreeCache::resets() const
{
    return uint64_t(m_cache->resets());
}

} // namespace vd::tree
