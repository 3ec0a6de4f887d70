// The data directory: where a node keeps its collections.
//
//   <data dir>/collections/<RUID>/{idvd,.bitmap,.meta}
//
// The data directory is, in order: what the caller passes (--data-dir), else
// $VDRIVE_DATA_DIR, else the XDG data location (~/.local/share/vdrive).
// Collections are found by name or by RUID. Thread-safe (no shared state).
#pragma once

#include "collection.h"

#include <vector>

namespace vd::storage {

struct CollectionEntry
{
    QString path;
    QString folder;  // the folder's name (the RUID when healthy)
    Ruid ruid;
    QString name;
    uint64_t generation = 0;
    int64_t createdMs = 0;
    Status status;   // why .meta could not be read, if it could not
    QString headName; // then: the name idvd's head gives, if it gives one
};

QString resolveDataDir(const QString &explicitDir);
QString collectionsDir(const QString &dataDir);

// Every folder under collections/, healthy or not, sorted by name.
Result<std::vector<CollectionEntry>> listCollections(io::Env &env, const QString &dataDir);
// The folder of the collection named nameOrRuid. NotFound if none; Conflict
// if a name is shared (then the RUID must be used). A name that only a
// folder with an unreadable .meta may carry (idvd's head names it, or does
// not say) is Corruption, naming the folder and why it is unreadable —
// unless damagedOk (recovery), which then returns the folder idvd names.
Result<QString> findCollection(io::Env &env, const QString &dataDir, const QString &nameOrRuid, bool damagedOk = false);
// Creates a collection; AlreadyExists if the name is taken in this data dir.
Result<std::unique_ptr<Collection>> createCollection(io::Env &env, const QString &dataDir, const QString &name,
                                                     const CreateOptions &options = {});

// Whether another collection than the one in folder `except` is named name
// (a damaged one by what idvd's head says): AlreadyExists naming it.
Status checkNameFree(const std::vector<CollectionEntry> &all, const QString &name, const QString &except = {});

// Renames the collection named nameOrRuid to newName (its RUID and folder
// stay): opens it for writing (Busy when someone holds it), sets the name
// and commits — one generation. AlreadyExists when another collection has
// the name, InvalidArgument for a bad one. Returns the renamed entry.
Result<CollectionEntry> renameCollection(io::Env &env, const QString &dataDir, const QString &nameOrRuid, const QString &newName);

// Deletes the collection in folder dir for good, whatever its state (a
// damaged one too). Safe against a crash at any point: with the writer's
// lock on idvd held (Busy when anyone holds it), the folder is renamed to a
// tombstone, collections/.deleted-<folder>, and that rename synced — from
// then on it is no collection (listCollections() never lists a name that
// starts with '.') — then its files are removed. A tombstone a crash left
// is removed by the next delete or create (sweepDeletedCollections()).
Status deleteCollectionAt(io::Env &env, const QString &dataDir, const QString &dir);
// Removes the tombstones of deletes a crash interrupted.
Status sweepDeletedCollections(io::Env &env, const QString &dataDir);
// The folder name prefix of a tombstone.
inline constexpr const char *kDeletedPrefix = ".deleted-";

} // namespace vd::storage
