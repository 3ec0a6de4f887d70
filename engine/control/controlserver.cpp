#include "control/controlserver.h"

#include <QCborMap>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QLocalServer>
#include <QLocalSocket>
#include <QPointer>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

// Warnings (refused and dropped clients) by default; debug (connections come
// and go) with QT_LOGGING_RULES="vd.control.debug=true".
Q_LOGGING_CATEGORY(lcControl, "vd.control", QtInfoMsg)

namespace vd::control {

namespace {

// While more than this waits for a client, its progress reports are held
// back (only the latest of each request is kept).
constexpr qint64 kProgressSlack = 64 << 10;
// While more than this waits for a client, the server reads no more of its
// requests (their replies would pile up); it reads again below half.
constexpr qint64 kReadPauseBytes = 8 << 20;
// What Qt may read ahead of the frames the server has processed.
constexpr qint64 kReadBufferBytes = 256 << 10;
// How long a client being dropped gets to read its error frame.
constexpr int kCloseGraceMs = 5000;
constexpr int kMaxTopics = 64;
// No window is ever this big (1 TiB); a credit beyond it is a broken client.
constexpr uint64_t kMaxCredit = uint64_t(1) << 40;

QString errnoText(int err) { return QString::fromLocal8Bit(std::strerror(err)); }

bool topicMatches(const QStringList &subscriptions, const QString &topic)
{
    for (const QString &s : subscriptions) {
        if (s.isEmpty() || topic == s || (topic.startsWith(s) && topic.at(s.size()) == QLatin1Char('/')))
            return true;
    }
    return false;
}

// Makes sure dir is a directory of this user's that nobody else can enter.
Status ensurePrivateDir(const QString &dir)
{
    const QByteArray path = QFile::encodeName(dir);
    if (::mkdir(path.constData(), 0700) != 0 && errno != EEXIST)
        return Status::ioError(QStringLiteral("cannot create '%1': %2").arg(dir, errnoText(errno)));
    struct stat st;
    if (::lstat(path.constData(), &st) != 0)
        return Status::ioError(QStringLiteral("cannot stat '%1': %2").arg(dir, errnoText(errno)));
    if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
        return Status::permissionDenied(
            QStringLiteral("'%1' is not a private directory of this user (uid %2, mode %3): remove it, or set "
                           "XDG_RUNTIME_DIR to one")
                .arg(dir)
                .arg(st.st_uid)
                .arg(st.st_mode & 07777, 4, 8, QLatin1Char('0')));
    return {};
}

constexpr qsizetype kSunPathBytes = sizeof(sockaddr_un::sun_path);

bool fitsSocketAddress(const QString &path) { return QFile::encodeName(path).size() < kSunPathBytes; }

// Binds and listens on path (mode 0600) and returns the descriptor. The mode
// is set between bind and listen: nobody can connect before listen.
Result<int> bindListening(const QString &path)
{
    const QByteArray enc = QFile::encodeName(path);
    if (enc.size() >= kSunPathBytes)
        return Status::invalidArgument(
            QStringLiteral("the socket path '%1' is %2 bytes; a Unix socket address holds at most %3")
                .arg(path)
                .arg(enc.size())
                .arg(kSunPathBytes - 1));
    sockaddr_un addr;
    std::memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, enc.constData(), size_t(enc.size()));
    const auto *sa = reinterpret_cast<const sockaddr *>(&addr);

    struct stat st;
    if (::lstat(enc.constData(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return Status::alreadyExists(QStringLiteral("'%1' exists and is not a socket").arg(path));
        // Left by a server that died, or in use by a live one?
        const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe < 0)
            return Status::ioError(QStringLiteral("cannot create a socket: %1").arg(errnoText(errno)));
        const int rc = ::connect(probe, sa, sizeof addr);
        const int err = errno;
        ::close(probe);
        if (rc == 0)
            return Status::busy(QStringLiteral("a server already listens on '%1'").arg(path));
        if (err != ECONNREFUSED)
            return Status::ioError(QStringLiteral("cannot check the socket '%1': %2").arg(path, errnoText(err)));
        if (::unlink(enc.constData()) != 0 && errno != ENOENT)
            return Status::ioError(QStringLiteral("cannot remove the stale socket '%1': %2").arg(path, errnoText(errno)));
    }

    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return Status::ioError(QStringLiteral("cannot create a socket: %1").arg(errnoText(errno)));
    if (::bind(fd, sa, sizeof addr) != 0) {
        const int err = errno;
        ::close(fd);
        return Status::ioError(QStringLiteral("cannot bind '%1': %2").arg(path, errnoText(err)));
    }
    if (::chmod(enc.constData(), 0600) != 0 || ::listen(fd, 128) != 0) {
        const int err = errno;
        ::close(fd);
        ::unlink(enc.constData());
        return Status::ioError(QStringLiteral("cannot listen on '%1': %2").arg(path, errnoText(err)));
    }
    return fd;
}

} // namespace

// A frame waiting in a connection's outbox. (Outside the anonymous
// namespace: ConnShared, which holds them, has external linkage.)
struct OutFrame
{
    QByteArray bytes;
    std::optional<uint64_t> finishes; // the reply of this request
};

// What the I/O thread and the handler's threads share about one connection.
struct ConnShared
{
    quint64 connId = 0;
    QThread *ioThread = nullptr;
    QString clientName; // set at hello, before any request exists
    qint64 pid = 0;

    std::mutex m;
    ServerCore *core = nullptr; // valid while alive (the core clears alive before it goes)
    bool alive = true;
    bool flushPosted = false;
    std::deque<OutFrame> outbox;
    std::vector<std::shared_ptr<RequestState>> progressQueue;
    QStringList topics;
    uint64_t missed = 0;        // events dropped since the client was last told
    qint64 socketBuffered = 0;  // bytes in the socket's buffer, as of the last flush

    // Under m.
    void scheduleLocked();
    bool post(OutFrame frame)
    {
        std::lock_guard lock(m);
        if (!alive)
            return false;
        outbox.push_back(std::move(frame));
        scheduleLocked();
        return true;
    }
};

struct RequestState
{
    uint64_t id = 0;
    QString method;
    bool upload = false;
    uint32_t uploadWindow = 0;
    std::shared_ptr<ConnShared> conn;

    std::mutex m;
    std::condition_variable cv;
    int64_t credit = 0; // bytes of chunk frames the client allows
    uint64_t seq = 0;
    bool replied = false;
    bool cancelled = false;
    bool gone = false;
    std::function<void()> onCancel;
    std::optional<Progress> pendingProgress;
    bool progressQueued = false;
    // Uploads.
    std::deque<std::pair<QByteArray, uint32_t>> inbox; // data, frame size
    bool ended = false;
    uint64_t nextSeq = 0;
    int64_t uploadCredit = 0; // what the client may still send
    int64_t consumed = 0;     // frame bytes read since the last grant
};

class ServerCore : public QObject
{
public:
    ServerCore(RequestHandler &handler, ControlServer::Options options)
        : m_handler(handler), m_options(sane(std::move(options)))
    {
    }

    Status listen(const QString &path);
    void shutdown();
    void flush(quint64 connId);
    void publish(const QString &topic, const QCborValue &payload);

    ServerStats stats() const
    {
        std::lock_guard lock(m_statsMutex);
        return m_stats;
    }
    QString socketPath() const
    {
        std::lock_guard lock(m_statsMutex);
        return m_path;
    }

private:
    static ControlServer::Options sane(ControlServer::Options o)
    {
        // The handler grants more after each quarter window it reads: with two
        // chunk frames' worth, a client never waits for credit that never comes.
        o.uploadWindow = std::max(o.uploadWindow, 2 * kMaxChunkFrameBytes);
        o.maxClients = std::max(o.maxClients, 1);
        o.maxRequestsPerClient = std::max(o.maxRequestsPerClient, 1);
        return o;
    }

    struct Connection
    {
        quint64 id = 0;
        QLocalSocket *socket = nullptr;
        FrameReader reader;
        std::shared_ptr<ConnShared> shared;
        std::map<uint64_t, std::shared_ptr<RequestState>> requests;
        std::vector<std::shared_ptr<RequestState>> laggingProgress;
        bool helloDone = false;
        bool closing = false;
        bool readPaused = false;
        bool shutdownPending = false; // closing: shut the write side once the error frame is out
        uid_t uid = 0;
    };

    Connection *find(quint64 id)
    {
        auto it = m_conns.find(id);
        return it == m_conns.end() ? nullptr : it->second.get();
    }
    QString describe(const Connection &c) const
    {
        return QStringLiteral("client %1 (pid %2%3)")
            .arg(c.id)
            .arg(c.shared->pid)
            .arg(c.shared->clientName.isEmpty() ? QString() : QStringLiteral(", ") + c.shared->clientName);
    }

    void onNewConnection();
    void onReadyRead(quint64 id);
    void onBytesWritten(quint64 id);
    void onDisconnected(quint64 id);
    void handleMessage(Connection &c, FrameReader::Frame &&frame);
    void onRequest(Connection &c, Request &&request);
    void onOwnRequest(Connection &c, const Request &request);
    void onUploadChunk(Connection &c, Chunk &&chunk, uint32_t frameSize);
    void writeFrame(Connection &c, const Message &message);
    void writeBytes(Connection &c, const QByteArray &bytes);
    void writeProgress(Connection &c, std::vector<std::shared_ptr<RequestState>> &states);
    void afterWrite(Connection &c);
    // Sends error as an error frame, then closes the connection.
    void dropClient(Connection &c, const Status &error);
    void finishClosing(Connection &c);
    void teardown(Connection &c);
    void bumpStat(uint64_t ServerStats::*field)
    {
        std::lock_guard lock(m_statsMutex);
        ++(m_stats.*field);
    }

    RequestHandler &m_handler;
    const ControlServer::Options m_options;
    QLocalServer *m_server = nullptr;
    std::map<quint64, std::unique_ptr<Connection>> m_conns;
    quint64 m_nextId = 1;

    std::mutex m_registryMutex; // guards m_registry (publish runs on any thread)
    std::vector<std::shared_ptr<ConnShared>> m_registry;

    mutable std::mutex m_statsMutex;
    ServerStats m_stats;
    QString m_path;
};

void ConnShared::scheduleLocked()
{
    if (flushPosted || !alive)
        return;
    flushPosted = true;
    ServerCore *target = core;
    const quint64 id = connId;
    QMetaObject::invokeMethod(target, [target, id] { target->flush(id); }, Qt::QueuedConnection);
}

// --- listening and accepting --------------------------------------------------

Status ServerCore::listen(const QString &path)
{
    if (m_server)
        return Status::invalidArgument(QStringLiteral("the control server already listens on '%1'").arg(m_path));
    VD_TRY_ASSIGN(const int fd, bindListening(path));
    m_server = new QLocalServer(this);
    m_server->setMaxPendingConnections(m_options.maxClients + 16);
    if (!m_server->listen(qintptr(fd))) {
        ::close(fd);
        delete m_server;
        m_server = nullptr;
        return Status::ioError(QStringLiteral("cannot listen on '%1'").arg(path));
    }
    connect(m_server, &QLocalServer::newConnection, this, [this] { onNewConnection(); });
    {
        std::lock_guard lock(m_statsMutex);
        m_path = path;
    }
    qCDebug(lcControl, "listening on %s", qUtf8Printable(path));
    return {};
}

void ServerCore::onNewConnection()
{
    while (m_server && m_server->hasPendingConnections()) {
        QLocalSocket *socket = m_server->nextPendingConnection();
        auto c = std::make_unique<Connection>();
        c->id = m_nextId++;
        c->socket = socket;
        c->shared = std::make_shared<ConnShared>();
        c->shared->connId = c->id;
        c->shared->ioThread = thread();
        c->shared->core = this;
        socket->setReadBufferSize(kReadBufferBytes);

        // Who is at the other end: the kernel says, for every connection.
        ucred cred;
        socklen_t len = sizeof cred;
        const bool haveCred = ::getsockopt(int(socket->socketDescriptor()), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
        if (haveCred) {
            c->shared->pid = cred.pid;
            c->uid = cred.uid;
        }
        const quint64 id = c->id;
        connect(socket, &QLocalSocket::readyRead, this, [this, id] { onReadyRead(id); });
        connect(socket, &QLocalSocket::bytesWritten, this, [this, id] { onBytesWritten(id); });
        // Queued: disconnectFromServer() may emit it at once, inside a handler
        // that still uses the connection.
        connect(socket, &QLocalSocket::disconnected, this, [this, id] { onDisconnected(id); }, Qt::QueuedConnection);
        Connection &conn = *c;
        m_conns.emplace(id, std::move(c));

        if (!haveCred || cred.uid != ::geteuid()) {
            const QString who = haveCred ? QStringLiteral("uid %1 (pid %2)").arg(cred.uid).arg(cred.pid)
                                         : QStringLiteral("a peer whose credentials cannot be read (%1)").arg(errnoText(errno));
            qCWarning(lcControl, "refused a connection from %s: this node serves uid %u only", qUtf8Printable(who),
                      unsigned(::geteuid()));
            bumpStat(&ServerStats::connectionsRefused);
            dropClient(conn, Status::permissionDenied(
                                 QStringLiteral("this node serves uid %1 only; the connection came from %2").arg(::geteuid()).arg(who)));
            continue;
        }
        // Every open connection counts, said hello or not.
        const int clients = int(std::count_if(m_conns.begin(), m_conns.end(), [](const auto &entry) {
                                    return !entry.second->closing;
                                })) - 1;
        if (clients >= m_options.maxClients) {
            qCWarning(lcControl, "refused %s: already serving %d clients", qUtf8Printable(describe(conn)), clients);
            bumpStat(&ServerStats::connectionsRefused);
            dropClient(conn, Status::busy(QStringLiteral("the node already serves %1 clients").arg(clients)));
            continue;
        }
        bumpStat(&ServerStats::connectionsAccepted);
        {
            std::lock_guard lock(m_registryMutex);
            m_registry.push_back(conn.shared);
        }
        // A connection that never says hello does not hold its place for ever.
        QTimer::singleShot(m_options.helloTimeoutMs, this, [this, id] {
            Connection *late = find(id);
            if (late && !late->helloDone && !late->closing)
                dropClient(*late, Status::protocolError(QStringLiteral("no hello within %1 ms").arg(m_options.helloTimeoutMs)));
        });
        // Bytes may have arrived with the connection.
        onReadyRead(id);
    }
}

// --- reading -----------------------------------------------------------------

void ServerCore::onReadyRead(quint64 id)
{
    Connection *c = find(id);
    if (!c)
        return;
    if (c->closing) {
        c->socket->readAll(); // see dropClient()
        return;
    }
    while (!c->readPaused && c->socket->bytesAvailable() > 0) {
        c->reader.readFrom(*c->socket);
        for (;;) {
            auto frame = c->reader.next();
            if (!frame) {
                dropClient(*c, frame.status());
                return;
            }
            if (!*frame)
                break;
            handleMessage(*c, std::move(**frame));
            if (c->closing)
                return;
        }
        if (c->socket->bytesToWrite() > kReadPauseBytes)
            c->readPaused = true;
    }
}

void ServerCore::handleMessage(Connection &c, FrameReader::Frame &&frame)
{
    Message &message = frame.message;
    if (!c.helloDone) {
        auto *hello = std::get_if<Hello>(&message);
        if (!hello) {
            dropClient(c, Status::protocolError(QStringLiteral("the first frame must be a hello, not a %1")
                                                    .arg(QLatin1String(kindName(message)))));
            return;
        }
        if (hello->version != kProtocolVersion) {
            dropClient(c, Status::versionMismatch(
                              QStringLiteral("this node (pid %1) speaks control protocol %2; the client speaks %3. "
                                             "Use the vdrive of the same version as the node")
                                  .arg(::getpid())
                                  .arg(kProtocolVersion)
                                  .arg(hello->version)));
            return;
        }
        c.helloDone = true;
        c.shared->clientName = hello->client;
        {
            std::lock_guard lock(m_statsMutex);
            ++m_stats.clients;
        }
        qCDebug(lcControl, "accepted %s", qUtf8Printable(describe(c)));
        writeFrame(c, Welcome{kProtocolVersion, m_options.name, uint64_t(::getpid())});
        return;
    }
    if (auto *request = std::get_if<Request>(&message)) {
        onRequest(c, std::move(*request));
    } else if (auto *credit = std::get_if<Credit>(&message)) {
        auto it = c.requests.find(credit->id);
        if (it == c.requests.end())
            return; // the request ended meanwhile
        RequestState &st = *it->second;
        bool excessive;
        {
            std::lock_guard lock(st.m);
            // More than any client could have in flight: a broken client.
            excessive = credit->n > kMaxCredit || st.credit > int64_t(kMaxCredit);
            if (!excessive) {
                st.credit += int64_t(credit->n);
                st.cv.notify_all();
            }
        }
        if (excessive)
            dropClient(c, Status::protocolError(QStringLiteral("request %1: a credit beyond any window").arg(credit->id)));
        return;
    } else if (auto *cancel = std::get_if<Cancel>(&message)) {
        auto it = c.requests.find(cancel->id);
        if (it == c.requests.end())
            return; // already answered
        std::function<void()> fn;
        {
            RequestState &st = *it->second;
            std::lock_guard lock(st.m);
            if (st.cancelled || st.replied)
                return;
            st.cancelled = true;
            fn = std::move(st.onCancel);
            st.cv.notify_all();
        }
        qCDebug(lcControl, "%s cancelled request %llu", qUtf8Printable(describe(c)), qulonglong(cancel->id));
        if (fn)
            fn();
        return;
    } else if (auto *chunk = std::get_if<Chunk>(&message)) {
        onUploadChunk(c, std::move(*chunk), frame.size);
        return;
    } else if (auto *error = std::get_if<Error>(&message)) {
        qCDebug(lcControl, "%s closed the connection: %s", qUtf8Printable(describe(c)),
               qUtf8Printable(error->status.toString()));
        c.closing = true;
        teardown(c);
        c.socket->disconnectFromServer();
        return;
    } else {
        dropClient(c, Status::protocolError(
                          QStringLiteral("a client may not send a %1 frame").arg(QLatin1String(kindName(message)))));
    }
}

void ServerCore::onRequest(Connection &c, Request &&request)
{
    if (c.requests.count(request.id)) {
        dropClient(c, Status::protocolError(QStringLiteral("request id %1 is already in flight").arg(request.id)));
        return;
    }
    if (request.method.startsWith(QLatin1String("control."))) {
        onOwnRequest(c, request);
        return;
    }
    if (int(c.requests.size()) >= m_options.maxRequestsPerClient) {
        writeFrame(c, Reply{request.id,
                            Status::busy(QStringLiteral("this client already has %1 requests in flight")
                                             .arg(m_options.maxRequestsPerClient)),
                            {}});
        return;
    }
    auto st = std::make_shared<RequestState>();
    st->id = request.id;
    st->method = request.method;
    st->upload = request.upload;
    st->uploadWindow = m_options.uploadWindow;
    st->conn = c.shared;
    st->credit = int64_t(std::min(request.credit, kMaxCredit));
    if (st->upload) {
        st->uploadCredit = m_options.uploadWindow;
        writeFrame(c, Credit{request.id, m_options.uploadWindow});
    }
    c.requests.emplace(request.id, st);
    {
        std::lock_guard lock(m_statsMutex);
        ++m_stats.requestsInFlight;
    }
    m_handler.handle(request, Responder(std::move(st)));
}

void ServerCore::onOwnRequest(Connection &c, const Request &request)
{
    if (request.method == QLatin1String("control.ping")) {
        writeFrame(c, Reply{request.id, {}, request.args});
    } else if (request.method == QLatin1String("control.subscribe")) {
        const QCborValue topics = request.args.toMap().value(QLatin1String("topics"));
        QStringList list;
        bool ok = topics.isArray() && topics.toArray().size() <= kMaxTopics;
        if (ok) {
            for (const QCborValue &t : topics.toArray()) {
                if (!t.isString() || t.toString().size() > kMaxNameLength) {
                    ok = false;
                    break;
                }
                list.append(t.toString());
            }
        }
        if (!ok) {
            writeFrame(c, Reply{request.id,
                                Status::invalidArgument(QStringLiteral("control.subscribe takes {topics: [text]}, at most %1 "
                                                                       "topics of at most %2 characters")
                                                            .arg(kMaxTopics)
                                                            .arg(kMaxNameLength)),
                                {}});
            return;
        }
        {
            std::lock_guard lock(c.shared->m);
            c.shared->topics = list;
        }
        writeFrame(c, Reply{request.id, {}, QCborValue(QCborValue::Null)});
    } else {
        writeFrame(c, Reply{request.id, Status::invalidArgument(QStringLiteral("unknown method '%1'").arg(request.method)), {}});
    }
    bumpStat(&ServerStats::requestsServed);
}

void ServerCore::onUploadChunk(Connection &c, Chunk &&chunk, uint32_t frameSize)
{
    auto it = c.requests.find(chunk.id);
    if (it == c.requests.end())
        return; // the request ended (its reply is on its way); the client stops at it
    RequestState &st = *it->second;
    Status error;
    {
        std::lock_guard lock(st.m);
        if (!st.upload)
            error = Status::protocolError(QStringLiteral("a chunk for request %1, which has no upload").arg(chunk.id));
        else if (st.ended)
            error = Status::protocolError(QStringLiteral("a chunk after the end of upload %1").arg(chunk.id));
        else if (chunk.isItems)
            error = Status::protocolError(QStringLiteral("an upload chunk with items instead of data"));
        else if (chunk.seq != st.nextSeq)
            error = Status::protocolError(
                QStringLiteral("upload %1: chunk %2 where chunk %3 was due").arg(chunk.id).arg(chunk.seq).arg(st.nextSeq));
        else if (int64_t(frameSize) > st.uploadCredit)
            error = Status::protocolError(QStringLiteral("upload %1: a chunk of %2 bytes beyond the credit of %3")
                                              .arg(chunk.id)
                                              .arg(frameSize)
                                              .arg(st.uploadCredit));
        if (error.isOk()) {
            st.uploadCredit -= frameSize;
            ++st.nextSeq;
            if (!chunk.data.isEmpty())
                st.inbox.emplace_back(std::move(chunk.data), frameSize);
            else
                st.consumed += frameSize;
            st.ended = chunk.end;
            st.cv.notify_all();
        }
    }
    if (!error.isOk())
        dropClient(c, error);
}

// --- writing -----------------------------------------------------------------

void ServerCore::writeFrame(Connection &c, const Message &message)
{
    auto frame = encodeFrame(message);
    if (!frame) {
        qCWarning(lcControl, "cannot encode a %s frame: %s", kindName(message), qUtf8Printable(frame.status().toString()));
        return;
    }
    c.shared->post(OutFrame{std::move(frame).value(), std::nullopt});
}

// Straight to the kernel while the socket's own buffer is empty (no copy into
// it, and the order of bytes kept); what the kernel does not take now, Qt's
// buffer keeps and writes when the socket can take more.
void ServerCore::writeBytes(Connection &c, const QByteArray &bytes)
{
    qsizetype sent = 0;
    if (c.socket->bytesToWrite() == 0) {
        const ssize_t n = ::send(int(c.socket->socketDescriptor()), bytes.constData(), size_t(bytes.size()),
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        // An error other than a full socket: left to Qt, which reports it.
        if (n > 0)
            sent = n;
    }
    if (sent < bytes.size())
        c.socket->write(bytes.constData() + sent, bytes.size() - sent);
}

void ServerCore::flush(quint64 connId)
{
    Connection *c = find(connId);
    if (!c)
        return;
    std::deque<OutFrame> frames;
    std::vector<std::shared_ptr<RequestState>> progress;
    {
        std::lock_guard lock(c->shared->m);
        frames.swap(c->shared->outbox);
        progress.swap(c->shared->progressQueue);
        c->shared->flushPosted = false;
    }
    for (OutFrame &f : frames) {
        if (!c->closing)
            writeBytes(*c, f.bytes);
        if (f.finishes) {
            if (c->requests.erase(*f.finishes)) {
                std::lock_guard lock(m_statsMutex);
                --m_stats.requestsInFlight;
                ++m_stats.requestsServed;
            }
        }
    }
    for (auto &st : progress)
        c->laggingProgress.push_back(std::move(st));
    afterWrite(*c);
}

void ServerCore::writeProgress(Connection &c, std::vector<std::shared_ptr<RequestState>> &states)
{
    std::vector<std::shared_ptr<RequestState>> later;
    for (auto &st : states) {
        std::optional<Progress> report;
        {
            std::lock_guard lock(st->m);
            if (st->replied || st->gone || !st->pendingProgress) {
                st->progressQueued = false;
                continue;
            }
            if (c.socket->bytesToWrite() > kProgressSlack) {
                later.push_back(st);
                continue;
            }
            report = st->pendingProgress;
            st->pendingProgress.reset();
            st->progressQueued = false;
        }
        if (auto frame = encodeFrame(*report))
            writeBytes(c, *frame);
    }
    states = std::move(later);
}

void ServerCore::afterWrite(Connection &c)
{
    if (c.closing) {
        finishClosing(c);
        return;
    }
    writeProgress(c, c.laggingProgress);
    qint64 buffered = c.socket->bytesToWrite();
    uint64_t missed = 0;
    {
        std::lock_guard lock(c.shared->m);
        if (c.shared->missed && buffered < m_options.eventBufferBytes / 2) {
            missed = c.shared->missed;
            c.shared->missed = 0;
        }
    }
    if (missed) {
        QCborMap payload;
        payload.insert(QLatin1String("missed"), qint64(missed));
        if (auto frame = encodeFrame(Event{QStringLiteral("control.missed"), payload}))
            writeBytes(c, *frame);
        buffered = c.socket->bytesToWrite();
    }
    {
        std::lock_guard lock(c.shared->m);
        c.shared->socketBuffered = buffered;
    }
    {
        std::lock_guard lock(m_statsMutex);
        m_stats.peakBufferedBytes = std::max(m_stats.peakBufferedBytes, buffered);
    }
    if (c.readPaused && buffered < kReadPauseBytes / 2) {
        c.readPaused = false;
        const quint64 id = c.id;
        QMetaObject::invokeMethod(this, [this, id] { onReadyRead(id); }, Qt::QueuedConnection);
    }
}

void ServerCore::onBytesWritten(quint64 id)
{
    if (Connection *c = find(id))
        afterWrite(*c);
}

void ServerCore::publish(const QString &topic, const QCborValue &payload)
{
    auto frame = encodeFrame(Event{topic, payload});
    if (!frame) {
        qCWarning(lcControl, "cannot publish on %s: %s", qUtf8Printable(topic), qUtf8Printable(frame.status().toString()));
        return;
    }
    std::vector<std::shared_ptr<ConnShared>> targets;
    {
        std::lock_guard lock(m_registryMutex);
        targets = m_registry;
    }
    uint64_t dropped = 0;
    for (auto &conn : targets) {
        std::lock_guard lock(conn->m);
        if (!conn->alive || !topicMatches(conn->topics, topic))
            continue;
        qint64 waiting = conn->socketBuffered;
        for (const OutFrame &f : conn->outbox)
            waiting += f.bytes.size();
        if (waiting + frame->size() > m_options.eventBufferBytes) {
            ++conn->missed;
            ++dropped;
            continue;
        }
        conn->outbox.push_back(OutFrame{*frame, std::nullopt});
        conn->scheduleLocked();
    }
    if (dropped) {
        std::lock_guard lock(m_statsMutex);
        m_stats.eventsDropped += dropped;
    }
}

// --- closing -----------------------------------------------------------------

void ServerCore::dropClient(Connection &c, const Status &error)
{
    if (c.closing)
        return;
    if (error.code() == ErrorCode::ProtocolError || error.code() == ErrorCode::VersionMismatch) {
        qCWarning(lcControl, "%s: %s; disconnecting it", qUtf8Printable(describe(c)), qUtf8Printable(error.toString()));
        bumpStat(&ServerStats::protocolErrors);
    }
    // What was queued for the client (its welcome, replies) goes out first.
    std::deque<OutFrame> queued;
    {
        std::lock_guard lock(c.shared->m);
        queued.swap(c.shared->outbox);
    }
    for (const OutFrame &f : queued)
        writeBytes(c, f.bytes);
    c.closing = true;
    teardown(c);
    if (auto frame = encodeFrame(Error{error}))
        writeBytes(c, *frame);
    // A half-close once the error frame is out: the client reads it, then the
    // end of the stream. What the client still sends is read and thrown away
    // until it closes (a socket closed with unread data makes the kernel reset
    // the other side, which could lose the error frame there).
    c.shutdownPending = true;
    c.socket->flush();
    finishClosing(c);
    // A client that neither reads nor closes is cut off after a while.
    QPointer<QLocalSocket> socket(c.socket);
    QTimer::singleShot(kCloseGraceMs, this, [socket] {
        if (socket)
            socket->abort();
    });
}

void ServerCore::finishClosing(Connection &c)
{
    if (c.shutdownPending && c.socket->bytesToWrite() == 0) {
        c.shutdownPending = false;
        ::shutdown(int(c.socket->socketDescriptor()), SHUT_WR);
    }
}

void ServerCore::teardown(Connection &c)
{
    // The requests first: a handler thread that sends meanwhile sees its
    // request gone (under the request's lock) before it could see the
    // connection dead, so the cancel callbacks are taken before any handler
    // can answer because of the teardown itself.
    std::vector<std::function<void()>> cancels;
    for (auto &[id, st] : c.requests) {
        std::lock_guard lock(st->m);
        st->gone = true;
        if (!st->cancelled && !st->replied && st->onCancel)
            cancels.push_back(std::move(st->onCancel));
        st->cancelled = true;
        st->cv.notify_all();
    }
    {
        std::lock_guard lock(c.shared->m);
        c.shared->alive = false;
        c.shared->outbox.clear();
        c.shared->progressQueue.clear();
    }
    {
        std::lock_guard lock(m_registryMutex);
        std::erase(m_registry, c.shared);
    }
    {
        std::lock_guard lock(m_statsMutex);
        m_stats.requestsInFlight -= int(c.requests.size());
        if (c.helloDone)
            --m_stats.clients;
    }
    c.requests.clear();
    c.laggingProgress.clear();
    c.helloDone = false;
    for (auto &fn : cancels)
        fn();
}

void ServerCore::onDisconnected(quint64 id)
{
    Connection *c = find(id);
    if (!c)
        return;
    if (!c->closing) {
        // What was left unread, then whether the client stopped mid-frame.
        c->reader.readFrom(*c->socket);
        for (;;) {
            auto frame = c->reader.next();
            if (!frame || !*frame || c->closing)
                break;
            handleMessage(*c, std::move(**frame));
        }
        const Status end = c->reader.atEnd();
        if (!end.isOk() && !c->closing) {
            qCWarning(lcControl, "%s went away: %s", qUtf8Printable(describe(*c)), qUtf8Printable(end.toString()));
            bumpStat(&ServerStats::protocolErrors);
        } else {
            qCDebug(lcControl, "%s disconnected", qUtf8Printable(describe(*c)));
        }
        c->closing = true;
        teardown(*c);
    }
    c->socket->deleteLater();
    m_conns.erase(id);
}

void ServerCore::shutdown()
{
    for (auto &[id, c] : m_conns) {
        if (!c->closing) {
            c->closing = true;
            teardown(*c);
            if (auto frame = encodeFrame(Error{Status::peerUnavailable(QStringLiteral("the node is stopping"))}))
                writeBytes(*c, *frame);
            c->socket->flush();
        }
        c->socket->abort();
        delete c->socket;
    }
    m_conns.clear();
    if (m_server) {
        m_server->close();
        delete m_server;
        m_server = nullptr;
    }
}

// --- Responder -------------------------------------------------------------------

struct Responder::Core
{
    std::shared_ptr<RequestState> st;

    explicit Core(std::shared_ptr<RequestState> state) : st(std::move(state)) {}
    ~Core()
    {
        bool replied;
        {
            std::lock_guard lock(st->m);
            replied = st->replied;
        }
        if (!replied)
            reply(Status::internal(QStringLiteral("the node dropped request %1 (%2) without answering").arg(st->id).arg(st->method)),
                  {});
    }
    Core(const Core &) = delete;
    Core &operator=(const Core &) = delete;

    bool onIoThread() const { return QThread::currentThread() == st->conn->ioThread; }

    void reply(const Status &error, const QCborValue &result)
    {
        std::lock_guard lock(st->m);
        if (st->replied)
            return;
        st->replied = true;
        st->pendingProgress.reset();
        st->cv.notify_all();
        auto frame = encodeFrame(Reply{st->id, error, result});
        if (!frame)
            frame = encodeFrame(Reply{st->id,
                                      Status::internal(QStringLiteral("the reply to request %1 (%2) does not fit one frame: %3")
                                                           .arg(st->id)
                                                           .arg(st->method, frame.status().message())),
                                      {}});
        if (frame)
            st->conn->post(OutFrame{std::move(frame).value(), st->id});
    }

    Status stateError(bool afterReplyIsError) const
    {
        if (st->gone)
            return Status::peerUnavailable(QStringLiteral("the client of request %1 (%2) went away").arg(st->id).arg(st->method));
        if (st->cancelled)
            return Status::cancelled(QStringLiteral("the client cancelled request %1 (%2)").arg(st->id).arg(st->method));
        if (afterReplyIsError && st->replied)
            return Status::internal(QStringLiteral("request %1 (%2) was already answered").arg(st->id).arg(st->method));
        return {};
    }

    Status sendChunk(Chunk chunk)
    {
        if (onIoThread())
            return Status::internal(QStringLiteral("a stream chunk sent on the control server's own thread would block it"));
        std::unique_lock lock(st->m);
        for (;;) {
            VD_TRY(stateError(true));
            const uint64_t seq = st->seq;
            chunk.id = st->id;
            chunk.seq = seq;
            VD_TRY_ASSIGN(QByteArray frame, encodeFrame(chunk));
            if (frame.size() > qsizetype(kMaxChunkFrameBytes))
                return Status::invalidArgument(QStringLiteral("a chunk of %1 bytes exceeds the bound of %2 bytes")
                                                   .arg(frame.size())
                                                   .arg(kMaxChunkFrameBytes));
            const int64_t size = frame.size();
            st->cv.wait(lock, [&] { return st->credit >= size || st->gone || st->cancelled || st->replied || st->seq != seq; });
            if (st->seq != seq)
                continue; // another thread sent a chunk meanwhile: renumber
            VD_TRY(stateError(true));
            st->credit -= size;
            ++st->seq;
            if (!st->conn->post(OutFrame{std::move(frame), std::nullopt}))
                return Status::peerUnavailable(QStringLiteral("the client of request %1 (%2) went away").arg(st->id).arg(st->method));
            return {};
        }
    }
};

Responder::Responder(std::shared_ptr<RequestState> state) : m_core(std::make_shared<Core>(std::move(state))) {}
Responder::~Responder() = default;

uint64_t Responder::id() const { return m_core->st->id; }
QString Responder::method() const { return m_core->st->method; }
QString Responder::clientName() const { return m_core->st->conn->clientName; }
qint64 Responder::clientPid() const { return m_core->st->conn->pid; }

Status Responder::sendData(const QByteArray &data)
{
    if (data.size() > qsizetype(kMaxChunkBytes))
        return Status::invalidArgument(
            QStringLiteral("a chunk of %1 bytes exceeds the bound of %2 bytes").arg(data.size()).arg(kMaxChunkBytes));
    Chunk chunk;
    chunk.data = data;
    return m_core->sendChunk(std::move(chunk));
}

Status Responder::sendItems(const QCborArray &items)
{
    Chunk chunk;
    chunk.isItems = true;
    chunk.items = items;
    return m_core->sendChunk(std::move(chunk));
}

void Responder::progress(uint64_t done, uint64_t total)
{
    RequestState &st = *m_core->st;
    std::lock_guard lock(st.m);
    if (st.replied || st.gone)
        return;
    st.pendingProgress = Progress{st.id, done, total};
    if (st.progressQueued)
        return;
    st.progressQueued = true;
    std::lock_guard connLock(st.conn->m);
    if (!st.conn->alive)
        return;
    st.conn->progressQueue.push_back(m_core->st);
    st.conn->scheduleLocked();
}

Result<std::optional<QByteArray>> Responder::readData()
{
    RequestState &st = *m_core->st;
    if (m_core->onIoThread())
        return Status::internal(QStringLiteral("an upload read on the control server's own thread would block it"));
    std::unique_lock lock(st.m);
    if (!st.upload)
        return Status::invalidArgument(QStringLiteral("request %1 (%2) has no upload").arg(st.id).arg(st.method));
    st.cv.wait(lock, [&] { return !st.inbox.empty() || st.ended || st.gone || st.cancelled; });
    VD_TRY(m_core->stateError(false));
    if (st.inbox.empty())
        return std::optional<QByteArray>();
    auto [data, frameSize] = std::move(st.inbox.front());
    st.inbox.pop_front();
    st.consumed += frameSize;
    if (!st.ended && st.consumed >= int64_t(st.uploadWindow / 4)) {
        const auto grant = uint64_t(st.consumed);
        st.consumed = 0;
        st.uploadCredit += int64_t(grant);
        if (auto frame = encodeFrame(Credit{st.id, grant}))
            st.conn->post(OutFrame{std::move(frame).value(), std::nullopt});
    }
    return std::optional<QByteArray>(std::move(data));
}

void Responder::finish(const QCborValue &result) { m_core->reply({}, result); }

void Responder::fail(const Status &error)
{
    m_core->reply(error.isOk() ? Status::internal(QStringLiteral("a request failed with an OK status")) : error, {});
}

bool Responder::isCancelled() const
{
    std::lock_guard lock(m_core->st->m);
    return m_core->st->cancelled || m_core->st->gone;
}

void Responder::onCancel(std::function<void()> fn)
{
    {
        std::lock_guard lock(m_core->st->m);
        if (!m_core->st->cancelled && !m_core->st->gone) {
            m_core->st->onCancel = std::move(fn);
            return;
        }
    }
    fn();
}

// --- ControlServer ------------------------------------------------------------------

ControlServer::ControlServer(RequestHandler &handler) : ControlServer(handler, Options()) {}

ControlServer::ControlServer(RequestHandler &handler, Options options)
    : m_thread(std::make_unique<QThread>()), m_core(new ServerCore(handler, std::move(options)))
{
    m_thread->setObjectName(QStringLiteral("vd-control"));
    m_core->moveToThread(m_thread.get());
    m_thread->start();
}

ControlServer::~ControlServer()
{
    QMetaObject::invokeMethod(m_core, [core = m_core] { core->shutdown(); }, Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
    delete m_core;
}

Status ControlServer::listen(const QString &socketPath)
{
    Status result;
    if (QThread::currentThread() == m_thread.get()) {
        result = m_core->listen(socketPath);
    } else {
        QMetaObject::invokeMethod(
            m_core, [&] { result = m_core->listen(socketPath); }, Qt::BlockingQueuedConnection);
    }
    return result;
}

QString ControlServer::socketPath() const { return m_core->socketPath(); }

void ControlServer::publish(const QString &topic, const QCborValue &payload) { m_core->publish(topic, payload); }

ServerStats ControlServer::stats() const { return m_core->stats(); }

Result<QString> ControlServer::socketPathFor(const QString &dataDir)
{
    const QString dir = QDir::cleanPath(QDir(dataDir).absolutePath());
    const QString direct = dir + QStringLiteral("/node.sock");
    if (fitsSocketAddress(direct))
        return direct;
    const QString name = QStringLiteral("node-%1.sock")
                             .arg(QString::fromLatin1(
                                 QCryptographicHash::hash(QFile::encodeName(dir), QCryptographicHash::Sha256).toHex().left(32)));
    const QString runtime = qEnvironmentVariable("XDG_RUNTIME_DIR");
    if (!runtime.isEmpty() && QDir::isAbsolutePath(runtime)) {
        const QString home = QDir::cleanPath(runtime) + QStringLiteral("/vdrive");
        const QString path = home + QLatin1Char('/') + name;
        if (fitsSocketAddress(path)) {
            VD_TRY(ensurePrivateDir(home));
            return path;
        }
    }
    const QString tmp = QStringLiteral("/tmp/vdrive-%1").arg(::geteuid());
    VD_TRY(ensurePrivateDir(tmp));
    return tmp + QLatin1Char('/') + name;
}

} // namespace vd::control
