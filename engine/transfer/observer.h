// What a transfer between local files and a drive (localimport.h,
// localexport.h) tells the one who started it, and how it is stopped.
//
// A transfer runs on the caller's thread (its helpers' threads only read or
// write local files) and calls its observer there, often: per file and per
// chunk of a large file. The observer throttles what it draws (the CLI's
// ProgressLine redraws ten times a second; a dialog would coalesce on a
// timer) and must return quickly. Cancelling is polled, not pushed: the
// transfer asks isCancelled() between files and inside large ones, then
// stops cleanly (rolling back what is not committed) with Cancelled.
#pragma once

#include <QString>

#include <cstdint>

namespace vd::transfer {

struct TransferProgress
{
    enum class Phase {
        Copying, // files and folders are being copied
        Syncing, // export: every byte written is being synced to the disk
        Renaming // export: the files are being put in place under their names
    };
    uint64_t files = 0;   // files copied so far (Syncing, Renaming: all of them)
    uint64_t folders = 0; // folders made so far
    uint64_t bytes = 0;   // bytes copied so far, with those of the current file
    uint64_t skipped = 0; // entries left out (each one also a warning())
    // Import with ImportOptions::countFirst: what the whole import will
    // copy, for a time left; 0 when not counted.
    uint64_t totalFiles = 0;
    uint64_t totalBytes = 0;
    QString current; // the drive path being copied
    Phase phase = Phase::Copying;
};

class TransferObserver
{
public:
    virtual ~TransferObserver() = default;
    // Polled between files and inside large files; true stops the transfer.
    virtual bool isCancelled() const = 0;
    // Counts only grow while the transfer goes well (a failure rolls back).
    virtual void progress(const TransferProgress &p) = 0;
    // An entry was skipped ("skipped the symbolic link '/a/b'"); the
    // transfer goes on.
    virtual void warning(const QString &message) = 0;
};

} // namespace vd::transfer
