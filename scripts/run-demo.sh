#!/usr/bin/env bash
# Installs what is missing, builds vdrive, and shows it at work on a demo
# collection it creates (in build/demo-data, or in $VDRIVE_DATA_DIR when
# set): folders of files, a 40 MiB file, a JSON document, a snapshot, a
# change since it and the diff. Run it again to see the same collection.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev --target vdrive

vdrive=./build/dev/app/vdrive/vdrive
export VDRIVE_DATA_DIR="${VDRIVE_DATA_DIR:-$PWD/build/demo-data}"
export VDRIVE_CACHE_DIR="${VDRIVE_CACHE_DIR:-$PWD/build/demo-cache}"
run() { echo; echo "\$ vdrive $*"; "$vdrive" "$@"; }

if ! "$vdrive" -c demo info >/dev/null 2>&1; then
    echo "Creating the demo collection in $VDRIVE_DATA_DIR"
    run init demo
    samples="$PWD/build/demo-samples"
    rm -rf "$samples"
    mkdir -p "$samples/docs" "$samples/media"
    cp README.md docs/*.md "$samples/docs/"
    cp resources/vdrive.svg "$samples/media/"
    head -c $((40 * 1024 * 1024 + 12345)) /dev/urandom > "$samples/media/video.bin"   # spans 16, 8 … MiB blocks
    seq 1 200000 > "$samples/numbers.txt"                                          # compresses well
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
    run -c demo put "$samples/numbers.txt" /projects/numbers.txt
    run -c demo json import "$samples/app.json" /config/app.json
    run -c demo snapshot create first
    # Changes after the snapshot: an edit inside the JSON document, a move,
    # a removal to the trash and a new file.
    run -c demo json set /config/app.json/servers/0/port 7500
    run -c demo mv /projects/numbers.txt /projects/vdrive/numbers.txt
    run -c demo rm /projects/vdrive/docs/PERFORMANCE.md
    run -c demo put README.md /projects/NOTES.md
fi

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
