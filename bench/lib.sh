# bench/lib.sh: the set-up the node benchmarks share (serve_ls.sh,
# notify_follow.sh); sourced, not run.
#
# bench_setup NAME PREFIX [VDRIVE_BINARY] sets
#   VDRIVE            the vdrive binary (default build/dev/app/vdrive/vdrive); NAME
#                     names the script in the message when it is missing (exit 2)
#   WORK              a fresh folder PREFIX-XXXXXX under VD_BENCH_DIR (default
#                     /var/tmp), removed on exit once the node (SERVE_PID) and
#                     every background process in PIDS are stopped
#   D                 the --data-dir arguments of $WORK/data, where it makes the
#                     collection `bench`
#   VDRIVE_CACHE_DIR  exported, under $WORK
# bench_serve starts `vdrive serve` (SERVE_PID, output in $WORK/serve.out) and
# waits, bounded, until it serves; bench_stop_serve stops it.
# bench_report LABEL WIDTH DIGITS NOUN < times (ns, one a line): the median and
# the 90th percentile in ms, one line.

PIDS=()
SERVE_PID=

bench_cleanup() {
    if [[ -n $SERVE_PID ]]; then
        kill "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
    fi
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}

bench_setup() { # NAME PREFIX [VDRIVE_BINARY]
    VDRIVE=$(realpath "${3:-build/dev/app/vdrive/vdrive}")
    WORK=$(mktemp -d "${VD_BENCH_DIR:-/var/tmp}/$2-XXXXXX")
    trap bench_cleanup EXIT
    [[ -x $VDRIVE ]] || { echo "$1: no vdrive binary at $VDRIVE" >&2; exit 2; }
    export VDRIVE_CACHE_DIR=$WORK/cache
    D=(--data-dir "$WORK/data")
    "$VDRIVE" "${D[@]}" init bench >/dev/null
}

bench_serve() {
    "$VDRIVE" "${D[@]}" serve >"$WORK/serve.out" 2>&1 &
    SERVE_PID=$!
    for _ in $(seq 1 500); do grep -q serving "$WORK/serve.out" && break; sleep 0.01; done
}

bench_stop_serve() {
    kill "$SERVE_PID"
    wait "$SERVE_PID"
    SERVE_PID=
}

bench_report() { # LABEL WIDTH DIGITS NOUN < times (ns)
    sort -n | awk -v label="$1" -v width="$2" -v digits="$3" -v noun="$4" '{ a[NR] = $1 } END {
        format = sprintf("%%-%ds median %%%d.2f ms   p90 %%%d.2f ms   (%%d %s)\n", width, digits, digits, noun)
        printf format, label, a[int((NR + 1) / 2)] / 1e6, a[int(NR * 0.9)] / 1e6, NR }'
}
