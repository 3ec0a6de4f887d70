// Little-endian encoding helpers for every on-disk and on-wire structure.
//
// ByteWriter appends to a QByteArray. ByteReader is a bounds-checked cursor
// over untrusted bytes: a read past the end, a varint that is too long, or a
// length above the caller's bound makes the reader fail; the failure is sticky
// (later reads return zeros) and decoders check it once with status(). Nothing
// here ever reads outside the span it was given.
// Thread-safety: a ByteWriter or ByteReader is used by one thread at a time;
// the functions keep no shared state.
#pragma once

#include "status.h"

#include <QByteArray>
#include <QByteArrayView>

#include <cstdint>
#include <cstring>

namespace vd {

// Bytes ByteWriter::varint(v) writes: the shortest encoding of v.
constexpr size_t varintSize(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

class ByteWriter
{
public:
    explicit ByteWriter(QByteArray *out) : m_out(out) {}

    void u8(uint8_t v) { m_out->append(char(v)); }
    void u16(uint16_t v) { fixed(v); }
    void u32(uint32_t v) { fixed(v); }
    void u64(uint64_t v) { fixed(v); }
    void bytes(QByteArrayView v) { m_out->append(v.data(), v.size()); }
    void zeros(qsizetype n) { m_out->append(n, '\0'); }
    // LEB128, at most 10 bytes for a 64-bit value.
    void varint(uint64_t v)
    {
        while (v >= 0x80) {
            u8(uint8_t(v) | 0x80);
            v >>= 7;
        }
        u8(uint8_t(v));
    }
    // A varint length followed by the bytes.
    void blob(QByteArrayView v)
    {
        varint(uint64_t(v.size()));
        bytes(v);
    }
    qsizetype size() const { return m_out->size(); }

private:
    template<typename T>
    void fixed(T v)
    {
        char buf[sizeof(T)];
        for (size_t i = 0; i < sizeof(T); ++i)
            buf[i] = char(uint8_t(v >> (8 * i)));
        m_out->append(buf, sizeof(T));
    }
    QByteArray *m_out;
};

class ByteReader
{
public:
    ByteReader(QByteArrayView data, QString what) : m_data(data), m_what(std::move(what)) {}

    uint8_t u8() { return fixed<uint8_t>(); }
    uint16_t u16() { return fixed<uint16_t>(); }
    uint32_t u32() { return fixed<uint32_t>(); }
    uint64_t u64() { return fixed<uint64_t>(); }

    // The format byte a versioned record starts with: fails the reader
    // ("unknown record format N") unless oldest <= it <= newest.
    uint8_t format(uint8_t oldest, uint8_t newest)
    {
        const uint8_t f = u8();
        if (ok() && (f < oldest || f > newest))
            fail(QStringLiteral("unknown record format %1").arg(f));
        return f;
    }

    uint64_t varint()
    {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (!need(1))
                return 0;
            const uint8_t b = uint8_t(m_data[m_pos++]);
            if (shift == 63 && b > 1)
                break;
            v |= uint64_t(b & 0x7f) << shift;
            if (!(b & 0x80))
                return v;
        }
        fail(QStringLiteral("malformed varint"));
        return 0;
    }

    // n raw bytes; an empty view if fewer remain.
    QByteArrayView bytes(qsizetype n)
    {
        if (n < 0 || !need(n))
            return {};
        QByteArrayView v = m_data.sliced(m_pos, n);
        m_pos += n;
        return v;
    }
    void copy(void *dst, qsizetype n)
    {
        QByteArrayView v = bytes(n);
        if (ok())
            std::memcpy(dst, v.data(), size_t(n));
        else
            std::memset(dst, 0, size_t(n));
    }
    // A varint length (at most maxLen) followed by that many bytes.
    QByteArrayView blob(uint64_t maxLen)
    {
        const uint64_t n = varint();
        if (!ok())
            return {};
        if (n > maxLen) {
            fail(QStringLiteral("length %1 exceeds the limit of %2").arg(n).arg(maxLen));
            return {};
        }
        return bytes(qsizetype(n));
    }
    void skip(qsizetype n) { (void)bytes(n); }

    qsizetype position() const { return m_pos; }
    qsizetype remaining() const { return m_data.size() - m_pos; }
    bool atEnd() const { return m_pos == m_data.size(); }
    bool ok() const { return m_error.isEmpty(); }

    // Marks the reader failed with a decoder-level reason (bad magic, bad enum…).
    void fail(const QString &why)
    {
        if (m_error.isEmpty())
            m_error = why;
    }
    // OK, or Corruption naming what was being decoded, where and why.
    Status status() const
    {
        if (ok())
            return {};
        return Status::corruption(QStringLiteral("%1: %2 (at byte %3)").arg(m_what, m_error).arg(m_pos));
    }
    // Like status(), and also fails when bytes are left over.
    Status finish()
    {
        if (ok() && !atEnd())
            fail(QStringLiteral("%1 unexpected trailing bytes").arg(remaining()));
        return status();
    }

private:
    bool need(qsizetype n)
    {
        if (!ok())
            return false;
        if (n > remaining()) {
            fail(QStringLiteral("truncated: needed %1 more bytes, %2 left").arg(n).arg(remaining()));
            return false;
        }
        return true;
    }
    template<typename T>
    T fixed()
    {
        if (!need(sizeof(T)))
            return 0;
        T v = 0;
        for (size_t i = 0; i < sizeof(T); ++i)
            v |= T(uint8_t(m_data[m_pos + qsizetype(i)])) << (8 * i);
        m_pos += qsizetype(sizeof(T));
        return v;
    }

    QByteArrayView m_data;
    qsizetype m_pos = 0;
    QString m_what;
    QString m_error;
};

} // namespace vd
