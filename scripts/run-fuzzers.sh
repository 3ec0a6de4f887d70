#!/usr/bin/env bash
# Builds the libFuzzer targets (cmake preset `fuzz`) and runs each of them for
# a while over a copy of its seed corpus. CI runs it briefly on every change.
#
# usage: scripts/run-fuzzers.sh [SECONDS_PER_TARGET]   (default 20)
#
# Exits non-zero if the build fails or any target finds a crash, leak,
# sanitizer report or timeout. Nothing is written into the source tree: the
# working corpora, crash inputs and logs go to build/fuzz/fuzz-run/.
# Extra libFuzzer flags can be passed in FUZZ_FLAGS (e.g. FUZZ_FLAGS=-jobs=2).
set -euo pipefail

seconds="${1:-20}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: $0 [SECONDS_PER_TARGET]" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

built=$SECONDS
cmake --preset fuzz
cmake --build --preset fuzz
echo "run-fuzzers: configured and built in $((SECONDS - built)) s"

bindir="$root/build/fuzz/tests/fuzz"
rundir="$root/build/fuzz/fuzz-run"
rm -rf "$rundir"
mkdir -p "$rundir"

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:symbolize=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:report_error_type=1"
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"

# Every tests/fuzz/fuzz_<name>.cpp is a target with seeds in corpus/<name>/.
targets=()
for src in "$root"/tests/fuzz/fuzz_*.cpp; do
    name="$(basename "$src" .cpp)"
    targets+=("${name#fuzz_}")
done

failed=()
summary=()
for name in "${targets[@]}"; do
    bin="$bindir/fuzz_$name"
    seeds="$root/tests/fuzz/corpus/$name"
    if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
        echo "run-fuzzers: missing $bin or $seeds" >&2
        failed+=("$name")
        continue
    fi
    work="$rundir/$name"
    mkdir -p "$work/corpus" "$work/artifacts"
    cp -R "$seeds/." "$work/corpus/"
    log="$work/fuzz.log"
    echo "=== fuzz_$name: ${seconds}s (log: ${log#$root/})"
    rc=0
    # shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
    "$bin" "$work/corpus" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/" ${FUZZ_FLAGS:-} \
        >"$log" 2>&1 || rc=$?
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    if [ "$rc" -ne 0 ] || ls "$work/artifacts/"* >/dev/null 2>&1; then
        echo "!!! fuzz_$name FAILED (exit $rc). Last lines of the log:"
        tail -n 60 "$log"
        ls -l "$work/artifacts/" || true
        failed+=("$name")
        summary+=("$(printf '%-14s FAILED (exit %s)' "$name" "$rc")")
    else
        summary+=("$(printf '%-14s ok  %10s runs  %8s exec/s' "$name" "${execs:-?}" "${speed:-?}")")
    fi
done

echo
echo "=== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "run-fuzzers: failing targets: ${failed[*]} (inputs in ${rundir#$root/}/<target>/artifacts/)" >&2
    exit 1
fi
echo "run-fuzzers: all ${#targets[@]} targets ran clean"
