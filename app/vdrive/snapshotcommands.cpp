// Snapshots (create, list, delete, diff, restore) and the trash (list,
// restore, empty).
#include "commands.h"

#include "cliutil.h"
#include "progress.h"
#include "terminal.h"

#include <QDateTime>
#include <QJsonArray>

namespace vd::cli {

using storage::Access;

namespace {

QJsonObject snapshotJson(const tree::SnapshotInfo &s)
{
    QJsonObject o{{QStringLiteral("name"), s.name},
                  {QStringLiteral("generation"), qint64(s.generation)},
                  {QStringLiteral("created"), isoTime(s.createdMs)},
                  {QStringLiteral("vnodes"), qint64(s.vnodes)},
                  {QStringLiteral("fileBytes"), qint64(s.fileBytes)}};
    if (s.uniqueBytes)
        o[QStringLiteral("uniqueBytes")] = qint64(*s.uniqueBytes);
    return o;
}

QChar changeLetter(tree::DiffEntry::Change c)
{
    switch (c) {
    case tree::DiffEntry::Change::Added: return QLatin1Char('A');
    case tree::DiffEntry::Change::Removed: return QLatin1Char('D');
    case tree::DiffEntry::Change::Modified: return QLatin1Char('M');
    case tree::DiffEntry::Change::Moved: return QLatin1Char('R');
    }
    return QLatin1Char('?');
}

} // namespace

int cmdSnapshotCreate(Context &ctx)
{
    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    auto s = (*d)->createSnapshot(ctx.args.at(0)); // commits
    if (!s)
        return ctx.fail(s.status());
    if (const int code = commitOrFail(ctx, **d); code != ExitOk)
        return code;
    if (ctx.json)
        printJson(ctx, snapshotJson(*s));
    else if (!ctx.quiet)
        ctx.out << "created snapshot " << listed(s->name) << " (generation " << s->generation << ": " << count(s->vnodes, "node", "nodes") << ", "
                << formatBytes(s->fileBytes) << " in files)\n";
    return ExitOk;
}

int cmdSnapshotList(Context &ctx)
{
    auto d = openDrive(ctx, Access::ReadOnly);
    if (!d)
        return ctx.fail(d.status());
    ProgressLine progress(QStringLiteral("counting snapshot sizes"), 0, !ctx.quiet && !ctx.json);
    auto list = (*d)->listSnapshots(true, [&](uint64_t done) { return progress.entries(done); });
    progress.finish();
    if (!list)
        return ctx.fail(list.status());
    if (ctx.json) {
        QJsonArray arr;
        for (const auto &s : *list)
            arr.append(snapshotJson(s));
        printJson(ctx, arr);
        return ExitOk;
    }
    qsizetype width = 4;
    for (const auto &s : *list)
        width = std::max(width, listed(s.name).size());
    for (const auto &s : *list)
        ctx.out << QStringLiteral("%1  %2  generation %3  %4  %5 in files  %6 only here")
                       .arg(listed(s.name), -int(width))
                       .arg(localTime(s.createdMs))
                       .arg(s.generation)
                       .arg(count(s.vnodes, "node", "nodes"), formatBytes(s.fileBytes), formatBytes(s.uniqueBytes.value_or(0)))
                << "\n";
    return ExitOk;
}

int cmdSnapshotDelete(Context &ctx)
{
    const QString name = ctx.args.at(0);
    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    const Status st = (*d)->deleteSnapshot(name);
    if (!st)
        return rollbackAndFail(ctx, **d, st);
    if (const int code = commitOrFail(ctx, **d); code != ExitOk)
        return code;
    // The space the snapshot alone kept comes back now.
    auto gc = (*d)->gc();
    if (!gc)
        return ctx.fail(gc.status().withContext(QStringLiteral("snapshot %1 is deleted, but collecting its space failed (run vdrive gc)").arg(quoted(name))));
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("name"), name}, {QStringLiteral("gc"), gcJson(*gc)}});
    else if (!ctx.quiet)
        ctx.out << "deleted snapshot " << listed(name) << "; " << gcText(*gc) << "\n";
    return ExitOk;
}

int cmdSnapshotDiff(Context &ctx)
{
    auto d = openDrive(ctx, Access::ReadOnly);
    if (!d)
        return ctx.fail(d.status());
    ProgressLine progress(QStringLiteral("comparing"), 0, !ctx.quiet && !ctx.json);
    auto diff = (*d)->diff(ctx.args.at(0), ctx.args.value(1), false, [&](uint64_t done) { return progress.entries(done); });
    progress.finish();
    if (!diff)
        return ctx.fail(diff.status());
    if (ctx.json) {
        QJsonArray arr;
        for (const auto &e : *diff) {
            QJsonObject o{{QStringLiteral("change"), tree::changeName(e.change)},
                          {QStringLiteral("path"), e.path},
                          {QStringLiteral("kind"), tree::kindName(e.kind)},
                          {QStringLiteral("id"), e.id.toString()}};
            if (e.change == tree::DiffEntry::Change::Moved)
                o[QStringLiteral("oldPath")] = e.oldPath;
            arr.append(o);
        }
        printJson(ctx, arr);
        return ExitOk;
    }
    for (const auto &e : *diff) {
        if (e.change == tree::DiffEntry::Change::Moved)
            ctx.out << "R " << listed(e.oldPath) << " -> " << listed(e.path) << "\n";
        else
            ctx.out << changeLetter(e.change) << ' ' << listed(e.path) << "\n";
    }
    return ExitOk;
}

int cmdSnapshotRestore(Context &ctx)
{
    const QString name = ctx.args.at(0);
    const QString vpath = drivePath(ctx.args.at(1));
    const QString to = ctx.to.isEmpty() ? QString() : drivePath(ctx.to);
    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    ProgressLine progress(QStringLiteral("restoring %1").arg(vpath), 0, !ctx.quiet && !ctx.json);
    auto n = (*d)->restore(name, vpath, to, [&](uint64_t done) { return progress.entries(done); });
    progress.finish();
    if (!n)
        return rollbackAndFail(ctx, **d, n.status());
    if (const int code = commitOrFail(ctx, **d); code != ExitOk)
        return code;
    const QString where = to.isEmpty() ? vpath : to;
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("snapshot"), name}, {QStringLiteral("path"), where}, {QStringLiteral("id"), n->id.toString()}});
    else if (!ctx.quiet)
        ctx.out << "restored " << listed(where) << " from snapshot " << listed(name) << "\n";
    return ExitOk;
}

int cmdTrashList(Context &ctx)
{
    auto d = openDrive(ctx, Access::ReadOnly);
    if (!d)
        return ctx.fail(d.status());
    auto list = (*d)->listTrash();
    if (!list)
        return ctx.fail(list.status());
    if (ctx.json) {
        QJsonArray arr;
        for (const auto &e : *list)
            arr.append(QJsonObject{{QStringLiteral("id"), e.id.toString()},
                                   {QStringLiteral("originalPath"), e.originalPath},
                                   {QStringLiteral("deleted"), isoTime(e.deletedMs)},
                                   {QStringLiteral("kind"), tree::kindName(e.kind)},
                                   {QStringLiteral("size"), qint64(e.size)}});
        printJson(ctx, arr);
        return ExitOk;
    }
    for (const auto &e : *list)
        ctx.out << QStringLiteral("%1  %2  %3  %4  %5")
                       .arg(e.id.toString(), localTime(e.deletedMs))
                       .arg(tree::kindName(e.kind), -11)
                       .arg(e.size, 14)
                       .arg(listed(e.originalPath))
                << "\n";
    return ExitOk;
}

int cmdTrashRestore(Context &ctx)
{
    const auto id = Ruid::parse(ctx.args.at(0).toLower());
    if (!id)
        return ctx.usage(QStringLiteral("%1 is not a trash id (32 hex digits, see vdrive trash list)").arg(quoted(ctx.args.at(0))));
    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    auto n = (*d)->restoreFromTrash(*id, ctx.to.isEmpty() ? QString() : drivePath(ctx.to));
    if (!n)
        return rollbackAndFail(ctx, **d, n.status());
    if (const int code = commitOrFail(ctx, **d); code != ExitOk)
        return code;
    auto path = (*d)->pathOf(n->id);
    const QString where = path ? *path : n->name;
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("id"), n->id.toString()}, {QStringLiteral("path"), where}});
    else if (!ctx.quiet)
        ctx.out << "restored " << listed(where) << "\n";
    return ExitOk;
}

int cmdTrashEmpty(Context &ctx)
{
    int64_t before = INT64_MAX;
    if (!ctx.olderThan.isEmpty()) {
        bool ok = false;
        const double days = ctx.olderThan.toDouble(&ok);
        if (!ok || days < 0 || days > 1e6)
            return ctx.usage(QStringLiteral("--older-than takes a number of days, not %1").arg(quoted(ctx.olderThan)));
        before = QDateTime::currentMSecsSinceEpoch() - int64_t(days * 86400.0 * 1000.0);
    }
    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    ProgressLine progress(QStringLiteral("emptying the trash"), 0, !ctx.quiet && !ctx.json);
    auto removed = (*d)->emptyTrash(before, [&](uint64_t done) { return progress.entries(done); });
    progress.finish();
    if (!removed)
        return rollbackAndFail(ctx, **d, removed.status());
    if (const int code = commitOrFail(ctx, **d); code != ExitOk)
        return code;
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("removed"), qint64(*removed)}});
    else if (!ctx.quiet)
        ctx.out << "removed " << count(*removed, "entry", "entries") << " from the trash\n";
    return ExitOk;
}

} // namespace vd::cli
