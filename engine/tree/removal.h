// Removal: taking nodes out of the live tree — to the trash, or for good —
// and the trash itself: putting a node back, emptying it. A permanent
// removal too large for the room left on the disk commits in batches as it
// goes, between two entries of a folder (where the tree is whole); what is
// left of the node waits in the trash meanwhile, so a failure or a crash
// part way leaves a consistent tree and emptying the trash finishes the
// job. Removing never needs new space: its commits may use the reserve.
//
// Owns nothing: made for one call on the Drive's TreeWriter.
// Thread safety: not thread-safe; the writer's thread only.
#pragma once

#include "ticker.h"
#include "treetypes.h"
#include "vnode.h"

#include "core/status.h"

#include <vector>

namespace vd::tree {

class TreeWriter;

class Removal
{
public:
    // ticker: the progress and cancel of the call (ticker.h); null: none.
    explicit Removal(TreeWriter &writer, Ticker *ticker = nullptr) : m_w(writer), m_ticker(ticker) {}

    // See Drive::remove, restoreFromTrash, emptyTrash.
    Status remove(const QString &path, bool recursive, bool toTrash);
    Result<VNode> restoreFromTrash(const Ruid &id, const QString &to);
    Result<uint64_t> emptyTrash(int64_t deletedBeforeMs);
    Result<uint64_t> deleteFromTrash(const std::vector<Ruid> &ids);

private:
    // Removes these trash entries for good.
    Result<uint64_t> purge(const std::vector<TrashEntry> &entries);
    // A permanent removal that may commit part way.
    struct Batch
    {
        VNode top; // as it hangs now: in its folder, or in the trash
        bool inTrash = false;
        QString originalPath;
        // The folders being emptied (outermost first) and the entries
        // removed from each since the last commit.
        std::vector<std::pair<Ruid, int64_t>> pending;
    };
    // n is `depth` levels deep.
    Status removeInBatches(Batch &b, const VNode &n, int depth);
    Status commitBatch(Batch &b);
    // n, which hangs in its folder, goes to the trash (with its record).
    Result<VNode> moveToTrash(const VNode &n, const QString &originalPath);
    // After an element of a JSON array went, the later ones move up by one.
    Status renumberArray(const VNode &array);

    TreeWriter &m_w;
    Ticker *m_ticker;
};

} // namespace vd::tree
