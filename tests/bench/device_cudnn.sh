#!/bin/bash
# cuDNN plan-count trade-off and clip-length independence of peak VRAM (GPU machine, repo root).
set -u
export PATH=/opt/torch/.venv/bin:$PATH
b=build-gpu
meson setup $b -Dsm_archs=90 -Dgui=disabled -Dmedia=disabled -Dstore=disabled -Dgolden_tests=false >/dev/null 2>&1 || exit 1
ninja -C $b >/dev/null 2>&1 || { ninja -C $b 2>&1 | grep -E "error" | head; exit 1; }
cli=$b/app/cli/tessera-cli
for n in 1 3; do
  echo "-- TSR_CUDNN_PLANS=$n: golden 16x3x16x24 (wall includes plan building)"
  s=$(date +%s.%N); TSR_CUDNN=1 TSR_CUDNN_PLANS=$n $b/tests/gpu/test_cuda_golden decode decode_16x3x16x24.safetensors 0 2>&1 | grep -i "rel rms"
  echo "   wall $(echo "$(date +%s.%N) - $s" | bc) s"
  s=$(date +%s.%N); TSR_CUDNN=1 TSR_CUDNN_PLANS=$n timeout 150 $cli bench decode --shape 720p17 --backend cuda --runs 3 2>&1 | tail -1
  echo "   bench process wall $(echo "$(date +%s.%N) - $s" | bc) s"
done
echo "-- peak vs clip length, 1080p, cuDNN (1 plan)"
for t in 6 21; do
  TSR_CUDNN=1 TSR_CUDNN_PLANS=1 timeout 200 $cli bench decode --latent-shape 16x${t}x135x240 --backend cuda --runs 1 2>&1 | tail -1
done
echo "-- encode 1080p21 cuDNN (1 plan)"
TSR_CUDNN=1 TSR_CUDNN_PLANS=1 timeout 150 $cli bench encode --shape 1080p21 --backend cuda --runs 2 2>&1 | tail -1
