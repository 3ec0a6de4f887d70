// The control socket (engine/control/): frames and their reader, the server
// and the client over real Unix sockets (flow control, cancel, uploads,
// events, many clients), peers that break the protocol, another user, a
// server killed mid-stream, and one node per data directory.
#include "testsupport.h"

#include "control/controlclient.h"
#include "control/controlserver.h"
#include "control/frame.h"
#include "control/nodelock.h"
#include "io/memenv.h"
#include "controltoy.h"

#include <QCborMap>
#include <QCborStreamWriter>
#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QThread>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace vd;
using namespace vd::control;

namespace {

QByteArray frameOf(const Message &m)
{
    auto f = encodeFrame(m);
    return f ? *f : QByteArray();
}

QByteArray le32(uint32_t n)
{
    QByteArray b(4, '\0');
    for (int i = 0; i < 4; ++i)
        b[i] = char((n >> (8 * i)) & 0xff);
    return b;
}

QByteArray rawFrame(const QByteArray &body) { return le32(uint32_t(body.size())) + body; }

QCborMap mapOf(std::initializer_list<std::pair<const char *, QCborValue>> fields)
{
    QCborMap m;
    for (const auto &[k, v] : fields)
        m.insert(QLatin1String(k), v);
    return m;
}

QByteArray helloFrame(uint64_t version = kProtocolVersion) { return frameOf(Hello{version, QStringLiteral("raw")}); }

sockaddr_un addressOf(const QString &path)
{
    sockaddr_un addr;
    std::memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    const QByteArray enc = QFile::encodeName(path);
    std::memcpy(addr.sun_path, enc.constData(), size_t(std::min<qsizetype>(enc.size(), sizeof addr.sun_path - 1)));
    return addr;
}

// A client that speaks raw bytes, to send what a ControlClient never would.
class RawClient
{
public:
    explicit RawClient(const QString &path)
    {
        m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const sockaddr_un addr = addressOf(path);
        if (::connect(m_fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0) {
            ::close(m_fd);
            m_fd = -1;
        }
    }
    ~RawClient()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    RawClient(const RawClient &) = delete;
    RawClient &operator=(const RawClient &) = delete;

    bool isConnected() const { return m_fd >= 0; }
    bool send(const QByteArray &bytes)
    {
        qsizetype done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::send(m_fd, bytes.constData() + done, size_t(bytes.size() - done), MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            done += n;
        }
        return true;
    }
    void shutdownWrite() { ::shutdown(m_fd, SHUT_WR); }
    // What the server sends until it closes the connection (closed = true),
    // or until timeoutMs pass without it closing.
    QByteArray readToEnd(int timeoutMs, bool *closed)
    {
        QByteArray out;
        *closed = false;
        QElapsedTimer clock;
        clock.start();
        while (clock.elapsed() < timeoutMs) {
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, int(timeoutMs - clock.elapsed())) <= 0)
                break;
            char buf[65536];
            const ssize_t n = ::read(m_fd, buf, sizeof buf);
            if (n <= 0) {
                *closed = true;
                break;
            }
            out.append(buf, n);
        }
        return out;
    }

private:
    int m_fd = -1;
};

std::vector<Message> framesIn(const QByteArray &bytes, Status *tail = nullptr)
{
    FrameReader reader;
    reader.append(bytes);
    std::vector<Message> out;
    for (;;) {
        auto f = reader.next();
        if (!f || !*f) {
            if (tail)
                *tail = f ? reader.atEnd() : f.status();
            break;
        }
        out.push_back(std::move((*f)->message));
    }
    return out;
}

// A server (the toy handler behind it) on a path of the test's own.
struct Served
{
    test::ToyHandler handler;
    ControlServer server;
    explicit Served(ControlServer::Options options = {}) : server(handler, std::move(options))
    {
        handler.setServer(&server);
    }
};

// A one-shot fake node: accepts one connection, reads what comes (the
// hello), answers with script, and closes.
class FakeNode
{
public:
    FakeNode(const QString &path, QByteArray script) : m_script(std::move(script))
    {
        m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const sockaddr_un addr = addressOf(path);
        m_ok = ::bind(m_fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) == 0 && ::listen(m_fd, 4) == 0;
        if (m_ok)
            m_thread = std::thread([this] { run(); });
    }
    ~FakeNode()
    {
        if (m_thread.joinable())
            m_thread.join();
        ::close(m_fd);
    }
    FakeNode(const FakeNode &) = delete;
    FakeNode &operator=(const FakeNode &) = delete;
    bool isListening() const { return m_ok; }

private:
    void run()
    {
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, 30000) <= 0)
            return;
        const int c = ::accept(m_fd, nullptr, nullptr);
        if (c < 0)
            return;
        pollfd q{c, POLLIN, 0};
        char buf[4096];
        if (::poll(&q, 1, 30000) > 0)
            (void)::read(c, buf, sizeof buf);
        (void)::send(c, m_script.constData(), size_t(m_script.size()), MSG_NOSIGNAL);
        ::close(c);
    }

    int m_fd = -1;
    bool m_ok = false;
    QByteArray m_script;
    std::thread m_thread;
};

// Starts the helper process and waits (bounded) for its first line.
QString startPeer(QProcess &peer, const QStringList &args)
{
    peer.start(QStringLiteral(VD_CONTROLPEER), args);
    if (!peer.waitForStarted(10000))
        return QStringLiteral("did not start");
    QElapsedTimer clock;
    clock.start();
    while (!peer.canReadLine()) {
        if (clock.elapsed() > 30000 || peer.state() != QProcess::Running)
            return QStringLiteral("said nothing");
        peer.waitForReadyRead(1000);
    }
    return QString::fromUtf8(peer.readLine()).trimmed();
}

} // namespace

class TestControl : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_tmp;
    int m_serial = 0;

    QString newSocketPath() { return m_tmp.filePath(QStringLiteral("s%1").arg(++m_serial)); }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_tmp.isValid()); }

    // --- frames -------------------------------------------------------------

    void everyKindRoundTripsByteByByte()
    {
        QCborArray items;
        items.append(1);
        items.append(QStringLiteral("two"));
        Chunk data;
        data.id = 9;
        data.seq = 3;
        data.data = QByteArray("\x00\x01payload", 9);
        Chunk itemChunk;
        itemChunk.id = 9;
        itemChunk.seq = 4;
        itemChunk.isItems = true;
        itemChunk.items = items;
        itemChunk.end = true;
        const std::vector<Message> messages = {
            Hello{1, QStringLiteral("vdrive ls")},
            Welcome{1, QStringLiteral("vdrive serve"), 4242},
            Request{7, QStringLiteral("ls"), mapOf({{"path", QStringLiteral("/a")}}), 1 << 20, true},
            Reply{7, {}, mapOf({{"entries", 3}})},
            Reply{8, Status::notFound(QStringLiteral("no '/b'")), {}},
            data,
            itemChunk,
            Credit{9, 65536},
            Cancel{9},
            Progress{9, 5, 10},
            Event{QStringLiteral("changes/docs"), mapOf({{"seq", 12}})},
            Error{Status::versionMismatch(QStringLiteral("speaks 2"))},
        };
        QByteArray stream;
        for (const Message &m : messages)
            stream += frameOf(m);
        FrameReader reader;
        std::vector<FrameReader::Frame> got;
        for (char byte : stream) {
            reader.append(QByteArrayView(&byte, 1));
            auto f = reader.next();
            VD_VERIFY_OK(f);
            if (*f)
                got.push_back(std::move(**f));
        }
        VD_VERIFY_OK(reader.atEnd());
        QCOMPARE(got.size(), messages.size());
        for (size_t i = 0; i < messages.size(); ++i) {
            QCOMPARE(got[i].message.index(), messages[i].index());
            QCOMPARE(frameOf(got[i].message), frameOf(messages[i]));
            QCOMPARE(qsizetype(got[i].size), frameOf(messages[i]).size());
        }
        const auto &request = std::get<Request>(got[2].message);
        QCOMPARE(request.method, QStringLiteral("ls"));
        QCOMPARE(request.credit, uint64_t(1) << 20);
        QVERIFY(request.upload);
        const auto &failed = std::get<Reply>(got[4].message);
        QCOMPARE(failed.error.code(), ErrorCode::NotFound);
        QCOMPARE(failed.error.message(), QStringLiteral("no '/b'"));
        QCOMPARE(std::get<Chunk>(got[5].message).data, data.data);
        QCOMPARE(std::get<Chunk>(got[6].message).items, items);
        QVERIFY(std::get<Chunk>(got[6].message).end);
        QCOMPARE(std::get<Error>(got[11].message).status.code(), ErrorCode::VersionMismatch);
    }

    void unknownFieldsAreIgnored()
    {
        QCborMap m = mapOf({{"kind", QStringLiteral("cancel")}, {"id", 5}, {"from-the-future", true}});
        auto decoded = decodeBody(m.toCborValue().toCbor());
        VD_VERIFY_OK(decoded);
        QCOMPARE(std::get<Cancel>(*decoded).id, uint64_t(5));
    }

    void errorCodesRoundTrip()
    {
        for (int c = int(ErrorCode::NotFound); c <= int(ErrorCode::Internal); ++c) {
            const Status s = statusFromWire(wireCodeName(ErrorCode(c)), QStringLiteral("m"));
            QCOMPARE(int(s.code()), c);
            QCOMPARE(s.message(), QStringLiteral("m"));
        }
        const Status unknown = statusFromWire(QStringLiteral("out-of-cheese"), QStringLiteral("m"));
        QCOMPARE(unknown.code(), ErrorCode::Internal);
        QVERIFY(unknown.message().contains(QStringLiteral("'out-of-cheese'")));
    }

    void badFramesAreClearErrors_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");

        QTest::newRow("oversize length, no body yet") << le32(kMaxFrameBytes + 1) << QStringLiteral("exceeds the bound of 1048576 bytes");
        QTest::newRow("4 GiB length") << le32(0xffffffffu) << QStringLiteral("frame of 4294967295 bytes");
        QTest::newRow("empty body") << rawFrame(QByteArray()) << QStringLiteral("not CBOR");
        QTest::newRow("not CBOR") << rawFrame(QByteArray("\xff\xfe garbage")) << QStringLiteral("not CBOR");
        QTest::newRow("cut CBOR") << rawFrame(QByteArray("\xa2\x64kind")) << QStringLiteral("not CBOR");
        QTest::newRow("array claims 2^64 items")
            << rawFrame(QByteArray("\x9b\xff\xff\xff\xff\xff\xff\xff\xff", 9)) << QStringLiteral("not CBOR");
        QTest::newRow("not a map") << rawFrame(QCborValue(42).toCbor()) << QStringLiteral("not a CBOR map");
        QTest::newRow("bytes after the item")
            << rawFrame(mapOf({{"kind", QStringLiteral("cancel")}, {"id", 1}}).toCborValue().toCbor() + QByteArray(1, '\0'))
            << QStringLiteral("1 bytes follow the CBOR item");
        QTest::newRow("no kind") << rawFrame(mapOf({{"id", 1}}).toCborValue().toCbor()) << QStringLiteral("without field 'kind'");
        QTest::newRow("unknown kind") << rawFrame(mapOf({{"kind", QStringLiteral("shout")}}).toCborValue().toCbor())
                                      << QStringLiteral("unknown kind 'shout'");
        QTest::newRow("request without id")
            << rawFrame(mapOf({{"kind", QStringLiteral("request")}, {"method", QStringLiteral("ls")}}).toCborValue().toCbor())
            << QStringLiteral("a request without field 'id'");
        QTest::newRow("id as text")
            << rawFrame(mapOf({{"kind", QStringLiteral("cancel")}, {"id", QStringLiteral("1")}}).toCborValue().toCbor())
            << QStringLiteral("field 'id' of a cancel is not an unsigned integer");
        QTest::newRow("negative id") << rawFrame(mapOf({{"kind", QStringLiteral("cancel")}, {"id", -1}}).toCborValue().toCbor())
                                     << QStringLiteral("field 'id' of a cancel is not an unsigned integer");
        QTest::newRow("method too long")
            << rawFrame(mapOf({{"kind", QStringLiteral("request")}, {"id", 1}, {"method", QString(300, QLatin1Char('m'))}})
                            .toCborValue()
                            .toCbor())
            << QStringLiteral("longer than 256 characters");
        QTest::newRow("reply with ok and error")
            << rawFrame(mapOf({{"kind", QStringLiteral("reply")},
                               {"id", 1},
                               {"ok", 1},
                               {"error", mapOf({{"code", QStringLiteral("busy")}, {"message", QStringLiteral("m")}})}})
                            .toCborValue()
                            .toCbor())
            << QStringLiteral("exactly one of 'ok' and 'error'");
        QTest::newRow("chunk without payload")
            << rawFrame(mapOf({{"kind", QStringLiteral("chunk")}, {"id", 1}, {"seq", 0}}).toCborValue().toCbor())
            << QStringLiteral("exactly one of 'data' and 'items'");
        QTest::newRow("error frame saying ok")
            << rawFrame(mapOf({{"kind", QStringLiteral("error")}, {"code", QStringLiteral("ok")}, {"message", QString()}})
                            .toCborValue()
                            .toCbor())
            << QStringLiteral("code 'ok'");
        {
            QByteArray twice;
            QCborStreamWriter w(&twice);
            w.startMap(3);
            w.append(QLatin1String("kind"));
            w.append(QLatin1String("cancel"));
            w.append(QLatin1String("id"));
            w.append(1);
            w.append(QLatin1String("id"));
            w.append(2);
            w.endMap();
            QTest::newRow("a key twice") << rawFrame(twice) << QStringLiteral("key 'id' twice");
        }
        {
            QCborMap m = mapOf({{"kind", QStringLiteral("cancel")}, {"id", 1}});
            m.insert(7, 8);
            QTest::newRow("a key not text") << rawFrame(m.toCborValue().toCbor()) << QStringLiteral("not text");
        }
        {
            // 100,000 nested arrays: the parser would recurse that deep.
            const QByteArray prefix("\xa3\x64kind\x67request\x62id\x01\x64" "args"); // {kind: request, id: 1, args: …}
            QByteArray deep = prefix;
            deep += QByteArray(100000, '\x81') + QByteArray(1, '\x01');
            QTest::newRow("arrays nested 100,000 deep") << rawFrame(deep) << QStringLiteral("nests deeper than 300 levels");
            QByteArray tags = prefix;
            for (int i = 0; i < 1000; ++i)
                tags += QByteArray("\xd8\x20", 2); // tag 32 (URI)
            tags += QByteArray("\x61x", 2);
            QTest::newRow("tags nested 1,000 deep") << rawFrame(tags) << QStringLiteral("nests deeper than 300 levels");
        }
    }

    void badFramesAreClearErrors()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        FrameReader reader;
        // A good frame first: the error comes after it, not instead of it.
        reader.append(frameOf(Cancel{1}));
        auto good = reader.next();
        VD_VERIFY_OK(good);
        QVERIFY(good->has_value());
        reader.append(bytes);
        auto bad = reader.next();
        VD_VERIFY_CODE(bad, ErrorCode::ProtocolError);
        QVERIFY2(bad.status().message().contains(expected), qPrintable(bad.status().message()));
        // Sticky: a stream cannot be resynchronised.
        reader.append(frameOf(Cancel{2}));
        VD_VERIFY_CODE(reader.next(), ErrorCode::ProtocolError);
        QVERIFY(reader.hasFailed());
    }

    void aTruncatedFrameIsNamedAtTheEnd()
    {
        const QByteArray frame = frameOf(Request{1, QStringLiteral("ls"), QCborValue(QStringLiteral("/")), 0, false});
        FrameReader reader;
        reader.append(frame.left(frame.size() - 3));
        auto f = reader.next();
        VD_VERIFY_OK(f);
        QVERIFY(!f->has_value());
        const Status end = reader.atEnd();
        QCOMPARE(end.code(), ErrorCode::ProtocolError);
        QVERIFY2(end.message().contains(QStringLiteral("inside a frame (%1 of %2 bytes)").arg(frame.size() - 7).arg(frame.size() - 4)),
                 qPrintable(end.message()));
        FrameReader header;
        header.append(QByteArray(2, '\x01'));
        QVERIFY(header.atEnd().message().contains(QStringLiteral("inside a frame's length (2 of 4 bytes)")));
    }

    void tooBigToEncodeIsRefused()
    {
        auto f = encodeFrame(Reply{1, {}, QByteArray(qsizetype(kMaxFrameBytes), 'x')});
        VD_VERIFY_CODE(f, ErrorCode::InvalidArgument);
        QVERIFY(f.status().message().contains(QStringLiteral("exceeds the bound")));
    }

    // --- server and client ----------------------------------------------------

    void requestsRoundTrip()
    {
        Served s;
        const QString path = newSocketPath();
        VD_VERIFY_OK(s.server.listen(path));
        ControlClient c;
        VD_VERIFY_OK(c.connectToSocket(path, QStringLiteral("tst_control"), 10000));
        QCOMPARE(c.welcome().pid, uint64_t(::getpid()));
        QCOMPARE(c.welcome().version, kProtocolVersion);

        const QCborMap args = mapOf({{"path", QStringLiteral("/a/b")}, {"n", 3}});
        auto echoed = c.call(QStringLiteral("echo"), args);
        VD_VERIFY_OK(echoed);
        QCOMPARE(echoed->toMap(), args);

        auto failed = c.call(QStringLiteral("fail"), mapOf({{"code", QStringLiteral("not-found")}, {"message", QStringLiteral("no '/x'")}}));
        VD_VERIFY_CODE(failed, ErrorCode::NotFound);
        QCOMPARE(failed.status().message(), QStringLiteral("no '/x'"));

        auto pinged = c.call(QStringLiteral("control.ping"), 17);
        VD_VERIFY_OK(pinged);
        QCOMPARE(pinged->toInteger(), 17);
        VD_VERIFY_CODE(c.call(QStringLiteral("control.nosuch")), ErrorCode::InvalidArgument);
        VD_VERIFY_CODE(c.call(QStringLiteral("nosuch")), ErrorCode::InvalidArgument);

        // A responder let go unanswered, a reply too big for a frame: errors, not silence.
        auto dropped = c.call(QStringLiteral("drop"));
        VD_VERIFY_CODE(dropped, ErrorCode::Internal);
        QVERIFY2(dropped.status().message().contains(QStringLiteral("without answering")), qPrintable(dropped.status().message()));
        auto big = c.call(QStringLiteral("big"), mapOf({{"bytes", qint64(2) << 20}}));
        VD_VERIFY_CODE(big, ErrorCode::Internal);
        QVERIFY2(big.status().message().contains(QStringLiteral("does not fit one frame")), qPrintable(big.status().message()));

        // Progress reaches the caller, the latest report last. (The toy
        // answers when cancelled: the caller cancels on the last step.)
        CallOptions o;
        uint64_t lastDone = 0, lastTotal = 0;
        int reports = 0;
        o.onProgress = [&](uint64_t done, uint64_t total) {
            QVERIFY(done > lastDone);
            lastDone = done;
            lastTotal = total;
            ++reports;
        };
        o.cancelRequested = [&] { return lastDone == 5; };
        auto progressed = c.call(QStringLiteral("progress"), mapOf({{"steps", 5}}), o);
        VD_VERIFY_OK(progressed);
        QCOMPARE(progressed->toMap().value(QLatin1String("steps")).toInteger(), 5);
        QCOMPARE(lastTotal, uint64_t(5));
        QVERIFY(reports >= 1 && reports <= 5);

        QTRY_COMPARE(s.server.stats().requestsInFlight, 0);
        QCOMPARE(s.server.stats().clients, 1);
    }

    void streamsArriveWholeAndInOrder()
    {
        Served s;
        const QString path = newSocketPath();
        VD_VERIFY_OK(s.server.listen(path));
        ControlClient c;
        VD_VERIFY_OK(c.connectToSocket(path, QStringLiteral("tst_control"), 10000));

        const qint64 total = (5 << 20) + 7;
        QByteArray got;
        CallOptions o;
        o.onData = [&](const QByteArray &d) {
            got += d;
            return Status();
        };
        auto r = c.call(QStringLiteral("stream"), mapOf({{"bytes", total}, {"chunk", 200 << 10}}), o);
        VD_VERIFY_OK(r);
        QCOMPARE(r->toMap().value(QLatin1String("sent")).toInteger(), total);
        QCOMPARE(got.size(), total);
        for (qint64 i = 0; i < total; ++i) {
            if (got[i] != test::streamByte(uint64_t(i)))
                QFAIL(qPrintable(QStringLiteral("byte %1 differs").arg(i)));
        }

        std::vector<qint64> numbers;
        CallOptions io;
        io.onItems = [&](const QCborArray &items) {
            for (const QCborValue &v : items)
                numbers.push_back(v.toInteger());
            return Status();
        };
        VD_VERIFY_OK(c.call(QStringLiteral("items"), mapOf({{"count", 1000}, {"per", 64}}), io));
        QCOMPARE(numbers.size(), size_t(1000));
        for (size_t i = 0; i < numbers.size(); ++i)
            QCOMPARE(numbers[i], qint64(i));

        // A stream the caller does not take is an error, and the connection goes on.
        auto untaken = c.call(QStringLiteral("stream"), mapOf({{"bytes", 1000}}));
        VD_VERIFY_CODE(untaken, ErrorCode::InvalidArgument);
        QVERIFY(untaken.status().message().contains(QStringLiteral("streams data")));
        VD_VERIFY_OK(c.call(QStringLiteral("echo"), 1));
    }

    void uploadsArriveWhole()
    {
        ControlServer::Options options;
        options.uploadWindow = 512 << 10;
        Served s(options);
        const QString path = newSocketPath();
        VD_VERIFY_OK(s.server.listen(path));
        ControlClient c;
        VD_VERIFY_OK(c.connectToSocket(path, QStringLiteral("tst_control"), 10000));

        const QByteArray payload = test::randomBytes((5 << 20) + 3, 8);
        qsizetype offset = 0;
        CallOptions o;
        o.upload = [&]() -> Result<QByteArray> {
            const QByteArray piece = payload.mid(offset, 100 << 10);
            offset += piece.size();
            return piece;
        };
        auto r = c.call(QStringLiteral("upload"), QCborValue(), o);
        VD_VERIFY_OK(r);
        QCOMPARE(r->toMap().value(QLatin1String("bytes")).toInteger(), payload.size());
        QCOMPARE(r->toMap().value(QLatin1String("sha256")).toString(),
                 QString::fromLatin1(QCryptographicHash::hash(payload, QCryptographicHash::Sha256).toHex()));

        // An upload whose source fails is cancelled with the source's error.
        CallOptions failing;
        int pieces = 0;
        failing.upload = [&]() -> Result<QByteArray> {
            if (++pieces > 3)
                return Status::ioError(QStringLiteral("the source broke"));
            return QByteArray(1000, 'u');
        };
        auto broken = c.call(QStringLiteral("upload"), QCborValue(), failing);
        VD_VERIFY_CODE(broken, ErrorCode::IoError);
        QCOMPARE(broken.status().message(), QStringLiteral("the source broke"));
        VD_VERIFY_OK(c.call(QStringLiteral("echo"), 1));
    }

    void fiftyClientsAtOnce()
    {
        Served s;
        const QString path = newSocketPath();
        VD_VERIFY_OK(s.server.listen(path));
        constexpr int kClients = 50;
        std::atomic<int> answered{0};
        std::mutex errorsMutex;
        QStringList errors;
        std::vector<std::thread> threads;
        for (int i = 0; i < kClients; ++i) {
            threads.emplace_back([&, i] {
                ControlClient c;
                Status st = c.connectToSocket(path, QStringLiteral("client %1").arg(i), 30000);
                Result<QCborValue> r = st;
                if (st) {
                    // "gather" answers only once all fifty are in flight at once.
                    CallOptions o;
                    o.idleTimeoutMs = 60000;
                    r = c.call(QStringLiteral("gather"), mapOf({{"n", kClients}}), o);
                }
                if (r && r->toInteger() == kClients) {
                    ++answered;
                } else {
                    std::lock_guard lock(errorsMutex);
                    errors.append(r.status().toString());
                }
            });
        }
        for (auto &t : threads)
            t.join();
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join(QStringLiteral("; "))));
        QCOMPARE(answered.load(), kClients);
        QCOMPARE(s.server.stats().connectionsAccepted, uint64_t(kClients));
        QTRY_COMPARE(s.server.stats().clients, 0);
    }

    // A client that reads slowly: the server holds at most its window.
    void aSlowReaderBoundsWhatTheServerBuffers()
    {
        Served s;
        const QString path = newSocketPath();
        VD_VERIFY_OK(s.server.listen(path));
        ControlClient c;
        VD_VERIFY_OK(c.connectToSocket(path, QStringLiteral("slow"), 10000));

        const qint64 total = qint64(256) << 20;
        CallOptions o;
        o.window = 1 << 20;
        qint64 got = 0;
        int chunks = 0;
        bool right = true;
        o.onData = [&](const QByteArray &d) {
            right = right && d.front() == test::streamByte(uint64_t(got)) &&
                    d.back() == test::streamByte(uint64_t(got + d.size() - 1));
            got += d.size();
            // The slow reader: a pause every 16 chunks (4 MiB) lets the
            // server run ahead as far as it is allowed to.
            if (++chunks % 16 == 0)
                QThread::msleep(20);
            return Status();
        };
        auto r = c.call(QStringLiteral("stream"), mapOf({{"bytes", total}, {"chunk", qint64(kMaxChunkBytes)}}), o);
        VD_VERIFY_OK(r);
        QCOMPARE(got, total);
        QVERIFY(right);
        const qint64 peak = s.server.stats().peakBufferedBytes;
        qInfo("256 MiB to a slow reader with a 1 MiB window: at most %lld bytes buffered in the server", peak);
        QVERIFY(peak > 0);
        QVERIFY2(peak <= qint64(o.window) + 4096, qPrintable(QStringLiteral("peak %1").arg(peak)));
    }

    void cancelReachesTheHandler()
    {
        Served s;
        const QString path = newSocketPath();
        VD_VERIFY_OK(s.server.listen(path));
        ControlClient c;
        VD_VERIFY_OK(c.connectToSocket(path, QStringLiteral("tst_control"), 10000));

        // A request that waits for nothing but its cancel.
        CallOptions o;
        o.cancelRequested = [&] { return s.handler.waiting.load() == 1; };
        auto waited = c.call(QStringLiteral("wait"), QCborValue(), o);
        VD_VERIFY_CODE(waited, ErrorCode::Cancelled);
        QCOMPARE(s.handler.cancelsSeen.load(), 1);

        // A stream: the handler's next send says cancelled.
        CallOptions so;
        int chunks = 0;
        so.onData = [&](const QByteArray &) {
            ++chunks;
            return Status();
        };
        so.cancelRequested = [&] { return chunks >= 3; };
        auto streamed = c.call(QStringLiteral("forever"), mapOf({{"chunk", 64 << 10}}), so);
        VD_VERIFY_CODE(streamed, ErrorCode::Cancelled);
        QCOMPARE(s.handler.cancelsSeen.load(), 2);
        {
            std::lock_guard lock(s.handler.statusMutex);
            QCOMPARE(s.handler.lastSendError.code(), ErrorCode::Cancelled);
        }

        // A callback's error cancels too, and is what the call returns.
        CallOptions eo;
        eo.onData = [](const QByteArray &) { return Status::noSpace(QStringLiteral("the disk is full")); };
        auto refused = c.call(QStringLiteral("forever"), mapOf({{"chunk", 64 << 10}}), eo);
        VD_VERIFY_CODE(refused, ErrorCode::NoSpace);
        QCOMPARE(s.handler.cancelsSeen.load(), 3);

        VD_VERIFY_OK(c.call(QStringLiteral("echo"), 1));
        QTRY_COMPARE(s.server.stats().requestsInFlight, 0);
    }

    void aClientThatGoesAwayCancelsItsRequests()
    {
        Served s;
        const QString path = newSocketPath();
        VD_VERIFY_OK(s.server.listen(path));
        {
            RawClient raw(path);
            QVERIFY(raw.isConnected());
            QVERIFY(raw.send(helloFrame() + frameOf(Request{1, QStringLiteral("wait"), {}, 0, false})));
            QTRY_COMPARE(s.handler.waiting.load(), 1);
        }
        QTRY_COMPARE(s.handler.cancelsSeen.load(), 1);
        QTRY_COMPARE(s.server.stats().requestsInFlight, 0);
        QTRY_COMPARE(s.server.stats().clients, 0);
    }

    void badPeersAreDroppedAlone_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<bool>("welcomed");
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("expected");

        QTest::newRow("garbage") << QByteArray("GET / HTTP/1.1\r\nHost: x\r\n\r\n") << false << QStringLiteral("protocol-error")
                                 << QStringLiteral("exceeds the bound");
        QTest::newRow("oversize") << helloFrame() + le32(64 << 20) << true << QStringLiteral("protocol-error")
                                  << QStringLiteral("frame of 67108864 bytes exceeds the bound");
        QTest::newRow("not CBOR") << helloFrame() + rawFrame(QByteArray("\xff\xff\xff")) << true
                                  << QStringLiteral("protocol-error") << QStringLiteral("not CBOR");
        QTest::newRow("not a map") << helloFrame() + rawFrame(QCborValue(QStringLiteral("hi")).toCbor()) << true
                                   << QStringLiteral("protocol-error") << QStringLiteral("not a CBOR map");
        QTest::newRow("request before hello") << frameOf(Request{1, QStringLiteral("echo"), {}, 0, false}) << false
                                              << QStringLiteral("protocol-error")
                                              << QStringLiteral("the first frame must be a hello, not a request");
        QTest::newRow("wrong version") << helloFrame(99) << false << QStringLiteral("version-mismatch")
                                       << QStringLiteral("speaks control protocol 1; the client speaks 99");
        QTest::newRow("an id twice") << helloFrame() + frameOf(Request{7, QStringLiteral("wait"), {}, 0, false}) +
                                            frameOf(Request{7, QStringLiteral("wait"), {}, 0, false})
                                     << true << QStringLiteral("protocol-error")
                                     << QStringLiteral("request id 7 is already in flight");
        QTest::newRow("a server's frame") << helloFrame() + frameOf(Progress{1, 1, 1}) << true
                                          << QStringLiteral("protocol-error")
                                          << QStringLiteral("a client may not send a progress frame");
        QTest::newRow("upload beyond its credit")
            << helloFrame() + frameOf(Request{3, QStringLiteral("wait"), {}, 0, true}) +
                   frameOf(Chunk{3, 0, false, QByteArray(200 << 10, 'x'), {}, false}) +
                   frameOf(Chunk{3, 1, false, QByteArray(200 << 10, 'x'), {}, false}) +
                   frameOf(Chunk{3, 2, false, QByteArray(200 << 10, 'x'), {}, false})
            << true << QStringLiteral("protocol-error") << QStringLiteral("beyond the credit");
    }

    void badPeersAreDroppedAlone()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(bool, welcomed);
        QFETCH(QString, code);
        QFETCH(QString, expected);
        ControlServer::Options options;
        options.uploadWindow = 512 << 10;
        Served s(options);
        const QString path = newSocketPath();
        VD_VERIFY_OK(s.server.listen(path));
        // A good client, connected before and used after.
        ControlClient good;
        VD_VERIFY_OK(good.connectToSocket(path, QStringLiteral("good"), 10000));

        RawClient raw(path);
        QVERIFY(raw.isConnected());
        QVERIFY(raw.send(bytes));
        bool closed = false;
        const QByteArray answer = raw.readToEnd(30000, &closed);
        QVERIFY2(closed, "the server did not close the connection");
        Status tail;
        std::vector<Message> frames = framesIn(answer, &tail);
        VD_VERIFY_OK(tail);
        QVERIFY(!frames.empty());
        size_t next = 0;
        if (welcomed) {
            QVERIFY(std::holds_alternative<Welcome>(frames[0]));
            ++next;
        }
        // Credits the server granted an upload come before the error.
        while (next < frames.size() && std::holds_alternative<Credit>(frames[next]))
            ++next;
        QCOMPARE(frames.size(), next + 1);
        const auto *error = std::get_if<Error>(&frames[next]);
        QVERIFY(error);
        QCOMPARE(wireCodeName(error->status.code()), code);
        QVERIFY2(error->status.message().contains(expected), qPrintable(error->status.message()));

        QCOMPARE(s.server.stats().protocolErrors, uint64_t(1));
        auto echoed = good.call(QStringLiteral("echo"), 5);
        VD_VERIFY_OK(echoed);
        QCOMPARE(echoed->toInteger(), 5);
        QTRY_COMPARE(s.server.stats().requestsInFlight, 0);
    }

    void connectionsAreBounded()
    {
        ControlServer::Options options;
        options.maxClients = 2;
        options.helloTimeoutMs = 300;
        Served s(options);
        const QString path = newSocketPath();
        VD_VERIFY_OK(s.server.listen(path));
        ControlClient first, second, third;
        VD_VERIFY_OK(first.connectToSocket(path, QStringLiteral("first"), 10000));
        // Silent connections count too, until they are dropped for saying nothing.
        RawClient mute(path);
        QVERIFY(mute.isConnected());
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("already serving 2 clients")));
        const Status refused = second.connectToSocket(path, QStringLiteral("second"), 10000);
        VD_VERIFY_CODE(refused, ErrorCode::Busy);
        QVERIFY2(refused.message().contains(QStringLiteral("already serves 2 clients")), qPrintable(refused.message()));
        bool closed = false;
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("no hello within 300 ms")));
        const QByteArray answer = mute.readToEnd(30000, &closed);
        QVERIFY(closed);
        const std::vector<Message> frames = framesIn(answer);
        QCOMPARE(frames.size(), size_t(1));
        QVERIFY(std::get<Error>(frames[0]).status.message().contains(QStringLiteral("no hello within 300 ms")));
        VD_VERIFY_OK(third.connectToSocket(path, QStringLiteral("third"), 10000)); // the dropped one no longer counts
        VD_VERIFY_OK(first.call(QStringLiteral("echo"), 1));
        VD_VERIFY_OK(third.call(QStringLiteral("echo"), 1));
        QCOMPARE(s.server.stats().connectionsRefused, uint64_t(1));
    }

    void aClientCutOffMidFrameIsLogged()
    {
        Served s;
        const QString path = newSocketPath();
        VD_VERIFY_OK(s.server.listen(path));
        ControlClient good;
        VD_VERIFY_OK(good.connectToSocket(path, QStringLiteral("good"), 10000));
        const QByteArray request = frameOf(Request{1, QStringLiteral("echo"), QString(100, QLatin1Char('x')), 0, false});
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("went away: protocol-error: the stream ended inside a frame")));
        {
            RawClient raw(path);
            QVERIFY(raw.send(helloFrame() + request.left(50)));
            raw.shutdownWrite();
            bool closed = false;
            const QByteArray answer = raw.readToEnd(30000, &closed);
            QVERIFY(closed);
            for (const Message &m : framesIn(answer)) // perhaps the welcome; no answer to the cut request
                QVERIFY(std::holds_alternative<Welcome>(m));
        }
        QTRY_COMPARE(s.server.stats().protocolErrors, uint64_t(1));
        VD_VERIFY_OK(good.call(QStringLiteral("echo"), 5));
    }

    void eventsReachTheirSubscribers()
    {
        Served s;
        const QString path = newSocketPath();
        VD_VERIFY_OK(s.server.listen(path));
        ControlClient sub, pub;
        VD_VERIFY_OK(sub.connectToSocket(path, QStringLiteral("sub"), 10000));
        VD_VERIFY_OK(pub.connectToSocket(path, QStringLiteral("pub"), 10000));
        VD_VERIFY_OK(sub.subscribe({QStringLiteral("changes/docs")}));
        const std::pair<const char *, int> published[] = {
            {"changes/docs", 1}, {"changes/other", 2}, {"changes/docs/sub", 3}, {"changes/docsx", 4}, {"changes/docs", 5}};
        for (const auto &[topic, n] : published)
            VD_VERIFY_OK(pub.call(QStringLiteral("publish"), mapOf({{"topic", QString::fromLatin1(topic)}, {"payload", n}})));
        for (const auto &[topic, n] : {std::pair<const char *, int>{"changes/docs", 1}, {"changes/docs/sub", 3}, {"changes/docs", 5}}) {
            auto e = sub.waitEvent(30000);
            VD_VERIFY_OK(e);
            QVERIFY(e->has_value());
            QCOMPARE((*e)->topic, QString::fromLatin1(topic));
            QCOMPARE((*e)->payload.toInteger(), n);
        }
        // Events that come while a call runs wait for waitEvent.
        VD_VERIFY_OK(pub.call(QStringLiteral("publish"), mapOf({{"topic", QStringLiteral("changes/docs")}, {"payload", 6}})));
        VD_VERIFY_OK(sub.call(QStringLiteral("publish"), mapOf({{"topic", QStringLiteral("changes/docs")}, {"payload", 7}})));
        for (int n : {6, 7}) {
            auto e = sub.waitEvent(30000);
            VD_VERIFY_OK(e);
            QVERIFY(e->has_value());
            QCOMPARE((*e)->payload.toInteger(), n);
        }
        auto interrupted = sub.waitEvent(-1, [] { return true; });
        VD_VERIFY_CODE(interrupted, ErrorCode::Cancelled);
    }

    void aLaggingSubscriberIsToldWhatItMissed()
    {
        ControlServer::Options options;
        options.eventBufferBytes = 8 << 10;
        Served s(options);
        const QString path = newSocketPath();
        VD_VERIFY_OK(s.server.listen(path));
        ControlClient sub;
        VD_VERIFY_OK(sub.connectToSocket(path, QStringLiteral("sub"), 10000));
        VD_VERIFY_OK(sub.subscribe({QString()}));
        constexpr int kEvents = 3000;
        const QByteArray filler(1024, 'e');
        for (int i = 0; i < kEvents; ++i)
            s.server.publish(QStringLiteral("t"), mapOf({{"i", i}, {"filler", filler}}));
        int received = 0;
        qint64 missed = 0;
        int last = -1;
        while (received + missed < kEvents) {
            auto e = sub.waitEvent(30000);
            VD_VERIFY_OK(e);
            QVERIFY2(e->has_value(), qPrintable(QStringLiteral("%1 received, %2 missed").arg(received).arg(missed)));
            if ((*e)->topic == QLatin1String("control.missed")) {
                missed += (*e)->payload.toMap().value(QLatin1String("missed")).toInteger();
                continue;
            }
            const int i = int((*e)->payload.toMap().value(QLatin1String("i")).toInteger());
            QVERIFY(i > last); // in order, gaps only where counted
            last = i;
            ++received;
        }
        QCOMPARE(received + missed, qint64(kEvents));
        QVERIFY(missed > 0);
        QCOMPARE(s.server.stats().eventsDropped, uint64_t(missed));
    }

    // --- the socket file ---------------------------------------------------------

    void theSocketIsPrivateAndOneServerHasIt()
    {
        const QString path = newSocketPath();
        {
            Served s;
            VD_VERIFY_OK(s.server.listen(path));
            QCOMPARE(s.server.socketPath(), path);
            struct stat st;
            QCOMPARE(::lstat(QFile::encodeName(path).constData(), &st), 0);
            QVERIFY(S_ISSOCK(st.st_mode));
            QCOMPARE(st.st_mode & 07777, mode_t(0600));
            Served other;
            VD_VERIFY_CODE(other.server.listen(path), ErrorCode::Busy);
            ControlClient c;
            VD_VERIFY_OK(c.connectToSocket(path, QStringLiteral("tst_control"), 10000)); // the first still serves
        }
        QVERIFY(!QFileInfo::exists(path));

        // A socket file a dead server left is replaced.
        {
            const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
            const sockaddr_un addr = addressOf(path);
            QCOMPARE(::bind(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr), 0);
            ::close(fd);
            QVERIFY(QFileInfo::exists(path));
            Served s;
            VD_VERIFY_OK(s.server.listen(path));
            ControlClient c;
            VD_VERIFY_OK(c.connectToSocket(path, QStringLiteral("tst_control"), 10000));
        }
        // Anything else there is left alone.
        {
            QFile file(path);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.close();
            Served s;
            VD_VERIFY_CODE(s.server.listen(path), ErrorCode::AlreadyExists);
            QVERIFY(QFileInfo(path).isFile());
            QVERIFY(QFile::remove(path));
        }
    }

    void aDeepDataDirectoryListensElsewhere()
    {
        const QString shallow = m_tmp.filePath(QStringLiteral("d"));
        auto direct = ControlServer::socketPathFor(shallow);
        VD_VERIFY_OK(direct);
        QCOMPARE(*direct, shallow + QStringLiteral("/node.sock"));

        const QString deep = m_tmp.filePath(QString(120, QLatin1Char('d')));
        QVERIFY(QDir().mkpath(deep));
        const QByteArray savedRuntime = qgetenv("XDG_RUNTIME_DIR");
        const QString runtime = m_tmp.filePath(QStringLiteral("run"));
        QVERIFY(QDir().mkpath(runtime));
        qputenv("XDG_RUNTIME_DIR", QFile::encodeName(runtime));
        auto viaRuntime = ControlServer::socketPathFor(deep);
        qunsetenv("XDG_RUNTIME_DIR");
        auto viaTmp = ControlServer::socketPathFor(deep);
        // A shared directory where the private one should be is refused.
        const QString shared = m_tmp.filePath(QStringLiteral("shared"));
        QVERIFY(QDir().mkpath(shared + QStringLiteral("/vdrive")));
        QVERIFY(QFile::setPermissions(shared + QStringLiteral("/vdrive"), QFileDevice::Permissions(0x7755)));
        qputenv("XDG_RUNTIME_DIR", QFile::encodeName(shared));
        auto refused = ControlServer::socketPathFor(deep);
        if (savedRuntime.isNull())
            qunsetenv("XDG_RUNTIME_DIR");
        else
            qputenv("XDG_RUNTIME_DIR", savedRuntime);

        VD_VERIFY_OK(viaRuntime);
        QVERIFY2(viaRuntime->startsWith(runtime + QStringLiteral("/vdrive/node-")), qPrintable(*viaRuntime));
        VD_VERIFY_OK(viaTmp);
        QVERIFY2(viaTmp->startsWith(QStringLiteral("/tmp/vdrive-%1/node-").arg(::geteuid())), qPrintable(*viaTmp));
        QCOMPARE(QFileInfo(*viaRuntime).fileName(), QFileInfo(*viaTmp).fileName()); // named by the data directory
        VD_VERIFY_CODE(refused, ErrorCode::PermissionDenied);
        QVERIFY(refused.status().message().contains(QStringLiteral("not a private directory")));

        // Too long for a socket address: a clear error, not a truncated path.
        Served s;
        const Status tooLong = s.server.listen(deep + QStringLiteral("/node.sock"));
        VD_VERIFY_CODE(tooLong, ErrorCode::InvalidArgument);
        QVERIFY(tooLong.message().contains(QStringLiteral("a Unix socket address holds at most 107")));
        // The fallback works end to end.
        VD_VERIFY_OK(s.server.listen(*viaRuntime));
        ControlClient c;
        VD_VERIFY_OK(c.connectToSocket(*viaRuntime, QStringLiteral("tst_control"), 10000));
    }

    // CI runs as root; the helper drops to nobody before it connects.
    void anotherUserIsRefused()
    {
        if (::geteuid() != 0)
            QFAIL("this test needs root, to run a client as nobody");
        const QString dir = m_tmp.filePath(QStringLiteral("shared-node"));
        QVERIFY(QDir().mkpath(dir));
        // nobody may walk to the socket, but the socket itself is 0600.
        QCOMPARE(::chmod(QFile::encodeName(m_tmp.path()).constData(), 0711), 0);
        QCOMPARE(::chmod(QFile::encodeName(dir).constData(), 0711), 0);
        const QString path = dir + QStringLiteral("/node.sock");
        Served s;
        VD_VERIFY_OK(s.server.listen(path));
        {
            QProcess peer;
            const QString line = startPeer(peer, {QStringLiteral("client"), path, QStringLiteral("nobody")});
            QVERIFY2(line.startsWith(QStringLiteral("connect: permission-denied")), qPrintable(line));
            QVERIFY(peer.waitForFinished(30000));
        }
        // Even with the file opened to everyone, the node checks who connects.
        QCOMPARE(::chmod(QFile::encodeName(path).constData(), 0666), 0);
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("refused a connection from uid 65534 \\(pid \\d+\\): this node serves uid 0 only")));
        {
            QProcess peer;
            const QString line = startPeer(peer, {QStringLiteral("client"), path, QStringLiteral("nobody")});
            QVERIFY2(line.startsWith(QStringLiteral("connect: permission-denied: this node serves uid 0 only; the connection came from uid 65534")),
                     qPrintable(line));
            QVERIFY(peer.waitForFinished(30000));
            QVERIFY(!peer.readAll().contains("echo"));
        }
        QCOMPARE(s.server.stats().connectionsRefused, uint64_t(1));
        QCOMPARE(s.server.stats().connectionsAccepted, uint64_t(0));
        QCOMPARE(::chmod(QFile::encodeName(m_tmp.path()).constData(), 0700), 0);
    }

    // --- a server that dies, a node that is not what it seems --------------------

    void aServerKilledMidStreamEndsTheCallAtOnce()
    {
        const QString path = newSocketPath();
        QProcess peer;
        QCOMPARE(startPeer(peer, {QStringLiteral("serve"), path}), QStringLiteral("listening"));
        ControlClient c;
        VD_VERIFY_OK(c.connectToSocket(path, QStringLiteral("tst_control"), 10000));
        CallOptions o;
        int chunks = 0;
        o.onData = [&](const QByteArray &) {
            if (++chunks == 3)
                ::kill(pid_t(peer.processId()), SIGKILL);
            return Status();
        };
        // The bound: a call that waited for this long would fail differently.
        o.idleTimeoutMs = 120000;
        auto r = c.call(QStringLiteral("forever"), mapOf({{"chunk", 64 << 10}}), o);
        VD_VERIFY_CODE(r, ErrorCode::PeerUnavailable);
        QVERIFY2(r.status().message().contains(QStringLiteral("the node closed the connection")), qPrintable(r.status().message()));
        QVERIFY2(r.status().message().contains(QStringLiteral("'forever'")), qPrintable(r.status().message()));
        QVERIFY(peer.waitForFinished(30000));
        QVERIFY(!c.isConnected());
        VD_VERIFY_CODE(c.call(QStringLiteral("echo"), 1), ErrorCode::PeerUnavailable);
        // What it left behind is stale, and a new server takes the path.
        Served s;
        VD_VERIFY_OK(s.server.listen(path));
        VD_VERIFY_OK(c.connectToSocket(path, QStringLiteral("tst_control"), 10000));
        VD_VERIFY_OK(c.call(QStringLiteral("echo"), 1));
    }

    void aStoppingServerWakesItsHandlers()
    {
        const QString path = newSocketPath();
        test::ToyHandler handler;
        auto server = std::make_unique<ControlServer>(handler);
        VD_VERIFY_OK(server->listen(path));
        ControlClient c;
        VD_VERIFY_OK(c.connectToSocket(path, QStringLiteral("tst_control"), 10000));
        CallOptions o;
        int chunks = 0;
        o.onData = [&](const QByteArray &) {
            if (++chunks == 2)
                server.reset(); // stops the server under the stream, its handler blocked for credit
            return Status();
        };
        auto r = c.call(QStringLiteral("forever"), mapOf({{"chunk", 64 << 10}}), o);
        VD_VERIFY_CODE(r, ErrorCode::PeerUnavailable);
        QVERIFY2(r.status().message().contains(QStringLiteral("the node is stopping")) ||
                     r.status().message().contains(QStringLiteral("closed the connection")),
                 qPrintable(r.status().message()));
        QVERIFY(!QFileInfo::exists(path));
        QCOMPARE(handler.cancelsSeen.load(), 1);
        // The toy's blocked send was woken (its thread is joined with the handler).
        QTRY_COMPARE(handler.sendErrors.load(), 1);
        std::lock_guard lock(handler.statusMutex);
        QCOMPARE(handler.lastSendError.code(), ErrorCode::PeerUnavailable);
    }

    void clientSideErrorsAreClear_data()
    {
        QTest::addColumn<QByteArray>("script");
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("expected");
        QTest::newRow("another version") << frameOf(Welcome{2, QStringLiteral("future node"), 77}) << QStringLiteral("version-mismatch")
                                         << QStringLiteral("the node (pid 77) speaks control protocol 2; this vdrive speaks 1");
        QTest::newRow("refused") << frameOf(Error{Status::busy(QStringLiteral("the node already serves 256 clients"))})
                                 << QStringLiteral("busy") << QStringLiteral("already serves 256 clients");
        QTest::newRow("half a frame") << frameOf(Welcome{1, QStringLiteral("n"), 1}).left(9) << QStringLiteral("peer-unavailable")
                                      << QStringLiteral("the node closed the connection inside a frame");
        QTest::newRow("garbage") << QByteArray("\x05\x00\x00\x00\xff\xff\xff\xff\xff", 9) << QStringLiteral("protocol-error")
                                 << QStringLiteral("not CBOR");
        QTest::newRow("silence, then close") << QByteArray() << QStringLiteral("peer-unavailable")
                                             << QStringLiteral("the node closed the connection");
    }

    void clientSideErrorsAreClear()
    {
        QFETCH(QByteArray, script);
        QFETCH(QString, code);
        QFETCH(QString, expected);
        const QString path = newSocketPath();
        FakeNode fake(path, script);
        QVERIFY(fake.isListening());
        ControlClient c;
        const Status s = c.connectToSocket(path, QStringLiteral("tst_control"), 30000);
        QCOMPARE(wireCodeName(s.code()), code);
        QVERIFY2(s.message().contains(expected), qPrintable(s.message()));
        QVERIFY(!c.isConnected());
    }

    void connectingIsBounded()
    {
        ControlClient c;
        const QString nothing = newSocketPath();
        const Status none = c.connectToSocket(nothing, QStringLiteral("tst_control"), 5000);
        VD_VERIFY_CODE(none, ErrorCode::PeerUnavailable);
        QVERIFY2(none.message().contains(QStringLiteral("no node listens")), qPrintable(none.message()));

        // A socket that accepts (the kernel's backlog) but never answers.
        const QString mute = newSocketPath();
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const sockaddr_un addr = addressOf(mute);
        QCOMPARE(::bind(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr), 0);
        QCOMPARE(::listen(fd, 4), 0);
        const Status silent = c.connectToSocket(mute, QStringLiteral("tst_control"), 300);
        ::close(fd);
        VD_VERIFY_CODE(silent, ErrorCode::PeerUnavailable);
        QVERIFY2(silent.message().contains(QStringLiteral("did not answer within 300 ms")), qPrintable(silent.message()));
    }

    // --- one node per data directory ----------------------------------------------

    void oneNodePerDataDirectory()
    {
        io::Env &env = *io::Env::posix();
        const QString dataDir = m_tmp.filePath(QStringLiteral("data-in-process"));
        auto none = NodeLock::find(env, dataDir);
        VD_VERIFY_OK(none);
        QVERIFY(!none->has_value());

        auto first = NodeLock::acquire(env, dataDir, QStringLiteral("tst_control node"));
        VD_VERIFY_OK(first);
        auto starting = NodeLock::find(env, dataDir);
        VD_VERIFY_OK(starting);
        QVERIFY(starting->has_value());
        QCOMPARE((*starting)->pid, qint64(::getpid()));
        QVERIFY((*starting)->socketPath.isEmpty());
        VD_VERIFY_OK((*first)->setSocketPath(QStringLiteral("/run/x/node.sock")));
        auto found = NodeLock::find(env, dataDir);
        VD_VERIFY_OK(found);
        QCOMPARE((*found)->program, QStringLiteral("tst_control node"));
        QCOMPARE((*found)->socketPath, QStringLiteral("/run/x/node.sock"));

        auto second = NodeLock::acquire(env, dataDir, QStringLiteral("another"));
        VD_VERIFY_CODE(second, ErrorCode::Busy);
        QVERIFY2(second.status().message().contains(QStringLiteral("a node already runs on data directory '%1': pid %2 (tst_control node)")
                                                        .arg(dataDir)
                                                        .arg(::getpid())),
                 qPrintable(second.status().message()));

        first = Result<std::unique_ptr<NodeLock>>(Status::cancelled(QString()));
        auto after = NodeLock::find(env, dataDir);
        VD_VERIFY_OK(after);
        QVERIFY(!after->has_value());
        VD_VERIFY_OK(NodeLock::acquire(env, dataDir));
    }

    // The same through the in-memory Env (its lock test is Env's default: a
    // shared lock tried and let go).
    void oneNodePerDataDirectoryInMemory()
    {
        io::MemEnv env;
        const QString dataDir = QStringLiteral("/mem/data");
        auto first = NodeLock::acquire(env, dataDir, QStringLiteral("memory node"));
        VD_VERIFY_OK(first);
        VD_VERIFY_OK((*first)->setSocketPath(QStringLiteral("/mem/node.sock")));
        auto held = env.isLockedExclusively(NodeLock::lockPath(dataDir));
        VD_VERIFY_OK(held);
        QVERIFY(*held);
        auto second = NodeLock::acquire(env, dataDir);
        VD_VERIFY_CODE(second, ErrorCode::Busy);
        QVERIFY2(second.status().message().contains(QStringLiteral("pid %1 (memory node)").arg(::getpid())),
                 qPrintable(second.status().message()));
        auto found = NodeLock::find(env, dataDir);
        VD_VERIFY_OK(found);
        QCOMPARE((*found)->socketPath, QStringLiteral("/mem/node.sock"));
        first = Result<std::unique_ptr<NodeLock>>(Status::cancelled(QString()));
        held = env.isLockedExclusively(NodeLock::lockPath(dataDir));
        VD_VERIFY_OK(held);
        QVERIFY(!*held);
        auto gone = NodeLock::find(env, dataDir);
        VD_VERIFY_OK(gone);
        QVERIFY(!gone->has_value());
    }

    void aKilledNodeLeavesNoNode()
    {
        io::Env &env = *io::Env::posix();
        const QString dataDir = m_tmp.filePath(QStringLiteral("data-across-processes"));
        QProcess holder;
        const QString line = startPeer(holder, {QStringLiteral("lock"), dataDir});
        QCOMPARE(line, QStringLiteral("locked %1").arg(holder.processId()));

        auto second = NodeLock::acquire(env, dataDir, QStringLiteral("tst_control"));
        VD_VERIFY_CODE(second, ErrorCode::Busy);
        QVERIFY2(second.status().message().contains(QStringLiteral("pid %1 (vd_controlpeer lock)").arg(holder.processId())),
                 qPrintable(second.status().message()));
        auto running = NodeLock::find(env, dataDir);
        VD_VERIFY_OK(running);
        QVERIFY(running->has_value());
        QCOMPARE((*running)->pid, holder.processId());

        const qint64 holderPid = holder.processId();
        ::kill(pid_t(holderPid), SIGKILL);
        QVERIFY(holder.waitForFinished(30000));
        // Its record is still there, but nobody holds the lock: no node.
        auto record = io::readWholeFile(env, NodeLock::lockPath(dataDir), 1 << 16);
        VD_VERIFY_OK(record);
        QVERIFY(record->contains("\"pid\":" + QByteArray::number(holderPid)));
        auto stale = NodeLock::find(env, dataDir);
        VD_VERIFY_OK(stale);
        QVERIFY(!stale->has_value());
        auto next = NodeLock::acquire(env, dataDir, QStringLiteral("tst_control"));
        VD_VERIFY_OK(next);
        auto found = NodeLock::find(env, dataDir);
        VD_VERIFY_OK(found);
        QCOMPARE((*found)->pid, qint64(::getpid()));
    }

    void aClientFindsTheNodeThroughItsLock()
    {
        io::Env &env = *io::Env::posix();
        const QString dataDir = m_tmp.filePath(QStringLiteral("data-found"));
        ControlClient c;
        auto noNode = c.connectToNode(env, dataDir, QStringLiteral("tst_control"), 5000);
        VD_VERIFY_OK(noNode);
        QVERIFY(!*noNode);

        auto lock = NodeLock::acquire(env, dataDir, QStringLiteral("tst_control node"));
        VD_VERIFY_OK(lock);
        auto socket = ControlServer::socketPathFor(dataDir);
        VD_VERIFY_OK(socket);
        Served s;
        VD_VERIFY_OK(s.server.listen(*socket));
        // Before the path is recorded, the node is "starting": a bounded wait.
        auto early = c.connectToNode(env, dataDir, QStringLiteral("tst_control"), 200);
        VD_VERIFY_CODE(early, ErrorCode::PeerUnavailable);
        QVERIFY2(early.status().message().contains(QStringLiteral("is starting")), qPrintable(early.status().message()));
        VD_VERIFY_OK((*lock)->setSocketPath(*socket));
        auto connected = c.connectToNode(env, dataDir, QStringLiteral("tst_control"), 5000);
        VD_VERIFY_OK(connected);
        QVERIFY(*connected);
        VD_VERIFY_OK(c.call(QStringLiteral("echo"), 1));
    }
};

QTEST_GUILESS_MAIN(TestControl)
#include "tst_control.moc"
