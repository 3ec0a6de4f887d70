// put and get: copying between local files and the drive, like cp.
//
// put commits in batches (every kBatchEntries entries, kBatchBytes bytes or
// kBatchTimeMs, one sync per batch), so a large tree costs a few commits; a
// failure rolls back the batch it happened in, and what earlier batches
// committed stays. A commit rewrites every catalog page the batch touched,
// and records keyed by content name (the location map) land on pages all
// over their map: fewer, larger batches write each such page fewer times
// (100,000 small files: 97,000 page writes with batches of 1,000).
// A FIFO named on the command line is read like standard input; one met
// inside a folder is skipped, as are sockets and devices.
//
// get -r writes names that come from the drive, which are untrusted: each
// is checked (no '/', not '.', '..' or empty) and the path it makes must
// stay under LOCAL; nothing is ever written through a symbolic link that
// exists in LOCAL. The whole tree is checked before the first byte is
// written, and every path is checked again right before it is put in place.
// Files are written under temporary names without a sync each, then the
// file system is synced once, the files renamed into place, and synced
// again (LocalTreeWriter): as durable as a sync per file, at the cost of two.
#include "commands.h"

#include "cliutil.h"
#include "progress.h"
#include "terminal.h"

#include "storage/smallblock.h"

#include <QBuffer>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QRandomGenerator>
#include <QThreadPool>
#include <QStringDecoder>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vd::cli {

using storage::Access;
using tree::Kind;
using tree::VNode;

namespace {

constexpr uint64_t kBatchEntries = 10000;
constexpr uint64_t kBatchBytes = uint64_t(256) << 20;
// A batch is also committed once it is this old: what a crash can take back,
// and how far behind the put a reader of the drive (an `ls` through the
// node) can be.
constexpr qint64 kBatchTimeMs = 5000;

bool isStdio(const QString &local)
{
    return local == QLatin1String("-");
}

// The name a local file or folder gets in the drive: its last component.
QString localName(const QString &local)
{
    return QFileInfo(QDir::cleanPath(QFileInfo(local).absoluteFilePath())).fileName();
}

// What a local path is, for the kinds put treats apart (stat(2): a
// symbolic link counts as what it points to unless `link` is set).
enum class LocalKind { Missing, File, Folder, Fifo, Socket, CharDevice, BlockDevice, Link, Other };

LocalKind localKind(const QString &local, bool link = false)
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

// A Status for a failed system call on a local path.
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

// ---- put -------------------------------------------------------------------

// The entries of a local folder (not "." and ".."), in byte order of their
// raw names, each with its kind as readdir() gives it (lstat() when the file
// system does not say): no stat per entry.
struct FolderEntry
{
    QByteArray name;
    LocalKind kind;
};

LocalKind kindOfEntry(const dirent &e, const QByteArray &folder)
{
    switch (e.d_type) {
    case DT_REG: return LocalKind::File;
    case DT_DIR: return LocalKind::Folder;
    case DT_LNK: return LocalKind::Link;
    case DT_FIFO: return LocalKind::Fifo;
    case DT_SOCK: return LocalKind::Socket;
    case DT_CHR: return LocalKind::CharDevice;
    case DT_BLK: return LocalKind::BlockDevice;
    default: return localKind(QFile::decodeName(folder + '/' + e.d_name), true);
    }
}

Result<std::vector<FolderEntry>> listFolder(const QString &local)
{
    const QByteArray folder = QFile::encodeName(local);
    DIR *dir = ::opendir(folder.constData());
    if (!dir) {
        const int error = errno;
        const QString msg = QStringLiteral("cannot read the folder %1: %2").arg(quoted(local), QString::fromLocal8Bit(std::strerror(error)));
        return error == EACCES ? Status::permissionDenied(msg) : error == ENOENT ? Status::notFound(msg) : Status::ioError(msg);
    }
    std::vector<FolderEntry> entries;
    errno = 0;
    while (const dirent *e = ::readdir(dir)) {
        const QByteArray name(e->d_name);
        if (name != "." && name != "..")
            entries.push_back({name, kindOfEntry(*e, folder)});
    }
    const int error = errno;
    ::closedir(dir);
    if (error != 0)
        return Status::ioError(QStringLiteral("cannot read the folder %1: %2").arg(quoted(local), QString::fromLocal8Bit(std::strerror(error))));
    std::sort(entries.begin(), entries.end(), [](const FolderEntry &a, const FolderEntry &b) { return a.name < b.name; });
    return entries;
}

// A whole small file, read on a worker thread: open, fstat, one read of its
// size and one that finds the end. Nothing when it cannot be read, or is not
// a regular file of at most maxSize bytes (then it is read the usual way,
// which reports what is wrong).
std::optional<QByteArray> readSmallFile(const QByteArray &path, qint64 maxSize)
{
    const int fd = ::open(path.constData(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    struct Closer
    {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > maxSize)
        return std::nullopt;
    // One byte more than its size: a file that grew since is read again.
    QByteArray bytes(qsizetype(st.st_size) + 1, Qt::Uninitialized);
    qsizetype got = 0;
    while (got < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + got, size_t(bytes.size() - got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return std::nullopt;
        if (n == 0)
            break;
        got += n;
    }
    if (got > st.st_size)
        return std::nullopt;
    bytes.truncate(got);
    return bytes;
}

// get -r reads files up to this size whole, and has workers write them.
constexpr uint64_t kInMemoryFile = 1 << 20;

// Read-ahead of small files during put -r: how many, up to what size, and
// on how many threads. More threads than cores: with the page cache cold,
// most of a small file's time is the disk's, and several reads in flight
// overlap it (on this VM's disk, 100,000 files cold: 19.7 s with 2, 13.3-15.2 s with 8).
constexpr size_t kReadAheadFiles = 64;
constexpr size_t kReadAheadGroup = 8;
constexpr qint64 kReadAheadMaxFile = 1 << 20;
constexpr int kReadAheadThreads = 8;

// The read-ahead's threads run as SCHED_BATCH: the same share of the CPU
// as any thread, but waking one does not take the CPU from the thread that
// stores the files, which is what bounds put -r. (As SCHED_OTHER, each
// wake preempted it: on two cores, 1.25 s of a warm 8 s put -r of 100,000
// files went waiting for the CPU back.) Per thread, once.
void runAsBatchThread()
{
    thread_local bool batch = false;
    if (batch)
        return;
    batch = true;
    const sched_param param{};
    (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &param); // a hint: failing changes nothing else
}

class Putter
{
public:
    Putter(Context &ctx, tree::Drive &drive, ProgressLine &progress) : m_ctx(ctx), m_drive(drive), m_progress(progress)
    {
        m_sinceCommit.start();
        m_readers.setMaxThreadCount(kReadAheadThreads);
    }

    uint64_t files = 0, folders = 0, bytes = 0, skipped = 0, commits = 0;

    // A small file read ahead on a worker: its bytes and, small enough to
    // be packed into a SmallBlock, packed there too (compressing is most
    // of the cost of storing one).
    struct Prefetched
    {
        QByteArray bytes;
        std::optional<storage::PackedPayload> packed;
    };

    // A local regular file, a FIFO named on the command line, or "-" to
    // the file vpath. `read`, when given, holds the file's bytes, read ahead
    // on another thread.
    Status putFile(const QString &local, const QString &vpath, std::optional<Prefetched> read = std::nullopt, bool fifo = false)
    {
        if (ProgressLine::interrupted())
            return cancelled();
        QFile file;
        QBuffer buffer;
        QIODevice *in = &file;
        std::unique_ptr<io::FileHoles> holes;
        if (read) {
            buffer.setData(read->bytes);
            buffer.open(QIODevice::ReadOnly);
            in = &buffer;
        } else if (fifo) {
            // Opening a FIFO waits for its writer: Ctrl-C must still work.
            const int fd = ProgressLine::openInterruptibly(QFile::encodeName(local), O_RDONLY);
            if (fd < 0) {
                if (ProgressLine::interrupted())
                    return cancelled();
                return stopAt(localError(QStringLiteral("cannot read %1").arg(quoted(local)), errno));
            }
            file.open(fd, QIODevice::ReadOnly, QFileDevice::AutoCloseHandle);
        } else {
            in = isStdio(local) ? standardInput(m_ctx, file) : (file.setFileName(local), file.open(QIODevice::ReadOnly) ? &file : nullptr);
            if (!in)
                return stopAt(cannotRead(local, file));
            // A sparse file's holes are learnt from the file system (as cp
            // --sparse does) and never read: they cost the drive nothing.
            if (!isStdio(local) && !file.isSequential())
                if (auto h = io::FileHoles::open(local))
                    holes = std::move(h).value();
        }
        auto n = m_drive.putFile(
            vpath, *in, [&](uint64_t done) { return m_progress.tick([&] { return line(done, vpath); }); }, holes.get(),
            read && read->packed ? &*read->packed : nullptr);
        // Interrupted, the read of the input may fail first (in the node,
        // the client's stdin ends with its cancel): it was the interruption.
        if (!n && ProgressLine::interrupted())
            return cancelled();
        if (!n)
            return lost(n.status());
        ++files;
        bytes += n->size;
        return counted(true, n->size);
    }

    // A local folder to the folder vpath (created, or merged into an existing one).
    Status putTree(const QString &local, const QString &vpath)
    {
        if (ProgressLine::interrupted())
            return cancelled();
        // Listed with readdir(), not QDir: QDir shows an unreadable folder as
        // empty and silently leaves out names that are not valid UTF-8.
        auto entries = listFolder(local);
        if (!entries)
            return stopAt(entries.status());
        auto made = m_drive.mkdir(vpath, true);
        if (!made)
            return lost(made.status());
        ++folders;
        VD_TRY(counted(false, 0));
        struct Item
        {
            QString path, child;
            QByteArray absolute; // for the workers
            enum { File, Folder } what;
            int group = -1; // small files: the read-ahead group that reads it, and where in it
            int slot = 0;
        };
        std::vector<Item> items;
        // Workers open files by absolute path: a worker thread has the
        // process's working folder, not the client's (in the node, see serve.cpp).
        const QByteArray absolute = QFile::encodeName(QFileInfo(local).absoluteFilePath()) + '/';
        for (const FolderEntry &entry : *entries) {
            QStringDecoder utf8(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
            const QString name = utf8(entry.name);
            const QString path = local + QLatin1Char('/') + name;
            if (utf8.hasError()) {
                // Shown escaped even to a pipe: the bytes are not text.
                skip(QStringLiteral("skipped %1: its name is not valid UTF-8").arg(quotedBytes(QFile::encodeName(local) + '/' + entry.name)));
                continue;
            }
            const QString child = childPath(vpath, name);
            if (entry.kind == LocalKind::Link)
                skip(QStringLiteral("skipped the symbolic link %1").arg(quoted(path)));
            else if (entry.kind == LocalKind::Folder)
                items.push_back({path, child, {}, Item::Folder, {}});
            else if (entry.kind == LocalKind::File)
                items.push_back({path, child, absolute + entry.name, Item::File, {}});
            else // a FIFO, socket or device has no bytes of its own to copy
                skip(QStringLiteral("skipped %1: %2, not a regular file or folder").arg(quoted(path), kindPhrase(entry.kind)));
        }
        // Small files are read a few ahead on worker threads while this one
        // stores the current file: the disk and the hashing overlap. A file
        // that cannot be read ahead (or is larger than kReadAheadMaxFile) is
        // read again in the usual way, which reports any problem.
        // Files go to the workers kReadAheadGroup at a time: one task (and
        // one thread woken) per group, not per file.
        using Group = QFuture<std::vector<std::optional<Prefetched>>>;
        std::vector<Group> groups;
        std::vector<std::optional<Prefetched>> taken; // the results of the group being stored
        int takenGroup = -1;
        size_t next = 0;
        const qint64 packBelow = m_drive.collection().smallThreshold();
        // Nothing is read ahead past a folder that is yet to be stored: what
        // is in flight is one folder's files, however deep the tree.
        auto readAhead = [&](size_t current) {
            bool atFolder = false;
            while (!atFolder && next < items.size() && next <= current + kReadAheadFiles) {
                std::vector<QByteArray> paths;
                for (; next < items.size() && paths.size() < kReadAheadGroup; ++next) {
                    Item &it = items[next];
                    if (it.what != Item::File) {
                        if (next >= current) {
                            atFolder = true;
                            break;
                        }
                        continue;
                    }
                    it.group = int(groups.size());
                    it.slot = int(paths.size());
                    paths.push_back(it.absolute);
                }
                if (paths.empty())
                    break;
                groups.push_back(QtConcurrent::run(&m_readers, [paths = std::move(paths), packBelow] {
                    runAsBatchThread();
                    std::vector<std::optional<Prefetched>> read;
                    read.reserve(paths.size());
                    for (const QByteArray &path : paths) {
                        auto content = readSmallFile(path, kReadAheadMaxFile);
                        if (!content) {
                            read.emplace_back();
                            continue;
                        }
                        Prefetched p{std::move(*content), std::nullopt};
                        if (!p.bytes.isEmpty() && p.bytes.size() < packBelow)
                            p.packed = storage::packPayload(p.bytes);
                        read.emplace_back(std::move(p));
                    }
                    return read;
                }));
            }
        };
        struct Drain // an early return still waits for the readers
        {
            std::vector<Group> &groups;
            ~Drain()
            {
                for (Group &g : groups)
                    if (g.isValid()) // not yet taken
                        g.waitForFinished();
            }
        } drain{groups};
        for (size_t i = 0; i < items.size(); ++i) {
            readAhead(i);
            Item &it = items[i];
            if (it.what == Item::Folder) {
                VD_TRY(putTree(it.path, it.child));
            } else {
                if (it.group != takenGroup) {
                    taken = groups[size_t(it.group)].takeResult();
                    takenGroup = it.group;
                }
                VD_TRY(putFile(it.path, it.child, std::move(taken[size_t(it.slot)])));
            }
        }
        return {};
    }

    Status finish()
    {
        if (!m_drive.hasUncommittedChanges())
            return {};
        const Status st = m_drive.commit();
        if (!st)
            return lost(st);
        ++commits;
        m_pending = {};
        m_sinceCommit.start();
        return {};
    }

private:
    struct Pending
    {
        uint64_t entries = 0, files = 0, folders = 0, bytes = 0;
    };

    QString line(uint64_t current, const QString &vpath) const
    {
        return QStringLiteral("storing: %1, %2 — %3").arg(count(files, "file", "files"), formatBytes(bytes + current), vpath);
    }

    void skip(const QString &message)
    {
        m_progress.finish();
        m_ctx.warn(message);
        ++skipped;
    }

    // One more file or folder in the batch; a full batch is committed.
    Status counted(bool isFile, uint64_t size)
    {
        ++m_pending.entries;
        ++(isFile ? m_pending.files : m_pending.folders);
        m_pending.bytes += size;
        if (m_pending.entries >= kBatchEntries || m_pending.bytes >= kBatchBytes || m_sinceCommit.hasExpired(kBatchTimeMs))
            return finish();
        return {};
    }

    // What the user is told stays after a failure ("" when nothing was committed).
    QString kept() const
    {
        if (commits == 0)
            return {};
        return QStringLiteral("; %1 (%2) and %3 stored before were committed and stay")
            .arg(count(files, "file", "files"), formatBytes(bytes), count(folders, "folder", "folders"));
    }

    // The engine failed (or the user cancelled): everything since the last
    // commit is rolled back; what earlier batches committed stays.
    Status lost(const Status &st)
    {
        if (m_drive.hasUncommittedChanges())
            (void)m_drive.rollback();
        files -= m_pending.files;
        folders -= m_pending.folders;
        bytes -= m_pending.bytes;
        const bool rolledBack = m_pending.entries > 0;
        m_pending = {};
        const QString batch = rolledBack && commits > 0 ? QStringLiteral(" (the batch since the last commit was rolled back)") : QString();
        return Status(st.code(), st.message() + kept() + batch);
    }

    // A local problem: what is stored so far is committed, then the put stops.
    Status stopAt(const Status &st)
    {
        VD_TRY(finish());
        return Status(st.code(), st.message() + (commits > 0 ? QStringLiteral("; stopped there") + kept() : QString()));
    }

    Status cancelled()
    {
        return lost(Status::cancelled(QStringLiteral("put was cancelled")));
    }

    Context &m_ctx;
    tree::Drive &m_drive;
    ProgressLine &m_progress;
    Pending m_pending;
    QElapsedTimer m_sinceCommit;
    QThreadPool m_readers; // read-ahead of small files (putTree)
};

struct PutJob
{
    QString local; // a file, a folder (with -r), a FIFO or "-"
    QString vpath; // what it becomes
    bool folder = false;
    bool fifo = false;
};

// ---- get -------------------------------------------------------------------

// Where a name read from the drive may be written: under root, never
// through a symbolic link. Untrusted names are refused as corruption (the
// engine validates every name it stores, so such a name means damage).
Result<QString> safeLocalPath(const QString &root, const QString &dir, const QString &name)
{
    if (name.isEmpty() || name.contains(QLatin1Char('/')) || name.contains(QChar(0)) || name == QLatin1String(".") || name == QLatin1String(".."))
        return Status::corruption(QStringLiteral("refusing the unsafe name %1 from the drive").arg(quoted(name)));
    const QString path = QDir::cleanPath(dir + QLatin1Char('/') + name);
    const QString prefix = root.endsWith(QLatin1Char('/')) ? root : root + QLatin1Char('/'); // root may be "/"
    if (!path.startsWith(prefix) || path.size() <= prefix.size())
        return Status::corruption(QStringLiteral("refusing the name %1: it would be written outside %2").arg(quoted(name), quoted(root)));
    return path;
}

// Writes a file or a JSON document (as pretty JSON text) to local, whole
// or not at all, and durably (saveLocalFile).
Status writeLocalFile(tree::Drive &drive, const QString &vpath, const VNode &n, const QString &local, const QString &at,
                      const storage::ProgressFn &progress)
{
    return saveLocalFile(local, [&](QIODevice &out) -> Status {
        VD_TRY(drive.readFile(vpath, out, progress, at));
        // The drive's modification time, set once every byte is in.
        auto &file = static_cast<QFileDevice &>(out);
        if (file.flush())
            file.setFileTime(QDateTime::fromMSecsSinceEpoch(n.modifiedMs), QFileDevice::FileModificationTime);
        return {};
    });
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

// Whether get may put a file at path (as checkFileTarget, from one lstat()).
Status checkFileSlot(const QString &path, const LocalEntry &e, bool force)
{
    if (e.isLink())
        return refuseSymlink(QFileInfo(path));
    if (e.isFolder())
        return Status::alreadyExists(QStringLiteral("%1 exists and is a folder").arg(quoted(path)));
    if (e.exists && !force)
        return Status::alreadyExists(QStringLiteral("%1 exists (--force replaces it)").arg(quoted(path)));
    return {};
}

// Whether get may write into a folder at path: a folder or nothing yet.
Status checkFolderSlot(const QString &path, const LocalEntry &e)
{
    if (e.isLink())
        return refuseSymlink(QFileInfo(path));
    if (e.exists && !e.isFolder())
        return Status::alreadyExists(QStringLiteral("%1 exists and is not a folder").arg(quoted(path)));
    return {};
}

struct GetItem
{
    QString vpath;
    QString local;
    VNode node;
    mode_t replaces = 0; // the mode of the file it replaces (--force), else 0
};

// Every node below dir and where it goes, checked before anything is written.
Status planTree(tree::Drive &drive, const QString &vpath, const QString &root, const QString &localDir, const QString &at, bool force,
                std::vector<GetItem> *items)
{
    VD_TRY_ASSIGN(const auto entries, drive.list(vpath, at));
    for (const VNode &n : entries) {
        VD_TRY_ASSIGN(const QString local, safeLocalPath(root, localDir, n.name));
        const LocalEntry e = localEntry(local);
        const QString child = childPath(vpath, n.name);
        if (n.kind == Kind::Directory) {
            VD_TRY(checkFolderSlot(local, e));
            items->push_back({child, local, n});
            VD_TRY(planTree(drive, child, root, local, at, force, items));
        } else {
            VD_TRY(checkFileSlot(local, e, force));
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
Result<int> createTemporary(const QByteArray &temp, mode_t mode)
{
    const int fd = ::open(temp.constData(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0)
        return localError(QStringLiteral("cannot create %1").arg(quotedBytes(temp)), errno);
    if (mode != 0)
        (void)::fchmod(fd, mode & 07777);
    return fd;
}

Status writeAll(int fd, const char *data, qint64 size, const QByteArray &temp)
{
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size_t(size));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return localError(QStringLiteral("cannot write %1").arg(quotedBytes(temp)), n < 0 ? errno : EIO);
        data += n;
        size -= n;
    }
    return {};
}

// Sets the drive's modification time and closes (a close that fails is an error).
Status finishTemporary(int fd, int64_t modifiedMs, const QByteArray &temp)
{
    const timespec times[2] = {{0, UTIME_OMIT}, {time_t(modifiedMs / 1000), long(modifiedMs % 1000) * 1000000}};
    (void)::futimens(fd, times);
    if (::close(fd) != 0)
        return localError(QStringLiteral("cannot write %1").arg(quotedBytes(temp)), errno);
    return {};
}

// A QIODevice that writes straight to a descriptor: what the engine streams
// a large file into.
class FdOutput : public QIODevice
{
public:
    FdOutput(int fd, QByteArray temp) : m_fd(fd), m_temp(std::move(temp)) { open(QIODevice::WriteOnly | QIODevice::Unbuffered); }
    Status status;

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *data, qint64 size) override
    {
        status = writeAll(m_fd, data, size, m_temp);
        return status ? size : -1;
    }

private:
    int m_fd;
    QByteArray m_temp;
};

// The folder tree get -r writes. Each file goes to a temporary name in its
// folder (".vdrive-get-" and 16 hex digits), without a sync; commit() then
// syncs every file system written to once (syncfs), checks each folder and
// each final name again, renames every file into place, and syncs again.
// So a file is never seen under its final name before all its bytes are on
// the disk, and success is reported only once the names are on the disk
// too — two syncs in all instead of one per file. Small files, read whole
// from the drive on the caller's thread, are written by workers, so that
// reading the drive and creating local files overlap.
//
// Until commit() has begun renaming, abandon() (or the destructor) removes
// every temporary and every folder this writer created that is still empty:
// a get -r that fails or is cancelled leaves LOCAL as it found it. What a
// crash leaves at each step is in docs/CLI.md ("get").
class LocalTreeWriter
{
public:
    LocalTreeWriter() { m_pool.setMaxThreadCount(2); }
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

    // A folder of the copy (LOCAL first, created with its missing parents):
    // it must not be a symbolic link or anything but a folder.
    Status folder(const QString &path)
    {
        VD_TRY(checkFolderSlot(path, localEntry(path)));
        QStringList missing; // from the top down
        for (QString p = path; !localEntry(p).exists; p = parentOf(p))
            missing.prepend(p);
        for (const QString &p : missing) {
            if (::mkdir(QFile::encodeName(p).constData(), 0777) != 0)
                return localError(QStringLiteral("cannot create the folder %1").arg(quoted(p)), errno);
            m_created.push_back(p);
        }
        m_folders.push_back(path);
        return watch(path);
    }

    // A file whose bytes are in memory, written by a worker (a failure shows
    // in a later call, or in commit()). `replaces`: see GetItem.
    Status file(const QString &local, const QByteArray &bytes, int64_t modifiedMs, mode_t replaces)
    {
        VD_TRY(reap(kInFlight - 1));
        // Absolute: a worker thread has the process's working folder, not
        // the client's (in the node, see serve.cpp).
        const QByteArray temp = temporaryFor(QFileInfo(local).absoluteFilePath());
        m_pending.push_back(QtConcurrent::run(&m_pool, [temp, bytes, modifiedMs, replaces]() -> Status {
            VD_TRY_ASSIGN(const int fd, createTemporary(temp, replaces));
            const Status written = writeAll(fd, bytes.constData(), bytes.size(), temp);
            const Status finished = finishTemporary(fd, modifiedMs, temp);
            return written ? finished : written;
        }));
        return {};
    }

    // A file streamed here by `write` (large files, JSON documents); *size
    // gets its size.
    Status file(const QString &local, int64_t modifiedMs, mode_t replaces, const std::function<Status(QIODevice &)> &write, uint64_t *size)
    {
        const QByteArray temp = temporaryFor(local);
        VD_TRY_ASSIGN(const int fd, createTemporary(temp, replaces));
        FdOutput out(fd, temp);
        Status st = write(out);
        if (!out.status)
            st = out.status; // the engine reports the failed write in its own words
        *size = uint64_t(out.pos());
        const Status finished = finishTemporary(fd, modifiedMs, temp);
        return st ? finished : st;
    }

    // Puts the copy in place durably; `tick` draws the progress line.
    Status commit(bool force, const std::function<void(const QString &)> &tick)
    {
        VD_TRY(reap(0));
        tick(QStringLiteral("syncing %1 to the disk").arg(count(m_files.size(), "file", "files")));
        VD_TRY(syncAll()); // every byte, before any file gets its name
        if (ProgressLine::interrupted())
            return Status::cancelled(QStringLiteral("get was cancelled"));
        // Checked again right before the renames: LOCAL may have changed
        // while the files were written. From here on Ctrl-C waits.
        for (const QString &f : m_folders) {
            const LocalEntry e = localEntry(f);
            if (!e.isFolder())
                return e.isLink() ? refuseSymlink(QFileInfo(f)) : Status::ioError(QStringLiteral("the folder %1 is gone or was replaced").arg(quoted(f)));
        }
        for (const Pending &p : m_files)
            VD_TRY(checkFileSlot(p.local, localEntry(p.local), force));
        tick(QStringLiteral("putting %1 in place").arg(count(m_files.size(), "file", "files")));
        for (; m_renamed < m_files.size(); ++m_renamed) {
            const Pending &p = m_files[m_renamed];
            if (::rename(p.temp.constData(), QFile::encodeName(p.local).constData()) != 0)
                return localError(QStringLiteral("cannot rename %1 to %2").arg(quotedBytes(p.temp), quoted(p.local)), errno);
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
            return localError(QStringLiteral("cannot read the folder %1").arg(quoted(folder)), errno);
        if (m_syncFds.count(st.st_dev))
            return {};
        const int fd = ::open(path.constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return localError(QStringLiteral("cannot read the folder %1").arg(quoted(folder)), errno);
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

    QThreadPool m_pool;
    std::deque<QFuture<Status>> m_pending;
    std::vector<Pending> m_files;
    size_t m_renamed = 0;
    QStringList m_folders; // every folder of the copy, LOCAL first
    QStringList m_created; // the folders this writer made, in order
    std::map<dev_t, int> m_syncFds;
    bool m_committed = false;
};

} // namespace

int cmdPut(Context &ctx)
{
    const QString typedDst = ctx.args.constLast();
    const QString dst = drivePath(typedDst);
    const QStringList locals = ctx.args.mid(0, ctx.args.size() - 1);
    // The command line first: nothing is opened for a usage error.
    for (const QString &local : locals) {
        if (isStdio(local)) {
            if (locals.size() > 1)
                return ctx.usage(QStringLiteral("'-' (standard input) needs a name of its own: vdrive put - VPATH"));
            continue;
        }
        const QFileInfo fi(local);
        if (fi.isDir() && !ctx.recursive)
            return ctx.usage(QStringLiteral("%1 is a folder: use put -r").arg(quoted(local)));
        if (fi.isDir() && localName(local).isEmpty())
            return ctx.usage(QStringLiteral("%1 has no name to give it in the drive; put its entries instead").arg(quoted(local)));
        // A device or a socket has no contents to store (/dev/zero never
        // ends, a socket cannot be opened): refused before anything is done.
        const LocalKind kind = localKind(local);
        if (kind == LocalKind::CharDevice || kind == LocalKind::BlockDevice || kind == LocalKind::Socket || kind == LocalKind::Other)
            return ctx.usage(QStringLiteral("%1 is %2: put stores regular files, FIFOs (their stream, as with '-') and folders (-r)")
                                 .arg(quoted(local), kindPhrase(kind)));
    }

    auto d = openDrive(ctx, Access::ReadWrite);
    if (!d)
        return ctx.fail(d.status());
    tree::Drive &drive = **d;
    auto target = statIfExists(drive, dst);
    if (!target)
        return ctx.fail(target.status());
    const bool dstIsFolder = *target && (*target)->kind == Kind::Directory;
    // Into the folder dst, or dst itself (cp's rule).
    const bool into = dstIsFolder || locals.size() > 1 || (endsWithSlash(typedDst) && dst != QLatin1String("/"));
    if (into && *target && !dstIsFolder)
        return ctx.fail(Status::alreadyExists(QStringLiteral("%1 exists and is a %2, not a folder").arg(dst, tree::kindName((*target)->kind))));
    if (into && isStdio(locals.constFirst()))
        return ctx.usage(QStringLiteral("'-' (standard input) needs a name: vdrive put - %1").arg(childPath(dst, QStringLiteral("NAME"))));

    std::vector<PutJob> jobs;
    for (const QString &local : locals) {
        PutJob job{local, dst, false};
        if (!isStdio(local)) {
            const QFileInfo fi(local);
            if (!fi.exists()) {
                return ctx.fail(fi.isSymLink() ? Status::notFound(QStringLiteral("cannot read %1: a symbolic link to nothing").arg(quoted(local)))
                                               : Status::notFound(QStringLiteral("cannot read %1: no such file or folder").arg(quoted(local))));
            }
            job.folder = fi.isDir();
            job.fifo = localKind(local) == LocalKind::Fifo; // its stream is stored, as with '-'
            if (!fi.isDir() && !fi.isFile() && !job.fifo)
                return ctx.usage(QStringLiteral("%1 is %2: put stores regular files, FIFOs and folders").arg(quoted(local), kindPhrase(localKind(local))));
            if (into)
                job.vpath = childPath(dst, localName(local));
        }
        jobs.push_back(job);
    }

    for (size_t i = 0; i < jobs.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (jobs[i].vpath == jobs[j].vpath)
                return ctx.fail(Status::invalidArgument(
                    QStringLiteral("%1 and %2 would both become %3").arg(quoted(jobs[j].local), quoted(jobs[i].local), jobs[i].vpath)));

    ProgressLine progress(QString(), 0, !ctx.quiet && !ctx.json);
    Putter putter(ctx, drive, progress);
    Status st;
    if (into && !*target && !jobs.empty()) {
        auto made = drive.mkdir(dst, true);
        st = made.status();
    } else if (!into && !jobs.empty() && jobs.front().folder) {
        // put -r dir /x/y: /x/y becomes the copy of dir, its parents created.
        auto made = drive.mkdir(parentPath(dst), true);
        st = made.status();
    }
    for (const PutJob &job : jobs) {
        if (!st)
            break;
        st = job.folder ? putter.putTree(job.local, job.vpath) : putter.putFile(job.local, job.vpath, std::nullopt, job.fifo);
    }
    if (st)
        st = putter.finish();
    progress.finish();
    if (!st)
        return ctx.fail(st);
    if (ctx.json) {
        QJsonArray targets;
        for (const PutJob &job : jobs)
            targets.append(job.vpath);
        printJson(ctx, QJsonObject{{QStringLiteral("files"), qint64(putter.files)},
                                   {QStringLiteral("folders"), qint64(putter.folders)},
                                   {QStringLiteral("bytes"), qint64(putter.bytes)},
                                   {QStringLiteral("skipped"), qint64(putter.skipped)},
                                   {QStringLiteral("targets"), targets}});
    } else if (!ctx.quiet) {
        if (jobs.size() == 1 && !jobs.front().folder)
            ctx.out << "stored " << listed(jobs.front().vpath) << " (" << formatBytes(putter.bytes) << ")\n";
        else
            ctx.out << "stored " << count(putter.files, "file", "files") << " (" << formatBytes(putter.bytes) << ") and "
                    << count(putter.folders, "folder", "folders") << (into ? " into " : " as ") << listed(dst)
                    << (putter.skipped ? QStringLiteral("; skipped %1").arg(putter.skipped) : QString()) << "\n";
    }
    return ExitOk;
}

int cmdGet(Context &ctx)
{
    const QString vpath = drivePath(ctx.args.at(0));
    const QString local = ctx.args.at(1);
    auto d = openDrive(ctx, Access::ReadOnly);
    if (!d)
        return ctx.fail(d.status());
    tree::Drive &drive = **d;
    auto node = drive.stat(vpath, ctx.at);
    if (!node)
        return ctx.fail(node.status());
    const bool folder = node->kind == Kind::Directory;
    if (folder && !ctx.recursive)
        return ctx.usage(QStringLiteral("%1 is a folder: use get -r").arg(vpath));
    if (folder && isStdio(local))
        return ctx.usage(QStringLiteral("a folder cannot go to standard output: name a local folder"));

    ProgressLine progress(QStringLiteral("reading %1").arg(vpath), folder ? 0 : node->size, !ctx.quiet && !ctx.json);
    if (isStdio(local)) {
        QIODevice &out = rawStdout(ctx);
        const Status st = drive.readFile(vpath, out, [&](uint64_t done) { return progress.update(done); }, ctx.at);
        flushOutput(out);
        progress.finish();
        return st ? ExitOk : ctx.fail(st);
    }

    if (!folder) {
        QString target = local;
        if (QFileInfo(local).isDir()) { // into a local folder, under the node's name
            const QString dir = QDir::cleanPath(QFileInfo(local).absoluteFilePath());
            auto into = safeLocalPath(dir, dir, node->name);
            if (!into)
                return ctx.fail(into.status());
            target = *into;
        }
        const Status ok = checkFileTarget(QFileInfo(target), ctx.force);
        if (!ok)
            return ctx.fail(ok);
        const Status st = writeLocalFile(drive, vpath, *node, target, ctx.at, [&](uint64_t done) { return progress.update(done); });
        progress.finish();
        if (!st)
            return ctx.fail(st);
        if (ctx.json)
            printJson(ctx, QJsonObject{{QStringLiteral("files"), 1}, {QStringLiteral("folders"), 0}, {QStringLiteral("bytes"), QFileInfo(target).size()},
                                       {QStringLiteral("local"), target}});
        return ExitOk;
    }

    // get -r: LOCAL becomes the copy of the folder (created if needed).
    const QFileInfo rootInfo(local);
    if (rootInfo.isSymLink() && !rootInfo.isDir())
        return ctx.fail(refuseSymlink(rootInfo));
    if (rootInfo.exists() && !rootInfo.isDir())
        return ctx.fail(Status::alreadyExists(QStringLiteral("%1 exists and is not a folder").arg(quoted(local))));
    // A link named on the command line is followed: the copy goes into the
    // folder it leads to (links inside LOCAL never are).
    const QString root = rootInfo.isSymLink() ? rootInfo.canonicalFilePath() : QDir::cleanPath(rootInfo.absoluteFilePath());
    std::vector<GetItem> items;
    Status st = planTree(drive, vpath, root, root, ctx.at, ctx.force, &items);
    if (!st)
        return ctx.fail(st.withContext(QStringLiteral("nothing was written")));
    LocalTreeWriter writer;
    uint64_t files = 0, folders = 1, bytes = 0; // LOCAL is one of the folders
    st = writer.folder(root);
    for (const GetItem &item : items) {
        if (!st)
            break;
        if (ProgressLine::interrupted()) {
            st = Status::cancelled(QStringLiteral("get was cancelled"));
            break;
        }
        if (item.node.kind == Kind::Directory) {
            st = writer.folder(item.local);
            folders += st ? 1 : 0;
            continue;
        }
        auto tick = [&](uint64_t done) {
            return progress.tick([&] { return QStringLiteral("reading: %1, %2 — %3").arg(count(files, "file", "files"), formatBytes(bytes + done), item.vpath); });
        };
        uint64_t size = item.node.size;
        if (item.node.kind == Kind::File && item.node.size <= kInMemoryFile) {
            // Read here, written by a worker while the next one is read.
            QBuffer buffer;
            buffer.open(QIODevice::WriteOnly);
            st = drive.readFile(item.vpath, buffer, tick, ctx.at);
            if (st)
                st = writer.file(item.local, buffer.data(), item.node.modifiedMs, item.replaces);
        } else {
            st = writer.file(
                item.local, item.node.modifiedMs, item.replaces, [&](QIODevice &out) { return drive.readFile(item.vpath, out, tick, ctx.at); },
                &size);
        }
        if (st) {
            ++files;
            bytes += size; // a JSON document's size is its text's
        }
    }
    if (st)
        st = writer.commit(ctx.force, [&](const QString &text) { progress.tick([&] { return text; }); });
    progress.finish();
    if (!st)
        return ctx.fail(Status(st.code(), QStringLiteral("%1; %2").arg(st.message(), writer.abandon())));
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("files"), qint64(files)},
                                   {QStringLiteral("folders"), qint64(folders)},
                                   {QStringLiteral("bytes"), qint64(bytes)},
                                   {QStringLiteral("local"), root}});
    else if (!ctx.quiet)
        ctx.out << "wrote " << count(files, "file", "files") << " (" << formatBytes(bytes) << ") and " << count(folders, "folder", "folders") << " into "
                << listed(local) << "\n";
    return ExitOk;
}

} // namespace vd::cli
