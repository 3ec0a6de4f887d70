// The tree's walks count their progress and hear their cancel through
// storage::Ticker (storage/ticker.h), as the collection's own walks do.
#pragma once

#include "storage/ticker.h"

namespace vd::tree {

using storage::Ticker;
using storage::tick;

} // namespace vd::tree
