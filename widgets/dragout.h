// DragOutData: what a drag out of the explorer carries — the nodes (for a
// drop within the explorer), their paths as text, and the files themselves
// as text/uri-list for a file manager or the desktop, exported on demand.
//
// Other programs need real files: X11's and Wayland's drag protocols hand
// the target URLs, which it reads at once after the drop. The nodes (files
// or whole folders, of any size) are exported into a fresh temporary folder
// off the GUI thread, started as soon as the drag leaves the explorer's
// windows (startExport(), on QDrag::targetChanged to no target) — a drag
// that stays within never exports anything — or, at the latest, when a
// target asks for the files. A target that asks before the export finished
// waits, with a progress dialog that can cancel, for at most waitBound() (a
// Qt target gives up after 5 s); then it gets no files and the status says
// why and points to Export To Folder, which has no bound. The files stay
// until the application quits (a target may copy them long after the drop).
// Destroyed with its drag (or told cancelExport()) before anyone asked for
// the files, it stops the export.
//
// Every byte of the drop is the engine's export (DriveApi::exportLocal), so
// names with spaces, Japanese or control characters come out as stored.
//
// Thread safety: the GUI thread only.
#pragma once

#include "dragdrop.h"

#include "client/driveapi.h"

#include <QMimeData>
#include <QPointer>

#include <functional>
#include <optional>

namespace vd::widgets {

class DragOutData : public QMimeData
{
    Q_OBJECT
public:
    // folder: an empty temporary folder of its own. status: shows a line
    // (the window's status bar); dialogParent: parent of the wait dialog.
    DragOutData(client::DriveApi *api, const NodesPayload &nodes, const QString &folder, QWidget *dialogParent);
    ~DragOutData() override;

    QStringList formats() const override;

    // Starts the export now (once; later calls do nothing).
    void startExport();
    // Stops an export no one asked for (a drop within the explorer).
    void cancelExport();
    bool exportStarted() const { return m_transfer.has_value(); }
    bool filesAsked() const { return m_asked; }
    // Whether the files are exported (the uri-list has them).
    bool isExported() const { return m_exported; }
    // The local files the uri-list names once exported: folder/<name> for
    // each node.
    QStringList localFiles() const;

    // How long a target's request waits for the export (default 4 s).
    static int waitBound();
    static void setWaitBound(int ms);

Q_SIGNALS:
    // A line for the status bar: the export's progress, or why a drop got
    // no files. timeoutMs 0: until replaced.
    void message(const QString &text, int timeoutMs);
    // The export finished, failed or was cancelled.
    void exportEnded();

protected:
    QVariant retrieveData(const QString &mimeType, QMetaType type) const override;

private:
    void waitForExport() const;
    void finish(const Result<client::TransferReport> &r);

    QPointer<client::DriveApi> m_api;
    NodesPayload m_nodes;
    QString m_folder;
    QPointer<QWidget> m_dialogParent;
    std::optional<client::Transfer> m_transfer;
    bool m_exported = false;
    bool m_failed = false;
    mutable bool m_asked = false;
    mutable bool m_waiting = false;
};

} // namespace vd::widgets
