// SparseBytes: the bytes of one in-memory file (MemEnv), kept in 64 KiB
// chunks that are shared between copies until one of them writes.
//
// A copy (what MemEnv makes of a file at every sync, to remember what is
// durable) costs one reference per chunk instead of the whole file, a write
// copies only the chunks it touches, and chunks never written (the unused
// parts of a sparse idvd) hold no memory and read as zeros.
//
// Thread safety: a value type; distinct objects may be used from different
// threads (the chunks' sharing is reference-counted), one object from one
// thread at a time.
#pragma once

#include <QByteArray>
#include <QByteArrayView>

#include <cstdint>
#include <vector>

namespace vd::io {

class SparseBytes
{
public:
    static constexpr uint64_t kChunkSize = uint64_t(64) << 10;

    SparseBytes() = default;
    explicit SparseBytes(QByteArrayView bytes) { write(0, bytes); }

    uint64_t size() const { return m_size; }
    // Copies [offset, offset + len) to out; the caller checks the bounds.
    void read(uint64_t offset, char *out, uint64_t len) const;
    // Writes bytes at offset, extending the file (with zeros) when needed.
    void write(uint64_t offset, QByteArrayView bytes);
    // Makes [offset, offset + len) read as zeros (within the size; whole
    // chunks are let go).
    void zero(uint64_t offset, uint64_t len);
    // Cuts or extends (with zeros) the file to size bytes.
    void resize(uint64_t size);
    QByteArray toByteArray() const;

private:
    uint64_t m_size = 0;
    std::vector<QByteArray> m_chunks; // null: zeros; else kChunkSize bytes, zero past m_size
};

} // namespace vd::io
