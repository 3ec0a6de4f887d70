#include "remotechanges.h"

#include "changefeed.h"
#include "jsoncodec.h"
#include "tombstones.h"
#include "treewriter.h"

#include "core/hash.h"

#include "storage/catalogreader.h"
#include "storage/collection.h"

#include <QDateTime>

namespace vd::tree {

namespace {

using Ordering = VersionVector::Ordering;
using Clusters = std::vector<std::pair<uint64_t, storage::ClusterRecord>>;

bool beforeOrEqual(Ordering o)
{
    return o == Ordering::Before || o == Ordering::Equal;
}

} // namespace

QString appliedName(Applied a)
{
    switch (a) {
    case Applied::Unchanged:
        return QStringLiteral("unchanged");
    case Applied::Created:
        return QStringLiteral("created");
    case Applied::Revived:
        return QStringLiteral("revived");
    case Applied::Updated:
        return QStringLiteral("updated");
    case Applied::Merged:
        return QStringLiteral("merged");
    case Applied::Conflict:
        return QStringLiteral("conflict");
    case Applied::Removed:
        return QStringLiteral("removed");
    case Applied::Kept:
        return QStringLiteral("kept");
    }
    return QStringLiteral("unknown");
}

QString RemoteChanges::conflictName(const QString &name, int64_t modifiedMs, uint64_t node)
{
    const QString suffix = QStringLiteral(".sync-conflict-%1-%2")
                               .arg(QDateTime::fromMSecsSinceEpoch(modifiedMs, Qt::UTC).toString(QStringLiteral("yyyyMMdd-HHmmss")))
                               .arg(node, 16, 16, QLatin1Char('0'));
    QString base = name;
    while (!base.isEmpty() && (base + suffix).toUtf8().size() > VNode::kMaxNameBytes) {
        base.chop(1);
        if (!base.isEmpty() && base.back().isHighSurrogate())
            base.chop(1);
    }
    return base + suffix;
}

Ruid RemoteChanges::conflictCopyId(const Ruid &id, const VersionVector &loser)
{
    Sha256 h;
    h.add(QByteArrayLiteral("vdrive conflict copy"));
    h.add(id.view());
    h.add(loser.encode());
    return Ruid::fromView(h.finish().view().first(16));
}

Status RemoteChanges::validate(const RemoteNode &remote) const
{
    const VNode &n = remote.node;
    auto refuse = [&](const QString &why) { return Status::invalidArgument(QStringLiteral("remote node %1: %2").arg(n.id.toString(), why)); };
    if (n.id.isNull() || n.id == rootId() || n.id == trashId())
        return refuse(QStringLiteral("the root, the trash and the null id are not replicated"));
    if (n.parent.isNull() || n.parent == n.id)
        return refuse(QStringLiteral("no parent, or itself as parent"));
    if (uint8_t(n.kind) < uint8_t(Kind::Directory) || uint8_t(n.kind) > uint8_t(Kind::JsonValue))
        return refuse(QStringLiteral("an unknown kind"));
    if (n.parent != trashId())
        VD_TRY(validateName(n.name));
    else if (n.name != n.id.toString())
        return refuse(QStringLiteral("a node in the trash is named by its id"));
    if (n.version.isEmpty())
        return refuse(QStringLiteral("no version"));
    if (n.value.size() > VNode::kMaxInlineValue || (n.kind != Kind::JsonValue && !n.value.isEmpty()))
        return refuse(QStringLiteral("a value where none belongs, or too long"));
    if (n.kind == Kind::JsonValue && n.size != uint64_t(n.value.size()))
        return refuse(QStringLiteral("a JSON value whose size is not its literal's"));
    if (n.kind == Kind::JsonValue) {
        auto canonical = canonicalScalar(n.value);
        if (!canonical || *canonical != n.value)
            return refuse(QStringLiteral("a JSON value that is not one canonical JSON literal"));
    }
    if (n.kind != Kind::File && !remote.clusters.empty())
        return refuse(QStringLiteral("clusters for a %1").arg(kindName(n.kind)));
    uint64_t expected = 0;
    for (const auto &[start, c] : remote.clusters) {
        if (start != expected || c.pieces.empty() || c.pieces.size() > size_t(storage::ClusterRecord::kMaxPieces))
            return refuse(QStringLiteral("clusters that do not follow one another from 0"));
        expected += c.length();
    }
    if (remote.clusters.size() > UINT32_MAX || (n.kind == Kind::File && expected != n.size))
        return refuse(QStringLiteral("clusters holding %1 bytes for a size of %2").arg(expected).arg(n.size));
    return {};
}

Result<std::optional<VNode>> RemoteChanges::findLocal(const Ruid &id)
{
    storage::CatalogReader &cat = m_w.collection().catalog();
    VD_TRY_ASSIGN(const auto raw, cat.get(keys::index(id)));
    if (!raw)
        return std::optional<VNode>();
    VD_TRY_ASSIGN(const IndexRecord idx, IndexRecord::decode(*raw));
    VD_TRY_ASSIGN(const auto entry, cat.get(keys::entry(idx.parent, idx.name)));
    if (!entry)
        return Status::corruption(QStringLiteral("node %1 is indexed but has no entry (run fsck)").arg(id.toString()));
    VD_TRY_ASSIGN(VNode n, VNode::decode(*entry, idx.parent, idx.name));
    if (n.id != id)
        return Status::corruption(QStringLiteral("the index of node %1 names another node's entry (run fsck)").arg(id.toString()));
    return std::optional<VNode>(std::move(n));
}

Result<bool> RemoteChanges::wouldCycle(const Ruid &id, const Ruid &parent)
{
    Ruid cur = parent;
    for (int steps = 0; !cur.isNull() && cur != rootId() && cur != trashId(); ++steps) {
        if (cur == id)
            return true;
        if (steps == VNode::kMaxDepth)
            return Status::corruption(QStringLiteral("the parents of %1 form a cycle or go more than %2 levels up (run fsck)").arg(parent.toString()).arg(VNode::kMaxDepth));
        VD_TRY_ASSIGN(const auto raw, m_w.collection().catalog().get(keys::index(cur)));
        if (!raw)
            break;
        VD_TRY_ASSIGN(const IndexRecord idx, IndexRecord::decode(*raw));
        cur = idx.parent;
    }
    return false;
}

Result<VNode> RemoteChanges::place(VNode n, const std::optional<VNode> &old, const Clusters *clusters, bool *moveSkipped)
{
    storage::Collection &col = m_w.collection();
    const bool moving = !old || old->parent != n.parent || old->name != n.name;
    if (moving && old && n.isContainer()) {
        VD_TRY_ASSIGN(const bool cycle, wouldCycle(n.id, n.parent));
        if (cycle) {
            // Skipped alike everywhere: the node stays, the rest is taken.
            n.parent = old->parent;
            n.name = old->name;
            *moveSkipped = true;
        }
    }
    const bool moves = !old || old->parent != n.parent || old->name != n.name;
    if (moves) {
        VD_TRY_ASSIGN(const auto parent, findLocal(n.parent));
        if (!parent || !parent->isContainer())
            return Status::notFound(QStringLiteral("the folder %1 of remote node %2 is not here: apply it first").arg(n.parent.toString(), n.id.toString()));
        if (isJson(parent->kind) != isJson(n.kind) && parent->kind != Kind::Directory)
            return Status::invalidArgument(QStringLiteral("a %1 cannot go inside a %2").arg(kindName(n.kind), kindName(parent->kind)));
        // A name another node holds: the larger stamp keeps it.
        VD_TRY_ASSIGN(auto holder, m_w.live().lookupEntry(n.parent, n.name));
        if (holder && holder->id != n.id) {
            if (stampOf(holder->version) > stampOf(n.version)) {
                n.name = conflictName(n.name, n.modifiedMs, stampOf(n.version).node);
                VD_TRY_ASSIGN(auto again, m_w.live().lookupEntry(n.parent, n.name));
                if (again && again->id != n.id)
                    return Status::conflict(QStringLiteral("both %1 and its conflict name are taken").arg(n.name));
            } else {
                VNode renamed = *holder;
                VD_TRY(m_w.eraseNode(*holder));
                renamed.name = conflictName(holder->name, holder->modifiedMs, stampOf(holder->version).node);
                VD_TRY_ASSIGN(auto again, m_w.live().lookupEntry(renamed.parent, renamed.name));
                if (again)
                    return Status::conflict(QStringLiteral("both %1 and its conflict name are taken").arg(holder->name));
                VD_TRY_ASSIGN(renamed.version, m_w.nextVersion(renamed.version));
                VD_TRY(m_w.putNode(renamed));
            }
        }
    }
    // Contents and counters.
    if (old && (old->kind == Kind::File || old->kind == Kind::JsonValue))
        col.subtractFileBytes(old->size);
    if (n.kind == Kind::File && clusters) {
        VD_TRY(col.adoptData(n.id, *clusters));
        n.clusterCount = uint32_t(clusters->size());
    }
    if (n.kind == Kind::File || n.kind == Kind::JsonValue)
        col.addFileBytes(n.size);
    if (n.isContainer()) {
        VD_TRY_ASSIGN(const auto kids, old ? m_w.live().children(*old) : Result<std::vector<VNode>>(std::vector<VNode>()));
        n.size = kids.size(); // entries here, whatever the peer has
    }
    if (!old) {
        VD_TRY(m_w.putNode(n, TreeWriter::PutMode::New));
        m_w.collection().addVnodes(1);
        VD_TRY(m_w.touchParent(n.parent, +1));
    } else if (moves) {
        VD_TRY(m_w.eraseNode(*old));
        m_w.invalidate(*old);
        VD_TRY(m_w.putNode(n));
        if (old->parent != n.parent) {
            VD_TRY(m_w.touchParent(old->parent, -1));
            VD_TRY(m_w.touchParent(n.parent, +1));
        }
    } else {
        VD_TRY(m_w.putNode(n));
    }
    // In and out of the trash.
    if (old && old->parent == trashId() && n.parent != trashId())
        VD_TRY(m_w.removeTrashRecord(n.id));
    if (n.parent == trashId() && (!old || old->parent != trashId())) {
        TrashRecord rec;
        rec.originalParent = old ? old->parent : rootId();
        rec.originalName = old ? old->name : n.id.toString();
        auto path = old ? m_w.live().pathOf(old->id) : Result<QString>(QString());
        rec.originalPath = path && !path->isEmpty() ? *path : QLatin1Char('/') + rec.originalName;
        rec.deletedMs = TreeWriter::nowMs();
        if (rec.originalParent == trashId()) {
            rec.originalParent = rootId();
            rec.originalPath = QLatin1Char('/') + rec.originalName;
        }
        VD_TRY(m_w.putTrashRecord(n.id, rec));
    }
    return n;
}

Result<ApplyResult> RemoteChanges::apply(const RemoteNode &remote)
{
    storage::Collection &col = m_w.collection();
    VD_TRY(col.checkWritable());
    VD_TRY(validate(remote));
    const VNode &r = remote.node;
    VD_TRY_ASSIGN(const auto local, findLocal(r.id));
    if (local && local->kind != r.kind)
        return Status::invalidArgument(QStringLiteral("remote node %1 is a %2, here a %3").arg(r.id.toString(), kindName(r.kind), kindName(local->kind)));
    ApplyResult out;
    if (!local) {
        VD_TRY_ASSIGN(const auto tomb, Tombstones::find(col.catalog(), r.id));
        VNode n = r;
        out.outcome = Applied::Created;
        if (tomb) {
            const Ordering o = r.version.compare(tomb->version);
            if (beforeOrEqual(o))
                return ApplyResult{}; // stale: the removal wins
            if (o == Ordering::Concurrent) {
                VD_TRY_ASSIGN(n.version, VersionVector::merge(r.version, tomb->version));
            }
            out.outcome = Applied::Revived;
        }
        return m_w.guard([&]() -> Result<ApplyResult> {
            if (tomb)
                VD_TRY(m_w.tombstones().remove(r.id));
            col.raiseVersionCounter(stampOf(n.version).counter);
            VD_TRY_ASSIGN(out.node, place(n, std::nullopt, &remote.clusters, &out.moveSkipped));
            return out;
        }());
    }
    const Ordering o = r.version.compare(local->version);
    if (beforeOrEqual(o))
        return out; // already have it
    if (o == Ordering::After) {
        return m_w.guard([&]() -> Result<ApplyResult> {
            col.raiseVersionCounter(stampOf(r.version).counter);
            VNode n = r;
            VD_TRY_ASSIGN(VNode placed, place(n, local, &remote.clusters, &out.moveSkipped));
            if (out.moveSkipped) {
                // The peer learns where the node stayed.
                VD_TRY_ASSIGN(placed.version, m_w.nextVersion(placed.version));
                VD_TRY(m_w.putNode(placed));
            }
            out.outcome = Applied::Updated;
            out.node = placed;
            return out;
        }());
    }
    // Concurrent.
    VD_TRY_ASSIGN(const VersionVector merged, VersionVector::merge(local->version, r.version));
    QByteArray localContent;
    if (r.kind == Kind::File) {
        VD_TRY_ASSIGN(localContent, ChangeFeed::contentId(col.catalog(), *local));
    }
    const bool same = local->parent == r.parent && local->name == r.name && local->size == r.size && local->value == r.value
        && local->ordinal == r.ordinal && (r.kind != Kind::File || localContent == ChangeFeed::contentIdOf(remote.clusters));
    const bool remoteWins = stampOf(r.version) > stampOf(local->version);
    return m_w.guard([&]() -> Result<ApplyResult> {
        col.raiseVersionCounter(stampOf(merged).counter);
        if (same || r.isContainer()) {
            // No contents to keep apart: one state, the winner's place.
            VNode n = remoteWins ? r : *local;
            n.version = merged;
            VD_TRY_ASSIGN(VNode placed, place(n, local, remoteWins ? &remote.clusters : nullptr, &out.moveSkipped));
            if (out.moveSkipped) {
                VD_TRY_ASSIGN(placed.version, m_w.nextVersion(placed.version));
                VD_TRY(m_w.putNode(placed));
            }
            out.outcome = same ? Applied::Merged : Applied::Conflict;
            out.node = placed;
            return out;
        }
        // A file or a JSON value edited on both sides: both kept.
        const VNode &loser = remoteWins ? *local : r;
        VNode copy = loser;
        copy.id = conflictCopyId(r.id, loser.version);
        copy.version = merged;
        VD_TRY_ASSIGN(const auto existing, findLocal(copy.id));
        if (existing)
            return Status::conflict(QStringLiteral("the conflict copy %1 of %2 exists already").arg(copy.id.toString(), r.id.toString()));
        // Beside the winner (out of the trash if it is there).
        const VNode &winner = remoteWins ? r : *local;
        copy.parent = winner.parent != trashId() ? winner.parent : (loser.parent != trashId() ? loser.parent : rootId());
        copy.name = conflictName(loser.name == loser.id.toString() ? winner.name : loser.name, loser.modifiedMs, stampOf(loser.version).node);
        if (copy.parent == rootId() && winner.parent == trashId() && loser.parent == trashId())
            copy.name = conflictName(loser.id.toString(), loser.modifiedMs, stampOf(loser.version).node);
        VNode node;
        if (remoteWins) {
            // The local contents go to the copy first.
            if (copy.kind == Kind::File)
                VD_TRY(col.copyData(col.catalog(), local->id, copy.id));
            VNode n = r;
            n.version = merged;
            VD_TRY_ASSIGN(node, place(n, local, &remote.clusters, &out.moveSkipped));
            VD_TRY_ASSIGN(copy, place(copy, std::nullopt, nullptr, &out.moveSkipped));
        } else {
            VNode n = *local;
            n.version = merged;
            VD_TRY(m_w.putNode(n));
            node = n;
            VD_TRY_ASSIGN(copy, place(copy, std::nullopt, &remote.clusters, &out.moveSkipped));
        }
        out.outcome = Applied::Conflict;
        out.node = node;
        out.copy = copy;
        return out;
    }());
}

Result<ApplyResult> RemoteChanges::applyRemoval(const Ruid &id, const Tombstone &tombstone)
{
    storage::Collection &col = m_w.collection();
    VD_TRY(col.checkWritable());
    if (id.isNull() || id == rootId() || id == trashId())
        return Status::invalidArgument(QStringLiteral("the root, the trash and the null id are not removed"));
    if (tombstone.version.isEmpty())
        return Status::invalidArgument(QStringLiteral("a removal of %1 without a version").arg(id.toString()));
    VD_TRY_ASSIGN(const auto local, findLocal(id));
    ApplyResult out;
    if (!local) {
        // Not here: the tombstone is kept, so a stale update loses here too.
        VD_TRY_ASSIGN(const auto existing, Tombstones::find(col.catalog(), id));
        Tombstone t = tombstone;
        if (existing) {
            VD_TRY_ASSIGN(t.version, VersionVector::merge(existing->version, tombstone.version));
            if (t.version == existing->version)
                return out;
            t.parent = existing->parent;
            t.removedMs = existing->removedMs;
        }
        return m_w.guard([&]() -> Result<ApplyResult> {
            col.raiseVersionCounter(stampOf(t.version).counter);
            VD_TRY(m_w.tombstones().put(id, t));
            out.outcome = Applied::Removed;
            return out;
        }());
    }
    const Ordering o = local->version.compare(tombstone.version);
    if (!beforeOrEqual(o)) {
        out.outcome = Applied::Kept; // changed here after or beside the removal: it stays
        out.node = local;
        return out;
    }
    VD_TRY_ASSIGN(const auto kids, m_w.live().children(*local));
    return m_w.guard([&]() -> Result<ApplyResult> {
        col.raiseVersionCounter(stampOf(tombstone.version).counter);
        if (!kids.empty()) {
            // Entries the remover did not remove (made here meanwhile): the
            // folder stays, and its version follows the removal, so the
            // remover takes it back.
            VNode n = *local;
            VD_TRY_ASSIGN(n.version, VersionVector::merge(n.version, tombstone.version));
            VD_TRY_ASSIGN(n.version, m_w.nextVersion(n.version));
            VD_TRY(m_w.putNode(n));
            out.outcome = Applied::Kept;
            out.node = n;
            return out;
        }
        if (local->kind == Kind::File)
            VD_TRY(col.releaseData(local->id));
        m_w.countRemoved(*local);
        m_w.feed().noteRemovalVersion(id, tombstone.version);
        VD_TRY(m_w.eraseNode(*local));
        VD_TRY(m_w.touchParent(local->parent, -1));
        if (local->parent == trashId())
            VD_TRY(m_w.removeTrashRecord(id));
        out.outcome = Applied::Removed;
        return out;
    }());
}

} // namespace vd::tree
