#!/usr/bin/env bash
# bench/ingest.sh: ingesting many small files, vdrive beside cp -r and restic,
# on the same disk, in the same run (docs/PERFORMANCE.md §4).
#
# The source: VD_BENCH_FILES (default 100,000) files of 1-16 KiB (uniform
# sizes) in 100 folders; half random bytes, half text-like (words drawn from
# a small vocabulary: compressible). Generated once by bench/smallfiles.sh,
# with a fixed seed, under $VD_BENCH_DIR/vdingest-src (default /var/tmp) and
# reused while its parameters (vdingest-src.params beside it) match.
#
# Then VD_BENCH_RUNS (default 3) runs of each, every run into a fresh target,
# with `sync; echo 3 > /proc/sys/vm/drop_caches` before each (if permitted),
# so every tool reads the source from the disk:
#   vdrive   `vdrive -c bench put -r SRC /` into a new collection (put
#            commits every 1,000 files, each commit synced: the result is
#            durable when it returns; the LMDB cache of the tree is on, as by
#            default, in a folder of its own)
#   cp       `cp -r SRC DST; sync` (sync inside the timing: as durable)
#   restic   `restic backup SRC; sync` into a new local repository (format 2,
#            compression auto, its cache in a folder of its own)
# Reported: files/s, and bytes on disk per logical byte:
#   vdrive   allocatedBytes of `vdrive df --json` (whole blocks allocated) and
#            `du -sB1` of the collection folder (idvd is sparse), over the
#            files' bytes
#   cp       `du -sB1` (allocated) and `du -sb --apparent-size` of DST
#   restic   `du -sB1` of the repository
#
# Deleting: every target stays until the end of the script. On an ext4
# without a journal (as here: /proc/fs/jbd2 is empty) the inode allocator
# skips, one by one, inodes freed in the last 1-6 minutes, so deleting run
# k's 100,000 files would make run k+1's creates several times slower. For
# the same reason, wait 6 minutes after deleting many files (an earlier run
# of this script, of bench_tree, ...) before running it.
#
#   served   the same `put -r` with `vdrive serve` running on the data
#            directory: through the control socket, run in the node
#
# Usage: bench/ingest.sh [VDRIVE_BINARY]   (default build/bench/app/vdrive/vdrive)
# Environment: VD_BENCH_DIR, VD_BENCH_FILES, VD_BENCH_RUNS, VD_BENCH_KEEP_SRC=1
# (keep the source for the next time), VD_BENCH_TOOLS (default "vdrive served cp restic").
set -euo pipefail

VDRIVE=${1:-build/bench/app/vdrive/vdrive}
VDRIVE=$(realpath "$VDRIVE")
BASE=${VD_BENCH_DIR:-/var/tmp}
FILES=${VD_BENCH_FILES:-100000}
RUNS=${VD_BENCH_RUNS:-3}
TOOLS=${VD_BENCH_TOOLS:-vdrive served cp restic}
SRC=$BASE/vdingest-src
WORK=$(mktemp -d "$BASE/vdingest-XXXXXX")
export RESTIC_PASSWORD=vdrive-bench

cleanup() {
    rm -rf "$WORK"
    if [[ ${VD_BENCH_KEEP_SRC:-0} != 1 ]]; then rm -rf "$SRC" "$SRC.params"; fi
}
trap cleanup EXIT

[[ -x $VDRIVE ]] || { echo "ingest.sh: no vdrive binary at $VDRIVE" >&2; exit 2; }
command -v restic >/dev/null || [[ $TOOLS != *restic* ]] || { echo "ingest.sh: restic is not installed (apt-get install restic)" >&2; exit 2; }

# ---- the source ------------------------------------------------------------
"$(dirname "$0")/smallfiles.sh" "$SRC" "$FILES"
LOGICAL=$(find "$SRC" -type f -name 'file*' -printf '%s\n' | awk '{s += $1} END {print s}')
NFILES=$(find "$SRC" -type f -name 'file*' | wc -l)
echo "source: $SRC, $NFILES files, $LOGICAL bytes ($(awk -v b="$LOGICAL" 'BEGIN {printf "%.1f MiB", b / 1048576}'))"

CAN_DROP=0
if ( sync && echo 3 > /proc/sys/vm/drop_caches ) 2>/dev/null; then CAN_DROP=1; fi
echo "page cache: $([[ $CAN_DROP == 1 ]] && echo "dropped before each run" || echo "NOT dropped (not root): the source is read from memory")"
drop() {
    sync
    if [[ $CAN_DROP == 1 ]]; then echo 3 > /proc/sys/vm/drop_caches; fi
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.4f", a / b}'; }

RESULTS=$WORK/results.tsv
: > "$RESULTS"
record() { # tool run seconds onDisk [extra]
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" >> "$RESULTS"
    printf '  %-7s run %s: %8.2f s  %8.0f files/s  %7.1f MB/s  on disk / logical %s %s\n' "$1" "$2" "$3" \
        "$(awk -v n="$NFILES" -v s="$3" 'BEGIN {print n / s}')" "$(awk -v b="$LOGICAL" -v s="$3" 'BEGIN {print b / s / 1e6}')" \
        "$(ratio "$4" "$LOGICAL")" "${5:-}"
}

run_vdrive() {
    local r=$1 data=$WORK/vd-data cache=$WORK/vd-cache
    rm -rf "$data" "$cache"
    "$VDRIVE" --data-dir "$data" -q init bench >/dev/null
    drop
    local t0 t1
    t0=$(now)
    VDRIVE_CACHE_DIR=$cache "$VDRIVE" --data-dir "$data" -c bench -q put -r "$SRC" /
    t1=$(now)
    local df alloc logical col ondisk stored
    df=$(VDRIVE_CACHE_DIR=$cache "$VDRIVE" --data-dir "$data" -c bench --json df)
    alloc=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["allocatedBytes"])' <<<"$df")
    logical=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["logicalBytes"])' <<<"$df")
    stored=$(VDRIVE_CACHE_DIR=$cache "$VDRIVE" --data-dir "$data" -c bench --json info | python3 -c 'import json,sys; i=json.load(sys.stdin); print(i["smallStoredBytes"], i["smallBlocks"], i["catalogBytes"], i["catalogLiveBytes"])')
    col=$(find "$data/collections" -mindepth 1 -maxdepth 1 -type d | head -1)
    sync
    ondisk=$(du -sB1 "$col" | cut -f1)
    [[ $logical == "$LOGICAL" ]] || echo "  WARNING: vdrive df says $logical logical bytes, the source has $LOGICAL"
    record vdrive "$r" "$(elapsed "$t0" "$t1")" "$alloc" "(allocated blocks; du of the collection: $(ratio "$ondisk" "$LOGICAL"); small payloads stored (compressed): $(ratio "${stored%% *}" "$LOGICAL"); smallStored smallBlocks catalogBytes catalogLive = $stored)"
    rm -rf "$data" "$cache"
}

# The same put -r through a node: `vdrive serve` runs on the data directory
# (started before the timing, stopped after it), the command goes through its
# control socket and runs in the node.
run_served() {
    local r=$1 data=$WORK/sv-data cache=$WORK/sv-cache
    rm -rf "$data" "$cache"
    "$VDRIVE" --data-dir "$data" -q init bench >/dev/null
    VDRIVE_CACHE_DIR=$cache "$VDRIVE" --data-dir "$data" serve >"$WORK/serve.out" 2>&1 &
    local pid=$!
    for _ in $(seq 1 500); do grep -q serving "$WORK/serve.out" && break; sleep 0.01; done
    "$VDRIVE" --data-dir "$data" status | grep -q "pid $pid" || { echo "ingest.sh: the node is not serving" >&2; kill "$pid"; exit 1; }
    drop
    local t0 t1
    t0=$(now)
    VDRIVE_CACHE_DIR=$cache "$VDRIVE" --data-dir "$data" -c bench -q put -r "$SRC" /
    t1=$(now)
    local df alloc logical
    df=$("$VDRIVE" --data-dir "$data" -c bench --json df)
    alloc=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["allocatedBytes"])' <<<"$df")
    logical=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["logicalBytes"])' <<<"$df")
    kill "$pid"; wait "$pid" || true
    [[ $logical == "$LOGICAL" ]] || echo "  WARNING: vdrive df (served) says $logical logical bytes, the source has $LOGICAL"
    record served "$r" "$(elapsed "$t0" "$t1")" "$alloc" "(allocated blocks)"
    rm -rf "$data" "$cache"
}

run_cp() {
    local r=$1
    local dst=$WORK/cp-dst-$r
    drop
    local t0 t1 t2
    t0=$(now)
    cp -r "$SRC" "$dst"
    t1=$(now)
    sync
    t2=$(now)
    local alloc apparent
    alloc=$(du -sB1 "$dst" | cut -f1)
    apparent=$(du -sb --apparent-size "$dst" | cut -f1)
    record cp "$r" "$(elapsed "$t0" "$t2")" "$alloc" "(du -sB1; apparent size $(ratio "$apparent" "$LOGICAL"); cp alone $(elapsed "$t0" "$t1") s, sync $(elapsed "$t1" "$t2") s)"
    # kept until the end: see "deleting" above
}

run_restic() {
    local r=$1 repo=$WORK/restic-repo cache=$WORK/restic-cache
    rm -rf "$repo" "$cache"
    restic init --repo "$repo" --cache-dir "$cache" -q >/dev/null
    drop
    local t0 t1 t2
    t0=$(now)
    restic -r "$repo" --cache-dir "$cache" -q backup "$SRC" >/dev/null
    t1=$(now)
    sync
    t2=$(now)
    record restic "$r" "$(elapsed "$t0" "$t2")" "$(du -sB1 "$repo" | cut -f1)" "(du -sB1 of the repository; backup alone $(elapsed "$t0" "$t1") s, sync $(elapsed "$t1" "$t2") s)"
    rm -rf "$repo" "$cache"
}

# Interleaved: run 1 of every tool, then run 2, ... so that each sees the same
# background load.
for r in $(seq 1 "$RUNS"); do
    echo "run $r"
    for tool in $TOOLS; do "run_$tool" "$r"; done
done

echo
echo "Summary: $NFILES files, $LOGICAL bytes; median [min-max] over $RUNS runs; page cache $([[ $CAN_DROP == 1 ]] && echo dropped || echo "NOT dropped")"
python3 - "$RESULTS" "$NFILES" "$LOGICAL" <<'EOF'
import statistics, sys
path, n, logical = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = {}
for line in open(path):
    tool, r, secs, disk, _ = line.rstrip("\n").split("\t")
    runs.setdefault(tool, []).append((float(secs), int(disk)))
rate = {t: [n / s for s, _ in v] for t, v in runs.items()}
space = {t: [d / logical for _, d in v] for t, v in runs.items()}
def fig(v, f):
    return "%s [%s-%s]" % (f % statistics.median(v), f % min(v), f % max(v))
print("%-8s %-28s %-26s" % ("tool", "files/s", "on disk / logical"))
for t in runs:
    print("%-8s %-28s %-26s" % (t, fig(rate[t], "%.0f"), fig(space[t], "%.3f")))
if "vdrive" in rate:
    vd = statistics.median(rate["vdrive"])
    print("targets: small files stored in <= 1.15x their logical bytes: vdrive %.3f -> %s" %
          (statistics.median(space["vdrive"]), "met" if statistics.median(space["vdrive"]) <= 1.15 else "MISSED"))
    if "cp" in rate:
        c = statistics.median(rate["cp"])
        print("         faster than cp -r + sync: %.2fx -> %s" % (vd / c, "met" if vd > c else "MISSED"))
    if "restic" in rate:
        s = statistics.median(rate["restic"])
        print("         at least 2x restic backup + sync: %.2fx -> %s" % (vd / s, "met" if vd >= 2 * s else "MISSED"))
    if "served" in rate:
        sv = statistics.median(rate["served"])
        print("         through the node at least 0.9x direct: %.2fx -> %s" % (sv / vd, "met" if sv >= 0.9 * vd else "MISSED"))
EOF
