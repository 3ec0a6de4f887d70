// RemoteChanges: applying another node's changes to the live tree — a VNode
// record with its version vector and content references (apply()), or a
// removal, as the remover's tombstone (applyRemoval()). REPLICATION.md says
// what each comparison does; in short:
//
//   remote vs local          apply()                         applyRemoval()
//   before or equal          nothing (applying twice is too)  the node goes (its tombstone stays)
//   after                    taken: contents, place, version  (local after: kept)
//   concurrent               a conflict (below)               kept: an edit the remover never saw
//   no local node            created, unless its tombstone    a tombstone, merged into any there
//                            is after or equal (stale: loses);
//                            concurrent with it: comes back
//
// A conflict of a file or a JSON value: the version with the larger stamp
// (its largest (counter, node) entry) keeps the name and the id; the other is
// kept beside it as "<name>.sync-conflict-<YYYYMMDD-HHMMSS>-<short id>" (its
// modification time, UTC, and the stamp's node in hex), a node of its own
// whose id is derived from the node's id and the loser's version — so every
// replica makes the same copy — and both take the merged vector. Containers
// have no contents of their own: the larger stamp's place wins, nothing is
// copied. Two concurrent versions that agree on everything but the vector
// merge without a copy.
//
// Places. A remote node's folder must be here (NotFound otherwise: a batch
// is applied folders first). A name another node holds goes to the larger
// stamp; the other gets a conflict name (the local one renamed as a change
// of this node, the remote one placed so). A move that would put a folder
// inside itself is skipped, deterministically: the node keeps its place and
// takes the rest; its version is merged and raised here, so the peer learns
// the outcome. (The move log of Kleppmann et al., which orders concurrent
// moves alike everywhere, is not built yet: REPLICATION.md, "Moves".)
//
// Every change goes through TreeWriter::putNode/eraseNode (so the change
// feed records it, and the tombstones are written at commit like any
// removal's); nothing is committed here. Content references are taken as
// the storage layer's ClusterRecord values and stored as they are.
//
// Owns nothing: made for one call on the Drive's TreeWriter.
// Thread safety: not thread-safe; the writer's thread only.
#pragma once

#include "vnode.h"

#include "core/status.h"
#include "storage/records.h"

#include <optional>
#include <utility>
#include <vector>

namespace vd::tree {

class TreeWriter;

// A VNode as another node sends it: the record (id, parent, name, kind,
// size, times, version, ordinal, JSON value; clusterCount is ignored) and,
// for a file, its cluster records by start offset.
struct RemoteNode
{
    VNode node;
    std::vector<std::pair<uint64_t, storage::ClusterRecord>> clusters;
};

enum class Applied : uint8_t {
    Unchanged, // already had it, or stale (before a tombstone)
    Created,   // a node new here
    Revived,   // a node removed here came back (an edit the remover never saw)
    Updated,   // the remote version was after the local one: taken
    Merged,    // concurrent but the same state: vectors merged
    Conflict,  // concurrent: decided by stamp (copy: the loser's conflict copy)
    Removed,   // removed for good (or a tombstone recorded for a node not here)
    Kept,      // a removal the local node's changes outlive
};
QString appliedName(Applied a);

struct ApplyResult
{
    Applied outcome = Applied::Unchanged;
    std::optional<VNode> node; // the node as it is here now; none when removed or not here
    std::optional<VNode> copy; // Conflict of a file or JSON value: the loser's copy
    bool moveSkipped = false;  // the remote place would have put the node inside itself
};

class RemoteChanges
{
public:
    explicit RemoteChanges(TreeWriter &writer) : m_w(writer) {}

    Result<ApplyResult> apply(const RemoteNode &remote);
    Result<ApplyResult> applyRemoval(const Ruid &id, const Tombstone &tombstone);

    // "<name>.sync-conflict-<YYYYMMDD-HHMMSS>-<node, 16 hex digits>", the
    // name cut (at a character) so the whole fits 255 bytes.
    static QString conflictName(const QString &name, int64_t modifiedMs, uint64_t node);
    // The id of the conflict copy of node id whose losing version is loser:
    // the first 16 bytes of SHA-256("vdrive conflict copy" id loser).
    static Ruid conflictCopyId(const Ruid &id, const VersionVector &loser);

private:
    Status validate(const RemoteNode &remote) const;
    // The node with this id in the live tree (attached or in the trash).
    Result<std::optional<VNode>> findLocal(const Ruid &id);
    // Puts n (new here when old is null, else replacing old) where it says,
    // with clusters for a file; see "Places" above. Returns it as placed.
    Result<VNode> place(VNode n, const std::optional<VNode> &old, const std::vector<std::pair<uint64_t, storage::ClusterRecord>> *clusters,
                        bool *moveSkipped);
    // Whether putting a container under parent would put it inside itself.
    Result<bool> wouldCycle(const Ruid &id, const Ruid &parent);

    TreeWriter &m_w;
};

} // namespace vd::tree
