// The tree commands: ls, stat, cat, mkdir, mv, cp, rm, du, df, gc. Each
// opens the collection as a vd::tree::Drive (read commands read-only, so
// they share the collection with other readers), makes its engine calls
// and, when it changed something, commits once at its end.
#include "commands.h"

#include "cliutil.h"
#include "progress.h"
#include "terminal.h"

#include <QJsonArray>

namespace vd::cli {

using storage::Access;
using tree::Kind;
using tree::VNode;

namespace {

// What ls prints for a name (quoted on a terminal): folders get a trailing '/'.
QString listedName(const VNode &n)
{
    return n.kind == Kind::Directory ? listed(n.name) + QLatin1Char('/') : listed(n.name);
}

QJsonArray layoutJson(const std::vector<tree::ClusterInfo> &clusters)
{
    QJsonArray out;
    for (const tree::ClusterInfo &c : clusters) {
        QJsonArray pieces;
        for (const tree::PieceInfo &p : c.pieces)
            pieces.append(QJsonObject{{QStringLiteral("block"), p.blockId.toString()},
                                      {QStringLiteral("version"), qint64(p.version)},
                                      {QStringLiteral("class"), pieceClass(p)},
                                      {QStringLiteral("length"), qint64(p.length)},
                                      {QStringLiteral("storedLength"), qint64(p.storedLength)},
                                      {QStringLiteral("hash"), p.hash}});
        out.append(QJsonObject{{QStringLiteral("start"), qint64(c.start)},
                               {QStringLiteral("length"), qint64(c.length)},
                               {QStringLiteral("birth"), qint64(c.birth)},
                               {QStringLiteral("pieces"), pieces}});
    }
    return out;
}

void printStat(Context &ctx, const QString &path, const VNode &n, const std::vector<tree::ClusterInfo> &clusters)
{
    QTextStream &o = ctx.out;
    o << "path      " << listed(path) << "\n";
    o << "id        " << n.id.toString() << "\n";
    o << "kind      " << tree::kindName(n.kind) << "\n";
    if (n.isContainer())
        o << "size      " << count(n.size, "entry", "entries") << "\n";
    else
        o << "size      " << n.size << " (" << formatBytes(n.size) << ")\n";
    o << "created   " << localTime(n.createdMs) << "\n";
    o << "modified  " << localTime(n.modifiedMs) << "\n";
    o << "version   " << n.version.toString() << "\n";
    if (n.kind == Kind::JsonValue)
        o << "value     " << safeForStdout(QString::fromUtf8(n.value)) << "\n";
    if (n.kind != Kind::File)
        return;
    o << "clusters  " << n.clusterCount << "\n";
    for (const tree::ClusterInfo &c : clusters) {
        o << "  bytes " << c.start << "–" << c.start + c.length << " (" << formatBytes(c.length) << "), " << count(c.pieces.size(), "piece", "pieces")
          << ":\n";
        for (const tree::PieceInfo &p : c.pieces) {
            if (p.zero) {
                o << QStringLiteral("    %1  %2  zeros (nothing stored)\n").arg(pieceClass(p), -6).arg(formatBytes(p.length), 10);
                continue;
            }
            o << QStringLiteral("    %1  %2  block %3 v%4  sha256 %5…\n")
                     .arg(pieceClass(p), -6)
                     .arg(formatBytes(p.length), 10)
                     .arg(p.blockId.toString())
                     .arg(p.version)
                     .arg(p.hash.left(16));
        }
    }
}

Status checkNotInDocument(tree::Drive &drive, const QString &path, const VNode &n, const char *instead)
{
    if (!tree::isJson(n.kind))
        return {};
    VD_TRY_ASSIGN(const VNode parent, drive.stat(parentPath(path)));
    if (tree::isJson(parent.kind))
        return Status::invalidArgument(QStringLiteral("%1 is inside a JSON document: use %2").arg(path, QLatin1String(instead)));
    return {};
}

// mv and cp: SRC... DST, into DST when it is a folder (or a JSON object),
// else to DST itself (one SRC only).
int moveOrCopy(Context &ctx, bool copy)
{
    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    tree::Drive &drive = **d;
    const QString dst = drivePath(ctx.args.constLast());
    const QStringList sources = ctx.args.mid(0, ctx.args.size() - 1);
    auto target = statIfExists(drive, dst);
    if (!target)
        return ctx.fail(target.status());
    const bool into = *target && ((*target)->kind == Kind::Directory || (*target)->kind == Kind::JsonObject);
    if (!into && sources.size() > 1)
        return ctx.fail(*target ? Status::invalidArgument(QStringLiteral("%1 is a %2, not a folder").arg(dst, tree::kindName((*target)->kind)))
                                : Status::notFound(QStringLiteral("no folder %1 (several sources go into an existing folder)").arg(dst)));
    for (const QString &typed : sources) {
        const QString src = drivePath(typed);
        auto s = drive.stat(src);
        if (!s)
            return rollbackAndFail(ctx, drive, s.status());
        if (copy && s->kind == Kind::Directory && !ctx.recursive)
            return rollbackAndFail(ctx, drive, Status::invalidArgument(QStringLiteral("%1 is a folder: use cp -r").arg(src)));
        const QString to = into ? childPath(dst, lastName(src)) : dst;
        ProgressLine progress(QStringLiteral("copying %1").arg(src), 0, copy && !ctx.quiet && !ctx.json);
        const Status st = copy ? drive.copy(src, to, QString(), [&](uint64_t done) { return progress.entries(done); }).status() : drive.move(src, to).status();
        progress.finish();
        if (!st)
            return rollbackAndFail(ctx, drive, st);
    }
    return commitOrFail(ctx, drive);
}

QJsonObject duJson(const QString &path, const tree::DuInfo &i)
{
    return QJsonObject{{QStringLiteral("path"), path},
                       {QStringLiteral("logicalBytes"), qint64(i.logicalBytes)},
                       {QStringLiteral("files"), qint64(i.files)},
                       {QStringLiteral("directories"), qint64(i.directories)},
                       {QStringLiteral("jsonNodes"), qint64(i.jsonNodes)}};
}

void add(tree::DuInfo &to, const tree::DuInfo &from)
{
    to.files += from.files;
    to.directories += from.directories;
    to.jsonNodes += from.jsonNodes;
    to.logicalBytes += from.logicalBytes;
}

// Totals of the folder at path, reporting every folder below it after its
// contents (like du): one listing per folder.
Result<tree::DuInfo> duWalk(tree::Drive &drive, const QString &path, const VNode &dir, const QString &at,
                            const std::function<void(const QString &, const tree::DuInfo &)> &report, ProgressLine &progress, uint64_t *seen)
{
    tree::DuInfo total;
    total.directories = 1;
    VD_TRY_ASSIGN(const auto entries, drive.list(path, at));
    for (const VNode &n : entries) {
        if (!progress.entries(++*seen))
            return Status::cancelled(QStringLiteral("du: cancelled"));
        const QString child = childPath(path, n.name);
        if (n.kind == Kind::Directory) {
            VD_TRY_ASSIGN(const tree::DuInfo sub, duWalk(drive, child, n, at, report, progress, seen));
            add(total, sub);
        } else if (n.kind == Kind::File) {
            ++total.files;
            total.logicalBytes += n.size;
        } else {
            VD_TRY_ASSIGN(const tree::DuInfo doc, drive.du(child, at));
            add(total, doc);
        }
    }
    Q_UNUSED(dir);
    report(path, total);
    return total;
}

} // namespace

int cmdLs(Context &ctx)
{
    const QString path = drivePath(ctx.args.value(0));
    auto d = openDrive(ctx, Access::ReadOnly);
    if (!d)
        return ctx.fail(d.status());
    auto node = (*d)->stat(path, ctx.at);
    if (!node)
        return ctx.fail(node.status());
    std::vector<VNode> entries;
    if (node->isContainer()) {
        auto listed = (*d)->list(path, ctx.at);
        if (!listed)
            return ctx.fail(listed.status());
        entries = std::move(listed).value();
    } else {
        entries.push_back(*node); // ls of a file shows the file
    }
    if (ctx.json) {
        QJsonArray arr;
        for (const VNode &n : entries)
            arr.append(nodeJson(n));
        printJson(ctx, arr);
        return ExitOk;
    }
    for (const VNode &n : entries) {
        if (ctx.longList)
            ctx.out << QStringLiteral("%1  %2  %3  %4").arg(tree::kindName(n.kind), -11).arg(n.size, 14).arg(localTime(n.modifiedMs), listedName(n))
                    << "\n";
        else
            ctx.out << listedName(n) << "\n";
    }
    return ExitOk;
}

int cmdStat(Context &ctx)
{
    auto d = openDrive(ctx, Access::ReadOnly);
    if (!d)
        return ctx.fail(d.status());
    // Every path is resolved before anything is printed.
    struct Found
    {
        QString path;
        VNode node;
        std::vector<tree::ClusterInfo> clusters;
    };
    std::vector<Found> found;
    for (const QString &typed : ctx.args) {
        const QString path = drivePath(typed);
        auto n = (*d)->stat(path, ctx.at);
        if (!n)
            return ctx.fail(n.status());
        std::vector<tree::ClusterInfo> clusters;
        if (n->kind == Kind::File) {
            auto c = (*d)->clusters(path, ctx.at);
            if (!c)
                return ctx.fail(c.status());
            clusters = std::move(c).value();
        }
        found.push_back({path, std::move(n).value(), std::move(clusters)});
    }
    if (ctx.json) {
        QJsonArray arr;
        for (const Found &f : found) {
            QJsonObject o = nodeJson(f.node);
            o[QStringLiteral("path")] = f.path;
            o[QStringLiteral("layout")] = layoutJson(f.clusters);
            arr.append(o);
        }
        printJson(ctx, arr);
        return ExitOk;
    }
    for (size_t i = 0; i < found.size(); ++i) {
        if (i > 0)
            ctx.out << "\n";
        printStat(ctx, found[i].path, found[i].node, found[i].clusters);
    }
    return ExitOk;
}

int cmdCat(Context &ctx)
{
    auto d = openDrive(ctx, Access::ReadOnly);
    if (!d)
        return ctx.fail(d.status());
    QIODevice &out = rawStdout(ctx);
    // No line (the bytes are the output), but Ctrl-C cancels cleanly.
    ProgressLine progress(QString(), 0, false);
    for (const QString &typed : ctx.args) {
        const QString path = drivePath(typed);
        const Status st = (*d)->readFile(path, out, [&](uint64_t done) { return progress.update(done); }, ctx.at);
        flushOutput(out);
        if (!st)
            return ctx.fail(st);
    }
    return ExitOk;
}

int cmdMkdir(Context &ctx)
{
    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    for (const QString &typed : ctx.args) {
        const Status st = (*d)->mkdir(drivePath(typed), ctx.parents).status();
        if (!st)
            return rollbackAndFail(ctx, **d, st);
    }
    return commitOrFail(ctx, **d);
}

int cmdMv(Context &ctx)
{
    return moveOrCopy(ctx, false);
}

int cmdCp(Context &ctx)
{
    return moveOrCopy(ctx, true);
}

int cmdRm(Context &ctx)
{
    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    tree::Drive &drive = **d;
    // Everything is checked before anything is removed, and all of it is
    // one transaction.
    std::vector<std::pair<QString, VNode>> targets;
    for (const QString &typed : ctx.args) {
        const QString path = drivePath(typed);
        auto n = drive.stat(path);
        if (!n)
            return ctx.fail(n.status());
        if (n->kind == Kind::Directory && !ctx.recursive)
            return ctx.fail(Status::invalidArgument(
                QString::fromLatin1(n->size > 0 ? "%1 is a folder and not empty: use rm -r" : "%1 is a folder: use rm -r").arg(path)));
        const Status inDoc = checkNotInDocument(drive, path, *n, "json del");
        if (!inDoc)
            return ctx.fail(inDoc);
        targets.emplace_back(path, *n);
    }
    for (const auto &[path, n] : targets) {
        // A JSON document goes whole, like a file.
        ProgressLine progress(QStringLiteral("removing %1").arg(path), 0, !ctx.quiet && !ctx.json);
        const Status st = drive.remove(path, n.isContainer(), !ctx.permanent, [&](uint64_t done) { return progress.entries(done); });
        progress.finish();
        if (!st)
            return rollbackAndFail(ctx, drive, st);
    }
    return commitOrFail(ctx, drive);
}

int cmdDu(Context &ctx)
{
    const QString path = drivePath(ctx.args.value(0));
    auto d = openDrive(ctx, Access::ReadOnly);
    if (!d)
        return ctx.fail(d.status());
    auto node = (*d)->stat(path, ctx.at);
    if (!node)
        return ctx.fail(node.status());
    QJsonArray arr;
    auto report = [&](const QString &p, const tree::DuInfo &i) {
        if (ctx.json)
            arr.append(duJson(p, i));
        else
            ctx.out << QStringLiteral("%1  %2").arg(formatBytes(i.logicalBytes), 10).arg(listed(p)) << "\n";
    };
    ProgressLine progress(QStringLiteral("counting %1").arg(path), 0, !ctx.quiet && !ctx.json);
    if (ctx.summarize || node->kind != Kind::Directory) {
        auto i = (*d)->du(path, ctx.at, [&](uint64_t done) { return progress.entries(done); });
        progress.finish();
        if (!i)
            return ctx.fail(i.status());
        report(path, *i);
    } else {
        uint64_t seen = 0;
        auto total = duWalk(**d, path, *node, ctx.at, report, progress, &seen);
        progress.finish();
        if (!total)
            return ctx.fail(total.status());
    }
    if (ctx.json)
        printJson(ctx, arr);
    return ExitOk;
}

int cmdDf(Context &ctx)
{
    auto d = openDrive(ctx, Access::ReadOnly);
    if (!d)
        return ctx.fail(d.status());
    tree::Drive &drive = **d;
    auto info = drive.collection().info();
    if (!info)
        return ctx.fail(info.status());
    auto tree = drive.du(QStringLiteral("/"));
    if (!tree)
        return ctx.fail(tree.status());
    auto snapshots = drive.listSnapshots(false);
    if (!snapshots)
        return ctx.fail(snapshots.status());
    auto trash = drive.listTrash();
    if (!trash)
        return ctx.fail(trash.status());
    const storage::CollectionInfo &i = *info;
    // The visible tree (not the trash) plus the flat objects.
    const uint64_t logical = i.objectBytes + tree->logicalBytes;
    const uint64_t dataBytes = i.dataBlockBytes + i.smallBlockBytes;
    const double padding = logical > 0 ? double(dataBytes) / double(logical) : 0.0;
    // The root folder is one of the nodes, not one of the folders.
    const uint64_t vnodes = tree->files + tree->directories + tree->jsonNodes;
    const uint64_t folders = tree->directories > 0 ? tree->directories - 1 : 0;
    if (ctx.json) {
        printJson(ctx, QJsonObject{{QStringLiteral("ruid"), i.ruid.toString()},
                                   {QStringLiteral("name"), i.name},
                                   {QStringLiteral("logicalBytes"), qint64(logical)},
                                   {QStringLiteral("treeBytes"), qint64(tree->logicalBytes)},
                                   {QStringLiteral("objectBytes"), qint64(i.objectBytes)},
                                   {QStringLiteral("allocatedBytes"), qint64(i.allocatedBytes)},
                                   {QStringLiteral("dataBytes"), qint64(dataBytes)},
                                   {QStringLiteral("idvdBytes"), qint64(i.idvdBytes)},
                                   {QStringLiteral("files"), qint64(tree->files)},
                                   {QStringLiteral("folders"), qint64(folders)},
                                   {QStringLiteral("jsonNodes"), qint64(tree->jsonNodes)},
                                   {QStringLiteral("vnodes"), qint64(vnodes)},
                                   {QStringLiteral("objects"), qint64(i.objects)},
                                   {QStringLiteral("snapshots"), qint64(snapshots->size())},
                                   {QStringLiteral("trashEntries"), qint64(trash->size())},
                                   {QStringLiteral("paddingRatio"), padding}});
        return ExitOk;
    }
    QTextStream &o = ctx.out;
    o << "collection  " << listed(i.name) << " (" << i.ruid.toString() << ")\n";
    o << "logical     " << formatBytes(logical) << " (" << formatBytes(tree->logicalBytes) << " in the tree, " << formatBytes(i.objectBytes)
      << " in objects)\n";
    o << "allocated   " << formatBytes(i.allocatedBytes) << " (" << formatBytes(dataBytes) << " data) in idvd of " << formatBytes(i.idvdBytes) << "\n";
    o << "tree        " << count(tree->files, "file", "files") << ", " << count(folders, "folder", "folders") << ", "
      << count(tree->jsonNodes, "JSON node", "JSON nodes") << " (" << count(vnodes, "node", "nodes") << ")\n";
    o << "objects     " << i.objects << "\n";
    o << "snapshots   " << snapshots->size() << "\n";
    o << "trash       " << count(trash->size(), "entry", "entries") << "\n";
    o << "padding     " << QString::number(padding, 'f', 3) << " (data and SmallBlock bytes allocated per logical byte)\n";
    return ExitOk;
}

int cmdGc(Context &ctx)
{
    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    // No line (the engine reports no progress worth drawing), but Ctrl-C
    // while it counts references cancels it before it changes anything.
    ProgressLine progress(QString(), 0, false);
    auto r = (*d)->gc([&](uint64_t done) { return progress.update(done); });
    progress.finish();
    if (!r)
        return ctx.fail(r.status());
    if (ctx.json)
        printJson(ctx, gcJson(*r));
    else if (!ctx.quiet)
        ctx.out << gcText(*r) << "\n";
    return ExitOk;
}

} // namespace vd::cli
