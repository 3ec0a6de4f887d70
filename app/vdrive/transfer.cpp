// put and get: copying between local files and the drive, like cp.
//
// The copying itself is the engine's (engine/transfer: localimport.h for
// put, localexport.h for get), shared with the explorer: batches and what a
// failure keeps, the read-ahead, the skipping rules, the checks of hostile
// names and the durable writes of get are described there. What stays here
// is the command line: its usage rules (cp's "into the folder or as it"),
// standard input and output, Ctrl-C, the progress line and the report.
#include "commands.h"

#include "cliutil.h"
#include "progress.h"
#include "terminal.h"

#include "transfer/localexport.h"
#include "transfer/localimport.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>

#include <fcntl.h>

namespace vd::cli {

using storage::Access;
using transfer::LocalKind;
using transfer::TransferProgress;
using tree::Kind;

namespace {

bool isStdio(const QString &local)
{
    return local == QLatin1String("-");
}

// The name a local file or folder gets in the drive: its last component.
QString localName(const QString &local)
{
    return QFileInfo(QDir::cleanPath(QFileInfo(local).absoluteFilePath())).fileName();
}

// A transfer seen on the command line: the progress line (redrawn at most
// ten times a second by ProgressLine), warnings on stderr, Ctrl-C.
class LineObserver final : public transfer::TransferObserver
{
public:
    // verb: "storing" or "reading"; bytesOnly: the line of a single file
    // ("reading /a: 1.50 MiB of 3.00 MiB (50%), …").
    LineObserver(Context &ctx, ProgressLine &line, const char *verb, bool bytesOnly = false)
        : m_ctx(ctx), m_line(line), m_verb(QLatin1String(verb)), m_bytesOnly(bytesOnly)
    {
    }

    bool isCancelled() const override { return ProgressLine::interrupted(); }

    void progress(const TransferProgress &p) override
    {
        if (m_bytesOnly) {
            (void)m_line.update(p.bytes);
            return;
        }
        // A line is drawn once a file or a byte has been copied: folders
        // alone (a tree of empty folders, or only links) draw none, as
        // before the copying moved into the engine.
        if (p.phase == TransferProgress::Phase::Copying && p.files == 0 && p.bytes == 0)
            return;
        (void)m_line.tick([&] {
            switch (p.phase) {
            case TransferProgress::Phase::Syncing: return QStringLiteral("syncing %1 to the disk").arg(count(p.files, "file", "files"));
            case TransferProgress::Phase::Renaming: return QStringLiteral("putting %1 in place").arg(count(p.files, "file", "files"));
            case TransferProgress::Phase::Copying: break;
            }
            return QStringLiteral("%1: %2, %3 — %4").arg(m_verb, count(p.files, "file", "files"), formatBytes(p.bytes), p.current);
        });
    }

    void warning(const QString &message) override
    {
        m_line.finish();
        m_ctx.warn(message);
    }

private:
    Context &m_ctx;
    ProgressLine &m_line;
    QString m_verb;
    bool m_bytesOnly;
};

struct PutJob
{
    QString local; // a file, a folder (with -r), a FIFO or "-"
    QString vpath; // what it becomes
    bool folder = false;
};

} // namespace

int cmdPut(Context &ctx)
{
    const QString typedDst = ctx.args.constLast();
    const QString dst = drivePath(typedDst);
    const QStringList locals = ctx.args.mid(0, ctx.args.size() - 1);
    // The command line first: nothing is opened for a usage error.
    for (const QString &local : locals) {
        if (isStdio(local)) {
            if (locals.size() > 1)
                return ctx.usage(QStringLiteral("'-' (standard input) needs a name of its own: vdrive put - VPATH"));
            continue;
        }
        const QFileInfo fi(local);
        if (fi.isDir() && !ctx.recursive)
            return ctx.usage(QStringLiteral("%1 is a folder: use put -r").arg(quoted(local)));
        if (fi.isDir() && localName(local).isEmpty())
            return ctx.usage(QStringLiteral("%1 has no name to give it in the drive; put its entries instead").arg(quoted(local)));
        // A device or a socket has no contents to store (/dev/zero never
        // ends, a socket cannot be opened): refused before anything is done.
        const LocalKind kind = transfer::localKind(local);
        if (kind == LocalKind::CharDevice || kind == LocalKind::BlockDevice || kind == LocalKind::Socket || kind == LocalKind::Other)
            return ctx.usage(QStringLiteral("%1 is %2: put stores regular files, FIFOs (their stream, as with '-') and folders (-r)")
                                 .arg(quoted(local), transfer::kindPhrase(kind)));
    }

    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    tree::Drive &drive = **d;
    auto target = statIfExists(drive, dst);
    if (!target)
        return ctx.fail(target.status());
    const bool dstIsFolder = *target && (*target)->kind == Kind::Directory;
    // Into the folder dst, or dst itself (cp's rule).
    const bool into = dstIsFolder || locals.size() > 1 || (endsWithSlash(typedDst) && dst != QLatin1String("/"));
    if (into && *target && !dstIsFolder)
        return ctx.fail(Status::alreadyExists(QStringLiteral("%1 exists and is a %2, not a folder").arg(dst, tree::kindName((*target)->kind))));
    if (into && isStdio(locals.constFirst()))
        return ctx.usage(QStringLiteral("'-' (standard input) needs a name: vdrive put - %1").arg(childPath(dst, QStringLiteral("NAME"))));

    std::vector<PutJob> jobs;
    for (const QString &local : locals) {
        PutJob job{local, dst, false};
        if (!isStdio(local)) {
            const QFileInfo fi(local);
            if (!fi.exists()) {
                return ctx.fail(fi.isSymLink() ? Status::notFound(QStringLiteral("cannot read %1: a symbolic link to nothing").arg(quoted(local)))
                                               : Status::notFound(QStringLiteral("cannot read %1: no such file or folder").arg(quoted(local))));
            }
            job.folder = fi.isDir();
            const LocalKind kind = transfer::localKind(local);
            if (!fi.isDir() && !fi.isFile() && kind != LocalKind::Fifo) // a FIFO's stream is stored, as with '-'
                return ctx.usage(QStringLiteral("%1 is %2: put stores regular files, FIFOs and folders").arg(quoted(local), transfer::kindPhrase(kind)));
            if (into)
                job.vpath = childPath(dst, localName(local));
        }
        jobs.push_back(job);
    }

    for (size_t i = 0; i < jobs.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (jobs[i].vpath == jobs[j].vpath)
                return ctx.fail(Status::invalidArgument(
                    QStringLiteral("%1 and %2 would both become %3").arg(quoted(jobs[j].local), quoted(jobs[i].local), jobs[i].vpath)));

    // Standard input is the CLI's (in the node, the client's): opened here.
    QFile stdinFile;
    std::vector<transfer::ImportItem> items;
    for (const PutJob &job : jobs) {
        transfer::ImportItem item{job.local, job.vpath, nullptr};
        if (isStdio(job.local)) {
            item.stream = standardInput(ctx, stdinFile);
            if (!item.stream)
                return ctx.fail(cannotRead(job.local, stdinFile));
        }
        items.push_back(item);
    }

    ProgressLine progress(QString(), 0, !ctx.quiet && !ctx.json);
    LineObserver observer(ctx, progress, "storing");
    transfer::ImportOptions options;
    options.quoting = cliQuoting();
    // Ctrl-C interrupts the open(2) of a FIFO that waits for its writer.
    options.openFifo = [](const QByteArray &path) { return ProgressLine::openInterruptibly(path, O_RDONLY); };
    Status st;
    if (into && !*target && !jobs.empty()) {
        auto made = drive.mkdir(dst, true);
        st = made.status();
    } else if (!into && !jobs.empty() && jobs.front().folder) {
        // put -r dir /x/y: /x/y becomes the copy of dir, its parents created.
        auto made = drive.mkdir(parentPath(dst), true);
        st = made.status();
    }
    if (!st)
        return ctx.fail(st);
    auto imported = transfer::importLocal(drive, items, options, observer);
    progress.finish();
    if (!imported)
        return ctx.fail(imported.status());
    const transfer::ImportReport &putter = *imported;
    if (ctx.json) {
        QJsonArray targets;
        for (const PutJob &job : jobs)
            targets.append(job.vpath);
        printJson(ctx, QJsonObject{{QStringLiteral("files"), qint64(putter.files)},
                                   {QStringLiteral("folders"), qint64(putter.folders)},
                                   {QStringLiteral("bytes"), qint64(putter.bytes)},
                                   {QStringLiteral("skipped"), qint64(putter.skipped)},
                                   {QStringLiteral("targets"), targets}});
    } else if (!ctx.quiet) {
        if (jobs.size() == 1 && !jobs.front().folder)
            ctx.out << "stored " << listed(jobs.front().vpath) << " (" << formatBytes(putter.bytes) << ")\n";
        else
            ctx.out << "stored " << count(putter.files, "file", "files") << " (" << formatBytes(putter.bytes) << ") and "
                    << count(putter.folders, "folder", "folders") << (into ? " into " : " as ") << listed(dst)
                    << (putter.skipped ? QStringLiteral("; skipped %1").arg(putter.skipped) : QString()) << "\n";
    }
    return ExitOk;
}

int cmdGet(Context &ctx)
{
    const QString vpath = drivePath(ctx.args.at(0));
    const QString local = ctx.args.at(1);
    auto d = openDrive(ctx, Access::ReadOnly);
    if (!d)
        return ctx.fail(d.status());
    tree::Drive &drive = **d;
    auto node = drive.stat(vpath, ctx.at);
    if (!node)
        return ctx.fail(node.status());
    const bool folder = node->kind == Kind::Directory;
    if (folder && !ctx.recursive)
        return ctx.usage(QStringLiteral("%1 is a folder: use get -r").arg(vpath));
    if (folder && isStdio(local))
        return ctx.usage(QStringLiteral("a folder cannot go to standard output: name a local folder"));

    ProgressLine progress(QStringLiteral("reading %1").arg(vpath), folder ? 0 : node->size, !ctx.quiet && !ctx.json);
    if (isStdio(local)) {
        QIODevice &out = rawStdout(ctx);
        const Status st = drive.readFile(vpath, out, [&](uint64_t done) { return progress.update(done); }, ctx.at);
        flushOutput(out);
        progress.finish();
        return st ? ExitOk : ctx.fail(st);
    }

    transfer::ExportOptions options;
    options.at = ctx.at;
    options.force = ctx.force;
    options.quoting = cliQuoting();
    LineObserver observer(ctx, progress, "reading", !folder);
    auto exported = transfer::exportLocal(drive, {{vpath, local}}, options, observer);
    progress.finish();
    if (!exported)
        return ctx.fail(exported.status());
    const transfer::ExportReport &r = *exported;
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("files"), qint64(r.files)},
                                   {QStringLiteral("folders"), qint64(r.folders)},
                                   {QStringLiteral("bytes"), qint64(r.bytes)},
                                   {QStringLiteral("local"), r.targets.front()}});
    else if (!ctx.quiet && folder)
        ctx.out << "wrote " << count(r.files, "file", "files") << " (" << formatBytes(r.bytes) << ") and " << count(r.folders, "folder", "folders")
                << " into " << listed(local) << "\n";
    return ExitOk;
}

} // namespace vd::cli
