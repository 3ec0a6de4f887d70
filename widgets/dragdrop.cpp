#include "dragdrop.h"

#include <QCborArray>
#include <QCborMap>
#include <QCborValue>
#include <QMimeData>
#include <QUrl>

namespace vd::widgets {

QMimeData *mimeDataForNodes(const NodesPayload &nodes)
{
    auto *data = new QMimeData;
    setNodes(data, nodes);
    return data;
}

void setNodes(QMimeData *data, const NodesPayload &nodes)
{
    QCborArray paths;
    for (const QString &p : nodes.paths)
        paths.append(p);
    const QCborMap map{{QStringLiteral("collection"), nodes.collection.toString()}, {QStringLiteral("at"), nodes.at}, {QStringLiteral("paths"), paths}};
    data->setData(QString::fromLatin1(kNodesMimeType), map.toCborValue().toCbor());
    data->setText(nodes.paths.join(QLatin1Char('\n')));
}

std::optional<NodesPayload> nodesIn(const QMimeData *data)
{
    if (!data || !data->hasFormat(QString::fromLatin1(kNodesMimeType)))
        return std::nullopt;
    QCborParserError error;
    const QCborValue v = QCborValue::fromCbor(data->data(QString::fromLatin1(kNodesMimeType)), &error);
    if (error.error != QCborError::NoError || !v.isMap())
        return std::nullopt;
    const QCborMap map = v.toMap();
    auto ruid = Ruid::parse(map.value(QStringLiteral("collection")).toString());
    const QCborValue paths = map.value(QStringLiteral("paths"));
    if (!ruid || !paths.isArray() || paths.toArray().isEmpty() || paths.toArray().size() > kMaxDropItems || !map.value(QStringLiteral("at")).isString())
        return std::nullopt;
    NodesPayload out{*ruid, map.value(QStringLiteral("at")).toString(), {}};
    for (const QCborValue &p : paths.toArray()) {
        if (!p.isString() || !p.toString().startsWith(QLatin1Char('/')))
            return std::nullopt;
        out.paths.append(p.toString());
    }
    return out;
}

QStringList localFilesIn(const QMimeData *data)
{
    QStringList out;
    if (!data || !data->hasUrls())
        return out;
    const QList<QUrl> urls = data->urls();
    for (const QUrl &u : urls) {
        if (out.size() >= kMaxDropItems)
            break;
        if (u.isLocalFile() && !u.toLocalFile().isEmpty())
            out.append(u.toLocalFile());
    }
    return out;
}

} // namespace vd::widgets
