#!/usr/bin/env bash
# Stage a Windows build and package it with NSIS.
#   installer/windows/build-installer.sh BUILD_DIR OUT_DIR [STAGE_DIR]
# BUILD_DIR: a configured Windows meson build (the MinGW cross build here, or the MSYS2 build on Windows).
# Without STAGE_DIR it runs `meson install --destdir OUT_DIR/stage` and strips the executables; with it,
# packages that tree as it is (msys2-build.sh stages the GTK app with its DLLs and data itself).
# Writes OUT_DIR/tessera-<version>-windows-x64-setup.exe and prints its path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
stage=${3:-}

version=$(meson introspect --projectinfo "$build" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')

if [ -z "$stage" ]; then
  stage=$out/stage
  rm -rf "$stage"
  meson install -C "$build" --no-rebuild --quiet --destdir "$stage" >/dev/null
  # The Windows prefix (C:/ by default) lands under DESTDIR without its drive: flatten to STAGE/bin etc.
  inner=$(find "$stage" -type f -name 'tessera-cli.exe' -printf '%h\n' | head -n1)
  [ -n "$inner" ] || { echo "build-installer: tessera-cli.exe was not installed" >&2; exit 1; }
  root=$(dirname "$inner")
  if [ "$root" != "$stage" ]; then
    mv "$root" "$stage.tmp" && rm -rf "$stage" && mv "$stage.tmp" "$stage"
  fi
  strip=$(command -v x86_64-w64-mingw32-strip || command -v strip)
  find "$stage" -name '*.exe' -exec "$strip" --strip-unneeded {} +
fi

lists=$out/nsis
mkdir -p "$lists"
python3 "$here/nsis-lists.py" "$stage" "$lists"
python3 "$here/make-icon.py" "$lists/tessera.ico"
setup=$out/tessera-$version-windows-x64-setup.exe
makensis -V2 -INPUTCHARSET UTF8 -DVERSION="$version" -DLISTS="$lists" -DICON="$lists/tessera.ico" \
  -DOUTFILE="$setup" "$here/tessera.nsi" >&2
echo "$setup"
