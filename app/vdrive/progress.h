// A one-line progress report on stderr for long operations, redrawn at most
// ten times a second — only when stderr is a terminal and output is not JSON.
// Also the place where Ctrl-C is noticed: while a ProgressLine lives, SIGINT
// and SIGTERM make update() return false, so the engine cancels cleanly
// (rolling back) instead of being killed mid-write.
#pragma once

#include "core/wording.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QString>

#include <cstdint>
#include <functional>

namespace vd::cli {

class Session;

class ProgressLine
{
public:
    ProgressLine(QString label, uint64_t total, bool enabled);
    ~ProgressLine();

    // "<label>: <done> of <total> (p%), <rate>/s"; false once interrupted.
    bool update(uint64_t done);
    // Draws the line text() returns, asked only when a redraw is due (bulk
    // commands that count files and bytes); false once interrupted.
    bool tick(const std::function<QString()> &text);
    // "<label>: <done> entries", for the walks of the tree (cp -r, rm -r,
    // restore, trash empty, json import, diff, du, fsck, snapshot sizes);
    // false once interrupted.
    bool entries(uint64_t done);
    void finish();

    // Ctrl-C or SIGTERM (in the node: the client cancelled, went away, or
    // the node is stopping).
    static bool interrupted();
    // open(2) of a path that may wait indefinitely (a FIFO waits for a
    // writer), which Ctrl-C or SIGTERM can interrupt while a ProgressLine
    // lives: -1 with errno EINTR once interrupted(). Close-on-exec.
    static int openInterruptibly(const QByteArray &path, int flags);

private:
    void draw(const QByteArray &bytes);
    QString m_label;
    uint64_t m_total;
    Session *m_session;
    bool m_enabled = false;
    bool m_drawn = false;
    QElapsedTimer m_clock;
    qint64 m_lastDraw = -1000;
};

using vd::formatBytes;

} // namespace vd::cli
