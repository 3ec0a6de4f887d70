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
        }
        out.push_back(std::move(e));
    }
    return out;
}

Result<QString> findCollection(io::Env &env, const QString &dataDir, const QString &nameOrRuid)
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
    return Status::notFound(QStringLiteral("no collection '%1' in %2").arg(nameOrRuid, dataDir));
}

Result<std::unique_ptr<Collection>> createCollection(io::Env &env, const QString &dataDir, const QString &name, const CreateOptions &options)
{
    VD_TRY(validateCollectionName(name));
    VD_TRY_ASSIGN(const auto all, listCollections(env, dataDir));
    for (const CollectionEntry &e : all)
        if (e.status.isOk() && e.name == name)
            return Status::alreadyExists(QStringLiteral("a collection named '%1' already exists (%2)").arg(name, e.ruid.toString()));
    return Collection::create(env, collectionsDir(dataDir), name, options);
}

} // namespace vd::storage
