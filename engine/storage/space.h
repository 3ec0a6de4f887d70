// Space: the allocator as one transaction sees it.
//
// Allocation is immediate (idvd grows by a unit when it must; the file
// itself grows as blocks are written and is squared at commit). Freeing is
// deferred: a block freed in this transaction is still referenced by the
// committed generation, so it must not be handed out again before the commit
// is durable. applyFrees() releases them at commit time, after the commit's
// own last allocation. Not thread-safe.
#pragma once

#include "blockallocator.h"
#include "idvdfile.h"

#include <vector>

namespace vd::storage {

class Space
{
public:
    Space(IdvdFile *idvd, BlockAllocator allocator) : m_idvd(idvd), m_alloc(std::move(allocator)) {}

    Result<Extent> allocate(int sizeClass);
    void freeLater(const Extent &e) { m_pendingFrees.push_back(e); }
    Status applyFrees();
    // Gives back free units at the tail of idvd: in memory and in the file.
    // Only when no committed generation can need them (after a durable
    // commit, or when opening).
    Status shrinkTail();
    // Forgets free tail units in memory only; the file keeps its length until
    // the commit that records the shorter length is durable.
    void dropFreeTailUnits() { m_alloc.shrinkTail(); }

    const BlockAllocator &allocator() const { return m_alloc; }
    void replaceAllocator(BlockAllocator alloc) { m_alloc = std::move(alloc); }
    const std::vector<Extent> &pendingFrees() const { return m_pendingFrees; }

private:
    IdvdFile *m_idvd;
    BlockAllocator m_alloc;
    std::vector<Extent> m_pendingFrees;
};

} // namespace vd::storage
