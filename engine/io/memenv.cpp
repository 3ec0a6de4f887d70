#include "memenv.h"
#include "sparsebytes.h"

#include <QDir>
#include <QRandomGenerator>

#include <algorithm>

namespace vd::io {

namespace {
QString clean(const QString &p) { return QDir::cleanPath(p); }
QString parentOf(const QString &p)
{
    const qsizetype i = p.lastIndexOf(QLatin1Char('/'));
    return i <= 0 ? QStringLiteral("/") : p.left(i);
}
} // namespace

struct MemEnv::Node
{
    struct Op
    {
        bool isTruncate;
        uint64_t offset; // write offset, or new size
        QByteArray bytes;
    };
    // Copies share their chunks: keeping the durable image costs little.
    SparseBytes data;
    SparseBytes durable;
    std::vector<Op> pending;
    bool entryDurable = false;
    uint64_t epoch = 0;

    void applyWrite(SparseBytes &img, uint64_t off, QByteArrayView bytes) { img.write(off, bytes); }
    void applyTruncate(SparseBytes &img, uint64_t size) { img.resize(size); }
};

class MemFile final : public File
{
public:
    MemFile(MemEnv *env, std::shared_ptr<MemEnv::Node> node, QString path, bool writable, uint64_t epoch)
        : m_env(env), m_node(std::move(node)), m_path(std::move(path)), m_writable(writable), m_epoch(epoch)
    {
    }

    Status read(uint64_t offset, char *out, size_t len) override
    {
        QMutexLocker lock(&m_env->m_mutex);
        VD_TRY(alive());
        const SparseBytes &d = m_node->data;
        if (offset > d.size() || len > d.size() - offset)
            return Status::corruption(QStringLiteral("'%1' is %2 bytes long; %3 bytes were expected at offset %4")
                                          .arg(m_path)
                                          .arg(d.size())
                                          .arg(len)
                                          .arg(offset));
        d.read(offset, out, len);
        return {};
    }

    Status write(uint64_t offset, QByteArrayView data) override
    {
        QMutexLocker lock(&m_env->m_mutex);
        VD_TRY(alive());
        if (!m_writable)
            return Status::permissionDenied(QStringLiteral("'%1' is open read-only").arg(m_path));
        m_node->applyWrite(m_node->data, offset, data);
        m_node->pending.push_back({false, offset, data.toByteArray()});
        return {};
    }

    Status sync() override
    {
        QMutexLocker lock(&m_env->m_mutex);
        VD_TRY(alive());
        m_node->durable = m_node->data;
        m_node->pending.clear();
        return {};
    }

    Status truncate(uint64_t size) override
    {
        QMutexLocker lock(&m_env->m_mutex);
        VD_TRY(alive());
        if (!m_writable)
            return Status::permissionDenied(QStringLiteral("'%1' is open read-only").arg(m_path));
        m_node->applyTruncate(m_node->data, size);
        m_node->pending.push_back({true, size, {}});
        return {};
    }

    Result<uint64_t> size() override
    {
        QMutexLocker lock(&m_env->m_mutex);
        VD_TRY(alive());
        return uint64_t(m_node->data.size());
    }

    QString path() const override { return m_path; }

private:
    Status alive() const
    {
        if (m_epoch != m_env->m_epoch)
            return Status::ioError(QStringLiteral("'%1': handle lost in a simulated crash").arg(m_path));
        return {};
    }

    MemEnv *m_env;
    std::shared_ptr<MemEnv::Node> m_node;
    QString m_path;
    bool m_writable;
    uint64_t m_epoch;
};

class MemLock final : public FileLock
{
public:
    MemLock(MemEnv *env, QString path, LockMode mode) : m_env(env), m_path(std::move(path)), m_mode(mode) {}
    ~MemLock() override
    {
        QMutexLocker lock(&m_env->m_mutex);
        auto it = m_env->m_locks.find(m_path);
        if (it == m_env->m_locks.end())
            return;
        if (m_mode == LockMode::Exclusive)
            it->second.exclusive = false;
        else
            --it->second.shared;
        if (!it->second.exclusive && it->second.shared == 0)
            m_env->m_locks.erase(it);
    }

private:
    MemEnv *m_env;
    QString m_path;
    LockMode m_mode;
};

MemEnv::MemEnv() { m_dirs[QStringLiteral("/")] = true; }
MemEnv::~MemEnv() = default;

Result<std::unique_ptr<File>> MemEnv::open(const QString &rawPath, OpenMode mode)
{
    const QString path = clean(rawPath);
    QMutexLocker lock(&m_mutex);
    auto it = m_files.find(path);
    if (mode == OpenMode::CreateNew) {
        if (it != m_files.end() || m_dirs.count(path))
            return Status::alreadyExists(QStringLiteral("cannot open '%1': File exists").arg(path));
        if (!m_dirs.count(parentOf(path)))
            return Status::notFound(QStringLiteral("cannot open '%1': No such file or directory").arg(path));
        auto node = std::make_shared<Node>();
        it = m_files.emplace(path, node).first;
    } else if (it == m_files.end()) {
        return Status::notFound(QStringLiteral("cannot open '%1': No such file or directory").arg(path));
    }
    return std::unique_ptr<File>(std::make_unique<MemFile>(this, it->second, path, mode != OpenMode::ReadOnly, m_epoch));
}

Result<bool> MemEnv::exists(const QString &path)
{
    QMutexLocker lock(&m_mutex);
    const QString p = clean(path);
    return m_files.count(p) > 0 || m_dirs.count(p) > 0;
}

Result<bool> MemEnv::isDirectory(const QString &path)
{
    QMutexLocker lock(&m_mutex);
    return m_dirs.count(clean(path)) > 0;
}

Result<QStringList> MemEnv::listDir(const QString &rawDir)
{
    const QString dir = clean(rawDir);
    QMutexLocker lock(&m_mutex);
    if (!m_dirs.count(dir))
        return Status::notFound(QStringLiteral("no directory '%1'").arg(dir));
    QStringList names;
    auto collect = [&](const QString &p) {
        if (p != dir && parentOf(p) == dir)
            names << p.mid(dir == QStringLiteral("/") ? 1 : dir.size() + 1);
    };
    for (const auto &f : m_files)
        collect(f.first);
    for (const auto &d : m_dirs)
        collect(d.first);
    names.sort();
    return names;
}

Status MemEnv::makeDirs(const QString &rawDir)
{
    QMutexLocker lock(&m_mutex);
    QString dir = clean(rawDir);
    while (!m_dirs.count(dir)) {
        if (m_files.count(dir))
            return Status::alreadyExists(QStringLiteral("'%1' is a file").arg(dir));
        m_dirs[dir] = true;
        dir = parentOf(dir);
    }
    return {};
}

Status MemEnv::syncDir(const QString &rawDir)
{
    const QString dir = clean(rawDir);
    QMutexLocker lock(&m_mutex);
    if (!m_dirs.count(dir))
        return Status::notFound(QStringLiteral("no directory '%1'").arg(dir));
    for (auto &f : m_files)
        if (parentOf(f.first) == dir)
            f.second->entryDurable = true;
    return {};
}

Status MemEnv::remove(const QString &rawPath)
{
    const QString path = clean(rawPath);
    QMutexLocker lock(&m_mutex);
    if (m_files.erase(path))
        return {};
    if (m_dirs.count(path)) {
        for (const auto &f : m_files)
            if (parentOf(f.first) == path)
                return Status::ioError(QStringLiteral("directory '%1' is not empty").arg(path));
        m_dirs.erase(path);
        return {};
    }
    return Status::notFound(QStringLiteral("cannot remove '%1': No such file or directory").arg(path));
}

Status MemEnv::rename(const QString &from, const QString &to)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_files.find(clean(from));
    if (it == m_files.end())
        return Status::notFound(QStringLiteral("cannot rename '%1': No such file").arg(from));
    auto node = it->second;
    m_files.erase(it);
    m_files[clean(to)] = node;
    return {};
}

Result<std::unique_ptr<FileLock>> MemEnv::lock(const QString &rawPath, LockMode mode)
{
    const QString path = clean(rawPath);
    QMutexLocker lock(&m_mutex);
    if (!m_files.count(path))
        return Status::notFound(QStringLiteral("cannot open for locking '%1': No such file").arg(path));
    LockState &st = m_locks[path];
    const bool conflict = mode == LockMode::Exclusive ? (st.exclusive || st.shared > 0) : st.exclusive;
    if (conflict)
        return Status::busy(QStringLiteral("'%1' is locked by another handle in this process (in-memory file system)").arg(path));
    if (mode == LockMode::Exclusive)
        st.exclusive = true;
    else
        ++st.shared;
    return std::unique_ptr<FileLock>(std::make_unique<MemLock>(this, path, mode));
}

void MemEnv::simulateCrash(CrashMode mode, uint64_t seed)
{
    QMutexLocker lock(&m_mutex);
    QRandomGenerator rng(quint32(seed ^ (seed >> 32)));
    for (auto it = m_files.begin(); it != m_files.end();) {
        Node &n = *it->second;
        if (!n.entryDurable) {
            it = m_files.erase(it);
            continue;
        }
        if (mode == CrashMode::DropUnsynced) {
            n.data = n.durable;
        } else if (mode == CrashMode::Random) {
            SparseBytes img = n.durable;
            for (const Node::Op &op : n.pending) {
                const int roll = int(rng.bounded(10));
                if (roll < 4)
                    continue; // dropped
                if (op.isTruncate) {
                    n.applyTruncate(img, op.offset);
                } else if (roll < 8 || op.bytes.size() <= 512) {
                    n.applyWrite(img, op.offset, op.bytes);
                } else {
                    // torn: only the first k sectors reached the disk
                    const qsizetype sectors = (op.bytes.size() + 511) / 512;
                    const qsizetype keep = qsizetype(rng.bounded(quint32(sectors))) * 512;
                    n.applyWrite(img, op.offset, QByteArrayView(op.bytes).first(keep));
                }
            }
            n.data = img;
        }
        n.durable = n.data;
        n.pending.clear();
        ++it;
    }
    m_locks.clear();
    ++m_epoch;
}

Result<QByteArray> MemEnv::contents(const QString &path)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_files.find(clean(path));
    if (it == m_files.end())
        return Status::notFound(QStringLiteral("no file '%1'").arg(path));
    return it->second->data.toByteArray();
}

Status MemEnv::setContents(const QString &path, const QByteArray &bytes)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_files.find(clean(path));
    if (it == m_files.end())
        return Status::notFound(QStringLiteral("no file '%1'").arg(path));
    it->second->data = SparseBytes(bytes);
    it->second->durable = it->second->data;
    it->second->pending.clear();
    return {};
}

uint64_t MemEnv::fileSize(const QString &path)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_files.find(clean(path));
    return it == m_files.end() ? 0 : it->second->data.size();
}

} // namespace vd::io
