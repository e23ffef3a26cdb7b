#!/usr/bin/env bash
# Pack what tests/media/device_media.sh needs on the GPU machine, which has no FFmpeg: tessera-cli, tsr_probe
# and bench_media_sink from BUILD (configure it with media enabled and the CUDA kernels embedded, e.g.
# `meson setup BUILD -Dgui=disabled -Dsm_archs=90`), their shared-library closure except the C runtime
# (glibc, libstdc++, libgcc_s: the GPU machine's newer ones serve), the shared clips and clips made here
# with ffmpeg (audio; 100 and 1000 frames for the memory check). Writes DEST/pack.tar.xz and DEST/run.sh.
# Usage: bash tests/media/pack_device.sh BUILD DEST [CLIPS]
set -euo pipefail
build=$1 dest=$2 clips=${3:-$(dirname "$0")/../../../shared/clips}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/clips" "$dest"
bins=("$build/app/cli/tessera-cli" "$build/tests/media/tsr_probe" "$build/tests/media/bench_media_sink")
for b in "${bins[@]}"; do strip -o "$stage/bin/$(basename "$b")" "$b"; done
ldd "${bins[@]}" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  grep -v -E '^(libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libstdc\+\+|libgcc_s|ld-linux[^ ]*)\.so' |
  while read -r name path; do cp -L "$path" "$stage/lib/$name"; done
cp "$clips"/*.mp4 "$clips"/*.png "$stage/clips/"
ffmpeg -v error -f lavfi -i testsrc2=size=128x96:rate=24 -f lavfi -i sine=frequency=440 -t 2 -c:v libx264 \
  -pix_fmt yuv420p -c:a aac -shortest "$stage/clips/av.mp4"
for n in 100 1000; do
  ffmpeg -v error -f lavfi -i testsrc2=size=320x240:rate=25 -frames:v $n -c:v libx264 -preset ultrafast -crf 28 \
    "$stage/clips/long$n.mp4"
done
echo "$(ls "$stage/lib" | wc -l) libraries, $(du -sh "$stage" | cut -f1) unpacked"
tar -C "$stage" -cf - bin lib clips | xz -9 -T2 > "$dest/pack.tar.xz"
cp "$(dirname "$0")/device_media.sh" "$dest/run.sh"
ls -l "$dest"
