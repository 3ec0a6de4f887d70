#include "transfer/localexport.h"

#include "tree/paths.h"

#include <QBuffer>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QRandomGenerator>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>

#include <cerrno>
#include <deque>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

namespace vd::transfer {

using tree::Kind;
using tree::VNode;

namespace {

// Files up to this size are read whole, and workers write them.
constexpr uint64_t kInMemoryFile = 1 << 20;

Status cancelled()
{
    return Status::cancelled(QStringLiteral("get was cancelled"));
}

// Writes a file or a JSON document (as pretty JSON text) to local, whole
// or not at all, and durably (saveLocalFile).
Status writeLocalFile(tree::Drive &drive, const QString &vpath, const VNode &n, const QString &local, const QString &at,
                      const storage::ProgressFn &progress, const Quoting &q)
{
    return saveLocalFile(
        local,
        [&](QIODevice &out) -> Status {
            VD_TRY(drive.readFile(vpath, out, progress, at));
            // The drive's modification time, set once every byte is in.
            auto &file = static_cast<QFileDevice &>(out);
            if (file.flush())
                file.setFileTime(QDateTime::fromMSecsSinceEpoch(n.modifiedMs), QFileDevice::FileModificationTime);
            return {};
        },
        q);
}

// What is at a local path, from one lstat() (a link is not followed).
struct LocalEntry
{
    bool exists = false;
    mode_t mode = 0;

    bool isLink() const { return exists && S_ISLNK(mode); }
    bool isFolder() const { return exists && S_ISDIR(mode); }
    bool isFile() const { return exists && S_ISREG(mode); }
};

LocalEntry localEntry(const QString &path)
{
    struct stat st{};
    if (::lstat(QFile::encodeName(path).constData(), &st) != 0)
        return {};
    return {true, st.st_mode};
}

// Whether a file may be put at path (as checkFileTarget, from one lstat()).
Status checkFileSlot(const QString &path, const LocalEntry &e, bool force, const Quoting &q)
{
    if (e.isLink())
        return refuseSymlink(QFileInfo(path), q);
    if (e.isFolder())
        return Status::alreadyExists(QStringLiteral("%1 exists and is a folder").arg(q.name(path)));
    if (e.exists && !force)
        return Status::alreadyExists(QStringLiteral("%1 exists (--force replaces it)").arg(q.name(path)));
    return {};
}

// Whether the export may write into a folder at path: a folder or nothing yet.
Status checkFolderSlot(const QString &path, const LocalEntry &e, const Quoting &q)
{
    if (e.isLink())
        return refuseSymlink(QFileInfo(path), q);
    if (e.exists && !e.isFolder())
        return Status::alreadyExists(QStringLiteral("%1 exists and is not a folder").arg(q.name(path)));
    return {};
}

struct PlannedItem
{
    QString vpath;
    QString local;
    VNode node;
    mode_t replaces = 0; // the mode of the file it replaces (force), else 0
};

// Every node below vpath and where it goes, checked before anything is written.
Status planTree(tree::Drive &drive, const QString &vpath, const QString &root, const QString &localDir, const ExportOptions &options,
                std::vector<PlannedItem> *items)
{
    const Quoting &q = options.quoting;
    VD_TRY_ASSIGN(const auto entries, drive.list(vpath, options.at));
    for (const VNode &n : entries) {
        VD_TRY_ASSIGN(const QString local, safeLocalPath(root, localDir, n.name, q));
        const LocalEntry e = localEntry(local);
        const QString child = tree::joinPath(vpath, n.name);
        if (n.kind == Kind::Directory) {
            VD_TRY(checkFolderSlot(local, e, q));
            items->push_back({child, local, n});
            VD_TRY(planTree(drive, child, root, local, options, items));
        } else {
            VD_TRY(checkFileSlot(local, e, options.force, q));
            items->push_back({child, local, n, e.isFile() ? e.mode : mode_t(0)});
        }
    }
    return {};
}

QString parentOf(const QString &path)
{
    const qsizetype slash = path.lastIndexOf(QLatin1Char('/'));
    return slash <= 0 ? QStringLiteral("/") : path.left(slash);
}

// A new local file, never an existing file or a link (O_EXCL), to be filled
// and then finished with finishTemporary(). `mode`: the permissions of the
// file it will replace, else 0 (0666 less the umask).
Result<int> createTemporary(const QByteArray &temp, mode_t mode, const Quoting &q)
{
    const int fd = ::open(temp.constData(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0)
        return localError(QStringLiteral("cannot create %1").arg(q.bytes(temp)), errno);
    if (mode != 0)
        (void)::fchmod(fd, mode & 07777);
    return fd;
}

Status writeAll(int fd, const char *data, qint64 size, const QByteArray &temp, const Quoting &q)
{
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size_t(size));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return localError(QStringLiteral("cannot write %1").arg(q.bytes(temp)), n < 0 ? errno : EIO);
        data += n;
        size -= n;
    }
    return {};
}

// Sets the drive's modification time and closes (a close that fails is an error).
Status finishTemporary(int fd, int64_t modifiedMs, const QByteArray &temp, const Quoting &q)
{
    const timespec times[2] = {{0, UTIME_OMIT}, {time_t(modifiedMs / 1000), long(modifiedMs % 1000) * 1000000}};
    (void)::futimens(fd, times);
    if (::close(fd) != 0)
        return localError(QStringLiteral("cannot write %1").arg(q.bytes(temp)), errno);
    return {};
}

// A QIODevice that writes straight to a descriptor: what the engine streams
// a large file into.
class FdOutput : public QIODevice
{
public:
    FdOutput(int fd, QByteArray temp, const Quoting &q) : m_fd(fd), m_temp(std::move(temp)), m_q(q)
    {
        open(QIODevice::WriteOnly | QIODevice::Unbuffered);
    }
    Status status;

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *data, qint64 size) override
    {
        status = writeAll(m_fd, data, size, m_temp, m_q);
        return status ? size : -1;
    }

private:
    int m_fd;
    QByteArray m_temp;
    Quoting m_q;
};

// The folder tree an export writes. Each file goes to a temporary name in
// its folder (".vdrive-get-" and 16 hex digits), without a sync; commit()
// then syncs every file system written to once (syncfs), checks each folder
// and each final name again, renames every file into place, and syncs
// again. So a file is never seen under its final name before all its bytes
// are on the disk, and success is reported only once the names are on the
// disk too — two syncs in all instead of one per file. Small files, read
// whole from the drive on the caller's thread, are written by workers, so
// that reading the drive and creating local files overlap.
//
// Until commit() has begun renaming, abandon() (or the destructor) removes
// every temporary and every folder this writer created that is still empty:
// an export that fails or is cancelled leaves the target as it found it.
class LocalTreeWriter
{
public:
    explicit LocalTreeWriter(const Quoting &q) : m_q(q) { m_pool.setMaxThreadCount(2); }
    LocalTreeWriter(const LocalTreeWriter &) = delete;
    LocalTreeWriter &operator=(const LocalTreeWriter &) = delete;
    ~LocalTreeWriter()
    {
        if (!m_committed)
            (void)abandon();
        drain();
        for (const auto &[device, fd] : m_syncFds)
            ::close(fd);
    }

    size_t fileCount() const { return m_files.size(); }

    // A folder of the copy (the top first, created with its missing
    // parents): it must not be a symbolic link or anything but a folder.
    Status folder(const QString &path)
    {
        VD_TRY(checkFolderSlot(path, localEntry(path), m_q));
        QStringList missing; // from the top down
        for (QString p = path; !localEntry(p).exists; p = parentOf(p))
            missing.prepend(p);
        for (const QString &p : missing) {
            if (::mkdir(QFile::encodeName(p).constData(), 0777) != 0)
                return localError(QStringLiteral("cannot create the folder %1").arg(m_q.name(p)), errno);
            m_created.push_back(p);
        }
        m_folders.push_back(path);
        return watch(path);
    }

    // A file whose bytes are in memory, written by a worker (a failure shows
    // in a later call, or in commit()). `replaces`: see PlannedItem.
    Status file(const QString &local, const QByteArray &bytes, int64_t modifiedMs, mode_t replaces)
    {
        VD_TRY(reap(kInFlight - 1));
        // Absolute: a worker thread has the process's working folder, not
        // the client's (in the node, see serve.cpp).
        const QByteArray temp = temporaryFor(QFileInfo(local).absoluteFilePath());
        m_pending.push_back(QtConcurrent::run(&m_pool, [temp, bytes, modifiedMs, replaces, q = m_q]() -> Status {
            VD_TRY_ASSIGN(const int fd, createTemporary(temp, replaces, q));
            const Status written = writeAll(fd, bytes.constData(), bytes.size(), temp, q);
            const Status finished = finishTemporary(fd, modifiedMs, temp, q);
            return written ? finished : written;
        }));
        return {};
    }

    // A file streamed here by `write` (large files, JSON documents); *size
    // gets its size.
    Status file(const QString &local, int64_t modifiedMs, mode_t replaces, const std::function<Status(QIODevice &)> &write, uint64_t *size)
    {
        const QByteArray temp = temporaryFor(local);
        VD_TRY_ASSIGN(const int fd, createTemporary(temp, replaces, m_q));
        FdOutput out(fd, temp, m_q);
        Status st = write(out);
        if (!out.status)
            st = out.status; // the engine reports the failed write in its own words
        *size = uint64_t(out.pos());
        const Status finished = finishTemporary(fd, modifiedMs, temp, m_q);
        return st ? finished : st;
    }

    // Puts the copy in place durably; `phase` is told each step, and
    // `cancelled` asked once, before the renames.
    Status commit(bool force, const std::function<void(TransferProgress::Phase)> &phase, const std::function<bool()> &isCancelled)
    {
        VD_TRY(reap(0));
        phase(TransferProgress::Phase::Syncing);
        VD_TRY(syncAll()); // every byte, before any file gets its name
        if (isCancelled())
            return cancelled();
        // Checked again right before the renames: the target may have
        // changed while the files were written. From here on a cancel waits.
        for (const QString &f : m_folders) {
            const LocalEntry e = localEntry(f);
            if (!e.isFolder())
                return e.isLink() ? refuseSymlink(QFileInfo(f), m_q)
                                  : Status::ioError(QStringLiteral("the folder %1 is gone or was replaced").arg(m_q.name(f)));
        }
        for (const Pending &p : m_files)
            VD_TRY(checkFileSlot(p.local, localEntry(p.local), force, m_q));
        phase(TransferProgress::Phase::Renaming);
        for (; m_renamed < m_files.size(); ++m_renamed) {
            const Pending &p = m_files[m_renamed];
            if (::rename(p.temp.constData(), QFile::encodeName(p.local).constData()) != 0)
                return localError(QStringLiteral("cannot rename %1 to %2").arg(m_q.bytes(p.temp), m_q.name(p.local)), errno);
        }
        VD_TRY(syncAll()); // the names
        m_committed = true;
        return {};
    }

    // After a failure: removes what is not in place and says what stays.
    QString abandon()
    {
        drain(); // no worker may create a temporary after this
        const size_t files = m_files.size();
        const size_t renamed = m_renamed;
        for (size_t i = m_renamed; i < m_files.size(); ++i)
            (void)::unlink(m_files[i].temp.constData());
        m_files.clear();
        m_renamed = 0;
        for (auto it = m_created.rbegin(); it != m_created.rend(); ++it)
            (void)::rmdir(QFile::encodeName(*it).constData()); // only when empty
        m_created.clear();
        if (renamed == 0)
            return QStringLiteral("nothing of the copy was kept");
        return QStringLiteral("%1 of %2 files had been put in place and stay; the others were removed").arg(renamed).arg(files);
    }

private:
    static constexpr size_t kInFlight = 64; // small files handed to workers, at most (64 MiB)

    struct Pending
    {
        QByteArray temp;
        QString local;
    };

    QByteArray temporaryFor(const QString &local)
    {
        const QString dir = parentOf(local);
        const QByteArray temp = QFile::encodeName(dir == QLatin1String("/") ? QString() : dir) + "/.vdrive-get-"
                                + QByteArray::number(QRandomGenerator::global()->generate64(), 16).rightJustified(16, '0');
        m_files.push_back({temp, local});
        return temp;
    }

    // Waits until at most `keep` writes are in flight; the first failure.
    Status reap(size_t keep)
    {
        Status first;
        while (m_pending.size() > keep) {
            const Status st = m_pending.front().result();
            m_pending.pop_front();
            if (first && !st)
                first = st;
        }
        return first;
    }

    void drain() { (void)reap(0); }

    // Keeps a descriptor of each file system the copy writes to, opened
    // before the first file is written there: syncfs() then reports the
    // write-back errors since (Linux 5.8 and later).
    Status watch(const QString &folder)
    {
        struct stat st{};
        const QByteArray path = QFile::encodeName(folder);
        if (::stat(path.constData(), &st) != 0)
            return localError(QStringLiteral("cannot read the folder %1").arg(m_q.name(folder)), errno);
        if (m_syncFds.count(st.st_dev))
            return {};
        const int fd = ::open(path.constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return localError(QStringLiteral("cannot read the folder %1").arg(m_q.name(folder)), errno);
        m_syncFds.emplace(st.st_dev, fd);
        return {};
    }

    Status syncAll()
    {
        for (const auto &[device, fd] : m_syncFds)
            if (::syncfs(fd) != 0)
                return localError(QStringLiteral("cannot sync the files written to the disk"), errno);
        return {};
    }

    const Quoting m_q;
    QThreadPool m_pool;
    std::deque<QFuture<Status>> m_pending;
    std::vector<Pending> m_files;
    size_t m_renamed = 0;
    QStringList m_folders; // every folder of the copy, the top first
    QStringList m_created; // the folders this writer made, in order
    std::map<dev_t, int> m_syncFds;
    bool m_committed = false;
};

class Exporter
{
public:
    Exporter(tree::Drive &drive, const ExportOptions &options, TransferObserver &observer)
        : m_drive(drive), m_options(options), m_observer(observer), m_q(options.quoting)
    {
    }

    ExportReport report;

    Status exportItem(const ExportItem &item)
    {
        VD_TRY_ASSIGN(const VNode node, m_drive.stat(item.vpath, m_options.at));
        if (m_observer.isCancelled())
            return cancelled();
        return node.kind == Kind::Directory ? exportFolder(item) : exportFile(item, node);
    }

private:
    void tell(uint64_t current, const QString &vpath, TransferProgress::Phase phase = TransferProgress::Phase::Copying)
    {
        TransferProgress p;
        p.files = report.files;
        p.folders = report.folders;
        p.bytes = report.bytes + current;
        p.current = vpath;
        p.phase = phase;
        m_observer.progress(p);
    }

    Status exportFile(const ExportItem &item, const VNode &node)
    {
        QString target = item.local;
        if (QFileInfo(item.local).isDir()) { // into a local folder, under the node's name
            const QString dir = QDir::cleanPath(QFileInfo(item.local).absoluteFilePath());
            VD_TRY_ASSIGN(target, safeLocalPath(dir, dir, node.name, m_q));
        }
        VD_TRY(checkFileTarget(QFileInfo(target), m_options.force, m_q));
        VD_TRY(writeLocalFile(
            m_drive, item.vpath, node, target, m_options.at,
            [&](uint64_t done) {
                tell(done, item.vpath);
                return !m_observer.isCancelled();
            },
            m_q));
        ++report.files;
        report.bytes += uint64_t(QFileInfo(target).size());
        report.targets.push_back(target);
        tell(0, item.vpath);
        return {};
    }

    // The folder becomes item.local (created if needed).
    Status exportFolder(const ExportItem &item)
    {
        const QFileInfo rootInfo(item.local);
        if (rootInfo.isSymLink() && !rootInfo.isDir())
            return refuseSymlink(rootInfo, m_q);
        if (rootInfo.exists() && !rootInfo.isDir())
            return Status::alreadyExists(QStringLiteral("%1 exists and is not a folder").arg(m_q.name(item.local)));
        // A link named as the target is followed: the copy goes into the
        // folder it leads to (links inside it never are).
        const QString root = rootInfo.isSymLink() ? rootInfo.canonicalFilePath() : QDir::cleanPath(rootInfo.absoluteFilePath());
        std::vector<PlannedItem> items;
        Status st = planTree(m_drive, item.vpath, root, root, m_options, &items);
        if (!st)
            return st.withContext(QStringLiteral("nothing was written"));
        LocalTreeWriter writer(m_q);
        const ExportReport before = report;
        st = writer.folder(root);
        report.folders += st ? 1 : 0;
        for (const PlannedItem &planned : items) {
            if (!st)
                break;
            if (m_observer.isCancelled()) {
                st = cancelled();
                break;
            }
            if (planned.node.kind == Kind::Directory) {
                st = writer.folder(planned.local);
                report.folders += st ? 1 : 0;
                continue;
            }
            auto progress = [&](uint64_t done) {
                tell(done, planned.vpath);
                return !m_observer.isCancelled();
            };
            uint64_t size = planned.node.size;
            if (planned.node.kind == Kind::File && planned.node.size <= kInMemoryFile) {
                // Read here, written by a worker while the next one is read.
                QBuffer buffer;
                buffer.open(QIODevice::WriteOnly);
                st = m_drive.readFile(planned.vpath, buffer, progress, m_options.at);
                if (st)
                    st = writer.file(planned.local, buffer.data(), planned.node.modifiedMs, planned.replaces);
            } else {
                st = writer.file(
                    planned.local, planned.node.modifiedMs, planned.replaces,
                    [&](QIODevice &out) { return m_drive.readFile(planned.vpath, out, progress, m_options.at); }, &size);
            }
            if (st) {
                ++report.files;
                report.bytes += size; // a JSON document's size is its text's
                tell(0, planned.vpath);
            }
        }
        if (st)
            st = writer.commit(
                m_options.force,
                [&](TransferProgress::Phase phase) {
                    TransferProgress p;
                    p.files = writer.fileCount();
                    p.folders = report.folders;
                    p.bytes = report.bytes;
                    p.current = item.vpath;
                    p.phase = phase;
                    m_observer.progress(p);
                },
                [&] { return m_observer.isCancelled(); });
        if (!st) {
            report = before; // what this folder copied is not counted
            return Status(st.code(), QStringLiteral("%1; %2").arg(st.message(), writer.abandon()));
        }
        report.targets.push_back(root);
        return {};
    }

    tree::Drive &m_drive;
    const ExportOptions &m_options;
    TransferObserver &m_observer;
    const Quoting m_q;
};

} // namespace

Result<QString> safeLocalPath(const QString &root, const QString &dir, const QString &name, const Quoting &q)
{
    if (name.isEmpty() || name.contains(QLatin1Char('/')) || name.contains(QChar(0)) || name == QLatin1String(".") || name == QLatin1String(".."))
        return Status::corruption(QStringLiteral("refusing the unsafe name %1 from the drive").arg(q.name(name)));
    const QString path = QDir::cleanPath(dir + QLatin1Char('/') + name);
    const QString prefix = root.endsWith(QLatin1Char('/')) ? root : root + QLatin1Char('/'); // root may be "/"
    if (!path.startsWith(prefix) || path.size() <= prefix.size())
        return Status::corruption(QStringLiteral("refusing the name %1: it would be written outside %2").arg(q.name(name), q.name(root)));
    return path;
}

Result<ExportReport> exportLocal(tree::Drive &drive, const std::vector<ExportItem> &items, const ExportOptions &options, TransferObserver &observer)
{
    Exporter exporter(drive, options, observer);
    for (const ExportItem &item : items)
        VD_TRY(exporter.exportItem(item));
    return exporter.report;
}

} // namespace vd::transfer
