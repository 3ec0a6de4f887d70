// MainWindow's collections (mainwindow.h, "Collections"): the Collection
// menu — new, rename, delete — and the switcher kept up to date whoever
// creates, renames or deletes a collection (this window, another window, a
// `vdrive` command in a terminal): DriveApi::collectionsChanged() lists them
// again, coalesced, without moving the window unless what it shows is gone.
#include "mainwindow.h"

#include "addressbar.h"
#include "displaytext.h"
#include "errorbox.h"
#include "foldertreemodel.h"
#include "whenready.h"

#include <QAction>
#include <QComboBox>
#include <QInputDialog>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QStatusBar>

namespace vd::widgets {

void MainWindow::setupCollections()
{
    auto make = [this](const QString &name, const QString &text, const QKeySequence &keys, auto slot) {
        auto *a = new QAction(text, this);
        a->setObjectName(name);
        a->setShortcut(keys);
        a->setShortcutContext(Qt::WindowShortcut);
        connect(a, &QAction::triggered, this, slot);
        addAction(a);
        return a;
    };
    make(QStringLiteral("renameCollection"), tr("Re&name Collection..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_F2),
         &MainWindow::renameCurrentCollection);
    // A shortcut hard to press by accident: it deletes a whole collection
    // (after a confirmation naming it).
    make(QStringLiteral("deleteCollection"), tr("&Delete Collection..."), QKeySequence(Qt::CTRL | Qt::ALT | Qt::SHIFT | Qt::Key_Delete),
         &MainWindow::deleteCurrentCollection);

    // Reads everything the collection holds (mainwindowcheck.cpp).
    make(QStringLiteral("checkDrive"), tr("C&heck Drive..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_K), &MainWindow::checkCurrentCollection);

    auto *menu = new QMenu(tr("&Collection"), this);
    menu->setObjectName(QStringLiteral("collectionMenu"));
    menu->addAction(action(QStringLiteral("newCollection")));
    menu->addSeparator();
    menu->addAction(action(QStringLiteral("renameCollection")));
    menu->addAction(action(QStringLiteral("deleteCollection")));
    menu->addSeparator();
    menu->addAction(action(QStringLiteral("checkDrive")));
    connect(menu, &QMenu::aboutToShow, this, [this] {
        const bool open = !m_collection.isNull();
        action(QStringLiteral("renameCollection"))->setEnabled(open);
        action(QStringLiteral("deleteCollection"))->setEnabled(open);
        action(QStringLiteral("checkDrive"))->setEnabled(open && !m_check);
    });
    // After File.
    const QList<QAction *> menus = menuBar()->actions();
    menuBar()->insertMenu(menus.size() > 1 ? menus.at(1) : nullptr, menu);

    m_relistDelay.setSingleShot(true);
    m_relistDelay.setInterval(100); // a burst of creates or deletes: one listing
    connect(&m_relistDelay, &QTimer::timeout, this, &MainWindow::relistCollections);
    if (m_api) {
        connect(m_api, &client::DriveApi::collectionsChanged, this, [this] { m_relistDelay.start(); });
        // Lost notifications (a remote node's connection broke): a
        // collection may have come or gone meanwhile.
        connect(m_api, &client::DriveApi::resyncNeeded, this, [this](const Ruid &collection) {
            if (collection.isNull())
                m_relistDelay.start();
        });
    }
}

void MainWindow::relistCollections()
{
    if (!m_api)
        return;
    whenReady(this, m_api->collections(), [this](const Result<std::vector<client::CollectionSummary>> &r) {
        if (!r)
            return; // the switcher keeps what it had; the next change lists again
        const Ruid shown = m_collection;
        bool stillThere = false;
        for (const client::CollectionSummary &c : *r)
            stillThere = stillThere || (c.ruid == shown && c.problem);
        if (!stillThere) {
            // The collection shown was deleted (or cannot be opened now):
            // another one, or the empty state.
            QSettings().remove(QStringLiteral("explorer/collection"));
            refreshCollections();
            return;
        }
        m_summaries = *r;
        const QSignalBlocker quiet(m_collections);
        m_collections->clear();
        for (size_t i = 0; i < m_summaries.size(); ++i) {
            const client::CollectionSummary &c = m_summaries[i];
            QString label = displayName(c.name.isEmpty() ? c.ruid.shortString() : c.name);
            if (!c.problem)
                label = tr("%1 (cannot be opened)").arg(label);
            m_collections->addItem(label, c.ruid.toString());
            m_collections->setItemData(int(i), c.problem ? c.ruid.toString() : c.problem.message(), Qt::ToolTipRole);
            if (c.ruid == shown)
                m_collections->setCurrentIndex(int(i));
        }
        // The name shown everywhere (it may have been renamed).
        m_treeModel->setRootLabel(collectionName());
        m_address->setPath(collectionName(), m_path, snapshotSuffix());
        setWindowTitle(tr("%1 — %2 — vdrive").arg(m_path == QLatin1String("/") ? collectionName() : m_path.section(QLatin1Char('/'), -1), collectionName()));
        refreshUsage();
        Q_EMIT collectionsListed();
    });
}

void MainWindow::renameCurrentCollection()
{
    if (!m_api || m_collection.isNull())
        return;
    const QString old = collectionName();
    auto *ask = new QInputDialog(this);
    ask->setObjectName(QStringLiteral("renameCollectionDialog"));
    ask->setAttribute(Qt::WA_DeleteOnClose);
    ask->setWindowTitle(tr("Rename collection"));
    ask->setLabelText(tr("New name of the collection “%1”:").arg(displayName(old)));
    ask->setTextValue(old);
    ask->setWindowModality(Qt::WindowModal);
    const Ruid collection = m_collection;
    connect(ask, &QInputDialog::textValueSelected, this, [this, collection, old](const QString &typed) {
        const QString name = typed.trimmed();
        if (name.isEmpty() || name == old)
            return;
        whenReady(this, m_api->renameCollection(collection, name), [this, old, name](const Result<client::CollectionSummary> &r) {
            if (!r) {
                showError(this, tr("Could not rename the collection “%1”.").arg(displayName(old)), r.status().toString());
                return;
            }
            statusBar()->showMessage(tr("Collection “%1” renamed to “%2”.").arg(displayName(old), displayName(name)), 5000);
            m_relistDelay.start(); // (the notification also comes; one listing)
        });
    });
    ask->open();
}

void MainWindow::deleteCurrentCollection()
{
    if (!m_api || m_collection.isNull())
        return;
    // Its size first: the confirmation says what would go.
    const Ruid collection = m_collection;
    const QString name = collectionName();
    whenReady(this, m_api->usage(collection), [this, collection, name](const Result<client::Usage> &u) { confirmDelete(collection, name, u); });
}

void MainWindow::confirmDelete(const Ruid &collection, const QString &name, const Result<client::Usage> &usage)
{
    const QString size = usage ? tr("%1 in files, %2 on the disk, %n snapshot(s)", nullptr, int(usage->snapshots))
                                     .arg(formatBytes(usage->logicalBytes), formatBytes(usage->idvdBytes))
                               : tr("its size could not be read");
    auto *box = new QMessageBox(QMessageBox::Warning, tr("Delete collection"),
                                tr("Delete the collection “%1” and everything in it (%2)?\nIts files, folders and snapshots are deleted for good; "
                                   "this cannot be undone.")
                                    .arg(displayName(name), size),
                                QMessageBox::Cancel, this);
    box->setObjectName(QStringLiteral("deleteCollectionDialog"));
    box->setTextFormat(Qt::PlainText); // the name is never markup
    box->setAttribute(Qt::WA_DeleteOnClose);
    QPushButton *yes = box->addButton(tr("Delete Collection"), QMessageBox::DestructiveRole);
    yes->setObjectName(QStringLiteral("confirm"));
    box->setDefaultButton(QMessageBox::Cancel);
    box->setWindowModality(Qt::WindowModal);
    connect(box, &QMessageBox::buttonClicked, this, [this, yes, collection, name](QAbstractButton *clicked) {
        if (clicked != yes)
            return;
        statusBar()->showMessage(tr("Deleting the collection “%1”…").arg(displayName(name)));
        whenReady(this, m_api->deleteCollection(collection), [this, name](const Result<bool> &r) {
            if (!r) {
                statusBar()->clearMessage();
                showError(this, tr("Could not delete the collection “%1”.").arg(displayName(name)), r.status().toString());
                return;
            }
            statusBar()->showMessage(tr("Collection “%1” deleted.").arg(displayName(name)), 5000);
            m_relistDelay.start(); // the one shown is gone: another, or the empty state
        });
    });
    box->open();
}

} // namespace vd::widgets
