#include "dragout.h"

#include "displaytext.h"
#include "whenready.h"

#include <QEventLoop>
#include <QLocale>
#include <QProgressDialog>
#include <QTimer>
#include <QUrl>

namespace vd::widgets {

namespace {

const QString kUriList = QStringLiteral("text/uri-list");
int g_waitBound = 4000;

QString progressText(const transfer::TransferProgress &p)
{
    return DragOutData::tr("%1 files, %2").arg(QLocale().toString(qulonglong(p.files)), formatBytes(p.bytes));
}

} // namespace

DragOutData::DragOutData(client::DriveApi *api, const NodesPayload &nodes, const QString &folder, QWidget *dialogParent)
    : m_api(api)
    , m_nodes(nodes)
    , m_folder(folder)
    , m_dialogParent(dialogParent)
{
    setNodes(this, nodes);
}

DragOutData::~DragOutData()
{
    if (m_transfer && !m_exported)
        m_transfer->state->cancel(); // no one waits for it any more
}

QStringList DragOutData::formats() const
{
    QStringList f = QMimeData::formats();
    if (!f.contains(kUriList))
        f.append(kUriList);
    return f;
}

int DragOutData::waitBound()
{
    return g_waitBound;
}

void DragOutData::setWaitBound(int ms)
{
    g_waitBound = ms;
}

QStringList DragOutData::localFiles() const
{
    QStringList files;
    for (const QString &p : m_nodes.paths)
        files.append(m_folder + QLatin1Char('/') + p.section(QLatin1Char('/'), -1));
    return files;
}

void DragOutData::startExport()
{
    if (m_transfer || m_failed)
        return;
    if (!m_api || m_folder.isEmpty()) {
        m_failed = true;
        Q_EMIT message(tr("Could not export the items dragged: no temporary folder"), 6000);
        return;
    }
    m_transfer = m_api->exportLocal(m_nodes.collection, m_nodes.paths, m_folder, m_nodes.at, false);
    auto *ticker = new QTimer(this);
    connect(ticker, &QTimer::timeout, this, [this, ticker] {
        if (m_exported || m_failed)
            return ticker->deleteLater();
        Q_EMIT message(tr("Preparing the files dragged out of vdrive: %1").arg(progressText(m_transfer->state->progress())), 0);
    });
    ticker->start(250);
    whenReady(this, m_transfer->done, [this](const Result<client::TransferReport> &r) { finish(r); });
}

void DragOutData::cancelExport()
{
    if (m_transfer && !m_exported)
        m_transfer->state->cancel();
}

void DragOutData::finish(const Result<client::TransferReport> &r)
{
    if (r) {
        QList<QUrl> urls;
        for (const QString &f : localFiles())
            urls.append(QUrl::fromLocalFile(f));
        setUrls(urls);
        setText(m_nodes.paths.join(QLatin1Char('\n'))); // (setUrls replaced the text)
        m_exported = true;
        Q_EMIT message(QString(), 0);
    } else {
        m_failed = true;
        // Cancelled because no one wanted the files: nothing to say.
        Q_EMIT message(r.status().code() == ErrorCode::Cancelled ? QString() : tr("Could not export the items dragged: %1").arg(r.status().message()),
                       6000);
    }
    Q_EMIT exportEnded();
}

QVariant DragOutData::retrieveData(const QString &mimeType, QMetaType type) const
{
    if (mimeType == kUriList) {
        m_asked = true;
        if (!m_exported && !m_failed)
            waitForExport();
        if (!m_exported)
            return QVariant();
    }
    return QMimeData::retrieveData(mimeType, type);
}

void DragOutData::waitForExport() const
{
    auto *self = const_cast<DragOutData *>(this); // the object is not const: Qt's getter is
    if (m_waiting)
        return; // asked again from within the wait: the first ask answers
    self->startExport();
    if (m_exported || m_failed)
        return;
    m_waiting = true;
    // The events go on meanwhile (the window is not frozen): the dialog
    // can cancel, the export's answer arrives.
    QEventLoop loop;
    QTimer bound;
    bound.setSingleShot(true);
    connect(&bound, &QTimer::timeout, &loop, &QEventLoop::quit);
    connect(self, &DragOutData::exportEnded, &loop, &QEventLoop::quit);
    QProgressDialog dialog(tr("Preparing the files for the drop…"), tr("Cancel"), 0, 0, m_dialogParent);
    dialog.setWindowTitle(tr("Drop"));
    dialog.setWindowModality(Qt::WindowModal);
    dialog.setMinimumDuration(300);
    dialog.setValue(0);
    bool cancelled = false;
    connect(&dialog, &QProgressDialog::canceled, &loop, [&] {
        cancelled = true;
        loop.quit();
    });
    QTimer tick;
    connect(&tick, &QTimer::timeout, &dialog, [&] {
        dialog.setLabelText(tr("Preparing the files for the drop: %1").arg(progressText(m_transfer->state->progress())));
    });
    tick.start(100);
    bound.start(g_waitBound);
    loop.exec();
    m_waiting = false;
    if (m_exported)
        return;
    const QString done = progressText(m_transfer->state->progress());
    self->cancelExport();
    self->m_failed = true;
    Q_EMIT self->message(cancelled ? tr("The drop was cancelled: it got no files.")
                                   : tr("The drop came before its files were ready (%1 after %2 s) and got none: Export To Folder (Ctrl+E) "
                                        "copies large selections with progress.")
                                         .arg(done)
                                         .arg(g_waitBound / 1000.0, 0, 'f', 1),
                         12000);
}

} // namespace vd::widgets
