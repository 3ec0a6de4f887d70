// Tombstones: what is left of a VNode removed for good, so that a replica
// can tell a stale update of it from an edit the remover never saw
// (REPLICATION.md, "Tombstones"). A remote record before or equal to a
// node's tombstone loses (the removal wins); one concurrent with it wins
// (the node comes back).
//
// Written at the lowest level: when a commit finds a node gone for good (the
// change feed's Remove: rm --permanent, trash empty, gc's trash expiry, JSON
// replace and member removal, a removal applied from a peer), TreeWriter puts
// its tombstone — the version it had with the remover's entry raised, the
// folder it was in, the time — in the same commit.
//
// Bounded: at most Limits::maxCount tombstones. A commit that passes the
// bound drops the oldest (by removal time, then id) down to 7/8 of it. A
// dropped tombstone can only let a stale update bring its node back —
// nothing is lost, nothing is removed silently. So, on a full disk, a
// commit whose tombstones might not fit writes none (removing must work
// there: TreeWriter::commit). forget() drops those every
// member has seen: once every member's knowledge is at or after a
// tombstone's version, no stale update can arrive any more.
//
// Owns nothing: works on the collection's catalog ('X' keys, vnode.h).
// Thread safety: not thread-safe; the writer's thread only. The static
// readers read only the catalog they are given.
#pragma once

#include "vnode.h"

#include "core/status.h"

#include <functional>
#include <optional>

namespace vd::storage {
class Collection;
class CatalogReader;
} // namespace vd::storage

namespace vd::tree {

class Tombstones
{
public:
    struct Limits
    {
        // 1,000,000 tombstones take about 60 MB of catalog with one- or
        // two-node versions (a record is 25 bytes plus its version).
        uint64_t maxCount = 1'000'000;
    };

    explicit Tombstones(storage::Collection &collection) : m_col(collection) {}
    void setLimits(const Limits &limits) { m_limits = limits; }

    static Result<std::optional<Tombstone>> find(storage::CatalogReader &catalog, const Ruid &id);
    // The count record (0 when there is none).
    static Result<uint64_t> count(storage::CatalogReader &catalog);
    // Every tombstone in id order; fn returns false to stop.
    using Visit = std::function<Result<bool>(const Ruid &id, const Tombstone &t)>;
    static Status forEach(storage::CatalogReader &catalog, const Visit &fn);

    // Puts (or replaces) id's tombstone, keeping the count.
    Status put(const Ruid &id, const Tombstone &t);
    // Removes id's tombstone if there is one (a node that came back).
    Status remove(const Ruid &id);
    // Drops the oldest while there are more than the bound (see above).
    Status trim();
    // Drops every tombstone whose version is before or equal to each of
    // knowledge (what each member has seen). InvalidArgument for an empty
    // list (no member known: nothing is safe to drop). Returns how many went.
    Result<uint64_t> forget(const std::vector<VersionVector> &knowledge);

private:
    Status setCount(uint64_t n);

    storage::Collection &m_col;
    Limits m_limits;
};

} // namespace vd::tree
