#include "tombstones.h"

#include "core/bytes.h"

#include "storage/catalogreader.h"
#include "storage/collection.h"

#include <algorithm>

namespace vd::tree {

namespace {
constexpr uint8_t kCountFormat = 1;
} // namespace

Result<std::optional<Tombstone>> Tombstones::find(storage::CatalogReader &catalog, const Ruid &id)
{
    VD_TRY_ASSIGN(const auto raw, catalog.get(keys::tombstone(id)));
    if (!raw)
        return std::optional<Tombstone>();
    VD_TRY_ASSIGN(Tombstone t, Tombstone::decode(*raw));
    return std::optional<Tombstone>(std::move(t));
}

Result<uint64_t> Tombstones::count(storage::CatalogReader &catalog)
{
    VD_TRY_ASSIGN(const auto raw, catalog.get(keys::tombstoneCount()));
    if (!raw)
        return uint64_t(0);
    ByteReader r(*raw, QStringLiteral("tombstone count"));
    r.format(kCountFormat, kCountFormat);
    const uint64_t n = r.u64();
    VD_TRY(r.finish());
    return n;
}

Status Tombstones::forEach(storage::CatalogReader &catalog, const Visit &fn)
{
    Status inner;
    // The count record is 'X' alone: every tombstone key is 'X' and 16 bytes.
    VD_TRY(catalog.scan(keys::tombstone(Ruid()), QByteArray(1, keys::kTombstone + 1), [&](QByteArrayView key, QByteArrayView value) {
        if (key.size() != 17) {
            inner = Status::corruption(QStringLiteral("malformed tombstone key"));
            return false;
        }
        const Ruid id = Ruid::fromView(key.sliced(1));
        auto t = Tombstone::decode(value);
        if (!t) {
            inner = Status::corruption(QStringLiteral("the tombstone of %1: %2").arg(id.toString(), t.status().message()));
            return false;
        }
        auto go = fn(id, *t);
        if (!go) {
            inner = go.status();
            return false;
        }
        return *go;
    }));
    return inner;
}

Status Tombstones::setCount(uint64_t n)
{
    if (n == 0)
        return m_col.removeRecord(keys::tombstoneCount()).status();
    QByteArray out;
    ByteWriter w(&out);
    w.u8(kCountFormat);
    w.u64(n);
    return m_col.putRecord(keys::tombstoneCount(), out);
}

Status Tombstones::put(const Ruid &id, const Tombstone &t)
{
    VD_TRY_ASSIGN(const auto raw, m_col.catalog().get(keys::tombstone(id)));
    if (!raw) {
        VD_TRY_ASSIGN(const uint64_t n, count(m_col.catalog()));
        VD_TRY(setCount(n + 1));
    }
    return m_col.putRecord(keys::tombstone(id), t.encode());
}

Status Tombstones::remove(const Ruid &id)
{
    VD_TRY_ASSIGN(const bool was, m_col.removeRecord(keys::tombstone(id)));
    if (!was)
        return {};
    VD_TRY_ASSIGN(const uint64_t n, count(m_col.catalog()));
    return setCount(n > 0 ? n - 1 : 0);
}

Status Tombstones::trim()
{
    VD_TRY_ASSIGN(const uint64_t n, count(m_col.catalog()));
    if (n <= m_limits.maxCount)
        return {};
    std::vector<std::pair<int64_t, Ruid>> all;
    VD_TRY(forEach(m_col.catalog(), [&](const Ruid &id, const Tombstone &t) -> Result<bool> {
        all.emplace_back(t.removedMs, id);
        return true;
    }));
    const uint64_t keep = m_limits.maxCount - m_limits.maxCount / 8;
    if (all.size() <= keep)
        return setCount(all.size());
    std::sort(all.begin(), all.end());
    const size_t drop = all.size() - size_t(keep);
    for (size_t i = 0; i < drop; ++i)
        VD_TRY(m_col.removeRecord(keys::tombstone(all[i].second)).status());
    return setCount(keep);
}

Result<uint64_t> Tombstones::forget(const std::vector<VersionVector> &knowledge)
{
    if (knowledge.empty())
        return Status::invalidArgument(QStringLiteral("forgetting tombstones needs what every member has seen (no member given)"));
    std::vector<Ruid> seen;
    VD_TRY(forEach(m_col.catalog(), [&](const Ruid &id, const Tombstone &t) -> Result<bool> {
        const bool everywhere = std::all_of(knowledge.begin(), knowledge.end(), [&](const VersionVector &k) {
            const auto o = t.version.compare(k);
            return o == VersionVector::Ordering::Before || o == VersionVector::Ordering::Equal;
        });
        if (everywhere)
            seen.push_back(id);
        return true;
    }));
    for (const Ruid &id : seen)
        VD_TRY(remove(id));
    return uint64_t(seen.size());
}

} // namespace vd::tree
