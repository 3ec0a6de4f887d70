// The DriveApi's values as CBOR, for its methods on the control socket
// (docs/PROTOCOL.md, "Drive methods"). Encoding is total; decoding is
// strict and bounded, because the bytes come from another process: a
// missing or mistyped field, a RUID that is not 16 bytes, a number out of
// range, or a tree record that does not decode is a ProtocolError naming the
// field. Tree records travel in their on-disk encoding (VNode::encode(),
// ChangeRecord::encode()), whose decoders already check every byte.
//
// Thread safety: pure functions.
#pragma once

#include "client/driveapi.h"

#include <QCborArray>
#include <QCborMap>
#include <QCborValue>

namespace vd::control::codec {

QCborValue fromRuid(const Ruid &id);
Result<Ruid> toRuid(const QCborValue &v, const char *field);

QCborMap fromVNode(const tree::VNode &n);
Result<tree::VNode> toVNode(const QCborValue &v);

QCborMap fromCollection(const client::CollectionSummary &c);
Result<client::CollectionSummary> toCollection(const QCborValue &v);

QCborMap fromUsage(const client::Usage &u);
Result<client::Usage> toUsage(const QCborValue &v);

QCborMap fromTrashEntry(const tree::TrashEntry &e);
Result<tree::TrashEntry> toTrashEntry(const QCborValue &v);

QCborMap fromSnapshot(const tree::SnapshotInfo &s);
Result<tree::SnapshotInfo> toSnapshot(const QCborValue &v);

QCborMap fromDiffEntry(const tree::DiffEntry &e);
Result<tree::DiffEntry> toDiffEntry(const QCborValue &v);

QCborMap fromChange(const tree::ChangeRecord &r);
Result<tree::ChangeRecord> toChange(const QCborValue &v);

QCborMap fromCluster(const tree::ClusterInfo &c);
Result<tree::ClusterInfo> toCluster(const QCborValue &v);

// A JSON document's values in pre-order, each with its depth (the root 0):
// a stream of items, because a document (up to JsonTree::kMaxNodes values)
// does not fit one frame.
QCborArray fromJsonTree(const client::JsonTree &tree);
// Rebuilds the tree from the items; each depth at most one more than the
// previous value's, and at most kMaxNodes values.
Result<client::JsonTree> toJsonTree(const QCborArray &items, uint64_t generation);

// The block map (DriveApi::blockMap) as items: the allocator's words in
// byte strings of at most kWordsPerItem little-endian u32, then the blocks
// in byte strings of at most kBlocksPerItem packed records (slot index
// u32, size class u8, use u8, used u64; little-endian). Decoding checks
// every word and that the blocks are exactly those the words describe.
// The node's last check, when one finished, follows: {"check": {ms,
// generation, faults, notListed}} and its corrupt blocks' offsets as
// {"corrupt": bytes} items (as fromFsckReport's).
inline constexpr qsizetype kWordsPerItem = 16384;
inline constexpr qsizetype kBlocksPerItem = 4096;
QCborArray fromBlockMap(const storage::AllocationMap &map);
Result<storage::AllocationMap> toBlockMap(const QCborArray &items, uint64_t generation);

// Which files use each block (DriveApi::blockOwners) as items: every file
// ["f", id, path, snapshot], then every block ["b", offset, flags (1 live,
// 2 in a snapshot), birth, file count, [file indexes]]. Decoding checks
// the indexes, the bounds and that offsets increase.
QCborArray fromBlockOwners(const tree::BlockOwners &owners);
Result<tree::BlockOwners> toBlockOwners(const QCborArray &items, uint64_t generation);

// A check's report (DriveApi::fsck) as items: {"counts": map} first, then
// {"fault": text} and {"note": text} (at most kMaxReportLines of both, each
// at most kMaxReportLineLength characters: the encoder cuts, folding what
// is left over into a last line that counts it), then {"corrupt": bytes}
// with the corrupt blocks' offsets (little-endian u64, at most
// kOffsetsPerItem an item; whole 1 MiB slots, increasing, at most
// FsckReport::kMaxCorruptOffsets). A report travels only when the check
// finished: its status is OK.
inline constexpr qsizetype kOffsetsPerItem = 8192;
inline constexpr qsizetype kMaxReportLines = 10000;
inline constexpr qsizetype kMaxReportLineLength = 4096;
QCborArray fromFsckReport(const storage::FsckReport &report);
Result<storage::FsckReport> toFsckReport(const QCborArray &items);

QCborMap fromProgress(const transfer::TransferProgress &p);
Result<transfer::TransferProgress> toProgress(const QCborValue &v);

QCborMap fromReport(const client::TransferReport &r);
Result<client::TransferReport> toReport(const QCborValue &v);

// A list of values, each decoded by `one`; at most `max` of them.
template<typename T, typename Decode>
Result<std::vector<T>> toList(const QCborValue &v, const char *field, qsizetype max, Decode one)
{
    if (!v.isArray() || v.toArray().size() > max)
        return Status::protocolError(QStringLiteral("%1: not a list of at most %2").arg(QLatin1String(field)).arg(max));
    std::vector<T> out;
    out.reserve(size_t(v.toArray().size()));
    for (const QCborValue &item : v.toArray()) {
        auto decoded = one(item);
        if (!decoded)
            return decoded.status();
        out.push_back(std::move(decoded).value());
    }
    return out;
}

// A list of RUIDs (the ids of trash entries, ...): at most kMaxRuidList.
inline constexpr qsizetype kMaxRuidList = 100000;
QCborArray fromRuidList(const std::vector<Ruid> &ids);
Result<std::vector<Ruid>> toRuidList(const QCborValue &v, const char *field);

// Fields of a map, checked.
Result<QString> text(const QCborMap &m, const char *field, qsizetype maxLength = 1 << 18);
Result<uint64_t> natural(const QCborMap &m, const char *field);
Result<int64_t> integer(const QCborMap &m, const char *field);
Result<bool> boolean(const QCborMap &m, const char *field);

} // namespace vd::control::codec
