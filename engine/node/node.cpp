#include "node.h"

#include "identity.h"

#include <QFileInfo>

namespace vd::node {

Node::Node(NodeOptions options, QObject *parent) : QObject(parent), m_options(std::move(options))
{
    if (!m_options.env)
        m_options.env = io::Env::posix();
    qRegisterMetaType<vd::Ruid>();
}

Node::~Node()
{
    close();
}

void Node::close()
{
    std::map<Ruid, std::unique_ptr<DriveHost>> hosts;
    std::vector<std::unique_ptr<DriveHost>> retired;
    {
        std::lock_guard lock(m_mutex);
        m_closed = true;
        hosts.swap(m_hosts);
        retired.swap(m_retired);
    }
    for (auto &[ruid, host] : hosts)
        host->close();
    hosts.clear(); // each waits for its writer thread
    retired.clear();
}

Result<std::vector<storage::CollectionEntry>> Node::collections()
{
    return storage::listCollections(*m_options.env, m_options.dataDir);
}

std::vector<DriveHost *> Node::hosts() const
{
    std::lock_guard lock(m_mutex);
    std::vector<DriveHost *> out;
    for (const auto &[ruid, host] : m_hosts)
        out.push_back(host.get());
    return out;
}

Result<DriveHost *> Node::host(const QString &nameOrRuid)
{
    // Opening reads and checks the whole state: done without m_mutex (the
    // hosts open answer meanwhile), but one open at a time, so that two
    // clients asking for the same collection at once do not both open it
    // (the second would find it locked, by this very process).
    std::lock_guard opening(m_opening);
    return hostLocked(nameOrRuid);
}

Result<DriveHost *> Node::hostLocked(const QString &nameOrRuid)
{
    VD_TRY_ASSIGN(const QString dir, storage::findCollection(*m_options.env, m_options.dataDir, nameOrRuid));
    {
        std::lock_guard lock(m_mutex);
        if (m_closed)
            return Status::cancelled(QStringLiteral("the node is shutting down"));
        // The folder findCollection() resolved is named by the RUID (a RUID
        // may be typed in capitals, or a name given).
        const QString folder = QFileInfo(dir).fileName();
        for (const auto &[ruid, host] : m_hosts)
            if (host->ruid().toString() == folder)
                return host.get();
    }
    VD_TRY(ensureIdentity());
    VD_TRY_ASSIGN(auto drive, tree::Drive::open(*m_options.env, dir, storage::Access::ReadWrite, m_options.drive));
    return adopt(std::move(drive));
}

Status Node::ensureIdentity()
{
    if (m_options.drive.nodeShortId != 0)
        return {};
    VD_TRY_ASSIGN(const NodeIdentity identity, NodeIdentity::open(m_options.dataDir));
    m_options.drive.nodeShortId = identity.id().shortId();
    return {};
}

Result<DriveHost *> Node::create(const QString &name, const storage::CreateOptions &options)
{
    std::lock_guard naming(m_naming);
    std::lock_guard opening(m_opening);
    VD_TRY(ensureIdentity());
    VD_TRY_ASSIGN(auto col, storage::createCollection(*m_options.env, m_options.dataDir, name, options));
    VD_TRY_ASSIGN(auto drive, tree::Drive::attach(std::move(col), m_options.drive));
    VD_TRY(drive->commit());
    auto host = adopt(std::move(drive));
    Q_EMIT collectionsChanged();
    return host;
}

Result<storage::CollectionEntry> Node::renameCollection(const QString &nameOrRuid, const QString &newName)
{
    std::lock_guard naming(m_naming);
    VD_TRY(storage::validateCollectionName(newName));
    DriveHost *h = nullptr;
    {
        std::lock_guard opening(m_opening);
        VD_TRY_ASSIGN(const QString dir, storage::findCollection(*m_options.env, m_options.dataDir, nameOrRuid));
        VD_TRY_ASSIGN(const auto all, storage::listCollections(*m_options.env, m_options.dataDir));
        VD_TRY(storage::checkNameFree(all, newName, QFileInfo(dir).fileName()));
        VD_TRY_ASSIGN(h, hostLocked(nameOrRuid));
    }
    // The name is in .meta and the head slot: a change of the writer's like
    // any other, committed before the future reports. Waited for with only
    // m_naming held, so opening other collections goes on meanwhile.
    QFuture<Result<uint64_t>> done = h->write<uint64_t>(
        [newName](tree::Drive &d, OpContext &) -> Result<uint64_t> {
            VD_TRY(d.collection().setName(newName));
            return d.collection().generation() + 1;
        },
        DriveHost::Grouping::Alone);
    done.waitForFinished();
    if (done.resultCount() == 0)
        return Status::cancelled(QStringLiteral("the rename was dropped"));
    VD_TRY_ASSIGN(const uint64_t generation, done.result());
    h->setName(newName);
    storage::CollectionEntry e;
    e.ruid = h->ruid();
    e.name = newName;
    e.folder = h->ruid().toString();
    e.path = storage::collectionsDir(m_options.dataDir) + QLatin1Char('/') + e.folder;
    e.generation = generation;
    Q_EMIT collectionsChanged();
    return e;
}

Result<storage::CollectionEntry> Node::deleteCollection(const QString &nameOrRuid)
{
    std::lock_guard naming(m_naming);
    std::lock_guard opening(m_opening); // nothing opens it meanwhile
    VD_TRY_ASSIGN(const QString dir, storage::findCollection(*m_options.env, m_options.dataDir, nameOrRuid, true));
    const QString folder = QFileInfo(dir).fileName();
    storage::CollectionEntry gone;
    gone.path = dir;
    gone.folder = folder;
    if (auto meta = storage::Collection::peekMeta(*m_options.env, dir)) {
        gone.ruid = meta->ruid;
        gone.name = meta->name;
        gone.generation = meta->generation;
        gone.createdMs = meta->createdMs;
    } else if (auto ruid = Ruid::parse(folder)) {
        gone.ruid = *ruid;
    }
    // Its host here goes first: refused while anything runs on it.
    std::unique_ptr<DriveHost> retired;
    {
        std::lock_guard lock(m_mutex);
        for (auto it = m_hosts.begin(); it != m_hosts.end(); ++it)
            if (it->second->ruid().toString() == folder) {
                retired = std::move(it->second);
                m_hosts.erase(it);
                break;
            }
    }
    if (retired) {
        const QString name = retired->name();
        Status st = retired->retire(Status::notFound(QStringLiteral("collection '%1' was deleted").arg(name)));
        std::lock_guard lock(m_mutex);
        if (!st) {
            // In use: it stays open and served as it was, its relays untouched.
            const Ruid ruid = retired->ruid();
            m_hosts.emplace(ruid, std::move(retired));
            return st;
        }
        // Its writer has stopped (retire() joined it), so the relays go
        // only now: dropping a relay while the writer may still be calling
        // it would be ordered only by Qt's own reference count.
        disconnect(retired.get(), nullptr, this, nullptr);
        m_retired.push_back(std::move(retired));
    }
    // Whatever happens below, the list may have changed (a retired host
    // reopens on demand if the delete fails).
    const Status st = storage::deleteCollectionAt(*m_options.env, m_options.dataDir, dir);
    Q_EMIT collectionsChanged();
    VD_TRY(st);
    return gone;
}

Result<DriveHost *> Node::adopt(std::unique_ptr<tree::Drive> drive)
{
    std::lock_guard lock(m_mutex);
    if (m_closed)
        return Status::cancelled(QStringLiteral("the node is shutting down"));
    const Ruid ruid = drive->collection().ruid();
    if (auto it = m_hosts.find(ruid); it != m_hosts.end())
        return it->second.get(); // (cannot happen: the writer lock refuses a second open)
    auto host = std::make_unique<DriveHost>(std::move(drive));
    DriveHost *h = host.get();
    connect(h, &DriveHost::changed, this, [this, ruid](const std::vector<tree::ChangeRecord> &records) { Q_EMIT changed(ruid, records); },
            Qt::DirectConnection);
    connect(h, &DriveHost::resyncNeeded, this, [this, ruid](const QString &why) { Q_EMIT resyncNeeded(ruid, why); }, Qt::DirectConnection);
    m_hosts.emplace(ruid, std::move(host));
    return h;
}

} // namespace vd::node
