#include "blockowners.h"

#include "views.h"

#include "storage/catalogreader.h"
#include "storage/collection.h"
#include "storage/records.h"

#include <QSet>

#include <algorithm>
#include <map>
#include <optional>
#include <unordered_map>

namespace vd::tree {

namespace {

using storage::Piece;

struct Acc
{
    BlockUsers users;
    uint32_t lastFile = UINT32_MAX; // the file counted last (records come by owner)
};

class Walk
{
public:
    Walk(storage::CatalogReader &live, uint64_t newestSnapshot, Ticker *ticker)
        : m_live(live)
        , m_newestSnapshot(newestSnapshot)
        , m_ticker(ticker)
    { }

    // Walks one tree's cluster records; tree is empty for the live one.
    Status walkTree(storage::CatalogReader &catalog, const QString &tree)
    {
        const bool isLive = tree.isEmpty();
        Status inner;
        VD_TRY(catalog.scan(QByteArray(1, storage::keys::kCluster), QByteArray(1, storage::keys::kCluster + 1),
            [&](QByteArrayView key, QByteArrayView value) {
                inner = visit(key, value, tree, isLive);
                return inner.isOk();
            }));
        return inner;
    }

    Result<BlockOwners> finish(Views &views)
    {
        BlockOwners out;
        out.files = std::move(m_files);
        for (BlockOwner &f : out.files) {
            VD_TRY(tick(m_ticker));
            std::sort(f.blocks.begin(), f.blocks.end()); // a file's clusters come in order; its blocks nearly so
            f.blocks.erase(std::unique(f.blocks.begin(), f.blocks.end()), f.blocks.end());
            VD_TRY_ASSIGN(TreeView * v, views.view(f.snapshot));
            auto node = v->nodeById(f.id);
            if (!node && node.status().code() == ErrorCode::NotFound)
                continue; // in the trash, or not a node of the tree
            VD_TRY(node.status());
            VD_TRY_ASSIGN(f.path, v->pathOf(f.id));
        }
        out.blocks.reserve(m_blocks.size());
        for (auto &[offset, acc] : m_blocks)
            out.blocks.push_back(std::move(acc.users));
        return out;
    }

private:
    Status visit(QByteArrayView key, QByteArrayView value, const QString &tree, bool isLive)
    {
        VD_TRY(tick(m_ticker));
        Ruid owner;
        uint64_t start = 0;
        if (!storage::keys::parseClusterKey(key, &owner, &start))
            return Status::corruption(QStringLiteral("a malformed cluster key"));
        VD_TRY_ASSIGN(const storage::ClusterRecord c, storage::ClusterRecord::decode(value));
        // A version a tree walked before shares is counted there (the live
        // tree is walked first, then the snapshots); with no snapshot there
        // is nothing to remember.
        if (m_newestSnapshot > 0) {
            QByteArray version = key.toByteArray();
            version.append(reinterpret_cast<const char *>(&c.birth), sizeof c.birth);
            if (!isLive && m_seen.contains(version))
                return {};
            m_seen.insert(version);
        }
        for (const Piece &p : c.pieces) {
            if (p.isZero())
                continue;
            VD_TRY_ASSIGN(const std::optional<uint64_t> offset, offsetOf(p));
            if (!offset)
                continue; // held by other nodes
            Acc &acc = m_blocks[*offset];
            acc.users.offset = *offset;
            acc.users.birth = std::max(acc.users.birth, c.birth);
            if (isLive) {
                acc.users.live = true;
                if (c.birth <= m_newestSnapshot)
                    acc.users.inSnapshot = true; // the newest snapshot has this very version
            } else {
                acc.users.inSnapshot = true;
                if (acc.users.live)
                    continue; // a live block lists the live files
            }
            const uint32_t file = fileIndex(owner, tree);
            if (isLive) {
                std::vector<uint64_t> &used = m_files[file].blocks;
                if (used.empty() || used.back() != *offset)
                    used.push_back(*offset);
            }
            if (file == acc.lastFile)
                continue;
            acc.lastFile = file;
            ++acc.users.fileCount;
            if (acc.users.files.size() < BlockOwners::kMaxListed)
                acc.users.files.push_back(file);
        }
        return {};
    }

    uint32_t fileIndex(const Ruid &id, const QString &tree)
    {
        // A file of the snapshots is named once, in the first snapshot that has it.
        auto &index = tree.isEmpty() ? m_liveIndex : m_snapshotIndex;
        const auto it = index.find(id);
        if (it != index.end())
            return it->second;
        const uint32_t i = uint32_t(m_files.size());
        m_files.push_back(BlockOwner { id, QString(), tree, {} });
        index.emplace(id, i);
        return i;
    }

    Result<std::optional<uint64_t>> offsetOf(const Piece &p)
    {
        switch (p.kind) {
        case Piece::Kind::Content: {
            VD_TRY_ASSIGN(const auto raw, m_live.get(storage::keys::location(p.name)));
            if (!raw)
                return std::optional<uint64_t>();
            auto loc = storage::LocationRecord::decode(*raw);
            if (!loc)
                return loc.status().withContext(QStringLiteral("the location of content %1").arg(p.name.shortHex()));
            if (loc->placement == storage::LocationRecord::Placement::Block)
                return std::optional<uint64_t>(loc->extent.offset);
            if (loc->placement == storage::LocationRecord::Placement::Slot)
                return blockOffset(loc->smallBlock, 0);
            return std::optional<uint64_t>();
        }
        case Piece::Kind::Block:
            return blockOffset(p.blockId, p.version);
        case Piece::Kind::Slot:
            return blockOffset(p.blockId, 0);
        case Piece::Kind::Zero:
            break;
        }
        return std::optional<uint64_t>();
    }

    // A block record's extent (SmallBlocks, and data blocks of old catalogs).
    Result<std::optional<uint64_t>> blockOffset(const Ruid &id, uint64_t version)
    {
        const auto key = std::make_pair(id, version);
        if (const auto it = m_blockOffsets.find(key); it != m_blockOffsets.end())
            return it->second;
        VD_TRY_ASSIGN(const auto raw, m_live.get(storage::keys::block(id, version)));
        std::optional<uint64_t> offset;
        if (raw) {
            auto rec = storage::BlockRecord::decode(*raw);
            if (!rec)
                return rec.status().withContext(QStringLiteral("block %1").arg(id.toString()));
            offset = rec->extent.offset;
        }
        m_blockOffsets.emplace(key, offset);
        return offset;
    }

    storage::CatalogReader &m_live;
    uint64_t m_newestSnapshot; // its generation; 0: no snapshot
    Ticker *m_ticker;
    std::map<uint64_t, Acc> m_blocks;
    std::vector<BlockOwner> m_files;
    std::unordered_map<Ruid, uint32_t> m_liveIndex, m_snapshotIndex;
    std::map<std::pair<Ruid, uint64_t>, std::optional<uint64_t>> m_blockOffsets;
    QSet<QByteArray> m_seen; // cluster versions walked (key and birth)
};

} // namespace

Result<BlockOwners> findBlockOwners(Views &views, const std::vector<std::pair<QString, uint64_t>> &snapshots, Ticker *ticker)
{
    storage::CatalogReader &live = views.live().catalog();
    uint64_t newest = 0;
    for (const auto &[name, generation] : snapshots)
        newest = std::max(newest, generation);
    Walk walk(live, newest, ticker);
    VD_TRY(walk.walkTree(live, QString()));
    for (const auto &[name, generation] : snapshots) {
        VD_TRY_ASSIGN(TreeView * v, views.view(name));
        VD_TRY(walk.walkTree(v->catalog(), name));
    }
    return walk.finish(views);
}

} // namespace vd::tree
