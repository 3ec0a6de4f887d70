// Exporting files and folders of a drive to local files: what `vdrive get`
// and `get -r` do, and what the explorer does for a drag-out or "Export to
// folder…". One code path for both.
//
// Names that come from the drive are untrusted: each is checked (no '/',
// not '.', '..' or empty) and the path it makes must stay under the item's
// local target; nothing is ever written through a symbolic link that exists
// there. A folder's whole tree is checked before the first byte is written,
// and every path is checked again right before it is put in place.
// A folder's files are written under temporary names (".vdrive-get-" and 16
// hex digits) without a sync each, then the file system is synced once, the
// files renamed into place, and synced again (LocalTreeWriter): as durable
// as a sync per file, at the cost of two. A failure or a cancel before the
// renames removes every temporary and every folder the export made: the
// target is left as it was found. A single file is written whole or not at
// all (saveLocalFile). What a crash leaves at each step is in docs/CLI.md
// ("get").
//
// Thread: the caller's, as localimport.h; the drive is only read.
#pragma once

#include "transfer/localfs.h"
#include "transfer/observer.h"
#include "tree/drive.h"

#include <QString>

#include <cstdint>
#include <vector>

namespace vd::transfer {

struct ExportItem
{
    QString vpath; // a file, JSON document or folder of the drive
    // A file goes to `local`, or into it under its own name when `local` is
    // a folder. A folder becomes `local` (created with its parents if
    // missing, merged into it if it is a folder); a symbolic link named here
    // is followed, links inside it never are.
    QString local;
};

struct ExportOptions
{
    QString at;         // a snapshot to read from (empty: the live tree)
    bool force = false; // replace existing local files (never folders or links)
    Quoting quoting;
};

struct ExportReport
{
    uint64_t files = 0, folders = 0, bytes = 0;
    // Where each item went (the same order): the file written, or the
    // folder the copy of a folder is.
    std::vector<QString> targets;
};

// Exports the items in order. Errors: NotFound for a missing vpath,
// AlreadyExists for a local file in the way (without force) or a folder in
// the way of a file, PermissionDenied for a symbolic link in the way,
// Corruption for a hostile name from the drive, Cancelled ("get was
// cancelled"), and any local or drive error; a folder's error says what
// of its copy stays. Items exported before the failing one stay.
Result<ExportReport> exportLocal(tree::Drive &drive, const std::vector<ExportItem> &items, const ExportOptions &options, TransferObserver &observer);

// Where a name read from the drive may be written: under root, never
// through a symbolic link. Untrusted names are refused as corruption (the
// engine validates every name it stores, so such a name means damage).
Result<QString> safeLocalPath(const QString &root, const QString &dir, const QString &name, const Quoting &q = {});

} // namespace vd::transfer
