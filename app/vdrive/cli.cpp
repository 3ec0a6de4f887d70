#include "cli.h"

#include "commands.h"
#include "serve.h"
#include "session.h"
#include "terminal.h"

#include "node/node.h"
#include "storage/datadir.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>

#include <cstdio>
#include <map>
#include <optional>
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
    case ErrorCode::Resync: return ExitResync;
    case ErrorCode::NotHere: return ExitNotHere;
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
        {QStringLiteral("collection rename"), {"collection rename NAME|RUID NEWNAME", "Rename a collection (its RUID stays).", cmdCollectionRename, 2, 2, false, "", true}},
        {QStringLiteral("collection delete"), {"collection delete NAME|RUID", "Delete a collection and everything in it, for good.", cmdCollectionDelete, 1, 1, false, "", true}},
        {QStringLiteral("serve"), {"serve", "Run the node of the data directory in the foreground: every vdrive command on it goes through the node's control socket "
                                   "until SIGINT or SIGTERM stops it.", cmdServe, 0, 0, false, "", false}},
        {QStringLiteral("status"), {"status", "Show the node running on the data directory: collections open, clients, requests, commits.", cmdStatus, 0, 0, false, "", false}},
        {QStringLiteral("id"), {"id", "Print this node's id (its key and certificate, in <data dir>/node/, are made on first use).", cmdId, 0, 0, false, "", false}},
        {QStringLiteral("changes"), {"changes [--since SEQ] [--follow]", "The change feed: one line per node changed (--json: one object per line), from SEQ or the oldest kept; --follow waits for more until Ctrl-C.", cmdChanges, 0, 0, true, "since follow", false}},
        {QStringLiteral("info"), {"info", "Units, blocks per size class, SmallBlocks, logical and allocated bytes, padding ratio.", cmdInfo, 0, 0, true, "", false}},
        {QStringLiteral("fsck"), {"fsck [--repair]", "Verify every checksum, the tree and the bitmap against the blocks in use. --repair rebuilds .bitmap from what is reachable.", cmdFsck, 0, 0, true, "repair", false}},
        {QStringLiteral("recover"), {"recover", "Rebuild .meta and .bitmap from idvd alone (after either was lost or damaged), then check everything as fsck does.", cmdRecover, 0, 0, true, "", true}},
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
    return word == QLatin1String("trash") || word == QLatin1String("json") || word == QLatin1String("snapshot") || word == QLatin1String("collection");
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
                        "8 resync (changes: the feed no longer holds that point), 9 the node went away during the command, 130 cancelled.\n");
    return s;
}

QString spelled(const QCommandLineOption &o)
{
    const QString n = o.names().constFirst();
    return (n.size() == 1 ? QStringLiteral("-") : QStringLiteral("--")) + n;
}

// Whether Qt's UTF-8 decoding keeps these bytes: invalid UTF-8 becomes
// U+FFFD, and two different names would become one.
bool decodesFaithfully(const QByteArray &raw)
{
    return QString::fromUtf8(raw).toUtf8() == raw;
}

// The word of the synopsis an argument stands for ("VPATH", "LOCAL", "KEY"):
// `index` of `count` arguments after the command's words, options ("[-r]",
// "[--to VPATH]") left out, a "WORD..." taking what the others leave.
QString synopsisWord(const QString &synopsis, int commandWords, int index, int count)
{
    QStringList words;
    const QStringList tokens = synopsis.split(QLatin1Char(' '), Qt::SkipEmptyParts).mid(commandWords);
    for (qsizetype i = 0; i < tokens.size(); ++i) {
        if (tokens[i].startsWith(QLatin1String("[-"))) {
            while (i < tokens.size() && !tokens[i].endsWith(QLatin1Char(']')))
                ++i;
            continue;
        }
        QString w = tokens[i];
        w.remove(QLatin1Char('[')).remove(QLatin1Char(']'));
        words << w.section(QLatin1Char('|'), 0, 0);
    }
    qsizetype variadic = -1;
    for (qsizetype i = 0; i < words.size(); ++i)
        if (words[i].endsWith(QLatin1String("...")))
            variadic = i;
    auto plain = [](QString w) { return w.remove(QLatin1String("...")); };
    if (variadic < 0)
        return index < words.size() ? words[index] : QString();
    const qsizetype after = words.size() - variadic - 1; // words after the variadic one
    if (index < variadic)
        return words[index];
    if (index >= count - after)
        return words[words.size() - (count - index)];
    return plain(words[variadic]);
}

// The first argument that is not valid UTF-8, as a usage error naming what
// it stands for (shown escaped); empty when every argument is valid. Names,
// paths and keys in a collection are UTF-8, and Qt cannot open a local path
// that is not, so every such argument is refused.
QString invalidUtf8Argument(const QCommandLineParser &parser, const QByteArrayList &raw,
                            const std::vector<std::pair<const QCommandLineOption *, bool>> &valueOptions)
{
    for (qsizetype r = 1; r < raw.size(); ++r) {
        if (decodesFaithfully(raw[r]))
            continue;
        const QString decoded = QString::fromUtf8(raw[r]); // what Qt made of it
        const QString shown = quotedBytes(raw[r]);
        QString role;
        bool local = false;
        for (const auto &[o, isLocal] : valueOptions) {
            if (parser.values(*o).contains(decoded)) {
                role = spelled(*o);
                local = isLocal;
                break;
            }
        }
        QStringList positional = parser.positionalArguments();
        if (role.isEmpty() && !positional.isEmpty()) {
            int words = 1;
            QString name = positional.takeFirst();
            if (isGroup(name) && !positional.isEmpty()) {
                name += QLatin1Char(' ') + positional.takeFirst();
                words = 2;
            }
            const auto it = commandTable().find(name);
            const qsizetype at = positional.indexOf(decoded);
            if (it != commandTable().end() && at >= 0) {
                role = synopsisWord(QLatin1String(it->second.synopsis), words, int(at), int(positional.size()));
                local = role.startsWith(QLatin1String("LOCAL"));
            }
        }
        if (local)
            return QStringLiteral("%1 %2 is a local path that is not valid UTF-8: vdrive cannot open it faithfully (rename it)").arg(role, shown);
        if (!role.isEmpty())
            return QStringLiteral("%1 %2 is not valid UTF-8: names, paths and keys in a collection are UTF-8").arg(role, shown);
        return QStringLiteral("the argument %1 is not valid UTF-8").arg(shown);
    }
    return {};
}

// The same for the variables that name folders.
QString invalidUtf8Variable(bool dataDirGiven, bool noCache)
{
    for (const char *name : {"VDRIVE_DATA_DIR", "VDRIVE_CACHE_DIR"}) {
        if ((dataDirGiven && qstrcmp(name, "VDRIVE_DATA_DIR") == 0) || (noCache && qstrcmp(name, "VDRIVE_CACHE_DIR") == 0))
            continue;
        const QByteArray value = qgetenv(name);
        if (!decodesFaithfully(value))
            return QStringLiteral("$%1 (%2) is not valid UTF-8: vdrive cannot open that folder faithfully")
                .arg(QLatin1String(name), quotedBytes(value));
    }
    return {};
}

} // namespace

int run(const QStringList &arguments, const QByteArrayList &raw)
{
    // In the node the terminals are the client's (SessionScope set them).
    Session *const session = currentSession();
    if (!session)
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
    const QCommandLineOption sinceOpt(QStringLiteral("since"), QStringLiteral("changes: from this sequence number on."), QStringLiteral("SEQ"));
    const QCommandLineOption followOpt(QStringLiteral("follow"), QStringLiteral("changes: keep waiting for new changes (until Ctrl-C)."));
    parser.addOptions({dataDirOpt, collectionOpt, jsonOpt, quietOpt, noCacheOpt, repairOpt, atOpt, longOpt, recursiveOpt, parentsOpt, summarizeOpt,
                       forceOpt, permanentOpt, replaceOpt, compactOpt, toOpt, olderThanOpt, sinceOpt, followOpt});
    parser.addPositionalArgument(QStringLiteral("command"), QStringLiteral("The command to run (see above)."));
    parser.addPositionalArgument(QStringLiteral("args"), QStringLiteral("Its arguments."), QStringLiteral("[args...]"));
    // Options that belong to some commands only: accepted where they apply.
    const std::vector<const QCommandLineOption *> commandOptions = {&repairOpt, &atOpt, &longOpt, &recursiveOpt, &parentsOpt, &summarizeOpt, &forceOpt,
                                                                    &permanentOpt, &replaceOpt, &compactOpt, &toOpt, &olderThanOpt, &sinceOpt, &followOpt};

    Context ctx{};
    QFile stdoutFile;
    QFile stderrFile;
    std::optional<SessionOutput> sessionOut;
    std::optional<SessionOutput> sessionErr;
    std::optional<SessionInput> sessionIn;
    if (session) {
        sessionOut.emplace(*session, 1);
        sessionErr.emplace(*session, 2);
        sessionIn.emplace(*session);
        ctx.out.setDevice(&*sessionOut);
        ctx.err.setDevice(&*sessionErr);
        ctx.in = &*sessionIn;
    } else {
        stdoutFile.open(stdout, QIODevice::WriteOnly);
        stderrFile.open(stderr, QIODevice::WriteOnly);
        ctx.out.setDevice(&stdoutFile);
        ctx.err.setDevice(&stderrFile);
    }

    if (!parser.parse(arguments))
        return ctx.usage(parser.errorText());
    const QString notUtf8 = invalidUtf8Argument(parser, raw,
                                                {{&dataDirOpt, true}, {&collectionOpt, false}, {&atOpt, false}, {&toOpt, false}, {&olderThanOpt, false}});
    if (!notUtf8.isEmpty())
        return ctx.usage(notUtf8);
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
    ctx.since = parser.value(sinceOpt);
    ctx.follow = parser.isSet(followOpt);
    ctx.args = positional;
    ctx.env = io::Env::posix();
    if (const QString bad = invalidUtf8Variable(parser.isSet(dataDirOpt), ctx.noCache); !bad.isEmpty())
        return ctx.usage(bad);
    if (cmd.needsCollection && ctx.collection.isEmpty())
        return ctx.usage(QStringLiteral("%1 needs a collection: vdrive -c NAME %2").arg(quoted(name), QLatin1String(cmd.synopsis)));
    int code = ExitOk;
    if (session) {
        // In the node: the data directory is the node's (the client found
        // the node through its own), the drive the host's.
        ctx.dataDir = session->node().dataDir();
        // info, df, fsck and the object reads use the Collection itself (its
        // statistics, its objects, its checks), and snapshot list the bytes
        // each snapshot alone keeps, which only the writer counts: they need
        // the writer's Drive (a read request gets a reader's Drive over a
        // pinned generation), so they run on the writer thread, between its
        // commits.
        static const QStringList needsWriter = {QStringLiteral("info"),    QStringLiteral("df"),         QStringLiteral("fsck"),
                                                QStringLiteral("objects"), QStringLiteral("get-object"), QStringLiteral("snapshot list")};
        // changes --follow reads the host afresh at each look (a read request
        // would pin one generation for as long as it follows).
        const bool looksByItself = name == QLatin1String("changes") && ctx.follow;
        code = runInNode(ctx, *session, cmd.run, cmd.needsCollection && !looksByItself, cmd.mutates || needsWriter.contains(name));
    } else {
        // A node runs on this data directory: the command runs there, with
        // this process as its terminal (remote.cpp).
        std::optional<int> forwarded;
        if (name != QLatin1String("serve"))
            forwarded = runThroughNode(ctx, raw.isEmpty() ? rawArguments(arguments) : raw, readsStdin(name, ctx.args));
        code = forwarded ? *forwarded : cmd.run(ctx);
    }
    ctx.out.flush();
    ctx.err.flush();
    return code;
}

} // namespace vd::cli
