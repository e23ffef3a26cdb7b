#!/bin/bash
# Exact tiled decode on the GPU (full model, bf16): exactness vs untiled and peak device memory.
set -u
export PATH=/opt/torch/.venv/bin:$PATH
b=build-gpu
meson setup $b -Dsm_archs=90 -Dgui=disabled -Dmedia=disabled -Dstore=disabled -Dgolden_tests=false >/dev/null 2>&1 || exit 1
ninja -C $b >/dev/null 2>&1 || { ninja -C $b 2>&1 | grep -E "error" | head; exit 1; }
bt=$b/tests/bench/bench_tiles
export TSR_BACKEND=cuda TSR_FULL=1
echo "-- 720p, 5 frames (latent 90x160x2), chunk 1: untiled reference, tiles 512 and 256 (device states)"
timeout 150 $bt 90 160 2 1 0 512 256
echo "-- 1080p 21 frames (135x240x6), chunk 1, host states, tile 512"
TSR_TILE_HOST=1 timeout 200 $bt 135 240 6 1 512
echo "-- 4K 5 frames (270x480x2), chunk 1, host states, tile 512"
TSR_TILE_HOST=1 timeout 200 $bt 270 480 2 1 512
