// JsonModel: one JSON document of a collection (or a value inside one), as
// a tree for the JSON editor: columns key, value and type; object members
// in document order, array elements by index; scalars as their exact
// literals (a 20-digit integer is those 20 digits — never a double).
//
// Lifetime: one model for an editor's life; setDocument() points it at a
// document (a reset). Its items are its own copies of the document's
// values (never engine pointers), keyed by the VNode ids.
//
// Loading: the whole document in one request (DriveApi::jsonTree, bounded
// at JsonTree::kMaxNodes values). Live: change records of the collection
// that touch a value of the document (its id, or a container of it as the
// parent before or after) are coalesced on a short timer (kCoalesceMs) into
// one read of the document again, which is merged into the items: rows
// inserted, removed, moved and changed — never a reset, so a view keeps
// what it had expanded and selected. Records of the read's own generation
// or older are in it already. A snapshot's document never changes and is
// not followed.
//
// Editing: each change is one request (setJson, deleteJson); the items
// change when its records come back, like any other client's. A change
// refused here (an invalid value, a snapshot) or by the node comes out as
// operationFailed with the reason; setData returns false for the former.
//
// Thread safety: the GUI thread only.
#pragma once

#include "client/driveapi.h"

#include <QAbstractItemModel>
#include <QFutureWatcher>
#include <QPointer>
#include <QTimer>

#include <memory>
#include <unordered_set>
#include <vector>

namespace vd::widgets {

class JsonModel : public QAbstractItemModel
{
    Q_OBJECT
public:
    enum Column { KeyColumn, ValueColumn, TypeColumn, ColumnCount };
    enum Role {
        PathRole = Qt::UserRole + 1, // the value's path in the drive
        KindRole,                    // int(tree::Kind)
        LiteralRole,                 // a scalar's exact literal (QString)
        TypeRole,                    // int(ValueType)
    };
    // A value's JSON type; also the choices of the type column's editor.
    enum class ValueType { Object, Array, String, Number, Boolean, Null };
    static constexpr int kValueTypes = 6;
    enum class State { Empty, Loading, Ready, Failed };
    static constexpr int kCoalesceMs = 50;

    explicit JsonModel(client::DriveApi *api, QObject *parent = nullptr);
    ~JsonModel() override;

    // Reads the document at path of collection (at: a snapshot's, read-only) and follows it.
    void setDocument(const Ruid &collection, const QString &path, const QString &at = {});
    // Reads it again (the items are merged, not reset).
    void reload();
    Ruid collection() const { return m_collection; }
    QString path() const { return m_path; }
    QString snapshot() const { return m_at; }
    bool isReadOnly() const { return !m_at.isEmpty(); }
    State state() const { return m_state; }
    QString errorText() const { return m_error; }
    // The document as last read (valid once Ready): what a diff compares.
    const client::JsonNode &document() const { return m_document; }
    uint64_t generation() const { return m_generation; }

    QString pathOf(const QModelIndex &index) const;
    ValueType typeOf(const QModelIndex &index) const;
    // The index of the value at the JSON Pointer-like path of keys and
    // indices below the document ({} : the document's row).
    QModelIndex indexAt(const QStringList &keys) const;

    // Changes (false, with operationFailed, when refused before asking the node).
    // A member of the object at `object` (or of the object holding it), set to jsonText.
    bool addMember(const QModelIndex &object, const QString &key, const QByteArray &jsonText = "null");
    // An element appended to the array at `array`.
    bool addElement(const QModelIndex &array, const QByteArray &jsonText = "null");
    bool removeValue(const QModelIndex &index);
    // Converts the value: its text kept where the new type can hold it.
    bool setValueType(const QModelIndex &index, ValueType type);

    // The JSON literal text typed into a value of type `type` means:
    // strings are taken as text (escaped here), numbers must be JSON
    // numbers (kept digit for digit), booleans true/false, null null, and
    // objects and arrays JSON of that type. InvalidArgument with a reason.
    static Result<QByteArray> literalFor(ValueType type, const QString &text);
    // A string literal's text (its escapes undone).
    static QString stringOf(QByteArrayView literal);
    static ValueType typeOfLiteral(QByteArrayView literal);
    static QString typeName(ValueType type);

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    bool hasChildren(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    // ValueColumn (EditRole: the text, as literalFor takes it) and
    // TypeColumn (EditRole: int(ValueType)).
    bool setData(const QModelIndex &index, const QVariant &value, int role = Qt::EditRole) override;

    // Items and the id index agree, rows are positions (tests call it after every change).
    bool checkInvariants() const;

Q_SIGNALS:
    void stateChanged(vd::widgets::JsonModel::State state);
    // A read of the document was merged in (tests wait on it).
    void changesApplied();
    // The document is gone (removed, moved away): the model is Failed.
    void documentRemoved();
    void operationFailed(const QString &summary, const QString &detail);

private:
    struct Item;
    Item *itemOf(const QModelIndex &index) const;
    QModelIndex indexOf(const Item *item, int column = 0) const;
    std::unique_ptr<Item> build(const client::JsonNode &node, Item *parent, int row);
    void syncItem(Item *item, const client::JsonNode &node);
    void syncChildren(Item *item, const std::vector<client::JsonNode> &want);
    void indexIds(const Item *item);
    void read();
    void onRead();
    void onChanged(const vd::Ruid &collection, const std::vector<vd::tree::ChangeRecord> &records);
    void onResync(const vd::Ruid &collection, const QString &why);
    void setState(State s);
    bool refuseIfReadOnly();
    template<typename T>
    void send(QFuture<Result<T>> request, const QString &summary);
    bool setValueText(const QModelIndex &index, const QString &text);

    QPointer<client::DriveApi> m_api;
    Ruid m_collection;
    QString m_path, m_at;
    State m_state = State::Empty;
    QString m_error;
    client::JsonNode m_document;
    uint64_t m_generation = 0;
    std::unique_ptr<Item> m_root; // invisible: its one child is the document
    std::unordered_set<Ruid> m_ids;
    QFutureWatcher<Result<client::JsonTree>> *m_reading = nullptr;
    bool m_readAgain = false; // records came while a read was under way
    QTimer m_coalesce;
    uint64_t m_epoch = 0;
};

} // namespace vd::widgets
