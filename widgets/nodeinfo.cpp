#include "nodeinfo.h"

#include "displaytext.h"

#include <QApplication>
#include <QCoreApplication>
#include <QDateTime>
#include <QHash>
#include <QLocale>
#include <QMimeDatabase>
#include <QStyle>

namespace vd::widgets {

using tree::Kind;

namespace {

// The MIME type a name suggests, by its extension only (the bytes are in
// the drive, not here); looked up once per extension.
QMimeType mimeOf(const QString &name)
{
    static QHash<QString, QMimeType> cache;
    const qsizetype dot = name.lastIndexOf(QLatin1Char('.'));
    const QString suffix = dot > 0 ? name.mid(dot + 1).toLower() : QString();
    auto it = cache.constFind(suffix);
    if (it == cache.constEnd()) {
        static const QMimeDatabase db;
        it = cache.insert(suffix, db.mimeTypeForFile(QStringLiteral("x.") + suffix, QMimeDatabase::MatchExtension));
    }
    return *it;
}

} // namespace

QIcon iconFor(const tree::VNode &node)
{
    QStyle *style = QApplication::style();
    switch (node.kind) {
    case Kind::Directory: {
        static const QIcon folder = QIcon::fromTheme(QStringLiteral("folder"), style->standardIcon(QStyle::SP_DirIcon));
        return folder;
    }
    case Kind::JsonObject:
    case Kind::JsonArray:
    case Kind::JsonValue: {
        static const QIcon json = QIcon(QStringLiteral(":/icons/json.svg"));
        return json;
    }
    case Kind::File:
        break;
    }
    static const QIcon file = style->standardIcon(QStyle::SP_FileIcon);
    const QMimeType mime = mimeOf(node.name);
    return QIcon::fromTheme(mime.iconName(), QIcon::fromTheme(mime.genericIconName(), file));
}

QString kindText(const tree::VNode &node)
{
    switch (node.kind) {
    case Kind::Directory: return QCoreApplication::translate("vd::widgets", "Folder");
    case Kind::JsonObject: return QCoreApplication::translate("vd::widgets", "JSON object");
    case Kind::JsonArray: return QCoreApplication::translate("vd::widgets", "JSON array");
    case Kind::JsonValue: return QCoreApplication::translate("vd::widgets", "JSON value");
    case Kind::File: break;
    }
    const QMimeType mime = mimeOf(node.name);
    return mime.isDefault() ? QCoreApplication::translate("vd::widgets", "File") : mime.comment();
}

QString sizeText(const tree::VNode &node)
{
    if (node.isContainer())
        return QCoreApplication::translate("vd::widgets", "%n item(s)", nullptr, int(std::min<uint64_t>(node.size, INT32_MAX)));
    return formatBytes(node.size);
}

QString timeText(int64_t ms)
{
    if (ms <= 0)
        return {};
    return QLocale().toString(QDateTime::fromMSecsSinceEpoch(ms), QLocale::ShortFormat);
}

} // namespace vd::widgets
