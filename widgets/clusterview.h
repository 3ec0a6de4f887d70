// ClusterView: a picture of where one file's bytes are — one horizontal
// strip per cluster, in order, each piece as wide as the space it takes
// (a whole block's size, padding hatched; a SmallBlock slot; a run of
// zeros that takes none), pieces that a snapshot's version of the file
// holds too marked, a legend, a tooltip per piece; and the same as a table
// below. The MainWindow shows it in a dock that follows the selection.
//
// The data comes from ClusterGatherer (clusterlayout.h): the node's answers,
// laid out on a worker thread. It is gathered only while the view is
// visible; a change record of the file or of a snapshot gathers it again,
// coalesced on a short timer (and once shown again, if hidden meanwhile).
//
// Thread safety: the GUI thread only.
#pragma once

#include "clusterlayout.h"

#include <QTimer>
#include <QWidget>

class QLabel;
class QTreeWidget;
class QScrollArea;

namespace vd::widgets {

// The picture alone: paints a ClusterLayout; hit-testing for tooltips.
class ClusterPicture : public QWidget
{
    Q_OBJECT
public:
    explicit ClusterPicture(QWidget *parent = nullptr);

    void setClusterLayout(const ClusterLayout &layout);
    const ClusterLayout &clusterLayout() const { return m_layout; }

    // Where piece `piece` of cluster `cluster` is drawn (empty if not).
    QRect pieceRect(int cluster, int piece) const;
    // {cluster, piece} under pos, or {-1, -1}.
    std::pair<int, int> pieceAt(const QPoint &pos) const;
    // The tooltip shown at pos (rich text, every name escaped); empty: none.
    QString toolTipAt(const QPoint &pos) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent *event) override;
    bool event(QEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    struct Geometry
    {
        QRect label;
        QRect strip;
        std::vector<QRect> pieces;
    };
    void relayout();
    int legendHeight() const;
    int rowHeight() const;

    ClusterLayout m_layout;
    std::vector<Geometry> m_rows;
};

class ClusterView : public QWidget
{
    Q_OBJECT
public:
    static constexpr int kCoalesceMs = 200;
    static constexpr int kMaxPictureHeight = 300; // more strips than fit scroll

    explicit ClusterView(client::DriveApi *api, QWidget *parent = nullptr);

    // The file to show (at: a snapshot's; id: to know its change records).
    // An empty path, or a node that is not a file, shows a hint instead.
    void setFile(const Ruid &collection, const QString &path, const QString &at, const Ruid &id, bool isFile);
    QString path() const { return m_path; }
    ClusterPicture *picture() const { return m_picture; }
    QTreeWidget *table() const { return m_table; }
    QString summary() const;
    // The layout shown is for the file set and no gather is pending.
    bool isCurrent() const { return m_current && !m_gatherer->isBusy() && !m_coalesce.isActive(); }
    int gathers() const { return m_gathers; }

Q_SIGNALS:
    // A new layout (or a message) is shown (tests wait on it).
    void shown();

protected:
    void showEvent(QShowEvent *event) override;

private:
    void refresh();
    void onChanged(const Ruid &collection, const std::vector<tree::ChangeRecord> &records);
    void showMessage(const QString &text);
    void fitPicture();

    QPointer<client::DriveApi> m_api;
    ClusterGatherer *m_gatherer = nullptr;
    ClusterPicture *m_picture = nullptr;
    QScrollArea *m_scroll = nullptr;
    QLabel *m_summary = nullptr;
    QTreeWidget *m_table = nullptr;
    QTimer m_coalesce;
    Ruid m_collection;
    QString m_path;
    QString m_at;
    Ruid m_id;
    bool m_isFile = false;
    bool m_current = false; // what is shown answers for the file set, as of its last change
    int m_gathers = 0;
};

} // namespace vd::widgets
