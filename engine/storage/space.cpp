#include "space.h"

namespace vd::storage {

Result<Extent> Space::allocate(int sizeClass)
{
    // The file is not extended here: writing a block extends it, and the
    // commit makes it whole units long before it syncs. (Extending it on
    // every new unit made ftruncate contend with the block writers.)
    return m_alloc.allocate(sizeClass);
}

Status Space::applyFrees()
{
    for (const Extent &e : m_pendingFrees) {
        Status st = m_alloc.free(e);
        if (!st)
            return Status::internal(QStringLiteral("releasing a block at commit: %1").arg(st.message()));
    }
    m_pendingFrees.clear();
    return {};
}

Status Space::shrinkTail()
{
    if (m_alloc.shrinkTail() == 0)
        return {};
    return m_idvd->resizeToUnits(m_alloc.unitCount());
}

} // namespace vd::storage
