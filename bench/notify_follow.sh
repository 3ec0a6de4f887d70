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

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup notify_follow.sh vdnotify "${1:-}"
RUNS=${VD_BENCH_RUNS:-100}
bench_serve
report() { bench_report "$1" 22 7 rounds; } # label < differences (ns)

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
