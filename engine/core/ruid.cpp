#include "ruid.h"

#include <QDateTime>
#include <QRandomGenerator>

#include <cstring>

namespace vd {

Ruid Ruid::generate()
{
    Ruid r;
    do {
        QRandomGenerator::system()->fillRange(reinterpret_cast<quint32 *>(r.bytes.data()), 4);
    } while (r.isNull());
    return r;
}

Ruid Ruid::generateOrdered()
{
    Ruid r = generate();
    const uint64_t ms = uint64_t(QDateTime::currentMSecsSinceEpoch());
    for (int i = 0; i < 6; ++i)
        r.bytes[size_t(i)] = uint8_t(ms >> (8 * (5 - i)));
    return r;
}

Result<Ruid> Ruid::parse(const QString &text)
{
    if (text.size() != 32)
        return Status::invalidArgument(QStringLiteral("'%1' is not a RUID (32 hex digits)").arg(text.left(80)));
    Ruid r;
    for (int i = 0; i < 32; ++i) {
        const char16_t c = text.at(i).toLower().unicode();
        int v;
        if (c >= u'0' && c <= u'9')
            v = c - u'0';
        else if (c >= u'a' && c <= u'f')
            v = c - u'a' + 10;
        else
            return Status::invalidArgument(QStringLiteral("'%1' is not a RUID (32 hex digits)").arg(text));
        r.bytes[size_t(i / 2)] = uint8_t(r.bytes[size_t(i / 2)] | (v << (i % 2 ? 0 : 4)));
    }
    if (r.isNull())
        return Status::invalidArgument(QStringLiteral("the all-zero RUID is reserved"));
    return r;
}

Ruid Ruid::fromView(QByteArrayView v)
{
    Ruid r;
    if (v.size() == size)
        std::memcpy(r.bytes.data(), v.data(), size);
    return r;
}

bool Ruid::isNull() const
{
    for (uint8_t b : bytes)
        if (b)
            return false;
    return true;
}

QString Ruid::toString() const
{
    static const char digits[] = "0123456789abcdef";
    QString s(32, Qt::Uninitialized);
    for (int i = 0; i < 16; ++i) {
        s[2 * i] = QLatin1Char(digits[bytes[size_t(i)] >> 4]);
        s[2 * i + 1] = QLatin1Char(digits[bytes[size_t(i)] & 15]);
    }
    return s;
}

} // namespace vd
