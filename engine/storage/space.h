// Space: the allocator as one transaction sees it, and idvd's disk space.
//
// Allocation is immediate (idvd grows by a unit when it must; the file
// itself grows as blocks are written and is squared at commit). Freeing is
// deferred: a block freed in this transaction is still referenced by the
// committed generation, so it must not be handed out again before the commit
// is durable. applyFrees() releases them at commit time, after the commit's
// own last allocation, and remembers them: once the commit is durable,
// punchFreed() gives their disk space back to the file system (a hole in
// the sparse idvd). Never earlier: until then the previous generation may
// still need them.
//
// Limbo (readers of older generations, see readertable.h): a block freed by
// commit g may still be read by a reader that pinned a generation before g.
// It is free in g's .bitmap copy (a crash forgets pins, so the state on disk
// is the one after the free: durableAllocator()), but stays allocated in
// memory, in limbo, until no pin older than g is left (releaseLimbo()):
// only then is it handed out again or punched. A rollback reloads the
// allocator from .bitmap, and the collection puts limbo back on it
// (holdLimbo()).
//
// The reserve (after ZFS's slop space and btrfs's global reserve): a few
// blocks allocated in idvd and on the disk (fallocate), listed in the root
// record, that only a transaction that deletes may draw on. A full disk can
// then always be freed from inside vdrive: a delete's commit writes its
// catalog pages into a reserve block when no new space can be had. Every
// ordinary commit first makes the reserve whole again, so it fails with
// NoSpace before it could eat into it. Not thread-safe: the writer's thread.
#pragma once

#include "blockallocator.h"
#include "idvdfile.h"

#include <map>
#include <optional>
#include <vector>

namespace vd::storage {

class Space
{
public:
    Space(IdvdFile *idvd, BlockAllocator allocator) : m_idvd(idvd), m_alloc(std::move(allocator)) {}

    Result<Extent> allocate(int sizeClass);
    // A block whose disk space is taken now, so writing it can never fail
    // for want of space (the catalog's blocks: a commit must not stop half
    // way). When the disk has no room and the transaction may use the
    // reserve, a reserve block of that class is handed out instead.
    Result<Extent> allocateBacked(int sizeClass);
    void freeLater(const Extent &e) { m_pendingFrees.push_back(e); }
    // Frees a block allocated in this transaction that nothing refers to
    // (and punches it: its pages, if never synced, are simply dropped).
    void unallocate(const Extent &e);
    // At commit `generation`, after its last allocation: the blocks freed
    // in the transaction become free, or go to limbo when hold (a reader
    // pins an older generation).
    Status applyFrees(uint64_t generation, bool hold);
    // After the commit point of `generation`, with the oldest pin then: if
    // a reader pinned an older generation meanwhile, the blocks applyFrees()
    // released go to limbo after all; otherwise their space is punched.
    // Then releaseLimbo(). Failing to punch loses nothing but disk space.
    Status settleFrees(uint64_t generation, std::optional<uint64_t> oldestPin);
    // Frees (and punches) the limbo of every commit no pin is older than:
    // with no pin at all, everything in limbo. Any time on the writer's
    // thread (a transaction under way may then use the blocks: no committed
    // generation a reader can reach references them).
    Status releaseLimbo(std::optional<uint64_t> oldestPin);
    // The allocator as the committed state records it: with limbo free.
    BlockAllocator durableAllocator() const;
    // Limbo carried over to a reloaded allocator (whose .bitmap copy has it
    // free): marked allocated again.
    Status holdLimbo(std::map<uint64_t, std::vector<Extent>> limbo);
    const std::map<uint64_t, std::vector<Extent>> &limbo() const { return m_limbo; }
    uint64_t limboBytes() const;
    // Punches every free part of idvd (garbage collection: also what an
    // interrupted punch or an older build left allocated). Only with no
    // transaction under way.
    Status punchAllFree();
    // Gives back free units at the tail of idvd: in memory and in the file.
    // Only when no committed generation can need them (after a durable
    // commit, or when opening).
    Status shrinkTail();
    // Forgets free tail units in memory only; the file keeps its length until
    // the commit that records the shorter length is durable.
    void dropFreeTailUnits() { m_alloc.shrinkTail(); }

    // The reserve, as the root record lists it. Its blocks are allocated.
    const std::vector<Extent> &reserve() const { return m_reserve; }
    void setReserve(std::vector<Extent> blocks) { m_reserve = std::move(blocks); }
    // Whether this transaction may draw on the reserve (only deletes: rm,
    // emptying the trash, deleting a snapshot, gc). Cleared at every reload.
    void setReserveAllowed(bool allowed) { m_reserveAllowed = allowed; }
    bool reserveAllowed() const { return m_reserveAllowed; }
    // Tops the reserve up to `count` blocks of sizeClass, each allocated on
    // disk. NoSpace when the disk cannot hold them (those it could stay).
    Status refillReserve(int sizeClass, size_t count);
    uint64_t reserveBytes() const;

    const BlockAllocator &allocator() const { return m_alloc; }
    void replaceAllocator(BlockAllocator alloc) { m_alloc = std::move(alloc); }
    const std::vector<Extent> &pendingFrees() const { return m_pendingFrees; }

private:
    // Punches holes where the blocks freed last (applyFrees, releaseLimbo)
    // lie, inside the file's units, merged into runs.
    Status punchFreed();

    IdvdFile *m_idvd;
    BlockAllocator m_alloc;
    std::vector<Extent> m_pendingFrees;
    std::vector<Extent> m_freed; // by the last applyFrees(), to punch
    std::map<uint64_t, std::vector<Extent>> m_limbo; // by the generation whose commit freed them
    std::vector<Extent> m_reserve;
    bool m_reserveAllowed = false;
};

} // namespace vd::storage
