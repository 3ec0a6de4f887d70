#include "space.h"

namespace vd::storage {

Result<Extent> Space::allocate(int sizeClass)
{
    const uint32_t before = m_alloc.unitCount();
    VD_TRY_ASSIGN(const Extent e, m_alloc.allocate(sizeClass));
    if (m_alloc.unitCount() != before)
        VD_TRY(m_idvd->resizeToUnits(m_alloc.unitCount()));
    return e;
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
