// FolderChanges: making folders, moving and copying nodes in the live tree
// (a copy shares its files' blocks and may come out of a snapshot). Every
// refusal — the name is taken, a folder would go inside itself, the depth
// limit — is decided before anything changes.
//
// Owns nothing: made for one call on the Drive's TreeWriter.
// Thread safety: not thread-safe; the writer's thread only.
#pragma once

#include "ticker.h"
#include "vnode.h"

#include "core/status.h"

namespace vd::tree {

class TreeWriter;

class FolderChanges
{
public:
    // ticker: the progress and cancel of the call (ticker.h); null: none.
    explicit FolderChanges(TreeWriter &writer, Ticker *ticker = nullptr) : m_w(writer), m_ticker(ticker) {}

    // See Drive::mkdir, move, copy.
    Result<VNode> mkdir(const QString &path, bool parents);
    Result<VNode> move(const QString &from, const QString &to);
    Result<VNode> copy(const QString &from, const QString &to, const QString &at);

private:
    TreeWriter &m_w;
    Ticker *m_ticker;
};

} // namespace vd::tree
