#include "testsupport.h"

#include <QDateTime>
#include <QHash>

#include <set>

namespace vd::test {

QByteArray randomBytes(qsizetype n, quint32 seed, bool compressible)
{
    QByteArray out(n, Qt::Uninitialized);
    QRandomGenerator rng(seed);
    if (!compressible) {
        const qsizetype words = n / 4;
        rng.fillRange(reinterpret_cast<quint32 *>(out.data()), words);
        for (qsizetype i = words * 4; i < n; ++i)
            out[i] = char(rng.generate());
        return out;
    }
    static const char text[] = "the quick brown fox jumps over the lazy dog; ";
    for (qsizetype i = 0; i < n; ++i)
        out[i] = (rng.bounded(8) == 0) ? char('a' + rng.bounded(26)) : text[i % (sizeof(text) - 1)];
    return out;
}

const SweepPlan &SweepPlan::fromEnvironment()
{
    static const SweepPlan plan = [] {
        SweepPlan p;
        const QByteArray mode = qgetenv("VD_SWEEP");
        if (mode == "sample") {
            p.m_full = false;
            bool ok = false;
            const quint64 seed = qEnvironmentVariable("VD_SWEEP_SEED").toULongLong(&ok);
            p.m_seed = ok ? seed : quint64(QDateTime::currentMSecsSinceEpoch()) % 1000000;
            if (qEnvironmentVariableIsSet("VD_SWEEP_STEPS")) {
                const int steps = qEnvironmentVariableIntValue("VD_SWEEP_STEPS", &ok);
                if (!ok || steps < 2)
                    qFatal("VD_SWEEP_STEPS must be 2 or more (the first and the last step are always taken)");
                p.m_perChange = uint64_t(steps);
            }
        } else if (!mode.isEmpty() && mode != "full") {
            qFatal("VD_SWEEP is '%s'; it must be 'full' or 'sample'", mode.constData());
        }
        qInfo("%s", qPrintable(p.describe()));
        return p;
    }();
    return plan;
}

std::vector<uint64_t> SweepPlan::pick(uint64_t steps, const char *change) const
{
    std::vector<uint64_t> out;
    if (m_full || steps <= m_perChange) {
        for (uint64_t s = 1; s <= steps; ++s)
            out.push_back(s);
        return out;
    }
    // The first step and the last (a change ends with its commit) always,
    // the others at random: the same ones for the same seed and change.
    std::set<uint64_t> chosen{1, steps};
    QRandomGenerator64 rng(m_seed ^ qHash(QByteArray(change), 0));
    while (chosen.size() < m_perChange)
        chosen.insert(2 + uint64_t(rng.bounded(quint64(steps - 2))));
    out.assign(chosen.begin(), chosen.end());
    return out;
}

bool SweepPlan::runsRow(const char *tag, unsigned oneIn) const
{
    if (m_full || oneIn <= 1)
        return true;
    return qHash(QByteArray(tag), size_t(m_seed)) % oneIn == 0;
}

QString SweepPlan::summary(const std::vector<uint64_t> &picked, uint64_t steps)
{
    if (picked.size() == steps)
        return QStringLiteral("%1 steps").arg(steps);
    QStringList list;
    for (const uint64_t s : picked)
        list << QString::number(s);
    return QStringLiteral("steps %1 of %2").arg(list.join(QStringLiteral(", "))).arg(steps);
}

QString SweepPlan::describe() const
{
    if (m_full)
        return QStringLiteral("crash sweeps: every step of every change (VD_SWEEP=full)");
    return QStringLiteral("crash sweeps: a sample of %1 steps per change, and of the rows of long tables; "
                          "to rerun it: VD_SWEEP=sample VD_SWEEP_SEED=%2 VD_SWEEP_STEPS=%1; "
                          "every step: VD_SWEEP=full")
        .arg(m_perChange)
        .arg(m_seed);
}

} // namespace vd::test
