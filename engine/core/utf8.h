// UTF-8 decoding that keeps every character. QString::fromUtf8 drops a
// leading U+FEFF (a byte order mark), so a name or key that starts with one
// would come back different from what was stored. Names, keys and paths
// from disk are decoded with this instead.
// Thread-safety: pure functions.
#pragma once

#include <QByteArrayView>
#include <QString>
#include <QStringDecoder>

namespace vd {

inline QString utf8ToString(QByteArrayView bytes)
{
    if (!bytes.startsWith("\xEF\xBB\xBF"))
        return QString::fromUtf8(bytes); // the same, and cheaper, without a leading BOM
    QStringDecoder decode(QStringConverter::Utf8, QStringConverter::Flag::ConvertInitialBom | QStringConverter::Flag::Stateless);
    return decode(bytes);
}

// True when bytes are valid UTF-8 that decodes to exactly `text`.
inline bool isExactUtf8Of(QByteArrayView bytes, const QString &text)
{
    return utf8ToString(bytes) == text && text.toUtf8() == bytes;
}

} // namespace vd
