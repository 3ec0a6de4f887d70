#include "control/controlclient.h"

#include "control/nodelock.h"

#include <QCborMap>
#include <QElapsedTimer>
#include <QLocalSocket>
#include <QThread>

#include <algorithm>

namespace vd::control {

namespace {

// How often a wait looks at cancelRequested.
constexpr int kPollMs = 50;
// Events queued while a call runs, beyond which the oldest are dropped (and counted).
constexpr size_t kMaxQueuedEvents = 1024;

Status socketError(const QLocalSocket &socket, const QString &path, int timeoutMs)
{
    switch (socket.error()) {
    case QLocalSocket::ServerNotFoundError:
    case QLocalSocket::ConnectionRefusedError:
        return Status::peerUnavailable(QStringLiteral("no node listens on '%1'").arg(path));
    case QLocalSocket::SocketAccessError:
        return Status::permissionDenied(QStringLiteral("this user may not connect to '%1'").arg(path));
    case QLocalSocket::SocketTimeoutError:
        return Status::peerUnavailable(QStringLiteral("the node at '%1' did not accept the connection within %2 ms").arg(path).arg(timeoutMs));
    default:
        return Status::peerUnavailable(QStringLiteral("cannot connect to '%1': %2").arg(path, socket.errorString()));
    }
}

} // namespace

ControlClient::ControlClient() = default;

ControlClient::~ControlClient() { close(); }

bool ControlClient::isConnected() const
{
    return m_socket && m_broken.isOk() && m_socket->state() == QLocalSocket::ConnectedState;
}

void ControlClient::close()
{
    if (m_socket) {
        m_socket->abort();
        m_socket.reset();
    }
}

Status ControlClient::fail(Status error)
{
    if (m_broken.isOk())
        m_broken = error;
    close();
    return error;
}

Status ControlClient::send(const Message &message)
{
    if (!m_broken.isOk())
        return m_broken;
    if (!m_socket)
        return Status::peerUnavailable(QStringLiteral("not connected to a node"));
    VD_TRY_ASSIGN(const QByteArray frame, encodeFrame(message));
    return sendRaw(frame);
}

Status ControlClient::sendRaw(const QByteArray &frame)
{
    if (!m_broken.isOk())
        return m_broken;
    if (!m_socket)
        return Status::peerUnavailable(QStringLiteral("not connected to a node"));
    if (m_socket->write(frame) != frame.size())
        return fail(Status::peerUnavailable(QStringLiteral("cannot write to the node: %1").arg(m_socket->errorString())));
    m_socket->flush();
    return {};
}

Status ControlClient::connectToSocket(const QString &socketPath, const QString &clientName, int timeoutMs)
{
    close();
    m_broken = Status();
    m_reader = FrameReader();
    m_events.clear();
    m_missedEvents = 0;
    m_welcome = Welcome();
    QElapsedTimer clock;
    clock.start();
    m_socket = std::make_unique<QLocalSocket>();
    m_socket->connectToServer(socketPath);
    if (!m_socket->waitForConnected(timeoutMs)) {
        const Status error = socketError(*m_socket, socketPath, timeoutMs);
        close();
        return error;
    }
    VD_TRY(send(Hello{kProtocolVersion, clientName}));
    for (;;) {
        const int remaining = int(timeoutMs - clock.elapsed());
        if (remaining <= 0)
            return fail(Status::peerUnavailable(
                QStringLiteral("the node at '%1' did not answer within %2 ms").arg(socketPath).arg(timeoutMs)));
        VD_TRY_ASSIGN(auto frame, readFrame(remaining));
        if (!frame)
            continue;
        if (auto *welcome = std::get_if<Welcome>(&frame->message)) {
            if (welcome->version != kProtocolVersion)
                return fail(Status::versionMismatch(
                    QStringLiteral("the node (pid %1) speaks control protocol %2; this vdrive speaks %3. Use the vdrive "
                                   "of the same version as the node")
                        .arg(welcome->pid)
                        .arg(welcome->version)
                        .arg(kProtocolVersion)));
            m_welcome = *welcome;
            return {};
        }
        if (auto *error = std::get_if<Error>(&frame->message))
            return fail(error->status);
        return fail(Status::protocolError(
            QStringLiteral("the node answered the hello with a %1 frame").arg(QLatin1String(kindName(frame->message)))));
    }
}

Result<bool> ControlClient::connectToNode(io::Env &env, const QString &dataDir, const QString &clientName, int timeoutMs)
{
    QElapsedTimer clock;
    clock.start();
    for (;;) {
        VD_TRY_ASSIGN(auto node, NodeLock::find(env, dataDir));
        if (!node)
            return false;
        const int remaining = std::max(1, int(timeoutMs - clock.elapsed()));
        if (!node->socketPath.isEmpty()) {
            Status connected = connectToSocket(node->socketPath, clientName, remaining);
            if (connected)
                return true;
            // It may have stopped between the look and the connection.
            VD_TRY_ASSIGN(auto again, NodeLock::find(env, dataDir));
            if (!again)
                return false;
            return connected;
        }
        if (clock.elapsed() >= timeoutMs)
            return Status::peerUnavailable(
                QStringLiteral("the node of '%1'%2 is starting and did not listen within %3 ms")
                    .arg(dataDir, node->pid ? QStringLiteral(" (pid %1)").arg(node->pid) : QString())
                    .arg(timeoutMs));
        QThread::msleep(10); // a node that starts writes its socket path within milliseconds
    }
}

Result<std::optional<FrameReader::Frame>> ControlClient::readFrame(int timeoutMs)
{
    if (!m_broken.isOk())
        return m_broken;
    if (!m_socket)
        return Status::peerUnavailable(QStringLiteral("not connected to a node"));
    QElapsedTimer clock;
    clock.start();
    for (;;) {
        auto frame = m_reader.next();
        if (!frame)
            return fail(frame.status());
        if (*frame)
            return frame;
        if (m_socket->bytesAvailable() > 0) {
            m_reader.readFrom(*m_socket);
            continue;
        }
        if (m_socket->state() != QLocalSocket::ConnectedState) {
            const Status end = m_reader.atEnd();
            return fail(Status::peerUnavailable(
                end.isOk() ? QStringLiteral("the node closed the connection")
                           : QStringLiteral("the node closed the connection inside a frame (%1)").arg(end.message())));
        }
        int wait = -1;
        if (timeoutMs >= 0) {
            wait = int(timeoutMs - clock.elapsed());
            if (wait <= 0)
                return std::optional<FrameReader::Frame>();
        }
        if (!m_socket->waitForReadyRead(wait)) {
            const auto error = m_socket->error();
            if (error != QLocalSocket::SocketTimeoutError && error != QLocalSocket::UnknownSocketError &&
                error != QLocalSocket::PeerClosedError && m_socket->state() == QLocalSocket::ConnectedState)
                return fail(Status::peerUnavailable(QStringLiteral("reading from the node: %1").arg(m_socket->errorString())));
        }
    }
}

void ControlClient::queueEvent(Event &&event)
{
    if (m_events.size() >= kMaxQueuedEvents) {
        m_events.pop_front();
        ++m_missedEvents;
    }
    m_events.push_back(std::move(event));
}

Result<QCborValue> ControlClient::call(const QString &method, const QCborValue &args, const CallOptions &options)
{
    if (!m_broken.isOk())
        return m_broken;
    if (!m_socket)
        return Status::peerUnavailable(QStringLiteral("not connected to a node"));
    const uint64_t id = m_nextId++;
    const uint32_t window = std::max(options.window, 2 * kMaxChunkFrameBytes);
    VD_TRY(send(Request{id, method, args, window, bool(options.upload)}));

    Status callbackError; // why this side cancelled
    bool cancelSent = false;
    auto cancel = [&](Status why) -> Status {
        if (callbackError.isOk())
            callbackError = std::move(why);
        if (cancelSent)
            return {};
        cancelSent = true;
        return send(Cancel{id});
    };
    uint64_t expectSeq = 0;
    int64_t consumed = 0;
    bool uploading = bool(options.upload);
    int64_t uploadCredit = 0;
    uint64_t uploadSeq = 0;
    QByteArray pendingChunk; // encoded, waiting for credit
    bool pendingIsEnd = false;
    QElapsedTimer idle;
    idle.start();
    auto withContext = [&](const Status &s) {
        return Status(s.code(), QStringLiteral("%1 (waiting for the answer to '%2')").arg(s.message(), method));
    };

    for (;;) {
        while (uploading && !cancelSent) {
            if (pendingChunk.isEmpty()) {
                auto piece = options.upload();
                if (!piece) {
                    VD_TRY(cancel(piece.takeStatus()));
                    break;
                }
                if (piece->size() > qsizetype(kMaxChunkBytes)) {
                    VD_TRY(cancel(Status::invalidArgument(
                        QStringLiteral("an upload piece of %1 bytes exceeds the bound of %2 bytes").arg(piece->size()).arg(kMaxChunkBytes))));
                    break;
                }
                Chunk chunk;
                chunk.id = id;
                chunk.seq = uploadSeq;
                chunk.data = *piece;
                chunk.end = piece->isEmpty();
                VD_TRY_ASSIGN(pendingChunk, encodeFrame(chunk));
                pendingIsEnd = chunk.end;
            }
            if (pendingChunk.size() > uploadCredit)
                break;
            VD_TRY(sendRaw(pendingChunk));
            uploadCredit -= pendingChunk.size();
            ++uploadSeq;
            pendingChunk.clear();
            if (pendingIsEnd)
                uploading = false;
        }
        if (!cancelSent && options.cancelRequested && options.cancelRequested())
            VD_TRY(cancel(Status::cancelled(QStringLiteral("interrupted"))));

        int slice = options.cancelRequested && !cancelSent ? kPollMs : -1;
        if (options.idleTimeoutMs >= 0) {
            const int remaining = int(options.idleTimeoutMs - idle.elapsed());
            if (remaining <= 0)
                return fail(Status::peerUnavailable(QStringLiteral("the node sent nothing for %1 ms while '%2' was in flight")
                                                        .arg(options.idleTimeoutMs)
                                                        .arg(method)));
            slice = slice < 0 ? remaining : std::min(slice, remaining);
        }
        auto frame = readFrame(slice);
        if (!frame)
            return withContext(frame.status());
        if (!*frame)
            continue;
        idle.restart();
        const uint32_t frameSize = (*frame)->size;
        Message &message = (*frame)->message;
        auto wrongId = [&](uint64_t other) {
            return fail(Status::protocolError(QStringLiteral("the node sent a %1 for request %2, which is not in flight")
                                                  .arg(QLatin1String(kindName(message)))
                                                  .arg(other)));
        };
        if (auto *reply = std::get_if<Reply>(&message)) {
            if (reply->id != id)
                return wrongId(reply->id);
            if (!callbackError.isOk() && callbackError.code() != ErrorCode::Cancelled)
                return callbackError;
            if (!reply->error.isOk())
                return reply->error;
            return reply->result;
        } else if (auto *chunk = std::get_if<Chunk>(&message)) {
            if (chunk->id != id)
                return wrongId(chunk->id);
            if (chunk->seq != expectSeq)
                return fail(Status::protocolError(
                    QStringLiteral("request %1: chunk %2 where chunk %3 was due").arg(id).arg(chunk->seq).arg(expectSeq)));
            ++expectSeq;
            consumed += frameSize;
            if (callbackError.isOk()) {
                Status taken;
                if (chunk->isItems)
                    taken = options.onItems ? options.onItems(chunk->items)
                                            : Status::invalidArgument(QStringLiteral("'%1' streams items, which the caller does not take").arg(method));
                else
                    taken = options.onData ? options.onData(chunk->data)
                                           : Status::invalidArgument(QStringLiteral("'%1' streams data, which the caller does not take").arg(method));
                if (!taken.isOk())
                    VD_TRY(cancel(std::move(taken)));
            }
            if (consumed >= int64_t(window / 2)) {
                VD_TRY(send(Credit{id, uint64_t(consumed)}));
                consumed = 0;
            }
        } else if (auto *progress = std::get_if<Progress>(&message)) {
            if (progress->id != id)
                return wrongId(progress->id);
            if (options.onProgress)
                options.onProgress(progress->done, progress->total);
        } else if (auto *credit = std::get_if<Credit>(&message)) {
            if (credit->id != id)
                return wrongId(credit->id);
            uploadCredit += int64_t(std::min<uint64_t>(credit->n, uint64_t(1) << 40));
        } else if (auto *event = std::get_if<Event>(&message)) {
            queueEvent(std::move(*event));
        } else if (auto *error = std::get_if<Error>(&message)) {
            return fail(error->status);
        } else {
            return fail(Status::protocolError(
                QStringLiteral("the node sent a %1 frame").arg(QLatin1String(kindName(message)))));
        }
    }
}

Status ControlClient::subscribe(const QStringList &topics)
{
    QCborArray list;
    for (const QString &t : topics)
        list.append(t);
    QCborMap args;
    args.insert(QLatin1String("topics"), list);
    auto result = call(QStringLiteral("control.subscribe"), args);
    return result ? Status() : result.takeStatus();
}

Result<std::optional<Event>> ControlClient::waitEvent(int timeoutMs, const std::function<bool()> &cancelRequested)
{
    auto pop = [&]() -> std::optional<Event> {
        if (m_missedEvents) {
            QCborMap payload;
            payload.insert(QLatin1String("missed"), qint64(m_missedEvents));
            m_missedEvents = 0;
            return Event{QStringLiteral("control.missed"), payload};
        }
        if (m_events.empty())
            return std::nullopt;
        Event e = std::move(m_events.front());
        m_events.pop_front();
        return e;
    };
    if (auto e = pop())
        return e;
    QElapsedTimer clock;
    clock.start();
    for (;;) {
        if (cancelRequested && cancelRequested())
            return Status::cancelled(QStringLiteral("interrupted"));
        int slice = cancelRequested ? kPollMs : -1;
        if (timeoutMs >= 0) {
            const int remaining = int(timeoutMs - clock.elapsed());
            if (remaining <= 0)
                return std::optional<Event>();
            slice = slice < 0 ? remaining : std::min(slice, remaining);
        }
        VD_TRY_ASSIGN(auto frame, readFrame(slice));
        if (!frame)
            continue;
        if (auto *event = std::get_if<Event>(&frame->message))
            return std::optional<Event>(std::move(*event));
        if (auto *error = std::get_if<Error>(&frame->message))
            return fail(error->status);
        return fail(Status::protocolError(QStringLiteral("the node sent a %1 frame while no request was in flight")
                                              .arg(QLatin1String(kindName(frame->message)))));
    }
}

} // namespace vd::control
