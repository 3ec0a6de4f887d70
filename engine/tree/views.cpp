#include "views.h"

#include "storage/collection.h"
#include "storage/readertable.h"

namespace vd::tree {

Views::Views(storage::Collection &collection, qint64 entryCacheBytes)
    : m_checkUsable([&collection] { return collection.checkUsable(); })
    , m_openSnapshot([&collection](const QString &name) { return collection.snapshotCatalog(name); })
    , m_entryCacheBytes(entryCacheBytes)
    , m_live(std::make_unique<TreeView>(collection.catalog(), QString(), entryCacheBytes))
{
}

Views::Views(storage::GenerationReader &reader, qint64 entryCacheBytes)
    : m_checkUsable([] { return Status(); })
    , m_openSnapshot([&reader](const QString &name) { return reader.snapshotCatalog(name); })
    , m_entryCacheBytes(entryCacheBytes)
    , m_live(std::make_unique<TreeView>(reader.catalog(), QString(), entryCacheBytes))
{
}

Views::~Views() = default;

Result<TreeView *> Views::view(const QString &at)
{
    VD_TRY(m_checkUsable());
    if (at.isEmpty())
        return m_live.get();
    auto it = m_snapshots.find(at);
    if (it != m_snapshots.end())
        return it->second.get();
    VD_TRY_ASSIGN(auto catalog, m_openSnapshot(at));
    auto v = std::make_unique<TreeView>(std::move(catalog), at, m_entryCacheBytes / 4);
    TreeView *p = v.get();
    m_snapshots[at] = std::move(v);
    return p;
}

void Views::retire(const TreeView &view)
{
    const TreeView::Stats s = view.stats();
    m_retired.entryHits += s.entryHits;
    m_retired.entryMisses += s.entryMisses;
    m_retired.lmdbHits += s.lmdbHits;
}

void Views::drop()
{
    m_live->clearCache();
    for (const auto &[name, v] : m_snapshots)
        retire(*v);
    m_snapshots.clear();
}

void Views::dropSnapshot(const QString &name)
{
    const auto it = m_snapshots.find(name);
    if (it == m_snapshots.end())
        return;
    retire(*it->second);
    m_snapshots.erase(it);
}

TreeView::Stats Views::stats() const
{
    TreeView::Stats s = m_retired;
    auto add = [&](const TreeView &v) {
        const TreeView::Stats t = v.stats();
        s.entryHits += t.entryHits;
        s.entryMisses += t.entryMisses;
        s.lmdbHits += t.lmdbHits;
    };
    add(*m_live);
    for (const auto &[name, v] : m_snapshots)
        add(*v);
    return s;
}

} // namespace vd::tree
