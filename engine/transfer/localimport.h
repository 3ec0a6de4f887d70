// Importing local files and folders into a drive: what `vdrive put` and
// `put -r` do, and what the explorer does with dropped files. One code path
// for both, so they are as fast, as crash-safe and skip the same things.
//
// Batches: the import commits every ImportOptions::batchEntries entries,
// batchBytes bytes or batchTimeMs (one sync per batch), so a large tree
// costs a few commits. A failure rolls back the batch it happened in; what
// earlier batches committed stays, and the error says how much
// ("...; 3 files (1.50 MiB) and 1 folder stored before were committed and
// stay"). A commit rewrites every catalog page the batch touched, and
// records keyed by content name land on pages all over their map: fewer,
// larger batches write each such page fewer times (100,000 small files:
// 97,000 page writes with batches of 1,000).
//
// Folders are listed with readdir() (no stat per entry) in byte order of
// their names and merged into an existing folder of the same path. Inside a
// folder, symbolic links, FIFOs, sockets, devices and names that are not
// UTF-8 are skipped, each with a warning. A FIFO named as an item is read
// like a stream (its writer's bytes); a stream device (standard input) can
// be given instead of a path. Small files are read (and packed) ahead on
// worker threads; a sparse file's holes are never read.
//
// Thread: the caller's (it may be any thread but one that must stay
// responsive: this does disk and drive work). The drive is used by this
// thread only for the duration.
#pragma once

#include "transfer/localfs.h"
#include "transfer/observer.h"
#include "tree/drive.h"

#include <QIODevice>
#include <QString>

#include <cstdint>
#include <functional>
#include <vector>

namespace vd::transfer {

struct ImportItem
{
    QString local; // a file, a folder, a FIFO; with `stream`, only its name in messages
    QString vpath; // what it becomes in the drive (a folder's parents are created)
    // Read instead of `local` when set (standard input); not owned, read on
    // the caller's thread.
    QIODevice *stream = nullptr;
};

struct ImportOptions
{
    // Walk the local items first to fill TransferProgress::totalFiles and
    // totalBytes (a stat per file: worth it for a dialog's time left).
    bool countFirst = false;
    // When a batch is committed (see the top of this file).
    uint64_t batchEntries = 10000;
    uint64_t batchBytes = uint64_t(256) << 20;
    // A batch is also committed once it is this old: what a crash can take
    // back, and how far behind the import a reader of the drive can be.
    int64_t batchTimeMs = 5000;
    // Opens a FIFO item (it waits for a writer); -1 with errno set when it
    // cannot, EINTR when cancelled. Default: openWaiting() asking the
    // observer's isCancelled(). (The CLI interrupts its open(2) with Ctrl-C.)
    std::function<int(const QByteArray &path)> openFifo;
    Quoting quoting;
};

struct ImportReport
{
    uint64_t files = 0, folders = 0, bytes = 0, skipped = 0, commits = 0;
};

// Imports the items in order and commits. Errors: NotFound for a missing
// item, InvalidArgument for a device or socket item, Cancelled when the
// observer asked ("put was cancelled"), and any error of the drive or of a
// local read; each says what stays committed. Already-uncommitted changes
// of the drive are committed with the first batch (or rolled back with it).
Result<ImportReport> importLocal(tree::Drive &drive, const std::vector<ImportItem> &items, const ImportOptions &options, TransferObserver &observer);

} // namespace vd::transfer
