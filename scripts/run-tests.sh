#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite twice —
# a normal build (dev preset) and one under AddressSanitizer and
# UndefinedBehaviorSanitizer (asan preset) — then the tests that run threads
# (ctest label threads) under ThreadSanitizer (tsan preset), then every
# libFuzzer target briefly (5 s each, VD_FUZZ_SECONDS to change; CI must fit
# 40 minutes on 2 cores). This is what CI runs (.ci/run).
#
# usage: scripts/run-tests.sh [--long]
#
# The crash sweeps (ctest label `long`) interrupt every step of every change
# in the dev build; under the sanitizers they run a seeded sample of the
# steps, and the tree's model test (tst_treemodel) the first 700 of its
# 1,500 random operations (CMakePresets.json). --long runs them in full
# under the sanitizers too (test preset asan-long).
set -euo pipefail
cd "$(dirname "$0")/.."

asan_tests=asan
case "${1:-}" in
    "") ;;
    --long) asan_tests=asan-long ;;
    *)
        echo "usage: $0 [--long]" >&2
        exit 2
        ;;
esac

timings=()
phase() { # phase NAME COMMAND...: runs it and remembers how long it took
    local name="$1" start=$SECONDS
    shift
    "$@"
    timings+=("$(printf '%-22s %5d s' "$name" $((SECONDS - start)))")
}

bash scripts/install-deps.sh

for preset in dev asan; do
    tests=$preset
    [ "$preset" = asan ] && tests=$asan_tests
    echo "== $preset: configure, build, test ($tests)"
    phase "$preset: configure+build" bash -c "cmake --preset $preset && cmake --build --preset $preset"
    phase "$preset: tests" ctest --preset "$tests"
done

echo "== tsan: configure, build and run the tests that run threads"
phase "tsan: configure+build" bash -c "cmake --preset tsan && cmake --build --preset tsan"
phase "tsan: tests" ctest --preset tsan

echo "== fuzz: every decoder of on-disk bytes, briefly"
phase "fuzz: build+run" bash scripts/run-fuzzers.sh "${VD_FUZZ_SECONDS:-5}"

echo "== time per phase"
printf '%s\n' "${timings[@]}"
