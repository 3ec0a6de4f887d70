#!/usr/bin/env bash
# bench/serve_ls.sh: `vdrive ls` through a node (`vdrive serve`) beside the same
# `ls` without a node, in the same run (docs/PERFORMANCE.md §11).
#
# A collection with VD_BENCH_FILES (default 100) small files in /. Then three
# phases of VD_BENCH_RUNS (default 200) runs each, timed one by one with
# date +%s%N around the whole process:
#   direct  `vdrive -c bench ls /` with no node (opens the collection itself)
#   served  the same with `vdrive serve` running (the command goes through the
#           control socket and runs in the node)
#   direct  again, to see the machine did not drift
# and, as the floor both share, `vdrive --version` (process start, no data
# directory). Reported per phase: median and 90th percentile in ms. With the
# node running, bench_servels (if built) times the same ls as a cli.run
# request on an open connection, on a fresh one, and control.ping.
#
# Usage: bench/serve_ls.sh [VDRIVE_BINARY]   (default build/dev/app/vdrive/vdrive)
# Environment: VD_BENCH_DIR (default /var/tmp), VD_BENCH_RUNS, VD_BENCH_FILES.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup serve_ls.sh vdserve "${1:-}"
RUNS=${VD_BENCH_RUNS:-200}
FILES=${VD_BENCH_FILES:-100}
mkdir "$WORK/src"
for i in $(seq 1 "$FILES"); do echo "file $i" >"$WORK/src/f$i"; done
"$VDRIVE" "${D[@]}" -c bench put -r "$WORK/src/." / >/dev/null 2>&1 || "$VDRIVE" "${D[@]}" -c bench put "$WORK"/src/* / >/dev/null

# times ARGS...: RUNS runs of ARGS, one elapsed time (ns) per line.
times() {
    for _ in $(seq 1 "$RUNS"); do
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null
        t1=$(date +%s%N)
        echo $((t1 - t0))
    done
}
report() { bench_report "$1" 8 6 runs; } # label < times

want=$("$VDRIVE" "${D[@]}" -c bench ls / | wc -l)
times "$VDRIVE" --version | report version
times "$VDRIVE" "${D[@]}" -c bench ls / | report direct
bench_serve
got=$("$VDRIVE" "${D[@]}" -c bench ls / | wc -l)
[[ $got == "$want" ]] || { echo "serve_ls.sh: ls through the node listed $got names, not $want" >&2; exit 1; }
"$VDRIVE" "${D[@]}" status | grep -q "pid $SERVE_PID" || { echo "serve_ls.sh: the node is not serving" >&2; exit 1; }
times "$VDRIVE" "${D[@]}" -c bench ls / | report served
# The same without starting a process: bench_servels beside the binary's build.
SERVELS=$(dirname "$VDRIVE")/../../bench/bench_servels
if [[ -x $SERVELS ]]; then
    VD_BENCH_SOCKET=$WORK/data/node.sock VD_BENCH_DATA=$WORK/data "$SERVELS" --benchmark_repetitions=5 \
        --benchmark_report_aggregates_only=true 2>/dev/null | grep -E "median|p90|mean" || true
fi
bench_stop_serve
times "$VDRIVE" "${D[@]}" -c bench ls / | report direct
