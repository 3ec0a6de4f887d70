// The file-access seam (after LevelDB's Env).
//
// Every byte the engine reads or writes on disk goes through an Env. There are
// three: PosixEnv (the real one), MemEnv (in memory, with a model of what a
// power cut keeps) and FaultEnv (wraps another Env and fails, tears or cuts
// power at the k-th mutating step). Crash safety is tested through this seam.
//
// Thread safety: an Env may be used from several threads at once. A File's
// reads may run on several threads at once, beside one thread that writes
// it (pread; MemEnv locks): readers of committed generations read idvd while
// the writer appends. Everything else on a File is one thread at a time.
#pragma once

#include "core/status.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <memory>
#include <span>

namespace vd::io {

enum class OpenMode {
    ReadOnly,  // must exist
    ReadWrite, // must exist
    CreateNew, // must not exist; opened read-write
};

enum class LockMode { Shared, Exclusive };

class File
{
public:
    virtual ~File() = default;
    // Reads exactly len bytes at offset. Reading past the end of the file is a
    // Corruption error (a reference pointed outside the file).
    virtual Status read(uint64_t offset, char *out, size_t len) = 0;
    // Writes all of data at offset, extending the file if needed. Not durable
    // until sync() returns OK.
    virtual Status write(uint64_t offset, QByteArrayView data) = 0;
    // Writes parts one after another from offset: one write of their
    // concatenation, as if by write() (a crash may keep any part of it),
    // without the caller copying them together. This default concatenates
    // them and calls write(); PosixFile gathers them with pwritev.
    virtual Status writeGather(uint64_t offset, std::span<const QByteArrayView> parts)
    {
        QByteArray all;
        qsizetype total = 0;
        for (const QByteArrayView part : parts)
            total += part.size();
        all.reserve(total);
        for (const QByteArrayView part : parts)
            all.append(part);
        return write(offset, all);
    }
    // Makes every earlier write and truncate of this file durable.
    virtual Status sync() = 0;
    virtual Status truncate(uint64_t size) = 0;
    // Gives the disk space under [offset, offset + len) back to the file
    // system: those bytes read as zeros afterwards and the file keeps its
    // length (fallocate PUNCH_HOLE | KEEP_SIZE). Like a write, not durable
    // until sync().
    virtual Status punchHole(uint64_t offset, uint64_t len) = 0;
    // Makes sure [offset, offset + len) has disk space of its own, so that
    // writing there later cannot fail for want of space (fallocate mode 0):
    // bytes already there are unchanged, new ones read as zeros, and the
    // file is extended when it ends before offset + len. NoSpace when the
    // disk cannot hold it.
    virtual Status allocate(uint64_t offset, uint64_t len) = 0;
    virtual Result<uint64_t> size() = 0;
    virtual QString path() const = 0;
    // A hint that [offset, offset + len) will be read soon, so the system can
    // start fetching it; no effect on correctness.
    virtual void adviseWillNeed(uint64_t offset, uint64_t len)
    {
        (void)offset;
        (void)len;
    }
    // A hint that [offset, offset + len), just written, will be synced: the
    // system may start writing it to the disk now, so that the disk works
    // while the program goes on and the sync finds less left to do. Makes
    // nothing durable (only sync() does); no effect on correctness.
    virtual void startWriteback(uint64_t offset, uint64_t len)
    {
        (void)offset;
        (void)len;
    }
};

// An advisory lock held until destroyed. It dies with its process: a lock
// left by a killed process never blocks anyone.
class FileLock
{
public:
    virtual ~FileLock() = default;
};

class Env
{
public:
    virtual ~Env() = default;

    virtual Result<std::unique_ptr<File>> open(const QString &path, OpenMode mode) = 0;
    // true for an existing file or directory.
    virtual Result<bool> exists(const QString &path) = 0;
    virtual Result<bool> isDirectory(const QString &path) = 0;
    // Names (not paths) of the entries in dir, sorted.
    virtual Result<QStringList> listDir(const QString &dir) = 0;
    // Creates dir and any missing parents.
    virtual Status makeDirs(const QString &dir) = 0;
    // Makes the creation, removal and renaming of entries in dir durable.
    virtual Status syncDir(const QString &dir) = 0;
    // Removes a file or an empty directory.
    virtual Status remove(const QString &path) = 0;
    virtual Status rename(const QString &from, const QString &to) = 0;
    // Takes an advisory lock on an existing file without waiting. When another
    // holder has it, fails with Busy and a message naming the holder.
    virtual Result<std::unique_ptr<FileLock>> lock(const QString &path, LockMode mode) = 0;
    // Whether someone (this process included) holds an exclusive lock on an
    // existing file, without taking one: a look that never gets in a holder's
    // way. The default tries a shared lock and lets it go at once.
    virtual Result<bool> isLockedExclusively(const QString &path);
    // Bytes the file system holding path can still allocate (statvfs's
    // f_bavail blocks): what a change may write before it gets NoSpace.
    virtual Result<uint64_t> availableBytes(const QString &path) = 0;

    // The process-wide real file system.
    static Env *posix();
};

// Reads a whole (small) file: at most maxBytes, else Corruption.
Result<QByteArray> readWholeFile(Env &env, const QString &path, uint64_t maxBytes);

} // namespace vd::io
