#include "changefeed.h"

#include "core/bytes.h"
#include "core/hash.h"

#include "storage/catalogreader.h"
#include "storage/collection.h"

#include <QDateTime>

#include <algorithm>

namespace vd::tree {

ChangeFeed::ChangeFeed(storage::Collection &collection) : m_col(collection) {}

void ChangeFeed::touch(const Ruid &id, bool created, qsizetype versionBytes)
{
    auto [it, added] = m_touched.try_emplace(id, Touched{created, versionBytes});
    if (added)
        m_order.push_back(id);
    else
        it->second.versionBytes = std::max(it->second.versionBytes, versionBytes);
}

void ChangeFeed::noteSnapshot(ChangeOp op, const QString &name)
{
    m_snapshots.emplace_back(op, name);
}

uint64_t ChangeFeed::pendingBytes() const
{
    // The largest record but its version: both sides with 255-byte names
    // and content ids, an empty vector.
    constexpr uint64_t kLargest = 681;
    // A removal's version: the node's with one more entry (at most 8 + 9 bytes).
    constexpr uint64_t kRemovalEntry = 17;
    // Its tombstone (key 17, record 25 plus the version) and the count's.
    constexpr uint64_t kTombstone = 17 + 25 + 10;
    uint64_t total = uint64_t(m_snapshots.size()) * kLargest;
    for (const auto &[id, t] : m_touched)
        total += kLargest + kTombstone + 2 * (uint64_t(t.versionBytes) + kRemovalEntry);
    return total;
}

void ChangeFeed::noteRemovalVersion(const Ruid &id, const VersionVector &version)
{
    m_removalVersions[id] = version;
}

void ChangeFeed::forget()
{
    m_order.clear();
    m_touched.clear();
    m_removalVersions.clear();
    m_snapshots.clear();
}

Result<QByteArray> ChangeFeed::contentId(storage::CatalogReader &catalog, const VNode &n)
{
    if (n.kind == Kind::JsonValue)
        return sha256(n.value).view().toByteArray();
    if (n.kind != Kind::File)
        return QByteArray();
    Clusters clusters;
    VD_TRY(storage::Collection::forEachCluster(catalog, n.id, [&](uint64_t start, const storage::ClusterRecord &c) -> Status {
        clusters.emplace_back(start, c);
        return {};
    }));
    return contentIdOf(clusters);
}

QByteArray ChangeFeed::contentIdOf(const Clusters &clusters)
{
    Sha256 h;
    for (const auto &[start, c] : clusters) {
        QByteArray buf;
        ByteWriter w(&buf);
        w.u64(start);
        for (const storage::Piece &p : c.pieces) {
            w.u8(uint8_t(p.kind));
            w.u32(p.length);
            if (p.kind == storage::Piece::Kind::Block)
                w.bytes(p.hash.view());
            else if (p.kind == storage::Piece::Kind::Slot)
                w.bytes(p.slot.rawHash.view());
            else if (p.kind == storage::Piece::Kind::Content)
                w.bytes(p.name.view());
        }
        h.add(buf);
    }
    return h.finish().view().toByteArray();
}

Result<std::optional<ChangeFeed::Found>> ChangeFeed::find(storage::CatalogReader &catalog, const Ruid &id)
{
    VD_TRY_ASSIGN(const auto raw, catalog.get(keys::index(id)));
    if (!raw)
        return std::optional<Found>();
    VD_TRY_ASSIGN(const IndexRecord idx, IndexRecord::decode(*raw));
    VD_TRY_ASSIGN(const auto entry, catalog.get(keys::entry(idx.parent, idx.name)));
    if (!entry)
        return std::optional<Found>(); // damage fsck reports: no node to describe
    VD_TRY_ASSIGN(VNode n, VNode::decode(*entry, idx.parent, idx.name));
    if (n.id != id)
        return std::optional<Found>();
    VD_TRY_ASSIGN(QByteArray content, contentId(catalog, n));
    return std::optional<Found>(Found{std::move(n), std::move(content)});
}

namespace {
ChangeSide sideOf(const VNode &n, const QByteArray &content)
{
    return ChangeSide{n.parent, n.name, n.kind, n.size, n.modifiedMs, content};
}
} // namespace

Status ChangeFeed::write(Removed *removed)
{
    if (m_order.empty() && m_snapshots.empty())
        return {};
    const uint64_t generation = m_col.generation() + 1;
    const int64_t now = QDateTime::currentMSecsSinceEpoch();
    std::unique_ptr<storage::CatalogReader> committed;
    uint64_t written = 0;
    auto put = [&](const ChangeRecord &c) -> Status {
        ++written;
        return m_col.putRecord(keys::change(m_col.takeChangeSequence()), c.encode());
    };
    for (const Ruid &id : m_order) {
        std::optional<Found> before;
        if (!m_touched.at(id).created) {
            if (!committed) {
                VD_TRY_ASSIGN(committed, m_col.committedCatalog());
            }
            VD_TRY_ASSIGN(before, find(*committed, id));
        }
        VD_TRY_ASSIGN(const auto after, find(m_col.catalog(), id));
        if (!before && !after)
            continue; // made and removed again in one transaction
        if (before && after && before->node.parent == after->node.parent && before->node.name == after->node.name
            && before->content == after->content && before->node.encode() == after->node.encode())
            continue; // put back as it was
        ChangeRecord c;
        c.generation = generation;
        c.id = id;
        c.timeMs = now;
        if (before)
            c.before = sideOf(before->node, before->content);
        if (after) {
            c.after = sideOf(after->node, after->content);
            c.version = after->node.version;
        } else if (const auto given = m_removalVersions.find(id); given != m_removalVersions.end()) {
            c.version = given->second;
        } else {
            // Removed: the remover's change of the version it removed.
            if (m_node == 0)
                return Status::invalidArgument(QStringLiteral("changes need the node's identity (its short id) to version them"));
            c.version = before->node.version;
            VD_TRY(c.version.increment(m_node, m_col.takeVersion()));
        }
        if (!after && removed)
            removed->emplace_back(id, Tombstone{before->node.parent, now, c.version});
        if (!before)
            c.op = ChangeOp::Create;
        else if (!after)
            c.op = ChangeOp::Remove;
        else if (c.before->parent != c.after->parent || c.before->name != c.after->name)
            c.op = ChangeOp::Move;
        else
            c.op = ChangeOp::Modify;
        VD_TRY(put(c));
    }
    for (const auto &[op, name] : m_snapshots) {
        ChangeRecord c;
        c.generation = generation;
        c.op = op;
        c.timeMs = now;
        c.snapshot = name;
        VD_TRY(put(c));
    }
    forget();
    return trim(written);
}

Status ChangeFeed::trim(uint64_t written)
{
    const uint64_t next = m_col.nextChange();
    const uint64_t first = m_col.firstChange();
    // Must go: what passes the bound. May go: what every consumer has read,
    // past the newest `keep`.
    const uint64_t floor = next > m_limits.maxKept ? next - m_limits.maxKept : 1;
    uint64_t target = next > m_limits.keep ? next - m_limits.keep : 1;
    VD_TRY_ASSIGN(const auto readers, consumers(m_col.catalog()));
    for (const ConsumerInfo &c : readers)
        target = std::min(target, c.next);
    uint64_t newFirst = std::max({floor, target, first});
    newFirst = std::min(newFirst, first + m_limits.trimBatch + 2 * written);
    while (m_col.firstChange() < newFirst) {
        VD_TRY(m_col.removeRecord(keys::change(m_col.firstChange())).status());
        m_col.dropOldestChange();
    }
    return {};
}

Status ChangeFeed::upgrade()
{
    const uint64_t next = m_col.nextChange();
    if (m_col.firstChange() >= next)
        return {};
    // An earlier build's records come first (a collection it made), or
    // last (it wrote after this build did): then none after them is of any
    // use without them either. Drop up to the last of them.
    VD_TRY_ASSIGN(const auto last, m_col.catalog().get(keys::change(next - 1)));
    const bool all = last && ChangeRecord::formatOf(*last) == 1;
    for (;;) {
        const uint64_t first = m_col.firstChange();
        if (first >= next)
            return {};
        VD_TRY_ASSIGN(const auto raw, m_col.catalog().get(keys::change(first)));
        if (!all && raw && ChangeRecord::formatOf(*raw) != 1)
            return {};
        if (raw)
            VD_TRY(m_col.removeRecord(keys::change(first)).status());
        m_col.dropOldestChange();
    }
}

Result<std::vector<ChangeRecord>> ChangeFeed::read(storage::CatalogReader &catalog, uint64_t first, uint64_t from, size_t limit)
{
    from = std::max<uint64_t>(from, 1);
    if (from < first)
        return Status::resync(QStringLiteral("the change feed no longer holds sequence %1 (it keeps %2 on): list the tree again, then read on from the feed's end")
                                  .arg(from)
                                  .arg(first));
    std::vector<ChangeRecord> out;
    if (limit == 0)
        return out;
    Status inner;
    uint64_t expect = from;
    VD_TRY(catalog.scan(keys::change(from), QByteArray(1, keys::kChange + 1), [&](QByteArrayView key, QByteArrayView value) {
        uint64_t seq = 0;
        if (!keys::parseChangeKey(key, &seq)) {
            inner = Status::corruption(QStringLiteral("malformed change key"));
            return false;
        }
        if (seq != expect) {
            inner = Status::corruption(QStringLiteral("the change feed has no record %1 (the next is %2)").arg(expect).arg(seq));
            return false;
        }
        ++expect;
        auto c = ChangeRecord::decode(value, seq);
        if (!c) {
            inner = c.status();
            return false;
        }
        out.push_back(std::move(c).value());
        return out.size() < limit;
    }));
    VD_TRY(inner);
    return out;
}

Result<ConsumerInfo> ChangeFeed::consumer(storage::CatalogReader &catalog, const QString &name)
{
    VD_TRY(validateName(name).withContext(QStringLiteral("consumer name")));
    VD_TRY_ASSIGN(const auto raw, catalog.get(keys::consumer(name)));
    if (!raw)
        return Status::notFound(QStringLiteral("no consumer '%1' is registered").arg(name));
    VD_TRY_ASSIGN(const ConsumerRecord rec, ConsumerRecord::decode(*raw));
    return ConsumerInfo{name, rec.next, rec.updatedMs};
}

Result<std::vector<ConsumerInfo>> ChangeFeed::consumers(storage::CatalogReader &catalog)
{
    std::vector<ConsumerInfo> out;
    Status inner;
    VD_TRY(catalog.scan(QByteArray(1, keys::kConsumer), QByteArray(1, keys::kConsumer + 1), [&](QByteArrayView key, QByteArrayView value) {
        auto name = decodeStoredName(rootId(), key.sliced(1), QStringLiteral("consumer name"));
        auto rec = ConsumerRecord::decode(value);
        if (!name || !rec) {
            inner = name ? rec.status() : name.status();
            return false;
        }
        out.push_back(ConsumerInfo{*name, rec->next, rec->updatedMs});
        return true;
    }));
    VD_TRY(inner);
    return out;
}

Result<uint64_t> ChangeFeed::registerConsumer(const QString &name)
{
    VD_TRY(m_col.checkWritable());
    VD_TRY(validateName(name).withContext(QStringLiteral("consumer name")));
    VD_TRY_ASSIGN(const auto raw, m_col.catalog().get(keys::consumer(name)));
    if (raw) {
        VD_TRY_ASSIGN(const ConsumerRecord rec, ConsumerRecord::decode(*raw));
        return rec.next;
    }
    const ConsumerRecord rec{m_col.nextChange(), QDateTime::currentMSecsSinceEpoch()};
    VD_TRY(m_col.putRecord(keys::consumer(name), rec.encode()));
    return rec.next;
}

Status ChangeFeed::advanceConsumer(const QString &name, uint64_t next)
{
    VD_TRY(m_col.checkWritable());
    VD_TRY_ASSIGN(const ConsumerInfo cur, consumer(m_col.catalog(), name));
    if (next < cur.next || next > m_col.nextChange())
        return Status::invalidArgument(QStringLiteral("consumer '%1' is at %2: it can move on to at most %3, not to %4")
                                           .arg(name)
                                           .arg(cur.next)
                                           .arg(m_col.nextChange())
                                           .arg(next));
    if (next == cur.next)
        return {};
    return m_col.putRecord(keys::consumer(name), ConsumerRecord{next, QDateTime::currentMSecsSinceEpoch()}.encode());
}

Status ChangeFeed::unregisterConsumer(const QString &name)
{
    VD_TRY(m_col.checkWritable());
    VD_TRY(consumer(m_col.catalog(), name).status());
    return m_col.removeRecord(keys::consumer(name)).status();
}

} // namespace vd::tree
