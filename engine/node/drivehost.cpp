#include "drivehost.h"

#include <QThread>

namespace vd::node {

namespace {

// Read from the feed after a commit, at most this many records at a time.
constexpr size_t kFeedBatch = 4096;

} // namespace

DriveHost::DriveHost(std::unique_ptr<tree::Drive> drive, QObject *parent)
    : QObject(parent)
    , m_drive(std::move(drive))
    , m_readers(m_drive->collection().readers())
    , m_ruid(m_drive->collection().ruid())
    , m_name(m_drive->collection().name())
{
    // Reads mostly wait on the disk: a few more threads than cores.
    m_readPool.setMaxThreadCount(std::max(4, QThread::idealThreadCount() * 2));
    qRegisterMetaType<std::vector<vd::tree::ChangeRecord>>();
    // Report only what commits after the host starts.
    m_feedNext = m_drive->nextChangeSequence();
    m_writer = std::thread([this] { writerLoop(); });
}

DriveHost::~DriveHost()
{
    close();
    // Readers read the writer's collection files: they end first.
    m_readPool.waitForDone();
    if (m_writer.joinable())
        m_writer.join();
}

void DriveHost::close()
{
    std::lock_guard lock(m_mutex);
    m_closing = true;
    m_wake.notify_all();
}

void DriveHost::waitIdle()
{
    std::unique_lock lock(m_mutex);
    m_idle.wait(lock, [this] { return m_queue.empty() && !m_busy && m_readsRunning == 0; });
}

std::optional<storage::FsckReport> DriveHost::lastCheck() const
{
    std::lock_guard lock(m_mutex);
    return m_lastCheck;
}

void DriveHost::recordCheck(const storage::FsckReport &report)
{
    if (!report.status)
        return; // a check that did not finish says nothing about the blocks it missed
    std::lock_guard lock(m_mutex);
    m_lastCheck = report;
}

HostCounters DriveHost::counters() const
{
    std::lock_guard lock(m_mutex);
    HostCounters c = m_counters;
    c.queued = m_queue.size();
    c.readsRunning = m_readsRunning;
    return c;
}

storage::PinStats DriveHost::pins() const
{
    return m_readers->stats();
}

void DriveHost::startRead(Request r)
{
    {
        std::unique_lock lock(m_mutex);
        if (m_closing) {
            const Status why = m_closedWhy;
            lock.unlock();
            r.publish(why);
            return;
        }
        ++m_readsRunning;
    }
    m_readPool.start([this, r = std::move(r)]() mutable { runRead(r); });
}

QFuture<Result<tree::ApplyResult>> DriveHost::applyRemote(tree::RemoteNode remote)
{
    return write<tree::ApplyResult>([remote = std::move(remote)](tree::Drive &d, OpContext &) { return d.applyRemote(remote); }, Grouping::Replayable);
}

QFuture<Result<tree::ApplyResult>> DriveHost::applyRemoteRemoval(Ruid id, tree::Tombstone tombstone)
{
    return write<tree::ApplyResult>([id, tombstone = std::move(tombstone)](tree::Drive &d, OpContext &) { return d.applyRemoteRemoval(id, tombstone); },
                                    Grouping::Replayable);
}

void DriveHost::runRead(Request &r)
{
    Status outcome;
    if (r.cancelled()) {
        outcome = Status::cancelled(QStringLiteral("cancelled before it started"));
    } else if (auto pinned = m_readers->pin(QStringLiteral("a read request of '%1'").arg(name())); !pinned) {
        outcome = pinned.status();
    } else {
        tree::DriveOptions options;
        options.entryCacheBytes = 1 << 20; // one request's look-ups
        std::unique_ptr<tree::Drive> reader = tree::Drive::reader(std::move(pinned).value(), options);
        (void)r.run(*reader); // its result waits in the request
        reader.reset();       // the pin goes before the future is fulfilled
    }
    {
        std::lock_guard lock(m_mutex);
        ++m_counters.reads; // counted by the time its future reports
    }
    r.publish(outcome);
    std::lock_guard lock(m_mutex);
    if (m_counters.limboBytes > 0 && !m_limboCheck) {
        m_limboCheck = true;
        m_wake.notify_one();
    }
    --m_readsRunning;
    if (m_readsRunning == 0)
        m_idle.notify_all();
}

void DriveHost::setMaxGroup(size_t n)
{
    std::lock_guard lock(m_mutex);
    m_maxGroup = std::max<size_t>(n, 1);
}

void DriveHost::enqueue(Request r)
{
    Status why;
    {
        std::lock_guard lock(m_mutex);
        if (!m_closing) {
            m_queue.push_back(std::move(r));
            m_wake.notify_one();
            return;
        }
        why = m_closedWhy;
    }
    r.publish(why);
}

Status DriveHost::retire(const Status &why)
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_closing) {
            if (!m_queue.empty() || m_inGroup || m_readsRunning > 0)
                return Status::busy(QStringLiteral("collection '%1' is in use (%2 requests waiting or running, %3 reads running): try again when it is idle")
                                        .arg(m_name)
                                        .arg(m_queue.size() + (m_inGroup ? 1 : 0))
                                        .arg(m_readsRunning));
            m_closing = true;
            m_closedWhy = why;
            m_wake.notify_all();
        }
    }
    m_readPool.waitForDone();
    if (m_writer.joinable())
        m_writer.join();
    m_drive.reset(); // the writer is gone: its files and lock close here
    return {};
}

void DriveHost::writerLoop()
{
    for (;;) {
        std::vector<Request> group;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [this] { return m_closing || m_limboCheck || !m_queue.empty(); });
            if (m_queue.empty() && m_limboCheck && !m_closing) {
                // No write waits: give back the blocks in limbo no reader
                // needs now (a write group would do it at its start).
                m_limboCheck = false;
                m_busy = true;
                lock.unlock();
                (void)m_drive->collection().releaseLimbo();
                const uint64_t held = m_drive->collection().limboBytes();
                lock.lock();
                m_counters.limboBytes = held;
                m_busy = false;
                if (m_queue.empty())
                    m_idle.notify_all();
                continue;
            }
            if (m_queue.empty()) {
                m_idle.notify_all();
                break; // closing, and nothing left to run
            }
            m_busy = true;
            m_inGroup = true;
            // Lone writes run by themselves; replayable writes
            // as a group of what waits, up to the limit.
            if (m_queue.front().kind == Kind::Write)
                while (!m_queue.empty() && group.size() < m_maxGroup && m_queue.front().kind == Kind::Write) {
                    group.push_back(std::move(m_queue.front()));
                    m_queue.pop_front();
                }
            if (group.empty()) {
                group.push_back(std::move(m_queue.front()));
                m_queue.pop_front();
            }
        }
        runGroup(group);
        std::lock_guard lock(m_mutex);
        m_busy = false;
        m_inGroup = false;
        if (m_queue.empty())
            m_idle.notify_all();
    }
    // Nothing is left uncommitted: every request was committed or rolled back.
}

void DriveHost::runGroup(std::vector<Request> &group)
{
    tree::Drive &d = *m_drive;
    // A transaction starts: blocks no reader needs any more come back.
    (void)d.collection().releaseLimbo();
    {
        std::lock_guard lock(m_mutex);
        m_limboCheck = false; // done here
    }
    std::vector<Status> outcome(group.size());
    std::vector<bool> skipped(group.size(), false);
    uint64_t replays = 0;
    size_t ran = 0;
    for (size_t i = 0; i < group.size(); ++i) {
        Request &r = group[i];
        if (r.cancelled()) {
            r.publish(Status::cancelled(QStringLiteral("cancelled before it started")));
            skipped[i] = true;
            continue;
        }
        outcome[i] = r.run(d);
        ++ran;
        if (outcome[i])
            continue;
        // A failed change takes the transaction back with it (the drive
        // rolls back; this makes sure). The members before it in the
        // group run again, so only the failed one's changes are gone.
        if (d.hasUncommittedChanges())
            (void)d.rollback();
        for (size_t j = 0; j < i; ++j) {
            if (skipped[j] || !outcome[j])
                continue;
            outcome[j] = group[j].run(d);
            ++replays;
            if (!outcome[j] && d.hasUncommittedChanges())
                (void)d.rollback(); // (cannot happen for a replayable request; then it fails too)
        }
    }
    Status committed;
    if (d.hasUncommittedChanges())
        committed = d.commit();
    bool wrote = false;
    {
        std::lock_guard lock(m_mutex);
        m_counters.replayed += replays;
        m_counters.limboBytes = d.collection().limboBytes();
        for (size_t i = 0; i < group.size(); ++i) {
            if (group[i].kind == Kind::Read || skipped[i])
                continue;
            wrote = true;
            ++m_counters.requests;
            if (!outcome[i] && outcome[i].code() != ErrorCode::Cancelled)
                ++m_counters.rolledBack;
        }
        if (wrote) {
            ++m_counters.commits;
            if (!committed)
                ++m_counters.failedCommits;
            m_counters.largestGroup = std::max<uint64_t>(m_counters.largestGroup, ran);
        }
    }
    for (size_t i = 0; i < group.size(); ++i) {
        if (skipped[i])
            continue;
        if (!outcome[i])
            group[i].publish({}); // its own error (or Cancelled) stands
        else
            group[i].publish(committed.isOk() ? Status{} : committed.withContext(QStringLiteral("committing the change")));
    }
    if (wrote && committed)
        emitChanges();
}

void DriveHost::emitChanges()
{
    std::vector<tree::ChangeRecord> all;
    for (;;) {
        auto batch = m_drive->changesSince(m_feedNext, kFeedBatch);
        if (!batch) {
            Q_EMIT resyncNeeded(batch.status().toString());
            m_feedNext = m_drive->nextChangeSequence();
            return;
        }
        if (!batch->empty() && batch->front().sequence != m_feedNext) {
            // Records were trimmed before this host read them.
            Q_EMIT resyncNeeded(QStringLiteral("the change feed no longer holds sequence %1").arg(m_feedNext));
            m_feedNext = batch->back().sequence + 1;
            return;
        }
        for (auto &rec : *batch)
            all.push_back(std::move(rec));
        if (batch->size() < kFeedBatch)
            break;
        m_feedNext = all.back().sequence + 1;
    }
    if (!all.empty()) {
        m_feedNext = all.back().sequence + 1;
        Q_EMIT changed(all);
    }
}

} // namespace vd::node
