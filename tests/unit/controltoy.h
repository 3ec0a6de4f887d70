// A toy request handler for the control socket's tests (tst_control and the
// vd_controlpeer helper process): each method exercises one part of the
// transport. Long work runs on threads of its own, joined on destruction.
#pragma once

#include "control/controlserver.h"

#include <QByteArray>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace vd::test {

// The byte at offset i of every "stream" method's data: a pattern whose
// period (a prime) is no multiple of any chunk size, so a chunk out of place
// shows.
constexpr uint64_t kStreamPeriod = 65521;
inline char streamByte(uint64_t i)
{
    const uint64_t k = i % kStreamPeriod;
    return char((k * 131 + (k >> 7)) & 0xff);
}
// The stream's bytes [offset, offset + n), n at most 1 MiB.
QByteArray streamBytes(uint64_t offset, qsizetype n);

class ToyHandler final : public control::RequestHandler
{
public:
    ToyHandler() = default;
    ~ToyHandler() override;

    // Methods:
    //   echo {…}                      -> the args
    //   fail {code, message}          -> that error
    //   stream {bytes, chunk}         -> bytes of streamByte() in chunks; {sent}
    //   items {count, per}            -> count integers 0.. in chunks of per; {sent}
    //   forever {chunk}               -> data until the client cancels or goes
    //   wait {}                       -> nothing until the client cancels
    //   upload {}                     -> reads the upload; {bytes, sha256}
    //   progress {steps}              -> steps progress reports; {steps} once cancelled
    //   gather {n}                    -> waits until n gather requests are in
    //                                    flight (from any clients), answers all
    //   drop {}                       -> lets the responder go unanswered
    //   big {bytes}                   -> a reply of that many bytes
    //   publish {topic, payload}      -> server()->publish(topic, payload)
    void handle(const control::Request &request, control::Responder responder) override;

    void setServer(control::ControlServer *server) { m_server = server; }

    std::atomic<int> cancelsSeen{0};   // onCancel callbacks run
    std::atomic<int> waiting{0};       // "wait" requests in flight
    std::atomic<int> sendErrors{0};    // sendData/sendItems that failed
    std::mutex statusMutex;
    Status lastSendError;              // under statusMutex

private:
    void spawn(std::function<void()> fn);
    void noteSendError(const Status &s);

    control::ControlServer *m_server = nullptr;
    std::mutex m_mutex;
    std::vector<std::thread> m_threads;
    std::vector<control::Responder> m_gathered;
};

} // namespace vd::test
