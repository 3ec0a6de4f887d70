#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite twice —
# a normal build (dev preset) and one under AddressSanitizer and
# UndefinedBehaviorSanitizer (asan preset) — then runs every libFuzzer
# target briefly. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

for preset in dev asan; do
    echo "== $preset: configure, build, test"
    cmake --preset "$preset"
    cmake --build --preset "$preset"
    ctest --preset "$preset"
done

echo "== fuzz: every decoder of on-disk bytes, briefly"
bash scripts/run-fuzzers.sh "${VD_FUZZ_SECONDS:-15}"
