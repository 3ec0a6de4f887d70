// DriveService: the DriveApi served on the control socket — the "drive.*"
// methods and the "drive.changed" events (docs/PROTOCOL.md, "Drive
// methods"), and "drive.collections" when one is created, renamed or
// deleted, so that a client in another process (the explorer while a
// `vdrive serve` runs, later a tool) gets the very API the node's own
// window uses. Each method is one call of the node's DriveApi (a
// LocalDriveApi); its answer goes back from a pool thread, listings and
// diffs as streams of items under the client's credit, imports and exports
// with their progress as items. A client's cancel cancels the call.
//
// Arguments come from another process: every field is checked (codec),
// an unknown method or a bad argument is an InvalidArgument or
// ProtocolError reply, never a crash or a hang.
//
// Thread safety: handle() runs on the server's I/O thread and returns at
// once; setServer() before the first event.
#pragma once

#include "client/driveapi.h"
#include "control/controlserver.h"

#include <QMetaObject>
#include <QThreadPool>

#include <memory>
#include <mutex>

namespace vd::control {

class DriveService
{
public:
    // Events go out through server (may be null: no events).
    DriveService(client::DriveApi &api, ControlServer *server);
    ~DriveService();
    DriveService(const DriveService &) = delete;
    DriveService &operator=(const DriveService &) = delete;

    // Whether method is one of this service's ("drive.").
    static bool serves(const QString &method);
    void handle(const Request &request, Responder responder);

    // Records in one "drive.changed" event at most: a commit of more goes
    // out as several events (one frame each).
    static constexpr int kRecordsPerEvent = 1000;

private:
    client::DriveApi &m_api;
    ControlServer *m_server;
    QThreadPool m_pool;
    QMetaObject::Connection m_changed, m_resync, m_collections;
    // Held while an event is published: the destructor takes it, so no
    // event reaches the server once this service is gone.
    struct Gate
    {
        std::mutex mutex;
        bool open = true;
    };
    std::shared_ptr<Gate> m_gate = std::make_shared<Gate>();
};

} // namespace vd::control
