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

    // Renames the collection named nameOrRuid (its RUID stays): one commit
    // of its writer (opened if it was not), after which its host's name()
    // is the new one. AlreadyExists when another collection of the data
    // directory has the name, InvalidArgument for a bad name. Blocks until
    // committed (not for a GUI thread).
    Result<storage::CollectionEntry> renameCollection(const QString &nameOrRuid, const QString &newName);
    // Deletes the collection named nameOrRuid for good (a damaged one too):
    // its host here, if open, is retired first — refused (Busy) while
    // anything is queued, running or reading on it — then its folder goes
    // (storage::deleteCollectionAt: Busy while another process holds it;
    // a crash leaves it whole or gone, never half). Requests on the retired
    // host fail with NotFound; its pointer stays valid. Returns what was
    // deleted.
    Result<storage::CollectionEntry> deleteCollection(const QString &nameOrRuid);
    // For a collection created, renamed or deleted without these calls (a
    // command run in the node that did it itself): tells the listeners.
    void notifyCollectionsChanged() { Q_EMIT collectionsChanged(); }

    // Stops taking requests everywhere, runs what is queued, commits and
    // closes every collection. Called by the destructor.
    void close();

Q_SIGNALS:
    void changed(const vd::Ruid &collection, const std::vector<vd::tree::ChangeRecord> &records);
    void resyncNeeded(const vd::Ruid &collection, const QString &why);
    // A collection was created, renamed or deleted: list them again. From
    // the thread that did it.
    void collectionsChanged();

private:
    Result<DriveHost *> adopt(std::unique_ptr<tree::Drive> drive);
    // host() with m_opening held.
    Result<DriveHost *> hostLocked(const QString &nameOrRuid);
    // Sets m_options.drive.nodeShortId from the data directory's identity
    // (m_opening held).
    Status ensureIdentity();

    NodeOptions m_options;
    // Held while names are checked and changed (create, rename, delete),
    // before m_opening: two renames to one name cannot both pass the check.
    std::mutex m_naming;
    std::mutex m_opening; // held while a collection is opened (host())
    mutable std::mutex m_mutex;
    std::map<Ruid, std::unique_ptr<DriveHost>> m_hosts;
    // Hosts of deleted collections: closed, kept until the node closes so
    // that no pointer handed out dangles.
    std::vector<std::unique_ptr<DriveHost>> m_retired;
    bool m_closed = false;
};

} // namespace vd::node
