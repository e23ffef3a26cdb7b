#!/bin/bash
# One device call that validates main as merged: build (engine + CLI, no GUI/media/store), the GPU suite (op
# checks against the CPU backend, goldens, graphs == eager, tiled ops, FP8), compute-sanitizer memcheck, then
# the bench table: decode 720p17 / 1080p21 and encode 720p17 / 1080p21 (first start times the cuDNN plans and
# remembers them; the rows after it start from the remembered plans), 720p17 without graphs, FP8 policies.
# Usage (repo root on the GPU machine, fixtures in ../shared/fixtures):
#   OUT=dir bash tests/bench/device_validate.sh [tests|bench|all|ab|upc|prof|ncu|plans|s10|final10|wg|wgdec|wgncu]   (all: default; each half fits one 10-min call,
#   the whole may not: keep the build folder between the two calls)
#   ab: test_cuda_ops with the conv_out bench (TSR_BENCH=narrow), then decode 720p17 / 1080p21 with and without the
#   session-8 changes (narrow conv_out with the norm fused, attention GEMMs through cuDNN, depth-to-space outputs
#   with spare frames for the next conv's prefix), one process per row.
set -u
step=${1:-all}
export PATH=/opt/torch/.venv/bin:$PATH
out=${OUT:-/tmp/out}; mkdir -p "$out"
b=build-gpu
cli=$b/app/cli/tessera-cli
export TSR_FIXTURES=${TSR_FIXTURES:-$PWD/../shared/fixtures}
export TSR_CUDNN_CACHE=$b/cudnn-plans.txt   # kept with the build between calls
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
git log --oneline -1 2>/dev/null | tee -a "$out/gpu.txt"
{ { [ -d $b ] || meson setup $b -Dsm_archs=90 -Dgui=disabled -Dmedia=disabled -Dstore=${TSR_STORE:-disabled} -Dgolden_tests=false \
    >"$out/setup.log" 2>&1; } && ninja -C $b -j16 >"$out/build.log" 2>&1; } ||
  { grep -E "error|FAILED" -A3 "$out/build.log" "$out/setup.log" | head -30; exit 1; }

if [ "$step" = upc ]; then  # session 9: the composed upsamplers (vae_upcompose.c): ops, goldens, decode A/B
echo "== test_cuda_ops"
timeout 200 $b/tests/gpu/test_cuda_ops >"$out/ops.log" 2>&1; echo "test_cuda_ops exit $?"
grep -E "shuffle|checks|FAIL" "$out/ops.log" | head -20
meson test -C $b --print-errorlogs cuda_decode_16x2x8x12 cuda_decode_16x3x16x24 cuda_graphs >"$out/golden.log" 2>&1
grep -E "^ *[0-9]+/[0-9]+ " "$out/golden.log"; grep -hE "rel rms error|graph" $b/meson-logs/testlog.txt | head -12
fi
if [ "$step" = wg ]; then  # session 11: the Hopper wg conv (kernels/conv_wg.cu): ops, conv bench, goldens
echo "== test_cuda_ops"
timeout 240 $b/tests/gpu/test_cuda_ops >"$out/ops.log" 2>&1; echo "test_cuda_ops exit $?"
grep -E "wg|checks|FAIL|128->128" "$out/ops.log" | head -40
echo "== conv bench (TSR_BENCH=wg)"
TSR_BENCH=wg timeout 200 $b/tests/gpu/test_cuda_ops >"$out/wgbench.log" 2>&1; echo "bench exit $?"
grep -E "BENCH|FAIL" "$out/wgbench.log" | head -40
meson test -C $b --print-errorlogs cuda_decode_16x2x8x12 cuda_decode_16x3x16x24 >"$out/golden.log" 2>&1
grep -E "^ *[0-9]+/[0-9]+ " "$out/golden.log"; grep -hE "rel rms error" $b/meson-logs/testlog.txt | head -12
exit 0
fi
if [ "$step" = wgncu ]; then  # session 11: Nsight Compute on the wg conv, a later chunk of 4 x 720 x 1280, norm 0 / 1
for skip in 3 15; do
  TSR_BENCH=wg timeout 240 ncu -k regex:tsr_conv_wg16 --launch-skip $skip --launch-count 1 --section SpeedOfLight \
    --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section WarpStateStats --section SchedulerStats \
    --section Occupancy --section LaunchStats $b/tests/gpu/test_cuda_ops >"$out/ncu_$skip.log" 2>&1
  echo "ncu skip $skip exit $?"
  grep -vE "^BENCH|^==PROF==" "$out/ncu_$skip.log" | grep -E "Throughput|Duration|Pipe|Stall|Issue|Eligible|Active Warps|Bank|Registers|Shared Memory|L1|L2|DRAM|Occupancy|Cycles" | head -60
done
exit 0
fi
if [ "$step" = ab ]; then
echo "== test_cuda_ops + conv_out bench"
TSR_BENCH=narrow timeout 240 $b/tests/gpu/test_cuda_ops >"$out/ops.log" 2>&1; echo "test_cuda_ops exit $?"
grep -E "narrow|attention|BENCH|checks|FAIL" "$out/ops.log" | head -40
fi
if [ "$step" != bench ] && [ "$step" != ab ] && [ "$step" != upc ] && [ "$step" != prof ] && [ "$step" != ncu ] && [ "$step" != plans ] && [ "$step" != s10 ] && [ "$step" != final10 ] && [ "$step" != wgdec ]; then
echo "== GPU suite"
meson test -C $b --suite gpu --print-errorlogs >"$out/gputests.log" 2>&1
grep -E "^ *[0-9]+/[0-9]+ |^Ok|^Fail" "$out/gputests.log"
grep -hE "rel rms error|graph|checks, " $b/meson-logs/testlog.txt | head -20
cp $b/meson-logs/testlog.txt "$out/testlog.txt"

if command -v compute-sanitizer >/dev/null; then
  echo "== memcheck, small golden decode"
  TSR_CUDNN_PLANS=1 TSR_CUDNN_CACHE=off timeout 200 compute-sanitizer --tool memcheck --error-exitcode 9 \
    $b/tests/gpu/test_cuda_golden decode decode_16x2x8x12.safetensors 0 >"$out/memcheck.log" 2>&1
  echo "memcheck exit $?"; grep -E "ERROR SUMMARY" "$out/memcheck.log"
fi
fi
[ "$step" = tests ] && exit 0

echo "== bench"
rows=$out/rows.txt; : >"$rows"
bench() { # label, timeout, env/args...
  local label=$1 lim=$2; shift 2
  timeout "$lim" env "$@" --json >"$out/cur.json" 2>"$out/cur.err"; local rc=$?
  cat "$out/cur.json" >>"$out/bench.jsonl"; cat "$out/cur.err" >>"$out/bench.err"
  local med peak low
  med=$(grep -oE '"median_s": *[0-9.]+' "$out/cur.json" | head -1 | grep -oE '[0-9.]+$')
  peak=$(grep -oE '"arena_peak_bytes": *[0-9]+' "$out/cur.json" | head -1 | grep -oE '[0-9]+$')
  low=$(grep -oE '"device_free_low_bytes": *[0-9]+' "$out/cur.json" | head -1 | grep -oE '[0-9]+$')
  printf "| %-34s | %8s s | %6s GiB | %6s GiB | rc %d |\n" "$label" "${med:-?}" \
    "$(awk -v x="${peak:-0}" 'BEGIN{printf "%.2f", x/1073741824}')" \
    "$(awk -v x="${low:-0}" 'BEGIN{printf "%.2f", x/1073741824}')" $rc | tee -a "$rows"
}
if [ "$step" = prof ]; then  # session 10: where the time goes, per layer (TSR_CUDA_PROFILE=2), chunk sizes
  bench "decode 720p17 (first start)"   200 $cli bench decode --shape 720p17 --backend cuda --runs 3
  bench "decode 720p17 profile"         100 TSR_CUDA_PROFILE=2 $cli bench decode --shape 720p17 --backend cuda --runs 5 --profile
  cp "$out/cur.err" "$out/prof720.err"; cp "$out/cur.json" "$out/prof720.json"
  bench "decode 1080p21 profile"        250 TSR_CUDA_PROFILE=2 $cli bench decode --shape 1080p21 --backend cuda --runs 3 --profile
  cp "$out/cur.err" "$out/prof1080.err"; cp "$out/cur.json" "$out/prof1080.json"
  bench "decode 720p17 chunk 2"         150 $cli bench decode --shape 720p17 --backend cuda --runs 5 --chunk 2
  echo; echo "| work | median | peak arena | free low-water | |"; cat "$rows"
  exit 0
fi
if [ "$step" = wgdec ]; then  # session 11: decode with the wg conv (default) and without (TSR_CUDA_WG=0)
  bench "decode 720p17 wg (first start)"  200 $cli bench decode --shape 720p17 --backend cuda --runs 3
  bench "decode 720p17 wg"                100 $cli bench decode --shape 720p17 --backend cuda --runs 7
  bench "decode 720p17 TSR_CUDA_WG=0"     100 TSR_CUDA_WG=0 $cli bench decode --shape 720p17 --backend cuda --runs 7
  bench "decode 1080p21 wg"               150 $cli bench decode --shape 1080p21 --backend cuda --runs 5
  bench "decode 1080p21 TSR_CUDA_WG=0"    150 TSR_CUDA_WG=0 $cli bench decode --shape 1080p21 --backend cuda --runs 5
  echo; echo "| work | median | peak arena | free low-water | |"; cat "$rows"
  exit 0
fi
if [ "$step" = final10 ]; then  # session 10, last call: graphs/offload tests, decode and encode bench
  meson test -C $b --print-errorlogs cuda_graphs cuda_offload >"$out/final.log" 2>&1
  grep -E "^ *[0-9]+/[0-9]+ " "$out/final.log"; grep -hE "graphs:|differ" $b/meson-logs/testlog.txt | head -16
  bench "decode 720p17 (first start)"   200 $cli bench decode --shape 720p17 --backend cuda --runs 3
  bench "decode 720p17"                 100 $cli bench decode --shape 720p17 --backend cuda --runs 7
  bench "decode 1080p21 (first start)"  250 $cli bench decode --shape 1080p21 --backend cuda --runs 2
  bench "decode 1080p21"                150 $cli bench decode --shape 1080p21 --backend cuda --runs 5
  bench "encode 720p17 (first start)"   200 $cli bench encode --shape 720p17 --backend cuda --runs 3
  bench "encode 720p17"                 100 $cli bench encode --shape 720p17 --backend cuda --runs 5
  echo; echo "| work | median | peak arena | free low-water | |"; cat "$rows"
  exit 0
fi
if [ "$step" = s10 ]; then  # session 10: conv_out's compiled-size kernel, register softmax
  echo "== test_cuda_ops (+ conv_out bench)"
  TSR_BENCH=narrow timeout 300 $b/tests/gpu/test_cuda_ops >"$out/ops.log" 2>&1; echo "test_cuda_ops exit $?"
  grep -E "BENCH|attention|checks|FAIL" "$out/ops.log" | head -20
  meson test -C $b --print-errorlogs cuda_decode_16x2x8x12 cuda_decode_16x3x16x24 cuda_graphs >"$out/golden.log" 2>&1
  grep -E "^ *[0-9]+/[0-9]+ " "$out/golden.log"; grep -hE "rel rms error|graphs" $b/meson-logs/testlog.txt | head -8
  bench "decode 720p17 (first start)"   200 $cli bench decode --shape 720p17 --backend cuda --runs 3
  bench "decode 720p17"                 100 $cli bench decode --shape 720p17 --backend cuda --runs 7
  bench "decode 720p17 narrow generic"  100 TSR_CUDA_NARROW=generic $cli bench decode --shape 720p17 --backend cuda --runs 7
  bench "decode 720p17 profile"         100 TSR_CUDA_PROFILE=2 $cli bench decode --shape 720p17 --backend cuda --runs 3 --profile
  cp "$out/cur.err" "$out/prof720.err"; cp "$out/cur.json" "$out/prof720.json"
  bench "decode 1080p21 (first start)"  250 $cli bench decode --shape 1080p21 --backend cuda --runs 2
  bench "decode 1080p21"                150 $cli bench decode --shape 1080p21 --backend cuda --runs 5
  echo; echo "| work | median | peak arena | free low-water | |"; cat "$rows"
  grep -B3 -A12 "cuda profile" "$out/prof720.err" | head -30
  exit 0
fi
if [ "$step" = ncu ]; then  # session 10: Nsight Compute on conv_out's narrow kernel and the softmax (720p17)
  sec="--section SpeedOfLight --section Occupancy --section WarpStateStats --section LaunchStats --section SchedulerStats"
  for k in tsr_conv_narrow tsr_softmax_rows; do
    TSR_CUDNN_PLANS=1 TSR_CUDNN_CACHE=off timeout 150 ncu --kernel-name $k --launch-skip 2 --launch-count 1 $sec \
      $cli bench decode --shape 720p17 --backend cuda --runs 1 --warmup 0 >"$out/ncu_$k.txt" 2>&1
    echo "ncu $k exit $?"; grep -E "Duration|Throughput|Achieved Occupancy|Theoretical Occupancy|Registers|Shared Memory|Block Limit|Warp Cycles|Issued Ipc|No Eligible|Stall|One or More" "$out/ncu_$k.txt" | head -30
  done
  exit 0
fi
if [ "$step" = plans ]; then  # session 10: more cuDNN candidates (12, half from heuristics mode B) at 1080p21
  TSR_CUDNN_CACHE=$out/plans12.txt TSR_CUDNN_PLANS=12 TSR_CUDNN_HEUR=b TSR_CUDA_PROFILE=2 timeout 420 \
    $cli bench decode --shape 1080p21 --backend cuda --runs 2 --profile --json >"$out/plans12.json" 2>"$out/plans12.err"
  echo "exit $?"; grep -A12 "convs per layer" "$out/plans12.err" | head -16; grep -oE '"median_s":[0-9.]+' "$out/plans12.json"
  exit 0
fi
if [ "$step" = upc ]; then
  bench "decode 720p17 (first start)"   200 $cli bench decode --shape 720p17 --backend cuda --runs 3
  bench "decode 720p17 composed"        100 $cli bench decode --shape 720p17 --backend cuda --runs 5 --profile
  bench "decode 720p17 op sequence"     100 TSR_UPSAMPLE_COMPOSE=0 $cli bench decode --shape 720p17 --backend cuda --runs 5 --profile
  bench "decode 1080p21 composed"       150 $cli bench decode --shape 1080p21 --backend cuda --runs 3
  bench "decode 1080p21 op sequence"    150 TSR_UPSAMPLE_COMPOSE=0 $cli bench decode --shape 1080p21 --backend cuda --runs 3
  echo; echo "| work | median | peak arena | free low-water | |"; cat "$rows"
  exit 0
fi
if [ "$step" = ab ]; then
  base="TSR_CUDA_NARROW=0 TSR_CUDA_GEMM=builtin TSR_CUDA_D2S_HEAD=0"
  bench "decode 720p17 (first start)"   200 $cli bench decode --shape 720p17 --backend cuda --runs 3
  bench "decode 720p17"                 100 $cli bench decode --shape 720p17 --backend cuda --runs 5 --profile
  bench "decode 720p17 without (base)"  100 $base $cli bench decode --shape 720p17 --backend cuda --runs 5 --profile
  bench "decode 720p17 no d2s head"     100 TSR_CUDA_D2S_HEAD=0 $cli bench decode --shape 720p17 --backend cuda --runs 5
  bench "decode 1080p21 (first start)"  250 $cli bench decode --shape 1080p21 --backend cuda --runs 2
  bench "decode 1080p21"                150 $cli bench decode --shape 1080p21 --backend cuda --runs 3
  bench "decode 1080p21 without (base)" 150 $base $cli bench decode --shape 1080p21 --backend cuda --runs 3
  echo; echo "| work | median | peak arena | free low-water | |"; cat "$rows"
  exit 0
fi
bench "decode 720p17 (first start)"   300 $cli bench decode --shape 720p17 --backend cuda --runs 3
bench "decode 720p17"                 150 $cli bench decode --shape 720p17 --backend cuda --runs 5
bench "decode 720p17, no graphs"      150 TSR_CUDA_GRAPHS=0 $cli bench decode --shape 720p17 --backend cuda --runs 5
bench "decode 1080p21 (first start)"  300 $cli bench decode --shape 1080p21 --backend cuda --runs 2
bench "decode 1080p21"                200 $cli bench decode --shape 1080p21 --backend cuda --runs 3
bench "encode 720p17 (first start)"   300 $cli bench encode --shape 720p17 --backend cuda --runs 3
bench "encode 720p17"                 150 $cli bench encode --shape 720p17 --backend cuda --runs 5
bench "encode 1080p21"                300 $cli bench encode --shape 1080p21 --backend cuda --runs 3
bench "decode 720p17 fp8-fast"        150 $cli bench decode --shape 720p17 --backend cuda --runs 3 --precision fp8-fast
bench "decode 720p17 fp8-quality"     150 $cli bench decode --shape 720p17 --backend cuda --runs 3 --precision fp8-quality
echo; echo "| work | median | peak arena | free low-water | |"; cat "$rows"
