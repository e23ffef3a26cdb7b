#!/bin/bash
# Exact streaming with causal states in pinned host memory on the GPU (run through the device tool from the
# worktree root, $OUT set): build, the offload GPU test, the GPU suite, then planned decodes (bench_plan caps)
# at 720p17 and 1080p21 under several caps, each state on the device (a cap the exact plan fits) for comparison.
# Logs and JSON go to $OUT; a short table is printed last.
set -u
OUT=${OUT:-/tmp/out}
deadline=$(( $(date +%s) + ${BUDGET_S:-570} ))
left() { local l=$(( deadline - $(date +%s) )); [ $l -lt $1 ] && echo $(( l > 5 ? l : 5 )) || echo $1; }
mkdir -p "$OUT"
b=build-gpu
t0=$(date +%s)
meson setup $b -Dsm_archs=90 -Dgui=disabled -Dmedia=disabled -Dstore=disabled -Dgolden_tests=false >"$OUT/setup.log" 2>&1 ||
  { tail -20 "$OUT/setup.log"; exit 1; }
ninja -C $b -j16 >"$OUT/build.log" 2>&1 || { grep -E "error" "$OUT/build.log" | head -20; exit 1; }
echo "build: $(( $(date +%s) - t0 )) s, commit $(git rev-parse --short HEAD 2>/dev/null)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
case "${1:-all}" in
all)
  t1=$(date +%s) # the suite holds cuda_offload (tests/gpu/test_cuda_offload.c); test_cuda_tiled alone takes > 170 s
  timeout $(left 220) meson test -C $b --suite gpu --num-processes 1 >"$OUT/gpu_suite.log" 2>&1
  ;;
quick)
  t1=$(date +%s) # the offload test, graphs and the GPU goldens (test_cuda_ops / _fp8 / _tiled separately)
  timeout $(left 160) meson test -C $b cuda_offload cuda_graphs cuda_decode_16x2x8x12 cuda_decode_16x3x16x24 \
    cuda_encode_3x9x32x48 --num-processes 1 >"$OUT/gpu_suite.log" 2>&1
  ;;
mini)
  t1=$(date +%s) # little device time left: the offload test, then the offload rows first
  timeout $(left 90) meson test -C $b cuda_offload --num-processes 1 >"$OUT/gpu_suite.log" 2>&1
  ;;
esac
echo "gpu tests rc=$? ($(( $(date +%s) - t1 )) s)"; grep -E "^ *[0-9]+/[0-9]+ |^(Ok|Fail|Skipped|Timeout):" "$OUT/gpu_suite.log"
cp $b/meson-logs/testlog.txt "$OUT/gpu_testlog.log" 2>/dev/null
grep -E "^graphs (on|off)|CHECK|REQUIRE" "$OUT/gpu_testlog.log" | head -14
bp=$b/tests/bench/bench_plan
# one cuDNN plan per shape, untimed (the timed choice costs ~60 s per process here); the same for every row
export TSR_BENCH_CHUNK=1 TSR_CUDNN_PLANS=1 TSR_CUDNN_CACHE=off
TSR_BENCH_SLACK_MIB=1024 TSR_BENCH_RUNS=2 timeout $(left 60) $bp caps 5 90 160 9 >"$OUT/caps_720p17_off.json" \
  2>"$OUT/caps_720p17_off.err"; echo "720p17 offload rc=$?"
TSR_BENCH_RUNS=2 timeout $(left 60) $bp caps 5 90 160 40 >"$OUT/caps_720p17.json" 2>"$OUT/caps_720p17.err"; echo "720p17 rc=$?"
TSR_BENCH_RUNS=2 timeout $(left 70) $bp caps 6 135 240 70 >"$OUT/caps_1080p21.json" 2>"$OUT/caps_1080p21.err"; echo "1080p21 rc=$?"
TSR_BENCH_SLACK_MIB=2560 TSR_BENCH_RUNS=2 timeout $(left 90) $bp caps 6 135 240 20 >"$OUT/caps_1080p21_off.json" \
  2>"$OUT/caps_1080p21_off.err"; echo "1080p21 offload rc=$?"
timeout $(left 300) $bp caps 6 135 240 16 8 >"$OUT/caps_1080p21_small.json" 2>"$OUT/caps_1080p21_small.err"; echo "1080p21 16/8 rc=$?"
echo "== results"
cat "$OUT"/caps_*.json 2>/dev/null
for f in "$OUT"/caps_*.err; do echo "-- $f"; grep -E "re-plan|decode:" "$f" | head -3; done
