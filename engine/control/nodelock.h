// One node per data directory.
//
// The node that serves a data directory (`vdrive serve`, later the explorer)
// holds an exclusive lock on <dataDir>/node.lock for as long as it runs (an
// io::Env lock: F_OFD, so it dies with the process, even under kill -9), and
// writes there who it is and where it listens (docs/FORMAT.md, "node.lock"):
//
//   {"format": 1, "pid": 4242, "program": "vdrive serve", "socket": "/…/node.sock"}
//
// A second node is refused with a message naming the running one (pid and
// program). A client finds the node through the same file: no file, an empty
// one, or one nobody holds the lock on (left by a killed node) means no node.
// The file is never removed (removing a lock file races with the next
// holder); a node that stops empties it.
//
// Thread safety: the static functions are thread-safe; a NodeLock is used by
// one thread at a time.
#pragma once

#include "core/status.h"
#include "io/env.h"

#include <QString>

#include <memory>
#include <optional>

namespace vd::control {

struct NodeInfo
{
    qint64 pid = 0;      // 0: the holder has not written its record yet
    QString program;
    QString socketPath;  // empty until the node listens
};

class NodeLock
{
public:
    // The lock file of a data directory.
    static QString lockPath(const QString &dataDir);

    // Becomes the node of dataDir (created if missing): Busy, naming the
    // running node's pid and program, if there is one. program describes this
    // process (empty: its command line).
    static Result<std::unique_ptr<NodeLock>> acquire(io::Env &env, const QString &dataDir,
                                                     const QString &program = QString());

    // The node running on dataDir, or std::nullopt when there is none. A node
    // that holds the lock but has not finished writing its record is returned
    // with pid 0 (and no socket): it is starting.
    static Result<std::optional<NodeInfo>> find(io::Env &env, const QString &dataDir);

    // Records where the node listens (after ControlServer::listen).
    Status setSocketPath(const QString &socketPath);

    const NodeInfo &info() const { return m_info; }

    // Empties the record, then lets the lock go.
    ~NodeLock();
    NodeLock(const NodeLock &) = delete;
    NodeLock &operator=(const NodeLock &) = delete;

private:
    NodeLock(io::Env &env, QString path, std::unique_ptr<io::FileLock> lock, NodeInfo info);
    Status writeRecord(const QByteArray &bytes);

    io::Env &m_env;
    QString m_path;
    std::unique_ptr<io::FileLock> m_lock;
    NodeInfo m_info;
};

} // namespace vd::control
