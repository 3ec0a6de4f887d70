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

    mutable QMutex m_mutex;
    std::map<QString, std::shared_ptr<Node>> m_files;
    std::map<QString, bool> m_dirs;
    std::map<QString, LockState> m_locks;
    uint64_t m_epoch = 1;
};

} // namespace vd::io
