// The control protocol's frames and messages (docs/PROTOCOL.md, "Control protocol").
//
//   frame := length: u32 (LE, bytes of body) body: one CBOR map (RFC 8949)
//
// The map has text keys; "kind" names the message, the other keys its fields.
// Unknown keys are ignored (a newer peer may add optional fields); an unknown
// kind, a missing or mistyped field, a key given twice, a body that is not
// exactly one CBOR item, or a length above kMaxFrameBytes is a ProtocolError.
// The length is checked before anything is allocated for the body.
//
// Thread safety: the functions are pure; a FrameReader is used by one thread
// at a time.
#pragma once

#include "core/status.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QCborArray>
#include <QCborValue>
#include <QString>

#include <cstdint>
#include <optional>
#include <variant>

class QIODevice;

namespace vd::control {

// The protocol version this build speaks. Both sides must speak the same one:
// hello carries the client's, and a node that speaks another answers with a
// VersionMismatch error frame naming both (see docs/PROTOCOL.md).
constexpr uint64_t kProtocolVersion = 1;

// The largest frame body. A frame is never a bulk transfer (bulk data travels
// in chunks of at most kMaxChunkBytes), so the largest legitimate frames are a
// request whose arguments hold a deep path (1,000 levels of 255-byte names is
// 256 KiB) or a reply with a record; 1 MiB is four times that. The bound caps
// what one connection can make the other side allocate before it has a whole
// frame, and is checked on the length prefix, before the body is read.
constexpr uint32_t kMaxFrameBytes = 1u << 20;
// The most payload one chunk carries: bytes of data, or the CBOR encoding of
// its items. Small enough that a client's window holds several chunks, big
// enough that per-frame costs vanish against a 1 GiB transfer.
constexpr uint32_t kMaxChunkBytes = 256u << 10;
// A chunk frame is at most this long: its payload plus the map around it.
constexpr uint32_t kMaxChunkFrameBytes = kMaxChunkBytes + 256;
// The nesting limit of a frame's CBOR (arrays, maps and tags), above the JSON
// import's limit of 256 so that a JSON document fits, and far below what the
// stack of a thread takes.
constexpr int kMaxCborDepth = 300;
// The longest method name, event topic or peer name.
constexpr qsizetype kMaxNameLength = 256;

// client -> server, first frame of a connection.
struct Hello
{
    uint64_t version = kProtocolVersion;
    QString client; // what the client is ("vdrive ls", "explorer"): for logs and `vdrive status`
};

// server -> client, the answer to a hello the server accepts.
struct Welcome
{
    uint64_t version = kProtocolVersion;
    QString server; // what the node is ("vdrive serve")
    uint64_t pid = 0;
};

// client -> server: call method with args. id is the client's, unique among
// its requests in flight. credit is the initial window for the reply's
// chunks (bytes of whole chunk frames). upload: the client will send chunks
// for this id (under the server's credit), the last one with end set.
struct Request
{
    uint64_t id = 0;
    QString method;
    QCborValue args;
    uint64_t credit = 0;
    bool upload = false;
};

// server -> client: the end of request id; error not OK, or the result.
struct Reply
{
    uint64_t id = 0;
    Status error;
    QCborValue result;
};

// Part of a stream, either way: bytes (data) or CBOR values (items).
// seq counts the chunks of one stream from 0, without gaps.
struct Chunk
{
    uint64_t id = 0;
    uint64_t seq = 0;
    bool isItems = false;
    QByteArray data;
    QCborArray items;
    bool end = false; // uploads: the last chunk
};

// The receiver of a stream allows n more bytes of chunk frames for id.
struct Credit
{
    uint64_t id = 0;
    uint64_t n = 0;
};

// client -> server: stop request id; it still gets a reply (usually cancelled).
struct Cancel
{
    uint64_t id = 0;
};

// server -> client: how far request id is; total 0 when unknown.
struct Progress
{
    uint64_t id = 0;
    uint64_t done = 0;
    uint64_t total = 0;
};

// server -> client: a notification on a topic the client subscribed to.
struct Event
{
    QString topic;
    QCborValue payload;
};

// Either way: the connection is unusable (protocol error, refused peer,
// version mismatch); the sender closes it after this frame.
struct Error
{
    Status status;
};

using Message = std::variant<Hello, Welcome, Request, Reply, Chunk, Credit, Cancel, Progress, Event, Error>;

// "request", "chunk", ...: the value of the "kind" key.
const char *kindName(const Message &message);

// The whole frame (length prefix included). InvalidArgument when the body
// would exceed kMaxFrameBytes (e.g. a reply too big for one frame).
Result<QByteArray> encodeFrame(const Message &message);

// Decodes one frame body (without its length prefix).
Result<Message> decodeBody(QByteArrayView body);

// The wire name of an error code ("not-found"), and back. A name this build
// does not know (a newer peer's code) reads as Internal: the message is kept
// and says which name it was.
QString wireCodeName(ErrorCode code);
Status statusFromWire(const QString &codeName, const QString &message);

// Splits a byte stream into frames as bytes arrive. After an error the reader
// stays failed: a stream cannot be resynchronised once a frame is bad.
class FrameReader
{
public:
    explicit FrameReader(uint32_t maxFrameBytes = kMaxFrameBytes);

    void append(QByteArrayView bytes);
    // Appends what device has ready, read straight into the buffer; returns
    // how many bytes (-1 on a read error).
    qint64 readFrom(QIODevice &device);

    struct Frame
    {
        Message message;
        uint32_t size = 0; // bytes on the wire, the length prefix included
    };
    // The next whole frame, or std::nullopt while more bytes are needed.
    Result<std::optional<Frame>> next();

    // Bytes of a frame begun but not complete.
    qsizetype pendingBytes() const { return m_buffer.size() - m_offset; }
    // At the end of the stream: OK when no frame was cut short, else a
    // ProtocolError saying how much of which frame arrived.
    Status atEnd() const;
    bool hasFailed() const { return !m_error.isOk(); }

private:
    uint32_t m_max;
    QByteArray m_buffer;
    qsizetype m_offset = 0;
    Status m_error;
};

} // namespace vd::control
