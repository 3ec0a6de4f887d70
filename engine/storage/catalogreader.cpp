#include "catalogreader.h"

namespace vd::storage {

Result<std::optional<QByteArray>> CatalogReader::get(QByteArrayView key)
{
    VD_TRY_ASSIGN(Catalog * c, catalog());
    return c->get(key);
}

Status CatalogReader::scan(QByteArrayView from, QByteArrayView to, const Catalog::Visitor &visit)
{
    VD_TRY_ASSIGN(Catalog * c, catalog());
    return c->scan(from, to, visit);
}

Result<std::optional<std::pair<QByteArray, QByteArray>>> CatalogReader::floor(QByteArrayView key)
{
    VD_TRY_ASSIGN(Catalog * c, catalog());
    return c->floor(key);
}

Status CatalogReader::leavesInRange(const PageRef &root, QByteArrayView from, QByteArrayView to, std::vector<PageRef> *leaves)
{
    VD_TRY_ASSIGN(Catalog * c, catalog());
    return c->leavesInRange(root, from, to, leaves);
}

Result<CatalogPage> CatalogReader::readStored(const PageRef &ref)
{
    VD_TRY_ASSIGN(Catalog * c, catalog());
    return c->readStored(ref);
}

Status CatalogReader::walkStored(const PageRef &root, const std::function<bool(const PageRef &, int)> &enter,
                                 const std::function<Status(const PageRef &, const CatalogPage &)> &leaf)
{
    VD_TRY_ASSIGN(Catalog * c, catalog());
    return c->walkStored(root, enter, leaf);
}

} // namespace vd::storage
