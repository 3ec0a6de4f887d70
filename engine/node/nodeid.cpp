#include "nodeid.h"

#include "core/hash.h"

#include <cstring>

namespace vd::node {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr int kDataChars = 52; // 256 bits in 5-bit characters; the last holds 1 bit and 4 zero bits
constexpr int kRun = 13;       // 4 runs of 13 characters, each with a check character
constexpr int kRuns = 4;
constexpr int kChars = kRuns * (kRun + 1); // 56
constexpr int kGroup = 7;                  // printed in groups of 7

int valueOf(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

// The Luhn mod N check character (N = 32) over base32 characters: factors
// 2, 1, 2, … from the right, each product's two base-32 digits added, the
// sum's complement mod 32. A factor of 1 or 2 maps the 32 values onto the 32
// residues one to one, so any single changed character changes the sum; a
// swap of neighbours x, y changes it by x - y (+1 or -1 when one is >= 16),
// which is 0 mod 32 only for A and 7. (Syncthing's variant counts its
// factors from the left, so it misses a run's last character swapped with
// its check character.)
char checkCharacter(const char *run, int n)
{
    int factor = 2;
    int sum = 0;
    for (int i = n - 1; i >= 0; --i) {
        const int addend = factor * valueOf(run[i]);
        factor = 3 - factor;
        sum += addend / 32 + addend % 32;
    }
    return kAlphabet[(32 - sum % 32) % 32];
}

QString invalid(QStringView text, const QString &why)
{
    return QStringLiteral("'%1' is not a node id: %2").arg(text.toString(), why);
}

} // namespace

NodeId NodeId::fromSpki(QByteArrayView spkiDer)
{
    NodeId id;
    id.bytes = sha256(spkiDer).bytes;
    return id;
}

NodeId NodeId::fromView(QByteArrayView v)
{
    NodeId id;
    if (v.size() == size)
        std::memcpy(id.bytes.data(), v.data(), size);
    return id;
}

bool NodeId::isNull() const
{
    for (uint8_t b : bytes)
        if (b)
            return false;
    return true;
}

uint64_t NodeId::shortId() const
{
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v = (v << 8) | bytes[size_t(i)];
    return v;
}

QString NodeId::shortIdHex() const { return QStringLiteral("%1").arg(shortId(), 16, 16, QLatin1Char('0')); }

QString NodeId::toString() const
{
    char data[kDataChars];
    uint32_t acc = 0;
    int bits = 0;
    int n = 0;
    for (uint8_t b : bytes) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 5) {
            data[n++] = kAlphabet[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    data[n++] = kAlphabet[(acc << (5 - bits)) & 31]; // the last bit, then zeros
    char checked[kChars];
    for (int r = 0; r < kRuns; ++r) {
        std::memcpy(checked + r * (kRun + 1), data + r * kRun, kRun);
        checked[r * (kRun + 1) + kRun] = checkCharacter(data + r * kRun, kRun);
    }
    QString out;
    out.reserve(kTextLength);
    for (int i = 0; i < kChars; ++i) {
        if (i > 0 && i % kGroup == 0)
            out += QLatin1Char('-');
        out += QLatin1Char(checked[i]);
    }
    return out;
}

Result<NodeId> NodeId::parse(QStringView text)
{
    if (text.size() > kMaxParseLength)
        return Status::invalidArgument(QStringLiteral("a node id is %1 characters long; this text has %2").arg(kTextLength).arg(text.size()));
    char chars[kChars];
    int n = 0;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const char16_t u = text[i].unicode();
        if (u == u'-' || u == u' ' || u == u'\t' || u == u'\n' || u == u'\r')
            continue;
        char c = u < 128 ? char(u) : '\0';
        if (c >= 'a' && c <= 'z')
            c = char(c - 'a' + 'A');
        // Digits that are not in the alphabet, read as the letters they look like.
        if (c == '0')
            c = 'O';
        else if (c == '1')
            c = 'I';
        else if (c == '8')
            c = 'B';
        if (valueOf(c) < 0)
            return Status::invalidArgument(invalid(text, QStringLiteral("character %1, '%2', is not one of A-Z and 2-7").arg(i + 1).arg(text[i])));
        if (n == kChars)
            return Status::invalidArgument(invalid(text, QStringLiteral("it has more than %1 characters (8 groups of 7)").arg(kChars)));
        chars[n++] = c;
    }
    if (n != kChars)
        return Status::invalidArgument(invalid(text, QStringLiteral("it has %1 characters, not %2 (8 groups of 7)").arg(n).arg(kChars)));
    char data[kDataChars];
    for (int r = 0; r < kRuns; ++r) {
        const char *run = chars + r * (kRun + 1);
        if (checkCharacter(run, kRun) != run[kRun]) {
            // A run of 14 is two printed groups: name them as they were typed.
            const QString groups = QString::fromLatin1(run, kGroup) + QLatin1Char('-') + QString::fromLatin1(run + kGroup, kGroup);
            return Status::invalidArgument(invalid(text, QStringLiteral("a character in groups %1 and %2 (%3) is mistyped: their check character does not match")
                                                             .arg(2 * r + 1)
                                                             .arg(2 * r + 2)
                                                             .arg(groups)));
        }
        std::memcpy(data + r * kRun, run, kRun);
    }
    NodeId id;
    uint32_t acc = 0;
    int bits = 0;
    size_t out = 0;
    for (int i = 0; i < kDataChars; ++i) {
        acc = (acc << 5) | uint32_t(valueOf(data[i]));
        bits += 5;
        if (bits >= 8) {
            id.bytes[out++] = uint8_t(acc >> (bits - 8));
            bits -= 8;
        }
    }
    // 4 bits are left; vdrive writes them as zeros, so anything else was not made by it.
    if ((acc & ((1u << bits) - 1)) != 0)
        return Status::invalidArgument(invalid(text, QStringLiteral("its last group does not end the way a node id does (was it made by vdrive?)")));
    return id;
}

} // namespace vd::node
