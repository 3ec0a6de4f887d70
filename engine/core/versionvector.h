// VersionVector: which changes of each node a version has seen, so that any
// two replicas can tell whether one version follows the other or they were
// made concurrently (and must become a conflict, never a silent
// last-writer-wins).
//
// A vector maps a node's 64-bit short id (node/nodeid.h: the first 8 bytes of
// its node id) to a counter: how many changes of that node (or, with
// increment()'s floor, up to which of its clock values) the version
// includes. Absent nodes count 0. After Syncthing's version vectors.
//
//   a.compare(b) == Before      every counter of a <= b's, one of them <
//                  After        the reverse
//                  Equal        the same counters
//                  Concurrent   each has a counter above the other's
//   merge(a, b)                 the counter-wise maximum: the least version
//                               that follows (or equals) both
//
// Encoding (docs/REPLICATION.md, "Version vectors"): canonical, so equal vectors have
// equal bytes; decoding is bounded and refuses anything else.
//
// Thread safety: a value type; distinct objects may be used from any thread.
#pragma once

#include "bytes.h"
#include "status.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <cstdint>
#include <vector>

namespace vd {

class VersionVector
{
public:
    enum class Ordering { Equal, Before, After, Concurrent };

    struct Entry
    {
        uint64_t node = 0;    // a node's short id
        uint64_t counter = 0; // >= 1 (a node at 0 has no entry)
        bool operator==(const Entry &) const = default;
    };

    // Bounds a decoder enforces. 1,024 nodes: far more than the machines
    // one person owns, and at most 17 KiB encoded, well inside a catalog value.
    static constexpr int kMaxEntries = 1024;
    static constexpr uint64_t kMaxCounter = (uint64_t(1) << 63) - 1;
    static constexpr int kMaxEncodedSize = 2 + kMaxEntries * (8 + 9);

    VersionVector() = default;

    bool isEmpty() const { return m_entries.empty(); }
    int size() const { return int(m_entries.size()); }
    // Sorted by node, counters >= 1.
    const std::vector<Entry> &entries() const { return m_entries; }
    uint64_t counter(uint64_t node) const; // 0 when absent

    // Records a new change by `node`: its counter becomes
    // max(counter + 1, atLeast), so a node may also use a clock of its own
    // (a Lamport counter) as long as it only grows. InvalidArgument if the
    // counter would pass kMaxCounter or the vector would pass kMaxEntries
    // (nothing changes then).
    [[nodiscard]] Status increment(uint64_t node, uint64_t atLeast = 0);

    Ordering compare(const VersionVector &other) const;
    // The counter-wise maximum. InvalidArgument when it would hold more than
    // kMaxEntries nodes (so every vector that exists can be encoded).
    static Result<VersionVector> merge(const VersionVector &a, const VersionVector &b);

    bool operator==(const VersionVector &) const = default;

    QByteArray encode() const;
    void encodeTo(ByteWriter &w) const;
    // The whole of raw must be one canonical vector; Corruption otherwise.
    static Result<VersionVector> decode(QByteArrayView raw);
    // Reads one vector from r (inside a larger record); a vector that is not
    // canonical or out of bounds marks r failed.
    static VersionVector decodeFrom(ByteReader &r);

    // "{}" or "{0001020304050607:3, a1b2c3d4e5f60718:12}": short ids in hex.
    QString toString() const;
    static QString orderingName(Ordering o); // "equal", "before", "after", "concurrent"

private:
    std::vector<Entry> m_entries;
};

} // namespace vd
