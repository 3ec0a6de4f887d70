#include "catalogpage.h"

#include "catalog.h"

#include "core/bytes.h"

namespace vd::storage {

size_t CatalogPage::entrySize(const QByteArray &key, qsizetype valueSize)
{
    return varintSize(uint64_t(key.size())) + size_t(key.size()) + varintSize(uint64_t(valueSize)) + size_t(valueSize);
}

size_t CatalogPage::internalEntrySize(const QByteArray &key)
{
    return varintSize(uint64_t(key.size())) + size_t(key.size()) + PageRef::kEncodedSize;
}

QByteArray CatalogPage::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(isLeaf() ? 1 : 2);
    w.u8(uint8_t(level));
    w.u16(0);
    w.u32(uint32_t(keys.size()));
    for (size_t i = 0; i < keys.size(); ++i) {
        w.blob(keys[i]);
        if (isLeaf())
            w.blob(values[i]);
        else
            children[i].encode(&out);
    }
    return out;
}

Result<CatalogPage> CatalogPage::decode(QByteArrayView raw)
{
    ByteReader r(raw, QStringLiteral("catalog page"));
    CatalogPage p;
    const uint8_t kind = r.u8();
    p.level = r.u8();
    r.skip(2);
    const uint32_t count = r.u32();
    VD_TRY(r.status());
    if (kind != 1 && kind != 2)
        return Status::corruption(QStringLiteral("catalog page: unknown kind %1").arg(kind));
    if ((kind == 1) != (p.level == 0) || p.level > kMaxLevel)
        return Status::corruption(QStringLiteral("catalog page: kind %1 at level %2").arg(kind).arg(p.level));
    if (count == 0 || count > uint64_t(raw.size()) / 2)
        return Status::corruption(QStringLiteral("catalog page: %1 entries in %2 bytes").arg(count).arg(raw.size()));
    p.keys.reserve(count);
    (p.isLeaf() ? p.values.reserve(count) : p.children.reserve(count));
    for (uint32_t i = 0; i < count && r.ok(); ++i) {
        p.keys.push_back(r.blob(Catalog::kMaxKey).toByteArray());
        if (p.isLeaf())
            p.values.push_back(r.blob(Catalog::kMaxValue).toByteArray());
        else {
            p.children.push_back(PageRef::decode(r));
            if (r.ok() && p.children.back().isNull())
                r.fail(QStringLiteral("null child reference"));
        }
        // Keys strictly increase, in leaves and (as separators) in internal pages.
        if (r.ok() && i > 0 && !(p.keys[i - 1] < p.keys[i]))
            r.fail(QStringLiteral("keys out of order at entry %1").arg(i));
    }
    VD_TRY(r.finish());
    return p;
}

} // namespace vd::storage
