// JsonDocuments: JSON documents as VNode trees — importing one, setting or
// deleting one member or element without rewriting the rest, and exporting
// one from any view (the live tree, a snapshot). A document is parsed once
// to check it (and its depth) before anything changes, then built node by
// node.
//
// Owns nothing: made for one call on the Drive's TreeWriter; exportJson()
// needs only the view it reads.
// Thread safety: not thread-safe; changes on the writer's thread only, an
// export on the thread that uses the view.
#pragma once

#include "ticker.h"
#include "vnode.h"

#include "core/status.h"

#include <QIODevice>

namespace vd::tree {

class JsonWriter;
class TreeView;
class TreeWriter;

class JsonDocuments
{
public:
    // ticker: the progress and cancel of the call (ticker.h); null: none.
    explicit JsonDocuments(TreeWriter &writer, Ticker *ticker = nullptr) : m_w(writer), m_ticker(ticker) {}

    // See Drive::importJson, exportJson, setJson, deleteJson.
    Result<VNode> importJson(const QString &path, QIODevice &in, bool replace);
    static Status exportJson(TreeView &view, const QString &path, QIODevice &out, int indent);
    Result<VNode> setJson(const QString &path, QByteArrayView jsonText);
    Status deleteJson(const QString &path);

private:
    class Builder;
    Status importInto(const VNode &parent, const QString &name, uint64_t ordinal, QByteArrayView text, VNode *created);
    // n is `depth` levels deep.
    static Status writeJson(TreeView &v, const VNode &n, int depth, JsonWriter &w);

    TreeWriter &m_w;
    Ticker *m_ticker;
};

} // namespace vd::tree
