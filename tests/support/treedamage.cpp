#include "treedamage.h"
#include "testsupport.h"

#include "storage/catalogreader.h"
#include "storage/datadir.h"

#include <QFile>

#include <algorithm>

namespace vd::test {

Status TreeDamage::put(QByteArrayView key, QByteArrayView value)
{
    return m_collection.putRecord(key, value);
}

Status TreeDamage::remove(QByteArrayView key)
{
    return m_collection.removeRecord(key).status();
}

Status TreeDamage::putFolder(const tree::VNode &n)
{
    VD_TRY(put(tree::keys::entry(n.parent, n.name), n.encode()));
    return put(tree::keys::index(n.id), tree::IndexRecord{n.parent, n.name, n.version}.encode());
}

Status damageTree(std::unique_ptr<tree::Drive> &drive, io::Env &env, const std::function<Status(TreeDamage &)> &damage,
                  const tree::DriveOptions &options)
{
    VD_TRY(drive->commit());
    const QString dir = drive->collection().path();
    drive.reset();
    VD_TRY_ASSIGN(auto collection, storage::Collection::open(env, dir, storage::Access::ReadWrite));
    TreeDamage surgeon(*collection);
    VD_TRY(damage(surgeon));
    VD_TRY(collection->commit());
    VD_TRY_ASSIGN(drive, tree::Drive::attach(std::move(collection), vd::test::testDrive(options)));
    return {};
}

std::vector<std::pair<uint64_t, uint32_t>> leavesOnlyOf(storage::Collection &collection, char keyspace)
{
    storage::CatalogReader &cat = collection.catalog();
    std::vector<storage::PageRef> leaves;
    std::vector<std::pair<uint64_t, uint32_t>> out;
    if (!cat.leavesInRange(collection.committedRoot(), QByteArray(1, keyspace), QByteArray(1, char(keyspace + 1)), &leaves))
        return out;
    for (const storage::PageRef &ref : leaves) {
        auto page = cat.readStored(ref);
        if (page && std::all_of(page->keys.begin(), page->keys.end(), [&](const QByteArray &k) { return k.startsWith(keyspace); }))
            out.emplace_back(ref.blockOffset + ref.slot.offset, ref.slot.storedLength);
    }
    return out;
}

Status damageIdvd(const QString &dataDir, const QString &nameOrRuid, uint64_t offset, qsizetype length)
{
    VD_TRY_ASSIGN(const QString dir, storage::findCollection(*io::Env::posix(), dataDir, nameOrRuid));
    QFile idvd(dir + QStringLiteral("/idvd"));
    if (!idvd.open(QIODevice::ReadWrite) || !idvd.seek(qint64(offset)))
        return Status::ioError(QStringLiteral("cannot open %1 to damage it").arg(idvd.fileName()));
    QByteArray old = idvd.read(length);
    for (char &c : old)
        c = char(~c); // every bit differs: no checksum survives it
    if (!idvd.seek(qint64(offset)) || idvd.write(old) != length || !idvd.flush())
        return Status::ioError(QStringLiteral("cannot damage %1").arg(idvd.fileName()));
    return {};
}

} // namespace vd::test
