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
    VD_TRY_ASSIGN(const auto all, listCollections(env, dataDir));
    for (const CollectionEntry &e : all) {
        if (e.status.isOk() && e.name == name)
            return Status::alreadyExists(QStringLiteral("a collection named '%1' already exists (%2)").arg(name, e.ruid.toString()));
        if (!e.status.isOk() && e.headName == name)
            return Status::alreadyExists(QStringLiteral("a collection named '%1' already exists (%2, whose .meta is unreadable: vdrive -c %2 recover)")
                                             .arg(name, e.folder));
    }
    return Collection::create(env, collectionsDir(dataDir), name, options);
}

} // namespace vd::storage
