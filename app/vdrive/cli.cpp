#include "cli.h"

#include "commands.h"
#include "terminal.h"

#include "storage/datadir.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>

#include <cstdio>
#include <map>
#include <unistd.h>

namespace vd::cli {

int exitCodeFor(const Status &status)
{
    switch (status.code()) {
    case ErrorCode::Ok: return ExitOk;
    case ErrorCode::InvalidArgument: return ExitUsage;
    case ErrorCode::NotFound: return ExitNotFound;
    case ErrorCode::Corruption:
    case ErrorCode::VersionMismatch: return ExitCorrupt;
    case ErrorCode::Busy: return ExitBusy;
    case ErrorCode::AlreadyExists: return ExitExists;
    case ErrorCode::NoSpace: return ExitNoSpace;
    case ErrorCode::Cancelled: return ExitCancelled;
    default: return ExitFailure;
    }
}

int Context::fail(const Status &status)
{
    err << "vdrive: " << safeForStderr(status.toString()) << Qt::endl;
    return exitCodeFor(status);
}

int Context::usage(const QString &message)
{
    err << "vdrive: " << safeForStderr(message) << Qt::endl << "Try 'vdrive --help'." << Qt::endl;
    return ExitUsage;
}

void Context::warn(const QString &message)
{
    err << "vdrive: warning: " << safeForStderr(message) << Qt::endl;
}

namespace {

constexpr int kMany = 1 << 20;

struct Command
{
    const char *synopsis;
    const char *help;
    int (*run)(Context &);
    int minArgs;
    int maxArgs;
    bool needsCollection;
    // The command options it accepts (long names, space-separated). "at"
    // marks a read command that can read a snapshot.
    const char *options;
    bool mutates; // changes the collection (so --at makes no sense)
};

// Commands of two words ("snapshot create") are keyed by both.
const std::map<QString, Command> &commandTable()
{
    static const std::map<QString, Command> table = {
        // The collections and their objects.
        {QStringLiteral("init"), {"init NAME", "Create a collection named NAME; prints its RUID.", cmdInit, 1, 1, false, "", true}},
        {QStringLiteral("collections"), {"collections", "List the collections in the data directory.", cmdCollections, 0, 0, false, "", false}},
        {QStringLiteral("info"), {"info", "Units, blocks per size class, SmallBlocks, logical and allocated bytes, padding ratio.", cmdInfo, 0, 0, true, "", false}},
        {QStringLiteral("fsck"), {"fsck [--repair]", "Verify every checksum, the tree and the bitmap against the blocks in use. --repair rebuilds .bitmap from what is reachable.", cmdFsck, 0, 0, true, "repair", false}},
        {QStringLiteral("put-object"), {"put-object LOCALFILE KEY", "Store a local file ('-': standard input) under KEY, replacing what was there.", cmdPutObject, 2, 2, true, "", true}},
        {QStringLiteral("get-object"), {"get-object KEY LOCALFILE", "Write the object KEY to a local file ('-': standard output).", cmdGetObject, 2, 2, true, "", false}},
        {QStringLiteral("objects"), {"objects", "List the objects: key, size, modification time.", cmdObjects, 0, 0, true, "", false}},
        {QStringLiteral("rm-object"), {"rm-object KEY...", "Remove objects.", cmdRemoveObject, 1, kMany, true, "", true}},
        // The tree.
        {QStringLiteral("ls"), {"ls [-l] [VPATH]", "List a folder (default /): names, folders with a trailing '/'; -l: kind, size, modification time, name.", cmdLs, 0, 1, true, "long at", false}},
        {QStringLiteral("stat"), {"stat VPATH...", "Show a node: id, kind, size, times, version, clusters and their blocks.", cmdStat, 1, kMany, true, "at", false}},
        {QStringLiteral("cat"), {"cat VPATH...", "Write files (JSON as text) to standard output.", cmdCat, 1, kMany, true, "at", false}},
        {QStringLiteral("put"), {"put [-r] LOCAL... VPATH", "Copy local files ('-': standard input) or, with -r, folders into the drive, like cp.", cmdPut, 2, kMany, true, "recursive", true}},
        {QStringLiteral("get"), {"get [-r] [--force] VPATH LOCAL", "Copy a file ('-': standard output) or, with -r, a folder's tree out of the drive into LOCAL.", cmdGet, 2, 2, true, "recursive force at", false}},
        {QStringLiteral("mkdir"), {"mkdir [-p] VPATH...", "Create folders; -p: with their parents, and no error if they exist.", cmdMkdir, 1, kMany, true, "parents", true}},
        {QStringLiteral("mv"), {"mv SRC... DST", "Move into the folder DST, or rename SRC to DST.", cmdMv, 2, kMany, true, "", true}},
        {QStringLiteral("cp"), {"cp [-r] SRC... DST", "Copy (folders with -r) into the folder DST or to DST, sharing the blocks.", cmdCp, 2, kMany, true, "recursive", true}},
        {QStringLiteral("rm"), {"rm [-r] [--permanent] VPATH...", "Move to the trash (folders need -r); --permanent removes for good.", cmdRm, 1, kMany, true, "recursive permanent", true}},
        {QStringLiteral("du"), {"du [-s] [VPATH]", "Logical bytes and counts of every folder below VPATH (default /); -s: VPATH only.", cmdDu, 0, 1, true, "summarize at", false}},
        {QStringLiteral("df"), {"df", "Collection totals: logical and allocated bytes, idvd size, files and nodes, snapshots, padding.", cmdDf, 0, 0, true, "", false}},
        {QStringLiteral("gc"), {"gc", "Collect garbage: free what no tree or snapshot references, repack SmallBlocks, expire old trash.", cmdGc, 0, 0, true, "", true}},
        {QStringLiteral("trash list"), {"trash list", "List the trash: id, deletion time, kind, size, original path.", cmdTrashList, 0, 0, true, "", false}},
        {QStringLiteral("trash restore"), {"trash restore ID [--to VPATH]", "Put a trashed node back where it was (or at VPATH).", cmdTrashRestore, 1, 1, true, "to", true}},
        {QStringLiteral("trash empty"), {"trash empty [--older-than DAYS]", "Remove everything (or what was deleted more than DAYS ago) from the trash.", cmdTrashEmpty, 0, 0, true, "older-than", true}},
        {QStringLiteral("json import"), {"json import LOCALFILE VPATH [--replace]", "Store a JSON document ('-': standard input) as a tree at VPATH.", cmdJsonImport, 2, 2, true, "replace", true}},
        {QStringLiteral("json get"), {"json get VPATH [--compact]", "Print a document or any part of one as JSON.", cmdJsonGet, 1, 1, true, "compact at", false}},
        {QStringLiteral("json set"), {"json set VPATH JSONTEXT", "Set a member or element (or a whole document) to a JSON value.", cmdJsonSet, 2, 2, true, "", true}},
        {QStringLiteral("json del"), {"json del VPATH", "Remove a member or element of a document.", cmdJsonDel, 1, 1, true, "", true}},
        {QStringLiteral("json export"), {"json export VPATH LOCALFILE|- [--compact] [--force]", "Write a document or part of one to a local file.", cmdJsonExport, 2, 2, true, "compact force at", false}},
        {QStringLiteral("snapshot create"), {"snapshot create NAME", "Take a read-only snapshot of the whole drive.", cmdSnapshotCreate, 1, 1, true, "", true}},
        {QStringLiteral("snapshot list"), {"snapshot list", "List snapshots: name, time, nodes, bytes, and the bytes only it keeps.", cmdSnapshotList, 0, 0, true, "", false}},
        {QStringLiteral("snapshot delete"), {"snapshot delete NAME", "Delete a snapshot and collect the space it alone kept.", cmdSnapshotDelete, 1, 1, true, "", true}},
        {QStringLiteral("snapshot diff"), {"snapshot diff FROM [TO]", "What changed between two snapshots (or FROM and now): A, D, M, R lines.", cmdSnapshotDiff, 1, 2, true, "", false}},
        {QStringLiteral("snapshot restore"), {"snapshot restore NAME VPATH [--to VPATH]", "Bring VPATH back as it was in the snapshot (the current one goes to the trash).", cmdSnapshotRestore, 2, 2, true, "to", true}},
    };
    return table;
}

bool isGroup(const QString &word)
{
    return word == QLatin1String("trash") || word == QLatin1String("json") || word == QLatin1String("snapshot");
}

QString groupUsage(const QString &group)
{
    QStringList subs;
    for (const auto &[name, c] : commandTable())
        if (name.startsWith(group + QLatin1Char(' ')))
            subs << name.mid(group.size() + 1);
    return QStringLiteral("usage: vdrive %1 %2 ...").arg(group, subs.join(QLatin1Char('|')));
}

QString commandHelp()
{
    QString s = QStringLiteral("Commands:\n");
    for (const auto &[name, c] : commandTable())
        s += QStringLiteral("  %1\n      %2\n").arg(QLatin1String(c.synopsis), QLatin1String(c.help));
    s += QStringLiteral("\nPaths in the drive (VPATH) are absolute; a missing leading '/' is added.\n");
    s += QStringLiteral("\nExit status: 0 ok, 1 failure, 2 usage, 3 not found, 4 corruption, 5 busy (locked), 6 exists, 7 no space, "
                        "130 cancelled.\n");
    return s;
}

QString spelled(const QCommandLineOption &o)
{
    const QString n = o.names().constFirst();
    return (n.size() == 1 ? QStringLiteral("-") : QStringLiteral("--")) + n;
}

} // namespace

int run(const QStringList &arguments)
{
    setTerminals(::isatty(STDOUT_FILENO) == 1, ::isatty(STDERR_FILENO) == 1);

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("vdrive — a distributed virtual drive.\n\n") + commandHelp());
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption dataDirOpt(QStringLiteral("data-dir"),
                                        QStringLiteral("The data directory (default: $VDRIVE_DATA_DIR, else ~/.local/share/vdrive)."),
                                        QStringLiteral("DIR"));
    const QCommandLineOption collectionOpt({QStringLiteral("c"), QStringLiteral("collection")},
                                           QStringLiteral("The collection, by name or RUID."), QStringLiteral("NAME"));
    const QCommandLineOption jsonOpt(QStringLiteral("json"), QStringLiteral("Print machine-readable JSON (see docs/CLI.md)."));
    const QCommandLineOption quietOpt({QStringLiteral("q"), QStringLiteral("quiet")}, QStringLiteral("Print only errors."));
    const QCommandLineOption noCacheOpt(QStringLiteral("no-cache"),
                                        QStringLiteral("Do not use the on-disk cache of the tree ($VDRIVE_CACHE_DIR, else ~/.cache/vdrive)."));
    const QCommandLineOption repairOpt(QStringLiteral("repair"), QStringLiteral("fsck: rebuild .bitmap from the blocks in use."));
    const QCommandLineOption atOpt(QStringLiteral("at"), QStringLiteral("Read commands: read the snapshot SNAPSHOT instead of the live drive."),
                                   QStringLiteral("SNAPSHOT"));
    const QCommandLineOption longOpt({QStringLiteral("l"), QStringLiteral("long")}, QStringLiteral("ls: kind, size, modification time and name."));
    const QCommandLineOption recursiveOpt({QStringLiteral("r"), QStringLiteral("R"), QStringLiteral("recursive")},
                                          QStringLiteral("put, get, cp, rm: folders and everything in them."));
    const QCommandLineOption parentsOpt({QStringLiteral("p"), QStringLiteral("parents")},
                                        QStringLiteral("mkdir: create missing parents; no error if it exists."));
    const QCommandLineOption summarizeOpt({QStringLiteral("s"), QStringLiteral("summarize")}, QStringLiteral("du: only the total of VPATH."));
    const QCommandLineOption forceOpt({QStringLiteral("f"), QStringLiteral("force")}, QStringLiteral("get, json export: replace existing local files."));
    const QCommandLineOption permanentOpt(QStringLiteral("permanent"), QStringLiteral("rm: remove for good instead of moving to the trash."));
    const QCommandLineOption replaceOpt(QStringLiteral("replace"), QStringLiteral("json import: replace an existing document."));
    const QCommandLineOption compactOpt(QStringLiteral("compact"), QStringLiteral("json get, json export: JSON on one line."));
    const QCommandLineOption toOpt(QStringLiteral("to"), QStringLiteral("trash restore, snapshot restore: where to put it back."), QStringLiteral("VPATH"));
    const QCommandLineOption olderThanOpt(QStringLiteral("older-than"), QStringLiteral("trash empty: only what was deleted more than DAYS days ago."),
                                          QStringLiteral("DAYS"));
    parser.addOptions({dataDirOpt, collectionOpt, jsonOpt, quietOpt, noCacheOpt, repairOpt, atOpt, longOpt, recursiveOpt, parentsOpt, summarizeOpt,
                       forceOpt, permanentOpt, replaceOpt, compactOpt, toOpt, olderThanOpt});
    parser.addPositionalArgument(QStringLiteral("command"), QStringLiteral("The command to run (see above)."));
    parser.addPositionalArgument(QStringLiteral("args"), QStringLiteral("Its arguments."), QStringLiteral("[args...]"));
    // Options that belong to some commands only: accepted where they apply.
    const std::vector<const QCommandLineOption *> commandOptions = {&repairOpt, &atOpt, &longOpt, &recursiveOpt, &parentsOpt, &summarizeOpt, &forceOpt,
                                                                    &permanentOpt, &replaceOpt, &compactOpt, &toOpt, &olderThanOpt};

    Context ctx{};
    QFile stdoutFile;
    QFile stderrFile;
    stdoutFile.open(stdout, QIODevice::WriteOnly);
    stderrFile.open(stderr, QIODevice::WriteOnly);
    ctx.out.setDevice(&stdoutFile);
    ctx.err.setDevice(&stderrFile);

    if (!parser.parse(arguments))
        return ctx.usage(parser.errorText());
    // --help-all is added by addHelpOption() and listed by --help; with no Qt
    // specific options worth showing here, it prints the same text.
    if (parser.isSet(QStringLiteral("help")) || parser.isSet(QStringLiteral("help-all"))) {
        ctx.out << parser.helpText();
        return ExitOk;
    }
    if (parser.isSet(QStringLiteral("version"))) {
        ctx.out << "vdrive " << QCoreApplication::applicationVersion() << Qt::endl;
        return ExitOk;
    }
    QStringList positional = parser.positionalArguments();
    if (positional.isEmpty())
        return ctx.usage(QStringLiteral("no command given"));
    QString name = positional.takeFirst();
    if (isGroup(name)) {
        if (positional.isEmpty())
            return ctx.usage(groupUsage(name));
        name += QLatin1Char(' ') + positional.takeFirst();
    }
    const auto it = commandTable().find(name);
    if (it == commandTable().end())
        return ctx.usage(QStringLiteral("unknown command %1").arg(quoted(name)));
    const Command &cmd = it->second;
    if (positional.size() < cmd.minArgs || positional.size() > cmd.maxArgs)
        return ctx.usage(QStringLiteral("usage: vdrive %1").arg(QLatin1String(cmd.synopsis)));
    const QStringList accepted = QString::fromLatin1(cmd.options).split(QLatin1Char(' '), Qt::SkipEmptyParts);
    for (const QCommandLineOption *o : commandOptions) {
        if (!parser.isSet(*o) || accepted.contains(o->names().constLast()))
            continue;
        if (o == &repairOpt)
            return ctx.usage(QStringLiteral("--repair belongs to fsck"));
        if (o == &atOpt && cmd.mutates)
            return ctx.usage(
                QStringLiteral("--at reads a snapshot, and %1 changes the collection (snapshots are read-only; see snapshot restore)").arg(quoted(name)));
        return ctx.usage(QStringLiteral("%1 does not apply to %2").arg(spelled(*o), quoted(name)));
    }
    if (parser.isSet(atOpt) && parser.value(atOpt).isEmpty())
        return ctx.usage(QStringLiteral("--at needs a snapshot name"));

    ctx.dataDir = storage::resolveDataDir(parser.value(dataDirOpt));
    ctx.collection = parser.value(collectionOpt);
    ctx.json = parser.isSet(jsonOpt);
    ctx.quiet = parser.isSet(quietOpt);
    ctx.repair = parser.isSet(repairOpt);
    ctx.noCache = parser.isSet(noCacheOpt);
    ctx.longList = parser.isSet(longOpt);
    ctx.recursive = parser.isSet(recursiveOpt);
    ctx.parents = parser.isSet(parentsOpt);
    ctx.summarize = parser.isSet(summarizeOpt);
    ctx.force = parser.isSet(forceOpt);
    ctx.permanent = parser.isSet(permanentOpt);
    ctx.replace = parser.isSet(replaceOpt);
    ctx.compact = parser.isSet(compactOpt);
    ctx.at = parser.value(atOpt);
    ctx.to = parser.value(toOpt);
    ctx.olderThan = parser.value(olderThanOpt);
    ctx.args = positional;
    ctx.env = io::Env::posix();
    if (cmd.needsCollection && ctx.collection.isEmpty())
        return ctx.usage(QStringLiteral("%1 needs a collection: vdrive -c NAME %2").arg(quoted(name), QLatin1String(cmd.synopsis)));
    const int code = cmd.run(ctx);
    ctx.out.flush();
    ctx.err.flush();
    return code;
}

} // namespace vd::cli
