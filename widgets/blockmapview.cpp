#include "blockmapview.h"

#include <QMouseEvent>
#include <QPainter>
#include <QScrollBar>
#include <QToolTip>
#include <QWheelEvent>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <iterator>

namespace vd::widgets {

BlockMapView::BlockMapView(QWidget *parent)
    : QAbstractScrollArea(parent)
{
    setAccessibleName(tr("Block map"));
    setMouseTracking(true);
    viewport()->setMouseTracking(true);
    viewport()->setBackgroundRole(QPalette::Base);
    setMinimumSize(200, 120);
    m_painter = new QFutureWatcher<QImage>(this);
    connect(m_painter, &QFutureWatcherBase::finished, this, [this] {
        m_painterBusy = false;
        const auto made = m_painter->property("made").value<QSize>();
        m_picture = m_painter->result();
        m_pictureOf = { m_painter->property("serial").value<quint64>(), made.width() };
        viewport()->update();
        if (m_pictureOf != m_wanted)
            requestPicture();
        else
            Q_EMIT pictureReady();
    });
}

// A picture still being made finishes on its own: it holds its own
// reference to the data and nothing of the view's.
BlockMapView::~BlockMapView() = default;

void BlockMapView::setData(std::shared_ptr<const BlockMapData> picture)
{
    m_data = std::move(picture);
    ++m_serial;
    m_highlighted.clear();
    if (m_fitPending && m_data && m_data->hasMap() && viewport()->width() > 0) {
        m_fitPending = false;
        zoomToFit();
    }
    relayout();
}

void BlockMapView::setHighlighted(std::vector<int> blocks)
{
    m_highlighted = std::move(blocks);
    viewport()->update();
}

void BlockMapView::setCellSize(int pixels)
{
    m_cellSize = std::clamp(pixels, kCellSizes[0], kCellSizes[std::size(kCellSizes) - 1]);
    relayout();
}

BlockMapLayout BlockMapView::layout() const
{
    return BlockMapLayout::forWidth(viewport()->width(), m_cellSize);
}

void BlockMapView::zoomIn()
{
    for (const int s : kCellSizes)
        if (s > m_cellSize)
            return setCellSize(s);
}

void BlockMapView::zoomOut()
{
    for (auto it = std::rbegin(kCellSizes); it != std::rend(kCellSizes); ++it)
        if (*it < m_cellSize)
            return setCellSize(*it);
}

void BlockMapView::zoomToFit()
{
    const uint64_t cells = m_data ? m_data->cellCount() : 0;
    int best = kCellSizes[0];
    for (const int s : kCellSizes) {
        const BlockMapLayout l = BlockMapLayout::forWidth(viewport()->width(), s);
        if (l.columns * s <= std::max(viewport()->width(), 16 * s) && l.rows(cells) * uint64_t(s) <= uint64_t(viewport()->height()))
            best = s;
    }
    setCellSize(best);
}

void BlockMapView::relayout()
{
    const uint64_t cells = m_data ? m_data->cellCount() : 0;
    const BlockMapLayout l = layout();
    const QSize size = l.size(cells);
    horizontalScrollBar()->setRange(0, std::max(0, size.width() - viewport()->width()));
    horizontalScrollBar()->setPageStep(viewport()->width());
    verticalScrollBar()->setRange(0, std::max(0, size.height() - viewport()->height()));
    verticalScrollBar()->setPageStep(viewport()->height());
    verticalScrollBar()->setSingleStep(std::max(l.cellSize, 8));
    m_wanted = { m_data ? m_serial : 0, l.columns };
    if (m_pictureOf != m_wanted)
        requestPicture();
    viewport()->update();
}

void BlockMapView::requestPicture()
{
    if (m_painterBusy || !m_data || !m_data->hasMap())
        return;
    m_painterBusy = true;
    const int columns = m_wanted.second;
    std::shared_ptr<const BlockMapData> shown = m_data;
    m_painter->setProperty("made", QSize(columns, 0));
    m_painter->setProperty("serial", quint64(m_wanted.first));
    m_painter->setFuture(QtConcurrent::run([shown, columns] { return shown->picture(columns); }));
}

QPoint BlockMapView::origin() const
{
    return QPoint(horizontalScrollBar()->value(), verticalScrollBar()->value());
}

void BlockMapView::scrollContentsBy(int, int)
{
    viewport()->update();
}

void BlockMapView::resizeEvent(QResizeEvent *event)
{
    QAbstractScrollArea::resizeEvent(event);
    if (m_fitPending && m_data && m_data->hasMap()) {
        m_fitPending = false;
        zoomToFit();
        return;
    }
    relayout();
}

void BlockMapView::paintEvent(QPaintEvent *)
{
    QPainter p(viewport());
    if (!m_data || !m_data->hasMap() || m_picture.isNull()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(viewport()->rect(), Qt::AlignCenter, tr("Reading the allocation map…"));
        return;
    }
    const BlockMapLayout l = layout();
    const QPoint o = origin();
    const int s = l.cellSize;
    // The picture's columns may lag one relayout behind: draw it in its own layout.
    const int columns = m_pictureOf.second;
    p.translate(-o);
    const QRect visible(o, viewport()->size());
    // Only the rows in view, scaled up without smoothing.
    const int firstRow = std::max(0, visible.top() / s);
    const int lastRow = std::min(m_picture.height() - 1, visible.bottom() / s);
    if (lastRow >= firstRow)
        p.drawImage(QRect(0, firstRow * s, columns * s, (lastRow - firstRow + 1) * s), m_picture,
            QRect(0, firstRow, columns, lastRow - firstRow + 1));
    if (columns != l.columns)
        return;
    // A grid once cells are big enough to tell apart, a firmer line between units.
    if (s >= 6) {
        const QColor light = palette().color(QPalette::Base);
        p.setPen(QPen(light, 1));
        const int right = columns * s;
        const int bottom = (lastRow + 1) * s;
        for (int c = 1; c < columns; ++c)
            if (c % 16 != 0)
                p.drawLine(c * s, firstRow * s, c * s, bottom);
        for (int r = firstRow; r <= lastRow + 1; ++r)
            p.drawLine(0, r * s, right, r * s);
        p.setPen(QPen(light, 3));
        for (int c = 16; c < columns; c += 16)
            p.drawLine(c * s, firstRow * s, c * s, bottom);
    }
    // Highlighted blocks: outlined, so their colour stays readable.
    if (!m_highlighted.empty()) {
        p.setBrush(Qt::NoBrush);
        const int width = s >= 6 ? 2 : 1;
        for (const int b : m_highlighted) {
            if (b < 0 || b >= m_data->blockCount())
                continue;
            const storage::MapBlock &blk = m_data->block(b);
            const QRect r = l.runRect(blk.offset / storage::kSlotSize, blk.size() / storage::kSlotSize);
            if (!r.intersects(visible.adjusted(-s, -s, s, s)))
                continue;
            p.setPen(QPen(QColor(0xd0, 0x10, 0x30), width));
            p.drawRect(s >= 6 ? r.adjusted(1, 1, -1, -1) : r.adjusted(0, 0, -1, -1));
            if (s < 6)
                p.fillRect(r, QColor(0xd0, 0x10, 0x30));
        }
    }
}

int BlockMapView::blockAt(QPoint viewportPos) const
{
    if (!m_data)
        return -1;
    const auto cell = layout().cellAt(viewportPos + origin(), m_data->cellCount());
    return cell ? m_data->blockAt(*cell) : -1;
}

QPoint BlockMapView::showCell(uint64_t cell)
{
    const BlockMapLayout l = layout();
    const QRect r = l.cellRect(cell);
    const QPoint o = origin();
    if (r.top() < o.y() || r.bottom() > o.y() + viewport()->height())
        verticalScrollBar()->setValue(r.center().y() - viewport()->height() / 2);
    if (r.left() < o.x() || r.right() > o.x() + viewport()->width())
        horizontalScrollBar()->setValue(r.center().x() - viewport()->width() / 2);
    return r.center() - origin();
}

void BlockMapView::wheelEvent(QWheelEvent *event)
{
    if (!(event->modifiers() & Qt::ControlModifier))
        return QAbstractScrollArea::wheelEvent(event);
    if (event->angleDelta().y() > 0)
        zoomIn();
    else if (event->angleDelta().y() < 0)
        zoomOut();
    event->accept();
}

void BlockMapView::mousePressEvent(QMouseEvent *event)
{
    if (event->button() != Qt::LeftButton)
        return QAbstractScrollArea::mousePressEvent(event);
    const int b = blockAt(event->position().toPoint());
    if (b >= 0)
        Q_EMIT blockClicked(b);
}

bool BlockMapView::viewportEvent(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        const int b = blockAt(help->pos());
        if (b < 0) {
            QToolTip::hideText();
            event->ignore();
        } else {
            QToolTip::showText(help->globalPos(), m_data->tooltipOf(b), viewport());
        }
        return true;
    }
    return QAbstractScrollArea::viewportEvent(event);
}

} // namespace vd::widgets
