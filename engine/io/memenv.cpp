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
        enum class Type { Write, Truncate, Punch, Allocate };
        Type type;
        uint64_t offset; // write, punch or allocate offset, or new size
        uint64_t length; // punch or allocate length
        QByteArray bytes;
    };
    // The file's bytes and which of its pages have disk space, now and as
    // of the last sync.
    struct Image
    {
        SparseBytes data; // copies share their chunks: a durable image costs little
        std::vector<bool> pages;
        uint64_t allocated = 0; // pages set

        static uint64_t firstPage(uint64_t offset) { return offset / kPageSize; }
        static uint64_t endPage(uint64_t end) { return (end + kPageSize - 1) / kPageSize; }
        // Pages in [from, to) that have no space yet.
        uint64_t missing(uint64_t from, uint64_t to) const
        {
            uint64_t n = 0;
            for (uint64_t p = from; p < to; ++p)
                n += p >= pages.size() || !pages[p] ? 1 : 0;
            return n;
        }
        void mark(uint64_t from, uint64_t to)
        {
            if (pages.size() < to)
                pages.resize(to, false);
            for (uint64_t p = from; p < to; ++p)
                if (!pages[p]) {
                    pages[p] = true;
                    ++allocated;
                }
        }
        void unmark(uint64_t from, uint64_t to)
        {
            for (uint64_t p = from; p < std::min<uint64_t>(to, pages.size()); ++p)
                if (pages[p]) {
                    pages[p] = false;
                    --allocated;
                }
        }
        void write(uint64_t off, QByteArrayView bytes)
        {
            if (bytes.isEmpty())
                return;
            const uint64_t end = off + uint64_t(bytes.size());
            data.write(off, bytes);
            mark(firstPage(off), endPage(end));
        }
        void truncate(uint64_t size)
        {
            data.resize(size);
            unmark(endPage(size), pages.size());
            pages.resize(size_t(endPage(size)), false);
        }
        void punch(uint64_t off, uint64_t len)
        {
            const uint64_t end = std::min<uint64_t>(off + len, data.size());
            if (off >= end)
                return;
            data.zero(off, end - off);
            // Only whole pages lose their space; the ends of a partial one are zeroed.
            unmark(endPage(off), end == data.size() ? endPage(end) : firstPage(end));
        }
        void allocate(uint64_t off, uint64_t len)
        {
            const uint64_t end = off + len;
            if (data.size() < end)
                data.resize(end);
            mark(firstPage(off), endPage(end));
        }
    };
    Image now;
    Image durable;
    std::vector<Op> pending;
    bool entryDurable = false;
    uint64_t epoch = 0;
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
        const SparseBytes &d = m_node->now.data;
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
        VD_TRY(mutable_());
        using Image = MemEnv::Node::Image;
        const uint64_t end = offset + uint64_t(data.size());
        VD_TRY(m_env->claim(m_node->now.missing(Image::firstPage(offset), Image::endPage(end)), QStringLiteral("write"), m_path));
        m_node->now.write(offset, data);
        m_node->pending.push_back({MemEnv::Node::Op::Type::Write, offset, 0, data.toByteArray()});
        return {};
    }

    Status sync() override
    {
        QMutexLocker lock(&m_env->m_mutex);
        VD_TRY(alive());
        m_node->durable = m_node->now;
        m_node->pending.clear();
        return {};
    }

    Status truncate(uint64_t size) override
    {
        QMutexLocker lock(&m_env->m_mutex);
        VD_TRY(mutable_());
        m_node->now.truncate(size);
        m_node->pending.push_back({MemEnv::Node::Op::Type::Truncate, size, 0, {}});
        return {};
    }

    Status punchHole(uint64_t offset, uint64_t len) override
    {
        QMutexLocker lock(&m_env->m_mutex);
        VD_TRY(mutable_());
        m_node->now.punch(offset, len);
        m_node->pending.push_back({MemEnv::Node::Op::Type::Punch, offset, len, {}});
        return {};
    }

    Status allocate(uint64_t offset, uint64_t len) override
    {
        QMutexLocker lock(&m_env->m_mutex);
        VD_TRY(mutable_());
        using Image = MemEnv::Node::Image;
        VD_TRY(m_env->claim(m_node->now.missing(Image::firstPage(offset), Image::endPage(offset + len)), QStringLiteral("allocate space for"), m_path));
        m_node->now.allocate(offset, len);
        m_node->pending.push_back({MemEnv::Node::Op::Type::Allocate, offset, len, {}});
        return {};
    }

    Result<uint64_t> size() override
    {
        QMutexLocker lock(&m_env->m_mutex);
        VD_TRY(alive());
        return m_node->now.data.size();
    }

    QString path() const override { return m_path; }

private:
    Status alive() const
    {
        if (m_epoch != m_env->m_epoch)
            return Status::ioError(QStringLiteral("'%1': handle lost in a simulated crash").arg(m_path));
        return {};
    }
    Status mutable_() const
    {
        VD_TRY(alive());
        if (!m_writable)
            return Status::permissionDenied(QStringLiteral("'%1' is open read-only").arg(m_path));
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
    if (it == m_files.end() && m_dirs.count(clean(from))) {
        // A directory moves with everything below it (rename(2) of a
        // directory; the target must not exist).
        const QString src = clean(from), dst = clean(to);
        if (m_dirs.count(dst) || m_files.count(dst))
            return Status::alreadyExists(QStringLiteral("cannot rename '%1' to '%2': the target exists").arg(from, to));
        const QString prefix = src + QLatin1Char('/');
        auto moved = [&](const QString &p) { return dst + p.mid(src.size()); };
        std::map<QString, std::shared_ptr<Node>> files;
        for (auto f = m_files.begin(); f != m_files.end();) {
            if (f->first.startsWith(prefix)) {
                files[moved(f->first)] = f->second;
                f = m_files.erase(f);
            } else {
                ++f;
            }
        }
        m_files.insert(files.begin(), files.end());
        std::vector<QString> dirs;
        for (auto d = m_dirs.begin(); d != m_dirs.end();) {
            if (d->first == src || d->first.startsWith(prefix)) {
                dirs.push_back(moved(d->first));
                d = m_dirs.erase(d);
            } else {
                ++d;
            }
        }
        for (const QString &d : dirs)
            m_dirs[d] = true;
        return {};
    }
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
    using Op = Node::Op;
    for (auto it = m_files.begin(); it != m_files.end();) {
        Node &n = *it->second;
        if (!n.entryDurable) {
            it = m_files.erase(it);
            continue;
        }
        if (mode == CrashMode::DropUnsynced) {
            n.now = n.durable;
        } else if (mode == CrashMode::Random) {
            Node::Image img = n.durable;
            for (const Op &op : n.pending) {
                const int roll = int(rng.bounded(10));
                if (roll < 4)
                    continue; // dropped
                switch (op.type) {
                case Op::Type::Truncate: img.truncate(op.offset); break;
                case Op::Type::Punch: img.punch(op.offset, op.length); break;
                case Op::Type::Allocate: img.allocate(op.offset, op.length); break;
                case Op::Type::Write:
                    if (roll < 8 || op.bytes.size() <= 512) {
                        img.write(op.offset, op.bytes);
                    } else {
                        // torn: only the first k sectors reached the disk
                        const qsizetype sectors = (op.bytes.size() + 511) / 512;
                        const qsizetype keep = qsizetype(rng.bounded(quint32(sectors))) * 512;
                        img.write(op.offset, QByteArrayView(op.bytes).first(keep));
                    }
                    break;
                }
            }
            n.now = img;
        }
        n.durable = n.now;
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
    return it->second->now.data.toByteArray();
}

Status MemEnv::setContents(const QString &path, const QByteArray &bytes)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_files.find(clean(path));
    if (it == m_files.end())
        return Status::notFound(QStringLiteral("no file '%1'").arg(path));
    Node::Image img;
    img.write(0, bytes);
    img.truncate(uint64_t(bytes.size()));
    it->second->now = img;
    it->second->durable = img;
    it->second->pending.clear();
    return {};
}

uint64_t MemEnv::fileSize(const QString &path)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_files.find(clean(path));
    return it == m_files.end() ? 0 : it->second->now.data.size();
}

uint64_t MemEnv::allocatedBytes(const QString &path)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_files.find(clean(path));
    return it == m_files.end() ? 0 : it->second->now.allocated * kPageSize;
}

void MemEnv::setCapacity(uint64_t bytes)
{
    QMutexLocker lock(&m_mutex);
    m_capacity = bytes;
}

uint64_t MemEnv::usedBytes()
{
    QMutexLocker lock(&m_mutex);
    return usedBytesLocked();
}

uint64_t MemEnv::usedBytesLocked() const
{
    uint64_t pages = 0;
    for (const auto &f : m_files)
        pages += f.second->now.allocated;
    return pages * kPageSize;
}

Status MemEnv::claim(uint64_t pages, const QString &what, const QString &path) const
{
    if (m_capacity == 0 || pages == 0)
        return {};
    if (usedBytesLocked() + pages * kPageSize > m_capacity)
        return Status::noSpace(QStringLiteral("cannot %1 '%2': No space left on device (in-memory disk of %3 bytes)").arg(what, path).arg(m_capacity));
    return {};
}

Result<uint64_t> MemEnv::availableBytes(const QString &path)
{
    (void)path;
    QMutexLocker lock(&m_mutex);
    if (m_capacity == 0)
        return kUnlimited;
    const uint64_t used = usedBytesLocked();
    return used >= m_capacity ? 0 : m_capacity - used;
}

} // namespace vd::io
