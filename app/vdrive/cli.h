// The vdrive command line: parsing, the shared context of a command, exit
// codes. Each command is a function over the engine API: the collection's
// flat objects in commands.cpp, the tree (vd::tree::Drive) in
// treecommands.cpp, transfer.cpp (put, get), jsoncommands.cpp and
// snapshotcommands.cpp (snapshots and the trash).
#pragma once

#include "core/status.h"
#include "io/env.h"

#include <QStringList>
#include <QTextStream>

namespace vd::node {
class DriveHost;
}

namespace vd::tree {
class Drive;
}

namespace vd::cli {

// Exit codes (docs/CLI.md). Scripts may rely on them.
enum ExitCode : int {
    ExitOk = 0,
    ExitFailure = 1,   // the operation failed (I/O error, internal error, …)
    ExitUsage = 2,     // bad command line or invalid argument
    ExitNotFound = 3,  // no such collection, object or path
    ExitCorrupt = 4,   // corruption found (fsck faults, failed checksums)
    ExitBusy = 5,      // the collection is locked by another process
    ExitExists = 6,    // the name is taken
    ExitNoSpace = 7,   // out of disk space
    ExitResync = 8,    // changes --since: the feed no longer holds that sequence
    ExitNodeGone = 9,  // the node running the command went away before it finished
    ExitNotHere = 10,  // the content is referenced here but held by other nodes
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
    // Options of the tree commands (each accepted only where it applies).
    bool noCache = false;   // --no-cache: no LMDB cache of the tree
    bool longList = false;  // ls -l
    bool recursive = false; // -r: put, get, cp, rm
    bool parents = false;   // mkdir -p
    bool summarize = false; // du -s
    bool force = false;     // get, json export: overwrite local files
    bool permanent = false; // rm --permanent
    bool replace = false;   // json import --replace
    bool compact = false;   // json get/export --compact
    QString at;             // --at SNAPSHOT: read a snapshot
    QString to;             // --to VPATH: trash restore, snapshot restore
    QString olderThan;      // trash empty --older-than DAYS
    QString since;          // changes --since SEQ
    bool follow = false;    // changes --follow
    QStringList args;       // the command's own arguments
    io::Env *env = nullptr;
    // In the node (session.h): the host's drive the command runs on, which
    // openDrive() hands out, and the client's stdin.
    tree::Drive *hostDrive = nullptr;
    // Its host, which keeps the last finished check (`fsck`) for the block map.
    node::DriveHost *host = nullptr;
    QIODevice *in = nullptr;
    QTextStream out;
    QTextStream err;

    // Prints "vdrive: <message>" to stderr and returns the exit code for it.
    // On a terminal, characters a name could smuggle in (controls, U+202E)
    // are shown escaped (terminal.h); to a pipe the message is exact.
    int fail(const Status &status);
    int usage(const QString &message);
    // "vdrive: warning: <message>" on stderr (not silenced by -q).
    void warn(const QString &message);
};

// `arguments` as QCoreApplication decoded them; `raw`, when given, the same
// as the bytes the process received (argv), to refuse what is not UTF-8.
int run(const QStringList &arguments, const QByteArrayList &raw = {});

} // namespace vd::cli
