// BlockMapView: the block map of idvd — every MiB a cell, coloured by
// what holds it (BlockMapData::stateOf) — zoomable from the whole drive
// down to one 16 MiB unit across (Ctrl+wheel, zoomIn/zoomOut/zoomToFit).
// Hovering names the block under the mouse (its tooltip, names escaped);
// a click reports the block (blockClicked) and blocks set highlighted are
// outlined.
//
// The picture (one pixel per cell) is made off the GUI thread whenever the
// data or the number of columns changes, and scaled up when painted; the
// last one stays on the screen meanwhile.
//
// Thread safety: the GUI thread only.
#pragma once

#include "blockmapdata.h"

#include <QAbstractScrollArea>
#include <QFutureWatcher>
#include <QImage>

#include <memory>
#include <vector>

namespace vd::widgets {

class BlockMapView : public QAbstractScrollArea
{
    Q_OBJECT
public:
    explicit BlockMapView(QWidget *parent = nullptr);
    ~BlockMapView() override;

    void setData(std::shared_ptr<const BlockMapData> picture);
    const BlockMapData *data() const { return m_data.get(); }
    // Blocks to outline (indexes into data()'s blocks).
    void setHighlighted(std::vector<int> blocks);
    const std::vector<int> &highlighted() const { return m_highlighted; }

    int cellSize() const { return m_cellSize; }
    void setCellSize(int pixels);
    BlockMapLayout layout() const;
    // Whether the picture on the screen is of the data and columns now.
    bool isPictureCurrent() const { return !m_picture.isNull() && m_pictureOf == m_wanted; }
    // Scrolls cell into view; returns its centre in viewport coordinates.
    QPoint showCell(uint64_t cell);
    // The block under a viewport point, or -1.
    int blockAt(QPoint viewportPos) const;

public Q_SLOTS:
    void zoomIn();
    void zoomOut();
    // The largest cells that show the whole drive without scrolling.
    void zoomToFit();

Q_SIGNALS:
    void blockClicked(int block);
    void pictureReady();

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    bool viewportEvent(QEvent *event) override;
    void scrollContentsBy(int dx, int dy) override;

private:
    void relayout();
    void requestPicture();
    QPoint origin() const; // the picture's point at the viewport's top left

    std::shared_ptr<const BlockMapData> m_data;
    std::vector<int> m_highlighted;
    int m_cellSize = 8;
    bool m_fitPending = true; // zoom to fit once the first data arrives
    QImage m_picture;
    // What the picture shows and what it should show: (data's serial, columns).
    uint64_t m_serial = 0; // of the data, counted by setData
    std::pair<uint64_t, int> m_pictureOf { 0, 0 }, m_wanted { 0, 0 };
    QFutureWatcher<QImage> *m_painter = nullptr;
    bool m_painterBusy = false;
};

} // namespace vd::widgets
