// TransferDialog: an import or export as the user watches it — files and
// bytes done of the total, speed, time left, the file being copied — with
// Cancel. A cancelled or failed transfer stays on screen and says what was
// stored (the engine's words: what earlier batches committed stays); a
// transfer that ends well closes the dialog and reports through finished().
// Entries skipped (links, devices) are listed behind "Details".
//
// It polls the transfer's state ten times a second: the transfer's thread
// never waits for the GUI, and a fast one costs the GUI nothing per file.
//
// Lifetime: deletes itself when closed. Thread safety: the GUI thread only.
#pragma once

#include "client/driveapi.h"

#include <QDialog>
#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QTimer>

class QLabel;
class QProgressBar;
class QPushButton;
class QPlainTextEdit;

namespace vd::widgets {

class TransferDialog : public QDialog
{
    Q_OBJECT
public:
    // headline: "Importing into /photos" — plain text.
    TransferDialog(const QString &headline, client::Transfer transfer, QWidget *parent = nullptr);

    bool isDone() const { return m_done; }
    const client::Transfer &transfer() const { return m_transfer; }
    // The text shown under the bar (tests read it).
    QString detailText() const;
    QString resultText() const;

Q_SIGNALS:
    // The transfer ended: ok, or why not (Cancelled when the user stopped
    // it), with the report of what was copied when ok.
    void finished(const vd::Status &status, const vd::client::TransferReport &report);

private:
    void refresh();
    void onDone();

    client::Transfer m_transfer;
    QFutureWatcher<Result<client::TransferReport>> m_watcher;
    QTimer m_poll;
    QElapsedTimer m_clock;
    QLabel *m_headline = nullptr;
    QLabel *m_detail = nullptr;
    QLabel *m_current = nullptr;
    QLabel *m_result = nullptr;
    QProgressBar *m_bar = nullptr;
    QPushButton *m_button = nullptr;
    QPlainTextEdit *m_warnings = nullptr;
    bool m_done = false;
    qsizetype m_shownWarnings = 0;
};

} // namespace vd::widgets
