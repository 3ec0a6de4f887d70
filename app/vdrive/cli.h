// The vdrive command line: parsing, the shared context of a command, exit
// codes. Each command is a function in commands.cpp over the engine API.
#pragma once

#include "core/status.h"
#include "io/env.h"

#include <QStringList>
#include <QTextStream>

namespace vd::cli {

// Exit codes (docs/CLI.md). Scripts may rely on them.
enum ExitCode : int {
    ExitOk = 0,
    ExitFailure = 1,   // the operation failed (I/O error, internal error, …)
    ExitUsage = 2,     // bad command line or invalid argument
    ExitNotFound = 3,  // no such collection or object
    ExitCorrupt = 4,   // corruption found (fsck faults, failed checksums)
    ExitBusy = 5,      // the collection is locked by another process
    ExitExists = 6,    // the name is taken
    ExitNoSpace = 7,   // out of disk space
    ExitCancelled = 130,
};

int exitCodeFor(const Status &status);

struct Context
{
    QString dataDir;
    QString collection; // -c: a name or a RUID
    bool json = false;
    bool quiet = false;
    bool repair = false;
    QStringList args;   // the command's own arguments
    io::Env *env = nullptr;
    QTextStream out;
    QTextStream err;

    // Prints "vdrive: <message>" to stderr and returns the exit code for it.
    int fail(const Status &status);
    int usage(const QString &message);
};

int run(const QStringList &arguments);

} // namespace vd::cli
