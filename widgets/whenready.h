// whenReady: the explorer's way to take an answer of the node's API on the
// GUI thread without waiting for it — done(result) runs on receiver's
// thread once the future has its result (a future that ends without one,
// cancelled, gives Cancelled), and never if receiver is gone by then.
//
// whenComputed: the same for work of the explorer's own on the thread pool
// (a QtConcurrent::run whose value is not a Result): done(value) runs on
// receiver's thread, and never when the future ends without a value.
//
// Thread safety: call them on receiver's thread.
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

// whenTaken: whenReady for a large answer — the result is moved out of the
// future (QFuture::takeResult), not copied on the GUI thread; the future
// (and its copies) then hold no result.
template<typename T, typename Done>
void whenTaken(QObject *receiver, QFuture<Result<T>> future, Done done)
{
    auto *watcher = new QFutureWatcher<Result<T>>(receiver);
    QObject::connect(watcher, &QFutureWatcherBase::finished, receiver, [watcher, done] {
        watcher->deleteLater();
        QFuture<Result<T>> f = watcher->future();
        // Cancelled by its caller, even after its result came (Qt then no
        // longer lets it be taken): no longer wanted.
        if (f.isCanceled() || !f.isValid() || f.resultCount() == 0)
            done(Result<T>(Status::cancelled(QObject::tr("cancelled"))));
        else
            done(f.takeResult());
    });
    watcher->setFuture(std::move(future));
}

template<typename T, typename Done>
void whenComputed(QObject *receiver, QFuture<T> future, Done done)
{
    auto *watcher = new QFutureWatcher<T>(receiver);
    QObject::connect(watcher, &QFutureWatcherBase::finished, receiver, [watcher, done] {
        watcher->deleteLater();
        if (watcher->future().resultCount() > 0)
            done(watcher->result());
    });
    watcher->setFuture(std::move(future));
}

} // namespace vd::widgets
