#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Tessera needs to build and test, only those that are missing.
# Idempotent: with everything present it installs nothing and says so.
#   installer/linux/bootstrap.sh            build + GUI + media + tests
#   installer/linux/bootstrap.sh --minimal  compiler, meson, ninja only (engine + CLI)
set -euo pipefail

minimal=0
[ "${1:-}" = "--minimal" ] && minimal=1

pkgs=(build-essential pkg-config meson ninja-build python3)
if [ $minimal = 0 ]; then
  pkgs+=(
    libsqlite3-dev
    libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev ffmpeg
    libgtk-4-dev libadwaita-1-dev desktop-file-utils appstream
    xvfb xauth xdotool imagemagick
    clang libclang-rt-14-dev
    mingw-w64 nsis wine wine64
  )
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all build dependencies present"
  exit 0
fi

echo "bootstrap: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
