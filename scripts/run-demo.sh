#!/usr/bin/env bash
# Installs what is missing, builds vdrive, creates a demo collection (in
# build/demo-data, or in $VDRIVE_DATA_DIR when set: folders of files, a
# 69 MiB file, a JSON document, a snapshot, changes since it) and opens the
# explorer on it. While the window is open, `vdrive` in a terminal works on
# the same drive through it. With no display (no $DISPLAY or
# $WAYLAND_DISPLAY) it says so and shows the command line at work instead.
# Run it again to see the same collection.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev --target vdrive vdrive-explorer

vdrive=./build/dev/app/vdrive/vdrive
export VDRIVE_DATA_DIR="${VDRIVE_DATA_DIR:-$PWD/build/demo-data}"
export VDRIVE_CACHE_DIR="${VDRIVE_CACHE_DIR:-$PWD/build/demo-cache}"
run() { echo; echo "\$ vdrive $*"; "$vdrive" "$@"; }

bash scripts/demo-collection.sh

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    echo
    echo "Opening the explorer on the demo collection. While it is open, try in another terminal:"
    echo "  VDRIVE_DATA_DIR=$VDRIVE_DATA_DIR $vdrive -c demo ls -l /projects/vdrive"
    exec ./build/dev/app/explorer/vdrive-explorer -c demo /projects/vdrive
fi
echo
echo "No display here (neither DISPLAY nor WAYLAND_DISPLAY is set), so the explorer"
echo "cannot open a window; this is the command line on the same demo collection:"

run collections
run -c demo ls -l /projects/vdrive
run -c demo ls /projects/vdrive/docs
run -c demo json get /config/app.json/servers/0
run -c demo --at first json get /config/app.json/servers/0/port
run -c demo snapshot list
run -c demo snapshot diff first
run -c demo trash list
run -c demo du /
run -c demo df
run -c demo fsck
echo
echo "\$ vdrive -c demo cat /projects/vdrive/media/video.bin | sha256sum"
"$vdrive" -c demo cat /projects/vdrive/media/video.bin | sha256sum
if [ -f build/demo-samples/media/video.bin ]; then
    echo "(the file that went in: $(sha256sum < build/demo-samples/media/video.bin))"
fi
echo
echo "The demo collection lives in $VDRIVE_DATA_DIR. Try: $vdrive -c demo --help"
