#include "diffdialog.h"

#include "diffmodel.h"
#include "displaytext.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QSortFilterProxyModel>
#include <QTreeView>
#include <QVBoxLayout>

namespace vd::widgets {

using Change = tree::DiffEntry::Change;

namespace {

// Rows of one kind of change (or all: -1).
class ChangeFilter : public QSortFilterProxyModel
{
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void setChange(int change)
    {
        m_change = change;
        invalidateRowsFilter();
    }

protected:
    bool filterAcceptsRow(int row, const QModelIndex &parent) const override
    {
        return m_change < 0 || sourceModel()->index(row, 0, parent).data(DiffModel::ChangeRole).toInt() == m_change;
    }

private:
    int m_change = -1;
};

} // namespace

DiffDialog::DiffDialog(client::DriveApi *api, const Ruid &collection, const QString &from, const QString &to, QWidget *parent)
    : QDialog(parent)
{
    setAttribute(Qt::WA_DeleteOnClose);
    setObjectName(QStringLiteral("diffDialog"));
    setModal(false);
    setWindowTitle(to.isEmpty() ? tr("“%1” compared with now").arg(displayName(from))
                                : tr("“%1” compared with “%2”").arg(displayName(from), displayName(to)));
    resize(760, 460);

    m_model = new DiffModel(api, this);
    auto *filter = new ChangeFilter(this);
    m_proxy = filter;
    m_proxy->setSourceModel(m_model);

    auto *heading = new QLabel(this);
    heading->setTextFormat(Qt::PlainText);
    heading->setWordWrap(true);
    heading->setText(to.isEmpty() ? tr("What changed since snapshot “%1” was taken, up to now.").arg(displayName(from))
                                  : tr("What changed from snapshot “%1” to snapshot “%2”.").arg(displayName(from), displayName(to)));

    m_filter = new QComboBox(this);
    m_filter->setObjectName(QStringLiteral("changeFilter"));
    m_filter->setAccessibleName(tr("Show changes"));
    m_filter->addItem(tr("All changes"), -1);
    for (Change c : { Change::Added, Change::Removed, Change::Modified, Change::Moved }) {
        m_filter->addItem(tr("Only %1").arg(DiffModel::changeText(c)), int(c));
        m_filter->setItemData(m_filter->count() - 1, DiffModel::changeColor(c), Qt::ForegroundRole);
    }
    auto *filterLabel = new QLabel(tr("&Show:"), this);
    filterLabel->setBuddy(m_filter);
    connect(m_filter, &QComboBox::currentIndexChanged, this, [this, filter] {
        filter->setChange(m_filter->currentData().toInt());
        updateCount();
    });

    m_view = new QTreeView(this);
    m_view->setObjectName(QStringLiteral("diffView"));
    m_view->setAccessibleName(tr("Changes"));
    m_view->setModel(m_proxy);
    m_view->setRootIsDecorated(false);
    m_view->setItemsExpandable(false);
    m_view->setUniformRowHeights(true);
    m_view->setAllColumnsShowFocus(true);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(DiffModel::PathColumn, Qt::AscendingOrder);
    m_view->setTextElideMode(Qt::ElideMiddle);
    m_view->header()->setStretchLastSection(false);
    m_view->header()->resizeSection(DiffModel::ChangeColumn, 100);
    m_view->header()->setSectionResizeMode(DiffModel::PathColumn, QHeaderView::Stretch);
    m_view->header()->resizeSection(DiffModel::OldPathColumn, 200);
    m_view->header()->resizeSection(DiffModel::KindColumn, 120);
    connect(m_view, &QTreeView::activated, this, &DiffDialog::activate);

    m_count = new QLabel(this);
    m_count->setObjectName(QStringLiteral("diffCount"));
    m_count->setTextFormat(Qt::PlainText);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::close);

    auto *top = new QHBoxLayout;
    top->addWidget(heading, 1);
    top->addWidget(filterLabel);
    top->addWidget(m_filter);
    auto *bottom = new QHBoxLayout;
    bottom->addWidget(m_count, 1);
    bottom->addWidget(buttons);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_view, 1);
    layout->addLayout(bottom);

    connect(m_model, &DiffModel::stateChanged, this, &DiffDialog::updateCount);
    m_model->setComparison(collection, from, to);
    updateCount();
}

void DiffDialog::updateCount()
{
    switch (m_model->state()) {
    case DiffModel::State::Empty:
        m_count->clear();
        return;
    case DiffModel::State::Loading:
        m_count->setText(tr("Comparing…"));
        return;
    case DiffModel::State::Failed:
        m_count->setText(tr("The comparison failed: %1").arg(m_model->errorText()));
        return;
    case DiffModel::State::Ready:
        break;
    }
    const std::array<int, 4> n = m_model->counts();
    if (m_model->rowCount() == 0) {
        m_count->setText(tr("No changes."));
        return;
    }
    QString text = tr("Changes: %1 — %2 added, %3 removed, %4 modified, %5 moved")
                       .arg(m_model->rowCount())
                       .arg(n[size_t(Change::Added)])
                       .arg(n[size_t(Change::Removed)])
                       .arg(n[size_t(Change::Modified)])
                       .arg(n[size_t(Change::Moved)]);
    if (m_proxy->rowCount() != m_model->rowCount())
        text += tr("; %1 shown").arg(m_proxy->rowCount());
    m_count->setText(text);
}

void DiffDialog::activate(const QModelIndex &proxyIndex)
{
    const QModelIndex i = m_proxy->mapToSource(proxyIndex);
    if (!i.isValid())
        return;
    const tree::DiffEntry &e = m_model->entry(i.row());
    // A removed entry exists only on the older side.
    if (e.change == Change::Removed)
        Q_EMIT showRequested(e.path, m_model->from());
    else
        Q_EMIT showRequested(e.path, m_model->to());
}

} // namespace vd::widgets
