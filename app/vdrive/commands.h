// The vdrive commands, one function each, thin over the engine API.
#pragma once

#include "cli.h"

namespace vd::cli {

// The collection and its flat objects (commands.cpp).
int cmdInit(Context &ctx);
int cmdCollections(Context &ctx);
int cmdCollectionRename(Context &ctx);
int cmdCollectionDelete(Context &ctx);
int cmdInfo(Context &ctx);
int cmdFsck(Context &ctx);
int cmdRecover(Context &ctx);
int cmdPutObject(Context &ctx);
int cmdGetObject(Context &ctx);
int cmdObjects(Context &ctx);
int cmdRemoveObject(Context &ctx);

// The node (identitycommands.cpp).
int cmdId(Context &ctx);

// The change feed (changecommands.cpp).
int cmdChanges(Context &ctx);

// The tree (treecommands.cpp).
int cmdLs(Context &ctx);
int cmdStat(Context &ctx);
int cmdCat(Context &ctx);
int cmdMkdir(Context &ctx);
int cmdMv(Context &ctx);
int cmdCp(Context &ctx);
int cmdRm(Context &ctx);
int cmdDu(Context &ctx);
int cmdDf(Context &ctx);
int cmdGc(Context &ctx);

// Between the drive and local files (transfer.cpp).
int cmdPut(Context &ctx);
int cmdGet(Context &ctx);

// JSON documents (jsoncommands.cpp).
int cmdJsonImport(Context &ctx);
int cmdJsonGet(Context &ctx);
int cmdJsonSet(Context &ctx);
int cmdJsonDel(Context &ctx);
int cmdJsonExport(Context &ctx);

// Snapshots and the trash (snapshotcommands.cpp).
int cmdSnapshotCreate(Context &ctx);
int cmdSnapshotList(Context &ctx);
int cmdSnapshotDelete(Context &ctx);
int cmdSnapshotDiff(Context &ctx);
int cmdSnapshotRestore(Context &ctx);
int cmdTrashList(Context &ctx);
int cmdTrashRestore(Context &ctx);
int cmdTrashEmpty(Context &ctx);

} // namespace vd::cli
