#include "clusterlayout.h"

#include "displaytext.h"
#include "whenready.h"

#include "storage/geometry.h"

#include <QHeaderView>
#include <QLocale>
#include <QSet>
#include <QTreeWidget>
#include <QtConcurrent/QtConcurrentRun>

#include <memory>

namespace vd::widgets {

namespace {

// The same stored bytes: a whole block is its id; a SmallBlock slot is
// the SmallBlock and the slot's content (many files share one SmallBlock).
QString storedKey(const tree::PieceInfo &p)
{
    if (p.zero || p.notHere || p.blockId.isNull())
        return {};
    return p.blockId.toString() + QLatin1Char(':') + p.hash;
}

} // namespace

ClusterLayout layOutClusters(const std::vector<tree::ClusterInfo> &clusters, const std::vector<SnapshotClusters> &snapshots)
{
    // Which snapshots hold each stored piece.
    QHash<QString, QStringList> holders;
    ClusterLayout out;
    for (const auto &[name, cs] : snapshots) {
        out.snapshotsHolding.append(name);
        QSet<QString> seen;
        for (const tree::ClusterInfo &c : cs)
            for (const tree::PieceInfo &p : c.pieces) {
                const QString key = storedKey(p);
                if (!key.isEmpty() && !seen.contains(key)) {
                    seen.insert(key);
                    holders[key].append(name);
                }
            }
    }
    out.clusters.reserve(clusters.size());
    for (const tree::ClusterInfo &c : clusters) {
        LaidOutCluster lc;
        lc.start = c.start;
        lc.length = c.length;
        lc.birth = c.birth;
        uint64_t offset = c.start;
        for (const tree::PieceInfo &p : c.pieces) {
            LaidOutPiece lp;
            lp.info = p;
            lp.offset = offset;
            offset += p.length;
            if (p.zero || p.notHere) {
                lp.diskBytes = 0;
            } else if (p.packed) {
                lp.diskBytes = p.storedLength;
            } else {
                // A whole block: its bytes past the piece's are padding (its
                // header among them: the node reports the block's size as stored).
                lp.diskBytes = storage::isValidClass(p.sizeClass) ? storage::classSize(p.sizeClass) : p.storedLength;
                lp.padding = lp.diskBytes > p.length ? lp.diskBytes - p.length : 0;
            }
            const QString key = storedKey(p);
            if (!key.isEmpty())
                lp.sharedWith = holders.value(key);
            out.logicalBytes += p.length;
            out.storedBytes += p.zero || p.notHere ? 0 : p.packed ? p.storedLength : p.length; // a packed slot's bytes are compressed
            out.diskBytes += lp.diskBytes;
            out.paddingBytes += lp.padding;
            ++out.pieces;
            out.sharedPieces += lp.sharedWith.isEmpty() ? 0 : 1;
            lc.pieces.push_back(std::move(lp));
        }
        out.clusters.push_back(std::move(lc));
    }
    return out;
}

QStringList clusterTableHeaders()
{
    return {QObject::tr("Cluster / piece"), QObject::tr("Bytes"),   QObject::tr("Where"),        QObject::tr("Block size"),
            QObject::tr("Stored"),          QObject::tr("Padding"), QObject::tr("Content hash"), QObject::tr("Shared with")};
}

void fillClusterTable(QTreeWidget *table, const ClusterLayout &layout)
{
    table->clear();
    table->setHeaderLabels(clusterTableHeaders());
    const QLocale locale;
    int index = 0;
    for (const LaidOutCluster &c : layout.clusters) {
        auto *top = new QTreeWidgetItem(table, {QObject::tr("Cluster %1 at %2").arg(++index).arg(locale.toString(qulonglong(c.start))),
                                                locale.toString(qulonglong(c.length))});
        for (const LaidOutPiece &p : c.pieces) {
            QString where, block, padding;
            if (p.info.zero) {
                where = QObject::tr("zeros: nothing stored");
            } else if (p.info.notHere) {
                where = QObject::tr("on another node");
            } else if (p.info.packed) {
                where = QObject::tr("SmallBlock %1 (packed)").arg(p.info.blockId.shortString());
            } else {
                where = QObject::tr("block %1").arg(p.info.blockId.shortString());
                block = formatBytes(p.diskBytes);
                padding = formatBytes(p.padding);
            }
            QStringList shared;
            for (const QString &s : p.sharedWith)
                shared.append(displayName(s));
            auto *row = new QTreeWidgetItem(top, {QObject::tr("piece"), locale.toString(qulonglong(p.info.length)), where, block,
                                                  p.info.zero ? QString() : locale.toString(qulonglong(p.info.storedLength)), padding,
                                                  p.info.hash.left(16), shared.join(QStringLiteral(", "))});
            row->setToolTip(6, p.info.hash); // hex: nothing to interpret
            if (!p.sharedWith.isEmpty())
                row->setToolTip(7, richTextOfLines(p.sharedWith));
        }
        top->setExpanded(index <= 8);
    }
    table->header()->resizeSections(QHeaderView::ResizeToContents);
}

ClusterGatherer::ClusterGatherer(client::DriveApi *api, QObject *parent) : QObject(parent), m_api(api) {}

void ClusterGatherer::gather(const Ruid &collection, const QString &path, const QString &at, bool withSnapshots)
{
    const uint64_t epoch = ++m_epoch;
    if (!m_api) {
        Q_EMIT gathered(Status::internal(tr("no node to ask")));
        return;
    }
    m_busy = true;
    whenReady(this, m_api->clusters(collection, path, at), [this, epoch, collection, path, at, withSnapshots](const Result<std::vector<tree::ClusterInfo>> &now) {
        if (epoch != m_epoch)
            return;
        if (!now) {
            m_busy = false;
            Q_EMIT gathered(now.status());
            return;
        }
        if (!withSnapshots) {
            finish(epoch, *now, {});
            return;
        }
        whenReady(this, m_api->snapshots(collection, false), [this, epoch, collection, path, at, cs = *now](const Result<std::vector<tree::SnapshotInfo>> &snaps) {
            if (epoch != m_epoch)
                return;
            if (!snaps || snaps->empty()) { // no snapshots (or none listed): nothing is shared
                finish(epoch, cs, {});
                return;
            }
            // One request per snapshot, all at once; answers kept in the snapshots' order.
            auto answers = std::make_shared<std::vector<std::optional<std::vector<tree::ClusterInfo>>>>();
            auto left = std::make_shared<size_t>();
            QStringList names;
            for (const tree::SnapshotInfo &s : *snaps)
                if (s.name != at) // a snapshot shown shares everything with itself
                    names.append(s.name);
            if (names.isEmpty()) {
                finish(epoch, cs, {});
                return;
            }
            answers->resize(size_t(names.size()));
            *left = size_t(names.size());
            for (size_t i = 0; i < size_t(names.size()); ++i)
                whenReady(this, m_api->clusters(collection, path, names[qsizetype(i)]),
                          [this, epoch, i, answers, left, names, cs](const Result<std::vector<tree::ClusterInfo>> &then) {
                              if (epoch != m_epoch)
                                  return;
                              if (then) // else not there then (NotFound), or not a file then: holds nothing of it
                                  (*answers)[i] = *then;
                              if (--*left > 0)
                                  return;
                              std::vector<SnapshotClusters> held;
                              for (size_t k = 0; k < answers->size(); ++k)
                                  if ((*answers)[k])
                                      held.emplace_back(names[qsizetype(k)], std::move(*(*answers)[k]));
                              finish(epoch, cs, std::move(held));
                          });
        });
    });
}

void ClusterGatherer::finish(uint64_t epoch, std::vector<tree::ClusterInfo> now, std::vector<SnapshotClusters> snaps)
{
    // The comparison is CPU work in proportion to the file's pieces times
    // the snapshots: a worker's, never the GUI thread's.
    QFuture<Result<ClusterLayout>> laid = QtConcurrent::run([now = std::move(now), snaps = std::move(snaps)]() -> Result<ClusterLayout> {
        return layOutClusters(now, snaps);
    });
    whenReady(this, laid, [this, epoch](const Result<ClusterLayout> &layout) {
        if (epoch != m_epoch)
            return;
        m_busy = false;
        Q_EMIT gathered(layout);
    });
}

} // namespace vd::widgets
