#include "cliutil.h"

#include "node/identity.h"

#include "progress.h"
#include "terminal.h"

#include "storage/datadir.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>
#include <QStandardPaths>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace vd::cli {

QString count(uint64_t n, const char *singular, const char *plural)
{
    return QStringLiteral("%1 %2").arg(n).arg(QLatin1String(n == 1 ? singular : plural));
}

void printJson(Context &ctx, const QJsonValue &v)
{
    const QJsonDocument doc = v.isArray() ? QJsonDocument(v.toArray()) : QJsonDocument(v.toObject());
    ctx.out << doc.toJson(QJsonDocument::Indented);
}

QString isoTime(int64_t ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs);
}

QString localTime(int64_t ms)
{
    const QDateTime local = QDateTime::fromMSecsSinceEpoch(ms, Qt::LocalTime);
    // An explicit offset, so the text says which time it is ("+01:00", "Z").
    return local.toOffsetFromUtc(local.offsetFromUtc()).toString(Qt::ISODate);
}

QString cacheDirFor(const Context &ctx, const Ruid &ruid)
{
    if (ctx.noCache)
        return {};
    QString base = qEnvironmentVariable("VDRIVE_CACHE_DIR");
    if (base.isEmpty()) {
        const QString generic = QStandardPaths::writableLocation(QStandardPaths::GenericCacheLocation);
        if (generic.isEmpty())
            return {};
        base = generic + QStringLiteral("/vdrive");
    }
    return base + QLatin1Char('/') + ruid.toString();
}

Result<Handle<tree::Drive>> openDrive(Context &ctx, storage::Access access)
{
    if (ctx.hostDrive)
        return borrowed(ctx.hostDrive);
    VD_TRY_ASSIGN(const QString dir, storage::findCollection(*ctx.env, ctx.dataDir, ctx.collection));
    VD_TRY_ASSIGN(auto col, storage::Collection::open(*ctx.env, dir, access));
    for (const QString &w : col->warnings())
        ctx.warn(w);
    tree::DriveOptions options;
    options.lmdbCacheDir = cacheDirFor(ctx, col->ruid());
    if (access == storage::Access::ReadWrite) {
        // Changes are versioned by this data directory's node (made on first use).
        VD_TRY_ASSIGN(const node::NodeIdentity identity, node::NodeIdentity::open(ctx.dataDir));
        options.nodeShortId = identity.id().shortId();
    }
    // A cache another vdrive holds (or one that cannot be written) is not
    // an error: the Drive then works without it (lmdbProblem() says why).
    VD_TRY_ASSIGN(auto drive, tree::Drive::attach(std::move(col), options));
    return Handle<tree::Drive>(std::move(drive));
}

QString drivePath(const QString &typed)
{
    return QLatin1Char('/') + typed.split(QLatin1Char('/'), Qt::SkipEmptyParts).join(QLatin1Char('/'));
}

QString lastName(const QString &path)
{
    return path.mid(path.lastIndexOf(QLatin1Char('/')) + 1);
}

QString parentPath(const QString &path)
{
    const qsizetype slash = path.lastIndexOf(QLatin1Char('/'));
    return slash <= 0 ? QStringLiteral("/") : path.left(slash);
}

QString childPath(const QString &dir, const QString &name)
{
    return dir == QLatin1String("/") ? QLatin1Char('/') + name : dir + QLatin1Char('/') + name;
}

bool endsWithSlash(const QString &typed)
{
    return typed.endsWith(QLatin1Char('/'));
}

QJsonObject versionJson(const VersionVector &v)
{
    QJsonObject o;
    for (const VersionVector::Entry &e : v.entries())
        o[QStringLiteral("%1").arg(e.node, 16, 16, QLatin1Char('0'))] = qint64(e.counter);
    return o;
}

QJsonObject nodeJson(const tree::VNode &n)
{
    QJsonObject o{{QStringLiteral("name"), n.name},
                  {QStringLiteral("id"), n.id.toString()},
                  {QStringLiteral("kind"), tree::kindName(n.kind)},
                  {QStringLiteral("size"), qint64(n.size)},
                  {QStringLiteral("created"), isoTime(n.createdMs)},
                  {QStringLiteral("modified"), isoTime(n.modifiedMs)},
                  {QStringLiteral("version"), versionJson(n.version)},
                  {QStringLiteral("clusters"), qint64(n.clusterCount)}};
    if (n.kind == tree::Kind::JsonValue)
        o[QStringLiteral("value")] = QString::fromUtf8(n.value);
    return o;
}

QString pieceClass(const tree::PieceInfo &p)
{
    if (p.zero)
        return QStringLiteral("zero");
    if (p.notHere)
        return QStringLiteral("not-here");
    return p.packed ? QStringLiteral("packed") : QStringLiteral("%1MiB").arg(1 << p.sizeClass);
}

QIODevice &rawStdout(Context &ctx)
{
    ctx.out.flush();
    return *ctx.out.device();
}

void flushOutput(QIODevice &out)
{
    if (auto *file = qobject_cast<QFileDevice *>(&out))
        file->flush();
}

QIODevice *standardInput(Context &ctx, QFile &file)
{
    if (ctx.in)
        return ctx.in;
    return file.open(stdin, QIODevice::ReadOnly) ? &file : nullptr;
}

Status cannotRead(const QString &local, const QFile &file)
{
    const QString msg = QStringLiteral("cannot read %1: %2").arg(quoted(local), file.errorString());
    if (!QFileInfo(local).isSymLink() && !QFileInfo::exists(local))
        return Status::notFound(msg);
    if (file.error() == QFileDevice::PermissionsError || !QFileInfo(local).isReadable())
        return Status::permissionDenied(msg);
    return Status::ioError(msg);
}

Status refuseSymlink(const QFileInfo &fi)
{
    if (fi.isSymLink())
        return Status::permissionDenied(
            QStringLiteral("refusing to write through the symbolic link %1 (to %2)").arg(quoted(fi.filePath()), quoted(fi.symLinkTarget())));
    return {};
}

Status checkFileTarget(const QFileInfo &fi, bool force)
{
    VD_TRY(refuseSymlink(fi));
    if (fi.exists() && fi.isDir())
        return Status::alreadyExists(QStringLiteral("%1 exists and is a folder").arg(quoted(fi.filePath())));
    if (fi.exists() && !force)
        return Status::alreadyExists(QStringLiteral("%1 exists (--force replaces it)").arg(quoted(fi.filePath())));
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

Status saveLocalFile(const QString &local, const std::function<Status(QIODevice &)> &write)
{
    WritebackSaveFile out(local);
    if (!out.open(QIODevice::WriteOnly))
        return Status::ioError(QStringLiteral("cannot write %1: %2").arg(quoted(local), out.errorString()));
    const Status st = write(out);
    if (!st) {
        out.cancelWriting();
        return st;
    }
    if (!out.commit())
        return Status::ioError(QStringLiteral("cannot write %1: %2").arg(quoted(local), out.errorString()));
    // QSaveFile synced the file before the rename; the rename itself is on
    // the disk once the folder is synced.
    const QString dir = QFileInfo(local).absolutePath();
    const int fd = ::open(QFile::encodeName(dir).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const bool synced = fd >= 0 && ::fsync(fd) == 0;
    const int error = errno;
    if (fd >= 0)
        ::close(fd);
    if (!synced)
        return Status::ioError(QStringLiteral("cannot sync the folder %1: %2").arg(quoted(dir), QString::fromLocal8Bit(std::strerror(error))));
    return {};
}

QJsonObject gcJson(const storage::GcReport &r)
{
    return QJsonObject{{QStringLiteral("blocksFreed"), qint64(r.blocksFreed)},
                       {QStringLiteral("bytesFreed"), qint64(r.bytesFreed)},
                       {QStringLiteral("catalogBlocksFreed"), qint64(r.catalogBlocksFreed)},
                       {QStringLiteral("smallBlocksRepacked"), qint64(r.smallBlocksRepacked)},
                       {QStringLiteral("slotsMoved"), qint64(r.slotsMoved)},
                       {QStringLiteral("countsFixed"), qint64(r.countsFixed)},
                       {QStringLiteral("trashExpired"), qint64(r.trashExpired)}};
}

QString gcText(const storage::GcReport &r)
{
    return QStringLiteral("freed %1 in %2 and %3; repacked %4 (%5 moved); %6 fixed; %7 expired")
        .arg(formatBytes(r.bytesFreed), count(r.blocksFreed, "block", "blocks"), count(r.catalogBlocksFreed, "catalog block", "catalog blocks"),
             count(r.smallBlocksRepacked, "SmallBlock", "SmallBlocks"), count(r.slotsMoved, "payload", "payloads"),
             count(r.countsFixed, "reference count", "reference counts"), count(r.trashExpired, "trash entry", "trash entries"));
}

int commitOrFail(Context &ctx, tree::Drive &drive)
{
    const Status st = drive.commit();
    return st ? ExitOk : ctx.fail(st.withContext(QStringLiteral("committing (nothing of this command was kept)")));
}

int rollbackAndFail(Context &ctx, tree::Drive &drive, const Status &status)
{
    if (drive.hasUncommittedChanges())
        (void)drive.rollback();
    return ctx.fail(status);
}

Result<std::optional<tree::VNode>> statIfExists(tree::Drive &drive, const QString &path, const QString &at)
{
    auto n = drive.stat(path, at);
    if (n)
        return std::optional<tree::VNode>(std::move(n).value());
    if (n.status().code() == ErrorCode::NotFound)
        return std::optional<tree::VNode>();
    return n.status();
}

} // namespace vd::cli
