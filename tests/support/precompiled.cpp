// Compiles tests/support/precompiled.h once for the test programs that reuse it.
