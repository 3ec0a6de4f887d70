#include "session.h"

#include "terminal.h"

#include <cstring>

namespace vd::cli {

namespace {
thread_local Session *t_session = nullptr;
} // namespace

Session *currentSession()
{
    return t_session;
}

SessionScope::SessionScope(Session *session) : m_previous(t_session), m_out(stdoutIsTerminal()), m_err(stderrIsTerminal())
{
    t_session = session;
    if (session)
        setTerminals(session->stdoutIsTerminal, session->stderrIsTerminal);
}

SessionScope::~SessionScope()
{
    t_session = m_previous;
    setTerminals(m_out, m_err);
}

SessionOutput::SessionOutput(Session &session, int channel) : m_session(session), m_channel(channel)
{
    open(QIODevice::WriteOnly | QIODevice::Unbuffered);
}

qint64 SessionOutput::writeData(const char *data, qint64 len)
{
    if (!m_session.write(m_channel, QByteArrayView(data, len))) {
        setErrorString(QStringLiteral("the client went away"));
        return -1;
    }
    return len;
}

SessionInput::SessionInput(Session &session) : m_session(session)
{
    open(QIODevice::ReadOnly | QIODevice::Unbuffered);
}

bool SessionInput::atEnd() const
{
    return m_ended && m_offset >= m_buffer.size();
}

qint64 SessionInput::readData(char *data, qint64 maxlen)
{
    if (m_offset >= m_buffer.size()) {
        if (m_ended)
            return 0; // the end of the stream (-1 would be an error)
        auto next = m_session.readInput();
        if (!next) {
            setErrorString(next.status().message());
            return -1;
        }
        m_buffer = std::move(next).value();
        m_offset = 0;
        if (m_buffer.isEmpty()) {
            m_ended = true;
            return 0;
        }
    }
    const qint64 n = std::min<qint64>(maxlen, m_buffer.size() - m_offset);
    std::memcpy(data, m_buffer.constData() + m_offset, size_t(n));
    m_offset += n;
    return n;
}

} // namespace vd::cli
