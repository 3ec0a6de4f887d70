#include "jsonmodel.h"

#include "displaytext.h"

#include "tree/jsoncodec.h"

#include <QJsonArray>
#include <functional>
#include <QJsonDocument>

namespace vd::widgets {

using client::JsonNode;
using tree::Kind;

struct JsonModel::Item
{
    Item *parent = nullptr;
    int row = 0;
    Ruid id;
    QString name;      // the VNode's: escaped key, index, or the document's name
    QString key;       // a member's key
    Kind kind = Kind::JsonValue;
    QByteArray literal;
    std::vector<std::unique_ptr<Item>> children;

    bool isMember() const { return parent && parent->kind == Kind::JsonObject; }
};

namespace {

// Checks that text is one JSON value and says which kind.
class KindSink final : public tree::JsonSink
{
public:
    Status beginObject(const QString *) override { return note(Kind::JsonObject); }
    Status beginArray(const QString *) override { return note(Kind::JsonArray); }
    Status scalar(const QString *, QByteArrayView) override { return note(Kind::JsonValue); }
    Status end() override { return {}; }
    std::optional<Kind> first;

private:
    Status note(Kind k)
    {
        if (!first)
            first = k;
        return {};
    }
};

Result<Kind> kindOfJson(QByteArrayView text)
{
    KindSink sink;
    VD_TRY(tree::parseJson(text, sink));
    return *sink.first;
}

QByteArray stringLiteral(const QString &text)
{
    QByteArray out = "\"";
    const QByteArray utf8 = text.toUtf8();
    for (const char ch : utf8) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20)
                out += QByteArray("\\u00") + QByteArray::number(c, 16).rightJustified(2, '0');
            else
                out += ch;
        }
    }
    return out + '"';
}

} // namespace

JsonModel::JsonModel(client::DriveApi *api, QObject *parent) : QAbstractItemModel(parent), m_api(api), m_root(std::make_unique<Item>())
{
    m_coalesce.setSingleShot(true);
    m_coalesce.setInterval(kCoalesceMs);
    connect(&m_coalesce, &QTimer::timeout, this, &JsonModel::read);
    if (m_api) {
        connect(m_api, &client::DriveApi::changed, this, &JsonModel::onChanged);
        connect(m_api, &client::DriveApi::resyncNeeded, this, &JsonModel::onResync);
    }
}

JsonModel::~JsonModel() = default;

void JsonModel::setDocument(const Ruid &collection, const QString &path, const QString &at)
{
    beginResetModel();
    ++m_epoch;
    if (m_reading) {
        m_reading->disconnect(this);
        m_reading->deleteLater(); // its answer is not wanted
        m_reading = nullptr;
    }
    m_collection = collection;
    m_path = path;
    m_at = at;
    m_root->children.clear();
    m_ids.clear();
    m_document = {};
    m_generation = 0;
    m_error.clear();
    m_readAgain = false;
    m_coalesce.stop();
    endResetModel();
    if (!m_api || collection.isNull()) {
        setState(State::Empty);
        return;
    }
    setState(State::Loading);
    read();
}

void JsonModel::reload()
{
    if (m_state == State::Ready)
        read();
    else
        setDocument(m_collection, m_path, m_at);
}

void JsonModel::read()
{
    if (!m_api || m_collection.isNull())
        return;
    if (m_reading) {
        m_readAgain = true;
        return;
    }
    m_reading = new QFutureWatcher<Result<client::JsonTree>>(this);
    connect(m_reading, &QFutureWatcherBase::finished, this, &JsonModel::onRead);
    m_reading->setFuture(m_api->jsonTree(m_collection, m_path, m_at));
}

void JsonModel::onRead()
{
    auto *watcher = m_reading;
    m_reading = nullptr;
    watcher->deleteLater();
    Result<client::JsonTree> tree = watcher->future().resultCount() ? watcher->result() : Result<client::JsonTree>(Status::cancelled(tr("The read was cancelled.")));
    if (!tree) {
        const bool gone = tree.status().code() == ErrorCode::NotFound && m_state == State::Ready;
        if (m_state == State::Ready && !gone) {
            // A later read failed for a passing reason: keep what is shown.
            Q_EMIT operationFailed(tr("Could not read the document again."), tree.status().toString());
            return;
        }
        m_error = tree.status().toString();
        if (gone) {
            beginResetModel();
            m_root->children.clear();
            m_ids.clear();
            endResetModel();
        }
        setState(State::Failed);
        if (gone)
            Q_EMIT documentRemoved();
        return;
    }
    if (m_state != State::Ready) {
        beginResetModel();
        m_root->children.clear();
        m_root->children.push_back(build(tree->root, m_root.get(), 0));
        endResetModel();
    } else {
        syncChildren(m_root.get(), {tree->root});
    }
    m_document = std::move(tree->root);
    m_generation = tree->generation;
    m_ids.clear();
    indexIds(m_root.get());
    if (m_state != State::Ready)
        setState(State::Ready);
    Q_ASSERT(checkInvariants());
    Q_EMIT changesApplied();
    if (m_readAgain) {
        m_readAgain = false;
        read();
    }
}

std::unique_ptr<JsonModel::Item> JsonModel::build(const JsonNode &node, Item *parent, int row)
{
    auto item = std::make_unique<Item>();
    item->parent = parent;
    item->row = row;
    item->id = node.id;
    item->name = node.name;
    item->key = node.key;
    item->kind = node.kind;
    item->literal = node.literal;
    item->children.reserve(node.children.size());
    for (size_t i = 0; i < node.children.size(); ++i)
        item->children.push_back(build(node.children[i], item.get(), int(i)));
    return item;
}

void JsonModel::syncItem(Item *item, const JsonNode &node)
{
    if (item->name != node.name || item->key != node.key || item->kind != node.kind || item->literal != node.literal) {
        item->name = node.name;
        item->key = node.key;
        item->kind = node.kind;
        item->literal = node.literal;
        Q_EMIT dataChanged(indexOf(item, 0), indexOf(item, ColumnCount - 1));
    }
    syncChildren(item, node.children);
}

void JsonModel::syncChildren(Item *item, const std::vector<JsonNode> &want)
{
    const QModelIndex parent = item == m_root.get() ? QModelIndex() : indexOf(item);
    auto &kids = item->children;
    auto reindex = [&kids] {
        for (size_t i = 0; i < kids.size(); ++i)
            kids[i]->row = int(i);
    };
    // Gone: removed a run at a time, from the last.
    std::unordered_set<Ruid> wanted;
    for (const JsonNode &n : want)
        wanted.insert(n.id);
    for (int last = int(kids.size()) - 1; last >= 0;) {
        if (wanted.count(kids[size_t(last)]->id)) {
            --last;
            continue;
        }
        int first = last;
        while (first > 0 && !wanted.count(kids[size_t(first - 1)]->id))
            --first;
        beginRemoveRows(parent, first, last);
        kids.erase(kids.begin() + first, kids.begin() + last + 1);
        reindex();
        endRemoveRows();
        last = first - 1;
    }
    // Then in the wanted order: kept ones moved into place, new ones inserted.
    for (size_t i = 0; i < want.size(); ++i) {
        const JsonNode &n = want[i];
        if (i < kids.size() && kids[i]->id == n.id) {
            syncItem(kids[i].get(), n);
            continue;
        }
        size_t j = i + 1;
        while (j < kids.size() && kids[j]->id != n.id)
            ++j;
        if (j < kids.size()) {
            beginMoveRows(parent, int(j), int(j), parent, int(i));
            auto moved = std::move(kids[j]);
            kids.erase(kids.begin() + qsizetype(j));
            kids.insert(kids.begin() + qsizetype(i), std::move(moved));
            reindex();
            endMoveRows();
            syncItem(kids[i].get(), n);
        } else {
            beginInsertRows(parent, int(i), int(i));
            kids.insert(kids.begin() + qsizetype(i), build(n, item, int(i)));
            reindex();
            endInsertRows();
        }
    }
}

void JsonModel::indexIds(const Item *item)
{
    for (const auto &c : item->children) {
        m_ids.insert(c->id);
        indexIds(c.get());
    }
}

void JsonModel::onChanged(const Ruid &collection, const std::vector<tree::ChangeRecord> &records)
{
    if (collection != m_collection || isReadOnly() || m_state != State::Ready)
        return;
    for (const tree::ChangeRecord &r : records) {
        if (r.generation <= m_generation || r.isSnapshot())
            continue;
        if (m_ids.count(r.id) || (r.after && m_ids.count(r.after->parent)) || (r.before && m_ids.count(r.before->parent))) {
            if (!m_coalesce.isActive())
                m_coalesce.start();
            return;
        }
    }
}

void JsonModel::onResync(const Ruid &collection, const QString &)
{
    if (collection == m_collection && !isReadOnly() && m_state == State::Ready && !m_coalesce.isActive())
        m_coalesce.start();
}

void JsonModel::setState(State s)
{
    if (m_state == s && s != State::Loading)
        return;
    m_state = s;
    Q_EMIT stateChanged(s);
}

JsonModel::Item *JsonModel::itemOf(const QModelIndex &index) const
{
    return index.isValid() ? static_cast<Item *>(index.internalPointer()) : m_root.get();
}

QModelIndex JsonModel::indexOf(const Item *item, int column) const
{
    if (!item || item == m_root.get())
        return {};
    return createIndex(item->row, column, const_cast<Item *>(item));
}

QString JsonModel::pathOf(const QModelIndex &index) const
{
    QStringList names;
    for (const Item *i = itemOf(index); i && i->parent && i->parent != m_root.get(); i = i->parent)
        names.prepend(i->name);
    if (!index.isValid())
        return {};
    QString path = m_path;
    for (const QString &n : names)
        path += QLatin1Char('/') + n;
    return path;
}

JsonModel::ValueType JsonModel::typeOf(const QModelIndex &index) const
{
    const Item *i = itemOf(index);
    switch (i->kind) {
    case Kind::JsonObject: return ValueType::Object;
    case Kind::JsonArray: return ValueType::Array;
    default: return typeOfLiteral(i->literal);
    }
}

QModelIndex JsonModel::indexAt(const QStringList &keys) const
{
    if (m_root->children.empty())
        return {};
    const Item *at = m_root->children.front().get();
    for (const QString &k : keys) {
        const Item *next = nullptr;
        for (const auto &c : at->children)
            if ((at->kind == Kind::JsonObject ? c->key : c->name) == k) {
                next = c.get();
                break;
            }
        if (!next)
            return {};
        at = next;
    }
    return indexOf(at);
}

JsonModel::ValueType JsonModel::typeOfLiteral(QByteArrayView literal)
{
    if (literal.isEmpty())
        return ValueType::Null;
    switch (literal.front()) {
    case '"': return ValueType::String;
    case 't':
    case 'f': return ValueType::Boolean;
    case 'n': return ValueType::Null;
    default: return ValueType::Number;
    }
}

QString JsonModel::typeName(ValueType type)
{
    switch (type) {
    case ValueType::Object: return tr("object");
    case ValueType::Array: return tr("array");
    case ValueType::String: return tr("string");
    case ValueType::Number: return tr("number");
    case ValueType::Boolean: return tr("boolean");
    case ValueType::Null: return tr("null");
    }
    return {};
}

QString JsonModel::stringOf(QByteArrayView literal)
{
    // A canonical string literal, as the tree keeps it: QJsonDocument reads
    // strings exactly (it is only numbers it would turn into doubles).
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray("[") + literal.toByteArray() + "]");
    return doc.array().at(0).toString();
}

Result<QByteArray> JsonModel::literalFor(ValueType type, const QString &text)
{
    const QByteArray utf8 = text.toUtf8();
    switch (type) {
    case ValueType::String: return tree::canonicalScalar(stringLiteral(text));
    case ValueType::Number: {
        auto literal = tree::canonicalScalar(utf8);
        if (!literal || typeOfLiteral(*literal) != ValueType::Number)
            return Status::invalidArgument(tr("“%1” is not a JSON number (digits, an optional sign, fraction and exponent: -12.5e3).").arg(text));
        return literal;
    }
    case ValueType::Boolean: {
        const QByteArray t = utf8.trimmed();
        if (t != "true" && t != "false")
            return Status::invalidArgument(tr("A boolean is true or false, not “%1”.").arg(text));
        return t;
    }
    case ValueType::Null:
        if (utf8.trimmed() != "null")
            return Status::invalidArgument(tr("A null value can only be null, not “%1”: change its type first.").arg(text));
        return QByteArray("null");
    case ValueType::Object:
    case ValueType::Array: {
        auto kind = kindOfJson(utf8);
        if (!kind)
            return kind.status();
        if (*kind != (type == ValueType::Object ? Kind::JsonObject : Kind::JsonArray))
            return Status::invalidArgument(tr("This JSON is not an %1.").arg(typeName(type)));
        return utf8;
    }
    }
    return Status::internal(QStringLiteral("unknown JSON type"));
}

QModelIndex JsonModel::index(int row, int column, const QModelIndex &parent) const
{
    if (!hasIndex(row, column, parent))
        return {};
    const Item *p = itemOf(parent);
    return createIndex(row, column, p->children[size_t(row)].get());
}

QModelIndex JsonModel::parent(const QModelIndex &child) const
{
    if (!child.isValid())
        return {};
    return indexOf(itemOf(child)->parent);
}

int JsonModel::rowCount(const QModelIndex &parent) const
{
    if (parent.isValid() && parent.column() != 0)
        return 0;
    return int(itemOf(parent)->children.size());
}

int JsonModel::columnCount(const QModelIndex &) const
{
    return ColumnCount;
}

bool JsonModel::hasChildren(const QModelIndex &parent) const
{
    return rowCount(parent) > 0;
}

QVariant JsonModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid))
        return {};
    const Item *i = itemOf(index);
    const ValueType type = typeOf(index);
    const bool isRoot = i->parent == m_root.get();
    const QString key = i->isMember() ? i->key : i->name;
    switch (index.column()) {
    case KeyColumn:
        switch (role) {
        case Qt::DisplayRole: return displayName(isRoot && !i->isMember() ? i->name : key);
        case Qt::EditRole:
        case Qt::AccessibleTextRole: return key;
        case Qt::ToolTipRole: return richTextOf(pathOf(index));
        }
        break;
    case ValueColumn:
        switch (role) {
        case Qt::DisplayRole:
            if (i->kind == Kind::JsonObject)
                return tr("{%n member(s)}", nullptr, int(i->children.size()));
            if (i->kind == Kind::JsonArray)
                return tr("[%n element(s)]", nullptr, int(i->children.size()));
            return displayName(QString::fromUtf8(i->literal));
        case Qt::EditRole:
            if (i->kind != Kind::JsonValue)
                return QString();
            return type == ValueType::String ? stringOf(i->literal) : QString::fromUtf8(i->literal);
        case Qt::AccessibleTextRole: return QString::fromUtf8(i->literal);
        case Qt::ToolTipRole:
            if (i->kind == Kind::JsonValue)
                return richTextOf(QString::fromUtf8(i->literal));
            break;
        }
        break;
    case TypeColumn:
        switch (role) {
        case Qt::DisplayRole:
        case Qt::AccessibleTextRole: return typeName(type);
        case Qt::EditRole: return int(type);
        }
        break;
    }
    switch (role) {
    case PathRole: return pathOf(index);
    case KindRole: return int(i->kind);
    case LiteralRole: return QString::fromUtf8(i->literal);
    case TypeRole: return int(type);
    }
    return {};
}

QVariant JsonModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractItemModel::headerData(section, orientation, role);
    switch (section) {
    case KeyColumn: return tr("Key");
    case ValueColumn: return tr("Value");
    case TypeColumn: return tr("Type");
    }
    return {};
}

Qt::ItemFlags JsonModel::flags(const QModelIndex &index) const
{
    Qt::ItemFlags f = QAbstractItemModel::flags(index);
    if (!index.isValid() || isReadOnly() || m_state != State::Ready)
        return f;
    if (index.column() == TypeColumn || (index.column() == ValueColumn && itemOf(index)->kind == Kind::JsonValue))
        f |= Qt::ItemIsEditable;
    return f;
}

bool JsonModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
    if (role != Qt::EditRole || !checkIndex(index, CheckIndexOption::IndexIsValid))
        return false;
    if (index.column() == ValueColumn)
        return setValueText(index, value.toString());
    if (index.column() == TypeColumn) {
        bool ok = false;
        const int t = value.toInt(&ok);
        if (!ok || t < 0 || t >= kValueTypes)
            return false;
        return setValueType(index, ValueType(t));
    }
    return false;
}

bool JsonModel::refuseIfReadOnly()
{
    if (isReadOnly()) {
        Q_EMIT operationFailed(tr("This document is in the snapshot “%1”: it cannot be changed.").arg(m_at), QString());
        return true;
    }
    if (m_state != State::Ready || !m_api) {
        Q_EMIT operationFailed(tr("The document is not loaded."), m_error);
        return true;
    }
    return false;
}

template<typename T>
void JsonModel::send(QFuture<Result<T>> request, const QString &summary)
{
    auto *watcher = new QFutureWatcher<Result<T>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, summary] {
        watcher->deleteLater();
        if (watcher->future().resultCount() == 0)
            Q_EMIT operationFailed(summary, tr("cancelled"));
        else if (!watcher->result())
            Q_EMIT operationFailed(summary, watcher->result().status().toString());
    });
    watcher->setFuture(std::move(request));
}

bool JsonModel::setValueText(const QModelIndex &index, const QString &text)
{
    if (refuseIfReadOnly())
        return false;
    const Item *i = itemOf(index);
    if (i->kind != Kind::JsonValue)
        return false;
    const QString path = pathOf(index);
    auto literal = literalFor(typeOf(index), text);
    if (!literal) {
        Q_EMIT operationFailed(tr("“%1” cannot be the value of %2.").arg(text, displayName(i->isMember() ? i->key : i->name)), literal.status().message());
        return false;
    }
    if (*literal == i->literal)
        return true;
    send(m_api->setJson(m_collection, path, *literal), tr("Could not change the value at %1.").arg(path));
    return true;
}

bool JsonModel::setValueType(const QModelIndex &index, ValueType type)
{
    if (refuseIfReadOnly() || !index.isValid())
        return false;
    const ValueType now = typeOf(index);
    if (now == type)
        return true;
    const Item *i = itemOf(index);
    // What the value says as text, when it is a scalar.
    const QString text = i->kind != Kind::JsonValue ? QString() : now == ValueType::String ? stringOf(i->literal) : QString::fromUtf8(i->literal);
    QByteArray json;
    switch (type) {
    case ValueType::Object: json = "{}"; break;
    case ValueType::Array: json = "[]"; break;
    case ValueType::Null: json = "null"; break;
    case ValueType::Boolean: json = text.trimmed() == QLatin1String("true") ? "true" : "false"; break;
    case ValueType::Number: {
        auto n = literalFor(ValueType::Number, text);
        json = n ? *n : QByteArray("0");
        break;
    }
    case ValueType::String: json = *literalFor(ValueType::String, text); break;
    }
    const QString path = pathOf(index);
    send(m_api->setJson(m_collection, path, json), tr("Could not change the type of %1.").arg(path));
    return true;
}

bool JsonModel::addMember(const QModelIndex &at, const QString &key, const QByteArray &jsonText)
{
    if (refuseIfReadOnly())
        return false;
    QModelIndex object = at.siblingAtColumn(0);
    if (object.isValid() && itemOf(object)->kind != Kind::JsonObject)
        object = object.parent();
    if (!object.isValid() || itemOf(object)->kind != Kind::JsonObject) {
        Q_EMIT operationFailed(tr("Members are added to objects: choose an object or one of its members."), QString());
        return false;
    }
    const Item *o = itemOf(object);
    for (const auto &c : o->children)
        if (c->key == key) {
            Q_EMIT operationFailed(tr("The object already has a member “%1”.").arg(displayName(key)), QString());
            return false;
        }
    auto name = tree::nameForKey(key);
    if (!name) {
        Q_EMIT operationFailed(tr("“%1” cannot be a key here.").arg(displayName(key)), name.status().message());
        return false;
    }
    if (auto kind = kindOfJson(jsonText); !kind) {
        Q_EMIT operationFailed(tr("The value is not JSON."), kind.status().message());
        return false;
    }
    const QString path = pathOf(object) + QLatin1Char('/') + *name;
    send(m_api->setJson(m_collection, path, jsonText), tr("Could not add the member “%1”.").arg(displayName(key)));
    return true;
}

bool JsonModel::addElement(const QModelIndex &at, const QByteArray &jsonText)
{
    if (refuseIfReadOnly())
        return false;
    QModelIndex array = at.siblingAtColumn(0);
    if (array.isValid() && itemOf(array)->kind != Kind::JsonArray)
        array = array.parent();
    if (!array.isValid() || itemOf(array)->kind != Kind::JsonArray) {
        Q_EMIT operationFailed(tr("Elements are added to arrays: choose an array or one of its elements."), QString());
        return false;
    }
    if (auto kind = kindOfJson(jsonText); !kind) {
        Q_EMIT operationFailed(tr("The value is not JSON."), kind.status().message());
        return false;
    }
    const QString path = pathOf(array) + QLatin1Char('/') + QString::number(itemOf(array)->children.size());
    send(m_api->setJson(m_collection, path, jsonText), tr("Could not add an element to %1.").arg(pathOf(array)));
    return true;
}

bool JsonModel::removeValue(const QModelIndex &index)
{
    if (refuseIfReadOnly() || !index.isValid())
        return false;
    if (itemOf(index)->parent == m_root.get()) {
        Q_EMIT operationFailed(tr("The document itself is not removed here: move it to the trash in the explorer."), QString());
        return false;
    }
    const QString path = pathOf(index);
    send(m_api->deleteJson(m_collection, path), tr("Could not remove %1.").arg(path));
    return true;
}

bool JsonModel::checkInvariants() const
{
    size_t count = 0;
    std::function<bool(const Item *)> check = [&](const Item *item) {
        for (size_t r = 0; r < item->children.size(); ++r) {
            const Item *c = item->children[r].get();
            if (c->parent != item || c->row != int(r) || !m_ids.count(c->id))
                return false;
            ++count;
            if (c->kind == Kind::JsonValue ? !c->children.empty() : !c->literal.isEmpty())
                return false;
            if (!check(c))
                return false;
        }
        return true;
    };
    return m_root->children.size() <= 1 && check(m_root.get()) && count == m_ids.size();
}

} // namespace vd::widgets
