#include "historydialog.h"

#include "displaytext.h"
#include "nodeinfo.h"

#include <QDialogButtonBox>
#include <QFutureWatcher>
#include <QHeaderView>
#include <QLabel>
#include <QStandardItemModel>
#include <QTreeView>
#include <QVBoxLayout>

#include <algorithm>

namespace vd::widgets {

HistoryDialog::HistoryDialog(client::DriveApi *api, const Ruid &collection, const QString &path, QWidget *parent)
    : QDialog(parent)
    , m_api(api)
    , m_collection(collection)
    , m_path(path)
{
    setAttribute(Qt::WA_DeleteOnClose);
    setObjectName(QStringLiteral("historyDialog"));
    setModal(false);
    const QString name = path.section(QLatin1Char('/'), -1);
    setWindowTitle(tr("History of “%1”").arg(displayName(name)));
    resize(680, 360);

    auto *heading = new QLabel(this);
    heading->setTextFormat(Qt::PlainText);
    heading->setWordWrap(true);
    heading->setText(tr("The versions of %1 kept by the snapshots, newest first. Double-click one to see it.").arg(displayName(path)));

    m_model = new QStandardItemModel(0, ColumnCount, this);
    m_model->setHorizontalHeaderLabels({ tr("Version"), tr("Taken"), tr("Size"), tr("Modified"), tr("Compared with the newer one") });
    m_view = new QTreeView(this);
    m_view->setObjectName(QStringLiteral("historyView"));
    m_view->setAccessibleName(tr("Versions"));
    m_view->setModel(m_model);
    m_view->setRootIsDecorated(false);
    m_view->setUniformRowHeights(true);
    m_view->setAllColumnsShowFocus(true);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->header()->setSectionResizeMode(VersionColumn, QHeaderView::Stretch);
    m_view->header()->setStretchLastSection(false);
    connect(m_view, &QTreeView::activated, this, [this](const QModelIndex &i) {
        const QString at = m_model->index(i.row(), 0).data(SnapshotRole).toString();
        Q_EMIT showRequested(m_path, at);
    });

    m_status = new QLabel(tr("Looking through the snapshots…"), this);
    m_status->setTextFormat(Qt::PlainText);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::close);
    auto *bottom = new QHBoxLayout;
    bottom->addWidget(m_status, 1);
    bottom->addWidget(buttons);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(heading);
    layout->addWidget(m_view, 1);
    layout->addLayout(bottom);

    if (!m_api)
        return;
    using Infos = std::vector<tree::SnapshotInfo>;
    auto *watcher = new QFutureWatcher<Result<Infos>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher] {
        watcher->deleteLater();
        if (watcher->future().resultCount() == 0 || !watcher->result()) {
            fail(watcher->future().resultCount() ? watcher->result().status().message() : tr("cancelled"));
            return;
        }
        statAll(watcher->result().value());
    });
    watcher->setFuture(m_api->snapshots(collection, false));
}

void HistoryDialog::statAll(std::vector<tree::SnapshotInfo> snapshots)
{
    std::sort(snapshots.begin(), snapshots.end(),
        [](const tree::SnapshotInfo &a, const tree::SnapshotInfo &b) { return a.generation > b.generation; });
    m_versions.clear();
    m_versions.push_back({ QString(), 0, std::nullopt });
    for (const tree::SnapshotInfo &s : snapshots)
        m_versions.push_back({ s.name, s.createdMs, std::nullopt });
    m_pending = int(m_versions.size());
    for (size_t i = 0; i < m_versions.size(); ++i) {
        auto *watcher = new QFutureWatcher<Result<tree::VNode>>(this);
        connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, i] {
            watcher->deleteLater();
            if (watcher->future().resultCount() > 0 && watcher->result())
                m_versions[i].node = watcher->result().value();
            if (--m_pending == 0)
                fill();
        });
        watcher->setFuture(m_api->stat(m_collection, m_path, m_versions[i].snapshot));
    }
}

void HistoryDialog::fill()
{
    std::erase_if(m_versions, [](const Version &v) { return !v.node; });
    m_model->removeRows(0, m_model->rowCount());
    for (size_t i = 0; i < m_versions.size(); ++i) {
        const Version &v = m_versions[i];
        const tree::VNode &n = *v.node;
        QString change;
        if (i == 0)
            change = v.snapshot.isEmpty() ? tr("current") : tr("gone now");
        else {
            const tree::VNode &newer = *m_versions[i - 1].node;
            const bool differs = n.size != newer.size || n.modifiedMs != newer.modifiedMs || n.version != newer.version;
            change = differs ? tr("differs") : tr("same");
        }
        QList<QStandardItem *> row;
        row << new QStandardItem(v.snapshot.isEmpty() ? tr("Now") : displayName(v.snapshot));
        row << new QStandardItem(v.snapshot.isEmpty() ? QString() : timeText(v.takenMs));
        row << new QStandardItem(sizeText(n));
        row << new QStandardItem(timeText(n.modifiedMs));
        row << new QStandardItem(change);
        row[0]->setData(v.snapshot, SnapshotRole);
        row[0]->setData(v.snapshot.isEmpty() ? tr("now") : v.snapshot, Qt::AccessibleTextRole);
        row[SizeColumn]->setData(QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter), Qt::TextAlignmentRole);
        m_model->appendRow(row);
    }
    const int kept = int(std::count_if(m_versions.begin(), m_versions.end(), [](const Version &v) { return !v.snapshot.isEmpty(); }));
    m_status->setText(tr("Kept by %n snapshot(s).", nullptr, kept));
    m_ready = true;
    Q_EMIT ready();
}

void HistoryDialog::fail(const QString &why)
{
    m_status->setText(tr("Could not read the snapshots: %1").arg(why));
    m_ready = true;
    Q_EMIT ready();
}

} // namespace vd::widgets
