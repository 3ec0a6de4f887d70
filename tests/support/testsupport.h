// Helpers shared by the unit tests.
#pragma once

#include "core/status.h"
#include "tree/drive.h"

#include <QByteArray>
#include <QRandomGenerator>
#include <QString>
#include <QTest>

#include <vector>

// Fails the test with the Status's message when it is not OK.
#define VD_VERIFY_OK(expr)                                                                                             \
    do {                                                                                                               \
        const ::vd::Status vd_st_ = ::vd::test::statusOf(expr);                                                        \
        if (!vd_st_.isOk())                                                                                            \
            QFAIL(qPrintable(QStringLiteral("%1 -> %2").arg(QStringLiteral(#expr), vd_st_.toString())));              \
    } while (false)

// Verifies that expr (Status or Result) failed with the given code.
#define VD_VERIFY_CODE(expr, expectedCode)                                                                             \
    do {                                                                                                               \
        const ::vd::Status vd_st_ = ::vd::test::statusOf(expr);                                                        \
        if (vd_st_.code() != (expectedCode))                                                                           \
            QFAIL(qPrintable(QStringLiteral("%1 -> %2, expected %3")                                                   \
                                 .arg(QStringLiteral(#expr), vd_st_.toString(),                                        \
                                      QString::fromLatin1(::vd::errorCodeName(expectedCode)))));                       \
    } while (false)

namespace vd::test {

inline Status statusOf(const Status &s) { return s; }
template<typename T>
Status statusOf(const Result<T> &r)
{
    return r.status();
}

// The node id tests version their changes with: a Drive opened for writing
// needs one (DriveOptions::nodeShortId), and tests open Drives directly,
// without a data directory's identity.
inline constexpr uint64_t kTestNode = 0x7e57'0000'0000'0001;
inline tree::DriveOptions testDrive(tree::DriveOptions options = {}, uint64_t node = kTestNode)
{
    options.nodeShortId = node;
    return options;
}

// Deterministic pseudo-random bytes (compressible when `compressible`).
QByteArray randomBytes(qsizetype n, quint32 seed, bool compressible = false);

// Which steps of a change a crash sweep interrupts. The sweeps (tst_crash,
// tst_treecrash) cut the power, tear a write or fail at step k of a change,
// for every k. That is run in full once per CI run, in the fastest build;
// under the sanitizers it would take too long, so there a seeded sample of
// the steps is run instead:
//   VD_SWEEP=full            every step (the default)
//   VD_SWEEP=sample          VD_SWEEP_STEPS steps per change (default 4):
//                            the first, the last (around the commit point)
//                            and others picked by VD_SWEEP_SEED (from the
//                            clock when unset; printed, so a failure can be
//                            rerun).
// The ctest presets set these (CMakePresets.json).
class SweepPlan
{
public:
    // Read from the environment once; prints what it will do.
    static const SweepPlan &fromEnvironment();

    bool isFull() const { return m_full; }
    // The steps of a change that has `steps` steps to interrupt, ascending.
    // `change` (the data row) gives each change its own sample.
    std::vector<uint64_t> pick(uint64_t steps, const char *change) const;
    // Whether a row of a long table-driven test runs (VD_SAMPLED_ROW): every
    // row in a full sweep; in a sample one row in `oneIn`, picked by the seed
    // and the row's tag. The CLI suites' tables, whose every row starts
    // processes, take this under the sanitizers.
    bool runsRow(const char *tag, unsigned oneIn = 3) const;
    // "full sweep", or the sample and how to reproduce it.
    QString describe() const;
    // "9 steps", or "steps 1, 4, 7, 9 of 9".
    static QString summary(const std::vector<uint64_t> &picked, uint64_t steps);

private:
    bool m_full = true;
    quint64 m_seed = 0;
    uint64_t m_perChange = 4;
};

} // namespace vd::test

// At the top of a table-driven test function with many slow rows: skips the
// row (saying so) unless the sweep plan runs it.
#define VD_SAMPLED_ROW()                                                                              \
    do {                                                                                              \
        if (!::vd::test::SweepPlan::fromEnvironment().runsRow(QTest::currentDataTag()))              \
            QSKIP("not in this run's sample of rows (VD_SWEEP=sample; VD_SWEEP=full runs every row)"); \
    } while (false)
