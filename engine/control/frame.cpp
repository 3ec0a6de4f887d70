#include "control/frame.h"

#include <QBuffer>
#include <QCborMap>
#include <QCborStreamReader>
#include <QCborStreamWriter>
#include <QIODevice>
#include <QSet>

#include <cstring>
#include <vector>

namespace vd::control {

namespace {

Status bad(const QString &message) { return Status::protocolError(message); }

// --- encoding ---------------------------------------------------------------

class MapWriter
{
public:
    MapWriter(QCborStreamWriter &w, const char *kind) : m_w(w)
    {
        m_w.startMap();
        key("kind");
        m_w.append(QLatin1String(kind));
    }
    ~MapWriter() { m_w.endMap(); }
    MapWriter(const MapWriter &) = delete;
    MapWriter &operator=(const MapWriter &) = delete;

    void key(const char *k) { m_w.append(QLatin1String(k)); }
    void u64(const char *k, uint64_t v)
    {
        key(k);
        m_w.append(quint64(v));
    }
    void text(const char *k, const QString &v)
    {
        key(k);
        m_w.append(v);
    }
    void value(const char *k, const QCborValue &v)
    {
        key(k);
        v.toCbor(m_w);
    }
    void boolean(const char *k, bool v)
    {
        key(k);
        m_w.append(v);
    }
    QCborStreamWriter &writer() { return m_w; }

private:
    QCborStreamWriter &m_w;
};

void encodeError(MapWriter &m, const Status &status)
{
    m.text("code", wireCodeName(status.code()));
    m.text("message", status.message());
}

void encodeBody(QCborStreamWriter &w, const Message &message)
{
    const char *kind = kindName(message);
    std::visit(
        [&](const auto &msg) {
            using T = std::decay_t<decltype(msg)>;
            MapWriter m(w, kind);
            if constexpr (std::is_same_v<T, Hello>) {
                m.u64("version", msg.version);
                m.text("client", msg.client);
            } else if constexpr (std::is_same_v<T, Welcome>) {
                m.u64("version", msg.version);
                m.text("server", msg.server);
                m.u64("pid", msg.pid);
            } else if constexpr (std::is_same_v<T, Request>) {
                m.u64("id", msg.id);
                m.text("method", msg.method);
                m.value("args", msg.args);
                if (msg.credit)
                    m.u64("credit", msg.credit);
                if (msg.upload)
                    m.boolean("upload", true);
            } else if constexpr (std::is_same_v<T, Reply>) {
                m.u64("id", msg.id);
                if (msg.error.isOk()) {
                    m.value("ok", msg.result);
                } else {
                    m.key("error");
                    w.startMap();
                    m.text("code", wireCodeName(msg.error.code()));
                    m.text("message", msg.error.message());
                    w.endMap();
                }
            } else if constexpr (std::is_same_v<T, Chunk>) {
                m.u64("id", msg.id);
                m.u64("seq", msg.seq);
                if (msg.isItems) {
                    m.value("items", msg.items);
                } else {
                    m.key("data");
                    w.append(msg.data);
                }
                if (msg.end)
                    m.boolean("end", true);
            } else if constexpr (std::is_same_v<T, Credit>) {
                m.u64("id", msg.id);
                m.u64("n", msg.n);
            } else if constexpr (std::is_same_v<T, Cancel>) {
                m.u64("id", msg.id);
            } else if constexpr (std::is_same_v<T, Progress>) {
                m.u64("id", msg.id);
                m.u64("done", msg.done);
                m.u64("total", msg.total);
            } else if constexpr (std::is_same_v<T, Event>) {
                m.text("topic", msg.topic);
                m.value("payload", msg.payload);
            } else if constexpr (std::is_same_v<T, Error>) {
                encodeError(m, msg.status);
            }
        },
        message);
}

// --- decoding ---------------------------------------------------------------

// Walks the body once with a stream reader, without building anything: one
// CBOR item, nothing after it, nesting (containers and tags) within
// kMaxCborDepth. Only then is it decoded into a QCborValue, whose parser
// recurses.
Status checkShape(QByteArrayView body)
{
    QCborStreamReader r(body.data(), body.size());
    std::vector<int> levels; // the nesting each open container costs (1 + its tags)
    int depth = 0;           // sum of levels
    int pendingTags = 0;     // tags waiting for the item they tag
    bool done = false;
    while (!done) {
        if (r.lastError() != QCborError::NoError)
            return bad(QStringLiteral("the body is not CBOR: %1").arg(r.lastError().toString()));
        if (!levels.empty() && !r.hasNext()) {
            if (!r.leaveContainer())
                return bad(QStringLiteral("the body is not CBOR: %1").arg(r.lastError().toString()));
            depth -= levels.back();
            levels.pop_back();
            done = levels.empty();
            continue;
        }
        switch (r.type()) {
        case QCborStreamReader::Invalid:
            return bad(QStringLiteral("the body is not CBOR: %1")
                           .arg(r.lastError() == QCborError::NoError ? QStringLiteral("no item")
                                                                     : r.lastError().toString()));
        case QCborStreamReader::Tag:
            if (depth + ++pendingTags > kMaxCborDepth)
                return bad(QStringLiteral("the body nests deeper than %1 levels").arg(kMaxCborDepth));
            r.next();
            break;
        case QCborStreamReader::Array:
        case QCborStreamReader::Map: {
            const int cost = 1 + pendingTags;
            pendingTags = 0;
            if (depth + cost > kMaxCborDepth)
                return bad(QStringLiteral("the body nests deeper than %1 levels").arg(kMaxCborDepth));
            if (!r.enterContainer())
                return bad(QStringLiteral("the body is not CBOR: %1").arg(r.lastError().toString()));
            levels.push_back(cost);
            depth += cost;
            break;
        }
        default:
            pendingTags = 0;
            if (!r.next())
                return bad(QStringLiteral("the body is not CBOR: %1").arg(r.lastError().toString()));
            done = levels.empty();
            break;
        }
    }
    if (r.lastError() != QCborError::NoError)
        return bad(QStringLiteral("the body is not CBOR: %1").arg(r.lastError().toString()));
    if (r.currentOffset() != body.size())
        return bad(QStringLiteral("%1 bytes follow the CBOR item in the body").arg(body.size() - r.currentOffset()));
    return {};
}

// Reads the fields of one message; the first problem sticks.
class Fields
{
public:
    Fields(const QCborMap &map, QString kind) : m_map(map), m_kind(std::move(kind)) {}

    const Status &status() const { return m_status; }

    bool has(const char *key) const { return m_map.contains(QLatin1String(key)); }

    uint64_t u64(const char *key, std::optional<uint64_t> fallback = std::nullopt)
    {
        const QCborValue v = m_map.value(QLatin1String(key));
        if (v.isUndefined() && !has(key)) {
            if (fallback)
                return *fallback;
            missing(key);
            return 0;
        }
        if (!v.isInteger() || v.toInteger() < 0) {
            mistyped(key, "an unsigned integer below 2^63");
            return 0;
        }
        return uint64_t(v.toInteger());
    }

    QString text(const char *key, qsizetype maxLength)
    {
        const QCborValue v = m_map.value(QLatin1String(key));
        if (!has(key)) {
            missing(key);
            return {};
        }
        if (!v.isString()) {
            mistyped(key, "a text string");
            return {};
        }
        QString s = v.toString();
        if (maxLength >= 0 && s.size() > maxLength)
            fail(QStringLiteral("field '%1' of a %2 is longer than %3 characters").arg(QLatin1String(key), m_kind).arg(maxLength));
        return s;
    }

    bool boolean(const char *key, bool fallback)
    {
        if (!has(key))
            return fallback;
        const QCborValue v = m_map.value(QLatin1String(key));
        if (!v.isBool()) {
            mistyped(key, "true or false");
            return fallback;
        }
        return v.toBool();
    }

    QCborValue any(const char *key, bool required)
    {
        if (!has(key)) {
            if (required)
                missing(key);
            return {};
        }
        return m_map.value(QLatin1String(key));
    }

    void fail(const QString &message)
    {
        if (m_status.isOk())
            m_status = bad(message);
    }

    Status errorField(const char *key)
    {
        const QCborValue v = any(key, true);
        if (!m_status.isOk())
            return {};
        if (!v.isMap()) {
            mistyped(key, "a map");
            return {};
        }
        Fields inner(v.toMap(), m_kind + QStringLiteral(" error"));
        const QString code = inner.text("code", kMaxNameLength);
        const QString message = inner.text("message", -1);
        if (!inner.status().isOk()) {
            fail(inner.status().message());
            return {};
        }
        return statusFromWire(code, message);
    }

private:
    void missing(const char *key) { fail(QStringLiteral("a %1 without field '%2'").arg(m_kind, QLatin1String(key))); }
    void mistyped(const char *key, const char *what)
    {
        fail(QStringLiteral("field '%1' of a %2 is not %3").arg(QLatin1String(key), m_kind, QLatin1String(what)));
    }

    const QCborMap m_map; // a copy (shared, cheap): callers pass temporaries
    QString m_kind;
    Status m_status;
};

// The fields of a message (its map, keys checked) and the bytes of a "data"
// field, read apart so that a chunk's payload is copied once.
Result<Message> decodeMap(const QCborMap &map, std::optional<QByteArray> &&dataBytes)
{
    const QCborValue kindValue = map.value(QLatin1String("kind"));
    if (!kindValue.isString())
        return bad(map.contains(QLatin1String("kind")) ? QStringLiteral("field 'kind' of a frame is not a text string")
                                                       : QStringLiteral("a frame without field 'kind'"));
    const QString kind = kindValue.toString();
    Fields f(map, kind);
    Message out;
    if (kind == QLatin1String("hello")) {
        Hello m;
        m.version = f.u64("version");
        m.client = f.text("client", kMaxNameLength);
        out = std::move(m);
    } else if (kind == QLatin1String("welcome")) {
        Welcome m;
        m.version = f.u64("version");
        m.server = f.text("server", kMaxNameLength);
        m.pid = f.u64("pid", 0);
        out = std::move(m);
    } else if (kind == QLatin1String("request")) {
        Request m;
        m.id = f.u64("id");
        m.method = f.text("method", kMaxNameLength);
        m.args = f.any("args", false);
        m.credit = f.u64("credit", 0);
        m.upload = f.boolean("upload", false);
        out = std::move(m);
    } else if (kind == QLatin1String("reply")) {
        Reply m;
        m.id = f.u64("id");
        const bool hasOk = f.has("ok");
        const bool hasError = f.has("error");
        if (hasOk == hasError)
            f.fail(QStringLiteral("a reply must have exactly one of 'ok' and 'error'"));
        else if (hasOk)
            m.result = f.any("ok", true);
        else
            m.error = f.errorField("error");
        if (hasError && f.status().isOk() && m.error.isOk())
            f.fail(QStringLiteral("a reply's error has code 'ok'"));
        out = std::move(m);
    } else if (kind == QLatin1String("chunk")) {
        Chunk m;
        m.id = f.u64("id");
        m.seq = f.u64("seq");
        const bool hasData = dataBytes || f.has("data");
        const bool hasItems = f.has("items");
        if (hasData == hasItems) {
            f.fail(QStringLiteral("a chunk must have exactly one of 'data' and 'items'"));
        } else if (dataBytes) {
            m.data = std::move(*dataBytes);
        } else if (hasData) {
            const QCborValue v = f.any("data", true);
            if (!v.isByteArray())
                f.fail(QStringLiteral("field 'data' of a chunk is not a byte string"));
            m.data = v.toByteArray();
        } else {
            const QCborValue v = f.any("items", true);
            if (!v.isArray())
                f.fail(QStringLiteral("field 'items' of a chunk is not an array"));
            m.isItems = true;
            m.items = v.toArray();
        }
        m.end = f.boolean("end", false);
        out = std::move(m);
    } else if (kind == QLatin1String("credit")) {
        Credit m;
        m.id = f.u64("id");
        m.n = f.u64("n");
        out = m;
    } else if (kind == QLatin1String("cancel")) {
        Cancel m;
        m.id = f.u64("id");
        out = m;
    } else if (kind == QLatin1String("progress")) {
        Progress m;
        m.id = f.u64("id");
        m.done = f.u64("done");
        m.total = f.u64("total", 0);
        out = m;
    } else if (kind == QLatin1String("event")) {
        Event m;
        m.topic = f.text("topic", kMaxNameLength);
        m.payload = f.any("payload", false);
        out = std::move(m);
    } else if (kind == QLatin1String("error")) {
        const QString code = f.text("code", kMaxNameLength);
        const QString message = f.text("message", -1);
        Status s = statusFromWire(code, message);
        if (f.status().isOk() && s.isOk())
            f.fail(QStringLiteral("an error frame with code 'ok'"));
        out = Error{std::move(s)};
    } else {
        return bad(QStringLiteral("a frame of unknown kind '%1'").arg(kind.left(kMaxNameLength)));
    }
    if (!f.status().isOk())
        return f.status();
    return out;
}

uint32_t readLe32(const char *p)
{
    const auto *u = reinterpret_cast<const unsigned char *>(p);
    return uint32_t(u[0]) | uint32_t(u[1]) << 8 | uint32_t(u[2]) << 16 | uint32_t(u[3]) << 24;
}

} // namespace

const char *kindName(const Message &message)
{
    switch (message.index()) {
    case 0: return "hello";
    case 1: return "welcome";
    case 2: return "request";
    case 3: return "reply";
    case 4: return "chunk";
    case 5: return "credit";
    case 6: return "cancel";
    case 7: return "progress";
    case 8: return "event";
    case 9: return "error";
    }
    return "unknown";
}

Result<QByteArray> encodeFrame(const Message &message)
{
    QByteArray out;
    if (const auto *chunk = std::get_if<Chunk>(&message); chunk && !chunk->isItems)
        out.reserve(chunk->data.size() + 64);
    out.append(4, '\0');
    {
        // QCborStreamWriter(QByteArray *) writes from the array's start: a
        // buffer opened to append keeps the length's room.
        QBuffer buffer(&out);
        buffer.open(QIODevice::WriteOnly | QIODevice::Append);
        QCborStreamWriter w(&buffer);
        encodeBody(w, message);
    }
    const qsizetype body = out.size() - 4;
    if (body > qsizetype(kMaxFrameBytes))
        return Status::invalidArgument(QStringLiteral("a %1 frame of %2 bytes exceeds the bound of %3 bytes")
                                           .arg(QLatin1String(kindName(message)))
                                           .arg(body)
                                           .arg(kMaxFrameBytes));
    const auto len = uint32_t(body);
    for (int i = 0; i < 4; ++i)
        out[i] = char((len >> (8 * i)) & 0xff);
    return out;
}

Result<Message> decodeBody(QByteArrayView body)
{
    VD_TRY(checkShape(body));
    // The map is read with a stream reader: each value becomes a QCborValue,
    // except the bytes of "data", read straight into their own array.
    QCborStreamReader r(body.data(), body.size());
    if (!r.isMap())
        return bad(QStringLiteral("the body is not a CBOR map"));
    const auto notCbor = [&] {
        return bad(QStringLiteral("the body is not CBOR: %1").arg(r.lastError().toString()));
    };
    if (!r.enterContainer())
        return notCbor();
    QCborMap map;
    std::optional<QByteArray> data;
    QSet<QString> keys;
    while (r.hasNext()) {
        if (!r.isString())
            return bad(QStringLiteral("a frame's map has a key that is not text"));
        QString key;
        auto chunk = r.readString();
        while (chunk.status == QCborStreamReader::Ok) {
            key += chunk.data;
            chunk = r.readString();
        }
        if (chunk.status != QCborStreamReader::EndOfString)
            return notCbor();
        if (keys.contains(key))
            return bad(QStringLiteral("a frame's map has key '%1' twice").arg(key.left(kMaxNameLength)));
        keys.insert(key);
        if (key == QLatin1String("data") && r.isByteArray()) {
            QByteArray bytes;
            auto piece = r.readByteArray();
            while (piece.status == QCborStreamReader::Ok) {
                bytes += piece.data;
                piece = r.readByteArray();
            }
            if (piece.status != QCborStreamReader::EndOfString)
                return notCbor();
            data = std::move(bytes);
            continue;
        }
        QCborValue value = QCborValue::fromCbor(r);
        if (r.lastError() != QCborError::NoError)
            return notCbor();
        map.insert(key, std::move(value));
    }
    if (!r.leaveContainer())
        return notCbor();
    return decodeMap(map, std::move(data));
}

QString wireCodeName(ErrorCode code) { return QString::fromLatin1(errorCodeName(code)); }

Status statusFromWire(const QString &codeName, const QString &message)
{
    for (int c = int(ErrorCode::Ok); c <= int(ErrorCode::Internal); ++c) {
        const auto code = ErrorCode(c);
        if (codeName == QLatin1String(errorCodeName(code)))
            return code == ErrorCode::Ok ? Status() : Status(code, message);
    }
    return Status::internal(QStringLiteral("%1 (error code '%2', unknown to this build)").arg(message, codeName.left(kMaxNameLength)));
}

FrameReader::FrameReader(uint32_t maxFrameBytes) : m_max(maxFrameBytes) {}

void FrameReader::append(QByteArrayView bytes)
{
    if (!m_error.isOk())
        return;
    if (m_offset > 0 && m_offset == m_buffer.size()) {
        m_buffer.resize(0);
        m_offset = 0;
    } else if (m_offset >= qsizetype(64 << 10)) {
        m_buffer.remove(0, m_offset);
        m_offset = 0;
    }
    m_buffer.append(bytes.data(), bytes.size());
}

qint64 FrameReader::readFrom(QIODevice &device)
{
    if (!m_error.isOk())
        return 0;
    const qint64 available = device.bytesAvailable();
    if (available <= 0)
        return 0;
    append(QByteArrayView()); // compacts
    const qsizetype old = m_buffer.size();
    m_buffer.resize(old + qsizetype(available));
    const qint64 got = device.read(m_buffer.data() + old, available);
    m_buffer.resize(old + qsizetype(std::max<qint64>(got, 0)));
    return got;
}

Result<std::optional<FrameReader::Frame>> FrameReader::next()
{
    if (!m_error.isOk())
        return m_error;
    const qsizetype avail = m_buffer.size() - m_offset;
    if (avail < 4)
        return std::optional<Frame>();
    const uint32_t len = readLe32(m_buffer.constData() + m_offset);
    if (len > m_max) {
        m_error = bad(QStringLiteral("a frame of %1 bytes exceeds the bound of %2 bytes").arg(len).arg(m_max));
        return m_error;
    }
    if (avail < 4 + qsizetype(len))
        return std::optional<Frame>();
    auto decoded = decodeBody(QByteArrayView(m_buffer.constData() + m_offset + 4, len));
    if (!decoded) {
        m_error = decoded.status();
        return m_error;
    }
    m_offset += 4 + qsizetype(len);
    return std::optional<Frame>(Frame{std::move(decoded).value(), 4 + len});
}

Status FrameReader::atEnd() const
{
    if (!m_error.isOk())
        return m_error;
    const qsizetype pending = pendingBytes();
    if (pending == 0)
        return {};
    if (pending < 4)
        return bad(QStringLiteral("the stream ended inside a frame's length (%1 of 4 bytes)").arg(pending));
    const uint32_t len = readLe32(m_buffer.constData() + m_offset);
    return bad(QStringLiteral("the stream ended inside a frame (%1 of %2 bytes)").arg(pending - 4).arg(len));
}

} // namespace vd::control
