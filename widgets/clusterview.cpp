#include "clusterview.h"

#include "displaytext.h"

#include <QEvent>
#include <QHeaderView>
#include <QHelpEvent>
#include <QLabel>
#include <QLocale>
#include <QPainter>
#include <QPainterPath>
#include <QScrollArea>
#include <QSplitter>
#include <QToolTip>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace vd::widgets {

namespace {

constexpr int kMargin = 8;
constexpr int kStripHeight = 30;
constexpr int kRowGap = 8;
constexpr int kMinPiece = 6;    // a 40-byte tail stays visible beside a 16 MiB block
constexpr int kMarkerHeight = 5; // the "a snapshot holds this too" band on top of a piece

// The colours of the picture and its legend (one place, both use them).
const QColor kBlock(0x3b, 0x73, 0xc4);
const QColor kPadding(0xb9, 0xcd, 0xec);
const QColor kPacked(0x2a, 0x9d, 0x6f);
const QColor kZeros(0xe4, 0xe4, 0xe4);
const QColor kElsewhere(0xa0, 0xa0, 0xa0);
const QColor kShared(0xe8, 0x8a, 0x00);

QString rangeText(uint64_t start, uint64_t length)
{
    return QObject::tr("%1 – %2").arg(start == 0 ? QStringLiteral("0") : formatBytes(start), formatBytes(start + length));
}

// How wide a piece is drawn: the space it takes, or its bytes when it
// takes less (zeros take none, a packed slot is compressed).
uint64_t extentOf(const LaidOutPiece &p)
{
    return std::max(p.info.length, p.diskBytes);
}

} // namespace

ClusterPicture::ClusterPicture(QWidget *parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("clusterPicture"));
    setAccessibleName(tr("Clusters of the file"));
    setMouseTracking(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setBackgroundRole(QPalette::Base);
    setAutoFillBackground(true);
}

void ClusterPicture::setClusterLayout(const ClusterLayout &layout)
{
    m_layout = layout;
    relayout();
    updateGeometry();
    update();
}

int ClusterPicture::legendHeight() const
{
    return fontMetrics().height() + 2 * kMargin;
}

int ClusterPicture::rowHeight() const
{
    return fontMetrics().height() + 2 + kStripHeight + kRowGap;
}

QSize ClusterPicture::sizeHint() const
{
    return {600, legendHeight() + int(m_layout.clusters.size()) * rowHeight() + kMargin};
}

QSize ClusterPicture::minimumSizeHint() const
{
    return {200, sizeHint().height()};
}

void ClusterPicture::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    relayout();
}

void ClusterPicture::relayout()
{
    m_rows.clear();
    // One scale for every strip: the longest cluster spans the width, so
    // strips compare by length.
    uint64_t widest = 1;
    for (const LaidOutCluster &c : m_layout.clusters) {
        uint64_t e = 0;
        for (const LaidOutPiece &p : c.pieces)
            e += extentOf(p);
        widest = std::max(widest, e);
    }
    const int full = std::max(50, width() - 2 * kMargin);
    const int labelHeight = fontMetrics().height();
    int y = legendHeight();
    m_rows.reserve(m_layout.clusters.size());
    for (const LaidOutCluster &c : m_layout.clusters) {
        Geometry g;
        g.label = QRect(kMargin, y, full, labelHeight);
        y += labelHeight + 2;
        std::vector<int> w;
        int total = 0;
        for (const LaidOutPiece &p : c.pieces) {
            const int px = std::max(kMinPiece, int(double(extentOf(p)) / double(widest) * full + 0.5));
            w.push_back(px);
            total += px;
        }
        // The minimum widths may push a full cluster past the edge: take
        // the excess from the widest pieces.
        while (total > full && !w.empty()) {
            auto most = std::max_element(w.begin(), w.end());
            const int take = std::min(total - full, *most - kMinPiece);
            if (take <= 0)
                break;
            *most -= take;
            total -= take;
        }
        int x = kMargin;
        for (int px : w) {
            g.pieces.emplace_back(x, y, px, kStripHeight);
            x += px;
        }
        g.strip = QRect(kMargin, y, std::max(0, x - kMargin), kStripHeight);
        y += kStripHeight + kRowGap;
        m_rows.push_back(std::move(g));
    }
}

QRect ClusterPicture::pieceRect(int cluster, int piece) const
{
    if (cluster < 0 || size_t(cluster) >= m_rows.size() || piece < 0 || size_t(piece) >= m_rows[size_t(cluster)].pieces.size())
        return {};
    return m_rows[size_t(cluster)].pieces[size_t(piece)];
}

std::pair<int, int> ClusterPicture::pieceAt(const QPoint &pos) const
{
    // Rows are in y order: find the row by its strip, then the piece.
    auto row = std::lower_bound(m_rows.begin(), m_rows.end(), pos.y(), [](const Geometry &g, int y) { return g.strip.bottom() < y; });
    if (row == m_rows.end() || !row->strip.contains(pos))
        return {-1, -1};
    for (size_t i = 0; i < row->pieces.size(); ++i)
        if (row->pieces[i].contains(pos))
            return {int(row - m_rows.begin()), int(i)};
    return {-1, -1};
}

QString ClusterPicture::toolTipAt(const QPoint &pos) const
{
    const auto [ci, pi] = pieceAt(pos);
    if (ci < 0)
        return {};
    const LaidOutCluster &c = m_layout.clusters[size_t(ci)];
    const LaidOutPiece &p = c.pieces[size_t(pi)];
    const QLocale locale;
    QStringList lines;
    lines.append(tr("Cluster %1, piece %2: bytes %3").arg(ci + 1).arg(pi + 1).arg(rangeText(p.offset, p.info.length)));
    if (p.info.zero) {
        lines.append(tr("A run of zeros: nothing stored"));
    } else if (p.info.notHere) {
        lines.append(tr("Held by another node"));
    } else if (p.info.packed) {
        lines.append(tr("Packed into SmallBlock %1 (version %2)").arg(p.info.blockId.shortString()).arg(p.info.version));
        lines.append(tr("%1 bytes stored for %2 bytes").arg(locale.toString(qulonglong(p.info.storedLength)), locale.toString(qulonglong(p.info.length))));
    } else {
        lines.append(tr("Block %1 (version %2), %3").arg(p.info.blockId.shortString()).arg(p.info.version).arg(formatBytes(p.diskBytes)));
        lines.append(tr("%1 of the file, %2 padding (its header and unused space)").arg(formatBytes(p.info.length), formatBytes(p.padding)));
    }
    if (!p.info.hash.isEmpty())
        lines.append(tr("SHA-256 %1…").arg(p.info.hash.left(16)));
    if (p.sharedWith.isEmpty()) {
        if (!p.info.zero && !m_layout.snapshotsHolding.isEmpty())
            lines.append(tr("Only the version shown holds these bytes"));
    } else {
        lines.append(tr("Also held by %n snapshot(s):", nullptr, int(p.sharedWith.size())));
        for (const QString &s : p.sharedWith)
            lines.append(QStringLiteral("  ") + s); // a name: escaped with the rest below
    }
    return richTextOfLines(lines);
}

bool ClusterPicture::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        const QString tip = toolTipAt(help->pos());
        if (tip.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), tip, this, pieceRect(pieceAt(help->pos()).first, pieceAt(help->pos()).second));
        return true;
    }
    return QWidget::event(event);
}

void ClusterPicture::paintEvent(QPaintEvent *event)
{
    QPainter painter(this);
    painter.setClipRect(event->rect());
    const QPalette &pal = palette();
    const QFontMetrics fm = fontMetrics();

    // The legend, across the top.
    {
        struct Swatch
        {
            QColor colour;
            Qt::BrushStyle style;
            QString text;
        };
        const Swatch swatches[] = {
            {kBlock, Qt::SolidPattern, tr("block")},
            {kPadding, Qt::SolidPattern, tr("padding")},
            {kPacked, Qt::SolidPattern, tr("packed in a SmallBlock")},
            {kZeros, Qt::SolidPattern, tr("zeros (not stored)")},
            {kShared, Qt::SolidPattern, tr("also in a snapshot")},
        };
        int x = kMargin;
        const int y = kMargin;
        const int box = fm.height() - 2;
        for (const Swatch &s : swatches) {
            const QRect r(x, y + 1, box + 6, box);
            painter.fillRect(r, s.colour);
            if (s.colour == kPadding) {
                painter.fillRect(r, QBrush(kBlock, Qt::BDiagPattern));
            } else if (s.colour == kShared) {
                painter.fillRect(r, kBlock);
                painter.fillRect(QRect(r.left(), r.top(), r.width(), kMarkerHeight), kShared);
            }
            painter.setPen(pal.color(QPalette::Mid));
            painter.drawRect(r.adjusted(0, 0, -1, -1));
            painter.setPen(pal.color(QPalette::Text));
            const QRect t(r.right() + 5, y, fm.horizontalAdvance(s.text) + 2, fm.height());
            painter.drawText(t, Qt::AlignLeft | Qt::AlignVCenter, s.text);
            x = t.right() + 14;
        }
    }

    const QLocale locale;
    for (size_t ci = 0; ci < m_rows.size(); ++ci) {
        const Geometry &g = m_rows[ci];
        if (g.strip.bottom() < event->rect().top() - fm.height() || g.label.top() > event->rect().bottom())
            continue; // a 100,000-cluster file paints only what is in view
        const LaidOutCluster &c = m_layout.clusters[ci];
        size_t blocks = 0, packed = 0;
        uint64_t padding = 0;
        for (const LaidOutPiece &p : c.pieces) {
            blocks += !p.info.zero && !p.info.packed && !p.info.notHere;
            packed += p.isPacked();
            padding += p.padding;
        }
        QStringList parts{tr("Cluster %1").arg(ci + 1), rangeText(c.start, c.length)};
        if (blocks)
            parts.append(tr("%n block(s)", nullptr, int(blocks)));
        if (packed)
            parts.append(tr("%n packed", nullptr, int(packed)));
        if (padding)
            parts.append(tr("%1 padding").arg(formatBytes(padding)));
        painter.setPen(pal.color(QPalette::Text));
        painter.drawText(g.label, Qt::AlignLeft | Qt::AlignVCenter, fm.elidedText(parts.join(QStringLiteral(" · ")), Qt::ElideRight, g.label.width()));

        for (size_t pi = 0; pi < g.pieces.size(); ++pi) {
            const QRect r = g.pieces[pi];
            const LaidOutPiece &p = c.pieces[pi];
            if (p.info.zero) {
                painter.fillRect(r, kZeros);
                painter.fillRect(r, QBrush(kElsewhere, Qt::Dense7Pattern));
            } else if (p.info.notHere) {
                painter.fillRect(r, QBrush(kElsewhere, Qt::Dense5Pattern));
            } else if (p.info.packed) {
                painter.fillRect(r, kPacked);
            } else {
                // Stored bytes solid, the block's padding hatched after them.
                const double used = p.diskBytes ? double(p.info.length) / double(p.diskBytes) : 1.0;
                const int solid = std::clamp(int(r.width() * used + 0.5), p.padding ? 1 : r.width(), r.width());
                painter.fillRect(QRect(r.left(), r.top(), solid, r.height()), kBlock);
                if (solid < r.width()) {
                    const QRect pad(r.left() + solid, r.top(), r.width() - solid, r.height());
                    painter.fillRect(pad, kPadding);
                    painter.fillRect(pad, QBrush(kBlock, Qt::BDiagPattern));
                }
            }
            if (!p.sharedWith.isEmpty())
                painter.fillRect(QRect(r.left(), r.top(), r.width(), kMarkerHeight), kShared);
            // A piece's size inside it, where it fits.
            if (!p.info.zero && r.width() > 60) {
                const QString text = p.info.packed ? tr("packed %1").arg(formatBytes(p.info.length)) : formatBytes(p.diskBytes);
                const QRect textRect = r.adjusted(4, kMarkerHeight, -4, 0);
                if (fm.horizontalAdvance(text) < textRect.width()) {
                    painter.setPen(Qt::white);
                    painter.drawText(textRect, Qt::AlignLeft | Qt::AlignVCenter, text);
                }
            }
            painter.setPen(pal.color(QPalette::Base));
            painter.drawLine(r.topRight(), r.bottomRight()); // a seam between pieces
        }
        painter.setPen(pal.color(QPalette::Mid));
        painter.setBrush(Qt::NoBrush);
        painter.drawRect(g.strip.adjusted(0, 0, -1, -1));
    }
    if (m_layout.clusters.empty()) {
        painter.setPen(pal.color(QPalette::PlaceholderText));
        painter.drawText(rect().adjusted(kMargin, legendHeight(), -kMargin, 0), Qt::AlignLeft | Qt::AlignTop, tr("No clusters: the file is empty."));
    }
}

ClusterView::ClusterView(client::DriveApi *api, QWidget *parent) : QWidget(parent), m_api(api)
{
    setObjectName(QStringLiteral("clusterView"));
    m_gatherer = new ClusterGatherer(api, this);
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("clusterSummary"));
    m_summary->setTextFormat(Qt::PlainText);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_picture = new ClusterPicture;
    m_scroll = new QScrollArea(this);
    m_scroll->setWidget(m_picture);
    m_scroll->setWidgetResizable(true);
    m_scroll->setFrameShape(QFrame::NoFrame);
    m_table = new QTreeWidget(this);
    m_table->setObjectName(QStringLiteral("clusterViewTable"));
    m_table->setAccessibleName(tr("Clusters and blocks"));
    m_table->setHeaderLabels(clusterTableHeaders());
    m_table->setUniformRowHeights(true);
    auto *split = new QSplitter(Qt::Vertical, this);
    split->setObjectName(QStringLiteral("clusterSplitter"));
    split->addWidget(m_scroll);
    split->addWidget(m_table);
    // The picture as tall as its strips (up to a few; then it scrolls),
    // the table the rest.
    split->setStretchFactor(0, 0);
    split->setStretchFactor(1, 1);
    split->setChildrenCollapsible(false);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_summary);
    layout->addWidget(split, 1);

    m_coalesce.setSingleShot(true);
    m_coalesce.setInterval(kCoalesceMs);
    connect(&m_coalesce, &QTimer::timeout, this, &ClusterView::refresh);
    connect(m_gatherer, &ClusterGatherer::gathered, this, [this](const Result<ClusterLayout> &laid) {
        if (!laid) {
            showMessage(laid.status().code() == ErrorCode::NotFound ? tr("%1 is not there any more.").arg(displayName(m_path))
                                                                       : tr("Cannot show the clusters of %1: %2").arg(displayName(m_path), laid.status().message()));
            return;
        }
        m_picture->setClusterLayout(*laid);
        fitPicture();
        fillClusterTable(m_table, *laid);
        const QString name = displayName(m_path.section(QLatin1Char('/'), -1));
        QString text = tr("%1 — %2 in %n cluster(s)", nullptr, int(laid->clusters.size())).arg(name, formatBytes(laid->logicalBytes));
        text += tr("; %1 stored, %2 on the disk with %3 padding").arg(formatBytes(laid->storedBytes), formatBytes(laid->diskBytes), formatBytes(laid->paddingBytes));
        if (!m_at.isEmpty())
            text += tr("; as in snapshot %1").arg(displayName(m_at));
        if (laid->snapshotsHolding.isEmpty())
            text += tr("; no other snapshot holds this file.");
        else
            text += tr("; %1 of %n piece(s) also held by snapshots.", nullptr, int(laid->pieces)).arg(laid->sharedPieces);
        m_summary->setText(text);
        m_current = true;
        Q_EMIT shown();
    });
    if (m_api)
        connect(m_api, &client::DriveApi::changed, this, &ClusterView::onChanged);
    showMessage(tr("Select a file to see where its bytes are."));
}

QString ClusterView::summary() const
{
    return m_summary->text();
}

void ClusterView::setFile(const Ruid &collection, const QString &path, const QString &at, const Ruid &id, bool isFile)
{
    if (collection == m_collection && path == m_path && at == m_at && id == m_id && isFile == m_isFile)
        return;
    m_collection = collection;
    m_path = path;
    m_at = at;
    m_id = id;
    m_isFile = isFile;
    m_current = false;
    m_gatherer->cancel();
    if (path.isEmpty() || !isFile) {
        m_coalesce.stop();
        showMessage(path.isEmpty() ? tr("Select a file to see where its bytes are.")
                                   : tr("%1 is not a file: only files have clusters.").arg(displayName(path.section(QLatin1Char('/'), -1))));
        m_current = true;
        return;
    }
    m_summary->setText(tr("Reading the clusters of %1…").arg(displayName(path)));
    m_coalesce.start(); // a quick walk through the rows asks once, for the last
}

void ClusterView::fitPicture()
{
    m_scroll->setMinimumHeight(std::min(m_picture->sizeHint().height() + 2 * m_scroll->frameWidth(), kMaxPictureHeight));
}

void ClusterView::showMessage(const QString &text)
{
    m_picture->setClusterLayout({});
    fitPicture();
    m_table->clear();
    m_summary->setText(text);
    Q_EMIT shown();
}

void ClusterView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (!m_current && m_isFile && !m_path.isEmpty() && !m_coalesce.isActive())
        m_coalesce.start();
}

void ClusterView::refresh()
{
    if (!isVisible())
        return; // hidden: showEvent asks when it is shown again (m_current stays false)
    if (m_path.isEmpty() || !m_isFile || m_collection.isNull())
        return;
    ++m_gathers;
    m_gatherer->gather(m_collection, m_path, m_at, true);
}

void ClusterView::onChanged(const Ruid &collection, const std::vector<tree::ChangeRecord> &records)
{
    if (collection != m_collection || m_path.isEmpty() || !m_isFile)
        return;
    // The file's own change, or a snapshot taken or deleted (what shares
    // its pieces changed). A snapshot's file only changes with snapshots.
    // A file replaced under the same name may be another node: its name counts too.
    const QString name = m_path.section(QLatin1Char('/'), -1);
    const bool touched = std::any_of(records.begin(), records.end(), [this, &name](const tree::ChangeRecord &r) {
        return r.isSnapshot() || (m_at.isEmpty() && ((!m_id.isNull() && r.id == m_id) || r.name() == name));
    });
    if (!touched)
        return;
    m_current = false;
    if (!m_coalesce.isActive())
        m_coalesce.start();
}

} // namespace vd::widgets
