// Helper process for tst_crash and tst_lock: opens a collection for writing
// and stores objects one commit at a time, printing "ack N" after commit N is
// durable, until killed. With "hold" it only takes the lock, prints
// "locked PID" and waits for its standard input to close.
//
//   vd_crashwriter write COLLECTION_DIR FIRST   (objects FIRST, FIRST+1, …)
//   vd_crashwriter hold COLLECTION_DIR
#include "crashpayload.h"

#include "io/env.h"
#include "storage/collection.h"

#include <QCoreApplication>
#include <QFile>

#include <cstdio>
#include <unistd.h>

using namespace vd;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() < 3)
        return 2;
    auto c = storage::Collection::open(*io::Env::posix(), args[2], storage::Access::ReadWrite);
    if (!c) {
        std::fprintf(stderr, "%s\n", qPrintable(c.status().toString()));
        return 1;
    }
    if (args[1] == QStringLiteral("hold")) {
        std::printf("locked %d\n", int(::getpid()));
        std::fflush(stdout);
        QFile in;
        in.open(stdin, QIODevice::ReadOnly);
        while (!in.readLine().isEmpty() || !in.atEnd()) {
        }
        return 0;
    }
    for (int n = args.value(3).toInt();; ++n) {
        Status st = (*c)->putObjectBytes(QStringLiteral("obj-%1").arg(n), crashWriterPayload(n));
        if (st)
            st = (*c)->commit();
        if (!st) {
            std::fprintf(stderr, "%s\n", qPrintable(st.toString()));
            return 1;
        }
        std::printf("ack %d\n", n);
        std::fflush(stdout);
    }
}
