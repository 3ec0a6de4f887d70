// json import/get/set/del/export: JSON documents stored as trees of nodes
// (a member or element is a node; numbers and strings keep their exact
// literal). Paths go into documents: /conf/app.json/servers/0/host.
#include "commands.h"

#include "cliutil.h"
#include "progress.h"
#include "terminal.h"

#include <QFile>

namespace vd::cli {

using storage::Access;

int cmdJsonImport(Context &ctx)
{
    const QString local = ctx.args.at(0);
    const QString vpath = drivePath(ctx.args.at(1));
    QFile file;
    const bool fromStdin = local == QLatin1String("-");
    QIODevice *in = fromStdin ? standardInput(ctx, file) : (file.setFileName(local), file.open(QIODevice::ReadOnly) ? &file : nullptr);
    if (!in)
        return ctx.fail(cannotRead(local, file));
    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    ProgressLine progress(QStringLiteral("importing %1").arg(vpath), 0, !ctx.quiet && !ctx.json);
    auto n = (*d)->importJson(vpath, *in, ctx.replace, [&](uint64_t done) { return progress.entries(done); });
    progress.finish();
    if (!n)
        return rollbackAndFail(ctx, **d, n.status());
    if (const int code = commitOrFail(ctx, **d); code != ExitOk)
        return code;
    auto du = (*d)->du(vpath);
    const uint64_t nodes = du ? du->jsonNodes : 0;
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("path"), vpath}, {QStringLiteral("id"), n->id.toString()}, {QStringLiteral("nodes"), qint64(nodes)}});
    else if (!ctx.quiet)
        ctx.out << "imported " << listed(vpath) << " (" << count(nodes, "node", "nodes") << ")\n";
    return ExitOk;
}

int cmdJsonGet(Context &ctx)
{
    auto d = openDrive(ctx, Access::ReadOnly);
    if (!d)
        return ctx.fail(d.status());
    QIODevice &out = rawStdout(ctx);
    const Status st = (*d)->exportJson(drivePath(ctx.args.at(0)), out, ctx.compact ? -1 : 2, ctx.at);
    if (ctx.compact && st)
        out.write("\n"); // one line of text
    flushOutput(out);
    return st ? ExitOk : ctx.fail(st);
}

int cmdJsonSet(Context &ctx)
{
    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    auto n = (*d)->setJson(drivePath(ctx.args.at(0)), ctx.args.at(1).toUtf8());
    if (!n)
        return rollbackAndFail(ctx, **d, n.status());
    return commitOrFail(ctx, **d);
}

int cmdJsonDel(Context &ctx)
{
    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    const Status st = (*d)->deleteJson(drivePath(ctx.args.at(0)));
    if (!st)
        return rollbackAndFail(ctx, **d, st);
    return commitOrFail(ctx, **d);
}

int cmdJsonExport(Context &ctx)
{
    const QString vpath = drivePath(ctx.args.at(0));
    const QString local = ctx.args.at(1);
    if (local == QLatin1String("-"))
        return cmdJsonGet(ctx);
    auto d = openDrive(ctx, Access::ReadOnly);
    if (!d)
        return ctx.fail(d.status());
    // Checked before the file is touched: the node exists and is JSON.
    auto n = (*d)->stat(vpath, ctx.at);
    if (!n)
        return ctx.fail(n.status());
    if (!tree::isJson(n->kind))
        return ctx.fail(Status::invalidArgument(QStringLiteral("%1 is a %2, not a JSON document").arg(vpath, tree::kindName(n->kind))));
    const Status target = checkFileTarget(QFileInfo(local), ctx.force);
    if (!target)
        return ctx.fail(target);
    qint64 written = 0;
    const Status st = saveLocalFile(local, [&](QIODevice &out) -> Status {
        VD_TRY((*d)->exportJson(vpath, out, ctx.compact ? -1 : 2, ctx.at));
        if (ctx.compact && out.write("\n") != 1)
            return Status::ioError(QStringLiteral("cannot write %1: %2").arg(quoted(local), out.errorString()));
        written = out.pos();
        return {};
    });
    if (!st)
        return ctx.fail(st);
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("path"), vpath}, {QStringLiteral("file"), local}, {QStringLiteral("size"), written}});
    return ExitOk;
}

} // namespace vd::cli
