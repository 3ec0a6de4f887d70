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
# The targets run FUZZ_PARALLEL at a time (default: one per core), each for
# the full SECONDS_PER_TARGET: the same search per target in less wall time.
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

# fuzz_one NAME: runs one target; leaves "ok <execs> <speed>" or
# "FAILED <exit>" in its work directory's `result`.
fuzz_one() {
    local name="$1" bin="$bindir/fuzz_$1" seeds="$root/tests/fuzz/corpus/$1"
    local work="$rundir/$1" rc=0
    mkdir -p "$work/corpus" "$work/artifacts"
    if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
        echo "run-fuzzers: missing $bin or $seeds" >"$work/fuzz.log"
        echo "FAILED missing" >"$work/result"
        return
    fi
    cp -R "$seeds/." "$work/corpus/"
    # shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
    "$bin" "$work/corpus" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/" ${FUZZ_FLAGS:-} \
        >"$work/fuzz.log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ] || ls "$work/artifacts/"* >/dev/null 2>&1; then
        echo "FAILED $rc" >"$work/result"
    else
        echo "ok $(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1) $(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -n 1)" >"$work/result"
    fi
}

parallel="${FUZZ_PARALLEL:-$(nproc)}"
running=0
for name in "${targets[@]}"; do
    if [ "$running" -ge "$parallel" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    echo "=== fuzz_$name: ${seconds}s (log: ${rundir#$root/}/$name/fuzz.log)"
    fuzz_one "$name" &
    running=$((running + 1))
done
wait

failed=()
summary=()
for name in "${targets[@]}"; do
    work="$rundir/$name"
    read -r state a b <"$work/result" || state=FAILED
    if [ "$state" = ok ]; then
        summary+=("$(printf '%-14s ok  %10s runs  %8s exec/s' "$name" "${a:-?}" "${b:-?}")")
    else
        echo "!!! fuzz_$name FAILED (exit ${a:-?}). Last lines of the log:"
        tail -n 60 "$work/fuzz.log"
        ls -l "$work/artifacts/" || true
        failed+=("$name")
        summary+=("$(printf '%-14s FAILED (exit %s)' "$name" "${a:-?}")")
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
