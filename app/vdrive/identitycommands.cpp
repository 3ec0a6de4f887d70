// The node's own commands: `vdrive id`.
#include "commands.h"

#include "cliutil.h"

#include "node/identity.h"

#include <QJsonObject>

namespace vd::cli {

int cmdId(Context &ctx)
{
    auto identity = node::NodeIdentity::open(ctx.dataDir);
    if (!identity)
        return ctx.fail(identity.status());
    const node::NodeId &id = identity->id();
    if (ctx.json)
        printJson(ctx, QJsonObject{{QStringLiteral("id"), id.toString()},
                                   {QStringLiteral("shortId"), id.shortIdHex()},
                                   {QStringLiteral("created"), identity->wasCreated()},
                                   {QStringLiteral("key"), node::NodeIdentity::keyPath(ctx.dataDir)},
                                   {QStringLiteral("certificate"), node::NodeIdentity::certificatePath(ctx.dataDir)}});
    else
        ctx.out << id.toString() << Qt::endl;
    return ExitOk;
}

} // namespace vd::cli
