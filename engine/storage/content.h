// Content names (FORMAT.md §Content names): what a data block or a packed
// payload is called on every node, whatever this node does with it.
//
// The bytes are cut into 1 MiB chunks (the last may be shorter), each hashed
// with SHA-256; the name is the SHA-256 of a fixed domain tag, the hash kind
// (1: this scheme), the length and the chunk hashes in order. A read checks
// the chunks it touches against the chunk list and the list against the
// name; a peer can check a transfer chunk by chunk the same way.
//
// Thread safety: free functions over their arguments only.
#pragma once

#include "core/hash.h"
#include "core/status.h"

#include <QByteArrayView>

#include <vector>

namespace vd::storage {

inline constexpr uint32_t kChunkSize = 1u << 20;
inline constexpr uint8_t kHashKindSha256Chunks = 1;
// The most chunks a name covers: the largest block's payload.
inline constexpr uint32_t kMaxChunks = 16;

using ChunkHashes = std::vector<Hash256>;

struct NamedContent
{
    Hash256 name;
    ChunkHashes chunks;
};

inline uint32_t chunkCount(uint64_t length) { return uint32_t((length + kChunkSize - 1) / kChunkSize); }
// The chunk hashes of payload; with parallel, the second half of them on a
// worker thread while this one hashes the first.
ChunkHashes hashChunks(QByteArrayView payload, bool parallel = false);
Hash256 contentName(uint64_t length, const ChunkHashes &chunks);
NamedContent nameContent(QByteArrayView payload, bool parallel = false);
// Checks bytes that start at chunk `first` (whole chunks, the last may be
// the content's short one) against the chunk list. what: for the message.
Status verifyChunks(QByteArrayView bytes, uint32_t first, const ChunkHashes &chunks, const QString &what);

} // namespace vd::storage
