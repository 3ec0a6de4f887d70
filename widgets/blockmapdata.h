// BlockMapData and BlockMapLayout: what the block map shows and where, as
// plain values, so that hit-testing (a point → a cell → a block → its
// files) and the picture are pure functions a test can call.
//
// BlockMapData holds the cheap allocation map (DriveApi::blockMap) and,
// once they came, the block owners (DriveApi::blockOwners), matched to the
// map's blocks by offset: the two may be of different generations, and an
// owner entry for a block the map does not have is dropped (the next
// refresh brings both up to date). Every MiB of idvd is a cell.
//
// BlockMapLayout: cells of cellSize pixels in rows of `columns` cells, a
// multiple of 16 so that a 16 MiB unit never wraps (nor a block, which
// lies inside its unit).
//
// Thread safety: values; BlockMapData is built on one thread and then
// only read (the view shares it with the thread that paints its picture).
#pragma once

// Qt's headers first: moc (which reads this through the views) cannot
// parse <concepts>, which geometry.h's <compare> pulls in unless a Qt
// header has been read before it.
#include <QColor>
#include <QImage>
#include <QPoint>
#include <QRect>
#include <QString>
#include <QStringList>

#include "storage/allocationmap.h"
#include "tree/blockowners.h"

#include <optional>
#include <set>
#include <vector>

namespace vd::widgets {

// How a cell is coloured (the legend's entries).
enum class CellState {
    Free,
    Head, // head block and free-space reserve
    Catalog,
    Small, // a SmallBlock, shaded by how full it is
    Data, // a data block the live tree uses, coloured by size class
    Snapshot, // a data block or SmallBlock only snapshots hold
    Unused, // allocated, used by no tree (gc frees it, or a reader still holds it)
    Corrupt, // the node's last check found it damaged (AllocationMap::corrupt): over every other state
};

class BlockMapData
{
public:
    void setMap(storage::AllocationMap map);
    // Matches owners to the map's blocks by offset; keeps them for a later setMap.
    void setOwners(tree::BlockOwners owners);
    bool hasMap() const { return m_hasMap; }
    bool hasOwners() const { return m_hasOwners; }
    const storage::AllocationMap &map() const { return m_map; }
    const storage::AllocatorHealth &health() const { return m_health; }

    uint64_t cellCount() const { return uint64_t(m_map.words.size()) * storage::kSlotsPerUnit; }
    // The block covering cell (1 MiB slot) `cell`, or -1 when it is free.
    int blockAt(uint64_t cell) const;
    int blockCount() const { return int(m_map.blocks.size()); }
    const storage::MapBlock &block(int i) const { return m_map.blocks[size_t(i)]; }
    // Who uses block i; null while the owners are not known, or when no tree does.
    const tree::BlockUsers *usersOf(int i) const;
    // The files using block i (at most BlockOwners::kMaxListed).
    std::vector<tree::BlockOwner> filesOf(int i) const;
    CellState stateOf(int i) const;
    QColor colourOf(int i) const;

    // The blocks used by any of the nodes `ids`, or by a file below one of
    // the folders `folders` (paths of the live tree).
    std::vector<int> blocksUsedBy(const std::set<Ruid> &ids, const QStringList &folders) const;

    // The tooltip of block i: rich text, every name escaped.
    QString tooltipOf(int i) const;

    // One pixel per cell, `columns` a row (the view scales it up).
    QImage picture(int columns) const;

    static QColor colourOf(CellState state, int sizeClass = 0, double fill = 0);
    static QString nameOf(CellState state);

private:
    storage::AllocationMap m_map;
    storage::AllocatorHealth m_health;
    tree::BlockOwners m_owners;
    std::vector<int> m_usersOfBlock; // block -> index in m_owners.blocks, or -1
    bool m_hasMap = false;
    bool m_hasOwners = false;
    void match();
};

struct BlockMapLayout
{
    int cellSize = 8;
    int columns = 16;

    // The layout for a viewport this wide: as many whole units a row as fit, at least one.
    static BlockMapLayout forWidth(int width, int cellSize);
    uint64_t rows(uint64_t cells) const { return (cells + uint64_t(columns) - 1) / uint64_t(columns); }
    QSize size(uint64_t cells) const { return QSize(columns * cellSize, int(rows(cells)) * cellSize); }
    // The cell under p (in the picture's coordinates), if any of the cells.
    std::optional<uint64_t> cellAt(QPoint p, uint64_t cells) const;
    QRect cellRect(uint64_t cell) const;
    // The rectangle of cells [first, first + count) within one row.
    QRect runRect(uint64_t first, uint64_t count) const;
};

// Zoom steps: a cell's size in pixels.
inline constexpr int kCellSizes[] = { 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64 };

} // namespace vd::widgets
