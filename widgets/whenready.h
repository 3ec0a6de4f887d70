// whenReady: the explorer's way to take an answer of the node's API on the
// GUI thread without waiting for it — done(result) runs on receiver's
// thread once the future has its result (a future that ends without one,
// cancelled, gives Cancelled), and never if receiver is gone by then.
//
// Thread safety: call it on receiver's thread.
#pragma once

#include "core/status.h"

#include <QFuture>
#include <QFutureWatcher>
#include <QObject>

namespace vd::widgets {

template<typename T, typename Done>
void whenReady(QObject *receiver, QFuture<Result<T>> future, Done done)
{
    auto *watcher = new QFutureWatcher<Result<T>>(receiver);
    QObject::connect(watcher, &QFutureWatcherBase::finished, receiver, [watcher, done] {
        watcher->deleteLater();
        if (watcher->future().resultCount() == 0)
            done(Result<T>(Status::cancelled(QObject::tr("cancelled"))));
        else
            done(watcher->result());
    });
    watcher->setFuture(std::move(future));
}

} // namespace vd::widgets
