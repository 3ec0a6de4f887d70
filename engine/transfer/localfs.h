// Local files as a transfer meets them: what kind a path is, the errors of
// system calls on local paths, and the rules for writing a local file (never
// through a symbolic link, whole or not at all, durably). Shared by
// localimport, localexport and the CLI's own local reads and writes (json
// import/export), so they word their errors the same way.
//
// Names in messages go through a Quoting: the CLI quotes for the terminal
// (terminal.h), anyone else gets 'name'. Its functions may be called on any
// thread. Everything here is thread-safe.
#pragma once

#include "core/status.h"

#include <QByteArrayView>
#include <QFile>
#include <QFileInfo>
#include <QIODevice>
#include <QString>

#include <functional>

namespace vd::transfer {

QString plainQuoted(const QString &name);      // 'name'
QString plainQuotedBytes(QByteArrayView name); // 'name', bytes that are not UTF-8 as U+FFFD

struct Quoting
{
    QString (*name)(const QString &) = plainQuoted;
    QString (*bytes)(QByteArrayView) = plainQuotedBytes; // a local name that may not be UTF-8
};

// What a local path is, for the kinds a transfer treats apart (stat(2): a
// symbolic link counts as what it points to unless `link` is set).
enum class LocalKind { Missing, File, Folder, Fifo, Socket, CharDevice, BlockDevice, Link, Other };
LocalKind localKind(const QString &local, bool link = false);
// "a FIFO", "a socket", "a character device", …
QString kindPhrase(LocalKind k);

// A Status for a failed system call on a local path: "<what>: <strerror>",
// its code from errno (ENOENT not-found, EACCES permission-denied, ENOSPC
// no-space, EEXIST already-exists, else io-error).
Status localError(const QString &what, int error);

// The error for a local file that cannot be opened for reading: not-found
// when it does not exist, else permission-denied or io-error.
Status cannotRead(const QString &local, const QFile &file, const Quoting &q = {});
// permission-denied when fi is a symbolic link: vdrive never writes through one.
Status refuseSymlink(const QFileInfo &fi, const Quoting &q = {});
// Whether a local file may be written at fi: not a symbolic link, not a
// folder, and not an existing file unless force.
Status checkFileTarget(const QFileInfo &fi, bool force, const Quoting &q = {});
// Writes a local file whole or not at all, and durably: a temporary file
// (QSaveFile), synced, renamed over the target once write() succeeded, and
// the folder synced so that the new name is on the disk too.
Status saveLocalFile(const QString &local, const std::function<Status(QIODevice &)> &write, const Quoting &q = {});

// open(2) of a path that may wait indefinitely (a FIFO waits for its
// writer), stoppable: the FIFO is opened without blocking, then waited for
// by poll() in short steps that ask `cancelled`. -1 with errno EINTR once
// cancelled, else open(2)'s result (close-on-exec, blocking).
int openWaiting(const QByteArray &path, int flags, const std::function<bool()> &cancelled);

} // namespace vd::transfer
