// The client side of the control socket: a blocking API for the CLI (and
// tests). One call at a time; events that arrive meanwhile are queued.
//
//   ControlClient client;
//   VD_TRY(client.connectToSocket(path, "vdrive ls", 5000));
//   CallOptions o;
//   o.onItems = [&](const QCborArray &items) { print(items); return Status(); };
//   o.cancelRequested = [] { return ProgressLine::interrupted(); };
//   auto result = client.call("ls", args, o);
//
// Every wait is bounded or interruptible: connecting has a timeout; a call
// ends with the reply, with the node going away (PeerUnavailable, at once:
// the kernel closes a dead process's socket), with a frame that breaks the
// protocol (ProtocolError), or — when CallOptions::idleTimeoutMs is set — when
// the node says nothing for that long. cancelRequested is polled every 50 ms;
// once it says yes, a cancel goes out and the call returns the node's answer
// to it (normally Cancelled).
//
// After an error that leaves the connection unusable (the node gone, a
// protocol error, an idle timeout) the client is disconnected and every
// further call returns that error. Thread safety: one thread at a time.
#pragma once

#include "control/frame.h"
#include "io/env.h"

#include <QStringList>

#include <deque>
#include <functional>
#include <memory>

class QLocalSocket;

namespace vd::control {

struct CallOptions
{
    // The reply's stream. A callback's error cancels the request; the call
    // then returns that error. A stream arriving without its callback is an
    // InvalidArgument error the same way.
    std::function<Status(const QByteArray &data)> onData;
    std::function<Status(const QCborArray &items)> onItems;
    std::function<void(uint64_t done, uint64_t total)> onProgress;
    // Set for a request with an upload: returns the next piece (at most
    // kMaxChunkBytes), an empty one at the end. Called only while the node's
    // credit allows the piece to go.
    std::function<Result<QByteArray>()> upload;
    // Polled while the call waits; true sends a cancel (once).
    std::function<bool()> cancelRequested;
    // The reply's window: bytes of chunk frames the node may send ahead of
    // what the callbacks have taken (at least two chunks' worth).
    uint32_t window = 2u << 20;
    // No frame from the node for this long ends the call with PeerUnavailable
    // and disconnects; -1 waits as long as the node stays connected.
    int idleTimeoutMs = -1;
};

class ControlClient
{
public:
    ControlClient();
    ~ControlClient();
    ControlClient(const ControlClient &) = delete;
    ControlClient &operator=(const ControlClient &) = delete;

    // Connects and says hello within timeoutMs. PermissionDenied when the
    // socket or the node refuses this user, VersionMismatch (naming both
    // versions) when the node speaks another protocol, PeerUnavailable when
    // nothing listens there or the node does not answer in time.
    Status connectToSocket(const QString &socketPath, const QString &clientName, int timeoutMs);
    // Finds the node of dataDir (nodelock.h) and connects to it; false when no
    // node runs there. Waits (within timeoutMs) for a node that is starting.
    Result<bool> connectToNode(io::Env &env, const QString &dataDir, const QString &clientName, int timeoutMs);

    bool isConnected() const;
    const Welcome &welcome() const { return m_welcome; }
    void close();

    // Calls method and waits for its reply: the result, or the error the node
    // answered, or why there is no answer.
    Result<QCborValue> call(const QString &method, const QCborValue &args = {}, const CallOptions &options = {});

    // Events on these topics (and below them) from now on; replaces the
    // previous subscription. An empty list stops them.
    Status subscribe(const QStringList &topics);
    // The next event, waiting up to timeoutMs (-1: as long as it takes);
    // std::nullopt when none came in time. When the node or this client had
    // to drop events (the reader lagged), an event "control.missed" with
    // {missed: n} comes first.
    Result<std::optional<Event>> waitEvent(int timeoutMs, const std::function<bool()> &cancelRequested = {});

private:
    // The next frame within timeoutMs (std::nullopt on timeout); an error
    // when the connection broke.
    Result<std::optional<FrameReader::Frame>> readFrame(int timeoutMs);
    Status send(const Message &message);
    Status sendRaw(const QByteArray &frame);
    Status fail(Status error);
    void queueEvent(Event &&event);

    std::unique_ptr<QLocalSocket> m_socket;
    FrameReader m_reader;
    Welcome m_welcome;
    Status m_broken;
    uint64_t m_nextId = 1;
    std::deque<Event> m_events;
    uint64_t m_missedEvents = 0;
};

} // namespace vd::control
