#include "jsondocuments.h"

#include "jsoncodec.h"
#include "paths.h"
#include "removal.h"
#include "treewriter.h"
#include "views.h"

#include "storage/collection.h"

#include <algorithm>

namespace vd::tree {

namespace {

// Checks a document without building anything, so an invalid one is refused
// before the transaction is touched, and measures how many levels its nodes
// take below its top.
class MeasureSink final : public JsonSink
{
public:
    int height = 0;

    Status beginObject(const QString *) override { return open(); }
    Status beginArray(const QString *) override { return open(); }
    Status scalar(const QString *, QByteArrayView) override
    {
        height = std::max(height, m_open);
        return {};
    }
    Status end() override
    {
        --m_open;
        return {};
    }

private:
    Status open()
    {
        height = std::max(height, m_open++);
        return {};
    }
    int m_open = 0;
};

// Refuses a document whose nodes would pass the depth limit below path.
Status checkDocumentDepth(const QString &path, const MeasureSink &doc)
{
    VD_TRY_ASSIGN(const QStringList parts, splitPath(path));
    if (parts.size() + doc.height > VNode::kMaxDepth)
        return Status::invalidArgument(QStringLiteral("%1 is %2 levels deep and the document nests %3 levels below it: a drive is at most %4 levels deep")
                                           .arg(elidedPath(path))
                                           .arg(parts.size())
                                           .arg(doc.height)
                                           .arg(VNode::kMaxDepth));
    return {};
}

} // namespace

// Builds the nodes of a document as the parser reports them.
class JsonDocuments::Builder final : public JsonSink
{
public:
    Builder(TreeWriter &writer, VNode parent, QString name, uint64_t ordinal, Ticker *ticker)
        : m_w(writer)
        , m_ticker(ticker)
        , m_topParent(std::move(parent))
        , m_topName(std::move(name))
        , m_topOrdinal(ordinal)
    {
    }
    VNode top;

    Status beginObject(const QString *key) override { return open(key, Kind::JsonObject, {}); }
    Status beginArray(const QString *key) override { return open(key, Kind::JsonArray, {}); }
    Status scalar(const QString *key, QByteArrayView literal) override
    {
        if (literal.size() > VNode::kMaxInlineValue)
            return Status::invalidArgument(QStringLiteral("a JSON value of %1 bytes is larger than the %2 bytes a leaf holds").arg(literal.size()).arg(VNode::kMaxInlineValue));
        VD_TRY(open(key, Kind::JsonValue, literal));
        return end();
    }
    Status end() override
    {
        Frame f = std::move(m_stack.back());
        m_stack.pop_back();
        if (f.node.isContainer()) {
            f.node.size = f.count;
            VD_TRY(m_w.putNode(f.node, TreeWriter::PutMode::EntryOnly));
        }
        if (m_stack.empty())
            top = f.node;
        return {};
    }

private:
    struct Frame
    {
        VNode node;
        uint64_t count = 0;
    };

    Status open(const QString *key, Kind kind, QByteArrayView literal)
    {
        VD_TRY(tick(m_ticker));
        VNode n;
        n.id = Ruid::generateOrdered();
        n.kind = kind;
        n.createdMs = n.modifiedMs = TreeWriter::nowMs();
        VD_TRY_ASSIGN(n.version, m_w.nextVersion(n.version));
        if (m_stack.empty()) {
            n.parent = m_topParent.id;
            n.name = m_topName;
            n.ordinal = m_topOrdinal;
        } else {
            Frame &p = m_stack.back();
            n.parent = p.node.id;
            if (key) {
                VD_TRY_ASSIGN(n.name, nameForKey(*key));
            } else {
                n.name = QString::number(p.count);
            }
            n.ordinal = p.count++;
        }
        if (kind == Kind::JsonValue) {
            n.value = literal.toByteArray();
            n.size = uint64_t(n.value.size());
        }
        m_w.countAdded(n);
        VD_TRY(m_w.putNode(n, TreeWriter::PutMode::New));
        m_stack.push_back(Frame{n, 0});
        return {};
    }

    TreeWriter &m_w;
    Ticker *m_ticker;
    VNode m_topParent;
    QString m_topName;
    uint64_t m_topOrdinal;
    std::vector<Frame> m_stack;
};

Status JsonDocuments::importInto(const VNode &parent, const QString &name, uint64_t ordinal, QByteArrayView text, VNode *created)
{
    Builder builder(m_w, parent, name, ordinal, m_ticker);
    VD_TRY(parseJson(text, builder));
    *created = builder.top;
    return {};
}

Result<VNode> JsonDocuments::importJson(const QString &path, QIODevice &in, bool replace)
{
    VD_TRY(m_w.collection().checkWritable());
    if (!in.isReadable())
        return Status::ioError(QStringLiteral("cannot read the document: %1").arg(in.errorString()));
    const QByteArray text = in.readAll();
    MeasureSink check;
    VD_TRY(parseJson(text, check));
    VD_TRY_ASSIGN(const auto pn, m_w.resolveParent(path));
    VD_TRY(checkDocumentDepth(path, check));
    const VNode &parent = pn.first;
    const QString &name = pn.second;
    if (isJson(parent.kind))
        return Status::invalidArgument(QStringLiteral("%1 is inside a JSON document: use json set").arg(path));
    VD_TRY_ASSIGN(const auto existing, m_w.live().lookupEntry(parent.id, name));
    if (existing && !replace)
        return Status::alreadyExists(QStringLiteral("%1 already exists").arg(path));
    return m_w.guard([&]() -> Result<VNode> {
        if (existing) {
            m_w.invalidate(*existing);
            VD_TRY(m_w.removeTree(*existing, int(splitPath(path)->size()), m_ticker));
            VD_TRY(m_w.touchParent(parent.id, -1));
        }
        VNode n;
        VD_TRY(importInto(parent, name, 0, text, &n));
        VD_TRY(m_w.touchParent(parent.id, +1));
        return n;
    }());
}

Status JsonDocuments::writeJson(TreeView &v, const VNode &n, int depth, JsonWriter &w)
{
    // kinds[level]: the kind of the container entered last at that level,
    // the parent of what comes next one level down.
    std::vector<Kind> kinds;
    return v.walkBelow(
        n, VNode::kMaxDepth - depth,
        [&](const VNode &k, int level) -> Result<TreeView::Step> {
            if (!isJson(k.kind))
                return Status::invalidArgument(QStringLiteral("'%1' is a %2, not part of a JSON document").arg(k.name, kindName(k.kind)));
            QString memberKey;
            const bool member = level > 0 && kinds[size_t(level - 1)] == Kind::JsonObject;
            if (member) {
                VD_TRY_ASSIGN(memberKey, keyForName(k.name));
            }
            const QString *key = member ? &memberKey : nullptr;
            kinds.resize(size_t(level));
            kinds.push_back(k.kind);
            if (k.kind == Kind::JsonValue) {
                VD_TRY(w.scalar(key, k.value));
                return TreeView::Step::Skip;
            }
            VD_TRY(k.kind == Kind::JsonObject ? w.beginObject(key) : w.beginArray(key));
            return TreeView::Step::Descend;
        },
        [&](const VNode &, int) { return w.end(); });
}

Status JsonDocuments::exportJson(TreeView &view, const QString &path, QIODevice &out, int indent)
{
    VD_TRY_ASSIGN(const VNode n, view.resolve(path));
    if (!isJson(n.kind))
        return Status::invalidArgument(QStringLiteral("%1 is a %2, not a JSON document").arg(path, kindName(n.kind)));
    JsonWriter w(&out, indent);
    VD_TRY(writeJson(view, n, int(splitPath(path)->size()), w));
    return w.finish();
}

Result<VNode> JsonDocuments::setJson(const QString &path, QByteArrayView jsonText)
{
    VD_TRY(m_w.collection().checkWritable());
    MeasureSink check;
    VD_TRY(parseJson(jsonText, check));
    VD_TRY_ASSIGN(const auto pn, m_w.resolveParent(path));
    VD_TRY(checkDocumentDepth(path, check));
    const VNode &parent = pn.first;
    const QString &name = pn.second;
    VD_TRY_ASSIGN(const auto existing, m_w.live().lookupEntry(parent.id, name));
    if (parent.kind == Kind::Directory) {
        if (existing && !isJson(existing->kind))
            return Status::alreadyExists(QStringLiteral("%1 exists and is a %2, not a JSON document").arg(path, kindName(existing->kind)));
    } else if (parent.kind == Kind::JsonArray) {
        bool ok = false;
        const qulonglong index = name.toULongLong(&ok);
        if (!ok || QString::number(index) != name || index > parent.size)
            return Status::invalidArgument(QStringLiteral("%1: an array index must be 0..%2 (%2 appends)").arg(path).arg(parent.size));
    } else {
        // a JSON object: the name must be an escaped key
        VD_TRY(keyForName(name).status());
    }
    if (existing && existing->kind == Kind::JsonValue) {
        // A scalar over a scalar keeps its node: same id, a new version, so a
        // diff says "modified" and nothing else in the document moves.
        auto literal = canonicalScalar(jsonText);
        if (literal) {
            if (literal->size() > VNode::kMaxInlineValue)
                return Status::invalidArgument(QStringLiteral("a JSON value of %1 bytes is larger than the %2 bytes a leaf holds").arg(literal->size()).arg(VNode::kMaxInlineValue));
            return m_w.guard([&]() -> Result<VNode> {
                VNode n = *existing;
                m_w.collection().subtractFileBytes(n.size);
                n.value = *literal;
                n.size = uint64_t(n.value.size());
                m_w.collection().addFileBytes(n.size);
                n.modifiedMs = TreeWriter::nowMs();
                VD_TRY_ASSIGN(n.version, m_w.nextVersion(n.version));
                VD_TRY(m_w.putNode(n));
                return n;
            }());
        }
    }
    return m_w.guard([&]() -> Result<VNode> {
        uint64_t ordinal = 0;
        if (existing) {
            ordinal = existing->ordinal;
            m_w.invalidate(*existing);
            VD_TRY(m_w.removeTree(*existing, int(splitPath(path)->size())));
            VD_TRY(m_w.touchParent(parent.id, -1));
        } else if (parent.kind == Kind::JsonObject) {
            VD_TRY_ASSIGN(ordinal, m_w.nextOrdinal(parent));
        } else if (parent.kind == Kind::JsonArray) {
            ordinal = parent.size;
        }
        VNode n;
        VD_TRY(importInto(parent, name, ordinal, jsonText, &n));
        VD_TRY(m_w.touchParent(parent.id, +1));
        return n;
    }());
}

Status JsonDocuments::deleteJson(const QString &path)
{
    VD_TRY_ASSIGN(const VNode n, m_w.live().resolve(path));
    if (!isJson(n.kind))
        return Status::invalidArgument(QStringLiteral("%1 is a %2, not part of a JSON document").arg(path, kindName(n.kind)));
    return Removal(m_w).remove(path, true, false);
}

} // namespace vd::tree
