#!/usr/bin/env bash
# bench/restore.sh: restoring many small files, `vdrive get -r` beside
# `cp -r` + `sync` and `restic restore` + `sync`, on the same disk, in the
# same run (docs/PERFORMANCE.md §5).
#
# The source is the one of bench/ingest.sh (bench/smallfiles.sh:
# VD_BENCH_FILES files of 1-16 KiB in 100 folders, under
# $VD_BENCH_DIR/vdingest-src). Set up once, not timed: a vdrive collection
# holding it (`put -r`) and a restic repository holding it (`backup`).
# Then VD_BENCH_RUNS (default 3) runs of each tool, interleaved, every run
# into a fresh folder, with `sync; echo 3 > /proc/sys/vm/drop_caches` before
# each (if permitted), so that every tool reads its store from the disk:
#   vdrive   `vdrive -c bench get -r /vdingest-src DST` (it syncs before it
#            returns: the copy is durable when it reports success)
#   cp       `cp -r SRC DST; sync` (the sync inside the timing: as durable)
#   restic   `restic restore latest --target DST; sync`
# The first run of each tool is checked: the same files with the same bytes
# as the source (a SHA-256 of every file, outside the timing).
#
# Every output stays until the end of the script: on an ext4 without a
# journal the inode allocator skips inodes freed in the last minutes, so
# deleting one run's 100,000 files would slow the next run's creates (see
# bench/ingest.sh). Deleting them at the end takes a while on such a disk
# (mounted with discard, each freed extent is discarded synchronously); it
# runs at idle I/O priority.
#
# Usage: bench/restore.sh [VDRIVE_BINARY]   (default build/bench/app/vdrive/vdrive)
# Environment: VD_BENCH_DIR, VD_BENCH_FILES, VD_BENCH_RUNS, VD_BENCH_KEEP_SRC=1
# (keep the source for the next time), VD_BENCH_TOOLS (default "vdrive cp restic").
set -euo pipefail

VDRIVE=${1:-build/bench/app/vdrive/vdrive}
VDRIVE=$(realpath "$VDRIVE")
BASE=${VD_BENCH_DIR:-/var/tmp}
FILES=${VD_BENCH_FILES:-100000}
RUNS=${VD_BENCH_RUNS:-3}
TOOLS=${VD_BENCH_TOOLS:-vdrive cp restic}
SRC=$BASE/vdingest-src
WORK=$(mktemp -d "$BASE/vdrestore-XXXXXX")
export RESTIC_PASSWORD=vdrive-bench

cleanup() {
    echo "removing $WORK (idle I/O priority) ..."
    ionice -c3 rm -rf "$WORK"
    if [[ ${VD_BENCH_KEEP_SRC:-0} != 1 ]]; then ionice -c3 rm -rf "$SRC" "$SRC.params"; fi
}
trap cleanup EXIT

[[ -x $VDRIVE ]] || { echo "restore.sh: no vdrive binary at $VDRIVE" >&2; exit 2; }
command -v restic >/dev/null || [[ $TOOLS != *restic* ]] || { echo "restore.sh: restic is not installed (apt-get install restic)" >&2; exit 2; }

"$(dirname "$0")/smallfiles.sh" "$SRC" "$FILES"
LOGICAL=$(find "$SRC" -type f -name 'file*' -printf '%s\n' | awk '{s += $1} END {print s}')
NFILES=$(find "$SRC" -type f -name 'file*' | wc -l)
echo "source: $SRC, $NFILES files, $LOGICAL bytes ($(awk -v b="$LOGICAL" 'BEGIN {printf "%.1f MiB", b / 1048576}'))"

CAN_DROP=0
if ( sync && echo 3 > /proc/sys/vm/drop_caches ) 2>/dev/null; then CAN_DROP=1; fi
echo "page cache: $([[ $CAN_DROP == 1 ]] && echo "dropped before each run" || echo "NOT dropped (not root): the stores are read from memory")"
drop() {
    sync
    if [[ $CAN_DROP == 1 ]]; then echo 3 > /proc/sys/vm/drop_caches; fi
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
# One hash of every file's relative path and bytes, for checking a copy.
treehash() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16); }

# ---- the stores (not timed) ---------------------------------------------------
VD_DATA=$WORK/vd-data
VD_CACHE=$WORK/vd-cache
REPO=$WORK/restic-repo
RESTIC_CACHE=$WORK/restic-cache
WANT=$(treehash "$SRC")
if [[ $TOOLS == *vdrive* ]]; then
    echo "storing the source in a vdrive collection ..."
    "$VDRIVE" --data-dir "$VD_DATA" -q init bench >/dev/null
    VDRIVE_CACHE_DIR=$VD_CACHE "$VDRIVE" --data-dir "$VD_DATA" -c bench -q put -r "$SRC" /
fi
if [[ $TOOLS == *restic* ]]; then
    echo "backing the source up with restic $(restic version | cut -d' ' -f2) ..."
    restic init --repo "$REPO" --cache-dir "$RESTIC_CACHE" -q >/dev/null
    restic -r "$REPO" --cache-dir "$RESTIC_CACHE" -q backup "$SRC" >/dev/null
fi

RESULTS=$WORK/results.tsv
: > "$RESULTS"
record() { # tool run seconds [extra]
    printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$RESULTS"
    printf '  %-7s run %s: %8.2f s  %8.0f files/s  %7.1f MB/s %s\n' "$1" "$2" "$3" \
        "$(awk -v n="$NFILES" -v s="$3" 'BEGIN {print n / s}')" "$(awk -v b="$LOGICAL" -v s="$3" 'BEGIN {print b / s / 1e6}')" "${4:-}"
}
check() { # tool run dir
    if [[ $2 == 1 ]]; then
        local got
        got=$(treehash "$3")
        [[ $got == "$WANT" ]] || { echo "restore.sh: $1 restored something else than the source ($got, want $WANT)" >&2; exit 1; }
        echo "  $1: the copy matches the source"
    fi
}

run_vdrive() {
    local r=$1 dst=$WORK/vd-out-$1
    drop
    local t0 t1
    t0=$(now)
    VDRIVE_CACHE_DIR=$VD_CACHE "$VDRIVE" --data-dir "$VD_DATA" -c bench -q get -r /vdingest-src "$dst"
    t1=$(now)
    record vdrive "$r" "$(elapsed "$t0" "$t1")" "(synced before it returned)"
    check vdrive "$r" "$dst"
}

run_cp() {
    local r=$1 dst=$WORK/cp-out-$1
    drop
    local t0 t1 t2
    t0=$(now)
    cp -r "$SRC" "$dst"
    t1=$(now)
    sync
    t2=$(now)
    record cp "$r" "$(elapsed "$t0" "$t2")" "(cp alone $(elapsed "$t0" "$t1") s, sync $(elapsed "$t1" "$t2") s)"
    check cp "$r" "$dst"
}

run_restic() {
    local r=$1 dst=$WORK/restic-out-$1
    drop
    local t0 t1 t2
    t0=$(now)
    restic -r "$REPO" --cache-dir "$RESTIC_CACHE" -q restore latest --target "$dst" >/dev/null
    t1=$(now)
    sync
    t2=$(now)
    record restic "$r" "$(elapsed "$t0" "$t2")" "(restore alone $(elapsed "$t0" "$t1") s, sync $(elapsed "$t1" "$t2") s)"
    check restic "$r" "$dst$SRC"
}

# Interleaved: run 1 of every tool, then run 2, ... so that each sees the same
# background load.
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$RUNS"); do
    echo "run $r (load $(cut -d' ' -f1-3 /proc/loadavg))"
    for tool in $TOOLS; do "run_$tool" "$r"; done
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "Summary: $NFILES files, $LOGICAL bytes; median [min-max] over $RUNS runs; page cache $([[ $CAN_DROP == 1 ]] && echo dropped || echo "NOT dropped")"
python3 - "$RESULTS" "$NFILES" <<'EOF'
import statistics, sys
path, n = sys.argv[1], int(sys.argv[2])
runs = {}
for line in open(path):
    tool, r, secs = line.rstrip("\n").split("\t")
    runs.setdefault(tool, []).append(float(secs))
def fig(v, f):
    return "%s [%s-%s]" % (f % statistics.median(v), f % min(v), f % max(v))
print("%-8s %-24s %-28s" % ("tool", "seconds", "files/s"))
for t, v in runs.items():
    print("%-8s %-24s %-28s" % (t, fig(v, "%.2f"), fig([n / s for s in v], "%.0f")))
if "vdrive" in runs:
    vd = statistics.median(runs["vdrive"])
    for other, label in (("cp", "cp -r + sync"), ("restic", "restic restore + sync")):
        if other in runs:
            o = statistics.median(runs[other])
            print("vdrive get -r against %s: %.2fx as fast%s" % (label, o / vd, " -> target met" if other == "cp" and vd <= o else
                                                                  " -> target MISSED" if other == "cp" else ""))
EOF
