#include "transfer/localfs.h"

#include <QSaveFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vd::transfer {

QString plainQuoted(const QString &name)
{
    return QLatin1Char('\'') + name + QLatin1Char('\'');
}

QString plainQuotedBytes(QByteArrayView name)
{
    return plainQuoted(QString::fromUtf8(name));
}

LocalKind localKind(const QString &local, bool link)
{
    struct stat st{};
    const QByteArray path = QFile::encodeName(local);
    if ((link ? ::lstat(path.constData(), &st) : ::stat(path.constData(), &st)) != 0)
        return LocalKind::Missing;
    if (S_ISREG(st.st_mode))
        return LocalKind::File;
    if (S_ISDIR(st.st_mode))
        return LocalKind::Folder;
    if (S_ISFIFO(st.st_mode))
        return LocalKind::Fifo;
    if (S_ISSOCK(st.st_mode))
        return LocalKind::Socket;
    if (S_ISCHR(st.st_mode))
        return LocalKind::CharDevice;
    if (S_ISBLK(st.st_mode))
        return LocalKind::BlockDevice;
    if (S_ISLNK(st.st_mode))
        return LocalKind::Link;
    return LocalKind::Other;
}

QString kindPhrase(LocalKind k)
{
    switch (k) {
    case LocalKind::Fifo: return QStringLiteral("a FIFO");
    case LocalKind::Socket: return QStringLiteral("a socket");
    case LocalKind::CharDevice: return QStringLiteral("a character device");
    case LocalKind::BlockDevice: return QStringLiteral("a block device");
    default: return QStringLiteral("a special file");
    }
}

Status localError(const QString &what, int error)
{
    const QString msg = QStringLiteral("%1: %2").arg(what, QString::fromLocal8Bit(std::strerror(error)));
    switch (error) {
    case ENOENT: return Status::notFound(msg);
    case EACCES:
    case EPERM: return Status::permissionDenied(msg);
    case ENOSPC:
    case EDQUOT: return Status::noSpace(msg);
    case EEXIST: return Status::alreadyExists(msg);
    default: return Status::ioError(msg);
    }
}

Status cannotRead(const QString &local, const QFile &file, const Quoting &q)
{
    const QString msg = QStringLiteral("cannot read %1: %2").arg(q.name(local), file.errorString());
    if (!QFileInfo(local).isSymLink() && !QFileInfo::exists(local))
        return Status::notFound(msg);
    if (file.error() == QFileDevice::PermissionsError || !QFileInfo(local).isReadable())
        return Status::permissionDenied(msg);
    return Status::ioError(msg);
}

Status refuseSymlink(const QFileInfo &fi, const Quoting &q)
{
    if (fi.isSymLink())
        return Status::permissionDenied(
            QStringLiteral("refusing to write through the symbolic link %1 (to %2)").arg(q.name(fi.filePath()), q.name(fi.symLinkTarget())));
    return {};
}

Status checkFileTarget(const QFileInfo &fi, bool force, const Quoting &q)
{
    VD_TRY(refuseSymlink(fi, q));
    if (fi.exists() && fi.isDir())
        return Status::alreadyExists(QStringLiteral("%1 exists and is a folder").arg(q.name(fi.filePath())));
    if (fi.exists() && !force)
        return Status::alreadyExists(QStringLiteral("%1 exists (--force replaces it)").arg(q.name(fi.filePath())));
    return {};
}

namespace {
// A QSaveFile that has the system start writing each few MiB to the disk as
// it goes (sync_file_range, SYNC_FILE_RANGE_WRITE: waits for nothing), so
// the disk works while the drive is still being read and the sync at the end
// finds little left. Durability is still QSaveFile's fsync before the rename.
class WritebackSaveFile : public QSaveFile
{
public:
    using QSaveFile::QSaveFile;

protected:
    qint64 writeData(const char *data, qint64 len) override
    {
        const qint64 n = QSaveFile::writeData(data, len);
        if (n > 0) {
            m_written += n;
            if (m_written - m_started >= kStep && flush()) {
                (void)::sync_file_range(handle(), off64_t(m_started), off64_t(m_written - m_started), SYNC_FILE_RANGE_WRITE);
                m_started = m_written;
            }
        }
        return n;
    }

private:
    static constexpr qint64 kStep = qint64(8) << 20;
    qint64 m_written = 0; // bytes written so far
    qint64 m_started = 0; // those whose write-back was started
};
} // namespace

Status saveLocalFile(const QString &local, const std::function<Status(QIODevice &)> &write, const Quoting &q)
{
    WritebackSaveFile out(local);
    if (!out.open(QIODevice::WriteOnly))
        return Status::ioError(QStringLiteral("cannot write %1: %2").arg(q.name(local), out.errorString()));
    const Status st = write(out);
    if (!st) {
        out.cancelWriting();
        return st;
    }
    if (!out.commit())
        return Status::ioError(QStringLiteral("cannot write %1: %2").arg(q.name(local), out.errorString()));
    // QSaveFile synced the file before the rename; the rename itself is on
    // the disk once the folder is synced.
    const QString dir = QFileInfo(local).absolutePath();
    const int fd = ::open(QFile::encodeName(dir).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const bool synced = fd >= 0 && ::fsync(fd) == 0;
    const int error = errno;
    if (fd >= 0)
        ::close(fd);
    if (!synced)
        return Status::ioError(QStringLiteral("cannot sync the folder %1: %2").arg(q.name(dir), QString::fromLocal8Bit(std::strerror(error))));
    return {};
}

int openWaiting(const QByteArray &path, int flags, const std::function<bool()> &cancelled)
{
    const int fd = ::open(path.constData(), flags | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st{};
    if (::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && (flags & O_ACCMODE) == O_RDONLY) {
        // Readable (or hung up) once a writer has come: until then a read
        // would see an end that is not one.
        pollfd p{fd, POLLIN, 0};
        while (::poll(&p, 1, 50) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) {
            if (cancelled()) {
                ::close(fd);
                errno = EINTR;
                return -1;
            }
            p.revents = 0;
        }
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

} // namespace vd::transfer
