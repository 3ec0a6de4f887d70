// JsonEditor: a window over one JSON document of a collection — the tree
// of its values (JsonModel: key, value, type), edited in place: a value
// typed into its cell, a type chosen in the type column or the context
// menu, members and elements added and removed; the document imported
// from and exported to a local file; compared with a snapshot's copy of it
// (JsonDiff). Opened on a snapshot's document it is read-only, and says so
// above the tree.
//
// Nothing here waits for the engine: every change is a request whose
// result the model shows when its change records come back; a failure is
// an error box with the engine's words.
//
// Lifetime: a top-level window deleted when closed; the api must outlive it.
// Thread safety: the GUI thread only.
#pragma once

#include "client/driveapi.h"
#include "jsondiff.h"

#include <QMainWindow>
#include <QPointer>

class QAction;
class QLabel;
class QTreeView;

namespace vd::widgets {

class JsonModel;

class JsonEditor : public QMainWindow
{
    Q_OBJECT
public:
    JsonEditor(client::DriveApi *api, const Ruid &collection, const QString &path, const QString &at = {}, QWidget *parent = nullptr);
    ~JsonEditor() override;

    JsonModel *model() const { return m_model; }
    QTreeView *view() const { return m_view; }
    QAction *action(const QString &name) const;
    bool isReadOnly() const;
    // The banner that says the document is a snapshot's (hidden otherwise).
    QLabel *readOnlyBanner() const { return m_banner; }

    // What Import..., Export... and Compare with Snapshot... do once a file
    // or a snapshot is chosen.
    void importFrom(const QString &localFile);
    void exportTo(const QString &localFile);
    void compareWith(const QString &snapshot);

Q_SIGNALS:
    // An import or export this window started ended.
    void transferFinished(const vd::Status &status);
    // A comparison's changes, as its dialog shows them.
    void compared(const std::vector<vd::widgets::JsonChange> &changes);

private:
    void buildActions();
    void updateActions();
    void updateTitle();
    QModelIndex current() const;
    void addMember();
    void addElement();
    void removeCurrent();
    void chooseImport();
    void chooseExport();
    void chooseSnapshot();
    void showDiff(const QString &snapshot, const std::vector<JsonChange> &changes);

    QPointer<client::DriveApi> m_api;
    Ruid m_collection;
    QString m_path, m_at;
    JsonModel *m_model = nullptr;
    QTreeView *m_view = nullptr;
    QLabel *m_banner = nullptr;
    QLabel *m_status = nullptr;
    QAction *m_typeActions[6] = {};
};

} // namespace vd::widgets
