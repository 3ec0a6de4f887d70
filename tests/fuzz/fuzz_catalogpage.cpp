// Fuzzes CatalogPage::decode, a page of the catalog's B+tree as stored.
#include "fuzz_common.h"

#include "storage/catalog.h"
#include "storage/catalogpage.h"

using namespace vd;
using namespace vd::storage;

namespace {

QByteArray encodeChecked(const CatalogPage &p)
{
    FUZZ_CHECK(p.count() > 0 && p.level >= 0 && p.level <= CatalogPage::kMaxLevel);
    FUZZ_CHECK(p.isLeaf() ? (p.values.size() == p.count() && p.children.empty()) : (p.children.size() == p.count() && p.values.empty()));
    for (size_t i = 0; i < p.count(); ++i) {
        FUZZ_CHECK(p.keys[i].size() <= Catalog::kMaxKey);
        FUZZ_CHECK(i == 0 || p.keys[i - 1] < p.keys[i]);
        if (p.isLeaf())
            FUZZ_CHECK(p.values[i].size() <= Catalog::kMaxValue);
        else
            FUZZ_CHECK(!p.children[i].isNull());
    }
    return p.encode();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    auto page = CatalogPage::decode(fuzz::view(data, size));
    if (!page)
        return 0;
    const QByteArray again = encodeChecked(*page);
    auto page2 = CatalogPage::decode(again);
    FUZZ_CHECK(page2.isOk());
    FUZZ_CHECK(page2->level == page->level && page2->keys == page->keys && page2->values == page->values
               && page2->children == page->children);
    FUZZ_CHECK(encodeChecked(*page2) == again);
    return 0;
}
