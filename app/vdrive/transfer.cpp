// put and get: copying between local files and the drive, like cp.
//
// put commits in batches (every kBatchFiles entries or kBatchBytes bytes,
// one sync per batch), so a large tree costs a few commits; a failure rolls
// back the batch it happened in, and what earlier batches committed stays.
//
// get -r writes names that come from the drive, which are untrusted: each
// is checked (no '/', not '.', '..' or empty) and the path it makes must
// stay under LOCAL; nothing is ever written through a symbolic link that
// exists in LOCAL. The whole tree is checked before the first byte is
// written, and every path is checked again right before it is written.
#include "commands.h"

#include "cliutil.h"
#include "progress.h"

#include <QBuffer>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QSaveFile>
#include <QStringDecoder>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <optional>
#include <cerrno>
#include <cstring>
#include <dirent.h>

namespace vd::cli {

using storage::Access;
using tree::Kind;
using tree::VNode;

namespace {

constexpr uint64_t kBatchEntries = 1000;
constexpr uint64_t kBatchBytes = uint64_t(256) << 20;

bool isStdio(const QString &local)
{
    return local == QLatin1String("-");
}

// The name a local file or folder gets in the drive: its last component.
QString localName(const QString &local)
{
    return QFileInfo(QDir::cleanPath(QFileInfo(local).absoluteFilePath())).fileName();
}

// ---- put -------------------------------------------------------------------

// The raw names in a local folder (not "." and ".."), in byte order.
Result<std::vector<QByteArray>> listFolder(const QString &local)
{
    DIR *dir = ::opendir(QFile::encodeName(local).constData());
    if (!dir) {
        const int error = errno;
        const QString msg = QStringLiteral("cannot read the folder '%1': %2").arg(local, QString::fromLocal8Bit(std::strerror(error)));
        return error == EACCES ? Status::permissionDenied(msg) : error == ENOENT ? Status::notFound(msg) : Status::ioError(msg);
    }
    std::vector<QByteArray> names;
    errno = 0;
    while (const dirent *e = ::readdir(dir)) {
        const QByteArray name(e->d_name);
        if (name != "." && name != "..")
            names.push_back(name);
    }
    const int error = errno;
    ::closedir(dir);
    if (error != 0)
        return Status::ioError(QStringLiteral("cannot read the folder '%1': %2").arg(local, QString::fromLocal8Bit(std::strerror(error))));
    std::sort(names.begin(), names.end());
    return names;
}

// Read-ahead of small files during put -r: how many, and up to what size.
constexpr size_t kReadAheadFiles = 16;
constexpr qint64 kReadAheadMaxFile = 1 << 20;

class Putter
{
public:
    Putter(Context &ctx, tree::Drive &drive, ProgressLine &progress) : m_ctx(ctx), m_drive(drive), m_progress(progress) {}

    uint64_t files = 0, folders = 0, bytes = 0, skipped = 0, commits = 0;

    // A local regular file (or "-") to the file vpath. `read`, when given,
    // holds the file's bytes, read ahead on another thread.
    Status putFile(const QString &local, const QString &vpath, std::optional<QByteArray> read = std::nullopt)
    {
        if (ProgressLine::interrupted())
            return cancelled();
        QFile file;
        QBuffer buffer;
        QIODevice *in = &file;
        std::unique_ptr<io::FileHoles> holes;
        if (read) {
            buffer.setData(*read);
            buffer.open(QIODevice::ReadOnly);
            in = &buffer;
        } else {
            const bool ok = isStdio(local) ? file.open(stdin, QIODevice::ReadOnly) : (file.setFileName(local), file.open(QIODevice::ReadOnly));
            if (!ok)
                return stopAt(cannotRead(local, file));
            // A sparse file's holes are learnt from the file system (as cp
            // --sparse does) and never read: they cost the drive nothing.
            if (!isStdio(local) && !file.isSequential())
                if (auto h = io::FileHoles::open(local))
                    holes = std::move(h).value();
        }
        auto n = m_drive.putFile(
            vpath, *in, [&](uint64_t done) { return m_progress.tick([&] { return line(done, vpath); }); }, holes.get());
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
        auto names = listFolder(local);
        if (!names)
            return stopAt(names.status());
        auto made = m_drive.mkdir(vpath, true);
        if (!made)
            return lost(made.status());
        ++folders;
        VD_TRY(counted(false, 0));
        struct Item
        {
            QString path, child;
            enum { File, Folder, Other } what;
            QFuture<std::optional<QByteArray>> read; // small files: their bytes, read ahead
        };
        std::vector<Item> items;
        for (const QByteArray &raw : *names) {
            QStringDecoder utf8(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
            const QString name = utf8(raw);
            const QString path = local + QLatin1Char('/') + name;
            if (utf8.hasError()) {
                skip(QStringLiteral("skipped '%1/%2': its name is not valid UTF-8").arg(local, QString::fromUtf8(raw)));
                continue;
            }
            const QFileInfo e(path);
            const QString child = childPath(vpath, name);
            if (e.isSymLink())
                skip(QStringLiteral("skipped the symbolic link '%1'").arg(path));
            else if (e.isDir())
                items.push_back({path, child, Item::Folder, {}});
            else if (e.isFile())
                items.push_back({path, child, Item::File, {}});
            else
                skip(QStringLiteral("skipped '%1': not a regular file or folder").arg(path));
        }
        // Small files are read a few ahead on worker threads while this one
        // stores the current file: the disk and the hashing overlap. A file
        // that cannot be read ahead is read again in the usual way, which
        // reports the problem.
        size_t next = 0;
        auto readAhead = [&](size_t upTo) {
            for (; next < items.size() && next <= upTo; ++next) {
                Item &it = items[next];
                if (it.what != Item::File || QFileInfo(it.path).size() > kReadAheadMaxFile)
                    continue;
                it.read = QtConcurrent::run([path = it.path]() -> std::optional<QByteArray> {
                    QFile f(path);
                    if (!f.open(QIODevice::ReadOnly))
                        return std::nullopt;
                    QByteArray content = f.readAll();
                    if (f.error() != QFileDevice::NoError)
                        return std::nullopt;
                    return content;
                });
            }
        };
        struct Drain // an early return still waits for the readers
        {
            std::vector<Item> &items;
            ~Drain()
            {
                for (Item &it : items)
                    if (it.read.isValid())
                        it.read.waitForFinished();
            }
        } drain{items};
        for (size_t i = 0; i < items.size(); ++i) {
            readAhead(i + kReadAheadFiles);
            Item &it = items[i];
            if (it.what == Item::Folder) {
                VD_TRY(putTree(it.path, it.child));
            } else {
                std::optional<QByteArray> prefetched;
                if (it.read.isValid())
                    prefetched = it.read.result();
                VD_TRY(putFile(it.path, it.child, std::move(prefetched)));
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
        if (m_pending.entries >= kBatchEntries || m_pending.bytes >= kBatchBytes)
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
};

struct PutJob
{
    QString local; // a file, a folder (with -r) or "-"
    QString vpath; // what it becomes
    bool folder = false;
};

// ---- get -------------------------------------------------------------------

// Where a name read from the drive may be written: under root, never
// through a symbolic link. Untrusted names are refused as corruption (the
// engine validates every name it stores, so such a name means damage).
Result<QString> safeLocalPath(const QString &root, const QString &dir, const QString &name)
{
    if (name.isEmpty() || name.contains(QLatin1Char('/')) || name.contains(QChar(0)) || name == QLatin1String(".") || name == QLatin1String(".."))
        return Status::corruption(QStringLiteral("refusing the unsafe name '%1' from the drive").arg(name));
    const QString path = QDir::cleanPath(dir + QLatin1Char('/') + name);
    const QString prefix = root.endsWith(QLatin1Char('/')) ? root : root + QLatin1Char('/'); // root may be "/"
    if (!path.startsWith(prefix) || path.size() <= prefix.size())
        return Status::corruption(QStringLiteral("refusing the name '%1': it would be written outside '%2'").arg(name, root));
    return path;
}

Status checkFolderTarget(const QFileInfo &fi)
{
    VD_TRY(refuseSymlink(fi));
    if (fi.exists() && !fi.isDir())
        return Status::alreadyExists(QStringLiteral("'%1' exists and is not a folder").arg(fi.filePath()));
    return {};
}

// Writes a file or a JSON document (as pretty JSON text) to local, whole
// or not at all (QSaveFile: a temporary file renamed over the target).
Status writeLocalFile(tree::Drive &drive, const QString &vpath, const VNode &n, const QString &local, const QString &at,
                      const storage::ProgressFn &progress)
{
    return saveLocalFile(local, [&](QIODevice &out) -> Status {
        VD_TRY(drive.readFile(vpath, out, progress, at));
        // The drive's modification time, set once every byte is in.
        auto &file = static_cast<QSaveFile &>(out);
        if (file.flush())
            file.setFileTime(QDateTime::fromMSecsSinceEpoch(n.modifiedMs), QFileDevice::FileModificationTime);
        return {};
    });
}

struct GetItem
{
    QString vpath;
    QString local;
    VNode node;
};

// Every node below dir and where it goes, checked before anything is written.
Status planTree(tree::Drive &drive, const QString &vpath, const QString &root, const QString &localDir, const QString &at, bool force,
                std::vector<GetItem> *items)
{
    VD_TRY_ASSIGN(const auto entries, drive.list(vpath, at));
    for (const VNode &n : entries) {
        VD_TRY_ASSIGN(const QString local, safeLocalPath(root, localDir, n.name));
        const QFileInfo fi(local);
        const QString child = childPath(vpath, n.name);
        if (n.kind == Kind::Directory) {
            VD_TRY(checkFolderTarget(fi));
            items->push_back({child, local, n});
            VD_TRY(planTree(drive, child, root, local, at, force, items));
        } else {
            VD_TRY(checkFileTarget(fi, force));
            items->push_back({child, local, n});
        }
    }
    return {};
}

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
            return ctx.usage(QStringLiteral("'%1' is a folder: use put -r").arg(local));
        if (fi.isDir() && localName(local).isEmpty())
            return ctx.usage(QStringLiteral("'%1' has no name to give it in the drive; put its entries instead").arg(local));
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
                return ctx.fail(fi.isSymLink() ? Status::notFound(QStringLiteral("cannot read '%1': a symbolic link to nothing").arg(local))
                                               : Status::notFound(QStringLiteral("cannot read '%1': no such file or folder").arg(local)));
            }
            if (!fi.isDir() && !fi.isFile()) {
                ctx.warn(QStringLiteral("skipped '%1': not a regular file or folder").arg(local));
                continue;
            }
            job.folder = fi.isDir();
            if (into)
                job.vpath = childPath(dst, localName(local));
        }
        jobs.push_back(job);
    }

    for (size_t i = 0; i < jobs.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (jobs[i].vpath == jobs[j].vpath)
                return ctx.fail(Status::invalidArgument(
                    QStringLiteral("'%1' and '%2' would both become %3").arg(jobs[j].local, jobs[i].local, jobs[i].vpath)));

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
        st = job.folder ? putter.putTree(job.local, job.vpath) : putter.putFile(job.local, job.vpath);
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
            ctx.out << "stored " << jobs.front().vpath << " (" << formatBytes(putter.bytes) << ")\n";
        else
            ctx.out << "stored " << count(putter.files, "file", "files") << " (" << formatBytes(putter.bytes) << ") and "
                    << count(putter.folders, "folder", "folders") << (into ? " into " : " as ") << dst
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
        QFileDevice &out = rawStdout(ctx);
        const Status st = drive.readFile(vpath, out, [&](uint64_t done) { return progress.update(done); }, ctx.at);
        out.flush();
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
        return ctx.fail(Status::alreadyExists(QStringLiteral("'%1' exists and is not a folder").arg(local)));
    const QString root = QDir::cleanPath(rootInfo.absoluteFilePath());
    std::vector<GetItem> items;
    Status st = planTree(drive, vpath, root, root, ctx.at, ctx.force, &items);
    if (!st)
        return ctx.fail(st.withContext(QStringLiteral("nothing was written")));
    if (!QDir().mkpath(root))
        return ctx.fail(Status::ioError(QStringLiteral("cannot create the folder '%1'").arg(local)));
    uint64_t files = 0, folders = 1, bytes = 0; // LOCAL is one of the folders
    for (const GetItem &item : items) {
        // Checked again right before writing: the folder may have changed.
        const QFileInfo fi(item.local);
        if (item.node.kind == Kind::Directory) {
            st = checkFolderTarget(fi);
            if (st && !fi.exists() && !QDir().mkdir(item.local))
                st = Status::ioError(QStringLiteral("cannot create the folder '%1'").arg(item.local));
            if (st)
                ++folders;
        } else {
            st = checkFileTarget(fi, ctx.force);
            if (st)
                st = writeLocalFile(drive, item.vpath, item.node, item.local, ctx.at, [&](uint64_t done) {
                    return progress.tick([&] {
                        return QStringLiteral("reading: %1, %2 — %3").arg(count(files, "file", "files"), formatBytes(bytes + done), item.vpath);
                    });
                });
            if (st) {
                ++files;
                bytes += uint64_t(QFileInfo(item.local).size()); // a JSON document's size is its text's
            }
        }
        if (!st) {
            progress.finish();
            return ctx.fail(Status(st.code(), QStringLiteral("%1 (%2 and %3 written before it stay)")
                                                  .arg(st.message(), count(files, "file", "files"), count(folders, "folder", "folders"))));
        }
    }
    progress.finish();
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("files"), qint64(files)},
                                   {QStringLiteral("folders"), qint64(folders)},
                                   {QStringLiteral("bytes"), qint64(bytes)},
                                   {QStringLiteral("local"), root}});
    else if (!ctx.quiet)
        ctx.out << "wrote " << count(files, "file", "files") << " (" << formatBytes(bytes) << ") and " << count(folders, "folder", "folders") << " into "
                << local << "\n";
    return ExitOk;
}

} // namespace vd::cli
