#!/usr/bin/env bash
# bench/notify_follow.sh: commit-to-notification through the control socket —
# `vdrive changes --follow` in one terminal, `vdrive mkdir` in another, with
# `vdrive serve` running (docs/PERFORMANCE.md §12). Each round times, with
# date +%s%N, the moment the mkdir process has exited (its change is durable
# and answered) and the moment the follower's line for it arrives; the
# difference is the figure (negative: the line came first). As a baseline in
# the same run, the same two times for `inotifywait -m` (if installed) on a
# plain directory with `mkdir` + `sync -f`.
#
# Usage: bench/notify_follow.sh [VDRIVE_BINARY]   (default build/dev/app/vdrive/vdrive)
# Environment: VD_BENCH_DIR (default /var/tmp), VD_BENCH_RUNS (default 100).
set -euo pipefail

VDRIVE=$(realpath "${1:-build/dev/app/vdrive/vdrive}")
BASE=${VD_BENCH_DIR:-/var/tmp}
RUNS=${VD_BENCH_RUNS:-100}
WORK=$(mktemp -d "$BASE/vdnotify-XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

[[ -x $VDRIVE ]] || { echo "notify_follow.sh: no vdrive binary at $VDRIVE" >&2; exit 2; }
export VDRIVE_CACHE_DIR=$WORK/cache
D=(--data-dir "$WORK/data")
"$VDRIVE" "${D[@]}" init bench >/dev/null
"$VDRIVE" "${D[@]}" serve >"$WORK/serve.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do [[ -S $WORK/data/node.sock ]] && break; sleep 0.05; done

report() { # label < differences (ns)
    sort -n | awk -v label="$1" '{ a[NR] = $1 } END {
        printf "%-22s median %7.2f ms   p90 %7.2f ms   (%d rounds)\n", label, a[int((NR + 1) / 2)] / 1e6, a[int(NR * 0.9)] / 1e6, NR }'
}

# rounds FIFO_OF_STAMPED_LINES CHANGE...: RUNS rounds of CHANGE i, each waiting
# for the next stamped line; prints line time minus answer time (ns). First,
# changes until the watcher shows one (it is watching), and what it shows
# then drained.
rounds() {
    local stamps=$1; shift
    exec 3<"$stamps"
    local line
    for w in $(seq 1 50); do
        "$@" "w$w"
        read -r -t 0.5 line <&3 && break
    done
    while read -r -t 0.5 line <&3; do :; done
    for i in $(seq 1 "$RUNS"); do
        "$@" "$i"
        local answered line
        answered=$(date +%s%N)
        read -r -t 10 line <&3 || { echo "no notification for round $i" >&2; exit 1; }
        echo $((line - answered))
    done
    exec 3<&-
}

mkfifo "$WORK/follow.fifo"
# One line per mkdir: its "create" record (the parent's "modify" is dropped).
stdbuf -oL "$VDRIVE" "${D[@]}" -c bench changes --follow | grep --line-buffered ' create ' \
    | while IFS= read -r _; do date +%s%N; done >"$WORK/follow.fifo" &
PIDS+=($!)
vmkdir() { "$VDRIVE" "${D[@]}" -c bench mkdir "/d$1" >/dev/null; }
rounds "$WORK/follow.fifo" vmkdir | report "vdrive changes --follow"

if command -v inotifywait >/dev/null; then
    mkdir "$WORK/plain"
    mkfifo "$WORK/inotify.fifo"
    inotifywait -m -q -e create "$WORK/plain" | while IFS= read -r _; do date +%s%N; done >"$WORK/inotify.fifo" &
    PIDS+=($!)
    pmkdir() { mkdir "$WORK/plain/d$1" && sync -f "$WORK/plain"; }
    rounds "$WORK/inotify.fifo" pmkdir | report "inotifywait (baseline)"
else
    echo "inotifywait not installed (apt-get install inotify-tools): no baseline" >&2
fi
