#include "sparsebytes.h"

#include <algorithm>
#include <cstring>

namespace vd::io {

void SparseBytes::read(uint64_t offset, char *out, uint64_t len) const
{
    while (len > 0) {
        const uint64_t index = offset / kChunkSize;
        const uint64_t within = offset % kChunkSize;
        const uint64_t n = std::min(len, kChunkSize - within);
        const QByteArray &chunk = m_chunks[index];
        if (chunk.isNull())
            std::memset(out, 0, n);
        else
            std::memcpy(out, chunk.constData() + within, n);
        out += n;
        offset += n;
        len -= n;
    }
}

void SparseBytes::write(uint64_t offset, QByteArrayView bytes)
{
    uint64_t len = uint64_t(bytes.size());
    if (len == 0)
        return;
    if (offset + len > m_size)
        resize(offset + len);
    const char *in = bytes.data();
    while (len > 0) {
        const uint64_t index = offset / kChunkSize;
        const uint64_t within = offset % kChunkSize;
        const uint64_t n = std::min(len, kChunkSize - within);
        QByteArray &chunk = m_chunks[index];
        if (chunk.isNull())
            chunk = QByteArray(qsizetype(kChunkSize), '\0');
        std::memcpy(chunk.data() + within, in, n); // data() copies a chunk another copy still shares
        in += n;
        offset += n;
        len -= n;
    }
}

void SparseBytes::zero(uint64_t offset, uint64_t len)
{
    if (offset >= m_size)
        return;
    len = std::min(len, m_size - offset);
    while (len > 0) {
        const uint64_t index = offset / kChunkSize;
        const uint64_t within = offset % kChunkSize;
        const uint64_t n = std::min(len, kChunkSize - within);
        QByteArray &chunk = m_chunks[index];
        if (n == kChunkSize)
            chunk = QByteArray();
        else if (!chunk.isNull())
            std::memset(chunk.data() + within, 0, n);
        offset += n;
        len -= n;
    }
}

void SparseBytes::resize(uint64_t size)
{
    if (size < m_size) {
        // Past the end a chunk holds zeros, so that growing again reads zeros.
        const uint64_t within = size % kChunkSize;
        const uint64_t last = size / kChunkSize;
        if (within != 0 && last < m_chunks.size() && !m_chunks[last].isNull())
            std::memset(m_chunks[last].data() + within, 0, kChunkSize - within);
    }
    m_chunks.resize(size_t((size + kChunkSize - 1) / kChunkSize));
    m_size = size;
}

QByteArray SparseBytes::toByteArray() const
{
    QByteArray out(qsizetype(m_size), Qt::Uninitialized);
    read(0, out.data(), m_size);
    return out;
}

} // namespace vd::io
