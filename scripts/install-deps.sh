#!/usr/bin/env bash
# Installs the Debian 12 packages vdrive needs to build and test, if missing.
# Runs as root (or through sudo when available). Safe to run again.
set -euo pipefail

packages=(
    cmake ninja-build pkg-config g++ dpkg-dev
    qt6-base-dev qt6-tools-dev qt6-l10n-tools qt6-svg-dev
    liblmdb-dev libzstd-dev libssl-dev openssl nlohmann-json3-dev
    libbenchmark-dev
    clang-14 libclang-rt-14-dev lld
    fonts-dejavu-core fonts-ipafont-gothic
)
# Extra packages a caller asks for (scripts/screenshots.sh: an X server
# without a screen, and the tools that drive and capture it).
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "Installing: ${missing[*]}"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
        as_root=(sudo)
    else
        echo "error: these packages are missing and this is not root: ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
