#!/bin/sh
# FP8 in the CUDA backend, end to end (GPU machine): golden decodes with every TSR_FP8 policy (error vs the fp32
# golden), decode timings (tessera-cli bench), and the per-layer sensitivity scan (one conv in FP8 at a time).
# Usage: TSR_FIXTURES=dir tests/bench/fp8_e2e.sh [scan_seconds]
set -u
b=build-gpu
meson setup $b -Dsm_archs=90 -Dgui=disabled -Dmedia=disabled -Dstore=disabled -Dgolden_tests=false >/dev/null 2>&1 ||
    { meson setup $b -Dsm_archs=90 2>&1 | tail -20; exit 1; }
ninja -C $b tests/gpu/test_cuda_golden app/cli/tessera-cli 2>&1 | grep -E "error|FAILED" | head -20
g=$b/tests/gpu/test_cuda_golden
echo "== golden decode 16x3x16x24, whole clip and 1-frame chunks"
for p in off all fast quality; do
    echo "-- TSR_FP8=$p"
    TSR_FP8=$p $g decode decode_16x3x16x24.safetensors 0 1 2>&1 | grep -E "rel rms|error|fail" | head -4
done
echo "== decode 720p17 (builtin model), median of 3"
for p in off fast all; do
    echo "-- TSR_FP8=$p"
    TSR_FP8=$p timeout 120 $b/app/cli/tessera-cli bench decode --shape 720p17 --runs 3 --warmup 1 2>&1 | tail -4
done
echo "== sensitivity scan: one decoder conv in FP8 (golden 16x3x16x24, whole clip)"
end=$(( $(date +%s) + ${1:-120} ))
grep '^decoder\..*\.weight	\[[0-9]*,[0-9]*,[0-9]*,[0-9]*,[0-9]*\]' "$TSR_FIXTURES/ema_vae_tensors.tsv" | cut -f1 |
    sed 's/\.weight$//' | while read -r n; do
    [ "$(date +%s)" -gt "$end" ] && { echo "(scan stopped: time)"; break; }
    r=$(TSR_FP8="name:$n" $g decode decode_16x3x16x24.safetensors 0 2>&1 | grep -o "rel rms error [0-9.]*" | head -1)
    echo "$n $r"
done
