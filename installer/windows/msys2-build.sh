#!/usr/bin/env bash
# Build the full Tessera for Windows — GTK 4 app, CLI, engine — under MSYS2 UCRT64, stage it with every DLL
# and data file GTK needs, and package it with NSIS. Runs on Windows only (see README.md beside this file);
# CI cannot run it (no Windows GTK here), so it is written to be read as well as run.
#
#   installer/windows/msys2-build.sh [--install-deps] [--build DIR] [--out DIR]
#
# Result: OUT/tessera-<version>-windows-x64-setup.exe (default OUT = build-msys2/installer), and the staged
# tree OUT/stage, which also runs as it is (OUT/stage/bin/tessera.exe).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
build=build-msys2
out=
install_deps=0
while [ $# -gt 0 ]; do
  case $1 in
    --install-deps) install_deps=1 ;;
    --build) build=$2; shift ;;
    --out) out=$2; shift ;;
    *) echo "usage: $0 [--install-deps] [--build DIR] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done
out=${out:-$build/installer}

if [ "${MSYSTEM:-}" != UCRT64 ]; then
  echo "msys2-build: run this from the MSYS2 UCRT64 shell (MSYSTEM=UCRT64), not ${MSYSTEM:-a non-MSYS2 shell}" >&2
  exit 1
fi
prefix=$MINGW_PREFIX   # /ucrt64

# ------------------------------------------------------------------------------------------ packages
p=mingw-w64-ucrt-x86_64
pkgs=(
  $p-gcc $p-pkgconf $p-meson $p-ninja $p-python
  $p-gtk4 $p-libadwaita $p-ffmpeg $p-sqlite3
  $p-librsvg $p-adwaita-icon-theme $p-hicolor-icon-theme
  $p-nsis $p-ntldd $p-binutils
)
if [ $install_deps = 1 ]; then
  pacman -S --needed --noconfirm "${pkgs[@]}"
fi
for tool in gcc meson ninja makensis objdump glib-compile-schemas gdk-pixbuf-query-loaders gtk4-update-icon-cache; do
  command -v $tool >/dev/null || { echo "msys2-build: $tool missing; run with --install-deps" >&2; exit 1; }
done

# ------------------------------------------------------------------------------------------ build
# CUDA: the Windows build never links a CUDA runtime. The engine opens nvcuda.dll (installed with the NVIDIA
# driver) at run time and loads kernels from a fatbin embedded at build time. nvcc is not part of MSYS2 (and on
# Windows it needs MSVC as host compiler), so -Dcuda=auto finds none here and the app runs on the CPU; see
# README.md ("CUDA") for how a CUDA-enabled Windows build is meant to get its fatbin.
mkdir -p "$out"
stage=$root/$out/stage
rm -rf "$stage"
opts=(--buildtype=release -Dgui=enabled -Dmedia=enabled -Dstore=enabled -Dcuda=auto -Dgolden_tests=false
      --prefix="$(cygpath -m "$stage")" --bindir=bin --datadir=share --libdir=lib)
if [ -d "$build" ]; then meson setup --reconfigure "$build" "${opts[@]}"; else meson setup "$build" "${opts[@]}"; fi
meson compile -C "$build"
meson test -C "$build" --suite unit --num-processes "$(nproc)" --print-errorlogs
meson install -C "$build" --no-rebuild

[ -f "$stage/bin/tessera.exe" ] || { echo "msys2-build: bin/tessera.exe was not installed" >&2; exit 1; }
if ! objdump -p "$stage/bin/tessera.exe" | grep -q 'Subsystem.*(Windows GUI)'; then
  echo "msys2-build: tessera.exe is a console program; build it with win_subsystem : 'windows'" >&2
  exit 1
fi

# ------------------------------------------------------------------------------------------ GTK runtime data
# GDK pixbuf loaders (SVG icons through librsvg), with a loaders.cache whose paths are relative to the
# install folder (gdk-pixbuf resolves them against its own location at run time).
pixbuf_rel=lib/gdk-pixbuf-2.0/2.10.0
mkdir -p "$stage/$pixbuf_rel/loaders"
cp "$prefix/$pixbuf_rel/loaders/"*.dll "$stage/$pixbuf_rel/loaders/"
GDK_PIXBUF_MODULEDIR="$stage/$pixbuf_rel/loaders" gdk-pixbuf-query-loaders >"$out/loaders.cache.abs"
# The cache names each loader by absolute path ("C:/.../stage/lib/..." or with escaped backslashes): cut the
# stage prefix so the paths are relative.
python3 - "$out/loaders.cache.abs" "$stage/$pixbuf_rel/loaders.cache" "$(cygpath -m "$stage")" <<'PY'
import sys
src, dst, stage = sys.argv[1:4]
text = open(src, encoding='utf-8').read()
for form in (stage + '/', stage.replace('/', '\\\\') + '\\\\', stage.replace('/', '\\') + '\\'):
    text = text.replace(form, '')
open(dst, 'w', encoding='utf-8').write(text)
PY

# GSettings: GTK's own schemas plus the app's (meson installed those into share/glib-2.0/schemas).
mkdir -p "$stage/share/glib-2.0/schemas"
cp "$prefix/share/glib-2.0/schemas/"org.gtk.gtk4.*.gschema.xml "$stage/share/glib-2.0/schemas/" 2>/dev/null || true
glib-compile-schemas "$stage/share/glib-2.0/schemas"

# Icons: Adwaita (symbolic icons the widgets use) and hicolor (the fallback theme), with their caches.
mkdir -p "$stage/share/icons"
cp -r "$prefix/share/icons/Adwaita" "$stage/share/icons/"
cp -r "$prefix/share/icons/hicolor" "$stage/share/icons/"
for theme in "$stage/share/icons/"*; do gtk4-update-icon-cache -q -f -t "$theme"; done

# GLib's spawn helpers (g_spawn_* on Windows runs children through them).
for helper in gspawn-win64-helper.exe gspawn-win64-helper-console.exe; do
  [ -f "$prefix/bin/$helper" ] && cp "$prefix/bin/$helper" "$stage/bin/"
done

# ------------------------------------------------------------------------------------------ DLLs
# Recursive import walk: every DLL that an .exe/.dll in the stage imports and that MSYS2 provides is copied
# into bin/ (Windows finds DLLs beside the executable first; the pixbuf loaders resolve theirs there too,
# as bin/ is the process's directory). Names not in $prefix/bin are system DLLs and are checked to exist in
# System32, so a missing dependency fails the build here rather than on a user's machine.
imports_of() { objdump -p "$1" | sed -n 's/^\s*DLL Name: //p' | tr -d '\r'; }
sysdir=$(cygpath -u "${SYSTEMROOT:-C:/Windows}")/System32
declare -A seen=()
queue=()
while IFS= read -r -d '' f; do queue+=("$f"); done < <(find "$stage" -type f \( -iname '*.exe' -o -iname '*.dll' \) -print0)
while [ ${#queue[@]} -gt 0 ]; do
  f=${queue[0]}; queue=("${queue[@]:1}")
  for dll in $(imports_of "$f"); do
    key=${dll,,}
    [ -n "${seen[$key]:-}" ] && continue
    seen[$key]=1
    if [ -f "$prefix/bin/$dll" ]; then
      cp "$prefix/bin/$dll" "$stage/bin/"
      queue+=("$stage/bin/$dll")
    elif [ -f "$stage/bin/$dll" ]; then
      :
    elif ls "$sysdir" | grep -qix "$dll" || [[ $key == api-ms-win-* || $key == ext-ms-* ]]; then
      :
    else
      echo "msys2-build: $f imports $dll, found neither in $prefix/bin nor in System32" >&2
      exit 1
    fi
  done
done
echo "msys2-build: $(find "$stage/bin" -iname '*.dll' | wc -l) DLLs bundled"
# nvcuda.dll comes with the NVIDIA driver and is opened at run time (LoadLibrary), never imported or shipped.
if [ -f "$stage/bin/nvcuda.dll" ]; then echo "msys2-build: nvcuda.dll must not be bundled" >&2; exit 1; fi

find "$stage" \( -iname '*.exe' -o -iname '*.dll' \) -exec strip --strip-unneeded {} +

# Optional: cuDNN. Set TSR_CUDNN_DIR to a folder holding cudnn64_9.dll and its cudnn_*64_9.dll siblings to
# bundle them (see README.md, "cuDNN", for the licence terms); by default none are shipped and the engine
# uses its own kernels.
if [ -n "${TSR_CUDNN_DIR:-}" ]; then
  cp "$TSR_CUDNN_DIR"/cudnn*64_9.dll "$stage/bin/"
fi

# ------------------------------------------------------------------------------------------ smoke + package
"$stage/bin/tessera-cli.exe" --version
bash installer/windows/build-installer.sh "$build" "$out" "$stage"
