// A command run inside the node on behalf of a client (`vdrive serve`; see
// serve.h): where its standard streams go, whether the client cancelled,
// and the node it runs in.
//
// The command code is the same in both modes. What differs is reached
// through the current Session of the thread (null when the command runs in
// its own process): the terminals (terminal.h), the progress line and
// Ctrl-C (progress.h), stdin and stdout as devices (cliutil.h), and the
// drive (openDrive() hands out the node's). A SessionScope makes a session
// current on a thread for as long as it lives; a command that runs on a
// host's writer thread gets one there too.
//
// Thread safety: a Session is used by the one command it belongs to, on one
// thread at a time (the request's worker, then the host's thread).
#pragma once

#include "core/status.h"

#include <QByteArray>
#include <QIODevice>
#include <QJsonObject>
#include <QString>

namespace vd::node {
class Node;
}

namespace vd::cli {

class Session
{
public:
    virtual ~Session() = default;

    // Sends bytes to the client's stdout (channel 1) or stderr (2), in the
    // order written. False once the client cancelled or went away.
    virtual bool write(int channel, QByteArrayView bytes) = 0;
    // The next piece of the client's stdin; an empty one at its end.
    virtual Result<QByteArray> readInput() = 0;
    // The client pressed Ctrl-C (or went away, or the node is stopping).
    virtual bool isCancelled() const = 0;
    virtual node::Node &node() = 0;
    // What `vdrive status` shows (serve.cpp).
    virtual QJsonObject status() = 0;

    bool stdinIsTerminal = false;
    bool stdoutIsTerminal = false;
    bool stderrIsTerminal = false;
};

// The session of the command running on this thread; null in the client's
// own process.
Session *currentSession();

class SessionScope
{
public:
    explicit SessionScope(Session *session);
    ~SessionScope();
    SessionScope(const SessionScope &) = delete;
    SessionScope &operator=(const SessionScope &) = delete;

private:
    Session *m_previous;
    bool m_out;
    bool m_err;
};

// A client's stdout or stderr as a device (sequential, write-only).
class SessionOutput : public QIODevice
{
public:
    SessionOutput(Session &session, int channel);
    bool isSequential() const override { return true; }

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *data, qint64 len) override;

private:
    Session &m_session;
    int m_channel;
};

// A client's stdin as a device (sequential, read-only).
class SessionInput : public QIODevice
{
public:
    explicit SessionInput(Session &session);
    bool isSequential() const override { return true; }
    bool atEnd() const override;
    qint64 bytesAvailable() const override { return m_buffer.size() - m_offset + QIODevice::bytesAvailable(); }

protected:
    qint64 readData(char *data, qint64 maxlen) override;
    qint64 writeData(const char *, qint64) override { return -1; }

private:
    Session &m_session;
    QByteArray m_buffer;
    qsizetype m_offset = 0;
    bool m_ended = false;
};

} // namespace vd::cli
