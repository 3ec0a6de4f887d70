// Fuzzes CatalogStore::decodeTable, the catalog's segment table.
#include "fuzz_common.h"

#include "storage/catalogstore.h"

using namespace vd;
using namespace vd::storage;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    auto table = CatalogStore::decodeTable(fuzz::view(data, size));
    if (!table)
        return 0;
    for (const auto &[offset, s] : *table) {
        FUZZ_CHECK(offset == s.extent.offset && s.extent.isValid() && s.extent.offset >= kSlotSize);
        FUZZ_CHECK(s.writtenEnd >= BlockHeader::kSize && s.writtenEnd <= s.extent.size() && s.lastDirOffset < s.writtenEnd);
        FUZZ_CHECK(s.liveBytes <= s.extent.size());
    }
    const QByteArray again = CatalogStore::encodeTable(*table);
    auto table2 = CatalogStore::decodeTable(again);
    FUZZ_CHECK(table2.isOk() && table2->size() == table->size());
    FUZZ_CHECK(CatalogStore::encodeTable(*table2) == again);
    return 0;
}
