#!/usr/bin/env bash
# bench/explorer.sh: the explorer's figures (issue 9 item 10), each beside a
# baseline in the same run (docs/PERFORMANCE.md §14), by bench_explorer:
#   start   exec of vdrive-explorer to its window painted with the listing of
#           a collection of 1,001,001 VNodes; beside the same on an empty
#           collection and `vdrive ls /` of the big one
#   scroll  listing and scrolling a folder of 100,000 entries, frame by frame;
#           beside QFileSystemModel + QTreeView on a plain folder as large
#   drop    a drop of 10,000 small files on the window; beside `vdrive put -r`
#   map     the block map of a 1 TiB drive: its first picture and its owners
#           painted; beside `vdrive info` of the same drive
# The data (the collections, ~2 minutes to make; the plain folder; the small
# files, bench/smallfiles.sh; the 1 TiB drive, ~22 minutes and 9 GB of disk:
# its records only, see bench_explorer.cpp) is made once and kept in
# VD_BENCH_DATA (default build/bench-data/explorer); scratch goes in
# VD_BENCH_DIR (default /var/tmp).
# The windows are real X11 windows under Xvfb (xvfb-run), or Qt's offscreen
# platform with VD_BENCH_OFFSCREEN=1 or without Xvfb.
#
# Usage: bench/explorer.sh [VDRIVE_BINARY [start|scroll|drop|map|all]]
#        (default build/dev/app/vdrive/vdrive all; vdrive-explorer and
#        bench_explorer are taken from the same build)
# Environment: VD_BENCH_ROUNDS (start 5, drop 3, map 3), VD_BENCH_DROP_FILES (10000),
# VD_BENCH_MAP_GIB (1024) and VD_BENCH_MAP_SCALE (1: file sizes divided by it),
# VD_BENCH_FOLDERS, VD_BENCH_FOLDER_FILES (1000 × 1000), VD_BENCH_ENTRIES
# (100000): smaller for a quick check.
set -euo pipefail

if [[ -z ${VD_BENCH_INNER:-} && -z ${VD_BENCH_OFFSCREEN:-} ]] && command -v xvfb-run >/dev/null; then
    exec env VD_BENCH_INNER=1 xvfb-run -a -s "-screen 0 1280x1024x24" "$0" "$@"
fi
if [[ -z ${VD_BENCH_INNER:-} ]]; then
    export QT_QPA_PLATFORM=offscreen
fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup explorer.sh vdexplorer "${1:-}"
BUILD=$(dirname "$VDRIVE")/../..
export VD_VDRIVE=$VDRIVE
export VD_EXPLORER=$(realpath "$BUILD/app/explorer/vdrive-explorer")
BENCH=$(realpath "$BUILD/bench/bench_explorer")
[[ -x $VD_EXPLORER && -x $BENCH ]] || { echo "explorer.sh: build vdrive-explorer and bench_explorer first" >&2; exit 2; }
export VD_BENCH_DATA=${VD_BENCH_DATA:-build/bench-data/explorer}
mkdir -p "$VD_BENCH_DATA"
export VD_BENCH_DATA=$(realpath "$VD_BENCH_DATA")
export VD_BENCH_SMALL=$VD_BENCH_DATA/small-${VD_BENCH_DROP_FILES:-10000}
bash "$(dirname "${BASH_SOURCE[0]}")/smallfiles.sh" "$VD_BENCH_SMALL" "${VD_BENCH_DROP_FILES:-10000}"

echo "platform: ${QT_QPA_PLATFORM:-xcb (Xvfb $DISPLAY)}; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
VD_BENCH_DIR=$WORK "$BENCH" make
VD_BENCH_DIR=$WORK "$BENCH" "${2:-all}"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
