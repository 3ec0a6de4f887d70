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
};

QString resolveDataDir(const QString &explicitDir);
QString collectionsDir(const QString &dataDir);

// Every folder under collections/, healthy or not, sorted by name.
Result<std::vector<CollectionEntry>> listCollections(io::Env &env, const QString &dataDir);
// The folder of the collection named nameOrRuid. NotFound if none; Conflict
// if a name is shared (then the RUID must be used).
Result<QString> findCollection(io::Env &env, const QString &dataDir, const QString &nameOrRuid);
// Creates a collection; AlreadyExists if the name is taken in this data dir.
Result<std::unique_ptr<Collection>> createCollection(io::Env &env, const QString &dataDir, const QString &name,
                                                     const CreateOptions &options = {});

} // namespace vd::storage
