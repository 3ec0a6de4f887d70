// vdrive-explorer: the desktop explorer. It embeds the node of its data
// directory (the engine serving the window's models on threads of its own),
// serves `vdrive` commands on the node's control socket while it runs (so a
// terminal works on the same drive), and shows one MainWindow over it.
// When a `vdrive serve` already runs on the data directory, the window is
// its client instead, through the same DriveApi (RemoteDriveApi).
//
//   vdrive-explorer [--data-dir DIR] [-c COLLECTION] [PATH]
//
// VDRIVE_EXPLORER_REPORT_READY=1 (for bench/explorer.sh, docs/PERFORMANCE.md
// §14): once the contents view has painted the first folder's listing, the
// explorer prints "ready MS" (milliseconds since main() began) on stdout and
// quits as Quit does.
#include "serve.h"

#include "client/localdriveapi.h"
#include "foldermodel.h"
#include "control/nodelock.h"
#include "control/remotedriveapi.h"
#include "io/env.h"
#include "mainwindow.h"
#include "node/node.h"
#include "storage/datadir.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QEvent>
#include <QMessageBox>
#include <QSocketNotifier>
#include <QTimer>
#include <QTreeView>
#include <QListView>

#include <csignal>
#include <cstdio>
#include <memory>
#include <sys/socket.h>
#include <unistd.h>

using namespace vd;

namespace {

// SIGINT, SIGTERM and SIGHUP close the window as Quit does: the node then
// runs what is queued, commits and lets its lock go. The handler only
// writes a byte; the event loop reads it (the self-pipe trick).
int g_signalPipe[2] = {-1, -1};

void onStopSignal(int)
{
    const char byte = 1;
    (void)!::write(g_signalPipe[1], &byte, 1);
}

void quitOnStopSignals()
{
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g_signalPipe) != 0)
        return;
    auto *notifier = new QSocketNotifier(g_signalPipe[0], QSocketNotifier::Read, qApp);
    QObject::connect(notifier, &QSocketNotifier::activated, qApp, [] {
        char byte = 0;
        (void)!::read(g_signalPipe[0], &byte, 1);
        QApplication::closeAllWindows();
        QApplication::quit();
    });
    struct sigaction sa{};
    sa.sa_handler = onStopSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int s : {SIGINT, SIGTERM, SIGHUP})
        ::sigaction(s, &sa, nullptr);
}

// The hook behind VDRIVE_EXPLORER_REPORT_READY: watches the contents
// view's paints; the first one with the folder listed is the window a user
// can work in. The report is sent after that paint has been handled (a
// zero timer), then the window closes as Quit does.
class ReadyReporter : public QObject
{
public:
    ReadyReporter(widgets::MainWindow &window, const QElapsedTimer &sinceStart)
        : QObject(&window), m_window(window), m_sinceStart(sinceStart)
    {
        window.detailsView()->viewport()->installEventFilter(this);
        window.iconView()->viewport()->installEventFilter(this);
        // An empty folder inserts no rows: nothing else would paint again.
        connect(window.folderModel(), &widgets::FolderModel::stateChanged, this, [&window](widgets::FolderModel::State s) {
            if (s == widgets::FolderModel::State::Ready) {
                window.detailsView()->viewport()->update();
                window.iconView()->viewport()->update();
            }
        });
    }

protected:
    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (event->type() == QEvent::Paint && !m_reported && m_window.folderModel()->state() == widgets::FolderModel::State::Ready) {
            m_reported = true;
            QTimer::singleShot(0, this, [this] {
                std::printf("ready %.1f\n", double(m_sinceStart.nsecsElapsed()) / 1e6);
                std::fflush(stdout);
                QApplication::closeAllWindows();
                QApplication::quit();
            });
        }
        return QObject::eventFilter(watched, event);
    }

private:
    widgets::MainWindow &m_window;
    const QElapsedTimer &m_sinceStart;
    bool m_reported = false;
};

void reportReadyIfAsked(widgets::MainWindow &window, const QElapsedTimer &sinceStart)
{
    if (qEnvironmentVariableIntValue("VDRIVE_EXPLORER_REPORT_READY") != 0)
        new ReadyReporter(window, sinceStart);
}

} // namespace

int main(int argc, char **argv)
{
    QElapsedTimer sinceStart;
    sinceStart.start();
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("vdrive"));
    QApplication::setApplicationName(QStringLiteral("vdrive-explorer"));
    QApplication::setApplicationVersion(QStringLiteral(VD_VERSION_STRING));
    QApplication::setApplicationDisplayName(QStringLiteral("vdrive"));
    std::signal(SIGPIPE, SIG_IGN);
    quitOnStopSignals();

    QCommandLineParser parser;
    parser.setApplicationDescription(QApplication::translate("main", "The vdrive explorer: browse and change the collections of a data directory."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption dataDirOption(QStringLiteral("data-dir"),
                                           QApplication::translate("main", "The data directory (default: $VDRIVE_DATA_DIR, else the user's data folder)."),
                                           QStringLiteral("DIR"));
    const QCommandLineOption collectionOption({QStringLiteral("c"), QStringLiteral("collection")},
                                              QApplication::translate("main", "The collection to show first (a name or a RUID)."), QStringLiteral("NAME"));
    parser.addOption(dataDirOption);
    parser.addOption(collectionOption);
    parser.addPositionalArgument(QStringLiteral("path"), QApplication::translate("main", "The folder to show first (default /)."), QStringLiteral("[PATH]"));
    parser.process(app);

    const QString dataDir = storage::resolveDataDir(parser.value(dataDirOption));
    io::Env &env = *io::Env::posix();
    // One node per data directory: this one, unless another program (a
    // `vdrive serve`) already is it — then the window is that node's client.
    auto lock = control::NodeLock::acquire(env, dataDir, QStringLiteral("vdrive-explorer"));
    if (!lock) {
        auto running = control::NodeLock::find(env, dataDir);
        Status why = lock.status();
        if (running && *running && !(*running)->socketPath.isEmpty()) {
            control::RemoteDriveApi api(dataDir, (*running)->socketPath, QStringLiteral("vdrive-explorer"));
            why = api.start();
            if (why) {
                widgets::MainWindow window(&api);
                reportReadyIfAsked(window, sinceStart);
                window.show();
                const QStringList args = parser.positionalArguments();
                window.openCollection(parser.value(collectionOption), args.isEmpty() ? QStringLiteral("/") : args.constFirst());
                return QApplication::exec();
            }
        }
        QMessageBox box(QMessageBox::Critical, QApplication::translate("main", "vdrive"),
                        QApplication::translate("main", "The data directory %1 is in use by another vdrive program, and the explorer cannot reach it.")
                            .arg(dataDir));
        box.setTextFormat(Qt::PlainText);
        box.setDetailedText(why.toString());
        box.exec();
        return 1;
    }
    node::NodeOptions options;
    options.env = &env;
    options.dataDir = dataDir;
    node::Node node(options);
    {
        // `vdrive ...` in a terminal now goes through this node. Without the
        // socket the window still works; the terminal then finds the
        // collection locked and says so.
        auto server = cli::NodeServer::start(node, std::move(lock).value(), QStringLiteral("vdrive-explorer"));
        if (!server)
            qWarning("vdrive-explorer: not serving vdrive commands: %s", qUtf8Printable(server.status().toString()));
        client::LocalDriveApi api(node);
        widgets::MainWindow window(&api);
        reportReadyIfAsked(window, sinceStart);
        window.show();
        const QStringList args = parser.positionalArguments();
        window.openCollection(parser.value(collectionOption), args.isEmpty() ? QStringLiteral("/") : args.constFirst());
        const int code = QApplication::exec();
        if (code != 0)
            return code;
    }
    node.close(); // what is queued runs and commits
    return 0;
}
