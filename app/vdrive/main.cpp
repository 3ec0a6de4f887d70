// vdrive: the command-line front end over the engine.
#include "cli.h"

#include <QCoreApplication>

int main(int argc, char **argv)
{
    // The arguments as the kernel gave them: Qt decodes them as UTF-8 and
    // turns invalid bytes into U+FFFD, so run() checks the raw bytes.
    QByteArrayList raw;
    for (int i = 0; i < argc; ++i)
        raw.append(QByteArray(argv[i]));
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("vdrive"));
    QCoreApplication::setApplicationVersion(QStringLiteral(VD_VERSION_STRING));
    return vd::cli::run(QCoreApplication::arguments(), raw);
}
