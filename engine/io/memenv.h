// MemEnv: an in-memory file system with a model of a power cut.
//
// Each file keeps its durable image (as of its last sync) and the writes and
// truncates made since, in order. simulateCrash() rebuilds every file from its
// durable image plus some of its unsynced operations: none, all, or a random
// choice in which each one is kept, dropped or torn at a 512-byte sector
// boundary. A file whose directory entry was never made durable by syncDir()
// disappears. Files opened before the crash fail with IoError afterwards, as
// handles do not survive a reboot.
//
// A capacity (setCapacity) makes it a small disk: space is counted in 4 KiB
// pages as a file system does. Writing to a page that has none (a hole, or
// past the end) takes one, punchHole() gives whole pages back, truncating
// frees what lies past the new end, and allocate() takes pages without
// writing. A write or allocate that needs more pages than are left fails
// with NoSpace and changes nothing.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include "env.h"

#include <QHash>
#include <QMutex>

#include <map>
#include <vector>

namespace vd::io {

class MemEnv final : public Env
{
public:
    enum class CrashMode {
        DropUnsynced, // only what was synced survives
        KeepUnsynced, // everything written survives (the kernel flushed in time)
        Random,       // each unsynced operation kept, dropped or torn (seeded)
    };

    MemEnv();
    ~MemEnv() override;

    Result<std::unique_ptr<File>> open(const QString &path, OpenMode mode) override;
    Result<bool> exists(const QString &path) override;
    Result<bool> isDirectory(const QString &path) override;
    Result<QStringList> listDir(const QString &dir) override;
    Status makeDirs(const QString &dir) override;
    Status syncDir(const QString &dir) override;
    Status remove(const QString &path) override;
    Status rename(const QString &from, const QString &to) override;
    Result<std::unique_ptr<FileLock>> lock(const QString &path, LockMode mode) override;
    // capacity minus what every file holds; kUnlimited without a capacity.
    Result<uint64_t> availableBytes(const QString &path) override;

    static constexpr uint64_t kPageSize = 4096;
    static constexpr uint64_t kUnlimited = uint64_t(1) << 50;
    // The disk's size in bytes (0, the default: unlimited). Lowering it
    // below what is used only makes later allocations fail.
    void setCapacity(uint64_t bytes);
    // Bytes of disk space all files hold (pages × 4 KiB), and one file.
    uint64_t usedBytes();
    uint64_t allocatedBytes(const QString &path);

    void simulateCrash(CrashMode mode, uint64_t seed = 0);

    // Test helpers: the current bytes of a file, and replacing them (durably).
    Result<QByteArray> contents(const QString &path);
    Status setContents(const QString &path, const QByteArray &bytes);
    // Total bytes held, for tests that check sparse growth and shrink.
    uint64_t fileSize(const QString &path);

    struct Node;
    struct LockState
    {
        int shared = 0;
        bool exclusive = false;
    };

private:
    friend class MemFile;
    friend class MemLock;

    uint64_t usedBytesLocked() const;
    // NoSpace unless `pages` more pages fit (m_mutex held).
    Status claim(uint64_t pages, const QString &what, const QString &path) const;

    mutable QMutex m_mutex;
    std::map<QString, std::shared_ptr<Node>> m_files;
    std::map<QString, bool> m_dirs;
    std::map<QString, LockState> m_locks;
    uint64_t m_epoch = 1;
    uint64_t m_capacity = 0;
};

} // namespace vd::io
