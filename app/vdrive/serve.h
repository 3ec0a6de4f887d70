// `vdrive serve`, `vdrive status`, and every other command through the node.
//
// While a node runs on a data directory (`vdrive serve`, later the
// explorer), `vdrive CMD ...` does not open the collection itself: it sends
// its command line, working folder, umask and which of its streams are
// terminals to the node as one "cli.run" request (docs/PROTOCOL.md), and
// the node runs the very same command code (cli.cpp) on a thread of its own
// with a Session (session.h): stdout and stderr stream back as items tagged
// by channel, stdin streams up as the request's upload, Ctrl-C is a cancel
// of the request. The exit code is the reply. So output, exit codes,
// --json, the progress line and Ctrl-C are the same by construction.
//
// In the node a command that changes the collection runs as one write
// request of the collection's DriveHost (alone, on its writer thread), a
// read-only one as a read request; openDrive() hands out the host's Drive.
// Local paths are the client's: each command thread has a working folder
// and umask of its own (unshare(CLONE_FS)), set to the client's. The node
// runs as the client's user (the socket checks it), so it opens the
// client's files by their paths with the same rights.
#pragma once

#include "cli.h"

#include <QByteArrayList>

#include <optional>

namespace vd::cli {

class Session;

int cmdServe(Context &ctx);
int cmdStatus(Context &ctx);

// Runs a command in the node: on its collection's host when it needs one,
// as a write request (onWriter: alone, on the writer thread) or a read.
int runInNode(Context &ctx, Session &session, int (*run)(Context &), bool needsCollection, bool onWriter);

// When a node runs on ctx.dataDir, runs the command there and returns its
// exit code; std::nullopt when no node runs (the command then runs here).
std::optional<int> runThroughNode(Context &ctx, const QByteArrayList &raw, bool readsStdin);
// Whether the command reads standard input ('-' as its local file).
bool readsStdin(const QString &command, const QStringList &args);
QByteArrayList rawArguments(const QStringList &arguments);

} // namespace vd::cli
