#include "content.h"

#include "core/bytes.h"

#include <thread>

namespace vd::storage {

namespace {
// The domain tag: a name can never be mistaken for another SHA-256 of ours.
constexpr char kNameTag[] = "vdrive content";

void hashRange(QByteArrayView payload, uint32_t from, uint32_t to, ChunkHashes *out)
{
    for (uint32_t c = from; c < to; ++c) {
        const qsizetype at = qsizetype(c) * kChunkSize;
        (*out)[c] = sha256(payload.sliced(at, std::min<qsizetype>(kChunkSize, payload.size() - at)));
    }
}
} // namespace

ChunkHashes hashChunks(QByteArrayView payload, bool parallel)
{
    const uint32_t n = chunkCount(uint64_t(payload.size()));
    ChunkHashes out(n);
    if (!parallel || n < 2) {
        hashRange(payload, 0, n, &out);
        return out;
    }
    // A thread of its own for the second half, joined here: the caller may
    // itself be a pool thread (the put pipeline's), and a join is a hand-off
    // ThreadSanitizer sees (a QFuture's is inside uninstrumented Qt).
    const uint32_t half = n / 2;
    std::thread second([payload, half, n, &out] { hashRange(payload, half, n, &out); });
    hashRange(payload, 0, half, &out);
    second.join();
    return out;
}

Hash256 contentName(uint64_t length, const ChunkHashes &chunks)
{
    QByteArray buf;
    buf.reserve(qsizetype(sizeof kNameTag + 9 + 32 * chunks.size()));
    buf.append(kNameTag, sizeof kNameTag - 1);
    ByteWriter w(&buf);
    w.u8(kHashKindSha256Chunks);
    w.u64(length);
    for (const Hash256 &h : chunks)
        w.bytes(h.view());
    return sha256(buf);
}

NamedContent nameContent(QByteArrayView payload, bool parallel)
{
    NamedContent c;
    c.chunks = hashChunks(payload, parallel);
    c.name = contentName(uint64_t(payload.size()), c.chunks);
    return c;
}

Status verifyChunks(QByteArrayView bytes, uint32_t first, const ChunkHashes &chunks, const QString &what)
{
    for (qsizetype at = 0, c = first; at < bytes.size(); at += kChunkSize, ++c) {
        if (size_t(c) >= chunks.size())
            return Status::corruption(QStringLiteral("%1: more bytes than its chunk list covers").arg(what));
        const QByteArrayView chunk = bytes.sliced(at, std::min<qsizetype>(kChunkSize, bytes.size() - at));
        if (sha256(chunk) != chunks[size_t(c)])
            return Status::corruption(QStringLiteral("%1: chunk %2 (bytes %3 to %4) does not match its SHA-256 (the bytes on disk changed)")
                                          .arg(what)
                                          .arg(c)
                                          .arg(uint64_t(c) * kChunkSize)
                                          .arg(uint64_t(c) * kChunkSize + uint64_t(chunk.size())));
    }
    return {};
}

} // namespace vd::storage
