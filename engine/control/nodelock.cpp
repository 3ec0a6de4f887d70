#include "control/nodelock.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

#include <unistd.h>

namespace vd::control {

namespace {

constexpr uint64_t kMaxRecordBytes = 64 << 10;
constexpr int kRecordFormat = 1;

QByteArray encodeRecord(const NodeInfo &info)
{
    QJsonObject o;
    o.insert(QStringLiteral("format"), kRecordFormat);
    o.insert(QStringLiteral("pid"), info.pid);
    o.insert(QStringLiteral("program"), info.program);
    o.insert(QStringLiteral("socket"), info.socketPath);
    return QJsonDocument(o).toJson(QJsonDocument::Compact) + '\n';
}

// std::nullopt for an empty record (no node, or one that is starting).
Result<std::optional<NodeInfo>> parseRecord(const QString &path, const QByteArray &bytes)
{
    if (bytes.trimmed().isEmpty())
        return std::optional<NodeInfo>();
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        return Status::corruption(QStringLiteral("'%1' is not a node record").arg(path));
    const QJsonObject o = doc.object();
    const int format = o.value(QStringLiteral("format")).toInt(-1);
    if (format != kRecordFormat)
        return Status::versionMismatch(
            QStringLiteral("'%1' has format %2; this build reads format %3").arg(path).arg(format).arg(kRecordFormat));
    NodeInfo info;
    info.pid = o.value(QStringLiteral("pid")).toInteger(0);
    info.program = o.value(QStringLiteral("program")).toString();
    info.socketPath = o.value(QStringLiteral("socket")).toString();
    if (info.pid <= 0)
        return Status::corruption(QStringLiteral("'%1' names no process").arg(path));
    return std::optional<NodeInfo>(info);
}

QString ownCommandLine()
{
    QFile f(QStringLiteral("/proc/self/cmdline"));
    QString cmd;
    if (f.open(QIODevice::ReadOnly)) {
        QByteArray raw = f.read(4096);
        while (raw.endsWith('\0'))
            raw.chop(1);
        raw.replace('\0', ' ');
        cmd = QString::fromLocal8Bit(raw);
    }
    if (cmd.isEmpty())
        cmd = QFile::symLinkTarget(QStringLiteral("/proc/self/exe"));
    return cmd.left(200);
}

} // namespace

QString NodeLock::lockPath(const QString &dataDir) { return QDir(dataDir).filePath(QStringLiteral("node.lock")); }

NodeLock::NodeLock(io::Env &env, QString path, std::unique_ptr<io::FileLock> lock, NodeInfo info)
    : m_env(env), m_path(std::move(path)), m_lock(std::move(lock)), m_info(std::move(info))
{
}

NodeLock::~NodeLock()
{
    // A record left behind would do no harm (nobody holds its lock), but an
    // empty one tells a reader at once.
    (void)writeRecord(QByteArray());
    m_lock.reset();
}

Result<std::unique_ptr<NodeLock>> NodeLock::acquire(io::Env &env, const QString &dataDir, const QString &program)
{
    VD_TRY(env.makeDirs(dataDir));
    const QString path = lockPath(dataDir);
    VD_TRY_ASSIGN(const bool exists, env.exists(path));
    if (!exists) {
        auto created = env.open(path, io::OpenMode::CreateNew);
        if (!created && created.status().code() != ErrorCode::AlreadyExists)
            return created.takeStatus();
    }
    auto lock = env.lock(path, io::LockMode::Exclusive);
    if (!lock) {
        if (lock.status().code() != ErrorCode::Busy)
            return lock.takeStatus();
        // Who runs it: its own record says best; else what the lock says.
        if (auto bytes = io::readWholeFile(env, path, kMaxRecordBytes)) {
            auto record = parseRecord(path, *bytes);
            if (record && *record)
                return Status::busy(QStringLiteral("a node already runs on data directory '%1': pid %2 (%3)")
                                        .arg(dataDir)
                                        .arg((*record)->pid)
                                        .arg((*record)->program));
        }
        return Status::busy(
            QStringLiteral("a node already runs on data directory '%1': %2").arg(dataDir, lock.status().message()));
    }
    NodeInfo info;
    info.pid = ::getpid();
    info.program = program.isEmpty() ? ownCommandLine() : program;
    std::unique_ptr<NodeLock> node(new NodeLock(env, path, std::move(lock).value(), std::move(info)));
    VD_TRY(node->writeRecord(encodeRecord(node->m_info)));
    return node;
}

Status NodeLock::setSocketPath(const QString &socketPath)
{
    m_info.socketPath = socketPath;
    return writeRecord(encodeRecord(m_info));
}

// Writes the new record over the old one, then cuts what is left of the old:
// a reader in between sees a record that does not parse, and reads again.
Status NodeLock::writeRecord(const QByteArray &bytes)
{
    VD_TRY_ASSIGN(auto file, m_env.open(m_path, io::OpenMode::ReadWrite));
    if (!bytes.isEmpty())
        VD_TRY(file->write(0, bytes));
    VD_TRY(file->truncate(uint64_t(bytes.size())));
    return file->sync();
}

Result<std::optional<NodeInfo>> NodeLock::find(io::Env &env, const QString &dataDir)
{
    const QString path = lockPath(dataDir);
    VD_TRY_ASSIGN(const bool exists, env.exists(path));
    if (!exists)
        return std::optional<NodeInfo>();
    auto held = env.isLockedExclusively(path);
    if (!held) {
        if (held.status().code() == ErrorCode::NotFound)
            return std::optional<NodeInfo>();
        return held.takeStatus();
    }
    if (!*held)
        return std::optional<NodeInfo>(); // no file, or one a dead node left
    VD_TRY_ASSIGN(const QByteArray bytes, io::readWholeFile(env, path, kMaxRecordBytes));
    auto record = parseRecord(path, bytes);
    if (!record) {
        if (record.status().code() == ErrorCode::VersionMismatch)
            return record.takeStatus();
        return std::optional<NodeInfo>(NodeInfo()); // being written: the node is starting
    }
    if (!*record)
        return std::optional<NodeInfo>(NodeInfo()); // not written yet
    return std::move(record).value();
}

} // namespace vd::control
