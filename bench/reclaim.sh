#!/usr/bin/env bash
# bench/reclaim.sh: space given back to the file system after deleting half
# of a drive and gc, beside the same files in a plain folder, in the same run
# (docs/PERFORMANCE.md §6).
#
# The source: VD_BENCH_FILES (default 64) files of VD_BENCH_FILE_MIB (default
# 64) MiB of random bytes each (4 GiB by default), under $WORK/src.
#   vdrive  `vdrive -c bench put -r SRC /`, then `rm --permanent` of every other
#           file (the files lie one after another in idvd, so what they free
#           is spread over the whole file, not at its end), then `gc`
#   plain   `cp -r SRC DST`, then `rm` of the same files
# Reported: `du -sB1` of the collection folder (and of DST) after storing,
# after deleting, and after gc; how much each dropped, as a share of the
# drive (the bytes stored), and vdrive's drop over the plain folder's.
#
# Usage: bench/reclaim.sh [VDRIVE_BINARY]   (default build/bench/app/vdrive/vdrive)
# Environment: VD_BENCH_DIR (default /var/tmp), VD_BENCH_FILES, VD_BENCH_FILE_MIB.
set -euo pipefail

VDRIVE=${1:-build/bench/app/vdrive/vdrive}
VDRIVE=$(realpath "$VDRIVE")
BASE=${VD_BENCH_DIR:-/var/tmp}
FILES=${VD_BENCH_FILES:-64}
MIB=${VD_BENCH_FILE_MIB:-64}
WORK=$(mktemp -d "$BASE/vdreclaim-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

[[ -x $VDRIVE ]] || { echo "reclaim.sh: no vdrive binary at $VDRIVE" >&2; exit 2; }

du_b() { sync; du -sB1 "$1" | cut -f1; }
share() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f %%", 100 * a / b }'; }

mkdir -p "$WORK/src/d"
for ((i = 0; i < FILES; ++i)); do
    head -c $((MIB << 20)) /dev/urandom > "$WORK/src/d/f$(printf %03d "$i")"
done
DRIVE=$((FILES * (MIB << 20)))
echo "drive: $FILES files of $MIB MiB = $DRIVE bytes"

export VDRIVE_DATA_DIR=$WORK/data VDRIVE_CACHE_DIR=$WORK/cache
"$VDRIVE" init bench > /dev/null
COL=$("$VDRIVE" -c bench info --json | sed -n 's/.*"path": *"\([^"]*\)".*/\1/p')
"$VDRIVE" -c bench put -r "$WORK/src/d" / > /dev/null
v_full=$(du_b "$COL")
victims=()
for ((i = 0; i < FILES; i += 2)); do victims+=("/d/f$(printf %03d "$i")"); done
"$VDRIVE" -c bench rm --permanent "${victims[@]}" > /dev/null
v_rm=$(du_b "$COL")
"$VDRIVE" -c bench gc > /dev/null
v_gc=$(du_b "$COL")
"$VDRIVE" -c bench fsck > /dev/null && echo "fsck: clean"

cp -r "$WORK/src/d" "$WORK/plain"
p_full=$(du_b "$WORK/plain")
for ((i = 0; i < FILES; i += 2)); do rm -f "$WORK/plain/f$(printf %03d "$i")"; done
p_rm=$(du_b "$WORK/plain")

printf '%-8s %16s %16s %16s %14s\n' "" stored "after rm" "after gc" "drop/drive"
printf '%-8s %16s %16s %16s %14s\n' vdrive "$v_full" "$v_rm" "$v_gc" "$(share $((v_full - v_gc)) "$DRIVE")"
printf '%-8s %16s %16s %16s %14s\n' plain "$p_full" "$p_rm" "-" "$(share $((p_full - p_rm)) "$DRIVE")"
echo "vdrive's drop / the plain folder's: $(awk -v a=$((v_full - v_gc)) -v b=$((p_full - p_rm)) 'BEGIN { printf "%.3f", a / b }')"
