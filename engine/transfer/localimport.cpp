#include "transfer/localimport.h"

#include "core/wording.h"
#include "storage/smallblock.h"
#include "tree/paths.h"

#include <QBuffer>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QStringDecoder>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <optional>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vd::transfer {

namespace {

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

Result<std::vector<FolderEntry>> listFolder(const QString &local, const Quoting &q)
{
    const QByteArray folder = QFile::encodeName(local);
    DIR *dir = ::opendir(folder.constData());
    if (!dir) {
        const int error = errno;
        const QString msg = QStringLiteral("cannot read the folder %1: %2").arg(q.name(local), QString::fromLocal8Bit(std::strerror(error)));
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
        return Status::ioError(QStringLiteral("cannot read the folder %1: %2").arg(q.name(local), QString::fromLocal8Bit(std::strerror(error))));
    std::sort(entries.begin(), entries.end(), [](const FolderEntry &a, const FolderEntry &b) { return a.name < b.name; });
    return entries;
}

// An entry's name as text; nothing when it is not valid UTF-8 (skipped).
std::optional<QString> entryName(const QByteArray &raw)
{
    QStringDecoder utf8(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    QString name = utf8(raw);
    if (utf8.hasError())
        return std::nullopt;
    return name;
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

// Read-ahead of small files in folders: how many, up to what size, and on
// how many threads. More threads than cores: with the page cache cold,
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

// What countFirst finds: the files the import will store, and their bytes,
// by the same rules (links, special files and non-UTF-8 names left out).
void countTree(const QString &local, const Quoting &q, TransferProgress &totals)
{
    auto entries = listFolder(local, q);
    if (!entries)
        return; // the import itself reports it
    for (const FolderEntry &entry : *entries) {
        const auto name = entryName(entry.name);
        if (!name)
            continue;
        const QString path = local + QLatin1Char('/') + *name;
        if (entry.kind == LocalKind::Folder) {
            countTree(path, q, totals);
        } else if (entry.kind == LocalKind::File) {
            struct stat st{};
            ++totals.totalFiles;
            if (::lstat(QFile::encodeName(path).constData(), &st) == 0)
                totals.totalBytes += uint64_t(st.st_size);
        }
    }
}

class Importer
{
public:
    Importer(tree::Drive &drive, const ImportOptions &options, TransferObserver &observer)
        : m_drive(drive), m_options(options), m_observer(observer), m_q(options.quoting)
    {
        m_sinceCommit.start();
        m_readers.setMaxThreadCount(kReadAheadThreads);
    }

    ImportReport report;
    TransferProgress totals; // countFirst: totalFiles and totalBytes

    // A small file read ahead on a worker: its bytes and, small enough to
    // be packed into a SmallBlock, packed there too (compressing is most
    // of the cost of storing one).
    struct Prefetched
    {
        QByteArray bytes;
        std::optional<storage::PackedPayload> packed;
    };

    Status putItem(const ImportItem &item)
    {
        if (item.stream)
            return putFile(item.local, item.vpath, std::nullopt, false, item.stream);
        const QFileInfo fi(item.local);
        if (!fi.exists())
            return stopAt(fi.isSymLink() ? Status::notFound(QStringLiteral("cannot read %1: a symbolic link to nothing").arg(m_q.name(item.local)))
                                         : Status::notFound(QStringLiteral("cannot read %1: no such file or folder").arg(m_q.name(item.local))));
        const LocalKind kind = localKind(item.local);
        if (kind == LocalKind::Folder)
            return putTree(item.local, item.vpath);
        if (kind == LocalKind::File || kind == LocalKind::Fifo) // a FIFO's stream is stored
            return putFile(item.local, item.vpath, std::nullopt, kind == LocalKind::Fifo);
        return stopAt(Status::invalidArgument(
            QStringLiteral("%1 is %2: put stores regular files, FIFOs and folders").arg(m_q.name(item.local), kindPhrase(kind))));
    }

    void count(const std::vector<ImportItem> &items)
    {
        for (const ImportItem &item : items) {
            if (item.stream)
                continue; // a stream's size is not known before it ends
            const LocalKind kind = localKind(item.local);
            if (kind == LocalKind::Folder) {
                countTree(item.local, m_q, totals);
            } else if (kind == LocalKind::File) {
                ++totals.totalFiles;
                totals.totalBytes += uint64_t(QFileInfo(item.local).size());
            }
        }
    }

    // A local regular file, a FIFO named as an item, or a stream to the
    // file vpath. `read`, when given, holds the file's bytes, read ahead on
    // another thread.
    Status putFile(const QString &local, const QString &vpath, std::optional<Prefetched> read = std::nullopt, bool fifo = false,
                   QIODevice *stream = nullptr)
    {
        if (m_observer.isCancelled())
            return cancelled();
        QFile file;
        QBuffer buffer;
        QIODevice *in = &file;
        std::unique_ptr<io::FileHoles> holes;
        if (read) {
            buffer.setData(read->bytes);
            buffer.open(QIODevice::ReadOnly);
            in = &buffer;
        } else if (stream) {
            in = stream;
        } else if (fifo) {
            // Opening a FIFO waits for its writer: cancelling must still work.
            const QByteArray path = QFile::encodeName(local);
            const int fd = m_options.openFifo ? m_options.openFifo(path)
                                              : openWaiting(path, O_RDONLY, [this] { return m_observer.isCancelled(); });
            if (fd < 0) {
                if (m_observer.isCancelled())
                    return cancelled();
                return stopAt(localError(QStringLiteral("cannot read %1").arg(m_q.name(local)), errno));
            }
            file.open(fd, QIODevice::ReadOnly, QFileDevice::AutoCloseHandle);
        } else {
            file.setFileName(local);
            if (!file.open(QIODevice::ReadOnly))
                return stopAt(cannotRead(local, file, m_q));
            // A sparse file's holes are learnt from the file system (as cp
            // --sparse does) and never read: they cost the drive nothing.
            if (!file.isSequential())
                if (auto h = io::FileHoles::open(local))
                    holes = std::move(h).value();
        }
        auto n = m_drive.putFile(
            vpath, *in,
            [&](uint64_t done) {
                tell(done, vpath);
                return !m_observer.isCancelled();
            },
            holes.get(), read && read->packed ? &*read->packed : nullptr);
        // Cancelled, the read of the input may fail first (in the node, the
        // client's stdin ends with its cancel): it was the cancel.
        if (!n && m_observer.isCancelled())
            return cancelled();
        if (!n)
            return lost(n.status());
        ++report.files;
        report.bytes += n->size;
        tell(0, vpath);
        return counted(true, n->size);
    }

    // A local folder to the folder vpath (created, or merged into an existing one).
    Status putTree(const QString &local, const QString &vpath)
    {
        if (m_observer.isCancelled())
            return cancelled();
        // Listed with readdir(), not QDir: QDir shows an unreadable folder as
        // empty and silently leaves out names that are not valid UTF-8.
        auto entries = listFolder(local, m_q);
        if (!entries)
            return stopAt(entries.status());
        auto made = m_drive.mkdir(vpath, true);
        if (!made)
            return lost(made.status());
        ++report.folders;
        tell(0, vpath);
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
            const auto name = entryName(entry.name);
            if (!name) {
                // Shown escaped even to a pipe: the bytes are not text.
                skip(QStringLiteral("skipped %1: its name is not valid UTF-8").arg(m_q.bytes(QFile::encodeName(local) + '/' + entry.name)));
                continue;
            }
            const QString path = local + QLatin1Char('/') + *name;
            const QString child = tree::joinPath(vpath, *name);
            if (entry.kind == LocalKind::Link)
                skip(QStringLiteral("skipped the symbolic link %1").arg(m_q.name(path)));
            else if (entry.kind == LocalKind::Folder)
                items.push_back({path, child, {}, Item::Folder, {}});
            else if (entry.kind == LocalKind::File)
                items.push_back({path, child, absolute + entry.name, Item::File, {}});
            else // a FIFO, socket or device has no bytes of its own to copy
                skip(QStringLiteral("skipped %1: %2, not a regular file or folder").arg(m_q.name(path), kindPhrase(entry.kind)));
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
        ++report.commits;
        m_pending = {};
        m_sinceCommit.start();
        return {};
    }

    // A local problem: what is stored so far is committed, then the import stops.
    Status stopAt(const Status &st)
    {
        VD_TRY(finish());
        return Status(st.code(), st.message() + (report.commits > 0 ? QStringLiteral("; stopped there") + kept() : QString()));
    }

private:
    struct Pending
    {
        uint64_t entries = 0, files = 0, folders = 0, bytes = 0;
    };

    // The observer hears the counts, with `current` bytes of the file at vpath.
    void tell(uint64_t current, const QString &vpath)
    {
        TransferProgress p = totals;
        p.files = report.files;
        p.folders = report.folders;
        p.bytes = report.bytes + current;
        p.skipped = report.skipped;
        p.current = vpath;
        m_observer.progress(p);
    }

    void skip(const QString &message)
    {
        ++report.skipped;
        m_observer.warning(message);
    }

    // One more file or folder in the batch; a full batch is committed.
    Status counted(bool isFile, uint64_t size)
    {
        ++m_pending.entries;
        ++(isFile ? m_pending.files : m_pending.folders);
        m_pending.bytes += size;
        if (m_pending.entries >= m_options.batchEntries || m_pending.bytes >= m_options.batchBytes || m_sinceCommit.hasExpired(m_options.batchTimeMs))
            return finish();
        return {};
    }

    // What the user is told stays after a failure ("" when nothing was committed).
    QString kept() const
    {
        if (report.commits == 0)
            return {};
        return QStringLiteral("; %1 (%2) and %3 stored before were committed and stay")
            .arg(vd::count(report.files, "file", "files"), formatBytes(report.bytes), vd::count(report.folders, "folder", "folders"));
    }

    // The engine failed (or the user cancelled): everything since the last
    // commit is rolled back; what earlier batches committed stays.
    Status lost(const Status &st)
    {
        if (m_drive.hasUncommittedChanges())
            (void)m_drive.rollback();
        report.files -= m_pending.files;
        report.folders -= m_pending.folders;
        report.bytes -= m_pending.bytes;
        const bool rolledBack = m_pending.entries > 0;
        m_pending = {};
        const QString batch = rolledBack && report.commits > 0 ? QStringLiteral(" (the batch since the last commit was rolled back)") : QString();
        return Status(st.code(), st.message() + kept() + batch);
    }

    Status cancelled() { return lost(Status::cancelled(QStringLiteral("put was cancelled"))); }

    tree::Drive &m_drive;
    const ImportOptions &m_options;
    TransferObserver &m_observer;
    const Quoting m_q;
    Pending m_pending;
    QElapsedTimer m_sinceCommit;
    QThreadPool m_readers; // read-ahead of small files (putTree)
};

} // namespace

Result<ImportReport> importLocal(tree::Drive &drive, const std::vector<ImportItem> &items, const ImportOptions &options, TransferObserver &observer)
{
    Importer importer(drive, options, observer);
    if (options.countFirst)
        importer.count(items);
    for (const ImportItem &item : items)
        VD_TRY(importer.putItem(item));
    VD_TRY(importer.finish());
    return importer.report;
}

} // namespace vd::transfer
