// Node: the engine of one data directory for as long as a program runs —
// what `vdrive serve` and the explorer embed, and what the CLI reaches
// through the control socket while either runs.
//
// A node owns the collections of its data directory: each is opened for
// writing the first time a client asks for it and then served by one
// DriveHost (its writer thread) until the node closes. Opening, creating
// and listing collections are safe from any thread; so is every call on a
// host. changed() relays every host's changes with the collection's RUID.
//
// Thread safety: every public method may be called from any thread.
#pragma once

#include "drivehost.h"

#include "io/env.h"
#include "storage/datadir.h"

#include <QObject>

#include <map>
#include <memory>
#include <mutex>

namespace vd::node {

struct NodeOptions
{
    io::Env *env = nullptr; // null: the real file system
    QString dataDir;        // resolved already (storage::resolveDataDir)
    // drive.nodeShortId 0: the node loads (or makes) the data directory's
    // NodeIdentity when it first opens a collection, and versions its
    // changes with that.
    tree::DriveOptions drive;
};

class Node : public QObject
{
    Q_OBJECT
public:
    explicit Node(NodeOptions options, QObject *parent = nullptr);
    // Closes every host: what is queued runs and commits first.
    ~Node() override;

    QString dataDir() const { return m_options.dataDir; }

    Result<std::vector<storage::CollectionEntry>> collections();
    // The host of the collection named nameOrRuid, opened on first use.
    Result<DriveHost *> host(const QString &nameOrRuid);
    // Creates a collection and returns its host.
    Result<DriveHost *> create(const QString &name, const storage::CreateOptions &options = {});
    // The hosts open now.
    std::vector<DriveHost *> hosts() const;

    // Stops taking requests everywhere, runs what is queued, commits and
    // closes every collection. Called by the destructor.
    void close();

Q_SIGNALS:
    void changed(const vd::Ruid &collection, const std::vector<vd::tree::ChangeRecord> &records);
    void resyncNeeded(const vd::Ruid &collection, const QString &why);

private:
    Result<DriveHost *> adopt(std::unique_ptr<tree::Drive> drive);
    // Sets m_options.drive.nodeShortId from the data directory's identity
    // (m_opening held).
    Status ensureIdentity();

    NodeOptions m_options;
    std::mutex m_opening; // held while a collection is opened (host())
    mutable std::mutex m_mutex;
    std::map<Ruid, std::unique_ptr<DriveHost>> m_hosts;
    bool m_closed = false;
};

} // namespace vd::node
