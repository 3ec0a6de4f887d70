// Ticker: the progress and the cancel of one long walk — the tree's (copy,
// rm -r, restore, trash empty, JSON import, diff, du) and the collection's
// (fsck, the bytes each snapshot alone keeps). The walk counts a step per
// item it handles (a VNode, a catalog page, a stored piece, a record);
// every kEvery steps (and at the end) the caller's ProgressFn hears the
// count and may answer false, which the walk returns as Cancelled. A writing operation that is cancelled
// fails like any other: its transaction is rolled back (what a batched
// `rm -r` already committed on a full disk stays, in the trash).
//
// Not thread-safe: one Ticker belongs to one call on one thread.
#pragma once

#include "core/status.h"
#include "collection.h"

#include <cstdint>

namespace vd::storage {

class Ticker
{
public:
    static constexpr uint64_t kEvery = 64;

    explicit Ticker(const ProgressFn &progress, QString what = {}) : m_progress(progress), m_what(std::move(what)) {}
    Ticker(const Ticker &) = delete;
    Ticker &operator=(const Ticker &) = delete;

    // One more step done (n more); Cancelled once the caller asked to stop.
    Status step(uint64_t n = 1)
    {
        m_done += n;
        if (!m_progress || m_done - m_told < kEvery)
            return {};
        return tell();
    }
    // Tells the caller the final count (an operation that finished).
    Status finish() { return m_progress && m_done != m_told ? tell() : Status(); }
    // r, after telling the final count if r succeeded (a caller who says
    // stop then still gets Cancelled: its transaction is rolled back).
    template<typename R>
    R finished(R r)
    {
        if (r.isOk())
            if (Status st = finish(); !st)
                return R(std::move(st));
        return r;
    }
    uint64_t done() const { return m_done; }

private:
    Status tell()
    {
        m_told = m_done;
        if (m_progress(m_done))
            return {};
        return Status::cancelled(m_what.isEmpty() ? QStringLiteral("cancelled") : QStringLiteral("%1: cancelled").arg(m_what));
    }

    const ProgressFn &m_progress;
    QString m_what;
    uint64_t m_done = 0;
    uint64_t m_told = 0;
};

// A step of an optional Ticker (null: nobody asked).
inline Status tick(Ticker *ticker, uint64_t n = 1)
{
    return ticker ? ticker->step(n) : Status();
}

} // namespace vd::storage
