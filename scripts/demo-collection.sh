#!/usr/bin/env bash
# Creates the demo collection "demo" in $VDRIVE_DATA_DIR (when it is not
# there yet) with the vdrive built in build/dev: folders of files (a 69 MiB
# one, names in Japanese), a JSON document, a snapshot, then changes since
# it. Used by run-demo.sh and screenshots.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

vdrive=./build/dev/app/vdrive/vdrive
: "${VDRIVE_DATA_DIR:?set VDRIVE_DATA_DIR}"
run() { echo; echo "\$ vdrive $*"; "$vdrive" "$@"; }

if "$vdrive" -c demo info >/dev/null 2>&1; then
    exit 0
fi
echo "Creating the demo collection in $VDRIVE_DATA_DIR"
run init demo
samples="$PWD/build/demo-samples"
rm -rf "$samples"
mkdir -p "$samples/docs" "$samples/media" "$samples/写真 2024"
cp README.md docs/*.md "$samples/docs/"
cp resources/vdrive.svg "$samples/media/"
# Two clusters: four 16 MiB blocks, then a 4 MiB and a 1 MiB one and a packed tail.
head -c $((69 * 1024 * 1024 + 12345)) /dev/urandom > "$samples/media/video.bin"
head -c $((3 * 1024 * 1024)) /dev/urandom > "$samples/media/clip.bin"              # replaced after the snapshot
seq 1 200000 > "$samples/numbers.txt"                                          # compresses well
for i in 1 2 3; do
    echo "夏休み $i" > "$samples/写真 2024/海 $i.txt"
done
cat > "$samples/app.json" <<'JSON'
{
  "name": "vdrive demo",
  "version": 3,
  "servers": [
    {"host": "127.0.0.1", "port": 7400, "weight": 12345678901234567890},
    {"host": "::1", "port": 7401}
  ],
  "features": {"snapshots": true, "trash": true}
}
JSON
run -c demo mkdir -p /projects/vdrive /config
run -c demo put -r "$samples/docs" "$samples/media" /projects/vdrive
run -c demo put -r "$samples/写真 2024" /
run -c demo put "$samples/numbers.txt" /projects/numbers.txt
run -c demo json import "$samples/app.json" /config/app.json
run -c demo snapshot create first
# Changes after the snapshot: an edit inside the JSON document, a move,
# a removal to the trash, a new file, a new version of the video with a
# few bytes changed in its 4 MiB block (its other blocks are the snapshot's
# too: the explorer's cluster view shows which), and a new clip.bin (its old
# blocks are then held only by the snapshot: the block map shows them).
run -c demo json set /config/app.json/servers/0/port 7500
run -c demo mv /projects/numbers.txt /projects/vdrive/numbers.txt
run -c demo rm /projects/vdrive/docs/PERFORMANCE.md
run -c demo put README.md /projects/NOTES.md
printf 'a new cut' | dd of="$samples/media/video.bin" bs=1 seek=$((66 * 1024 * 1024)) conv=notrunc status=none
run -c demo put "$samples/media/video.bin" /projects/vdrive/media/video.bin
head -c $((3 * 1024 * 1024)) /dev/urandom > "$samples/media/clip.bin"
run -c demo put "$samples/media/clip.bin" /projects/vdrive/media/clip.bin
