// BlockOwners: which files use each block of idvd — the expensive half of
// the explorer's block map (the cheap half, every block's kind and fill,
// is storage/allocationmap.h, read off the allocator and the records).
//
// Made by walking the cluster records ('C') of the live tree and then of
// each snapshot's: every piece's content is looked up in the location map
// (the generation's), a packed one leads to its SmallBlock. A cluster
// version a snapshot shares with a tree walked before is not walked again:
// a live version born at or before a snapshot's generation is in that
// snapshot (versions never change), which is how a shared block is known to
// be held by a snapshot too without a second look.
// A block the live tree uses lists live files; one only snapshots use is
// "held by a snapshot" and lists the snapshots' files. Paths are resolved
// once per file, after the walk. What is unreferenced (gc's to free, or in
// limbo for a reader) is simply absent.
//
// Bounded for a large drive: a block lists at most kMaxListed files (a
// SmallBlock may hold thousands) and counts the rest, so the list is at
// most that many entries per block however many files there are. Each live
// file lists the blocks it uses instead (one entry per file and block).
//
// Thread-safety: plain values; the walk runs on the thread of the Drive
// that makes it (a reader's Drive on the node's reader pool).
#pragma once

#include "ticker.h"
#include "treetypes.h"

#include "core/ruid.h"
#include "core/status.h"

#include <QString>

#include <vector>

namespace vd::tree {

class Views;

struct BlockOwner
{
    Ruid id;
    // Where it is, in the live tree or in `snapshot`; empty when it hangs in
    // no tree (in the trash, or an object of the flat namespace).
    QString path;
    QString snapshot; // empty: the live tree
    // A live file: the offsets of every block it uses, increasing — what a
    // selection highlights (a block lists at most kMaxListed files; a
    // SmallBlock may hold thousands). Empty for a snapshot's file.
    std::vector<uint64_t> blocks;
};

struct BlockUsers
{
    uint64_t offset = 0; // the block's offset in idvd
    bool live = false; // the live tree references it
    bool inSnapshot = false; // some snapshot's tree references it
    // The newest generation that wrote a cluster version referencing it:
    // the version of the bytes it holds.
    uint64_t birth = 0;
    uint32_t fileCount = 0; // distinct files that use it (live ones when live)
    std::vector<uint32_t> files; // indexes into BlockOwners::files, at most kMaxListed
};

struct BlockOwners
{
    static constexpr uint32_t kMaxListed = 16;
    uint64_t generation = 0;
    std::vector<BlockOwner> files;
    std::vector<BlockUsers> blocks; // in offset order
};

// The walk described above, over views (the live tree and the snapshots
// named, with their generations). ticker counts cluster records and paths;
// null: none.
Result<BlockOwners> findBlockOwners(Views &views, const std::vector<std::pair<QString, uint64_t>> &snapshots, Ticker *ticker);

} // namespace vd::tree
