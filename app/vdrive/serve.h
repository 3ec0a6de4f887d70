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

#include "core/status.h"

#include <QByteArrayList>

#include <memory>
#include <optional>

namespace vd::control {
class NodeLock;
}
namespace vd::node {
class Node;
}

namespace vd::cli {

class Session;

// The control socket of a node, serving every `vdrive` command (cli.run)
// and node.status: what `vdrive serve` runs, and what the explorer runs
// while its window is open so that `vdrive ...` in a terminal works on the
// same drive through it. start() listens on the data directory's socket
// and records it in the node lock it takes over. Destroying it refuses new
// commands, cancels the running ones (each keeps what it committed), waits
// for their answers (10 s at most), disconnects the clients and removes
// the socket. The node must outlive it.
class NodeServer
{
public:
    static Result<std::unique_ptr<NodeServer>> start(node::Node &node, std::unique_ptr<control::NodeLock> lock, const QString &program);
    ~NodeServer();
    NodeServer(const NodeServer &) = delete;
    NodeServer &operator=(const NodeServer &) = delete;

    QString socketPath() const;
    qint64 pid() const;

private:
    struct Parts;
    explicit NodeServer(std::unique_ptr<Parts> parts);
    std::unique_ptr<Parts> m_parts;
};

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
