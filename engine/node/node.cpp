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
    {
        std::lock_guard lock(m_mutex);
        m_closed = true;
        hosts.swap(m_hosts);
    }
    for (auto &[ruid, host] : hosts)
        host->close();
    hosts.clear(); // each waits for its writer thread
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
    std::lock_guard opening(m_opening);
    VD_TRY(ensureIdentity());
    VD_TRY_ASSIGN(auto col, storage::createCollection(*m_options.env, m_options.dataDir, name, options));
    VD_TRY_ASSIGN(auto drive, tree::Drive::attach(std::move(col), m_options.drive));
    VD_TRY(drive->commit());
    return adopt(std::move(drive));
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
