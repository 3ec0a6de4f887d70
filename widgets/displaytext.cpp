#include "displaytext.h"

#include <QLocale>

namespace vd::widgets {

QString displayName(const QString &name)
{
    QString out;
    out.reserve(name.size() + 2);
    out += QChar(0x2068); // FIRST STRONG ISOLATE
    for (const QChar c : name) {
        const char16_t u = c.unicode();
        if (u < 0x20)
            out += QChar(char16_t(0x2400 + u)); // ␀..␟
        else if (u == 0x7f)
            out += QChar(0x2421); // ␡
        else if (u >= 0x80 && u < 0xa0)
            out += QChar(0xfffd); // C1 controls have no symbols of their own
        else
            out += c;
    }
    out += QChar(0x2069); // POP DIRECTIONAL ISOLATE
    return out;
}

QString richTextOf(const QString &plain)
{
    // Qt::mightBeRichText says yes to "<qt>", so this is always rich text,
    // and toHtmlEscaped() leaves no markup in it.
    return QStringLiteral("<qt>") + displayName(plain).toHtmlEscaped() + QStringLiteral("</qt>");
}

QString richTextOfLines(const QStringList &lines)
{
    QStringList escaped;
    escaped.reserve(lines.size());
    for (const QString &l : lines)
        escaped.append(displayName(l).toHtmlEscaped());
    return QStringLiteral("<qt>") + escaped.join(QStringLiteral("<br>")) + QStringLiteral("</qt>");
}

QString formatBytes(uint64_t bytes)
{
    return QLocale().formattedDataSize(qint64(std::min<uint64_t>(bytes, uint64_t(INT64_MAX))), 1, QLocale::DataSizeIecFormat);
}

} // namespace vd::widgets
