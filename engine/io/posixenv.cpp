// PosixEnv: the real file system through open/pread/pwrite/fdatasync.
// Locks are Linux open-file-description locks (F_OFD_SETLK): they belong to
// the open file, die with the process, and conflict even between two opens in
// one process, which POSIX record locks do not.
#include "env.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vector>

namespace vd::io {
namespace {

Status errnoStatus(int err, const QString &what, const QString &path)
{
    const QString msg = QStringLiteral("%1 '%2': %3").arg(what, path, QString::fromLocal8Bit(std::strerror(err)));
    switch (err) {
    case ENOENT: return Status::notFound(msg);
    case EEXIST: return Status::alreadyExists(msg);
    case ENOSPC:
    case EDQUOT: return Status::noSpace(msg);
    case EACCES:
    case EPERM:
    case EROFS: return Status::permissionDenied(msg);
    default: return Status::ioError(msg);
    }
}

QByteArray nativePath(const QString &path) { return QFile::encodeName(path); }

class PosixFile final : public File
{
public:
    PosixFile(int fd, QString path) : m_fd(fd), m_path(std::move(path)) {}
    ~PosixFile() override { ::close(m_fd); }

    Status read(uint64_t offset, char *out, size_t len) override
    {
        size_t done = 0;
        while (done < len) {
            const ssize_t n = ::pread(m_fd, out + done, len - done, off_t(offset + done));
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return errnoStatus(errno, QStringLiteral("cannot read"), m_path);
            }
            if (n == 0) {
                struct stat st;
                const qulonglong end = ::fstat(m_fd, &st) == 0 ? qulonglong(st.st_size) : qulonglong(offset + done);
                return Status::corruption(QStringLiteral("'%1' is %2 bytes long; %3 bytes were expected at offset %4")
                                              .arg(m_path)
                                              .arg(end)
                                              .arg(len)
                                              .arg(offset));
            }
            done += size_t(n);
        }
        return {};
    }

    Status write(uint64_t offset, QByteArrayView data) override
    {
        size_t done = 0;
        const size_t len = size_t(data.size());
        while (done < len) {
            const ssize_t n = ::pwrite(m_fd, data.data() + done, len - done, off_t(offset + done));
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return errnoStatus(errno, QStringLiteral("cannot write"), m_path);
            }
            done += size_t(n);
        }
        return {};
    }

    Status writeGather(uint64_t offset, std::span<const QByteArrayView> parts) override
    {
        // pwritev takes at most IOV_MAX parts and may write fewer bytes
        // than asked: go on from where it stopped.
        std::vector<iovec> iov;
        iov.reserve(std::min<size_t>(parts.size(), IOV_MAX));
        size_t next = 0; // the first part not yet in iov
        while (next < parts.size() || !iov.empty()) {
            while (iov.size() < size_t(IOV_MAX) && next < parts.size()) {
                const QByteArrayView part = parts[next++];
                if (!part.empty())
                    iov.push_back({const_cast<char *>(part.data()), size_t(part.size())});
            }
            if (iov.empty())
                break;
            const ssize_t n = ::pwritev(m_fd, iov.data(), int(iov.size()), off_t(offset));
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return errnoStatus(errno, QStringLiteral("cannot write"), m_path);
            }
            if (n == 0)
                return errnoStatus(EIO, QStringLiteral("cannot write"), m_path);
            offset += uint64_t(n);
            size_t left = size_t(n);
            size_t done = 0;
            while (done < iov.size() && left >= iov[done].iov_len)
                left -= iov[done++].iov_len;
            iov.erase(iov.begin(), iov.begin() + std::ptrdiff_t(done));
            if (left > 0) {
                iov.front().iov_base = static_cast<char *>(iov.front().iov_base) + left;
                iov.front().iov_len -= left;
            }
        }
        return {};
    }

    Status sync() override
    {
        if (::fdatasync(m_fd) != 0)
            return errnoStatus(errno, QStringLiteral("cannot sync"), m_path);
        return {};
    }

    Status truncate(uint64_t size) override
    {
        if (::ftruncate(m_fd, off_t(size)) != 0)
            return errnoStatus(errno, QStringLiteral("cannot resize"), m_path);
        return {};
    }

    Status punchHole(uint64_t offset, uint64_t len) override
    {
        if (len == 0)
            return {};
        if (::fallocate(m_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(offset), off_t(len)) != 0)
            return errnoStatus(errno, QStringLiteral("cannot punch a hole in"), m_path);
        return {};
    }

    Status allocate(uint64_t offset, uint64_t len) override
    {
        if (len == 0)
            return {};
        int rc;
        do {
            rc = ::fallocate(m_fd, 0, off_t(offset), off_t(len));
        } while (rc != 0 && errno == EINTR);
        if (rc == 0)
            return {};
        if (errno != EOPNOTSUPP)
            return errnoStatus(errno, QStringLiteral("cannot allocate space for"), m_path);
        // A file system without fallocate: posix_fallocate writes zeros
        // where nothing is allocated, which reserves the space the same way.
        const int err = ::posix_fallocate(m_fd, off_t(offset), off_t(len));
        if (err != 0)
            return errnoStatus(err, QStringLiteral("cannot allocate space for"), m_path);
        return {};
    }

    Result<uint64_t> size() override
    {
        struct stat st;
        if (::fstat(m_fd, &st) != 0)
            return errnoStatus(errno, QStringLiteral("cannot stat"), m_path);
        return uint64_t(st.st_size);
    }

    QString path() const override { return m_path; }

    void adviseWillNeed(uint64_t offset, uint64_t len) override
    {
        (void)::posix_fadvise(m_fd, off_t(offset), off_t(len), POSIX_FADV_WILLNEED);
    }

    void startWriteback(uint64_t offset, uint64_t len) override
    {
        // Starts writing the range's dirty pages; waits for nothing.
        (void)::sync_file_range(m_fd, off64_t(offset), off64_t(len), SYNC_FILE_RANGE_WRITE);
    }

private:
    int m_fd;
    QString m_path;
};

class PosixLock final : public FileLock
{
public:
    explicit PosixLock(int fd) : m_fd(fd) {}
    ~PosixLock() override { ::close(m_fd); } // closing the description releases the OFD lock

private:
    int m_fd;
};

QString readProcText(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QString::fromLocal8Bit(f.read(4096)).trimmed();
}

// Finds who holds an OFD lock on (dev, ino): /proc/<pid>/fdinfo/<fd> lists
// the locks of each open file. Returns a description such as
// "pid 4242 (vdrive serve)", or an empty string when no holder is visible.
QString describeLockHolder(dev_t dev, ino_t ino)
{
    const QString devIno = QStringLiteral("%1:%2:%3")
                               .arg(major(dev), 2, 16, QLatin1Char('0'))
                               .arg(minor(dev), 2, 16, QLatin1Char('0'))
                               .arg(qulonglong(ino));
    const QStringList pids = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &pid : pids) {
        bool isPid = false;
        pid.toInt(&isPid);
        if (!isPid)
            continue;
        const QString fdinfoDir = QStringLiteral("/proc/%1/fdinfo").arg(pid);
        const QStringList fds = QDir(fdinfoDir).entryList(QDir::Files);
        for (const QString &fd : fds) {
            const QString info = readProcText(fdinfoDir + QLatin1Char('/') + fd);
            if (!info.contains(QStringLiteral("OFDLCK")) || !info.contains(devIno))
                continue;
            QString cmd = readProcText(QStringLiteral("/proc/%1/cmdline").arg(pid));
            cmd.replace(QChar(0), QLatin1Char(' '));
            if (cmd.isEmpty())
                cmd = readProcText(QStringLiteral("/proc/%1/comm").arg(pid));
            const bool self = pid.toLongLong() == qlonglong(::getpid());
            return QStringLiteral("pid %1%2 (%3)").arg(pid, self ? QStringLiteral(", this process") : QString(), cmd.left(200));
        }
    }
    return {};
}

class PosixEnv final : public Env
{
public:
    Result<std::unique_ptr<File>> open(const QString &path, OpenMode mode) override
    {
        int flags = O_CLOEXEC;
        switch (mode) {
        case OpenMode::ReadOnly: flags |= O_RDONLY; break;
        case OpenMode::ReadWrite: flags |= O_RDWR; break;
        case OpenMode::CreateNew: flags |= O_RDWR | O_CREAT | O_EXCL; break;
        }
        int fd;
        do {
            fd = ::open(nativePath(path).constData(), flags, 0644);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0)
            return errnoStatus(errno, QStringLiteral("cannot open"), path);
        return std::unique_ptr<File>(std::make_unique<PosixFile>(fd, path));
    }

    Result<bool> exists(const QString &path) override
    {
        struct stat st;
        if (::stat(nativePath(path).constData(), &st) == 0)
            return true;
        if (errno == ENOENT || errno == ENOTDIR)
            return false;
        return errnoStatus(errno, QStringLiteral("cannot stat"), path);
    }

    Result<bool> isDirectory(const QString &path) override
    {
        struct stat st;
        if (::stat(nativePath(path).constData(), &st) == 0)
            return S_ISDIR(st.st_mode);
        if (errno == ENOENT || errno == ENOTDIR)
            return false;
        return errnoStatus(errno, QStringLiteral("cannot stat"), path);
    }

    Result<QStringList> listDir(const QString &dir) override
    {
        QDir d(dir);
        if (!d.exists())
            return Status::notFound(QStringLiteral("no directory '%1'").arg(dir));
        QStringList names = d.entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System, QDir::Name);
        return names;
    }

    Status makeDirs(const QString &dir) override
    {
        if (!QDir().mkpath(dir))
            return Status::ioError(QStringLiteral("cannot create directory '%1'").arg(dir));
        return {};
    }

    Status syncDir(const QString &dir) override
    {
        const int fd = ::open(nativePath(dir).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return errnoStatus(errno, QStringLiteral("cannot open directory"), dir);
        const int rc = ::fsync(fd);
        const int err = errno;
        ::close(fd);
        if (rc != 0)
            return errnoStatus(err, QStringLiteral("cannot sync directory"), dir);
        return {};
    }

    Status remove(const QString &path) override
    {
        if (::remove(nativePath(path).constData()) != 0)
            return errnoStatus(errno, QStringLiteral("cannot remove"), path);
        return {};
    }

    Status rename(const QString &from, const QString &to) override
    {
        if (::rename(nativePath(from).constData(), nativePath(to).constData()) != 0)
            return errnoStatus(errno, QStringLiteral("cannot rename to '%1'").arg(to), from);
        return {};
    }

    Result<std::unique_ptr<FileLock>> lock(const QString &path, LockMode mode) override
    {
        const int fd = ::open(nativePath(path).constData(), (mode == LockMode::Exclusive ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        if (fd < 0)
            return errnoStatus(errno, QStringLiteral("cannot open for locking"), path);
        struct flock fl;
        std::memset(&fl, 0, sizeof fl);
        fl.l_type = mode == LockMode::Exclusive ? F_WRLCK : F_RDLCK;
        fl.l_whence = SEEK_SET;
        if (::fcntl(fd, F_OFD_SETLK, &fl) == 0)
            return std::unique_ptr<FileLock>(std::make_unique<PosixLock>(fd));
        const int err = errno;
        struct stat st;
        const bool haveStat = ::fstat(fd, &st) == 0;
        ::close(fd);
        if (err != EAGAIN && err != EACCES)
            return errnoStatus(err, QStringLiteral("cannot lock"), path);
        QString holder = haveStat ? describeLockHolder(st.st_dev, st.st_ino) : QString();
        if (holder.isEmpty())
            holder = QStringLiteral("a process this user cannot inspect");
        return Status::busy(QStringLiteral("'%1' is locked by %2").arg(path, holder));
    }

    Result<bool> isLockedExclusively(const QString &path) override
    {
        const int fd = ::open(nativePath(path).constData(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return errnoStatus(errno, QStringLiteral("cannot open for locking"), path);
        struct flock fl;
        std::memset(&fl, 0, sizeof fl);
        fl.l_type = F_RDLCK; // what would conflict with a shared lock: an exclusive one
        fl.l_whence = SEEK_SET;
        const int rc = ::fcntl(fd, F_OFD_GETLK, &fl);
        const int err = errno;
        ::close(fd);
        if (rc != 0)
            return errnoStatus(err, QStringLiteral("cannot test the lock of"), path);
        return fl.l_type != F_UNLCK;
    }

    Result<uint64_t> availableBytes(const QString &path) override
    {
        struct statvfs sv;
        if (::statvfs(nativePath(path).constData(), &sv) != 0)
            return errnoStatus(errno, QStringLiteral("cannot stat the file system of"), path);
        return uint64_t(sv.f_bavail) * uint64_t(sv.f_frsize);
    }
};

} // namespace

Env *Env::posix()
{
    static PosixEnv env;
    return &env;
}

Result<bool> Env::isLockedExclusively(const QString &path)
{
    auto probe = lock(path, LockMode::Shared);
    if (probe)
        return false;
    if (probe.status().code() == ErrorCode::Busy)
        return true;
    return probe.takeStatus();
}

Result<QByteArray> readWholeFile(Env &env, const QString &path, uint64_t maxBytes)
{
    VD_TRY_ASSIGN(auto file, env.open(path, OpenMode::ReadOnly));
    VD_TRY_ASSIGN(const uint64_t size, file->size());
    if (size > maxBytes)
        return Status::corruption(QStringLiteral("'%1' is %2 bytes, more than the %3 it may hold").arg(path).arg(size).arg(maxBytes));
    QByteArray data(qsizetype(size), Qt::Uninitialized);
    VD_TRY(file->read(0, data.data(), size_t(size)));
    return data;
}

} // namespace vd::io
