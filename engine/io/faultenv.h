// FaultEnv: wraps another Env and injects a fault at the k-th mutating step.
//
// The mutating steps are file writes, syncs, truncates, hole punches,
// allocations, file creation, directory syncs, removes and renames, counted
// from 1 across all files. At the chosen step FaultEnv can
//   - cut the power: the step does not happen (a write may be torn: only a
//     prefix of it lands) and every later mutating step fails with IoError,
//     as if the machine had stopped; reads still work. The test then calls
//     MemEnv::simulateCrash() on the wrapped MemEnv and reopens;
//   - report ENOSPC or EIO for that one step, and carry on normally after.
//
// Thread safety: as Env.
#pragma once

#include "env.h"

#include <atomic>

namespace vd::io {

class FaultEnv final : public Env
{
public:
    enum class Fault {
        None,
        PowerCut,  // the step is lost and so is everything after it
        TornWrite, // a write lands half way, then the power is cut
        NoSpace,   // the step fails with NoSpace, later steps work
        IoError,   // the step fails with IoError, later steps work
    };

    explicit FaultEnv(Env *base) : m_base(base) {}

    // Arms a fault at mutating step `step` (1-based), counted from now.
    void arm(uint64_t step, Fault fault);
    void disarm();
    // Steps taken since the last arm() (or construction).
    uint64_t steps() const { return m_steps.load(); }
    // True once an armed fault has fired.
    bool fired() const { return m_fired.load(); }
    bool powerIsOff() const { return m_dead.load(); }

    Result<std::unique_ptr<File>> open(const QString &path, OpenMode mode) override;
    Result<bool> exists(const QString &path) override { return m_base->exists(path); }
    Result<bool> isDirectory(const QString &path) override { return m_base->isDirectory(path); }
    Result<QStringList> listDir(const QString &dir) override { return m_base->listDir(dir); }
    Status makeDirs(const QString &dir) override;
    Status syncDir(const QString &dir) override;
    Status remove(const QString &path) override;
    Status rename(const QString &from, const QString &to) override;
    Result<std::unique_ptr<FileLock>> lock(const QString &path, LockMode mode) override { return m_base->lock(path, mode); }
    Result<uint64_t> availableBytes(const QString &path) override { return m_base->availableBytes(path); }

    // Called by FaultEnv's files before each mutating step. Returns the
    // fault to apply to this step (None to proceed normally).
    Fault step();
    Status deadStatus(const QString &what) const;
    // Takes a step and runs f unless a fault fires there; what names the
    // step in the injected error ("sync 'idvd'").
    template<typename F>
    Status guard(const QString &what, F &&f)
    {
        switch (step()) {
        case Fault::None: return f();
        case Fault::TornWrite:
        case Fault::PowerCut: return deadStatus(what);
        case Fault::NoSpace: return Status::noSpace(QStringLiteral("cannot %1: No space left on device (injected)").arg(what));
        case Fault::IoError: return Status::ioError(QStringLiteral("cannot %1: Input/output error (injected)").arg(what));
        }
        return Status::internal(QStringLiteral("unknown fault"));
    }

private:
    Env *m_base;
    std::atomic<uint64_t> m_steps{0};
    std::atomic<uint64_t> m_armedAt{0};
    std::atomic<Fault> m_fault{Fault::None};
    std::atomic<bool> m_fired{false};
    std::atomic<bool> m_dead{false};
};

} // namespace vd::io
