// A helper process for tst_control: a control server the test can kill -9, a
// client that runs as another user, and a holder of a node lock.
//
//   vd_controlpeer serve <socket>            serves the toy handler; prints "listening"
//   vd_controlpeer client <socket> <user>    drops to user (by name), connects,
//                                            calls echo; prints "connect: <status>"
//                                            and, when connected, "echo: <status>"
//   vd_controlpeer lock <data dir>           holds the node lock; prints "locked <pid>"
//
// Each runs until killed or done; errors go to stdout for the test to read.
#include "control/controlclient.h"
#include "control/controlserver.h"
#include "control/nodelock.h"
#include "controltoy.h"

#include <QCborMap>
#include <QCoreApplication>

#include <cstdio>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

using namespace vd;

namespace {

void say(const QString &line)
{
    std::printf("%s\n", qUtf8Printable(line));
    std::fflush(stdout);
}

QString show(const Status &s) { return s.isOk() ? QStringLiteral("ok") : s.toString(); }

// Becomes user for good (root only): groups, gid, then uid.
bool dropTo(const char *user)
{
    const passwd *pw = ::getpwnam(user);
    if (!pw)
        return false;
    return ::setgroups(0, nullptr) == 0 && ::setgid(pw->pw_gid) == 0 && ::setuid(pw->pw_uid) == 0 && ::getuid() == pw->pw_uid;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 3) {
        say(QStringLiteral("usage: vd_controlpeer serve|client|lock ARG [USER]"));
        return 2;
    }
    const QByteArray mode = argv[1];
    if (mode == "client" && argc >= 4 && !dropTo(argv[3])) {
        say(QStringLiteral("cannot become %1").arg(QString::fromLocal8Bit(argv[3])));
        return 3;
    }
    QCoreApplication app(argc, argv);
    const QString arg = QString::fromLocal8Bit(argv[2]);

    if (mode == "serve") {
        test::ToyHandler handler;
        control::ControlServer server(handler);
        handler.setServer(&server);
        const Status listening = server.listen(arg);
        if (!listening.isOk()) {
            say(QStringLiteral("error %1").arg(show(listening)));
            return 1;
        }
        say(QStringLiteral("listening"));
        return app.exec();
    }
    if (mode == "client") {
        control::ControlClient client;
        const Status connected = client.connectToSocket(arg, QStringLiteral("vd_controlpeer"), 10000);
        say(QStringLiteral("connect: %1").arg(show(connected)));
        if (!connected.isOk())
            return 1;
        QCborMap args;
        args.insert(QLatin1String("hello"), QStringLiteral("from uid %1").arg(::getuid()));
        auto echoed = client.call(QStringLiteral("echo"), args);
        say(QStringLiteral("echo: %1").arg(show(echoed ? Status() : echoed.status())));
        return echoed ? 0 : 1;
    }
    if (mode == "lock") {
        auto lock = control::NodeLock::acquire(*io::Env::posix(), arg, QStringLiteral("vd_controlpeer lock"));
        if (!lock) {
            say(QStringLiteral("error %1").arg(show(lock.status())));
            return 1;
        }
        say(QStringLiteral("locked %1").arg(::getpid()));
        return app.exec();
    }
    say(QStringLiteral("unknown mode"));
    return 2;
}
