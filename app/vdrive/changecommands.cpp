// The change feed: `changes [--since SEQ] [--follow]`.
#include "commands.h"

#include "cliutil.h"
#include "progress.h"
#include "session.h"
#include "terminal.h"

#include "node/drivehost.h"
#include "node/node.h"
#include "storage/collection.h"
#include "storage/datadir.h"

#include <QJsonDocument>
#include <QThread>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace vd::cli {

using storage::Access;

namespace {

// How often --follow looks at .meta's generation (every commit moves it
// on), and how long it waits at a time before it looks for Ctrl-C again.
constexpr int kPollMs = 200;
constexpr int kNapMs = 20;
constexpr size_t kBatch = 4096;

// Where a side of a change hangs, as a path when its folder is still in
// the tree, else "<folder id>/name"; the trash's entries as "trash:/<id>".
QString where(tree::Drive &d, const tree::ChangeSide &s)
{
    if (s.parent.isNull())
        return s.name.isEmpty() ? QStringLiteral("/") : QStringLiteral("trash:/");
    if (s.parent == tree::trashId())
        return QStringLiteral("trash:/") + s.name;
    if (s.parent == tree::rootId())
        return QLatin1Char('/') + s.name;
    auto dir = d.pathOf(s.parent);
    return dir ? childPath(*dir, s.name) : s.parent.toString() + QLatin1Char('/') + s.name;
}

QJsonObject sideJson(tree::Drive &d, const tree::ChangeSide &s)
{
    return QJsonObject{{QStringLiteral("parent"), s.parent.toString()},
                       {QStringLiteral("name"), s.name},
                       {QStringLiteral("path"), where(d, s)},
                       {QStringLiteral("kind"), tree::kindName(s.kind)},
                       {QStringLiteral("size"), qint64(s.size)},
                       {QStringLiteral("modified"), isoTime(s.modifiedMs)},
                       {QStringLiteral("content"), QString::fromLatin1(s.content.toHex())}};
}

void print(Context &ctx, tree::Drive &d, const tree::ChangeRecord &r)
{
    if (ctx.json) {
        QJsonObject o{{QStringLiteral("sequence"), qint64(r.sequence)},
                      {QStringLiteral("generation"), qint64(r.generation)},
                      {QStringLiteral("op"), tree::changeOpName(r.op)},
                      {QStringLiteral("time"), isoTime(r.timeMs)}};
        if (r.isSnapshot()) {
            o[QStringLiteral("snapshot")] = r.snapshot;
        } else {
            o[QStringLiteral("id")] = r.id.toString();
            o[QStringLiteral("version")] = versionJson(r.version);
            if (r.before)
                o[QStringLiteral("before")] = sideJson(d, *r.before);
            if (r.after)
                o[QStringLiteral("after")] = sideJson(d, *r.after);
        }
        ctx.out << QJsonDocument(o).toJson(QJsonDocument::Compact) << '\n';
        return;
    }
    QString line = QStringLiteral("%1 %2 ").arg(r.sequence).arg(tree::changeOpName(r.op));
    if (r.isSnapshot()) {
        line += r.snapshot;
    } else {
        line += tree::kindName(r.kind()) + QLatin1Char(' ');
        if (r.before && r.after && (r.op == tree::ChangeOp::Move))
            line += where(d, *r.before) + QStringLiteral(" -> ") + where(d, *r.after);
        else
            line += where(d, r.side());
        if (r.after && !r.after->content.isEmpty())
            line += QLatin1Char(' ') + QString::number(r.after->size);
    }
    ctx.out << safeForStdout(line) << '\n';
}

// Prints the records from *next on, and moves *next past them.
Status printFrom(Context &ctx, tree::Drive &d, uint64_t *next)
{
    for (;;) {
        VD_TRY_ASSIGN(const auto recs, d.changesSince(*next, kBatch));
        for (const auto &r : recs)
            print(ctx, d, r);
        if (!recs.empty())
            *next = recs.back().sequence + 1;
        if (recs.size() < kBatch)
            break;
    }
    ctx.out.flush();
    return {};
}

// The generation .meta names (read without a lock, as `collections` does):
// every commit moves it on. 0 when it cannot be read right now.
uint64_t committedGeneration(Context &ctx, const QString &dir)
{
    auto meta = storage::Collection::peekMeta(*ctx.env, dir);
    return meta ? meta->generation : 0;
}

// Counts the host's commits (its changed() and resyncNeeded() signals,
// emitted on its writer thread) and wakes whoever waits for the next one.
class CommitWaiter
{
public:
    explicit CommitWaiter(node::DriveHost *host)
    {
        auto bump = [this] {
            {
                std::lock_guard lock(m_mutex);
                ++m_commits;
            }
            m_wake.notify_all();
        };
        m_changed = QObject::connect(host, &node::DriveHost::changed, host, bump, Qt::DirectConnection);
        m_resync = QObject::connect(host, &node::DriveHost::resyncNeeded, host, bump, Qt::DirectConnection);
    }
    ~CommitWaiter()
    {
        QObject::disconnect(m_changed);
        QObject::disconnect(m_resync);
    }
    CommitWaiter(const CommitWaiter &) = delete;
    CommitWaiter &operator=(const CommitWaiter &) = delete;

    uint64_t commits()
    {
        std::lock_guard lock(m_mutex);
        return m_commits;
    }
    // Until a commit after `seen`, or up to `ms` (false then).
    bool waitPast(uint64_t seen, int ms)
    {
        std::unique_lock lock(m_mutex);
        return m_wake.wait_for(lock, std::chrono::milliseconds(ms), [&] { return m_commits != seen; });
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_wake;
    uint64_t m_commits = 0;
    QMetaObject::Connection m_changed;
    QMetaObject::Connection m_resync;
};

// --follow inside the node: each look is a read of the host (a reader's
// Drive over the last commit, pinned only while it prints), so the feed
// moves on with the node's commits and no generation stays pinned while
// the command waits. The next look goes as soon as the host says it
// committed (its changed() signal), not at the next poll.
int followInNode(Context &ctx, Session &session, uint64_t next)
{
    auto host = session.node().host(ctx.collection);
    if (!host)
        return ctx.fail(host.status());
    CommitWaiter commits(*host);
    uint64_t seen = commits.commits();
    for (bool first = true;; first = false) {
        if (!first)
            while (!commits.waitPast(seen, kNapMs))
                if (session.isCancelled())
                    return ExitCancelled;
        if (session.isCancelled())
            return ExitCancelled;
        seen = commits.commits(); // before the look: a commit during it looks again
        auto looked = (*host)->read<bool>([&](tree::Drive &d, node::OpContext &) -> Result<bool> {
            SessionScope scope(&session);
            if (next == 0)
                next = ctx.since.isEmpty() ? d.nextChangeSequence() : d.firstChangeSequence();
            const Status st = printFrom(ctx, d, &next);
            ctx.out.flush();
            if (!st)
                return st;
            return true;
        });
        looked.waitForFinished();
        if (looked.resultCount() == 0)
            return ctx.fail(Status::cancelled(QStringLiteral("the node dropped the command")));
        if (const Result<bool> r = looked.result(); !r) {
            if (r.status().code() == ErrorCode::Resync)
                return ctx.fail(r.status().withContext(QStringLiteral("--since %1").arg(next)));
            return ctx.fail(r.status());
        }
    }
}

} // namespace

int cmdChanges(Context &ctx)
{
    uint64_t next = 0;
    if (!ctx.since.isEmpty()) {
        bool ok = false;
        next = ctx.since.toULongLong(&ok);
        if (!ok)
            return ctx.usage(QStringLiteral("--since takes a sequence number, not %1").arg(quoted(ctx.since)));
    }
    if (Session *session = currentSession(); session && ctx.follow)
        return followInNode(ctx, *session, next);
    // Ctrl-C and SIGTERM are noticed, not fatal: --follow ends with 130.
    ProgressLine signals(QString(), 0, false);
    auto dir = storage::findCollection(*ctx.env, ctx.dataDir, ctx.collection);
    if (!dir)
        return ctx.fail(dir.status());
    uint64_t seen = 0;
    for (bool first = true;; first = false) {
        if (!first) {
            // Wait for a commit: .meta changes.
            for (int waited = 0; waited < kPollMs; waited += kNapMs) {
                if (ProgressLine::interrupted())
                    return ExitCancelled;
                QThread::msleep(kNapMs);
            }
            if (ProgressLine::interrupted())
                return ExitCancelled;
            if (seen != 0 && committedGeneration(ctx, *dir) == seen)
                continue;
        }
        seen = committedGeneration(ctx, *dir);
        auto d = openDrive(ctx, Access::ReadOnly);
        if (!d) {
            // A writer holds the collection for now: look again soon.
            if (ctx.follow && d.status().code() == ErrorCode::Busy) {
                seen = 0;
                continue;
            }
            return ctx.fail(d.status());
        }
        if (next == 0)
            next = ctx.follow && ctx.since.isEmpty() ? (*d)->nextChangeSequence() : (*d)->firstChangeSequence();
        if (Status st = printFrom(ctx, **d, &next); !st) {
            if (st.code() == ErrorCode::Resync)
                return ctx.fail(st.withContext(QStringLiteral("--since %1").arg(next)));
            return ctx.fail(st);
        }
        if (!ctx.follow)
            return ExitOk;
    }
}

} // namespace vd::cli
