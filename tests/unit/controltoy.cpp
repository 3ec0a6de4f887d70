#include "controltoy.h"

#include <QCborMap>
#include <QCryptographicHash>

namespace vd::test {

using control::Responder;

namespace {

uint64_t argU64(const QCborValue &args, const char *key, uint64_t fallback)
{
    const QCborValue v = args.toMap().value(QLatin1String(key));
    return v.isInteger() && v.toInteger() >= 0 ? uint64_t(v.toInteger()) : fallback;
}

} // namespace

QByteArray streamBytes(uint64_t offset, qsizetype n)
{
    static const QByteArray pattern = [] {
        QByteArray p(qsizetype(kStreamPeriod) + (1 << 20), '\0');
        for (qsizetype i = 0; i < p.size(); ++i)
            p[i] = streamByte(uint64_t(i));
        return p;
    }();
    return pattern.mid(qsizetype(offset % kStreamPeriod), std::min<qsizetype>(n, 1 << 20));
}

ToyHandler::~ToyHandler()
{
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(m_mutex);
        threads.swap(m_threads);
        m_gathered.clear();
    }
    for (auto &t : threads)
        t.join();
}

void ToyHandler::spawn(std::function<void()> fn)
{
    std::lock_guard lock(m_mutex);
    m_threads.emplace_back(std::move(fn));
}

void ToyHandler::noteSendError(const Status &s)
{
    ++sendErrors;
    std::lock_guard lock(statusMutex);
    lastSendError = s;
}

void ToyHandler::handle(const control::Request &request, Responder responder)
{
    const QString m = request.method;
    const QCborValue args = request.args;
    if (m == QLatin1String("echo")) {
        responder.finish(args);
    } else if (m == QLatin1String("fail")) {
        const QCborMap a = args.toMap();
        responder.fail(control::statusFromWire(a.value(QLatin1String("code")).toString(),
                                               a.value(QLatin1String("message")).toString()));
    } else if (m == QLatin1String("stream") || m == QLatin1String("forever")) {
        const bool forever = m == QLatin1String("forever");
        const uint64_t total = argU64(args, "bytes", 0);
        const uint64_t chunk = std::max<uint64_t>(1, argU64(args, "chunk", 64 << 10));
        responder.onCancel([this] { ++cancelsSeen; });
        spawn([this, responder, total, chunk, forever]() mutable {
            uint64_t sent = 0;
            while (forever || sent < total) {
                const uint64_t n = forever ? chunk : std::min(chunk, total - sent);
                const Status s = responder.sendData(streamBytes(sent, qsizetype(n)));
                if (!s.isOk()) {
                    noteSendError(s);
                    responder.fail(s);
                    return;
                }
                sent += n;
            }
            QCborMap result;
            result.insert(QLatin1String("sent"), qint64(sent));
            responder.finish(result);
        });
    } else if (m == QLatin1String("items")) {
        const uint64_t count = argU64(args, "count", 0);
        const uint64_t per = std::max<uint64_t>(1, argU64(args, "per", 100));
        spawn([this, responder, count, per]() mutable {
            uint64_t sent = 0;
            while (sent < count) {
                QCborArray items;
                for (uint64_t i = 0; i < per && sent < count; ++i)
                    items.append(qint64(sent++));
                const Status s = responder.sendItems(items);
                if (!s.isOk()) {
                    noteSendError(s);
                    responder.fail(s);
                    return;
                }
            }
            QCborMap result;
            result.insert(QLatin1String("sent"), qint64(sent));
            responder.finish(result);
        });
    } else if (m == QLatin1String("wait")) {
        ++waiting;
        // The callback owns a copy: the request stays open until it runs.
        auto held = std::make_shared<Responder>(responder);
        responder.onCancel([this, held] {
            ++cancelsSeen;
            --waiting;
            held->fail(Status::cancelled(QStringLiteral("the toy stopped waiting")));
        });
    } else if (m == QLatin1String("upload")) {
        spawn([this, responder]() mutable {
            QCryptographicHash hash(QCryptographicHash::Sha256);
            qint64 bytes = 0;
            for (;;) {
                auto piece = responder.readData();
                if (!piece) {
                    noteSendError(piece.status());
                    responder.fail(piece.status());
                    return;
                }
                if (!*piece)
                    break;
                hash.addData(**piece);
                bytes += (*piece)->size();
            }
            QCborMap result;
            result.insert(QLatin1String("bytes"), bytes);
            result.insert(QLatin1String("sha256"), QString::fromLatin1(hash.result().toHex()));
            responder.finish(result);
        });
    } else if (m == QLatin1String("progress")) {
        const uint64_t steps = argU64(args, "steps", 10);
        for (uint64_t i = 1; i <= steps; ++i)
            responder.progress(i, steps);
        auto held = std::make_shared<Responder>(responder);
        responder.onCancel([held, steps] {
            QCborMap result;
            result.insert(QLatin1String("steps"), qint64(steps));
            held->finish(result);
        });
    } else if (m == QLatin1String("gather")) {
        const uint64_t n = argU64(args, "n", 1);
        std::vector<Responder> all;
        {
            std::lock_guard lock(m_mutex);
            m_gathered.push_back(responder);
            if (m_gathered.size() >= n)
                all.swap(m_gathered);
        }
        for (auto &r : all)
            r.finish(QCborValue(qint64(n)));
    } else if (m == QLatin1String("drop")) {
        // The responder goes out of scope unanswered.
    } else if (m == QLatin1String("big")) {
        responder.finish(QByteArray(qsizetype(argU64(args, "bytes", 0)), 'x'));
    } else if (m == QLatin1String("publish")) {
        const QCborMap a = args.toMap();
        if (m_server)
            m_server->publish(a.value(QLatin1String("topic")).toString(), a.value(QLatin1String("payload")));
        responder.finish();
    } else {
        responder.fail(Status::invalidArgument(QStringLiteral("the toy has no method '%1'").arg(m)));
    }
}

} // namespace vd::test
