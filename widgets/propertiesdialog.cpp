#include "propertiesdialog.h"
#include "whenready.h"

#include "clusterlayout.h"
#include "displaytext.h"
#include "nodeinfo.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QFutureWatcher>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QTabWidget>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <memory>

namespace vd::widgets {

namespace {

QString exactBytes(uint64_t n)
{
    return QObject::tr("%1 (%2 bytes)").arg(formatBytes(n), QLocale().toString(qulonglong(n)));
}

} // namespace

PropertiesDialog::PropertiesDialog(client::DriveApi *api, const Ruid &collection, const QString &path, const QString &at, QWidget *parent)
    : QDialog(parent), m_api(api)
{
    setObjectName(QStringLiteral("propertiesDialog"));
    setAttribute(Qt::WA_DeleteOnClose);
    const QString name = path == QLatin1String("/") ? QStringLiteral("/") : path.section(QLatin1Char('/'), -1);
    setWindowTitle(tr("Properties of %1").arg(displayName(name)));
    auto *tabs = new QTabWidget(this);
    auto *general = new QWidget(tabs);
    m_form = new QFormLayout(general);
    const std::pair<const char *, QString> rows[] = {
        {"name", tr("Name:")},         {"path", tr("Path:")},       {"kind", tr("Kind:")},   {"size", tr("Size:")},
        {"onDisk", tr("On the disk:")}, {"clusters", tr("Clusters:")}, {"id", tr("Id:")},     {"version", tr("Version:")},
        {"created", tr("Created:")},    {"modified", tr("Modified:")}, {"snapshot", tr("Read from:")},
    };
    for (const auto &[key, label] : rows) {
        auto *value = new QLabel(tr("..."), general);
        value->setObjectName(QLatin1String(key));
        value->setTextFormat(Qt::PlainText);
        value->setTextInteractionFlags(Qt::TextSelectableByMouse);
        value->setWordWrap(true);
        m_form->addRow(label, value);
    }
    setField(QStringLiteral("name"), displayName(name));
    setField(QStringLiteral("path"), displayName(path));
    setField(QStringLiteral("snapshot"), at.isEmpty() ? tr("now (the live drive)") : tr("snapshot %1 (read-only)").arg(displayName(at)));
    tabs->addTab(general, tr("General"));

    m_clusters = new QTreeWidget(tabs);
    m_clusters->setObjectName(QStringLiteral("clusterTable"));
    m_clusters->setAccessibleName(tr("Clusters and blocks"));
    m_clusters->setHeaderLabels(clusterTableHeaders());
    m_clusters->setColumnHidden(7, true); // "shared with": the Snapshots tab says it per snapshot
    m_clusters->setRootIsDecorated(true);
    tabs->addTab(m_clusters, tr("Clusters and blocks"));

    m_snapshots = new QTreeWidget(tabs);
    m_snapshots->setObjectName(QStringLiteral("snapshotTable"));
    m_snapshots->setAccessibleName(tr("Versions in snapshots"));
    m_snapshots->setHeaderLabels({tr("Snapshot"), tr("Taken"), tr("Size"), tr("This version?")});
    m_snapshots->setRootIsDecorated(false);
    tabs->addTab(m_snapshots, tr("Snapshots"));

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::close);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(tabs);
    layout->addWidget(buttons);
    resize(720, 460);

    if (!m_api)
        return;
    m_pending = 3;
    whenReady(this, m_api->stat(collection, path, at), [this, collection, path, at](const Result<tree::VNode> &n) {
        if (!n) {
            setField(QStringLiteral("kind"), tr("unknown: %1").arg(n.status().message()));
            --m_pending; // no snapshots to compare with
            partDone();
            return;
        }
        setField(QStringLiteral("kind"), kindText(*n));
        setField(QStringLiteral("size"), n->isContainer() ? sizeText(*n) : exactBytes(n->size));
        setField(QStringLiteral("id"), n->id.toString());
        setField(QStringLiteral("version"), n->version.toString());
        setField(QStringLiteral("created"), timeText(n->createdMs));
        setField(QStringLiteral("modified"), timeText(n->modifiedMs));
        if (n->isContainer()) {
            setField(QStringLiteral("onDisk"), tr("its entries' records in the catalog"));
            setField(QStringLiteral("clusters"), tr("none (a folder holds no bytes of its own)"));
        }
        // Which snapshots hold this path, and in which version.
        const tree::VNode now = *n;
        whenReady(this, m_api->snapshots(collection, false), [this, collection, path, now](const Result<std::vector<tree::SnapshotInfo>> &snaps) {
            if (!snaps || snaps->empty()) {
                auto *item = new QTreeWidgetItem(m_snapshots, {snaps ? tr("No snapshots yet.") : snaps.status().message()});
                item->setFirstColumnSpanned(true);
                partDone();
                return;
            }
            auto left = std::make_shared<int>(int(snaps->size()));
            for (const tree::SnapshotInfo &s : *snaps) {
                auto *item = new QTreeWidgetItem(m_snapshots, {displayName(s.name), timeText(s.createdMs), tr("..."), tr("...")});
                whenReady(this, m_api->stat(collection, path, s.name), [this, item, now, left](const Result<tree::VNode> &then) {
                    if (!then) {
                        item->setText(2, QString());
                        item->setText(3, then.status().code() == ErrorCode::NotFound ? tr("not there yet") : then.status().message());
                    } else {
                        item->setText(2, then->isContainer() ? sizeText(*then) : formatBytes(then->size));
                        const bool same = then->id == now.id && then->version == now.version;
                        item->setText(3, same ? tr("yes, the same") : then->id == now.id ? tr("an older version") : tr("another node at this path"));
                    }
                    if (--*left == 0)
                        partDone();
                });
            }
        });
        partDone();
    });
    // The clusters and blocks: laid out as the cluster view lays them out
    // (clusterlayout.h), without the snapshots (the Snapshots tab has them).
    auto *gatherer = new ClusterGatherer(m_api, this);
    connect(gatherer, &ClusterGatherer::gathered, this, [this](const Result<ClusterLayout> &laid) {
        if (!laid) {
            if (laid.status().code() != ErrorCode::InvalidArgument) // a folder has none
                new QTreeWidgetItem(m_clusters, {laid.status().message()});
            partDone();
            return;
        }
        fillClusterTable(m_clusters, *laid);
        setField(QStringLiteral("onDisk"), tr("%1 stored, %2 with block padding").arg(formatBytes(laid->storedBytes), formatBytes(laid->diskBytes)));
        setField(QStringLiteral("clusters"), tr("%1 cluster(s), %2 piece(s)").arg(laid->clusters.size()).arg(laid->pieces));
        partDone();
    });
    gatherer->gather(collection, path, at, false);
}

QString PropertiesDialog::field(const QString &name) const
{
    auto *l = findChild<QLabel *>(name);
    return l ? l->text() : QString();
}

void PropertiesDialog::setField(const QString &name, const QString &text)
{
    if (auto *l = findChild<QLabel *>(name))
        l->setText(text);
}

void PropertiesDialog::partDone()
{
    if (--m_pending == 0)
        Q_EMIT filled();
}

} // namespace vd::widgets
