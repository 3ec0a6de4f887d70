#include "transferdialog.h"

#include "displaytext.h"

#include <QDialogButtonBox>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

namespace vd::widgets {

using transfer::TransferProgress;

namespace {

QString durationText(double seconds)
{
    if (seconds < 60)
        return QObject::tr("%n s", nullptr, std::max(1, int(seconds + 0.5)));
    if (seconds < 3600)
        return QObject::tr("%1 min %2 s").arg(int(seconds) / 60).arg(int(seconds) % 60);
    return QObject::tr("%1 h %2 min").arg(int(seconds) / 3600).arg(int(seconds) % 3600 / 60);
}

} // namespace

TransferDialog::TransferDialog(const QString &headline, client::Transfer transfer, QWidget *parent)
    : QDialog(parent), m_transfer(std::move(transfer))
{
    setObjectName(QStringLiteral("transferDialog"));
    setAttribute(Qt::WA_DeleteOnClose);
    setWindowTitle(headline);
    auto *layout = new QVBoxLayout(this);
    m_headline = new QLabel(headline, this);
    m_detail = new QLabel(this);
    m_current = new QLabel(this);
    m_result = new QLabel(this);
    for (QLabel *l : {m_headline, m_detail, m_current, m_result})
        l->setTextFormat(Qt::PlainText);
    QFont bold = m_headline->font();
    bold.setBold(true);
    m_headline->setFont(bold);
    m_current->setMinimumWidth(420);
    m_result->setWordWrap(true);
    m_result->hide();
    m_bar = new QProgressBar(this);
    m_bar->setRange(0, 0); // busy until the totals are known
    m_bar->setAccessibleName(tr("Progress"));
    m_warnings = new QPlainTextEdit(this);
    m_warnings->setReadOnly(true);
    m_warnings->setAccessibleName(tr("Skipped entries"));
    m_warnings->setMaximumHeight(120);
    m_warnings->hide();
    auto *buttons = new QDialogButtonBox(this);
    m_button = buttons->addButton(QDialogButtonBox::Cancel);
    connect(m_button, &QPushButton::clicked, this, [this] {
        if (m_done) {
            close();
            return;
        }
        m_transfer.state->cancel();
        m_button->setEnabled(false);
        m_detail->setText(tr("Stopping: what is stored so far is being kept..."));
    });
    layout->addWidget(m_headline);
    layout->addWidget(m_bar);
    layout->addWidget(m_detail);
    layout->addWidget(m_current);
    layout->addWidget(m_result);
    layout->addWidget(m_warnings);
    layout->addWidget(buttons);

    m_clock.start();
    m_poll.setInterval(100);
    connect(&m_poll, &QTimer::timeout, this, &TransferDialog::refresh);
    m_poll.start();
    connect(&m_watcher, &QFutureWatcherBase::finished, this, &TransferDialog::onDone);
    m_watcher.setFuture(m_transfer.done);
    refresh();
}

QString TransferDialog::detailText() const
{
    return m_detail->text();
}

QString TransferDialog::resultText() const
{
    return m_result->text();
}

void TransferDialog::refresh()
{
    const TransferProgress p = m_transfer.state->progress();
    if (p.phase == TransferProgress::Phase::Syncing) {
        m_bar->setRange(0, 0);
        m_detail->setText(tr("Writing %n file(s) to the disk...", nullptr, int(p.files)));
        return;
    }
    if (p.phase == TransferProgress::Phase::Renaming) {
        m_detail->setText(tr("Putting %n file(s) in place...", nullptr, int(p.files)));
        return;
    }
    if (p.totalBytes > 0) {
        m_bar->setRange(0, 1000);
        m_bar->setValue(int(std::min<uint64_t>(p.bytes * 1000 / p.totalBytes, 1000)));
    }
    const double seconds = std::max<qint64>(m_clock.elapsed(), 1) / 1000.0;
    const double speed = double(p.bytes) / seconds;
    QString text = p.totalFiles > 0 ? tr("%1 of %2 files — %3 of %4").arg(p.files).arg(p.totalFiles).arg(formatBytes(p.bytes), formatBytes(p.totalBytes))
                                    : tr("%n file(s) — %1", nullptr, int(p.files)).arg(formatBytes(p.bytes));
    if (seconds > 0.5 && p.bytes > 0) {
        text += tr(" — %1/s").arg(formatBytes(uint64_t(speed)));
        if (p.totalBytes > p.bytes && speed > 0)
            text += tr(" — about %1 left").arg(durationText(double(p.totalBytes - p.bytes) / speed));
    }
    if (!m_transfer.state->isCancelled())
        m_detail->setText(text);
    m_current->setText(displayName(p.current));
    const QStringList warnings = m_transfer.state->warnings();
    if (warnings.size() != m_shownWarnings) {
        m_warnings->setPlainText(warnings.join(QLatin1Char('\n')));
        m_warnings->show();
        m_shownWarnings = warnings.size();
    }
}

void TransferDialog::onDone()
{
    m_poll.stop();
    refresh();
    m_done = true;
    const Result<client::TransferReport> r = m_watcher.future().resultCount() ? m_watcher.result()
                                                                              : Result<client::TransferReport>(Status::cancelled(tr("The transfer was dropped.")));
    Q_EMIT finished(r.status(), r ? *r : client::TransferReport{});
    if (r && m_transfer.state->warnings().isEmpty()) {
        accept();
        close();
        return;
    }
    // Stays open: what went wrong, what was kept, what was skipped.
    m_bar->setRange(0, 1);
    m_bar->setValue(1);
    m_current->clear();
    if (r)
        m_result->setText(tr("Done: %n file(s), %1; some entries were skipped (below).", nullptr, int(r->files)).arg(formatBytes(r->bytes)));
    else if (r.status().code() == ErrorCode::Cancelled)
        m_result->setText(tr("Cancelled. %1").arg(r.status().message()));
    else
        m_result->setText(tr("Stopped by an error: %1").arg(r.status().message()));
    m_result->show();
    m_button->setText(tr("Close"));
    m_button->setEnabled(true);
}

} // namespace vd::widgets
