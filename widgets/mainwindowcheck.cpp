// MainWindow's check of a collection (mainwindow.h, "Checking a
// collection"): Collection ▸ Check Drive... (Ctrl+Shift+K) runs
// DriveApi::fsck — every checksum the last commit reaches, the tree, the
// bitmap — on the node, never on the GUI thread. A window-modal progress
// dialog counts what was checked and cancels it (the node keeps its
// previous result then). A clean collection says so in a short message;
// faults are the project's error box: a short sentence, the faults behind
// "Show Details...". Either way the block map asks again, and paints the
// blocks the check found corrupt.
#include "mainwindow.h"

#include "blockmappanel.h"
#include "displaytext.h"
#include "errorbox.h"
#include "whenready.h"

#include <QAction>
#include <QFutureWatcher>
#include <QLocale>
#include <QMessageBox>
#include <QProgressDialog>
#include <QStatusBar>

namespace vd::widgets {

void MainWindow::checkCurrentCollection()
{
    if (!m_api || m_collection.isNull() || m_check)
        return;
    const Ruid collection = m_collection;
    const QString name = collectionName();
    QFuture<Result<storage::FsckReport>> future = m_api->fsck(collection);

    auto *dialog = new QProgressDialog(tr("Checking “%1”: every block, checksum and record…").arg(displayName(name)), tr("Cancel"), 0, 0, this);
    dialog->setObjectName(QStringLiteral("checkProgress"));
    dialog->setWindowTitle(tr("Check Drive"));
    dialog->setAccessibleName(tr("Checking the drive"));
    dialog->setWindowModality(Qt::WindowModal);
    dialog->setAutoClose(false);
    dialog->setAutoReset(false);
    dialog->setMinimumDuration(0); // shown at once: even a small check takes a moment
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    m_check = dialog;

    // The count of what was checked, as the node reports it (a QFutureWatcher
    // delivers it on this thread).
    auto *progress = new QFutureWatcher<Result<storage::FsckReport>>(dialog);
    connect(progress, &QFutureWatcherBase::progressValueChanged, dialog, [dialog, name](int done) {
        dialog->setLabelText(tr("Checking “%1”: %2 items checked…").arg(displayName(name), QLocale().toString(done)));
    });
    progress->setFuture(future);
    connect(dialog, &QProgressDialog::canceled, dialog, [future]() mutable { future.cancel(); });

    whenReady(this, future, [this, name, dialog = QPointer<QProgressDialog>(dialog)](const Result<storage::FsckReport> &r) {
        if (dialog)
            dialog->close();
        showCheckResult(name, r);
        if (m_blockMap)
            m_blockMap->refresh(); // the corrupt blocks, or none now
    });
    dialog->show();
}

void MainWindow::showCheckResult(const QString &name, const Result<storage::FsckReport> &r)
{
    if (!r) {
        if (r.status().code() == ErrorCode::Cancelled) {
            statusBar()->showMessage(tr("The check of “%1” was cancelled; the last finished check still counts.").arg(displayName(name)), 8000);
            return;
        }
        showError(this, tr("The check of “%1” could not run.").arg(displayName(name)), r.status().toString());
        return;
    }
    const QLocale locale;
    const QString checked = tr("Checked %1 nodes, %2 blocks and %3 catalog pages; %4 verified.")
                                .arg(locale.toString(qulonglong(r->vnodesChecked)), locale.toString(qulonglong(r->blocksChecked)),
                                     locale.toString(qulonglong(r->pagesChecked)), formatBytes(r->bytesVerified));
    if (r->isClean()) {
        auto *box = new QMessageBox(QMessageBox::Information, tr("Check Drive"), tr("“%1” is clean.\n%2").arg(displayName(name), checked),
                                    QMessageBox::Ok, this);
        box->setObjectName(QStringLiteral("checkClean"));
        box->setTextFormat(Qt::PlainText);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->setWindowModality(Qt::WindowModal);
        box->open();
        statusBar()->showMessage(tr("“%1” is clean.").arg(displayName(name)), 8000);
        return;
    }
    const uint64_t corrupt = r->corruptOffsets.size() + r->corruptNotListed;
    QString summary = tr("The check of “%1” found %n fault(s).", nullptr, int(std::min<size_t>(r->faults.size(), INT32_MAX))).arg(displayName(name));
    if (corrupt > 0)
        summary += QLatin1Char('\n') + tr("%n damaged block(s) are shown in red on the block map (View ▸ Block Map).", nullptr, int(std::min<uint64_t>(corrupt, INT32_MAX)));
    QStringList details;
    for (const QString &f : r->faults)
        details.append(displayName(f));
    details.append(QString());
    details.append(checked);
    QMessageBox *box = showError(this, summary, details.join(QLatin1Char('\n')));
    box->setObjectName(QStringLiteral("checkFaults"));
}

} // namespace vd::widgets
