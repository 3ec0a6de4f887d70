#include "cliutil.h"

#include "node/identity.h"

#include "progress.h"
#include "terminal.h"

#include "storage/datadir.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QStandardPaths>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace vd::cli {

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

transfer::Quoting cliQuoting()
{
    return {&quoted, &quotedBytes};
}

Status cannotRead(const QString &local, const QFile &file)
{
    return transfer::cannotRead(local, file, cliQuoting());
}

Status checkFileTarget(const QFileInfo &fi, bool force)
{
    return transfer::checkFileTarget(fi, force, cliQuoting());
}

Status saveLocalFile(const QString &local, const std::function<Status(QIODevice &)> &write)
{
    return transfer::saveLocalFile(local, write, cliQuoting());
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
