#include "progress.h"

#include "session.h"
#include "terminal.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vd::cli {

namespace {
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void onInterrupt(int) { g_interrupted = 1; }
} // namespace

QString formatBytes(uint64_t bytes)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        ++u;
    }
    return u == 0 ? QStringLiteral("%1 B").arg(bytes) : QStringLiteral("%1 %2").arg(v, 0, 'f', v < 10 ? 2 : 1).arg(QLatin1String(units[u]));
}

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
    if (currentSession())
        return openPolling(path, flags);
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

int ProgressLine::openPolling(const QByteArray &path, int flags)
{
    const int fd = ::open(path.constData(), flags | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st{};
    if (::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && (flags & O_ACCMODE) == O_RDONLY) {
        // Readable (or hung up) once a writer has come: until then a read
        // would see an end that is not one.
        pollfd p{fd, POLLIN, 0};
        while (::poll(&p, 1, 50) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) {
            if (interrupted()) {
                ::close(fd);
                errno = EINTR;
                return -1;
            }
            p.revents = 0;
        }
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

} // namespace vd::cli
