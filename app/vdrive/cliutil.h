// What the commands share: opening the drive, drive paths as typed, and the
// formats of times, sizes and nodes in text and JSON output.
#pragma once

#include "cli.h"

#include "core/wording.h"
#include "transfer/localfs.h"
#include "tree/drive.h"

#include <QFile>
#include <QFileDevice>
#include <QFileInfo>
#include <QJsonObject>
#include <QJsonValue>

#include <functional>
#include <memory>
#include <optional>

namespace vd::cli {

using vd::count; // "1 block", "3 blocks"
// The document, indented, on stdout. Objects list their members sorted.
void printJson(Context &ctx, const QJsonValue &v);
// ISO 8601 UTC with milliseconds ("2026-11-25T04:04:01.086Z"): JSON output.
QString isoTime(int64_t ms);
// ISO 8601 local time with its offset, to the second: text listings.
QString localTime(int64_t ms);

// The folder of the LMDB cache of a collection's tree:
// $VDRIVE_CACHE_DIR/<RUID>, else <generic cache location>/vdrive/<RUID>;
// empty with --no-cache or when there is no cache location.
QString cacheDirFor(const Context &ctx, const Ruid &ruid);
// An object a command either owns (it opened it) or borrows (the node's).
template<typename T>
struct MaybeOwned
{
    MaybeOwned() = default;
    MaybeOwned(std::default_delete<T>) {} // owned: from a std::unique_ptr<T>
    explicit MaybeOwned(bool isOwned) : owned(isOwned) {}
    void operator()(T *p) const
    {
        if (owned)
            delete p;
    }
    bool owned = true;
};
template<typename T>
using Handle = std::unique_ptr<T, MaybeOwned<T>>;
template<typename T>
Handle<T> borrowed(T *p)
{
    return Handle<T>(p, MaybeOwned<T>(false));
}

// Opens the collection -c names as a tree (read commands: ReadOnly). In the
// node, the host's drive the command runs on (Context::hostDrive).
Result<Handle<tree::Drive>> openDrive(Context &ctx, storage::Access access);

// A drive path as the user typed it, made absolute and normalised: a
// missing leading '/' is added, repeated and trailing slashes dropped
// ("a//b/" -> "/a/b", "" -> "/"). Names are checked by the engine.
QString drivePath(const QString &typed);
// The last name of a normalised path ("" for "/").
QString lastName(const QString &path);
QString parentPath(const QString &path);
QString childPath(const QString &dir, const QString &name);
bool endsWithSlash(const QString &typed);

// The fields `ls --json` prints for a node.
QJsonObject nodeJson(const tree::VNode &n);
// A version vector as {"<short id in hex>": counter, ...} (nodes ascending).
QJsonObject versionJson(const VersionVector &v);
// "1MiB" … "16MiB" for a block, "packed" for a slot in a SmallBlock.
QString pieceClass(const tree::PieceInfo &p);

// Standard output as a device for raw bytes, after what ctx.out holds.
QIODevice &rawStdout(Context &ctx);
// Hands what rawStdout() holds on (a QFile's buffer) to the stream.
void flushOutput(QIODevice &out);
// Standard input as a device: `file` opened on stdin (null when that
// fails), or in the node the client's stdin (Context::in).
QIODevice *standardInput(Context &ctx, QFile &file);

// Local files, with the engine's rules (transfer/localfs.h) and the names
// in their messages quoted for the terminal (terminal.h).
transfer::Quoting cliQuoting();
// The error for a local file that cannot be opened for reading: not-found
// when it does not exist, else permission-denied or io-error.
Status cannotRead(const QString &local, const QFile &file);
// Whether a local file may be written at fi: not a symbolic link, not a
// folder, and not an existing file unless force.
Status checkFileTarget(const QFileInfo &fi, bool force);
// Writes a local file whole or not at all, and durably (transfer::saveLocalFile).
Status saveLocalFile(const QString &local, const std::function<Status(QIODevice &)> &write);

// A garbage collection's report, in JSON and as one line of text.
QJsonObject gcJson(const storage::GcReport &r);
QString gcText(const storage::GcReport &r);

// Commits a mutating command's work; on failure returns the exit code
// after printing the error, else ExitOk.
int commitOrFail(Context &ctx, tree::Drive &drive);
// Forgets the command's uncommitted changes, prints the error and returns
// its exit code: a mutating command that fails part-way keeps nothing.
int rollbackAndFail(Context &ctx, tree::Drive &drive, const Status &status);
// stat() that answers "no such node" as nullopt rather than an error.
Result<std::optional<tree::VNode>> statIfExists(tree::Drive &drive, const QString &path, const QString &at = {});

} // namespace vd::cli
