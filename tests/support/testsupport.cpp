#include "testsupport.h"

namespace vd::test {

QByteArray randomBytes(qsizetype n, quint32 seed, bool compressible)
{
    QByteArray out(n, Qt::Uninitialized);
    QRandomGenerator rng(seed);
    if (!compressible) {
        const qsizetype words = n / 4;
        rng.fillRange(reinterpret_cast<quint32 *>(out.data()), words);
        for (qsizetype i = words * 4; i < n; ++i)
            out[i] = char(rng.generate());
        return out;
    }
    static const char text[] = "the quick brown fox jumps over the lazy dog; ";
    for (qsizetype i = 0; i < n; ++i)
        out[i] = (rng.bounded(8) == 0) ? char('a' + rng.bounded(26)) : text[i % (sizeof(text) - 1)];
    return out;
}

} // namespace vd::test
