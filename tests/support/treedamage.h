// Damages a drive's tree on purpose, as a bug or a bad disk could, to see
// that fsck names the damage and look-ups cope with it. Raw records are put
// and removed through the collection's public storage API
// (Collection::putRecord/removeRecord), committed, and the drive reopened,
// so nothing it cached remembers the tree as it was. Production code has no
// door for this: a test reaches the tree only as any user of the storage API
// could.
#pragma once

#include "core/status.h"
#include "io/env.h"
#include "storage/collection.h"
#include "tree/drive.h"
#include "tree/vnode.h"

#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace vd::test {

// Raw changes to one collection's working catalog.
class TreeDamage
{
public:
    explicit TreeDamage(storage::Collection &collection) : m_collection(collection) {}
    Status put(QByteArrayView key, QByteArrayView value);
    Status remove(QByteArrayView key);
    // A folder's entry and index record, as any build may have written them.
    Status putFolder(const tree::VNode &n);

private:
    storage::Collection &m_collection;
};

// Commits what `drive` holds, closes it, opens its collection for writing,
// lets damage change it, commits that, and reopens `drive` on it with
// options. On an error `drive` may be left null.
Status damageTree(std::unique_ptr<tree::Drive> &drive, io::Env &env, const std::function<Status(TreeDamage &)> &damage,
                  const tree::DriveOptions &options = {});

// Where the committed catalog's leaves that hold only keys of one keyspace
// lie in idvd: (offset, stored length) of each.
std::vector<std::pair<uint64_t, uint32_t>> leavesOnlyOf(storage::Collection &collection, char keyspace);

// Overwrites `length` bytes of idvd at `offset` with garbage, behind the
// back of whoever has the collection open (a bad disk does no better): the
// collection named nameOrRuid in dataDir. For a running node's collection
// too — the next read of those bytes sees the damage.
Status damageIdvd(const QString &dataDir, const QString &nameOrRuid, uint64_t offset, qsizetype length = 64);

} // namespace vd::test
