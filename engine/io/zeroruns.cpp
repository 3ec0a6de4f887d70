#include "zeroruns.h"

#include <QFile>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vd::io {

Result<std::unique_ptr<FileHoles>> FileHoles::open(const QString &path)
{
    int fd;
    do {
        fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return Status::ioError(QStringLiteral("cannot open '%1': %2").arg(path, QString::fromLocal8Bit(std::strerror(errno))));
    return std::unique_ptr<FileHoles>(new FileHoles(fd));
}

FileHoles::~FileHoles() { ::close(m_fd); }

ZeroRun FileHoles::nextZeroRun(uint64_t pos)
{
    struct stat st;
    if (::fstat(m_fd, &st) != 0 || !S_ISREG(st.st_mode))
        return {};
    const uint64_t size = uint64_t(st.st_size);
    if (pos >= size)
        return {};
    // The hole at or after pos; the end of the file counts as one, which is
    // no run at all. Any error (a file system without SEEK_HOLE) means
    // nothing is known, and the input is simply read.
    const off_t hole = ::lseek(m_fd, off_t(pos), SEEK_HOLE);
    if (hole < 0 || uint64_t(hole) >= size)
        return {};
    off_t data = ::lseek(m_fd, hole, SEEK_DATA);
    uint64_t end;
    if (data >= 0)
        end = std::min<uint64_t>(uint64_t(data), size);
    else if (errno == ENXIO)
        end = size; // a hole up to the end of the file
    else
        return {};
    if (end <= uint64_t(hole))
        return {};
    return ZeroRun{uint64_t(hole), end - uint64_t(hole)};
}

} // namespace vd::io
