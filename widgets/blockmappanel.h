// BlockMapPanel: the block map of one collection (BlockMapView) with its
// legend and the allocator's health beside it, fed by the DriveApi.
//
// A refresh asks for the cheap allocation map first (DriveApi::blockMap)
// and shows it at once, then for the block owners (blockOwners, a walk of
// every tree) and fills them in. It asks only while the panel is visible:
// change records of its collection mark the map stale and, while shown,
// refresh it once a second at most (coalesced); hidden, it refreshes when
// shown again, and an owners walk in flight is cancelled. The pictures'
// values (the cell lookup, the health, the owners matched to the blocks,
// the blocks a selection highlights) are made on the thread pool.
//
// Lifetime: the api must outlive the panel (it is held by QPointer).
// Thread safety: the GUI thread only.
#pragma once

#include "blockmapdata.h"

#include "client/driveapi.h"

#include <QFuture>
#include <QPointer>
#include <QTimer>
#include <QWidget>

#include <memory>
#include <set>

class QLabel;
class QToolBar;

namespace vd::widgets {

class BlockMapView;

class BlockMapPanel : public QWidget
{
    Q_OBJECT
public:
    explicit BlockMapPanel(client::DriveApi *api, QWidget *parent = nullptr);
    ~BlockMapPanel() override;

    void setCollection(const Ruid &collection);
    Ruid collection() const { return m_collection; }
    // Asks again now if shown, else when shown.
    void refresh();
    // What the browser has selected: its nodes, and the folders among them.
    void setSelection(const std::set<Ruid> &ids, const QStringList &folders);

    BlockMapView *view() const { return m_view; }
    QToolBar *toolBar() const { return m_bar; }
    QLabel *healthLabel() const { return m_health; }
    // Whether the owners shown are those of the last map asked for.
    bool isComplete() const;

Q_SIGNALS:
    // A block was clicked: the files that use it (at most BlockOwners::kMaxListed).
    void filesClicked(const std::vector<vd::tree::BlockOwner> &files);
    // A map, then its owners, were shown (tests wait on these).
    void mapShown();
    void ownersShown();

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    void request();
    void requestOwners(uint64_t serial);
    void display(std::shared_ptr<const BlockMapData> picture);
    void updateHealth();
    void updateHighlight();
    QWidget *makeLegend();

    QPointer<client::DriveApi> m_api;
    Ruid m_collection;
    BlockMapView *m_view = nullptr;
    QToolBar *m_bar = nullptr;
    QLabel *m_status = nullptr;
    QLabel *m_health = nullptr;
    std::shared_ptr<const BlockMapData> m_data;
    uint64_t m_serial = 0; // of the last request: older answers are dropped
    uint64_t m_highlightSerial = 0; // of the last highlight asked for
    bool m_stale = true;
    bool m_ownersDone = false;
    QFuture<Result<tree::BlockOwners>> m_owners; // in flight, cancelled when no longer wanted
    QTimer m_coalesce;
    std::set<Ruid> m_selectedIds;
    QStringList m_selectedFolders;
};

} // namespace vd::widgets
