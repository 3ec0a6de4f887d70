#include "blockmappanel.h"

#include "blockmapview.h"
#include "displaytext.h"
#include "whenready.h"

#include <QAction>
#include <QDateTime>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QPainter>
#include <QToolBar>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>
#include <QVBoxLayout>

namespace vd::widgets {

namespace {

QPixmap swatch(const QColor &c)
{
    QPixmap p(14, 14);
    p.fill(c);
    QPainter painter(&p);
    painter.setPen(c.darker(140));
    painter.drawRect(0, 0, 13, 13);
    return p;
}

QString percentOf(uint64_t part, uint64_t whole)
{
    return whole == 0 ? QStringLiteral("0%") : QStringLiteral("%1%").arg(QLocale().toString(100.0 * double(part) / double(whole), 'f', 1));
}

} // namespace

BlockMapPanel::BlockMapPanel(client::DriveApi *api, QWidget *parent)
    : QWidget(parent)
    , m_api(api)
{
    setObjectName(QStringLiteral("blockMapPanel"));
    m_view = new BlockMapView(this);
    m_view->setObjectName(QStringLiteral("blockMapView"));

    m_bar = new QToolBar(this);
    m_bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    auto make = [this](const QString &name, const QString &text, const QKeySequence &keys, auto slot) {
        auto *a = new QAction(text, this);
        a->setObjectName(name);
        a->setShortcut(keys);
        a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        connect(a, &QAction::triggered, m_view, slot);
        m_bar->addAction(a);
        addAction(a);
        return a;
    };
    make(QStringLiteral("blockMapZoomIn"), tr("Zoom &In"), QKeySequence::ZoomIn, &BlockMapView::zoomIn);
    make(QStringLiteral("blockMapZoomOut"), tr("Zoom &Out"), QKeySequence::ZoomOut, &BlockMapView::zoomOut);
    make(QStringLiteral("blockMapFit"), tr("&Whole Drive"), QKeySequence(Qt::CTRL | Qt::Key_0), &BlockMapView::zoomToFit);
    m_status = new QLabel(this);
    m_status->setTextFormat(Qt::PlainText);
    m_status->setObjectName(QStringLiteral("blockMapStatus"));
    m_bar->addSeparator();
    m_bar->addWidget(m_status);

    m_health = new QLabel(this);
    m_health->setObjectName(QStringLiteral("blockMapHealth"));
    m_health->setAccessibleName(tr("Allocator health"));
    m_health->setTextFormat(Qt::RichText); // built from numbers and our own words only
    m_health->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_health->setTextInteractionFlags(Qt::TextSelectableByMouse);

    // Beside the map: the legend, then the health (side by side, as the
    // dock is wide and low).
    auto *side = new QWidget(this);
    auto *sideLayout = new QHBoxLayout(side);
    sideLayout->setContentsMargins(6, 0, 0, 0);
    sideLayout->setSpacing(16);
    sideLayout->addWidget(makeLegend(), 0, Qt::AlignTop);
    sideLayout->addWidget(m_health, 0, Qt::AlignTop);

    auto *body = new QHBoxLayout;
    body->addWidget(m_view, 1);
    body->addWidget(side);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_bar);
    layout->addLayout(body, 1);

    connect(m_view, &BlockMapView::blockClicked, this, [this](int block) {
        if (m_data) {
            const auto files = m_data->filesOf(block);
            if (!files.empty())
                Q_EMIT filesClicked(files);
        }
    });

    m_coalesce.setSingleShot(true);
    m_coalesce.setInterval(1000);
    connect(&m_coalesce, &QTimer::timeout, this, &BlockMapPanel::request);
    if (m_api) {
        auto changed = [this](const Ruid &collection) {
            if (collection != m_collection && !collection.isNull())
                return;
            m_stale = true;
            if (isVisible() && !m_coalesce.isActive())
                m_coalesce.start();
        };
        connect(m_api, &client::DriveApi::changed, this, [changed](const Ruid &c, const std::vector<tree::ChangeRecord> &) { changed(c); });
        connect(m_api, &client::DriveApi::resyncNeeded, this, [changed](const Ruid &c, const QString &) { changed(c); });
    }
    updateHealth();
}

BlockMapPanel::~BlockMapPanel()
{
    m_owners.cancel();
}

QWidget *BlockMapPanel::makeLegend()
{
    auto *legend = new QWidget(this);
    legend->setObjectName(QStringLiteral("blockMapLegend"));
    legend->setAccessibleName(tr("Legend"));
    auto *grid = new QGridLayout(legend);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setHorizontalSpacing(6);
    grid->setVerticalSpacing(3);
    int row = 0;
    auto add = [&](QWidget *sample, const QString &text) {
        auto *label = new QLabel(text, legend);
        label->setTextFormat(Qt::PlainText);
        grid->addWidget(sample, row, 0, Qt::AlignLeft | Qt::AlignVCenter);
        grid->addWidget(label, row, 1);
        ++row;
    };
    auto one = [&](const QColor &c) {
        auto *l = new QLabel(legend);
        l->setPixmap(swatch(c));
        return l;
    };
    auto many = [&](const std::vector<QColor> &colours) {
        auto *w = new QWidget(legend);
        auto *h = new QHBoxLayout(w);
        h->setContentsMargins(0, 0, 0, 0);
        h->setSpacing(1);
        for (const QColor &c : colours)
            h->addWidget(one(c));
        return w;
    };
    std::vector<QColor> byClass, small;
    for (int c = 0; c < storage::kClassCount; ++c)
        byClass.push_back(BlockMapData::colourOf(CellState::Data, c));
    for (double f : { 0.1, 0.5, 0.95 })
        small.push_back(BlockMapData::colourOf(CellState::Small, 0, f));
    add(many(byClass), tr("Data block: 1, 2, 4, 8, 16 MiB"));
    add(many(small), tr("SmallBlock: by how full"));
    add(one(BlockMapData::colourOf(CellState::Snapshot)), BlockMapData::nameOf(CellState::Snapshot));
    add(one(BlockMapData::colourOf(CellState::Catalog)), BlockMapData::nameOf(CellState::Catalog));
    add(one(BlockMapData::colourOf(CellState::Head)), BlockMapData::nameOf(CellState::Head));
    add(one(BlockMapData::colourOf(CellState::Unused)), BlockMapData::nameOf(CellState::Unused));
    add(one(BlockMapData::colourOf(CellState::Corrupt)), BlockMapData::nameOf(CellState::Corrupt));
    add(one(BlockMapData::colourOf(CellState::Free)), BlockMapData::nameOf(CellState::Free));
    auto *outline = new QLabel(legend);
    QPixmap p = swatch(BlockMapData::colourOf(CellState::Data, 2));
    {
        QPainter painter(&p);
        painter.setPen(QPen(QColor(0xd0, 0x10, 0x30), 2));
        painter.drawRect(1, 1, 12, 12);
    }
    outline->setPixmap(p);
    add(outline, tr("Used by the selection"));
    return legend;
}

void BlockMapPanel::setCollection(const Ruid &collection)
{
    if (collection == m_collection)
        return;
    m_collection = collection;
    m_data.reset();
    m_view->setData(nullptr);
    updateHealth();
    refresh();
}

void BlockMapPanel::refresh()
{
    m_stale = true;
    if (isVisible())
        request();
}

bool BlockMapPanel::isComplete() const
{
    return m_data && m_ownersDone && !m_stale;
}

void BlockMapPanel::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (m_stale)
        request();
}

void BlockMapPanel::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_coalesce.stop();
    if (!m_ownersDone && m_owners.isRunning()) {
        m_owners.cancel(); // asked again when shown
        m_stale = true;
    }
}

void BlockMapPanel::request()
{
    if (!m_api || m_collection.isNull())
        return;
    m_coalesce.stop();
    m_stale = false;
    m_ownersDone = false;
    m_owners.cancel();
    const uint64_t serial = ++m_serial;
    m_status->setText(tr("Reading the allocation map…"));
    whenTaken(this, m_api->blockMap(m_collection), [this, serial](Result<storage::AllocationMap> map) {
        if (serial != m_serial)
            return;
        if (!map) {
            m_status->setText(tr("The map could not be read: %1").arg(map.status().message()));
            return;
        }
        // The picture's values (health, cell lookup) are made on the pool:
        // on a 1 TiB drive that is a million cells and as many blocks.
        whenComputed(this, QtConcurrent::run([map = std::move(map).value()]() mutable {
            auto picture = std::make_shared<BlockMapData>();
            picture->setMap(std::move(map));
            return std::shared_ptr<const BlockMapData>(std::move(picture));
        }), [this, serial](std::shared_ptr<const BlockMapData> picture) {
            if (serial != m_serial)
                return;
            display(std::move(picture));
            Q_EMIT mapShown();
            requestOwners(serial);
        });
    });
}

void BlockMapPanel::requestOwners(uint64_t serial)
{
    m_status->setText(tr("Finding the files that use each block…"));
    m_owners = m_api->blockOwners(m_collection);
    whenTaken(this, m_owners, [this, serial](Result<tree::BlockOwners> owners) {
        if (serial != m_serial)
            return;
        if (!owners) {
            m_status->setText(owners.status().code() == ErrorCode::Cancelled
                    ? QString()
                    : tr("The files could not be found: %1").arg(owners.status().message()));
            return;
        }
        whenComputed(this, QtConcurrent::run([shown = m_data, owners = std::move(owners).value()]() mutable {
            auto complete = std::make_shared<BlockMapData>(*shown);
            complete->setOwners(std::move(owners));
            return std::shared_ptr<const BlockMapData>(std::move(complete));
        }), [this, serial](std::shared_ptr<const BlockMapData> complete) {
            if (serial != m_serial)
                return;
            m_ownersDone = true;
            m_status->setText(tr("Generation %1").arg(complete->map().generation));
            display(std::move(complete));
            Q_EMIT ownersShown();
        });
    });
}

void BlockMapPanel::display(std::shared_ptr<const BlockMapData> picture)
{
    std::shared_ptr<const BlockMapData> old = std::move(m_data);
    m_data = std::move(picture);
    m_view->setData(m_data);
    // A million cells' worth of values: freed on the pool, not here.
    QThreadPool::globalInstance()->start([old = std::move(old)]() mutable { old.reset(); });
    updateHighlight();
    updateHealth();
}

void BlockMapPanel::setSelection(const std::set<Ruid> &ids, const QStringList &folders)
{
    m_selectedIds = ids;
    m_selectedFolders = folders;
    updateHighlight();
}

void BlockMapPanel::updateHighlight()
{
    const uint64_t serial = ++m_highlightSerial;
    if (!m_data || !m_data->hasOwners() || (m_selectedIds.empty() && m_selectedFolders.isEmpty())) {
        m_view->setHighlighted({});
        return;
    }
    // A folder's blocks are every block's owners matched against it: on
    // the pool, the last selection's answer only.
    whenComputed(this, QtConcurrent::run([shown = m_data, ids = m_selectedIds, folders = m_selectedFolders] {
        return std::make_pair(shown, shown->blocksUsedBy(ids, folders));
    }), [this, serial](std::pair<std::shared_ptr<const BlockMapData>, std::vector<int>> found) {
        if (serial == m_highlightSerial && found.first == m_data)
            m_view->setHighlighted(std::move(found.second));
    });
}

void BlockMapPanel::updateHealth()
{
    if (!m_data || !m_data->hasMap()) {
        m_health->setText(QString());
        return;
    }
    const storage::AllocatorHealth &h = m_data->health();
    QString t = QStringLiteral("<b>%1</b><table cellspacing=2>").arg(tr("Allocator health").toHtmlEscaped());
    // An indented row is a part of the one above it.
    auto row = [&t](const QString &name, const QString &value, bool indented = false) {
        t += QStringLiteral("<tr><td>%1%2</td><td align=right>%3</td></tr>")
                 .arg(indented ? QStringLiteral("&nbsp;&nbsp;&nbsp;") : QString(), name.toHtmlEscaped(), value.toHtmlEscaped());
    };
    row(tr("idvd"),
        tr("%1 (%2)").arg(
            formatBytes(h.idvdBytes), h.units == 1 ? tr("1 unit") : tr("%1 units").arg(QLocale().toString(qulonglong(h.units)))));
    row(tr("Allocated"), tr("%1 (%2)").arg(formatBytes(h.allocatedBytes), percentOf(h.allocatedBytes, h.idvdBytes)));
    row(tr("data blocks"), formatBytes(h.dataBytes), true);
    row(tr("SmallBlocks"), formatBytes(h.smallBytes), true);
    row(tr("catalog"), formatBytes(h.catalogBytes), true);
    row(tr("head, reserve, held"), formatBytes(h.otherBytes), true);
    row(tr("Free"), formatBytes(h.freeBytes));
    // The free space as the blocks it can hold, a row per size that has any
    // (one line for all five sizes did not fit beside the map).
    for (int c = storage::kClassCount - 1; c >= 0; --c) {
        if (const uint64_t n = h.freeRuns[size_t(c)])
            row(tr("as %1 MiB blocks").arg(storage::classSize(c) >> 20), QLocale().toString(qulonglong(n)), true);
    }
    row(tr("Fragmentation"), tr("%1 (%2 of free)").arg(formatBytes(h.fragmentedBytes), percentOf(h.fragmentedBytes, h.freeBytes)));
    row(tr("Padding"), tr("%1 (%2 of data)").arg(formatBytes(h.paddingBytes), percentOf(h.paddingBytes, h.dataBytes + h.smallBytes)));
    // The node's last check (Drive ▸ Check Drive…, or vdrive fsck through the node).
    const storage::AllocationMap &m = m_data->map();
    if (m.checkedMs == 0) {
        row(tr("Last check"), tr("none since the node started"));
    } else {
        row(tr("Last check"), QLocale().toString(QDateTime::fromMSecsSinceEpoch(m.checkedMs), QLocale::ShortFormat));
        row(tr("faults"), QLocale().toString(qulonglong(m.checkFaults)), true);
        row(tr("corrupt blocks"), QLocale().toString(qulonglong(m.corrupt.size() + m.corruptNotListed)), true);
    }
    t += QStringLiteral("</table>");
    m_health->setText(t);
    m_health->setToolTip(tr("Fragmentation: free space that cannot hold a 16 MiB block. Padding: space in data blocks and "
                            "SmallBlocks that holds no data (headers, unused tails, dead slots)."));
}

} // namespace vd::widgets
