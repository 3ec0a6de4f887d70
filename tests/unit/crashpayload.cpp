#include "crashpayload.h"

#include "testsupport.h"

QByteArray crashWriterPayload(int n)
{
    // Every third object spans data blocks (up to 5 MiB); the rest are packed.
    const qsizetype size = n % 3 == 0 ? qsizetype(1 + (n * 7919) % (5 << 20)) : qsizetype(100 + (n * 31) % 60000);
    return vd::test::randomBytes(size, quint32(n) + 1000, n % 2 == 0);
}
