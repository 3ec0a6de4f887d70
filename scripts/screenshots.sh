#!/usr/bin/env bash
# Takes the README's screenshots of the explorer from a real run on the demo
# collection, under Xvfb (no screen needed): docs/screenshots/*.png.
# Installs Xvfb, ImageMagick and xdotool if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh xvfb xauth imagemagick xdotool
cmake --preset dev >/dev/null
cmake --build --preset dev --target vdrive vdrive-explorer

work="$PWD/build/screenshots"
rm -rf "$work"
mkdir -p "$work/home"
export VDRIVE_DATA_DIR="$work/data" VDRIVE_CACHE_DIR="$work/cache" HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
bash scripts/demo-collection.sh >/dev/null
out="$PWD/docs/screenshots"
mkdir -p "$out"

if [ -z "${VD_SCREENSHOT_INNER:-}" ]; then
    # Again, inside a virtual X server of the size the pictures should be.
    exec env VD_SCREENSHOT_INNER=1 xvfb-run -a -s "-screen 0 1100x680x24" "$0" "$@"
fi

explorer=./build/dev/app/explorer/vdrive-explorer
shot() { # shot NAME: the whole screen, in 128 colours (small files)
    import -window root "$work/$1.png"
    convert "$work/$1.png" -colors 128 "$out/$1.png"
    echo "wrote docs/screenshots/$1.png"
}
wait_window() { # the explorer's window is up and has listed its folder
    for _ in $(seq 1 100); do
        if wid=$(xdotool search --onlyvisible --name 'vdrive' 2>/dev/null | head -1) && [ -n "$wid" ]; then
            sleep 1
            return 0
        fi
        sleep 0.1
    done
    echo "the explorer's window did not appear" >&2
    return 1
}

"$explorer" -c demo /projects/vdrive &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_window
xdotool windowmove "$wid" 0 0 windowsize "$wid" 1100 680
sleep 0.5
shot main-window

# A drag in progress: press on numbers.txt (the third row), move over
# "docs", capture, then let go: a real move, which the window shows through
# the change feed.
xdotool mousemove 290 124 mousedown 1
for step in $(seq 1 12); do
    xdotool mousemove $((290 + step * 2)) $((124 - step * 3))
    sleep 0.05
done
sleep 0.5
shot drag-in-progress
xdotool mouseup 1
sleep 1
import -window root "$work/after-drop.png" # (for a look: the row has moved into docs)
kill $pid
wait $pid 2>/dev/null || true

# The cluster view (F8) of the video, whose 4 MiB block changed after the
# snapshot: click its row (the third, after clip.bin and vdrive.svg), open
# the panel.
"$explorer" -c demo /projects/vdrive/media &
pid=$!
wait_window
xdotool windowmove "$wid" 0 0 windowsize "$wid" 1100 680
sleep 0.5
xdotool mousemove 290 124 click 1
sleep 0.3
xdotool key F8
sleep 2
shot cluster-view
kill $pid
wait $pid 2>/dev/null || true
trap - EXIT

# The block map (F7) with video.bin selected (the third row of media): its
# blocks outlined, the allocator's health beside the map.
"$explorer" -c demo /projects/vdrive/media &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_window
xdotool windowmove "$wid" 0 0 windowsize "$wid" 1100 680
sleep 0.5
xdotool mousemove 290 124 click 1 # (gives the window the keyboard too)
sleep 0.5
xdotool key F7
sleep 2.5
sleep 1.5
xdotool mousemove 1000 20 # no tooltip in the picture
sleep 0.5
shot block-map
kill $pid
wait $pid 2>/dev/null || true
trap - EXIT
