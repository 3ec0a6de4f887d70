// vdrive: the command-line front end over the engine.
#include "cli.h"

#include <QCoreApplication>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("vdrive"));
    QCoreApplication::setApplicationVersion(QStringLiteral(VD_VERSION_STRING));
    return vd::cli::run(QCoreApplication::arguments());
}
