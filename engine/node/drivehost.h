// DriveHost: one collection served to many clients at once — its Drive
// lives on a writer thread of its own, and every operation is a request
// answered through a QFuture.
//
// A request is a function of the Drive. Writes run one after another on
// the writer thread in the order they were submitted; the host commits
// after them, and a request's future is fulfilled only once its changes
// are durable (or with the error that stopped them). Short requests that
// may run twice (Grouping::Replayable: they read nothing but their own
// arguments) and wait in the queue when the writer comes round are
// committed as a group: one commit, one set of syncs, for all of them. A
// request refused for its own reasons (a bad name, not found, already
// exists, no space for its bytes) takes back only its own changes: a
// failure rolls the transaction back, and the requests of the group that
// ran before it run again (they are replayable), so a neighbour never
// loses its work. A commit that fails fails every request of its group,
// each told why. Requests that read a stream or run long (put from a
// device, rm -r, copy, import, gc) run alone: their own group.
//
// Long requests report progress and stop when cancelled: the OpContext a
// request gets turns QFuture::cancel() into the `false` a ProgressFn
// returns, and its progress into the future's progress value (watch it
// with a QFutureWatcher). A request cancelled before it starts never runs.
//
// After every commit the host reads the change feed from where it last
// stopped and emits changed() once with everything the commit added: a
// model applies the records (see ChangeRecord) instead of listing a folder
// again. The signal comes from the writer thread; connect with a queued
// connection (the default across threads).
//
// Reads never wait for the writer (MVCC): a read runs on the host's reader
// pool, on a read-only Drive over the generation committed last when it
// starts (pinned for as long as it runs; see storage/readertable.h), so a
// commit, a gc or an import in progress never delays it, and it never sees
// another request's uncommitted work. Blocks the writer frees while a read
// holds an older generation wait in limbo until it ends.
//
// Thread safety: every public method may be called from any thread. The
// writer's Drive is touched only by the writer thread; each read has a
// Drive of its own.
#pragma once

#include "core/status.h"
#include "storage/collection.h"
#include "storage/readertable.h"
#include "tree/drive.h"

#include <QFuture>
#include <QObject>
#include <QPromise>
#include <QThreadPool>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace vd::node {

// What a running request may ask of its host: whether it was cancelled,
// and how far it got.
class OpContext
{
public:
    virtual ~OpContext() = default;
    virtual bool isCancelled() const = 0;
    // Progress in the request's own unit (bytes, files, entries), out of
    // total when known (0: unknown).
    virtual void setProgress(uint64_t done, uint64_t total = 0) = 0;
    // A ProgressFn for the engine's long operations: reports done and
    // returns false once the request is cancelled.
    storage::ProgressFn progressFn(uint64_t total = 0)
    {
        return [this, total](uint64_t done) {
            setProgress(done, total);
            return !isCancelled();
        };
    }
};

struct HostCounters
{
    uint64_t requests = 0;      // write requests run
    uint64_t commits = 0;       // commits made (a group is one)
    uint64_t rolledBack = 0;    // requests whose changes were taken back alone
    uint64_t replayed = 0;      // runs of group members again after a neighbour failed
    uint64_t failedCommits = 0; // commits that failed (every request of the group told)
    uint64_t largestGroup = 0;
    uint64_t queued = 0;        // requests waiting now
    uint64_t reads = 0;         // read requests run
    uint64_t readsRunning = 0;  // reads in flight now
    uint64_t limboBytes = 0;    // freed blocks held for readers of older generations (as of the last group)
};

class DriveHost : public QObject
{
    Q_OBJECT
public:
    // Takes the drive (open for writing) and starts its writer thread.
    explicit DriveHost(std::unique_ptr<tree::Drive> drive, QObject *parent = nullptr);
    // Runs what is queued, commits, and stops the writer thread.
    ~DriveHost() override;
    DriveHost(const DriveHost &) = delete;
    DriveHost &operator=(const DriveHost &) = delete;

    // The collection's identity: the RUID fixed for the host's lifetime,
    // the name as of the last rename (setName(), once it committed).
    Ruid ruid() const { return m_ruid; }
    QString name() const
    {
        std::lock_guard lock(m_mutex);
        return m_name;
    }
    void setName(const QString &name)
    {
        std::lock_guard lock(m_mutex);
        m_name = name;
    }

    enum class Grouping {
        Alone,      // its own group (reads a stream, runs long, or must not run twice)
        Replayable, // may share a group: running it again gives the same change
    };
    // A change on the writer thread. fn's changes are committed before the
    // future reports its result; a failed fn leaves nothing behind.
    template<typename T>
    QFuture<Result<T>> write(std::function<Result<T>(tree::Drive &, OpContext &)> fn, Grouping grouping = Grouping::Alone)
    {
        return submit<T>(std::move(fn), grouping == Grouping::Alone ? Kind::WriteAlone : Kind::Write);
    }
    // A read of the last committed generation, on the reader pool, with a
    // read-only Drive of its own (its changes fail with PermissionDenied).
    // Never waits for the writer.
    template<typename T>
    QFuture<Result<T>> read(std::function<Result<T>(tree::Drive &, OpContext &)> fn)
    {
        return submit<T>(std::move(fn), Kind::Read);
    }

    // Replication (tree/remotechanges.h): another node's record of a VNode,
    // or its removal (the remover's tombstone), applied as a write request —
    // the one API a peer, the explorer and the CLI share. Applying twice
    // changes nothing, so these may share a group.
    QFuture<Result<tree::ApplyResult>> applyRemote(tree::RemoteNode remote);
    QFuture<Result<tree::ApplyResult>> applyRemoteRemoval(Ruid id, tree::Tombstone tombstone);

    // Stops taking requests: later ones fail with Cancelled ("the node is
    // shutting down"); those already queued still run. Returns at once.
    void close();
    // Waits until nothing is queued or running, reads included (tests, shutdown).
    void waitIdle();
    // Closes the host for good, at once, if nothing is queued, running or
    // reading (what deleting a collection needs): later requests fail with
    // `why`, the writer thread ends and the Drive is closed, so its files
    // and lock are let go; the host object stays valid (pointers to it
    // held elsewhere never dangle). Busy, saying what runs, when the
    // collection is in use: then nothing changes. Not from the writer thread.
    Status retire(const Status &why);

    // The last check (fsck) of the collection that ran to its end here,
    // kept in memory while the node runs (the block map paints its corrupt
    // blocks; DriveApi::fsck records it). A check that did not finish —
    // cancelled, stopped — is not kept: the previous one stays. nullopt
    // until a check finished.
    std::optional<storage::FsckReport> lastCheck() const;
    void recordCheck(const storage::FsckReport &report);

    HostCounters counters() const;
    // Readers' pins: how many, the oldest one's age and label (`status`).
    storage::PinStats pins() const;
    // Requests in a group at most (≥ 1); tests set 1 to see requests alone.
    void setMaxGroup(size_t n);

Q_SIGNALS:
    // Every change a commit made, in feed order (one emission per commit).
    void changed(const std::vector<vd::tree::ChangeRecord> &records);
    // The change feed could not be read after a commit: a model must list
    // again (the feed said so, or it is unreadable).
    void resyncNeeded(const QString &why);

private:
    enum class Kind { Read, Write, WriteAlone };
    struct Request
    {
        Kind kind = Kind::Write;
        // Runs the request; its result waits in the request until publish.
        std::function<Status(tree::Drive &)> run;
        // Fulfils the future: with the result, or with `override` if set.
        std::function<void(const Status &override)> publish;
        std::function<bool()> cancelled;
    };

    template<typename T>
    QFuture<Result<T>> submit(std::function<Result<T>(tree::Drive &, OpContext &)> fn, Kind kind);
    void enqueue(Request r);
    void startRead(Request r);
    void runRead(Request &r);
    void writerLoop();
    void runGroup(std::vector<Request> &group);
    void emitChanges();

    std::unique_ptr<tree::Drive> m_drive;
    std::shared_ptr<storage::ReaderTable> m_readers;
    Ruid m_ruid;
    QString m_name;
    uint64_t m_feedNext = 0; // the next change sequence to report

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_idle;
    std::deque<Request> m_queue;
    bool m_closing = false;
    Status m_closedWhy = Status::cancelled(QStringLiteral("the node is shutting down"));
    bool m_busy = false;
    bool m_inGroup = false; // a group of requests runs (m_busy also covers giving back limbo)
    uint64_t m_readsRunning = 0;
    // A read let go of its pin while blocks waited in limbo: the writer gives
    // back what no reader needs any more, also when no write comes.
    bool m_limboCheck = false;
    size_t m_maxGroup = 64;
    HostCounters m_counters;
    std::optional<storage::FsckReport> m_lastCheck; // GUARDED_BY(m_mutex)
    std::thread m_writer;
    QThreadPool m_readPool;
};

namespace detail {

template<typename T>
class PromiseContext final : public OpContext
{
public:
    explicit PromiseContext(QPromise<Result<T>> *p) : m_promise(p) {}
    bool isCancelled() const override { return m_promise->isCanceled(); }
    void setProgress(uint64_t done, uint64_t total) override
    {
        // QFuture's progress is an int: scale large totals down.
        const uint64_t scale = total > uint64_t(INT32_MAX) ? total / uint64_t(INT32_MAX) + 1 : 1;
        if (total > 0 && total / scale != m_range) {
            m_range = total / scale;
            m_promise->setProgressRange(0, int(m_range));
        }
        m_promise->setProgressValue(int(std::min<uint64_t>(done / scale, uint64_t(INT32_MAX))));
    }

private:
    QPromise<Result<T>> *m_promise;
    uint64_t m_range = 0;
};

} // namespace detail

template<typename T>
QFuture<Result<T>> DriveHost::submit(std::function<Result<T>(tree::Drive &, OpContext &)> fn, Kind kind)
{
    struct State
    {
        QPromise<Result<T>> promise;
        std::optional<Result<T>> result;
    };
    auto state = std::make_shared<State>();
    QFuture<Result<T>> future = state->promise.future();
    state->promise.start();
    Request r;
    r.kind = kind;
    r.run = [state, fn = std::move(fn)](tree::Drive &d) -> Status {
        detail::PromiseContext<T> ctx(&state->promise);
        state->result.emplace(fn(d, ctx));
        if (!*state->result)
            return state->result->status();
        return {};
    };
    r.publish = [state](const Status &override) {
        if (!override.isOk())
            state->promise.addResult(Result<T>(override));
        else if (state->result)
            state->promise.addResult(std::move(*state->result));
        else
            state->promise.addResult(Result<T>(Status::internal(QStringLiteral("a request finished without a result"))));
        state->promise.finish();
    };
    r.cancelled = [state] { return state->promise.isCanceled(); };
    if (kind == Kind::Read)
        startRead(std::move(r));
    else
        enqueue(std::move(r));
    return future;
}

} // namespace vd::node
