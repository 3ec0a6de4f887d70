#include "collection.h"

#include "bitmapfile.h"
#include "catalog.h"
#include "catalogstore.h"
#include "idvdfile.h"
#include "smallblock.h"
#include "space.h"

#include <QDateTime>
#include <QFileInfo>

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

} // namespace

Collection::Collection(io::Env &env, QString dir, Access access) : m_env(env), m_dir(std::move(dir)), m_access(access) {}

Collection::~Collection() = default;

Ruid Collection::ruid() const { return m_meta.ruid; }
QString Collection::name() const { return m_meta.name; }
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

    // idvd: one unit whose first 1 MiB block is the head.
    const uint64_t generation = 1;
    RootRecord root;
    root.generation = generation;
    root.origin = Ruid::generate();
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
        VD_TRY(file->write(HeadSlot::offsetFor(generation), HeadSlot::encode(ruid, root)));
        VD_TRY(file->sync());
    }
    BlockAllocator alloc(1);
    VD_TRY(alloc.markAllocated(Extent{0, 0}));
    BitmapLocation bitmap;
    {
        VD_TRY_ASSIGN(auto file, env.open(join(dir, kBitmapFile), io::OpenMode::CreateNew));
        VD_TRY_ASSIGN(bitmap, writeBitmap(*file, BitmapLocation(), generation, alloc));
        VD_TRY(file->sync());
    }
    {
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
        m.bitmap = bitmap;
        m.root = root;
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

Result<std::unique_ptr<Collection>> Collection::open(io::Env &env, const QString &dir, Access access)
{
    return openImpl(env, dir, access, false, nullptr);
}

Result<std::unique_ptr<Collection>> Collection::openAndRepairBitmap(io::Env &env, const QString &dir, bool *changed)
{
    VD_TRY_ASSIGN(auto c, openImpl(env, dir, Access::ReadWrite, true, changed));
    VD_TRY(c->commit());
    return c;
}

Result<std::unique_ptr<Collection>> Collection::openImpl(io::Env &env, const QString &dir, Access access, bool rebuildBitmap, bool *changed)
{
    VD_TRY_ASSIGN(const bool isDir, env.isDirectory(dir));
    if (!isDir)
        return Status::notFound(QStringLiteral("no collection folder '%1'").arg(dir));
    if (!Ruid::parse(QFileInfo(dir).fileName()))
        return Status::invalidArgument(QStringLiteral("'%1' is not a collection folder: its name is not a RUID").arg(dir));
    for (const char *name : {kDataFile, kBitmapFile, kMetaFile}) {
        VD_TRY_ASSIGN(const bool there, env.exists(join(dir, name)));
        if (!there)
            return Status::corruption(QStringLiteral("collection folder '%1' is missing its %2 file").arg(dir, QLatin1String(name)));
    }
    std::unique_ptr<Collection> c(new Collection(env, dir, access));
    const io::OpenMode mode = access == Access::ReadWrite ? io::OpenMode::ReadWrite : io::OpenMode::ReadOnly;
    VD_TRY_ASSIGN(c->m_lock, env.lock(join(dir, kDataFile), access == Access::ReadWrite ? io::LockMode::Exclusive : io::LockMode::Shared));
    VD_TRY_ASSIGN(auto idvd, env.open(join(dir, kDataFile), mode));
    c->m_idvd = std::make_unique<IdvdFile>(std::move(idvd));
    VD_TRY_ASSIGN(c->m_bitmapFile, env.open(join(dir, kBitmapFile), mode));
    VD_TRY_ASSIGN(c->m_metaFile, env.open(join(dir, kMetaFile), mode));
    VD_TRY(c->loadCommitted(rebuildBitmap, changed));
    return c;
}

Status Collection::loadCommitted(bool rebuildBitmap, bool *bitmapChanged)
{
    m_openSmall.clear();
    m_catalog.reset();
    m_catalogStore.reset();
    m_space.reset();
    m_dirty = false;

    auto meta = readMeta(*m_metaFile);
    if (!meta)
        return meta.status().withContext(QStringLiteral("reading .meta"));
    if (meta->ruid.toString() != QFileInfo(m_dir).fileName())
        return Status::corruption(QStringLiteral("'%1' holds the .meta of collection %2").arg(m_dir, meta->ruid.toString()));
    auto alloc = readBitmap(*m_bitmapFile, *meta);
    const bool bitmapReadable = alloc.isOk();
    if (!alloc && !rebuildBitmap)
        return alloc.status().withContext(QStringLiteral("reading .bitmap (vdrive fsck --repair rebuilds it)"));
    VD_TRY_ASSIGN(const BlockHeader head, m_idvd->readHeader(Extent{0, 0}));
    if (head.kind != BlockKind::Head || head.blockId != meta->ruid)
        return Status::corruption(QStringLiteral("idvd does not begin with the head block of collection %1").arg(meta->ruid.toString()));

    m_meta = std::move(meta).value();
    m_root = m_meta.root;
    // A catalog of an older format is read as it is; a writer's next commit
    // records this build's format, whose records are a superset of it.
    if (m_access == Access::ReadWrite)
        m_root.catalogFormat = RootRecord::kCatalogFormat;
    m_space = std::make_unique<Space>(m_idvd.get(), alloc ? std::move(alloc).value() : BlockAllocator(m_meta.units));
    m_space->setReserve(m_meta.root.reserve);
    m_catalogStore = std::make_unique<CatalogStore>(m_idvd.get(), m_space.get(), m_meta.catalogBlockClass);
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

    if (rebuildBitmap) {
        std::vector<std::pair<Extent, QString>> reachable;
        VD_TRY(collectReachable(&reachable, nullptr));
        BlockAllocator rebuilt(1);
        for (const auto &[extent, what] : reachable) {
            Status st = rebuilt.markAllocated(extent);
            if (!st)
                return Status::corruption(QStringLiteral("cannot rebuild .bitmap: %1 (%2)").arg(st.message(), what));
        }
        const bool changed = !bitmapReadable || m_space->allocator().blocks() != rebuilt.blocks();
        if (bitmapChanged)
            *bitmapChanged = changed;
        if (changed) {
            m_space->replaceAllocator(std::move(rebuilt));
            m_dirty = true; // the next commit writes the rebuilt bitmap
        }
    }
    if (!m_space->allocator().isAllocated(Extent{0, 0}))
        return Status::corruption(QStringLiteral(".bitmap does not reserve the head block"));
    for (const Extent &e : m_space->reserve())
        if (!m_space->allocator().isAllocated(e))
            return Status::corruption(QStringLiteral("the free-space reserve block at offset %1 is not allocated in .bitmap").arg(e.offset));

    // idvd must hold every allocated unit. It may be longer (growth of a
    // commit that did not finish) or shorter (free tail units given back).
    VD_TRY_ASSIGN(const uint64_t size, m_idvd->size());
    const uint64_t units = size / kUnitSize;
    for (const Extent &e : m_space->allocator().blocks())
        if (e.unit() >= units)
            return Status::corruption(QStringLiteral("idvd is %1 bytes long but a block is allocated at offset %2: the file was truncated")
                                          .arg(size)
                                          .arg(e.offset));
    if (m_access == Access::ReadWrite) {
        VD_TRY(m_space->shrinkTail());
        VD_TRY(m_idvd->resizeToUnits(m_space->allocator().unitCount()));
    }
    m_broken = Status();
    return {};
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
        VD_TRY(m_space->applyFrees());
        m_space->dropFreeTailUnits();
        VD_TRY(m_idvd->growToUnits(m_space->allocator().unitCount()));
        VD_TRY(m_idvd->write(HeadSlot::offsetFor(generation), HeadSlot::encode(m_meta.ruid, root)));
        VD_TRY_ASSIGN(const BitmapLocation bitmap, writeBitmap(*m_bitmapFile, m_meta.bitmap, generation, m_space->allocator(), !deleting));
        VD_TRY(m_idvd->sync());
        VD_TRY(m_bitmapFile->sync());
        Meta m = m_meta;
        m.generation = generation;
        m.committedMs = nowMs();
        m.units = m_space->allocator().unitCount();
        m.bitmap = bitmap;
        m.root = root;
        VD_TRY(writeMeta(*m_metaFile, m)); // the commit point
        m_meta = std::move(m);
        m_root = root;
        return {};
    }();
    if (!st)
        return failAndReload(st);
    m_dirty = false;
    m_space->setReserveAllowed(false);
    m_catalogStore->setGeneration(generation + 1);
    m_catalog->trimCache(4096);
    // The space of the blocks this commit freed goes back to the file
    // system: holes where they lie, and free units at the tail cut off.
    // Never earlier: until the commit point the previous generation needed
    // them. Failing here loses nothing but disk space (gc punches every free
    // part again; the next open trims the tail).
    (void)m_space->punchFreed();
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

uint64_t Collection::commitNeed(bool precise) const
{
    // What the commit writes into CatalogLog blocks at most: each dirty page
    // (raw: compression never makes a page bigger) with its directory entry,
    // the segment table and a directory.
    const uint64_t perPage = SlotLocation::kEncodedSize + 64;
    const uint64_t pages = m_catalog->dirtyPages() + 2;
    const uint64_t fixed = 4 + 28 * uint64_t(m_catalogStore->segments().size() + 1) + 64 * SlotLocation::kEncodedSize + 4096;
    if (!precise)
        return pages * (Catalog::kPageTarget + perPage) + fixed; // a cheap bound
    return m_catalog->dirtyBytes() + pages * perPage + fixed;
}

Result<bool> Collection::commitMayNotFit()
{
    const uint64_t room = commitRoom();
    // On a disk that is already short, half the room stays for compaction.
    const uint64_t usable = m_space->reserve().size() < kReserveBlocks ? room / 2 : room;
    if (commitNeed(false) <= usable || commitNeed(true) <= usable)
        return false;
    // Free disk space counts, after what the commit takes first to make the
    // reserve whole again, and only half of it (others write there too).
    VD_TRY_ASSIGN(uint64_t available, m_env.availableBytes(m_dir));
    const uint64_t shortfall = (kReserveBlocks - std::min(kReserveBlocks, m_space->reserve().size())) * classSize(m_meta.catalogBlockClass);
    available = available > shortfall ? available - shortfall : 0;
    return commitNeed(true) > usable + available / 2;
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
