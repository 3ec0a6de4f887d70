#include "cli.h"

#include "commands.h"

#include "storage/datadir.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>

#include <cstdio>
#include <map>

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
    err << "vdrive: " << status.toString() << Qt::endl;
    return exitCodeFor(status);
}

int Context::usage(const QString &message)
{
    err << "vdrive: " << message << Qt::endl << "Try 'vdrive --help'." << Qt::endl;
    return ExitUsage;
}

namespace {

struct Command
{
    const char *synopsis;
    const char *help;
    int (*run)(Context &);
    int minArgs;
    int maxArgs;
    bool needsCollection;
};

const std::map<QString, Command> &commandTable()
{
    static const std::map<QString, Command> table = {
        {QStringLiteral("init"), {"init NAME", "Create a collection named NAME; prints its RUID.", cmdInit, 1, 1, false}},
        {QStringLiteral("collections"), {"collections", "List the collections in the data directory.", cmdCollections, 0, 0, false}},
        {QStringLiteral("info"), {"info", "Units, blocks per size class, SmallBlocks, logical and allocated bytes, padding ratio.", cmdInfo, 0, 0, true}},
        {QStringLiteral("fsck"), {"fsck [--repair]", "Verify every checksum and the bitmap against the blocks in use. --repair rebuilds .bitmap from what is reachable.", cmdFsck, 0, 0, true}},
        {QStringLiteral("put-object"), {"put-object LOCALFILE KEY", "Store a local file ('-': standard input) under KEY, replacing what was there.", cmdPutObject, 2, 2, true}},
        {QStringLiteral("get-object"), {"get-object KEY LOCALFILE", "Write the object KEY to a local file ('-': standard output).", cmdGetObject, 2, 2, true}},
        {QStringLiteral("objects"), {"objects", "List the objects: key, size, modification time.", cmdObjects, 0, 0, true}},
        {QStringLiteral("rm-object"), {"rm-object KEY...", "Remove objects.", cmdRemoveObject, 1, 1 << 20, true}},
    };
    return table;
}

QString commandHelp()
{
    QString s = QStringLiteral("Commands:\n");
    for (const auto &[name, c] : commandTable())
        s += QStringLiteral("  %1\n      %2\n").arg(QLatin1String(c.synopsis), QLatin1String(c.help));
    s += QStringLiteral("\nExit status: 0 ok, 1 failure, 2 usage, 3 not found, 4 corruption, 5 busy (locked), 6 exists, 7 no space, 130 cancelled.\n");
    return s;
}

} // namespace

int run(const QStringList &arguments)
{
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
    const QCommandLineOption repairOpt(QStringLiteral("repair"), QStringLiteral("fsck: rebuild .bitmap from the blocks in use."));
    parser.addOptions({dataDirOpt, collectionOpt, jsonOpt, quietOpt, repairOpt});
    parser.addPositionalArgument(QStringLiteral("command"), QStringLiteral("The command to run (see above)."));
    parser.addPositionalArgument(QStringLiteral("args"), QStringLiteral("Its arguments."), QStringLiteral("[args...]"));

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
    const QString name = positional.takeFirst();
    const auto it = commandTable().find(name);
    if (it == commandTable().end())
        return ctx.usage(QStringLiteral("unknown command '%1'").arg(name));
    const Command &cmd = it->second;
    if (positional.size() < cmd.minArgs || positional.size() > cmd.maxArgs)
        return ctx.usage(QStringLiteral("usage: vdrive %1").arg(QLatin1String(cmd.synopsis)));
    if (parser.isSet(repairOpt) && name != QStringLiteral("fsck"))
        return ctx.usage(QStringLiteral("--repair belongs to fsck"));

    ctx.dataDir = storage::resolveDataDir(parser.value(dataDirOpt));
    ctx.collection = parser.value(collectionOpt);
    ctx.json = parser.isSet(jsonOpt);
    ctx.quiet = parser.isSet(quietOpt);
    ctx.repair = parser.isSet(repairOpt);
    ctx.args = positional;
    ctx.env = io::Env::posix();
    if (cmd.needsCollection && ctx.collection.isEmpty())
        return ctx.usage(QStringLiteral("'%1' needs a collection: vdrive -c NAME %2").arg(name, QLatin1String(cmd.synopsis)));
    const int code = cmd.run(ctx);
    ctx.out.flush();
    ctx.err.flush();
    return code;
}

} // namespace vd::cli
