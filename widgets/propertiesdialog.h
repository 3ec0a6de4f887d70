// PropertiesDialog: everything the drive knows about one VNode — its id,
// path, kind, size and size on the disk, version and times; a file's
// clusters and the blocks or SmallBlock slots that hold them (size class,
// stored bytes, padding, content hash); and which snapshots hold another
// version of it. Filled in as the node answers (each part a request of its
// own), never waiting on the GUI thread. The clusters come laid out by
// ClusterGatherer (clusterlayout.h), as the cluster view has them.
//
// Lifetime: deletes itself when closed. Thread safety: the GUI thread only.
#pragma once

#include "client/driveapi.h"

#include <QDialog>
#include <QPointer>

class QFormLayout;
class QLabel;
class QTreeWidget;

namespace vd::widgets {

class PropertiesDialog : public QDialog
{
    Q_OBJECT
public:
    PropertiesDialog(client::DriveApi *api, const Ruid &collection, const QString &path, const QString &at, QWidget *parent = nullptr);

    // For tests: a field's text by its label's object name ("size", "onDisk", ...).
    QString field(const QString &name) const;
    QTreeWidget *clusterTable() const { return m_clusters; }
    QTreeWidget *snapshotTable() const { return m_snapshots; }

Q_SIGNALS:
    // Every part has been answered (tests wait on it).
    void filled();

private:
    void setField(const QString &name, const QString &text);
    void partDone();

    QPointer<client::DriveApi> m_api;
    QFormLayout *m_form = nullptr;
    QTreeWidget *m_clusters = nullptr;
    QTreeWidget *m_snapshots = nullptr;
    int m_pending = 0;
};

} // namespace vd::widgets
