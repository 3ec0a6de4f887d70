// Drive: the engine API of the tree. Each call checks what it needs and
// hands the work to the class that owns the concern (see drive.h's private
// members and ARCHITECTURE.md's map of engine/tree).
#include "drive.h"

#include "filechanges.h"
#include "folderchanges.h"
#include "jsondocuments.h"
#include "lmdbtreecache.h"
#include "remotechanges.h"
#include "removal.h"
#include "snapshots.h"
#include "treefsck.h"
#include "treewriter.h"
#include "views.h"

#include <QDateTime>
#include <QBuffer>

#include <algorithm>

namespace vd::tree {

Drive::Drive(std::unique_ptr<storage::Collection> collection, const DriveOptions &options)
    : m_col(std::move(collection))
    , m_options(options)
    , m_views(std::make_unique<Views>(*m_col, options.entryCacheBytes))
    , m_writer(std::make_unique<TreeWriter>(*m_col, *m_views))
{
    m_writer->feed().setLimits(options.feed);
    m_writer->setNode(options.nodeShortId);
    m_writer->tombstones().setLimits(options.tombstones);
    m_col->setPayloadCacheBytes(options.blockCacheBytes);
}

Drive::Drive(std::unique_ptr<storage::GenerationReader> generation, const DriveOptions &options)
    : m_reader(std::move(generation)), m_options(options), m_views(std::make_unique<Views>(*m_reader, options.entryCacheBytes))
{
}

Drive::~Drive()
{
    // The views go before the catalogs they read.
    if (!m_col) {
        m_views.reset();
        return;
    }
    // The LMDB cache goes first: it hands the collection's block locator back.
    m_writer->setLmdb(nullptr);
    m_views->live().useLmdb(nullptr, {});
    m_lmdb.reset();
    m_col->setBlockLocator(nullptr);
}

std::unique_ptr<Drive> Drive::reader(std::unique_ptr<storage::GenerationReader> generation, const DriveOptions &options)
{
    return std::unique_ptr<Drive>(new Drive(std::move(generation), options));
}

uint64_t Drive::generation() const
{
    return m_reader ? m_reader->generation() : m_col->generation();
}

Status Drive::checkWriter() const
{
    if (m_reader)
        return Status::permissionDenied(
            QStringLiteral("this drive reads generation %1 and is read-only: changes go through the writer").arg(m_reader->generation()));
    return {};
}

Result<std::unique_ptr<Drive>> Drive::open(io::Env &env, const QString &dir, storage::Access access, const DriveOptions &options)
{
    VD_TRY_ASSIGN(auto col, storage::Collection::open(env, dir, access));
    return attach(std::move(col), options);
}

Result<std::unique_ptr<Drive>> Drive::attach(std::unique_ptr<storage::Collection> collection, const DriveOptions &options)
{
    if (!collection->isReadOnly() && options.nodeShortId == 0)
        return Status::invalidArgument(QStringLiteral("opening collection %1 for writing needs this node's identity (DriveOptions::nodeShortId): "
                                                      "the versions of its changes name the node that made them")
                                           .arg(collection->ruid().toString()));
    std::unique_ptr<Drive> d(new Drive(std::move(collection), options));
    VD_TRY(d->m_writer->initialize());
    if (!options.lmdbCacheDir.isEmpty()) {
        // Busy (another process has it) or unwritable: run without it.
        d->m_lmdb = LmdbTreeCache::open(options.lmdbCacheDir, *d->m_col, &d->m_lmdbProblem);
        if (d->m_lmdb) {
            storage::Collection *col = d->m_col.get();
            d->m_writer->setLmdb(d->m_lmdb.get());
            // The cache describes the committed tree: it answers while the
            // live tree holds nothing uncommitted.
            d->m_views->live().useLmdb(d->m_lmdb.get(), [col] { return !col->hasUncommittedChanges(); });
        }
    }
    return d;
}

bool Drive::hasUncommittedChanges() const
{
    return m_col && m_col->hasUncommittedChanges();
}

// ---- look-ups ---------------------------------------------------------------

Result<VNode> Drive::stat(const QString &path, const QString &at)
{
    VD_TRY_ASSIGN(TreeView * v, m_views->view(at));
    return v->resolve(path);
}

Result<VNode> Drive::statId(const Ruid &id, const QString &at)
{
    VD_TRY_ASSIGN(TreeView * v, m_views->view(at));
    return v->nodeById(id);
}

Result<QString> Drive::pathOf(const Ruid &id, const QString &at)
{
    VD_TRY_ASSIGN(TreeView * v, m_views->view(at));
    VD_TRY(v->nodeById(id).status());
    return v->pathOf(id);
}

Result<std::vector<VNode>> Drive::list(const QString &path, const QString &at)
{
    VD_TRY_ASSIGN(TreeView * v, m_views->view(at));
    VD_TRY_ASSIGN(const VNode dir, v->resolve(path));
    if (!dir.isContainer())
        return Status::invalidArgument(QStringLiteral("%1 is a %2, not a folder").arg(path, kindName(dir.kind)));
    return v->children(dir);
}

Result<std::vector<ClusterInfo>> Drive::clusters(const QString &path, const QString &at)
{
    VD_TRY_ASSIGN(TreeView * v, m_views->view(at));
    return v->clusters(path);
}

Status Drive::readFile(const QString &path, QIODevice &out, const storage::ProgressFn &progress, const QString &at)
{
    VD_TRY_ASSIGN(TreeView * v, m_views->view(at));
    VD_TRY_ASSIGN(const VNode n, v->resolve(path));
    if (isJson(n.kind))
        return JsonDocuments::exportJson(*v, path, out, 2);
    if (n.kind != Kind::File)
        return Status::invalidArgument(QStringLiteral("%1 is a folder").arg(path));
    if (m_reader)
        return m_reader->streamData(v->catalog(), n.id, n.size, out, progress, path);
    return m_col->streamData(v->catalog(), n.id, n.size, out, progress, path);
}

Result<QByteArray> Drive::read(const QString &path, uint64_t offset, uint64_t length, const QString &at)
{
    VD_TRY_ASSIGN(TreeView * v, m_views->view(at));
    VD_TRY_ASSIGN(const VNode n, v->resolve(path));
    if (n.kind == Kind::JsonValue)
        return offset >= uint64_t(n.value.size()) ? QByteArray() : n.value.mid(qsizetype(offset), qsizetype(std::min<uint64_t>(length, INT32_MAX)));
    if (n.kind != Kind::File)
        return Status::invalidArgument(QStringLiteral("%1 is a %2, not a file").arg(path, kindName(n.kind)));
    if (m_reader)
        return m_reader->readData(v->catalog(), n.id, n.size, offset, length, path);
    return m_col->readData(v->catalog(), n.id, n.size, offset, length, path);
}

Result<DuInfo> Drive::du(const QString &path, const QString &at, const storage::ProgressFn &progress)
{
    VD_TRY_ASSIGN(TreeView * v, m_views->view(at));
    Ticker ticker(progress, QStringLiteral("du"));
    return ticker.finished(v->du(path, &ticker));
}

Result<storage::AllocationMap> Drive::allocationMap()
{
    return m_reader ? m_reader->allocationMap() : m_col->allocationMap();
}

Result<BlockOwners> Drive::blockOwners(const storage::ProgressFn &progress)
{
    VD_TRY_ASSIGN(const auto recs, m_reader ? m_reader->snapshotRecords() : m_col->snapshotRecords());
    std::vector<std::pair<QString, uint64_t>> names;
    for (const auto &[name, rec] : recs)
        names.emplace_back(name, rec.generation);
    Ticker ticker(progress, QStringLiteral("block owners"));
    Result<BlockOwners> out = ticker.finished(findBlockOwners(*m_views, names, &ticker));
    if (out)
        out->generation = generation();
    return out;
}

Result<std::vector<TrashEntry>> Drive::listTrash()
{
    VD_TRY(m_views->view(QString()).status());
    return m_views->live().trash();
}

Result<std::vector<ChangeRecord>> Drive::changesSince(uint64_t from, size_t limit)
{
    VD_TRY(m_views->view(QString()).status());
    return ChangeFeed::read(m_views->live().catalog(), firstChangeSequence(), from, limit);
}

uint64_t Drive::nextChangeSequence() const
{
    return m_reader ? m_reader->root().nextChange : m_col->nextChange();
}

uint64_t Drive::firstChangeSequence() const
{
    return m_reader ? m_reader->root().firstChange : m_col->firstChange();
}

Result<uint64_t> Drive::registerConsumer(const QString &name)
{
    VD_TRY(checkWriter());
    // Refusals first: a failure after a change rolls the transaction back.
    VD_TRY(m_col->checkWritable());
    VD_TRY(validateName(name).withContext(QStringLiteral("consumer name")));
    return m_writer->guard(m_writer->feed().registerConsumer(name));
}

Status Drive::advanceConsumer(const QString &name, uint64_t next)
{
    VD_TRY(checkWriter());
    VD_TRY(m_col->checkWritable());
    VD_TRY_ASSIGN(const ConsumerInfo cur, ChangeFeed::consumer(m_col->catalog(), name));
    if (next < cur.next || next > m_col->nextChange())
        return m_writer->feed().advanceConsumer(name, next); // the refusal, before anything changes
    return m_writer->guard(m_writer->feed().advanceConsumer(name, next));
}

Status Drive::unregisterConsumer(const QString &name)
{
    VD_TRY(checkWriter());
    VD_TRY(m_col->checkWritable());
    VD_TRY(ChangeFeed::consumer(m_col->catalog(), name).status());
    return m_writer->guard(m_writer->feed().unregisterConsumer(name));
}

Result<std::vector<ConsumerInfo>> Drive::consumers()
{
    VD_TRY(m_views->view(QString()).status());
    return ChangeFeed::consumers(m_views->live().catalog());
}

Result<std::vector<std::pair<Ruid, Tombstone>>> Drive::tombstones()
{
    VD_TRY(m_views->view(QString()).status());
    std::vector<std::pair<Ruid, Tombstone>> out;
    VD_TRY(Tombstones::forEach(m_views->live().catalog(), [&](const Ruid &id, const Tombstone &t) -> Result<bool> {
        out.emplace_back(id, t);
        return true;
    }));
    return out;
}

Result<uint64_t> Drive::forgetTombstones(const std::vector<VersionVector> &knowledge)
{
    VD_TRY(checkWriter());
    VD_TRY(m_col->checkWritable());
    return m_writer->guard(m_writer->tombstones().forget(knowledge));
}

Result<ApplyResult> Drive::applyRemote(const RemoteNode &remote)
{
    VD_TRY(checkWriter());
    return RemoteChanges(*m_writer).apply(remote);
}

Result<ApplyResult> Drive::applyRemoteRemoval(const Ruid &id, const Tombstone &tombstone)
{
    VD_TRY(checkWriter());
    return RemoteChanges(*m_writer).applyRemoval(id, tombstone);
}

// ---- changes ----------------------------------------------------------------

Result<VNode> Drive::putFile(const QString &path, QIODevice &in, const storage::ProgressFn &progress, io::ZeroRuns *holes,
                             const storage::PackedPayload *packed)
{
    VD_TRY(checkWriter());
    return FileChanges(*m_writer).putFile(path, in, progress, holes, packed);
}

Result<VNode> Drive::putFileBytes(const QString &path, QByteArrayView bytes)
{
    QByteArray copy = bytes.toByteArray();
    QBuffer buf(&copy);
    buf.open(QIODevice::ReadOnly);
    return putFile(path, buf);
}

Result<VNode> Drive::writeFile(const QString &path, uint64_t offset, QByteArrayView data)
{
    VD_TRY(checkWriter());
    return FileChanges(*m_writer).writeFile(path, offset, data);
}

Result<VNode> Drive::appendFile(const QString &path, QByteArrayView data)
{
    VD_TRY(checkWriter());
    return FileChanges(*m_writer).appendFile(path, data);
}

Result<VNode> Drive::mkdir(const QString &path, bool parents)
{
    VD_TRY(checkWriter());
    return FolderChanges(*m_writer).mkdir(path, parents);
}

Result<VNode> Drive::move(const QString &from, const QString &to)
{
    VD_TRY(checkWriter());
    return FolderChanges(*m_writer).move(from, to);
}

Result<VNode> Drive::copy(const QString &from, const QString &to, const QString &at, const storage::ProgressFn &progress)
{
    VD_TRY(checkWriter());
    Ticker ticker(progress, QStringLiteral("copying %1").arg(from));
    return ticker.finished(FolderChanges(*m_writer, &ticker).copy(from, to, at));
}

Status Drive::remove(const QString &path, bool recursive, bool toTrash, const storage::ProgressFn &progress)
{
    VD_TRY(checkWriter());
    Ticker ticker(progress, QStringLiteral("removing %1").arg(path));
    return ticker.finished(Removal(*m_writer, &ticker).remove(path, recursive, toTrash));
}

Result<VNode> Drive::restoreFromTrash(const Ruid &id, const QString &to)
{
    VD_TRY(checkWriter());
    return Removal(*m_writer).restoreFromTrash(id, to);
}

Result<uint64_t> Drive::emptyTrash(int64_t deletedBeforeMs, const storage::ProgressFn &progress)
{
    VD_TRY(checkWriter());
    Ticker ticker(progress, QStringLiteral("emptying the trash"));
    return ticker.finished(Removal(*m_writer, &ticker).emptyTrash(deletedBeforeMs));
}

Result<uint64_t> Drive::deleteFromTrash(const std::vector<Ruid> &ids, const storage::ProgressFn &progress)
{
    VD_TRY(checkWriter());
    Ticker ticker(progress, QStringLiteral("deleting from the trash"));
    return ticker.finished(Removal(*m_writer, &ticker).deleteFromTrash(ids));
}

Result<VNode> Drive::importJson(const QString &path, QIODevice &in, bool replace, const storage::ProgressFn &progress)
{
    VD_TRY(checkWriter());
    Ticker ticker(progress, QStringLiteral("importing %1").arg(path));
    return ticker.finished(JsonDocuments(*m_writer, &ticker).importJson(path, in, replace));
}

Status Drive::exportJson(const QString &path, QIODevice &out, int indent, const QString &at)
{
    VD_TRY_ASSIGN(TreeView * v, m_views->view(at));
    return JsonDocuments::exportJson(*v, path, out, indent);
}

Result<VNode> Drive::setJson(const QString &path, QByteArrayView jsonText)
{
    VD_TRY(checkWriter());
    return JsonDocuments(*m_writer).setJson(path, jsonText);
}

Status Drive::deleteJson(const QString &path)
{
    VD_TRY(checkWriter());
    return JsonDocuments(*m_writer).deleteJson(path);
}

Result<SnapshotInfo> Drive::createSnapshot(const QString &name)
{
    VD_TRY(checkWriter());
    return Snapshots(*m_writer).create(name);
}

Result<std::vector<SnapshotInfo>> Drive::listSnapshots(bool withUniqueBytes, const storage::ProgressFn &progress)
{
    if (!m_reader)
        return Snapshots(*m_writer).list(withUniqueBytes, progress);
    if (withUniqueBytes)
        return Status::permissionDenied(QStringLiteral("the bytes each snapshot alone keeps are counted by the writer, not a reader"));
    VD_TRY_ASSIGN(const auto recs, m_reader->snapshotRecords());
    std::vector<SnapshotInfo> out;
    for (const auto &[name, rec] : recs)
        out.push_back(SnapshotInfo{name, rec.generation, rec.createdMs, rec.vnodes, rec.fileBytes, std::nullopt});
    std::sort(out.begin(), out.end(), [](const SnapshotInfo &a, const SnapshotInfo &b) { return a.generation < b.generation; });
    return out;
}

Status Drive::deleteSnapshot(const QString &name)
{
    VD_TRY(checkWriter());
    return Snapshots(*m_writer).remove(name);
}

Result<std::vector<DiffEntry>> Drive::diff(const QString &from, const QString &to, bool exhaustive, const storage::ProgressFn &progress)
{
    Ticker ticker(progress, QStringLiteral("diff"));
    if (!m_reader)
        return ticker.finished(Snapshots(*m_writer, &ticker).diff(from, to, exhaustive));
    storage::GenerationReader &g = *m_reader;
    auto rootOf = [&g](const QString &name) -> Result<storage::PageRef> {
        if (name.isEmpty())
            return g.root().catalogRoot;
        VD_TRY_ASSIGN(const auto rec, g.findSnapshot(name));
        if (!rec)
            return Status::notFound(QStringLiteral("no snapshot '%1'").arg(name));
        return rec->root;
    };
    return ticker.finished(Snapshots::compare(*m_views, g.catalog(), rootOf, from, to, exhaustive, &ticker));
}

Result<VNode> Drive::restore(const QString &snapshot, const QString &path, const QString &to, const storage::ProgressFn &progress)
{
    VD_TRY(checkWriter());
    Ticker ticker(progress, QStringLiteral("restoring %1").arg(path));
    return ticker.finished(Snapshots(*m_writer, &ticker).restore(snapshot, path, to));
}

Result<storage::GcReport> Drive::gc(const storage::ProgressFn &progress)
{
    VD_TRY(checkWriter());
    VD_TRY(m_col->checkWritable());
    uint64_t expired = 0;
    if (m_options.trashExpiryMs > 0) {
        VD_TRY_ASSIGN(expired, emptyTrash(TreeWriter::nowMs() - m_options.trashExpiryMs, progress));
    }
    VD_TRY(commit());
    m_writer->dropCaches();
    auto report = m_col->collectGarbage(progress);
    m_writer->dropCaches();
    if (report)
        report->trashExpired = expired;
    return report;
}

storage::FsckReport Drive::fsck(const storage::ProgressFn &progress)
{
    if (m_reader) {
        storage::FsckReport r;
        r.faults.push_back(checkWriter().toString());
        return r;
    }
    Ticker ticker(progress, QStringLiteral("fsck"));
    storage::FsckReport r = TreeFsck(*m_writer, ticker).run();
    if (r.status)
        r.status = ticker.finish();
    r.finishCorrupt();
    r.generation = generation();
    r.finishedMs = QDateTime::currentMSecsSinceEpoch();
    return r;
}

Status Drive::commit()
{
    if (m_reader)
        return {}; // nothing is ever pending
    return m_writer->commit();
}

Status Drive::rollback()
{
    if (m_reader)
        return {};
    return m_writer->rollback();
}

QString Drive::lmdbProblem() const
{
    return m_lmdbProblem;
}

Drive::CacheStats Drive::cacheStats() const
{
    const TreeView::Stats v = m_views->stats();
    CacheStats s;
    s.entryHits = v.entryHits;
    s.entryMisses = v.entryMisses;
    s.lmdbHits = v.lmdbHits;
    if (m_lmdb)
        s.lmdbResets = m_lmdb->resets();
    return s;
}

} // namespace vd::tree
