#!/usr/bin/env bash
# bench/sparse.sh: storing a sparse file, vdrive beside `cp --sparse=always`
# of the same file, on the same disk, in the same run (docs/PERFORMANCE.md §5).
#
# The source: a file of VD_BENCH_SPARSE (default 10G) bytes made with
# `truncate` (one hole from start to end) and, with VD_BENCH_ISLANDS=1,
# 4 MiB of random bytes written at 0, at the middle and at the end (three
# islands of data, the rest holes). Then VD_BENCH_RUNS (default 3) runs of:
#   vdrive  `vdrive -c bench put SRC /sparse-k` into a collection created
#           once (its first commit, which allocates the reserve, is not
#           timed); put learns the holes with SEEK_HOLE/SEEK_DATA and commits
#           with fsync, so the result is durable when it returns
#   cp      `cp --sparse=always SRC DST; sync DST` (coreutils 9.1 also uses
#           SEEK_HOLE/SEEK_DATA; the copy is synced inside the timing, as
#           durable as vdrive's, and only it: a plain `sync` would also wait
#           for whatever else the machine has written)
# with `sync; echo 3 > /proc/sys/vm/drop_caches` before each (if permitted).
# Reported per run: seconds, and the disk space each took (`du -sB1` of the
# collection folder before and after; of DST).
# At the end, the last copy in the drive is read back (`vdrive cat`) and
# compared with the source (`cmp`), outside the timing.
#
# Usage: bench/sparse.sh [VDRIVE_BINARY]   (default build/bench/app/vdrive/vdrive)
# Environment: VD_BENCH_DIR (default /var/tmp), VD_BENCH_SPARSE, VD_BENCH_RUNS,
# VD_BENCH_ISLANDS.
set -euo pipefail

VDRIVE=${1:-build/bench/app/vdrive/vdrive}
VDRIVE=$(realpath "$VDRIVE")
BASE=${VD_BENCH_DIR:-/var/tmp}
SIZE=${VD_BENCH_SPARSE:-10G}
RUNS=${VD_BENCH_RUNS:-3}
ISLANDS=${VD_BENCH_ISLANDS:-0}
WORK=$(mktemp -d "$BASE/vdsparse-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

[[ -x $VDRIVE ]] || { echo "sparse.sh: no vdrive binary at $VDRIVE" >&2; exit 2; }

drop_caches() {
    sync
    if [[ -w /proc/sys/vm/drop_caches ]]; then echo 3 > /proc/sys/vm/drop_caches; fi
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

SRC=$WORK/src
truncate -s "$SIZE" "$SRC"
if [[ $ISLANDS == 1 ]]; then
    bytes=$(stat -c %s "$SRC")
    for at in 0 $((bytes / 2)) $((bytes - 4194304)); do
        head -c 4194304 /dev/urandom | dd of="$SRC" bs=1M seek="$at" oflag=seek_bytes conv=notrunc status=none
    done
fi
echo "source: $(stat -c %s "$SRC") bytes, $(du -sB1 "$SRC" | cut -f1) allocated"

export VDRIVE_DATA_DIR=$WORK/data VDRIVE_CACHE_DIR=$WORK/cache
"$VDRIVE" init bench > /dev/null
"$VDRIVE" -c bench mkdir /warm > /dev/null
COL=$("$VDRIVE" -c bench info --json | sed -n 's/.*"path": *"\([^"]*\)".*/\1/p')

printf '%-4s %-7s %10s %16s\n' run tool seconds "disk bytes"
for ((k = 1; k <= RUNS; ++k)); do
    drop_caches
    before=$(du -sB1 "$COL" | cut -f1)
    t0=$(now)
    "$VDRIVE" -c bench put "$SRC" "/sparse-$k" > /dev/null
    t1=$(now)
    after=$(du -sB1 "$COL" | cut -f1)
    printf '%-4s %-7s %10s %16s\n' "$k" vdrive "$(secs "$t0" "$t1")" "$((after - before))"

    drop_caches
    DST=$WORK/cp-$k
    t0=$(now)
    cp --sparse=always "$SRC" "$DST"
    sync "$DST"
    t1=$(now)
    printf '%-4s %-7s %10s %16s\n' "$k" cp "$(secs "$t0" "$t1")" "$(du -sB1 "$DST" | cut -f1)"
    rm -f "$DST"
done

t0=$(now)
if "$VDRIVE" -c bench cat "/sparse-$RUNS" | cmp - "$SRC"; then verdict=equal; else verdict=DIFFERENT; fi
t1=$(now)
echo "read back /sparse-$RUNS: $verdict ($(secs "$t0" "$t1") s through a pipe into cmp)"
"$VDRIVE" -c bench fsck > /dev/null && echo "fsck: clean"
