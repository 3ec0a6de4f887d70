#include "collection.h"

#include "bitmapfile.h"
#include "catalog.h"
#include "catalogstore.h"
#include "idvdfile.h"
#include "readertable.h"
#include "smallblock.h"
#include "space.h"

#include <QDateTime>
#include <QFileInfo>

#include <algorithm>

namespace vd::storage {

namespace {

QString join(const QString &dir, const char *name) { return dir + QLatin1Char('/') + QLatin1String(name); }

int64_t nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

Status validateOptions(const CreateOptions &o)
{
    if (o.smallThreshold > BlockHeader::capacity(0))
        return Status::invalidArgument(QStringLiteral("the small-payload threshold is at most %1 bytes").arg(BlockHeader::capacity(0)));
    if (!isValidClass(o.smallBlockClass) || !isValidClass(o.catalogBlockClass))
        return Status::invalidArgument(QStringLiteral("block size classes are 0 (1 MiB) to 4 (16 MiB)"));
    if (classSize(o.smallBlockClass) < 2 * uint64_t(o.smallThreshold) + 4096)
        return Status::invalidArgument(QStringLiteral("SmallData blocks must hold at least two payloads of the threshold size"));
    if (o.clusterMaxBlocks < 1 || o.clusterMaxBlocks > 32)
        return Status::invalidArgument(QStringLiteral("a cluster holds 1 to 32 blocks"));
    return {};
}

// A committed root, read through the store that was current when it was
// handed out (kept alive here: a reload replaces the collection's own).
// Only reads: the catalog is never changed, so the store's allocator, which
// a reload destroys, is never used through it.
class CommittedCatalog final : public CatalogReader
{
public:
    CommittedCatalog(std::shared_ptr<CatalogStore> store, const PageRef &root) : m_store(std::move(store)), m_catalog(m_store.get())
    {
        m_catalog.reset(root);
    }

protected:
    Result<Catalog *> catalog() override { return &m_catalog; }

private:
    std::shared_ptr<CatalogStore> m_store;
    Catalog m_catalog;
};

} // namespace

// The working catalog: whatever m_catalog is after the latest (re)load.
class Collection::WorkingCatalog final : public CatalogReader
{
public:
    explicit WorkingCatalog(Collection &collection) : m_collection(collection) {}

protected:
    Result<Catalog *> catalog() override
    {
        if (!m_collection.m_broken.isOk())
            return m_collection.m_broken;
        if (!m_collection.m_catalog)
            return Status::internal(QStringLiteral("the collection has no state loaded"));
        return m_collection.m_catalog.get();
    }

private:
    Collection &m_collection;
};

Collection::Collection(io::Env &env, QString dir, Access access)
    : m_env(env)
    , m_dir(std::move(dir))
    , m_access(access)
    , m_workingCatalog(std::make_unique<WorkingCatalog>(*this))
    , m_payloads(std::make_shared<ReadCache>(64 << 20))
{
}

void Collection::setPayloadCacheBytes(qint64 bytes)
{
    m_payloads->setMaxBytes(bytes);
}

Collection::CacheCounters Collection::cacheCounters() const
{
    return CacheCounters{m_payloads->hits(), m_payloads->misses(), m_locatorHits};
}

Status Collection::releaseLimbo()
{
    if (!m_space || m_space->limbo().empty())
        return {};
    return m_space->releaseLimbo(m_readers->oldestPin());
}

uint64_t Collection::limboBytes() const
{
    return m_space ? m_space->limboBytes() : 0;
}

Collection::~Collection() = default;

Ruid Collection::ruid() const { return m_meta.ruid; }
QString Collection::name() const { return m_meta.name; }

Status Collection::setName(const QString &name)
{
    VD_TRY(checkWritable());
    VD_TRY(validateCollectionName(name));
    if (name == m_meta.name)
        return {};
    // m_meta is what commit() writes; a rollback reloads it from .meta.
    m_meta.name = name;
    m_dirty = true;
    return {};
}
uint64_t Collection::generation() const { return m_meta.generation; }

Result<std::unique_ptr<Collection>> Collection::create(io::Env &env, const QString &parentDir, const QString &name,
                                                       const CreateOptions &options)
{
    VD_TRY(validateCollectionName(name));
    VD_TRY(validateOptions(options));
    const Ruid ruid = Ruid::generate();
    const QString dir = parentDir + QLatin1Char('/') + ruid.toString();
    VD_TRY(env.makeDirs(parentDir));
    VD_TRY_ASSIGN(const bool taken, env.exists(dir));
    if (taken)
        return Status::alreadyExists(QStringLiteral("'%1' already exists").arg(dir));
    VD_TRY(env.makeDirs(dir));

    // Generation 1: one unit whose first 1 MiB block is the head.
    const uint64_t generation = 1;
    BlockAllocator alloc(1);
    VD_TRY(alloc.markAllocated(Extent{0, 0}));
    const PreparedBitmap bitmap = prepareBitmap(BitmapLocation(), generation, alloc);
    Meta m;
    m.generation = generation;
    m.ruid = ruid;
    m.name = name;
    m.createdMs = nowMs();
    m.committedMs = m.createdMs;
    m.smallThreshold = options.smallThreshold;
    m.smallBlockClass = uint8_t(options.smallBlockClass);
    m.catalogBlockClass = uint8_t(options.catalogBlockClass);
    m.clusterMaxBlocks = uint8_t(options.clusterMaxBlocks);
    m.units = 1;
    m.bitmap = bitmap.location;
    m.root.generation = generation;
    m.root.origin = Ruid::generate();
    {
        VD_TRY_ASSIGN(auto file, env.open(join(dir, kDataFile), io::OpenMode::CreateNew));
        VD_TRY(file->truncate(kUnitSize));
        // The head's header and both root record slots are rewritten in
        // place by every commit: their disk space is taken once, here.
        VD_TRY(file->allocate(0, HeadSlot::offsetFor(1) + HeadSlot::kSlotSize));
        BlockHeader head;
        head.kind = BlockKind::Head;
        head.sizeClass = 0;
        head.blockId = ruid;
        head.generation = generation;
        VD_TRY(file->write(0, head.encode()));
        // Both slots hold generation 1, as both .meta copies do.
        const QByteArray slot = HeadSlot::encode(m);
        VD_TRY(file->write(HeadSlot::offsetFor(generation), slot));
        VD_TRY(file->write(HeadSlot::offsetFor(generation + 1), slot));
        VD_TRY(file->sync());
    }
    {
        VD_TRY_ASSIGN(auto file, env.open(join(dir, kBitmapFile), io::OpenMode::CreateNew));
        VD_TRY(writePreparedBitmap(*file, bitmap));
        VD_TRY(file->sync());
    }
    {
        VD_TRY_ASSIGN(auto file, env.open(join(dir, kMetaFile), io::OpenMode::CreateNew));
        const QByteArray copy = m.encodeCopy();
        VD_TRY(file->write(0, copy));
        VD_TRY(file->write(Meta::kCopySize, copy));
        VD_TRY(file->sync());
    }
    VD_TRY(env.syncDir(dir));
    VD_TRY(env.syncDir(parentDir));
    return open(env, dir, Access::ReadWrite);
}

Result<Meta> Collection::peekMeta(io::Env &env, const QString &dir)
{
    VD_TRY_ASSIGN(auto file, env.open(join(dir, kMetaFile), io::OpenMode::ReadOnly));
    auto meta = readMeta(*file);
    if (!meta)
        return meta.status();
    const QString folder = QFileInfo(dir).fileName();
    if (meta->ruid.toString() != folder)
        return Status::corruption(QStringLiteral("'%1' holds the .meta of collection %2").arg(dir, meta->ruid.toString()));
    return meta;
}

Result<Meta> Collection::peekHead(io::Env &env, const QString &dir)
{
    VD_TRY_ASSIGN(const Ruid ruid, Ruid::parse(QFileInfo(dir).fileName()));
    VD_TRY_ASSIGN(auto file, env.open(join(dir, kDataFile), io::OpenMode::ReadOnly));
    std::optional<Meta> newest;
    Status why = Status::corruption(QStringLiteral("idvd's head holds no complete state"));
    for (uint64_t g : {0, 1}) {
        QByteArray raw(HeadSlot::kSlotSize, Qt::Uninitialized);
        Status st = file->read(HeadSlot::offsetFor(g), raw.data(), size_t(raw.size()));
        auto slot = st ? HeadSlot::decode(raw, ruid) : Result<HeadSlot>(st);
        if (!slot)
            why = slot.status();
        else if (slot->isComplete() && (!newest || slot->state.generation > newest->generation))
            newest = slot->state;
    }
    if (!newest)
        return why;
    return *newest;
}

Result<std::unique_ptr<Collection>> Collection::open(io::Env &env, const QString &dir, Access access)
{
    return openImpl(env, dir, access, false, nullptr);
}

Result<std::unique_ptr<Collection>> Collection::openAndRepair(io::Env &env, const QString &dir, bool *bitmapChanged, const ProgressFn &progress)
{
    VD_TRY_ASSIGN(auto c, openImpl(env, dir, Access::ReadWrite, true, bitmapChanged));
    // A damaged .meta copy that is still there (a generation that did not
    // verify) or a damaged head slot: the commit writes both anew.
    if (!c->m_metaFault.isEmpty() || !c->readHeadSlot(c->m_meta.generation, c->m_meta.ruid))
        c->m_dirty = true;
    // The last moment to stop: the repair is still only in memory.
    if (c->m_dirty && progress && !progress(0)) {
        if (bitmapChanged)
            *bitmapChanged = false;
        return Status::cancelled(QStringLiteral("the repair was cancelled before it was committed"));
    }
    VD_TRY(c->commit());
    return c;
}

Result<std::unique_ptr<Collection>> Collection::openImpl(io::Env &env, const QString &dir, Access access, bool repair, bool *changed)
{
    VD_TRY_ASSIGN(const bool isDir, env.isDirectory(dir));
    if (!isDir)
        return Status::notFound(QStringLiteral("no collection folder '%1'").arg(dir));
    if (!Ruid::parse(QFileInfo(dir).fileName()))
        return Status::invalidArgument(QStringLiteral("'%1' is not a collection folder: its name is not a RUID").arg(dir));
    for (const char *name : {kDataFile, kBitmapFile, kMetaFile}) {
        VD_TRY_ASSIGN(const bool there, env.exists(join(dir, name)));
        if (there)
            continue;
        // A lost .bitmap is what a repair rebuilds: it starts from an empty file.
        if (repair && name == kBitmapFile) {
            VD_TRY_ASSIGN(auto created, env.open(join(dir, name), io::OpenMode::CreateNew));
            VD_TRY(created->sync());
            VD_TRY(env.syncDir(dir));
            continue;
        }
        const QString hint = name == kDataFile ? QString()
                             : name == kBitmapFile ? QStringLiteral(" (vdrive fsck --repair rebuilds it)")
                                                   : QStringLiteral(" (vdrive recover rebuilds it from idvd)");
        return Status::corruption(QStringLiteral("collection folder '%1' is missing its %2 file%3").arg(dir, QLatin1String(name), hint));
    }
    std::unique_ptr<Collection> c(new Collection(env, dir, access));
    const io::OpenMode mode = access == Access::ReadWrite ? io::OpenMode::ReadWrite : io::OpenMode::ReadOnly;
    VD_TRY_ASSIGN(c->m_lock, env.lock(join(dir, kDataFile), access == Access::ReadWrite ? io::LockMode::Exclusive : io::LockMode::Shared));
    VD_TRY_ASSIGN(auto idvd, env.open(join(dir, kDataFile), mode));
    c->m_idvd = std::make_shared<IdvdFile>(std::move(idvd));
    c->m_readers = std::make_shared<ReaderTable>(c->m_idvd, c->m_payloads);
    VD_TRY_ASSIGN(c->m_bitmapFile, env.open(join(dir, kBitmapFile), mode));
    VD_TRY_ASSIGN(c->m_metaFile, env.open(join(dir, kMetaFile), mode));
    VD_TRY(c->loadCommitted(repair, changed));
    if (access == Access::ReadWrite)
        VD_TRY(c->repairOnOpen());
    return c;
}

Status Collection::checkHeadBlock(const Ruid &ruid)
{
    VD_TRY_ASSIGN(const BlockHeader head, m_idvd->readHeader(Extent{0, 0}));
    if (head.kind != BlockKind::Head || head.blockId != ruid)
        return Status::corruption(QStringLiteral("idvd does not begin with the head block of collection %1").arg(ruid.toString()));
    return {};
}

Result<HeadSlot> Collection::readHeadSlot(uint64_t generation, const Ruid &ruid)
{
    VD_TRY_ASSIGN(const QByteArray raw, m_idvd->read(HeadSlot::offsetFor(generation), HeadSlot::kSlotSize));
    return HeadSlot::decode(raw, ruid);
}

Status Collection::loadCommitted(bool repairBitmap, bool *bitmapChanged)
{
    m_warnings.clear();
    m_metaFault.clear();
    m_metaRewrite.clear();
    m_damagedCopy = -1;
    m_bitmapRewrite.clear();
    m_headIsOld = false;
    auto copies = readMetaCopies(*m_metaFile);
    if (!copies) {
        Status st = copies.status();
        if (st.code() == ErrorCode::Corruption)
            st = Status::corruption(QStringLiteral("%1 (vdrive recover rebuilds .meta and .bitmap from idvd)").arg(st.message()));
        return st.withContext(QStringLiteral("reading .meta"));
    }
    if (copies->meta.ruid.toString() != QFileInfo(m_dir).fileName())
        return Status::corruption(QStringLiteral("'%1' holds the .meta of collection %2").arg(m_dir, copies->meta.ruid.toString()));
    VD_TRY(checkHeadBlock(copies->meta.ruid));
    const BitmapSource source = repairBitmap ? BitmapSource::Repair : BitmapSource::File;
    if (copies->damagedCopy < 0)
        VD_TRY(loadState(copies->meta, source, bitmapChanged));
    else
        VD_TRY(loadAfterDamagedCopy(*copies, source, bitmapChanged));
    if (m_access == Access::ReadWrite) {
        auto head = readHeadSlot(m_meta.generation, m_meta.ruid);
        m_headIsOld = head && !head->isComplete();
        VD_TRY(m_space->shrinkTail());
        VD_TRY(m_idvd->resizeToUnits(m_space->allocator().unitCount()));
    }
    return {};
}

Status Collection::loadAfterDamagedCopy(const MetaCopies &copies, BitmapSource source, bool *bitmapChanged)
{
    // A torn commit and a damaged copy look alike. What tells them apart is
    // idvd: a commit writes its head slot and everything else into idvd and
    // syncs it before it writes its .meta copy, so an acknowledged
    // generation is complete there (FORMAT.md, "Generations and the commit").
    const Meta &valid = copies.meta;
    const uint64_t next = valid.generation + 1;
    const QString damage = copies.damage.message();
    auto slot = readHeadSlot(next, valid.ruid);
    QString problem;
    if (slot && slot->state.generation == next && slot->isComplete()) {
        Status st = loadState(slot->state, BitmapSource::RollForward, bitmapChanged);
        if (st)
            st = verifyGeneration(next);
        if (st) {
            // Copy next % 2 is where `next` belongs; if the valid copy sat
            // there (both copies held one generation, as after creation), the
            // damaged one gets `next` too.
            m_metaRewrite.emplace_back(int(next % 2), slot->state);
            if (copies.damagedCopy != int(next % 2))
                m_metaRewrite.emplace_back(copies.damagedCopy, slot->state);
            m_metaFault = QStringLiteral(".meta: the copy of generation %1 is unreadable (%2); the generation was opened from idvd, where "
                                         "everything it wrote verifies; opening the collection for writing (vdrive fsck --repair) rewrites the copy")
                              .arg(next)
                              .arg(damage);
            m_warnings.push_back(QStringLiteral("the newest .meta copy is damaged (%1): generation %2 was opened from idvd, where everything it "
                                                "wrote verifies")
                                     .arg(damage)
                                     .arg(next));
            return {};
        }
        problem = QStringLiteral("generation %1 in idvd does not verify (%2)").arg(next).arg(st.message());
    } else if (slot && slot->state.generation <= valid.generation) {
        // The commit of `next` never made its head slot durable, so it was
        // never acknowledged: the damaged copy held an older generation.
        m_metaRewrite.emplace_back(copies.damagedCopy, valid);
        m_metaFault = QStringLiteral(".meta: the copy of an older generation is unreadable (%1); nothing committed is lost (generation %2 is "
                                     "intact); opening the collection for writing rewrites the copy")
                          .arg(damage)
                          .arg(valid.generation);
        m_warnings.push_back(QStringLiteral("the older .meta copy is damaged (%1); generation %2 is intact").arg(damage).arg(valid.generation));
        return loadState(valid, source, bitmapChanged);
    } else if (!slot) {
        problem = QStringLiteral("idvd's head slot for generation %1 is unreadable too (%2)").arg(next).arg(slot.status().message());
    } else if (!slot->isComplete()) {
        problem = QStringLiteral("idvd's head slot for generation %1 was written by an earlier vdrive and cannot be checked").arg(next);
    } else {
        problem = QStringLiteral("idvd's head slot holds generation %1 where %2 was expected").arg(slot->state.generation).arg(next);
    }
    // Kept as it is until the next commit replaces it: the evidence stays.
    const QString lost = QStringLiteral("copy is unreadable (%1) and %2: opened generation %3; what generation %4 committed, "
                                        "if it was ever acknowledged, is lost")
                             .arg(damage, problem)
                             .arg(valid.generation)
                             .arg(next);
    m_metaFault = QStringLiteral(".meta: the newest %1").arg(lost);
    m_damagedCopy = copies.damagedCopy;
    m_warnings.push_back(QStringLiteral("the newest .meta %1").arg(lost));
    Status st = loadState(valid, source, bitmapChanged);
    if (!st)
        return Status(st.code(), QStringLiteral("the newest .meta copy is unreadable (%1) and %2; generation %3 cannot be opened either: %4")
                                     .arg(damage, problem)
                                     .arg(valid.generation)
                                     .arg(st.message()));
    return {};
}

Status Collection::loadState(const Meta &meta, BitmapSource source, bool *bitmapChanged)
{
    // Blocks in limbo are free in every .bitmap copy since the commit that
    // freed them, but readers still need them: they stay held.
    std::map<uint64_t, std::vector<Extent>> limbo;
    if (m_space)
        limbo = m_space->limbo();
    m_openSmall.clear();
    m_catalog.reset();
    m_catalogStore.reset();
    m_space.reset();
    m_dirty = false;
    m_bitmapRewrite.clear();

    auto alloc = source == BitmapSource::Rebuild ? Result<BlockAllocator>(Status::notFound(QStringLiteral("not read")))
                                                 : readBitmap(*m_bitmapFile, meta);
    if (!alloc && source == BitmapSource::File)
        return alloc.status().withContext(QStringLiteral("reading .bitmap (vdrive fsck --repair rebuilds it)"));
    m_meta = meta;
    m_root = m_meta.root;
    // A catalog of an older format is read as it is; a writer's next commit
    // records this build's format, whose records are a superset of it.
    if (m_access == Access::ReadWrite)
        m_root.catalogFormat = RootRecord::kCatalogFormat;
    const bool readable = alloc.isOk();
    m_space = std::make_unique<Space>(m_idvd.get(), readable ? std::move(alloc).value() : BlockAllocator(m_meta.units));
    m_space->setReserve(m_meta.root.reserve);
    if (readable)
        VD_TRY(checkIdvdLength()); // before anything is read from idvd: a cut file is named as such
    m_catalogStore = std::make_shared<CatalogStore>(m_idvd.get(), m_space.get(), m_meta.catalogBlockClass);
    VD_TRY(m_catalogStore->load(m_meta.root));
    m_catalogStore->setGeneration(m_meta.generation + 1);
    m_catalogStore->setPinnedThrough(m_meta.root.pinnedThrough);
    m_catalog = std::make_unique<Catalog>(m_catalogStore.get());
    m_catalog->reset(m_meta.root.catalogRoot);
    for (const Ruid &id : m_meta.root.openSmallBlocks) {
        VD_TRY_ASSIGN(const auto raw, m_catalog->get(keys::block(id, 0)));
        if (!raw)
            return Status::corruption(QStringLiteral("open SmallBlock %1 has no block record").arg(id.toString()));
        VD_TRY_ASSIGN(BlockRecord rec, BlockRecord::decode(*raw));
        if (rec.kind != BlockKind::SmallData)
            return Status::corruption(QStringLiteral("open SmallBlock %1 is recorded as a data block").arg(id.toString()));
        rec.small.id = id;
        m_openSmall.push_back(std::make_unique<SmallBlockLog>(m_idvd.get(), BlockKind::SmallData, rec.small));
    }

    if (source == BitmapSource::Repair || !readable) {
        VD_TRY_ASSIGN(BlockAllocator rebuilt, rebuildAllocator());
        const bool changed = !readable || m_space->allocator().blocks() != rebuilt.blocks();
        if (bitmapChanged)
            *bitmapChanged = changed;
        if (source == BitmapSource::RollForward) {
            // The copy this generation wrote is unreadable; the blocks in use
            // must give back exactly that copy, which is then written again.
            const PreparedBitmap again = prepareBitmap(BitmapLocation(), m_meta.generation, rebuilt);
            if (again.location.hash != m_meta.bitmap.hash || again.location.length != m_meta.bitmap.length)
                return Status::corruption(QStringLiteral("its .bitmap copy is unreadable (%1) and the blocks in use do not reproduce it")
                                              .arg(alloc.status().message()));
            m_bitmapRewrite = again.bytes;
        }
        if (changed)
            m_space->replaceAllocator(std::move(rebuilt));
        // A repair commits what it rebuilt; elsewhere the rebuilt allocator
        // equals what the state's copy held.
        if (changed && source == BitmapSource::Repair)
            m_dirty = true;
    }
    // What a commit that did not happen put in limbo is still in use.
    limbo.erase(limbo.upper_bound(m_meta.generation), limbo.end());
    if (!limbo.empty())
        VD_TRY(m_space->holdLimbo(std::move(limbo)));
    if (!m_space->allocator().isAllocated(Extent{0, 0}))
        return Status::corruption(QStringLiteral(".bitmap does not reserve the head block"));
    for (const Extent &e : m_space->reserve())
        if (!m_space->allocator().isAllocated(e))
            return Status::corruption(QStringLiteral("the free-space reserve block at offset %1 is not allocated in .bitmap").arg(e.offset));
    VD_TRY(checkIdvdLength());
    m_broken = Status();
    m_readers->publish(m_meta.generation, m_meta.root);
    m_readers->publishWords(std::make_shared<const std::vector<uint32_t>>(m_space->allocator().words()));
    return {};
}

Result<BlockAllocator> Collection::rebuildAllocator()
{
    std::vector<std::pair<Extent, QString>> reachable;
    VD_TRY(collectReachable(&reachable, nullptr));
    BlockAllocator rebuilt(1);
    for (const auto &[extent, what] : reachable) {
        Status st = rebuilt.markAllocated(extent);
        if (!st)
            return Status::corruption(QStringLiteral("cannot rebuild .bitmap: %1 (%2)").arg(st.message(), what));
    }
    return rebuilt;
}

Status Collection::checkIdvdLength()
{
    // idvd must hold every allocated block. It may be longer (growth of a
    // commit that did not finish) or shorter than the unit count says (free
    // tail units given back).
    VD_TRY_ASSIGN(const uint64_t size, m_idvd->size());
    std::optional<Extent> first;
    uint64_t needed = 0;
    for (const Extent &e : m_space->allocator().blocks()) {
        needed = std::max(needed, e.offset + e.size());
        if (e.offset + e.size() > size && (!first || e.offset < first->offset))
            first = e;
    }
    if (first)
        return Status::corruption(QStringLiteral("idvd is %1 bytes long, but its allocated blocks reach byte %2: the first block past the end is "
                                                 "the %3 MiB block at offset %4; the file was truncated")
                                      .arg(size)
                                      .arg(needed)
                                      .arg(first->size() >> 20)
                                      .arg(first->offset));
    return {};
}

Status Collection::checkLastDirectory(const Extent &extent, BlockKind kind, uint32_t lastDir, uint32_t writtenEnd, uint32_t sequence)
{
    VD_TRY_ASSIGN(const BlockHeader header, m_idvd->readHeader(extent));
    if (header.kind != kind)
        return Status::corruption(QStringLiteral("the block at offset %1 is a %2 block, not a %3 one")
                                      .arg(extent.offset)
                                      .arg(blockKindName(header.kind), blockKindName(kind)));
    if (sequence == 0)
        return {};
    if (lastDir < BlockHeader::kSize || lastDir >= writtenEnd || writtenEnd > extent.size())
        return Status::corruption(QStringLiteral("the block at offset %1: its last directory lies outside it").arg(extent.offset));
    VD_TRY_ASSIGN(const QByteArray raw, m_idvd->read(extent.offset + lastDir, writtenEnd - lastDir));
    VD_TRY_ASSIGN(const SmallDirectory dir, SmallDirectory::decode(raw, lastDir, extent.size()));
    if (dir.sequence != sequence || dir.encodedSize() != writtenEnd - lastDir)
        return Status::corruption(QStringLiteral("the block at offset %1: its last directory is number %2, not %3").arg(extent.offset).arg(dir.sequence).arg(sequence));
    return {};
}

Status Collection::verifyGeneration(uint64_t g)
{
    for (const auto &[offset, seg] : m_catalogStore->segments())
        VD_TRY(checkLastDirectory(seg.extent, BlockKind::CatalogLog, seg.lastDirOffset, seg.writtenEnd, seg.sequence));
    // Pages born in g are what g wrote; a page born earlier and everything
    // below it were written (and synced) by an earlier commit.
    Status inner;
    auto enter = [&](const PageRef &ref, int) {
        if (ref.birth > g && inner.isOk())
            inner = Status::corruption(QStringLiteral("a catalog page born in generation %1 hangs from generation %2").arg(ref.birth).arg(g));
        return ref.birth == g;
    };
    auto leaf = [&](const PageRef &, const CatalogPage &page) -> Status {
        for (size_t i = 0; i < page.count(); ++i) {
            const QByteArray &key = page.keys[i];
            if (key.isEmpty())
                continue;
            if (key[0] == keys::kCluster) {
                VD_TRY_ASSIGN(const ClusterRecord c, ClusterRecord::decode(page.values[i]));
                if (c.birth > g)
                    return Status::corruption(QStringLiteral("a cluster born in generation %1 hangs from generation %2").arg(c.birth).arg(g));
                if (c.birth != g)
                    continue;
                for (const Piece &p : c.pieces) {
                    // Content held by other nodes was never written here.
                    const Status read = readPiece(p).status();
                    if (!read && read.code() != ErrorCode::NotHere)
                        return read;
                }
            } else if (key[0] == keys::kBlock) {
                VD_TRY_ASSIGN(const BlockRecord rec, BlockRecord::decode(page.values[i]));
                if (rec.kind == BlockKind::SmallData)
                    VD_TRY(checkLastDirectory(rec.extent, BlockKind::SmallData, rec.small.lastDirOffset, rec.small.writtenEnd, rec.small.sequence));
            }
        }
        return {};
    };
    VD_TRY(m_catalog->walkStored(m_meta.root.catalogRoot, enter, leaf));
    return inner;
}

Status Collection::repairOnOpen()
{
    if (!m_metaRewrite.empty()) {
        // What the repaired copy will point at must be durable first.
        if (!m_bitmapRewrite.isEmpty()) {
            VD_TRY(m_bitmapFile->write(m_meta.bitmap.offset, m_bitmapRewrite));
            VD_TRY(m_bitmapFile->sync());
            m_bitmapRewrite.clear();
        }
        VD_TRY(m_idvd->sync());
        for (const auto &[index, state] : m_metaRewrite)
            VD_TRY(writeMetaCopy(*m_metaFile, index, state));
        m_metaRewrite.clear();
        m_metaFault.clear();
    }
    if (m_headIsOld) {
        // An earlier build's head slot holds only the root record: one
        // commit writes this build's, with everything .meta holds.
        m_dirty = true;
        VD_TRY(commit());
    }
    return {};
}

Result<std::unique_ptr<Collection>> Collection::recover(io::Env &env, const QString &dir, uint64_t *recovered)
{
    VD_TRY_ASSIGN(const bool isDir, env.isDirectory(dir));
    if (!isDir)
        return Status::notFound(QStringLiteral("no collection folder '%1'").arg(dir));
    auto parsed = Ruid::parse(QFileInfo(dir).fileName());
    if (!parsed)
        return Status::invalidArgument(QStringLiteral("'%1' is not a collection folder: its name is not a RUID").arg(dir));
    const Ruid ruid = *parsed;
    VD_TRY_ASSIGN(const bool hasIdvd, env.exists(join(dir, kDataFile)));
    if (!hasIdvd)
        return Status::corruption(QStringLiteral("collection folder '%1' has no idvd file: there is nothing to recover from").arg(dir));
    std::unique_ptr<Collection> c(new Collection(env, dir, Access::ReadWrite));
    VD_TRY_ASSIGN(c->m_lock, env.lock(join(dir, kDataFile), io::LockMode::Exclusive));
    VD_TRY_ASSIGN(auto idvd, env.open(join(dir, kDataFile), io::OpenMode::ReadWrite));
    c->m_idvd = std::make_shared<IdvdFile>(std::move(idvd));
    c->m_readers = std::make_shared<ReaderTable>(c->m_idvd, c->m_payloads);
    VD_TRY(c->checkHeadBlock(ruid));

    // What .meta still says, if a copy of it decodes: an earlier build's
    // head slot holds no name or packing options.
    std::optional<Meta> fromMeta;
    if (auto metaFile = env.open(join(dir, kMetaFile), io::OpenMode::ReadOnly); metaFile)
        if (auto copies = readMetaCopies(**metaFile); copies && copies->meta.ruid == ruid)
            fromMeta = copies->meta;

    std::vector<HeadSlot> slots;
    std::vector<QString> notes;
    for (uint64_t g : {0, 1}) {
        auto slot = c->readHeadSlot(g, ruid);
        if (slot)
            slots.push_back(std::move(slot).value());
        else
            notes.push_back(QStringLiteral("idvd's head slot at offset %1 is unreadable (%2)").arg(HeadSlot::offsetFor(g)).arg(slot.status().message()));
    }
    std::sort(slots.begin(), slots.end(), [](const HeadSlot &a, const HeadSlot &b) { return a.state.generation > b.state.generation; });
    if (slots.empty())
        return Status::corruption(QStringLiteral("cannot recover '%1': %2").arg(dir, QStringList(notes.begin(), notes.end()).join(QStringLiteral("; "))));

    std::optional<Meta> chosen;
    for (const HeadSlot &slot : slots) {
        Meta state = slot.state;
        if (!slot.isComplete()) {
            // An earlier build wrote this slot: the identity comes from .meta
            // if it can, else the defaults stand in for what is lost.
            const Meta identity = fromMeta ? *fromMeta : Meta();
            state.name = fromMeta ? identity.name : QStringLiteral("recovered-%1").arg(ruid.shortString());
            state.createdMs = fromMeta ? identity.createdMs : nowMs();
            state.committedMs = fromMeta ? identity.committedMs : state.createdMs;
            const CreateOptions defaults;
            state.smallThreshold = fromMeta ? identity.smallThreshold : defaults.smallThreshold;
            state.smallBlockClass = fromMeta ? identity.smallBlockClass : uint8_t(defaults.smallBlockClass);
            state.catalogBlockClass = fromMeta ? identity.catalogBlockClass : uint8_t(defaults.catalogBlockClass);
            state.clusterMaxBlocks = fromMeta ? identity.clusterMaxBlocks : uint8_t(defaults.clusterMaxBlocks);
            state.members = fromMeta ? identity.members : std::vector<QByteArray>();
            state.units = 1;
            if (!fromMeta)
                notes.push_back(QStringLiteral("idvd's head was written by an earlier vdrive and .meta is unreadable: the collection is named '%1' "
                                               "and takes the default packing options")
                                    .arg(state.name));
        }
        Status st = c->loadState(state, BitmapSource::Rebuild, nullptr);
        if (st)
            st = c->verifyGeneration(state.generation);
        if (st) {
            chosen = c->m_meta;
            break;
        }
        notes.push_back(QStringLiteral("generation %1 in idvd does not verify (%2)").arg(state.generation).arg(st.message()));
    }
    if (!chosen)
        return Status::corruption(QStringLiteral("cannot recover '%1': no generation in idvd verifies (%2)").arg(dir, QStringList(notes.begin(), notes.end()).join(QStringLiteral("; "))));

    // New .bitmap and .meta beside the old ones, then renamed over them.
    const PreparedBitmap bitmap = prepareBitmap(BitmapLocation(), chosen->generation, c->m_space->allocator());
    chosen->units = c->m_space->allocator().unitCount();
    chosen->bitmap = bitmap.location;
    const auto writeFresh = [&](const char *name, const std::vector<std::pair<uint64_t, QByteArray>> &parts) -> Status {
        const QString tmp = join(dir, name) + QStringLiteral(".recovering");
        VD_TRY_ASSIGN(const bool stale, env.exists(tmp));
        if (stale)
            VD_TRY(env.remove(tmp));
        VD_TRY_ASSIGN(auto file, env.open(tmp, io::OpenMode::CreateNew));
        for (const auto &[offset, bytes] : parts)
            VD_TRY(file->write(offset, bytes));
        VD_TRY(file->sync());
        return env.rename(tmp, join(dir, name));
    };
    VD_TRY(writeFresh(kBitmapFile, {{bitmap.location.offset, bitmap.bytes}}));
    const QByteArray copy = chosen->encodeCopy();
    VD_TRY(writeFresh(kMetaFile, {{0, copy}, {Meta::kCopySize, copy}}));
    VD_TRY(env.syncDir(dir));

    // Open what was written, as any open would, and commit once so that the
    // head slot and .meta hold the same state again.
    VD_TRY_ASSIGN(c->m_bitmapFile, env.open(join(dir, kBitmapFile), io::OpenMode::ReadWrite));
    VD_TRY_ASSIGN(c->m_metaFile, env.open(join(dir, kMetaFile), io::OpenMode::ReadWrite));
    VD_TRY(c->loadCommitted());
    c->m_dirty = true;
    VD_TRY(c->commit());
    c->m_warnings = std::move(notes);
    if (recovered)
        *recovered = chosen->generation;
    return c;
}

Status Collection::checkUsable() const
{
    return m_broken;
}

Status Collection::checkWritable() const
{
    VD_TRY(m_broken);
    if (m_access != Access::ReadWrite)
        return Status::permissionDenied(QStringLiteral("collection '%1' is open read-only").arg(m_meta.name));
    return {};
}

Status Collection::abandonTransaction(Status cause)
{
    return failAndReload(std::move(cause));
}

CatalogReader &Collection::catalog()
{
    return *m_workingCatalog;
}

Result<std::unique_ptr<CatalogReader>> Collection::committedCatalog()
{
    VD_TRY(checkUsable());
    return std::unique_ptr<CatalogReader>(std::make_unique<CommittedCatalog>(m_catalogStore, m_meta.root.catalogRoot));
}

Result<std::unique_ptr<CatalogReader>> Collection::snapshotCatalog(const QString &name)
{
    VD_TRY(checkUsable());
    VD_TRY_ASSIGN(const auto rec, findSnapshot(name));
    if (!rec)
        return Status::notFound(QStringLiteral("no snapshot '%1'").arg(name));
    return std::unique_ptr<CatalogReader>(std::make_unique<CommittedCatalog>(m_catalogStore, rec->root));
}

PageRef Collection::committedRoot() const
{
    return m_meta.root.catalogRoot;
}

Status Collection::putRecord(QByteArrayView key, QByteArrayView value)
{
    VD_TRY(checkWritable());
    m_dirty = true;
    return m_catalog->put(key, value);
}

Result<bool> Collection::removeRecord(QByteArrayView key)
{
    VD_TRY(checkWritable());
    m_dirty = true;
    return m_catalog->remove(key);
}

Ruid Collection::origin() const { return m_root.origin; }

uint64_t Collection::takeVersion()
{
    m_dirty = true;
    return ++m_root.versionCounter;
}

void Collection::raiseVersionCounter(uint64_t atLeast)
{
    if (atLeast <= m_root.versionCounter)
        return;
    m_dirty = true;
    m_root.versionCounter = atLeast;
}

uint64_t Collection::vnodeCount() const { return m_root.vnodeCount; }

void Collection::addVnodes(int64_t delta)
{
    m_dirty = true;
    m_root.vnodeCount += uint64_t(delta);
}

uint64_t Collection::fileBytes() const { return m_root.fileBytes; }

void Collection::addFileBytes(uint64_t bytes)
{
    m_dirty = true;
    m_root.fileBytes += bytes;
}

void Collection::subtractFileBytes(uint64_t bytes)
{
    m_dirty = true;
    m_root.fileBytes -= std::min(m_root.fileBytes, bytes);
}

uint64_t Collection::nextChange() const { return m_root.nextChange; }
uint64_t Collection::firstChange() const { return m_root.firstChange; }

uint64_t Collection::takeChangeSequence()
{
    m_dirty = true;
    return m_root.nextChange++;
}

void Collection::dropOldestChange()
{
    m_dirty = true;
    ++m_root.firstChange;
}

Status Collection::failAndReload(Status cause)
{
    Status reload = loadCommitted();
    if (!reload)
        m_broken = Status(cause.code(), QStringLiteral("%1; the committed state could not be reloaded either (%2): reopen the collection")
                                            .arg(cause.message(), reload.toString()));
    return cause;
}

Status Collection::rollback()
{
    VD_TRY(checkUsable());
    if (!m_dirty)
        return {};
    Status st = loadCommitted();
    if (!st)
        m_broken = st;
    return st;
}

Status Collection::commit()
{
    VD_TRY(checkWritable());
    if (!m_dirty)
        return {};
    const uint64_t generation = m_meta.generation + 1;
    const bool deleting = m_space->reserveAllowed();
    Status st = [&]() -> Status {
        // The reserve is made whole first. An ordinary change that cannot
        // have it back fails here, before it wrote anything the reserve was
        // kept for; a delete goes on without it and may draw on it.
        const Status refill = m_space->refillReserve(m_meta.catalogBlockClass, kReserveBlocks);
        if (!refill && !(deleting && refill.code() == ErrorCode::NoSpace))
            return refill.code() == ErrorCode::NoSpace
                       ? Status::noSpace(QStringLiteral("%1 (the disk is full: free space with vdrive rm --permanent, trash empty, snapshot delete and gc, "
                                                        "which always work)")
                                             .arg(refill.message()))
                       : refill;
        VD_TRY(flushSmallLogs());
        // Compaction needs room. A delete on a full disk (the reserve could
        // not be made whole) compacts only what the room it has left allows:
        // mostly dead catalog blocks, so that their space comes back.
        if (!deleting && m_catalogStore->wantsCompaction())
            VD_TRY(m_catalogStore->compact(*m_catalog));
        if (deleting && m_space->reserve().size() < kReserveBlocks) {
            const uint64_t room = commitRoom();
            const uint64_t need = commitNeed(true);
            if (room > need)
                VD_TRY(m_catalogStore->compactWithin(*m_catalog, (room - need) / 2));
        }
        RootRecord root = m_root;
        root.generation = generation;
        VD_TRY_ASSIGN(root.catalogRoot, m_catalog->flush());
        VD_TRY(m_catalogStore->finishCommit(&root));
        root.openSmallBlocks.clear();
        for (const auto &log : m_openSmall)
            root.openSmallBlocks.push_back(log->state().id);
        root.reserve = m_space->reserve(); // after the catalog's last block was allocated
        // The commit's last allocation is behind us: blocks freed by this
        // transaction are free in the generation it writes, and so are the
        // units at the tail they empty. The file itself is cut only once the
        // commit is durable: until then the old generation may need them.
        // Readers of an older generation may still need them: then they
        // wait in limbo, free on disk but not handed out (Space).
        VD_TRY(m_space->applyFrees(generation, m_readers->oldestPin().has_value()));
        m_space->dropFreeTailUnits();
        VD_TRY(m_idvd->growToUnits(m_space->allocator().unitCount()));
        const PreparedBitmap bitmap = m_space->limbo().empty() ? prepareBitmap(m_meta.bitmap, generation, m_space->allocator())
                                                               : prepareBitmap(m_meta.bitmap, generation, m_space->durableAllocator());
        Meta m = m_meta;
        m.generation = generation;
        m.committedMs = nowMs();
        m.units = m_space->allocator().unitCount();
        m.bitmap = bitmap.location;
        m.root = root;
        // The head slot holds the whole state, so idvd alone is enough.
        VD_TRY(m_idvd->write(HeadSlot::offsetFor(generation), HeadSlot::encode(m)));
        VD_TRY(writePreparedBitmap(*m_bitmapFile, bitmap, !deleting));
        VD_TRY(m_idvd->sync());
        VD_TRY(m_bitmapFile->sync());
        VD_TRY(writeMeta(*m_metaFile, m)); // the commit point
        if (m_damagedCopy == int(generation % 2)) {
            m_damagedCopy = -1; // replaced
            m_metaFault.clear();
        }
        m_meta = std::move(m);
        m_root = root;
        return {};
    }();
    if (!st)
        return failAndReload(st);
    // New readers pin this generation from now on.
    m_readers->publish(generation, m_meta.root);
    m_dirty = false;
    m_space->setReserveAllowed(false);
    m_catalogStore->setGeneration(generation + 1);
    m_catalogStore->committed();
    m_catalog->trimCache(4096);
    // The space of the blocks this commit freed goes back to the file
    // system: holes where they lie, and free units at the tail cut off.
    // Never earlier: until the commit point the previous generation needed
    // them, and a reader of an older generation still does (limbo; a reader
    // may have pinned the previous one just before this commit point).
    // Failing here loses nothing but disk space (gc punches every free part
    // again; the next open trims the tail).
    (void)m_space->settleFrees(generation, m_readers->oldestPin());
    // The block map's readers picture the allocator as it is now (a pin
    // taken in between pairs this generation with the previous words: its
    // new blocks are left out of that one picture).
    m_readers->publishWords(std::make_shared<const std::vector<uint32_t>>(m_space->allocator().words()));
    (void)m_readers->reportOverdue();
    (void)m_idvd->resizeToUnits(m_space->allocator().unitCount());
    return {};
}

void Collection::beginDelete()
{
    if (!m_dirty && m_space)
        m_space->setReserveAllowed(true);
}

void Collection::noteGrowth()
{
    if (m_space)
        m_space->setReserveAllowed(false);
}

uint64_t Collection::commitRoom() const
{
    uint64_t room = m_catalogStore->openRoom();
    if (m_space->reserveAllowed())
        room += m_space->reserveBytes();
    return room;
}

uint64_t Collection::commitNeed(bool precise, uint64_t pendingBytes) const
{
    // What the commit writes into CatalogLog blocks at most: each dirty page
    // (raw: compression never makes a page bigger) with its directory entry,
    // the segment table and a directory.
    const uint64_t perPage = SlotLocation::kEncodedSize + 64;
    const uint64_t pages = m_catalog->dirtyPages() + 2 + 2 * pendingBytes / Catalog::kPageTarget;
    const uint64_t fixed = 4 + 28 * uint64_t(m_catalogStore->segments().size() + 1) + 64 * SlotLocation::kEncodedSize + 4096;
    if (!precise)
        return pages * (Catalog::kPageTarget + perPage) + fixed; // a cheap bound
    return m_catalog->dirtyBytes() + pendingBytes + pages * perPage + fixed;
}

Result<bool> Collection::commitMayNotFit(uint64_t pendingBytes)
{
    const uint64_t room = commitRoom();
    // On a disk that is already short, half the room stays for compaction.
    const uint64_t usable = m_space->reserve().size() < kReserveBlocks ? room / 2 : room;
    if (commitNeed(false, pendingBytes) <= usable || commitNeed(true, pendingBytes) <= usable)
        return false;
    // Free disk space counts, after what the commit takes first to make the
    // reserve whole again, and only half of it (others write there too).
    VD_TRY_ASSIGN(uint64_t available, m_env.availableBytes(m_dir));
    const uint64_t shortfall = (kReserveBlocks - std::min(kReserveBlocks, m_space->reserve().size())) * classSize(m_meta.catalogBlockClass);
    available = available > shortfall ? available - shortfall : 0;
    return commitNeed(true, pendingBytes) > usable + available / 2;
}

Result<CollectionInfo> Collection::info()
{
    VD_TRY(checkUsable());
    CollectionInfo i;
    i.ruid = m_meta.ruid;
    i.name = m_meta.name;
    i.path = m_dir;
    i.generation = m_meta.generation;
    i.createdMs = m_meta.createdMs;
    i.committedMs = m_meta.committedMs;
    i.warnings = m_warnings;
    const BlockAllocator &alloc = m_space->allocator();
    i.units = alloc.unitCount();
    VD_TRY_ASSIGN(i.idvdBytes, m_idvd->size());
    i.allocatedBytes = alloc.allocatedBytes();
    i.blocksPerClass = alloc.blocksPerClass();
    VD_TRY_ASSIGN(const auto records, blockRecords());
    for (const BlockEntry &b : records) {
        if (b.record.kind == BlockKind::Data) {
            ++i.dataBlocks;
            i.dataBlockBytes += b.record.extent.size();
            continue;
        }
        const SmallBlockLog *log = openSmallLog(b.id);
        const SmallBlockState &st = log ? log->state() : b.record.small;
        ++i.smallBlocks;
        i.smallBlockBytes += b.record.extent.size();
        i.smallSlots += st.liveSlots;
        i.smallStoredBytes += st.liveBytes;
    }
    VD_TRY_ASSIGN(const auto locations, locationRecords());
    for (const auto &[name, loc] : locations) {
        if (loc.placement == LocationRecord::Placement::Block) {
            ++i.dataBlocks;
            i.dataBlockBytes += loc.extent.size();
        }
    }
    for (const auto &[offset, seg] : m_catalogStore->segments()) {
        ++i.catalogBlocks;
        i.catalogBytes += seg.extent.size();
        i.catalogLiveBytes += seg.liveBytes;
    }
    i.reserveBytes = m_space->reserveBytes();
    i.objects = m_root.objectCount;
    i.objectBytes = m_root.logicalBytes;
    i.vnodes = m_root.vnodeCount;
    i.treeBytes = m_root.fileBytes;
    i.snapshots = m_root.snapshotCount;
    i.logicalBytes = i.objectBytes + i.treeBytes;
    if (i.logicalBytes > 0)
        i.paddingRatio = double(i.dataBlockBytes + i.smallBlockBytes) / double(i.logicalBytes);
    return i;
}

} // namespace vd::storage
