// Helpers shared by the unit tests.
#pragma once

#include "core/status.h"

#include <QByteArray>
#include <QRandomGenerator>
#include <QString>
#include <QTest>

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

// Deterministic pseudo-random bytes (compressible when `compressible`).
QByteArray randomBytes(qsizetype n, quint32 seed, bool compressible = false);

} // namespace vd::test
