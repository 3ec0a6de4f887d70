#include "progress.h"

#include "session.h"
#include "terminal.h"

#include "transfer/localfs.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

namespace vd::cli {

namespace {
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void onInterrupt(int) { g_interrupted = 1; }
} // namespace

ProgressLine::ProgressLine(QString label, uint64_t total, bool enabled)
    : m_label(std::move(label)), m_total(total), m_session(currentSession())
{
    m_enabled = enabled && (m_session ? m_session->stderrIsTerminal : ::isatty(STDERR_FILENO) == 1);
    m_clock.start();
    // In the node, Ctrl-C is the client's: it arrives as a cancel of the
    // request (Session::isCancelled), and the node's signals stay its own.
    if (!m_session) {
        std::signal(SIGINT, onInterrupt);
        std::signal(SIGTERM, onInterrupt);
    }
}

ProgressLine::~ProgressLine()
{
    finish();
    if (!m_session) {
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
    }
}

bool ProgressLine::update(uint64_t done)
{
    return tick([&] {
        const double seconds = std::max<double>(double(m_clock.elapsed()) / 1000.0, 0.001);
        QString line = QStringLiteral("%1: %2").arg(m_label, formatBytes(done));
        if (m_total > 0)
            line += QStringLiteral(" of %1 (%2%)").arg(formatBytes(m_total)).arg(done * 100 / m_total);
        line += QStringLiteral(", %1/s").arg(formatBytes(uint64_t(double(done) / seconds)));
        return line;
    });
}

bool ProgressLine::entries(uint64_t done)
{
    return tick([&] { return QStringLiteral("%1: %2 entries").arg(m_label).arg(done); });
}

bool ProgressLine::tick(const std::function<QString()> &text)
{
    if (interrupted())
        return false;
    if (!m_enabled)
        return true;
    const qint64 now = m_clock.elapsed();
    if (now - m_lastDraw < 100)
        return true;
    m_lastDraw = now;
    // Only ever drawn on a terminal: names in it are shown escaped.
    draw(QByteArray("\r\033[K") + terminalSafe(text()).toUtf8());
    m_drawn = true;
    return true;
}

void ProgressLine::finish()
{
    if (m_drawn) {
        draw("\r\033[K");
        m_drawn = false;
    }
}

void ProgressLine::draw(const QByteArray &bytes)
{
    if (m_session) {
        (void)m_session->write(2, bytes); // a client gone is seen by interrupted()
        return;
    }
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stderr);
    std::fflush(stderr);
}

bool ProgressLine::interrupted()
{
    if (const Session *s = currentSession())
        return s->isCancelled();
    return g_interrupted != 0;
}

int ProgressLine::openInterruptibly(const QByteArray &path, int flags)
{
    // In the node: a FIFO opened without blocking, then waited for by poll()
    // in short steps that look at interrupted().
    if (currentSession())
        return transfer::openWaiting(path, flags, &interrupted);
    // std::signal() restarts an interrupted open(); for this one call the
    // handler is installed without SA_RESTART, so open() returns EINTR.
    struct sigaction act{};
    act.sa_handler = onInterrupt;
    sigemptyset(&act.sa_mask);
    struct sigaction oldInt{};
    struct sigaction oldTerm{};
    ::sigaction(SIGINT, &act, &oldInt);
    ::sigaction(SIGTERM, &act, &oldTerm);
    int fd = -1;
    while (!g_interrupted) {
        fd = ::open(path.constData(), flags | O_CLOEXEC);
        if (fd >= 0 || errno != EINTR)
            break;
    }
    const int error = fd >= 0 ? 0 : g_interrupted ? EINTR : errno;
    ::sigaction(SIGINT, &oldInt, nullptr);
    ::sigaction(SIGTERM, &oldTerm, nullptr);
    errno = error;
    return fd;
}

} // namespace vd::cli
