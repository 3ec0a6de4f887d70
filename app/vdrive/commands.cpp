#include "commands.h"

#include "cliutil.h"
#include "progress.h"
#include "session.h"
#include "terminal.h"

#include "node/drivehost.h"
#include "node/node.h"
#include "storage/datadir.h"
#include "tree/drive.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QDateTime>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

namespace vd::cli {

using storage::Access;
using storage::Collection;

namespace {

void warnAll(Context &ctx, const std::vector<QString> &warnings)
{
    for (const QString &w : warnings)
        ctx.warn(w);
}

Result<Handle<Collection>> openCollection(Context &ctx, Access access)
{
    if (ctx.hostDrive)
        return borrowed(&ctx.hostDrive->collection());
    VD_TRY_ASSIGN(const QString dir, storage::findCollection(*ctx.env, ctx.dataDir, ctx.collection));
    VD_TRY_ASSIGN(auto c, Collection::open(*ctx.env, dir, access));
    warnAll(ctx, c->warnings());
    return Handle<Collection>(std::move(c));
}

// In the node, commands that work on the collection's files while nothing
// has them open are refused, naming the node (the client can stop it).
int refuseInNode(Context &ctx, const QString &what)
{
    return ctx.fail(Status::busy(QStringLiteral("%1 needs the collection's files closed, and the node (pid %2, vdrive serve) has them open: "
                                                "stop the node, then run it again")
                                     .arg(what)
                                     .arg(QCoreApplication::applicationPid())));
}

// Checks everything in the collection in folder dir, as `fsck` does, and
// reports it; `extra` goes into the JSON object, `preface` before the text.
int checkAndReport(Context &ctx, const QString &dir, const QJsonObject &extra, const QString &preface)
{
    std::unique_ptr<tree::Drive> own;
    tree::Drive *drive = ctx.hostDrive; // in the node: the host's, between its commits
    if (!drive) {
        auto opened = Collection::open(*ctx.env, dir, Access::ReadOnly);
        if (!opened)
            return ctx.fail(opened.status());
        auto attached = tree::Drive::attach(std::move(opened).value());
        if (!attached)
            return ctx.fail(attached.status());
        own = std::move(attached).value();
        drive = own.get();
    }
    // The collection's checks and the tree's (entries, index, parents, sizes,
    // trash); Ctrl-C stops them (what --repair or recover committed before
    // stays, and is said).
    ProgressLine progress(QStringLiteral("checking"), 0, !ctx.quiet && !ctx.json);
    const storage::FsckReport r = drive->fsck([&](uint64_t done) { return progress.entries(done); });
    progress.finish();
    if (ctx.host)
        ctx.host->recordCheck(r); // the block map paints what it found corrupt
    if (!r.status) {
        if (!preface.isEmpty())
            ctx.err << "vdrive: " << preface << " before the check was cancelled" << Qt::endl;
        return ctx.fail(r.status);
    }
    if (ctx.json) {
        QJsonArray faults;
        for (const QString &f : r.faults)
            faults.append(f);
        QJsonObject o{{QStringLiteral("clean"), r.isClean()},
                      {QStringLiteral("faults"), faults},
                      {QStringLiteral("objects"), qint64(r.objectsChecked)},
                      {QStringLiteral("vnodes"), qint64(r.vnodesChecked)},
                      {QStringLiteral("blocks"), qint64(r.blocksChecked)},
                      {QStringLiteral("slots"), qint64(r.slotsChecked)},
                      {QStringLiteral("pages"), qint64(r.pagesChecked)},
                      {QStringLiteral("bytesVerified"), qint64(r.bytesVerified)},
                      {QStringLiteral("reclaimableBytes"), qint64(r.reclaimableBytes)},
                      {QStringLiteral("overcountedBlocks"), qint64(r.overcountedBlocks)},
                      {QStringLiteral("notHere"), qint64(r.contentNotHere)}};
        for (auto it = extra.begin(); it != extra.end(); ++it)
            o[it.key()] = it.value();
        printJson(ctx, o);
    } else {
        if (!preface.isEmpty() && !ctx.quiet)
            ctx.out << preface << Qt::endl;
        for (const QString &f : r.faults)
            ctx.err << "fault: " << safeForStderr(f) << Qt::endl;
        if (!ctx.quiet || !r.isClean())
            ctx.out << (r.isClean() ? "clean: " : "FAULTS FOUND: ") << count(r.faults.size(), "fault", "faults") << "; checked "
                    << count(r.vnodesChecked, "node", "nodes") << ", " << count(r.objectsChecked, "object", "objects") << ", "
                    << count(r.blocksChecked, "block", "blocks") << ", "
                    << count(r.slotsChecked, "packed payload", "packed payloads") << ", " << count(r.pagesChecked, "catalog page", "catalog pages")
                    << ", " << formatBytes(r.bytesVerified) << " verified" << Qt::endl;
        if (!ctx.quiet && r.reclaimableBytes > 0)
            ctx.out << "reclaimable: " << formatBytes(r.reclaimableBytes) << " no longer referenced ('vdrive gc' gives it back)" << Qt::endl;
        if (!ctx.quiet && r.overcountedBlocks > 0)
            ctx.out << "recount: " << count(r.overcountedBlocks, "block counts", "blocks count")
                    << " references that are gone ('vdrive gc' recounts them)" << Qt::endl;
        if (!ctx.quiet && r.contentNotHere > 0)
            ctx.out << "not here: " << count(r.contentNotHere, "piece of content is", "pieces of content are")
                    << " referenced here but held by other nodes (not damage)" << Qt::endl;
    }
    return r.isClean() ? ExitOk : ExitCorrupt;
}

} // namespace

int cmdInit(Context &ctx)
{
    auto c = storage::createCollection(*ctx.env, ctx.dataDir, ctx.args.at(0));
    if (!c)
        return ctx.fail(c.status());
    if (Session *session = currentSession())
        session->node().notifyCollectionsChanged(); // an explorer's switcher lists it
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("ruid"), (*c)->ruid().toString()},
                                   {QStringLiteral("name"), (*c)->name()},
                                   {QStringLiteral("path"), (*c)->path()}});
    else
        ctx.out << (*c)->ruid().toString() << Qt::endl;
    return ExitOk;
}

int cmdCollectionRename(Context &ctx)
{
    // In a node the collection may be open there: the node renames it
    // through its writer. Alone, this process opens it for writing.
    Session *session = currentSession();
    auto renamed = session ? session->node().renameCollection(ctx.args.at(0), ctx.args.at(1))
                           : storage::renameCollection(*ctx.env, ctx.dataDir, ctx.args.at(0), ctx.args.at(1));
    if (!renamed)
        return ctx.fail(renamed.status());
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("ruid"), renamed->ruid.toString()},
                                   {QStringLiteral("name"), renamed->name},
                                   {QStringLiteral("path"), renamed->path}});
    else
        ctx.out << "renamed " << renamed->ruid.toString() << " to " << listed(renamed->name) << Qt::endl;
    return ExitOk;
}

int cmdCollectionDelete(Context &ctx)
{
    Session *session = currentSession();
    Result<storage::CollectionEntry> gone = [&]() -> Result<storage::CollectionEntry> {
        if (session)
            return session->node().deleteCollection(ctx.args.at(0));
        VD_TRY_ASSIGN(const QString dir, storage::findCollection(*ctx.env, ctx.dataDir, ctx.args.at(0), true));
        storage::CollectionEntry e;
        e.path = dir;
        e.folder = QFileInfo(dir).fileName();
        if (auto meta = Collection::peekMeta(*ctx.env, dir)) {
            e.ruid = meta->ruid;
            e.name = meta->name;
        }
        VD_TRY(storage::deleteCollectionAt(*ctx.env, ctx.dataDir, dir));
        return e;
    }();
    if (!gone)
        return ctx.fail(gone.status());
    // Its tree cache is only a copy (CLI.md, "The tree cache"): it goes too.
    if (const auto ruid = Ruid::parse(gone->folder)) {
        const QString cache = cacheDirFor(ctx, *ruid);
        if (!cache.isEmpty())
            QDir(cache).removeRecursively();
    }
    const QString name = gone->name.isEmpty() ? gone->folder : gone->name;
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("folder"), gone->folder}, {QStringLiteral("name"), gone->name}, {QStringLiteral("path"), gone->path}});
    else
        ctx.out << "deleted " << listed(name) << " (" << gone->folder << ")" << Qt::endl;
    return ExitOk;
}

int cmdCollections(Context &ctx)
{
    auto all = storage::listCollections(*ctx.env, ctx.dataDir);
    if (!all)
        return ctx.fail(all.status());
    bool damaged = false;
    if (ctx.json) {
        QJsonArray arr;
        for (const auto &e : *all) {
            QJsonObject o{{QStringLiteral("folder"), e.folder}, {QStringLiteral("path"), e.path}};
            if (e.status.isOk()) {
                o[QStringLiteral("ruid")] = e.ruid.toString();
                o[QStringLiteral("name")] = e.name;
                o[QStringLiteral("generation")] = qint64(e.generation);
                o[QStringLiteral("created")] = isoTime(e.createdMs);
            } else {
                o[QStringLiteral("error")] = e.status.toString();
                damaged = true;
            }
            arr.append(o);
        }
        printJson(ctx, arr);
    } else {
        for (const auto &e : *all) {
            if (e.status.isOk()) {
                ctx.out << e.ruid.toString() << "  " << listed(e.name) << Qt::endl;
            } else {
                ctx.out << listed(e.folder) << "  (unreadable: " << safeForStdout(e.status.toString()) << ")" << Qt::endl;
                damaged = true;
            }
        }
    }
    return damaged ? ExitCorrupt : ExitOk;
}

int cmdInfo(Context &ctx)
{
    auto c = openCollection(ctx, Access::ReadOnly);
    if (!c)
        return ctx.fail(c.status());
    auto info = (*c)->info();
    if (!info)
        return ctx.fail(info.status());
    const storage::CollectionInfo &i = *info;
    if (ctx.json) {
        QJsonObject perClass;
        for (int k = 0; k < storage::kClassCount; ++k)
            perClass[QStringLiteral("%1MiB").arg(1 << k)] = qint64(i.blocksPerClass[size_t(k)]);
        printJson(ctx, QJsonObject{
                           {QStringLiteral("ruid"), i.ruid.toString()},
                           {QStringLiteral("name"), i.name},
                           {QStringLiteral("path"), i.path},
                           {QStringLiteral("generation"), qint64(i.generation)},
                           {QStringLiteral("created"), isoTime(i.createdMs)},
                           {QStringLiteral("committed"), isoTime(i.committedMs)},
                           {QStringLiteral("units"), qint64(i.units)},
                           {QStringLiteral("idvdBytes"), qint64(i.idvdBytes)},
                           {QStringLiteral("allocatedBytes"), qint64(i.allocatedBytes)},
                           {QStringLiteral("blocksPerClass"), perClass},
                           {QStringLiteral("dataBlocks"), qint64(i.dataBlocks)},
                           {QStringLiteral("dataBlockBytes"), qint64(i.dataBlockBytes)},
                           {QStringLiteral("smallBlocks"), qint64(i.smallBlocks)},
                           {QStringLiteral("smallBlockBytes"), qint64(i.smallBlockBytes)},
                           {QStringLiteral("smallSlots"), qint64(i.smallSlots)},
                           {QStringLiteral("smallStoredBytes"), qint64(i.smallStoredBytes)},
                           {QStringLiteral("catalogBlocks"), qint64(i.catalogBlocks)},
                           {QStringLiteral("catalogBytes"), qint64(i.catalogBytes)},
                           {QStringLiteral("catalogLiveBytes"), qint64(i.catalogLiveBytes)},
                           {QStringLiteral("reserveBytes"), qint64(i.reserveBytes)},
                           {QStringLiteral("objects"), qint64(i.objects)},
                           {QStringLiteral("objectBytes"), qint64(i.objectBytes)},
                           {QStringLiteral("vnodes"), qint64(i.vnodes)},
                           {QStringLiteral("treeBytes"), qint64(i.treeBytes)},
                           {QStringLiteral("snapshots"), qint64(i.snapshots)},
                           {QStringLiteral("logicalBytes"), qint64(i.logicalBytes)},
                           {QStringLiteral("paddingRatio"), i.paddingRatio},
                           {QStringLiteral("warnings"), QJsonArray::fromStringList(QStringList(i.warnings.begin(), i.warnings.end()))},
                       });
        return ExitOk;
    }
    QTextStream &o = ctx.out;
    o << "collection   " << listed(i.name) << " (" << i.ruid.toString() << ")\n";
    o << "path         " << listed(i.path) << "\n";
    o << "generation   " << i.generation << ", committed " << isoTime(i.committedMs) << "\n";
    o << "units        " << i.units << " of 16 MiB (idvd " << formatBytes(i.idvdBytes) << ", " << formatBytes(i.allocatedBytes) << " allocated)\n";
    o << "blocks       ";
    for (int k = 0; k < storage::kClassCount; ++k)
        o << (k ? ", " : "") << i.blocksPerClass[size_t(k)] << " × " << (1 << k) << " MiB";
    o << "\n";
    o << "data blocks  " << i.dataBlocks << " (" << formatBytes(i.dataBlockBytes) << ")\n";
    o << "SmallBlocks  " << i.smallBlocks << " (" << formatBytes(i.smallBlockBytes) << ") holding " << count(i.smallSlots, "payload", "payloads")
      << " in " << formatBytes(i.smallStoredBytes) << "\n";
    o << "catalog      " << count(i.catalogBlocks, "block", "blocks") << " (" << formatBytes(i.catalogBytes) << "), "
      << formatBytes(i.catalogLiveBytes) << " live\n";
    o << "reserve      " << formatBytes(i.reserveBytes) << " kept on disk so that deleting works when the disk is full\n";
    o << "tree         " << count(i.vnodes, "node", "nodes") << " holding " << formatBytes(i.treeBytes) << " (the trash included), "
      << count(i.snapshots, "snapshot", "snapshots") << "\n";
    o << "objects      " << i.objects << " holding " << formatBytes(i.objectBytes) << "\n";
    o << "padding      " << QString::number(i.paddingRatio, 'f', 3) << " (data and SmallBlock bytes allocated per logical byte)\n";
    return ExitOk;
}

int cmdFsck(Context &ctx)
{
    auto dir = storage::findCollection(*ctx.env, ctx.dataDir, ctx.collection);
    if (!dir)
        return ctx.fail(dir.status());
    bool repaired = false;
    if (ctx.repair && currentSession())
        return refuseInNode(ctx, QStringLiteral("fsck --repair"));
    if (ctx.repair) {
        // Ctrl-C before the repair is committed: nothing is repaired.
        ProgressLine interruptible(QString(), 0, false);
        auto opened = Collection::openAndRepair(*ctx.env, *dir, &repaired, [&](uint64_t) { return !ProgressLine::interrupted(); });
        if (!opened)
            return ctx.fail(opened.status());
        warnAll(ctx, (*opened)->warnings());
        // The repair is committed; the checks below read, so they run on a
        // read-only open (a writable Drive would first create the root of a
        // collection that has no tree yet, and fsck must not change anything).
    }
    return checkAndReport(ctx, *dir, QJsonObject{{QStringLiteral("bitmapRebuilt"), repaired}},
                          repaired ? QStringLiteral("rebuilt .bitmap from the blocks in use") : QString());
}

int cmdRecover(Context &ctx)
{
    if (currentSession())
        return refuseInNode(ctx, QStringLiteral("recover"));
    auto dir = storage::findCollection(*ctx.env, ctx.dataDir, ctx.collection, true);
    if (!dir)
        return ctx.fail(dir.status());
    uint64_t generation = 0;
    auto recovered = Collection::recover(*ctx.env, *dir, &generation);
    if (!recovered)
        return ctx.fail(recovered.status());
    const std::vector<QString> warnings = (*recovered)->warnings();
    warnAll(ctx, warnings);
    const QString name = (*recovered)->name();
    recovered = Result<std::unique_ptr<Collection>>(Status::cancelled(QString())); // unlocks it
    QJsonArray warned;
    for (const QString &w : warnings)
        warned.append(w);
    return checkAndReport(ctx, *dir,
                          QJsonObject{{QStringLiteral("recoveredGeneration"), qint64(generation)},
                                      {QStringLiteral("name"), name},
                                      {QStringLiteral("warnings"), warned}},
                          QStringLiteral("recovered generation %1 of %2 from idvd: rebuilt .meta and .bitmap").arg(generation).arg(stdoutIsTerminal() ? shellQuote(name.toUtf8(), true) : QLatin1Char('\'') + name + QLatin1Char('\'')));
}

int cmdPutObject(Context &ctx)
{
    const QString local = ctx.args.at(0);
    const QString key = ctx.args.at(1);
    QFile file;
    const bool fromStdin = local == QStringLiteral("-");
    QIODevice *in = fromStdin ? standardInput(ctx, file) : (file.setFileName(local), file.open(QIODevice::ReadOnly) ? &file : nullptr);
    if (!in)
        return ctx.fail(Status::notFound(QStringLiteral("cannot read %1: %2").arg(quoted(local), file.errorString())));
    auto c = openCollection(ctx, Access::ReadWrite);
    if (!c)
        return ctx.fail(c.status());
    ProgressLine progress(QStringLiteral("storing %1").arg(key), fromStdin ? 0 : uint64_t(in->size()), !ctx.quiet && !ctx.json);
    Status st = (*c)->putObject(key, *in, [&](uint64_t done) { return progress.update(done); });
    // Interrupted, the read of the input may fail first (in the node, the
    // client's stdin ends with its cancel): it was the interruption.
    if (!st && st.code() != ErrorCode::Cancelled && ProgressLine::interrupted())
        st = Status::cancelled(QStringLiteral("storing '%1' was cancelled").arg(key));
    if (st)
        st = (*c)->commit();
    progress.finish();
    if (!st)
        return ctx.fail(st);
    auto info = (*c)->statObject(key);
    if (!info)
        return ctx.fail(info.status());
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("key"), key}, {QStringLiteral("size"), qint64(info->size)}, {QStringLiteral("id"), info->id.toString()}});
    else if (!ctx.quiet)
        ctx.out << "stored " << listed(key) << " (" << formatBytes(info->size) << ")" << Qt::endl;
    return ExitOk;
}

int cmdGetObject(Context &ctx)
{
    const QString key = ctx.args.at(0);
    const QString local = ctx.args.at(1);
    auto c = openCollection(ctx, Access::ReadOnly);
    if (!c)
        return ctx.fail(c.status());
    auto info = (*c)->statObject(key);
    if (!info)
        return ctx.fail(info.status());
    ProgressLine progress(QStringLiteral("reading %1").arg(key), info->size, !ctx.quiet && !ctx.json);
    auto onProgress = [&](uint64_t done) { return progress.update(done); };
    if (local == QStringLiteral("-")) {
        QIODevice &out = rawStdout(ctx);
        const Status st = (*c)->getObject(key, out, onProgress);
        flushOutput(out);
        progress.finish();
        return st ? ExitOk : ctx.fail(st);
    }
    // Written beside the target and renamed over it only once every block
    // has been verified: a failed read never leaves a half file behind.
    QSaveFile out(local);
    if (!out.open(QIODevice::WriteOnly))
        return ctx.fail(Status::ioError(QStringLiteral("cannot write %1: %2").arg(quoted(local), out.errorString())));
    Status st = (*c)->getObject(key, out, onProgress);
    progress.finish();
    if (!st) {
        out.cancelWriting();
        return ctx.fail(st);
    }
    if (!out.commit())
        return ctx.fail(Status::ioError(QStringLiteral("cannot write %1: %2").arg(quoted(local), out.errorString())));
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("key"), key}, {QStringLiteral("size"), qint64(info->size)}, {QStringLiteral("file"), local}});
    return ExitOk;
}

int cmdObjects(Context &ctx)
{
    auto c = openCollection(ctx, Access::ReadOnly);
    if (!c)
        return ctx.fail(c.status());
    auto list = (*c)->listObjects();
    if (!list)
        return ctx.fail(list.status());
    if (ctx.json) {
        QJsonArray arr;
        for (const auto &o : *list)
            arr.append(QJsonObject{{QStringLiteral("key"), o.key},
                                   {QStringLiteral("size"), qint64(o.size)},
                                   {QStringLiteral("id"), o.id.toString()},
                                   {QStringLiteral("created"), isoTime(o.createdMs)},
                                   {QStringLiteral("modified"), isoTime(o.modifiedMs)},
                                   {QStringLiteral("clusters"), qint64(o.clusters)}});
        printJson(ctx, arr);
        return ExitOk;
    }
    for (const auto &o : *list)
        ctx.out << QStringLiteral("%1  %2  %3").arg(o.size, 14).arg(isoTime(o.modifiedMs), listed(o.key)) << Qt::endl;
    return ExitOk;
}

int cmdRemoveObject(Context &ctx)
{
    auto c = openCollection(ctx, Access::ReadWrite);
    if (!c)
        return ctx.fail(c.status());
    for (const QString &key : ctx.args) {
        Status st = (*c)->removeObject(key);
        if (!st)
            return ctx.fail(st); // nothing of this command is committed
    }
    const Status st = (*c)->commit();
    return st ? ExitOk : ctx.fail(st);
}

} // namespace vd::cli
