// How counts and sizes read in messages ("3 files", "1.50 MiB"): the engine
// words its reports the way the CLI prints them, so one text serves both.
// Pure functions, thread-safe.
#pragma once

#include <QString>

#include <cstdint>

namespace vd {

// "1 block", "3 blocks"
QString count(uint64_t n, const char *singular, const char *plural);
// "512 B", "1.50 MiB", "12.3 GiB" (binary units).
QString formatBytes(uint64_t bytes);

} // namespace vd
