// The server side of the control socket: a Unix socket that serves the
// engine's API as messages (frame.h, docs/PROTOCOL.md) to local clients — the
// CLI, the explorer — on behalf of a RequestHandler (the node).
//
// What it guarantees:
// - Only this user: the socket file is mode 0600, and every accepted
//   connection's peer uid (SO_PEERCRED) must be the server's effective uid;
//   another uid gets a permission-denied error frame, is logged (category
//   vd.control) and is disconnected.
// - Many clients at once, each with up to Options::maxRequestsPerClient
//   requests in flight; one client's garbage never disturbs another: a
//   client that breaks the protocol gets an error frame and is disconnected,
//   its requests cancelled.
// - Bounded memory per client: replies' streams go out only under the
//   client's credit, so a slow reader never makes the server buffer more
//   than its window; uploads come in only under the server's credit; events
//   a client does not read are dropped beyond a bound and counted, and the
//   client is told how many it missed (event "control.missed"); progress
//   reports are coalesced while the client lags.
//
// Threads: the server runs its sockets on an I/O thread of its own. The
// handler's handle() is called there and must return promptly (hand long
// work to a pool); it answers later, from any thread, through the Responder.
// Every public method of ControlServer is thread-safe.
#pragma once

#include "control/frame.h"

#include <QLoggingCategory>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>

class QThread;

Q_DECLARE_LOGGING_CATEGORY(lcControl)

namespace vd::control {

struct RequestState;
class ServerCore;

// The answer channel of one request: a cheap copyable handle, usable from any
// thread. The first finish() or fail() ends the request; later calls are
// ignored. If every copy is destroyed without either, the client gets an
// internal error naming the request, never silence.
//
// The blocking calls (sendData, sendItems, readData) must not be made on the
// server's I/O thread (they return Internal there): they wait for the
// client's credit or data, and return Cancelled once the client cancels the
// request, PeerUnavailable once it disconnects or the server stops.
class Responder
{
public:
    explicit Responder(std::shared_ptr<RequestState> state);
    ~Responder();
    Responder(const Responder &) = default;
    Responder &operator=(const Responder &) = default;
    Responder(Responder &&) noexcept = default;
    Responder &operator=(Responder &&) noexcept = default;

    uint64_t id() const;
    QString method() const;
    QString clientName() const;
    qint64 clientPid() const;

    // Sends one chunk of the reply's stream (at most kMaxChunkBytes of data,
    // or items whose CBOR is at most that), waiting for the client's credit.
    Status sendData(const QByteArray &data);
    Status sendItems(const QCborArray &items);
    // How far the request is; total 0 when unknown. Never blocks: while the
    // client lags, only the latest report waits to be sent.
    void progress(uint64_t done, uint64_t total);
    // The request's uploaded stream (Request::upload): the next chunk's bytes,
    // std::nullopt after the last one. Waits for the client.
    Result<std::optional<QByteArray>> readData();

    void finish(const QCborValue &result = {});
    void fail(const Status &error);

    bool isCancelled() const;
    // Calls fn once (on the I/O thread, or at once on the calling thread if
    // that already happened) when the client cancels the request or goes away.
    // fn must not block.
    void onCancel(std::function<void()> fn);

private:
    struct Core;
    std::shared_ptr<Core> m_core;
};

class RequestHandler
{
public:
    virtual ~RequestHandler() = default;
    // A request of a connected client, in the order the client sent them.
    // Called on the server's I/O thread: must not block. Methods whose name
    // starts with "control." are the server's own and never reach here.
    virtual void handle(const Request &request, Responder responder) = 0;
};

struct ServerStats
{
    int clients = 0;                // connected now (after hello)
    int requestsInFlight = 0;       // accepted, not yet replied
    uint64_t connectionsAccepted = 0;
    uint64_t connectionsRefused = 0; // wrong uid, or too many clients
    uint64_t protocolErrors = 0;     // clients dropped for breaking the protocol
    uint64_t requestsServed = 0;     // replies sent
    uint64_t eventsDropped = 0;      // events not sent to a client that lagged
    // The most bytes one connection ever had waiting in the server to be
    // written to its socket (the socket's own buffer included).
    qint64 peakBufferedBytes = 0;
};

class ControlServer
{
public:
    struct Options
    {
        QString name = QStringLiteral("vdrive node"); // the welcome's "server"
        // Connections at once (those that have not said hello yet included).
        int maxClients = 256;
        // A connection that says no hello within this long is dropped.
        int helloTimeoutMs = 10000;
        int maxRequestsPerClient = 64;
        // The credit granted to each upload: bytes of chunk frames a client
        // may send ahead of what the handler has read (at least two chunk
        // frames' worth).
        uint32_t uploadWindow = 1u << 20;
        // Events waiting for one client beyond this many bytes are dropped.
        qint64 eventBufferBytes = 256 << 10;
    };

    explicit ControlServer(RequestHandler &handler);
    ControlServer(RequestHandler &handler, Options options);
    // Disconnects every client (their requests see cancel and
    // PeerUnavailable), removes the socket file, and joins the I/O thread.
    // Not from the I/O thread (the handler's handle(), a cancel callback).
    ~ControlServer();
    ControlServer(const ControlServer &) = delete;
    ControlServer &operator=(const ControlServer &) = delete;

    // Listens on socketPath, mode 0600. A socket file left there by a dead
    // server is replaced; one a live server listens on is Busy; any other
    // file there is AlreadyExists. InvalidArgument when the path does not fit
    // a Unix socket address (107 bytes): see socketPathFor().
    Status listen(const QString &socketPath);
    QString socketPath() const;

    // Sends an event to every client subscribed to its topic ("control.subscribe":
    // a subscription "a/b" matches topic "a/b" and "a/b/…"; "" matches all).
    void publish(const QString &topic, const QCborValue &payload);

    ServerStats stats() const;

    // Where the node of dataDir listens: <dataDir>/node.sock when that fits a
    // socket address; otherwise (a deep data directory) a path named by a hash
    // of the data directory in $XDG_RUNTIME_DIR/vdrive/, else in
    // /tmp/vdrive-<uid>/ (created 0700 and checked to be this user's own).
    // Clients find it through <dataDir>/node.lock either way (nodelock.h).
    static Result<QString> socketPathFor(const QString &dataDir);

private:
    std::unique_ptr<QThread> m_thread;
    ServerCore *m_core = nullptr; // lives on m_thread
};

} // namespace vd::control
