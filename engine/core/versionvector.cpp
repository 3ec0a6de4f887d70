#include "versionvector.h"

#include <algorithm>

namespace vd {

namespace {

// A varint in its shortest form: the canonical encoding has one per value.
uint64_t minimalVarint(ByteReader &r, const char *what)
{
    const qsizetype start = r.position();
    const uint64_t v = r.varint();
    if (r.ok() && size_t(r.position() - start) != varintSize(v))
        r.fail(QStringLiteral("%1 is not in its shortest form").arg(QLatin1String(what)));
    return v;
}

} // namespace

uint64_t VersionVector::counter(uint64_t node) const
{
    const auto it = std::lower_bound(m_entries.begin(), m_entries.end(), node, [](const Entry &e, uint64_t n) { return e.node < n; });
    return it != m_entries.end() && it->node == node ? it->counter : 0;
}

Status VersionVector::increment(uint64_t node, uint64_t atLeast)
{
    const auto it = std::lower_bound(m_entries.begin(), m_entries.end(), node, [](const Entry &e, uint64_t n) { return e.node < n; });
    const bool present = it != m_entries.end() && it->node == node;
    const uint64_t current = present ? it->counter : 0;
    if (current >= kMaxCounter || atLeast > kMaxCounter)
        return Status::invalidArgument(QStringLiteral("the version counter of node %1 cannot pass %2").arg(node, 16, 16, QLatin1Char('0')).arg(kMaxCounter));
    const uint64_t next = std::max(current + 1, atLeast);
    if (present) {
        it->counter = next;
        return {};
    }
    if (size() >= kMaxEntries)
        return Status::invalidArgument(QStringLiteral("a version vector holds at most %1 nodes").arg(kMaxEntries));
    m_entries.insert(it, Entry{node, next});
    return {};
}

VersionVector::Ordering VersionVector::compare(const VersionVector &other) const
{
    bool less = false;    // some counter of this is below other's
    bool greater = false; // some counter of this is above other's
    auto a = m_entries.begin();
    auto b = other.m_entries.begin();
    while (a != m_entries.end() || b != other.m_entries.end()) {
        if (b == other.m_entries.end() || (a != m_entries.end() && a->node < b->node)) {
            greater = true; // other has 0 there
            ++a;
        } else if (a == m_entries.end() || b->node < a->node) {
            less = true;
            ++b;
        } else {
            less |= a->counter < b->counter;
            greater |= a->counter > b->counter;
            ++a;
            ++b;
        }
        if (less && greater)
            return Ordering::Concurrent;
    }
    if (less)
        return Ordering::Before;
    return greater ? Ordering::After : Ordering::Equal;
}

Result<VersionVector> VersionVector::merge(const VersionVector &x, const VersionVector &y)
{
    VersionVector out;
    out.m_entries.reserve(x.m_entries.size() + y.m_entries.size());
    auto a = x.m_entries.begin();
    auto b = y.m_entries.begin();
    while (a != x.m_entries.end() || b != y.m_entries.end()) {
        if (b == y.m_entries.end() || (a != x.m_entries.end() && a->node < b->node)) {
            out.m_entries.push_back(*a++);
        } else if (a == x.m_entries.end() || b->node < a->node) {
            out.m_entries.push_back(*b++);
        } else {
            out.m_entries.push_back(Entry{a->node, std::max(a->counter, b->counter)});
            ++a;
            ++b;
        }
    }
    if (out.size() > kMaxEntries)
        return Status::invalidArgument(QStringLiteral("the merged version vector would hold %1 nodes, more than %2").arg(out.size()).arg(kMaxEntries));
    return out;
}

void VersionVector::encodeTo(ByteWriter &w) const
{
    w.varint(uint64_t(m_entries.size()));
    for (const Entry &e : m_entries) {
        w.u64(e.node);
        w.varint(e.counter);
    }
}

QByteArray VersionVector::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    encodeTo(w);
    return out;
}

VersionVector VersionVector::decodeFrom(ByteReader &r)
{
    VersionVector v;
    const uint64_t count = minimalVarint(r, "the entry count");
    if (!r.ok())
        return {};
    if (count > uint64_t(kMaxEntries)) {
        r.fail(QStringLiteral("%1 entries, more than the %2 a version vector may hold").arg(count).arg(kMaxEntries));
        return {};
    }
    // Each entry takes at least 9 bytes: a count the bytes cannot hold is refused before anything is allocated.
    if (count * 9 > uint64_t(r.remaining())) {
        r.fail(QStringLiteral("%1 entries cannot fit in the %2 bytes left").arg(count).arg(r.remaining()));
        return {};
    }
    v.m_entries.reserve(size_t(count));
    for (uint64_t i = 0; i < count && r.ok(); ++i) {
        Entry e;
        e.node = r.u64();
        e.counter = minimalVarint(r, "a counter");
        if (!r.ok())
            break;
        if (e.counter == 0 || e.counter > kMaxCounter)
            r.fail(QStringLiteral("node %1 has the counter %2, outside 1..2^63-1").arg(e.node, 16, 16, QLatin1Char('0')).arg(e.counter));
        else if (!v.m_entries.empty() && e.node <= v.m_entries.back().node)
            r.fail(QStringLiteral("node %1 follows node %2: entries must be in ascending order, each node once")
                       .arg(e.node, 16, 16, QLatin1Char('0'))
                       .arg(v.m_entries.back().node, 16, 16, QLatin1Char('0')));
        else
            v.m_entries.push_back(e);
    }
    return r.ok() ? v : VersionVector();
}

Result<VersionVector> VersionVector::decode(QByteArrayView raw)
{
    ByteReader r(raw, QStringLiteral("version vector"));
    VersionVector v = decodeFrom(r);
    VD_TRY(r.finish());
    return v;
}

QString VersionVector::toString() const
{
    QString s = QStringLiteral("{");
    for (const Entry &e : m_entries) {
        if (s.size() > 1)
            s += QStringLiteral(", ");
        s += QStringLiteral("%1:%2").arg(e.node, 16, 16, QLatin1Char('0')).arg(e.counter);
    }
    return s + QLatin1Char('}');
}

QString VersionVector::orderingName(Ordering o)
{
    switch (o) {
    case Ordering::Equal: return QStringLiteral("equal");
    case Ordering::Before: return QStringLiteral("before");
    case Ordering::After: return QStringLiteral("after");
    case Ordering::Concurrent: return QStringLiteral("concurrent");
    }
    return QStringLiteral("unknown");
}

} // namespace vd
