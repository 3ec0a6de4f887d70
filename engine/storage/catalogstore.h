// CatalogStore: where the catalog's pages live — CatalogLog blocks in idvd.
//
// New pages are appended to the open CatalogLog block; when it is full, it is
// sealed and a new one is allocated. Each block's live bytes are tracked as
// pages are written and released, and a block whose pages are all released
// is freed at the next commit. The list of blocks and their live bytes (the
// segment table) is itself stored as a slot of the open block at every
// commit; the root record points at it.
//
// A block drained by a change stays readable until that change commits: the
// committed tree (CommittedCatalog, what the change feed compares against
// at commit) still reaches its pages, and its bytes stay on disk until the
// commit frees it (Space::freeLater). So a drained block leaves the table
// but stays in a list of retired blocks that readPage() also looks in,
// cleared by committed() and by load().
//
// When the dead share of sealed blocks grows large, compact() asks the
// catalog to rewrite the pages still living in the emptiest blocks, which
// drains and frees them. Not thread-safe.
#pragma once

#include "catalog.h"
#include "smallblock.h"
#include "space.h"

#include <map>
#include <memory>

namespace vd::storage {

struct SegmentInfo
{
    Extent extent;
    uint32_t writtenEnd = BlockHeader::kSize;
    uint32_t lastDirOffset = 0;
    uint32_t sequence = 0;
    uint64_t liveBytes = 0;
};

class CatalogStore final : public PageStore
{
public:
    CatalogStore(IdvdFile *idvd, Space *space, int segmentClass);

    // Loads the segment table the root record names. Corruption if the table
    // does not decode or does not agree with the root record.
    Status load(const RootRecord &root);
    void setGeneration(uint64_t generation) { m_generation = generation; }
    // The change that drained the retired blocks committed: nothing reaches
    // their pages any more.
    void committed() { m_retired.clear(); }
    // Pages born at or before this generation belong to a snapshot too:
    // releasing them from the live tree leaves them counted as live.
    void setPinnedThrough(uint64_t generation) { m_pinnedThrough = generation; }
    // Garbage collection's exact count: the bytes of distinct pages that
    // the live tree or any snapshot reaches, per block. Blocks it does not
    // name hold no such page and are freed at the next commit.
    void recount(const std::map<uint64_t, uint64_t> &liveBytesByBlock);

    Result<QByteArray> readPage(const PageRef &ref) override;
    Result<PageRef> writePage(QByteArrayView raw) override;
    void releasePage(const PageRef &ref) override;

    // At commit, after the catalog's flush: stores the segment table, writes
    // the open block's batch, and fills the root record's catalog fields.
    Status finishCommit(RootRecord *root);

    // Pages in blocks whose live share is below half are rewritten when the
    // dead bytes of sealed blocks exceed both 8 MiB and the live bytes.
    bool wantsCompaction() const;
    Status compact(Catalog &catalog);
    // Compaction on a full disk: the live pages of the emptiest blocks that
    // are mostly dead are rewritten, as many as `budget` bytes allow, so
    // that their blocks are freed by this commit and their space comes back.
    Status compactWithin(Catalog &catalog, uint64_t budget);

    const std::map<uint64_t, SegmentInfo> &segments() const { return m_segments; }
    uint64_t openSegmentOffset() const { return m_open ? m_open->state().extent.offset : 0; }
    // Bytes the open block can still take (its disk space is allocated).
    uint64_t openRoom() const { return m_open ? m_open->freeBytes() : 0; }
    PageRef segmentTableRef() const { return m_tableRef; }

    static QByteArray encodeTable(const std::map<uint64_t, SegmentInfo> &segments);
    static Result<std::map<uint64_t, SegmentInfo>> decodeTable(QByteArrayView raw);

private:
    Status openNewSegment();
    void syncOpenInfo();
    void releaseUnpinned(const PageRef &ref);
    // Drops a drained block from the table (freed at the next commit),
    // keeping it readable until then.
    void retire(std::map<uint64_t, SegmentInfo>::iterator it);

    IdvdFile *m_idvd;
    Space *m_space;
    int m_segmentClass;
    uint64_t m_generation = 0;
    uint64_t m_pinnedThrough = 0;
    std::map<uint64_t, SegmentInfo> m_segments; // by block offset
    std::map<uint64_t, SegmentInfo> m_retired; // drained since the last commit, by block offset
    std::unique_ptr<SmallBlockLog> m_open;
    PageRef m_tableRef;
};

} // namespace vd::storage
