#include "blockmapdata.h"

#include "displaytext.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QLocale>

#include <algorithm>

namespace vd::widgets {

namespace {

QString tr(const char *text, const char *disambiguation = nullptr, int n = -1)
{
    return QCoreApplication::translate("vd::widgets::BlockMapView", text, disambiguation, n);
}

QString line(const QString &escaped)
{
    return escaped + QStringLiteral("<br>");
}

} // namespace

void BlockMapData::setMap(storage::AllocationMap map)
{
    m_map = std::move(map);
    m_health = storage::healthOf(m_map);
    m_hasMap = true;
    match();
}

void BlockMapData::setOwners(tree::BlockOwners owners)
{
    m_owners = std::move(owners);
    m_hasOwners = true;
    match();
}

void BlockMapData::match()
{
    m_usersOfBlock.assign(m_map.blocks.size(), -1);
    if (!m_hasOwners)
        return;
    size_t b = 0;
    for (size_t u = 0; u < m_owners.blocks.size(); ++u) {
        const uint64_t offset = m_owners.blocks[u].offset;
        while (b < m_map.blocks.size() && m_map.blocks[b].offset < offset)
            ++b;
        if (b < m_map.blocks.size() && m_map.blocks[b].offset == offset)
            m_usersOfBlock[b] = int(u);
    }
}

int BlockMapData::blockAt(uint64_t cell) const
{
    const uint64_t offset = cell * storage::kSlotSize;
    const auto it = std::upper_bound(
        m_map.blocks.begin(), m_map.blocks.end(), offset, [](uint64_t off, const storage::MapBlock &b) { return off < b.offset; });
    if (it == m_map.blocks.begin())
        return -1;
    const auto prev = std::prev(it);
    return offset < prev->end() ? int(prev - m_map.blocks.begin()) : -1;
}

const tree::BlockUsers *BlockMapData::usersOf(int i) const
{
    if (i < 0 || size_t(i) >= m_usersOfBlock.size() || m_usersOfBlock[size_t(i)] < 0)
        return nullptr;
    return &m_owners.blocks[size_t(m_usersOfBlock[size_t(i)])];
}

std::vector<tree::BlockOwner> BlockMapData::filesOf(int i) const
{
    std::vector<tree::BlockOwner> out;
    if (const tree::BlockUsers *u = usersOf(i))
        for (const uint32_t f : u->files)
            out.push_back(m_owners.files[f]);
    return out;
}

CellState BlockMapData::stateOf(int i) const
{
    if (i < 0)
        return CellState::Free;
    const storage::MapBlock &b = block(i);
    if (m_map.isCorrupt(b.offset))
        return CellState::Corrupt;
    switch (b.use) {
    case storage::BlockUse::Head:
    case storage::BlockUse::Reserve:
        return CellState::Head;
    case storage::BlockUse::Catalog:
        return CellState::Catalog;
    case storage::BlockUse::Unrecorded:
        return CellState::Unused;
    case storage::BlockUse::Small:
    case storage::BlockUse::Data:
        break;
    }
    if (m_hasOwners) {
        const tree::BlockUsers *u = usersOf(i);
        // An open SmallBlock may hold nothing yet: it is still the live one.
        if (!u && !(b.use == storage::BlockUse::Small))
            return CellState::Unused;
        if (u && !u->live)
            return CellState::Snapshot;
    }
    return b.use == storage::BlockUse::Small ? CellState::Small : CellState::Data;
}

QColor BlockMapData::colourOf(CellState state, int sizeClass, double fill)
{
    switch (state) {
    case CellState::Free:
        return QColor(0xe4, 0xe6, 0xea);
    case CellState::Head:
        return QColor(0x4a, 0x4f, 0x57);
    case CellState::Catalog:
        return QColor(0x8e, 0x5c, 0xc2);
    case CellState::Small: {
        // Pale when empty, deep orange when full.
        const double f = std::clamp(fill, 0.0, 1.0);
        return QColor::fromRgbF(float(0.99 - 0.09 * f), float(0.85 - 0.40 * f), float(0.62 - 0.52 * f));
    }
    case CellState::Data: {
        // 1 MiB light blue … 16 MiB deep blue.
        static const QColor byClass[] = { QColor(0x9c, 0xd3, 0xf0), QColor(0x6b, 0xb4, 0xe6), QColor(0x3d, 0x8f, 0xd6),
            QColor(0x23, 0x6c, 0xb8), QColor(0x15, 0x4a, 0x8c) };
        return byClass[std::clamp(sizeClass, 0, storage::kClassCount - 1)];
    }
    case CellState::Snapshot:
        return QColor(0x3f, 0xa3, 0x6b);
    case CellState::Unused:
        return QColor(0xd9, 0x82, 0x8a);
    case CellState::Corrupt:
        // A signal red, far from Unused's muted rose and every other entry.
        return QColor(0xe0, 0x10, 0x10);
    }
    return Qt::black;
}

QString BlockMapData::nameOf(CellState state)
{
    switch (state) {
    case CellState::Free:
        return tr("Free");
    case CellState::Head:
        return tr("Head and reserve");
    case CellState::Catalog:
        return tr("Catalog (the tree's records)");
    case CellState::Small:
        return tr("SmallBlock (shaded by fill)");
    case CellState::Data:
        return tr("Data block (1 to 16 MiB)");
    case CellState::Snapshot:
        return tr("Held only by a snapshot");
    case CellState::Unused:
        return tr("Unused (gc frees it)");
    case CellState::Corrupt:
        return tr("Corrupt (failed the last check)");
    }
    return {};
}

QColor BlockMapData::colourOf(int i) const
{
    const CellState s = stateOf(i);
    if (i < 0)
        return colourOf(s);
    const storage::MapBlock &b = block(i);
    return colourOf(s, b.sizeClass, b.size() ? double(b.used) / double(b.size()) : 0);
}

std::vector<int> BlockMapData::blocksUsedBy(const std::set<Ruid> &ids, const QStringList &folders) const
{
    std::vector<int> out;
    if (!m_hasOwners || (ids.empty() && folders.isEmpty()))
        return out;
    auto matches = [&](const tree::BlockOwner &f) {
        if (!f.snapshot.isEmpty())
            return false;
        if (ids.count(f.id))
            return true;
        for (const QString &folder : folders)
            if (folder == QLatin1String("/") ? f.path.startsWith(QLatin1Char('/')) : f.path.startsWith(folder + QLatin1Char('/')))
                return true;
        return false;
    };
    // Each live file names every block it uses (a block lists only a few
    // of its files); the owners may be of another generation than the
    // map, so a block the map does not have is left out.
    for (const tree::BlockOwner &f : m_owners.files) {
        if (f.blocks.empty() || !matches(f))
            continue;
        for (const uint64_t offset : f.blocks) {
            const auto it = std::lower_bound(
                m_map.blocks.begin(), m_map.blocks.end(), offset, [](const storage::MapBlock &b, uint64_t off) { return b.offset < off; });
            if (it != m_map.blocks.end() && it->offset == offset)
                out.push_back(int(it - m_map.blocks.begin()));
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

QString BlockMapData::tooltipOf(int i) const
{
    if (i < 0 || i >= blockCount())
        return {};
    const storage::MapBlock &b = block(i);
    QString t = QStringLiteral("<qt>");
    const QString kind = [&] {
        switch (b.use) {
        case storage::BlockUse::Head:
            return tr("Head block");
        case storage::BlockUse::Reserve:
            return tr("Free-space reserve");
        case storage::BlockUse::Catalog:
            return tr("Catalog block");
        case storage::BlockUse::Small:
            return tr("SmallBlock");
        case storage::BlockUse::Data:
            return tr("Data block");
        case storage::BlockUse::Unrecorded:
            return tr("Freed block, held for a reader");
        }
        return QString();
    }();
    t += QStringLiteral("<b>%1</b><br>").arg(kind.toHtmlEscaped());
    if (m_map.isCorrupt(b.offset))
        t += QStringLiteral("<b><font color=\"#e01010\">%1</font></b><br>")
                 .arg(tr("Corrupt: it failed the check of %1")
                          .arg(QLocale().toString(QDateTime::fromMSecsSinceEpoch(m_map.checkedMs), QLocale::ShortFormat))
                          .toHtmlEscaped());
    t += line(tr("At %1 MiB, %2").arg(b.offset / storage::kSlotSize).arg(formatBytes(b.size())).toHtmlEscaped());
    if (b.use == storage::BlockUse::Data)
        t += line(tr("Holds %1").arg(formatBytes(b.used)).toHtmlEscaped());
    else if (b.use == storage::BlockUse::Small || b.use == storage::BlockUse::Catalog)
        t += line(
            tr("%1 live (%2%)").arg(formatBytes(b.used)).arg(b.size() ? 100 * std::min(b.used, b.size()) / b.size() : 0).toHtmlEscaped());
    if (b.use == storage::BlockUse::Data || b.use == storage::BlockUse::Small) {
        const tree::BlockUsers *u = usersOf(i);
        if (!m_hasOwners) {
            t += line(tr("Finding the files that use it…").toHtmlEscaped());
        } else if (!u) {
            t += line(tr("No file uses it").toHtmlEscaped());
        } else {
            t += line(tr("Version: written in generation %1").arg(u->birth).toHtmlEscaped());
            if (!u->live)
                t += line(tr("Held only by snapshots").toHtmlEscaped());
            else if (u->inSnapshot)
                t += line(tr("Also held by snapshots").toHtmlEscaped());
            for (const tree::BlockOwner &f : filesOf(i)) {
                QString where = f.path.isEmpty() ? tr("(in the trash) %1").arg(f.id.toString()) : f.path;
                if (!f.snapshot.isEmpty())
                    where = tr("%1 in snapshot %2").arg(displayName(where), displayName(f.snapshot));
                else
                    where = displayName(where);
                t += QStringLiteral("&nbsp;&nbsp;") + line(where.toHtmlEscaped());
            }
            if (u->fileCount > u->files.size())
                t += line(tr("and %1 more").arg(u->fileCount - u->files.size()).toHtmlEscaped());
        }
    }
    if (t.endsWith(QLatin1String("<br>")))
        t.chop(4);
    return t + QStringLiteral("</qt>");
}

QImage BlockMapData::picture(int columns) const
{
    const BlockMapLayout layout { 1, columns };
    const uint64_t cells = cellCount();
    const QSize size = layout.size(cells);
    QImage image(std::max(size.width(), 1), std::max(size.height(), 1), QImage::Format_RGB32);
    image.fill(Qt::white);
    const QRgb free = colourOf(CellState::Free).rgb();
    const QRgb beyond = QColor(0xfa, 0xfa, 0xfa).rgb();
    int next = 0; // blocks come in offset order
    for (uint64_t cell = 0; cell < uint64_t(size.width()) * uint64_t(size.height()); ++cell) {
        QRgb c = beyond;
        if (cell < cells) {
            const uint64_t offset = cell * storage::kSlotSize;
            while (next < blockCount() && block(next).end() <= offset)
                ++next;
            c = next < blockCount() && block(next).offset <= offset ? colourOf(next).rgb() : free;
        }
        reinterpret_cast<QRgb *>(image.scanLine(int(cell / uint64_t(columns))))[cell % uint64_t(columns)] = c;
    }
    return image;
}

BlockMapLayout BlockMapLayout::forWidth(int width, int cellSize)
{
    BlockMapLayout l;
    l.cellSize = std::max(cellSize, 1);
    l.columns = std::max(storage::kSlotsPerUnit, width / l.cellSize / storage::kSlotsPerUnit * storage::kSlotsPerUnit);
    return l;
}

std::optional<uint64_t> BlockMapLayout::cellAt(QPoint p, uint64_t cells) const
{
    if (p.x() < 0 || p.y() < 0 || p.x() >= columns * cellSize)
        return std::nullopt;
    const uint64_t cell = uint64_t(p.y() / cellSize) * uint64_t(columns) + uint64_t(p.x() / cellSize);
    if (cell >= cells)
        return std::nullopt;
    return cell;
}

QRect BlockMapLayout::cellRect(uint64_t cell) const
{
    return runRect(cell, 1);
}

QRect BlockMapLayout::runRect(uint64_t first, uint64_t count) const
{
    const int x = int(first % uint64_t(columns)) * cellSize;
    const int y = int(first / uint64_t(columns)) * cellSize;
    return QRect(x, y, int(count) * cellSize, cellSize);
}

} // namespace vd::widgets
