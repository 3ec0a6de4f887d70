#!/usr/bin/env bash
# Installs what is missing, builds vdrive, and shows it at work on a demo
# collection it creates with sample files (in build/demo-data, or in
# $VDRIVE_DATA_DIR when set). Run it again to see the same collection.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev --target vdrive

vdrive=./build/dev/app/vdrive/vdrive
export VDRIVE_DATA_DIR="${VDRIVE_DATA_DIR:-$PWD/build/demo-data}"
run() { echo; echo "\$ vdrive $*"; "$vdrive" "$@"; }

if ! "$vdrive" -c demo info >/dev/null 2>&1; then
    echo "Creating the demo collection in $VDRIVE_DATA_DIR"
    run init demo
    samples="$PWD/build/demo-samples"
    mkdir -p "$samples"
    head -c $((40 * 1024 * 1024 + 12345)) /dev/urandom > "$samples/video.bin"   # spans 16, 8 … MiB blocks
    seq 1 200000 > "$samples/numbers.txt"                                    # compresses well
    run -c demo put-object README.md docs/README.md
    for f in docs/*.md; do "$vdrive" -q -c demo put-object "$f" "$f"; done
    run -c demo put-object resources/vdrive.svg images/vdrive.svg
    run -c demo put-object "$samples/numbers.txt" data/numbers.txt
    run -c demo put-object "$samples/video.bin" media/video.bin
fi

run collections
run -c demo objects
run -c demo info
run -c demo fsck
echo
echo "\$ vdrive -c demo get-object media/video.bin - | sha256sum"
"$vdrive" -c demo get-object media/video.bin - | sha256sum
if [ -f build/demo-samples/video.bin ]; then
    echo "(the file that went in: $(sha256sum < build/demo-samples/video.bin))"
fi
echo
echo "The demo collection lives in $VDRIVE_DATA_DIR. Try: $vdrive -c demo --help"
