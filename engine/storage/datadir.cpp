#include "datadir.h"

#include <QDir>
#include <QStandardPaths>

#include <algorithm>

namespace vd::storage {

QString resolveDataDir(const QString &explicitDir)
{
    if (!explicitDir.isEmpty())
        return QDir::cleanPath(QDir::current().absoluteFilePath(explicitDir));
    const QString env = qEnvironmentVariable("VDRIVE_DATA_DIR");
    if (!env.isEmpty())
        return QDir::cleanPath(QDir::current().absoluteFilePath(env));
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + QStringLiteral("/vdrive");
}

QString collectionsDir(const QString &dataDir) { return dataDir + QStringLiteral("/collections"); }

Result<std::vector<CollectionEntry>> listCollections(io::Env &env, const QString &dataDir)
{
    std::vector<CollectionEntry> out;
    const QString root = collectionsDir(dataDir);
    VD_TRY_ASSIGN(const bool there, env.isDirectory(root));
    if (!there)
        return out;
    VD_TRY_ASSIGN(const QStringList names, env.listDir(root));
    for (const QString &name : names) {
        // Tombstones of deleted collections, and anything else hidden, are
        // no collection.
        if (name.startsWith(QLatin1Char('.')))
            continue;
        CollectionEntry e;
        e.folder = name;
        e.path = root + QLatin1Char('/') + name;
        VD_TRY_ASSIGN(const bool isDir, env.isDirectory(e.path));
        if (!isDir)
            continue;
        auto meta = Collection::peekMeta(env, e.path);
        if (meta) {
            e.ruid = meta->ruid;
            e.name = meta->name;
            e.generation = meta->generation;
            e.createdMs = meta->createdMs;
        } else {
            e.status = meta.status();
            if (auto head = Collection::peekHead(env, e.path))
                e.headName = head->name;
        }
        out.push_back(std::move(e));
    }
    return out;
}

Result<QString> findCollection(io::Env &env, const QString &dataDir, const QString &nameOrRuid, bool damagedOk)
{
    if (nameOrRuid.isEmpty())
        return Status::invalidArgument(QStringLiteral("no collection given (use -c NAME or -c RUID)"));
    VD_TRY_ASSIGN(const auto all, listCollections(env, dataDir));
    if (auto ruid = Ruid::parse(nameOrRuid)) {
        for (const CollectionEntry &e : all)
            if (e.folder == ruid->toString())
                return e.path;
    }
    std::vector<const CollectionEntry *> named;
    for (const CollectionEntry &e : all)
        if (e.status.isOk() && e.name == nameOrRuid)
            named.push_back(&e);
    if (named.size() == 1)
        return named.front()->path;
    if (named.size() > 1)
        return Status::conflict(QStringLiteral("%1 collections are named '%2'; name one by its RUID").arg(named.size()).arg(nameOrRuid));
    // Folders whose .meta cannot be read: idvd's head may still name them.
    std::vector<const CollectionEntry *> damaged, unknown;
    for (const CollectionEntry &e : all) {
        if (e.status.isOk())
            continue;
        if (e.headName == nameOrRuid)
            damaged.push_back(&e);
        else if (e.headName.isEmpty())
            unknown.push_back(&e);
    }
    if (damaged.size() > 1)
        return Status::conflict(QStringLiteral("%1 damaged collections are named '%2'; name one by its RUID").arg(damaged.size()).arg(nameOrRuid));
    if (damaged.size() == 1) {
        const CollectionEntry &e = *damaged.front();
        if (damagedOk)
            return e.path;
        return Status::corruption(QStringLiteral("collection '%1' (%2) cannot be opened: %3 (vdrive -c %2 recover rebuilds .meta and .bitmap from idvd)")
                                      .arg(nameOrRuid, e.folder, e.status.message()));
    }
    if (!unknown.empty()) {
        QStringList folders;
        for (const CollectionEntry *e : unknown)
            folders << QStringLiteral("%1 (%2)").arg(e->folder, e->status.message());
        return Status::corruption(QStringLiteral("no readable collection is named '%1' in %2, and these folders cannot be read: %3; if '%1' is one "
                                                 "of them, name it by its RUID")
                                      .arg(nameOrRuid, dataDir, folders.join(QStringLiteral("; "))));
    }
    return Status::notFound(QStringLiteral("no collection '%1' in %2").arg(nameOrRuid, dataDir));
}

Result<std::unique_ptr<Collection>> createCollection(io::Env &env, const QString &dataDir, const QString &name, const CreateOptions &options)
{
    VD_TRY(validateCollectionName(name));
    (void)sweepDeletedCollections(env, dataDir); // only space is at stake
    VD_TRY_ASSIGN(const auto all, listCollections(env, dataDir));
    VD_TRY(checkNameFree(all, name));
    return Collection::create(env, collectionsDir(dataDir), name, options);
}

Status checkNameFree(const std::vector<CollectionEntry> &all, const QString &name, const QString &except)
{
    for (const CollectionEntry &e : all) {
        if (!except.isEmpty() && e.folder == except)
            continue;
        if (e.status.isOk() && e.name == name)
            return Status::alreadyExists(QStringLiteral("a collection named '%1' already exists (%2)").arg(name, e.ruid.toString()));
        if (!e.status.isOk() && e.headName == name)
            return Status::alreadyExists(QStringLiteral("a collection named '%1' already exists (%2, whose .meta is unreadable: vdrive -c %2 recover)")
                                             .arg(name, e.folder));
    }
    return {};
}

Result<CollectionEntry> renameCollection(io::Env &env, const QString &dataDir, const QString &nameOrRuid, const QString &newName)
{
    VD_TRY(validateCollectionName(newName));
    VD_TRY_ASSIGN(const QString dir, findCollection(env, dataDir, nameOrRuid));
    VD_TRY_ASSIGN(const auto all, listCollections(env, dataDir));
    const QString folder = dir.section(QLatin1Char('/'), -1);
    VD_TRY(checkNameFree(all, newName, folder));
    VD_TRY_ASSIGN(auto col, Collection::open(env, dir, Access::ReadWrite));
    VD_TRY(col->setName(newName));
    VD_TRY(col->commit());
    CollectionEntry e;
    e.path = dir;
    e.folder = folder;
    e.ruid = col->ruid();
    e.name = col->name();
    e.generation = col->generation();
    return e;
}

namespace {

// Removes path and, for a folder, everything below it.
Status removeTree(io::Env &env, const QString &path)
{
    VD_TRY_ASSIGN(const bool isDir, env.isDirectory(path));
    if (isDir) {
        VD_TRY_ASSIGN(const QStringList names, env.listDir(path));
        for (const QString &name : names)
            VD_TRY(removeTree(env, path + QLatin1Char('/') + name));
    }
    return env.remove(path);
}

} // namespace

Status deleteCollectionAt(io::Env &env, const QString &dataDir, const QString &dir)
{
    const QString root = collectionsDir(dataDir);
    const QString folder = dir.section(QLatin1Char('/'), -1);
    if (folder.isEmpty() || folder.startsWith(QLatin1Char('.')) || dir != root + QLatin1Char('/') + folder)
        return Status::invalidArgument(QStringLiteral("'%1' is not a collection folder of %2").arg(dir, dataDir));
    (void)sweepDeletedCollections(env, dataDir);
    // The writer's lock: nobody may have the collection open while it goes
    // (a folder without idvd cannot be opened by anyone).
    std::unique_ptr<io::FileLock> lock;
    const QString idvd = dir + QLatin1Char('/') + QLatin1String(Collection::kDataFile);
    VD_TRY_ASSIGN(const bool hasData, env.exists(idvd));
    if (hasData) {
        auto held = env.lock(idvd, io::LockMode::Exclusive);
        if (!held)
            return Status(held.status().code(), QStringLiteral("the collection is in use: %1").arg(held.status().message()));
        lock = std::move(held).value();
    }
    // One rename makes it no collection at all: a crash before it leaves the
    // collection whole, after it a tombstone that nothing lists or opens.
    const QString tombstone = root + QLatin1Char('/') + QLatin1String(kDeletedPrefix) + folder;
    VD_TRY_ASSIGN(const bool stale, env.exists(tombstone));
    if (stale)
        VD_TRY(removeTree(env, tombstone));
    VD_TRY(env.rename(dir, tombstone));
    VD_TRY(env.syncDir(root));
    lock.reset();
    // Deleted now. What is left is space: a failure here (or a sweep by
    // another process meanwhile) is finished by the next sweep.
    (void)removeTree(env, tombstone);
    (void)env.syncDir(root);
    return {};
}

Status sweepDeletedCollections(io::Env &env, const QString &dataDir)
{
    const QString root = collectionsDir(dataDir);
    VD_TRY_ASSIGN(const bool there, env.isDirectory(root));
    if (!there)
        return {};
    VD_TRY_ASSIGN(const QStringList names, env.listDir(root));
    for (const QString &name : names)
        if (name.startsWith(QLatin1String(kDeletedPrefix)))
            VD_TRY(removeTree(env, root + QLatin1Char('/') + name));
    return {};
}

} // namespace vd::storage
