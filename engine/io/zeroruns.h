// ZeroRuns: where an input is known to hold only zeros, so a writer need
// not read it — the holes of a sparse file.
//
// FileHoles finds them in a local file with lseek(SEEK_HOLE / SEEK_DATA),
// as `cp --sparse` does, on a descriptor of its own (so the reader's file
// position is left alone). A run it reports reads as zeros at the time it
// is asked; a file changed while it is read can race, as it can with cp.
//
// Thread safety: one thread at a time.
#pragma once

#include "core/status.h"

#include <QString>

#include <cstdint>
#include <memory>

namespace vd::io {

struct ZeroRun
{
    uint64_t offset = 0;
    uint64_t length = 0; // 0: no run
};

class ZeroRuns
{
public:
    virtual ~ZeroRuns() = default;
    // The first run of zeros that ends after pos (it may start before
    // pos, at pos or later); length 0 when none is known.
    virtual ZeroRun nextZeroRun(uint64_t pos) = 0;
};

class FileHoles final : public ZeroRuns
{
public:
    // Opens path for reading; the file's holes are then looked up on demand.
    static Result<std::unique_ptr<FileHoles>> open(const QString &path);
    ~FileHoles() override;
    FileHoles(const FileHoles &) = delete;
    FileHoles &operator=(const FileHoles &) = delete;

    ZeroRun nextZeroRun(uint64_t pos) override;

private:
    explicit FileHoles(int fd) : m_fd(fd) {}
    int m_fd;
};

} // namespace vd::io
