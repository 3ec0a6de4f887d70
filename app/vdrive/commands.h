// The vdrive commands, one function each, thin over the engine API.
#pragma once

#include "cli.h"

namespace vd::cli {

int cmdInit(Context &ctx);
int cmdCollections(Context &ctx);
int cmdInfo(Context &ctx);
int cmdFsck(Context &ctx);
int cmdPutObject(Context &ctx);
int cmdGetObject(Context &ctx);
int cmdObjects(Context &ctx);
int cmdRemoveObject(Context &ctx);

} // namespace vd::cli
