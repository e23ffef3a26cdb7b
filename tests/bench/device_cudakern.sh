#!/bin/bash
# feat/cudakern on the GPU machine. Step A: build this tree (and, for the before/after profile, the tree at BASE
# when given), GPU suite with the GroupNorm bandwidth bench, 720p17 decode profile before/after, cuDNN plan
# cache first and second start. Step B: 720p17 decode at BASE, 1080p21 decode, 720p17 encode (first/second
# start), memcheck.
# Usage: OUT=dir BUILD=dir [BASE=dir] bash tests/bench/device_cudakern.sh A|B|M (M: memcheck alone)
set -u
export PATH=/opt/torch/.venv/bin:$PATH
out=${OUT:-/tmp/out}; mkdir -p "$out"
b=${BUILD:-build-gpu}
cli=$b/app/cli/tessera-cli
export TSR_CUDNN_CACHE=$b/cudnn-plans.txt
run() { # label, timeout, command...
  local label=$1 lim=$2; shift 2
  echo "-- $label"
  local t0=$(date +%s.%N)
  timeout "$lim" env "$@" >"$out/cur.log" 2>&1; local rc=$?
  local t1=$(date +%s.%N)
  cat "$out/cur.log" >>"$out/bench.log"
  grep -vE "^$|^\|---" "$out/cur.log" | tail -18
  awk -v a="$t0" -v b="$t1" -v rc=$rc 'BEGIN { printf "   (rc %d, process wall %.1f s)\n", rc, b - a }'
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
setup() { { [ -d "$1" ] || meson setup "$1" -Dsm_archs=90 -Dgui=disabled -Dmedia=disabled -Dstore=disabled \
            -Dgolden_tests=false >"$out/setup-$(basename $1).log" 2>&1; } && ninja -C "$1" -j8 >"$out/build-$(basename $1).log" 2>&1; }
if [ "${1:-A}" = M ]; then   # memcheck only: build just what it needs
  { [ -d "$b" ] || meson setup "$b" -Dsm_archs=90 -Dgui=disabled -Dmedia=disabled -Dstore=disabled \
      -Dgolden_tests=false >"$out/setup.log" 2>&1; } && ninja -C "$b" -j16 tests/gpu/test_cuda_golden >"$out/build.log" 2>&1 ||
    { tail -20 "$out/build.log"; exit 1; }
  echo "== compute-sanitizer memcheck, small golden decode"
  TSR_FIXTURES=${TSR_FIXTURES:-$PWD/../shared/fixtures} TSR_CUDNN_PLANS=1 TSR_CUDNN_CACHE=off timeout 300 \
    compute-sanitizer --tool memcheck --error-exitcode 9 $b/tests/gpu/test_cuda_golden decode decode_16x2x8x12.safetensors 0 \
    >"$out/memcheck.log" 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|rel rms" "$out/memcheck.log"; tail -3 "$out/memcheck.log"
  exit 0
fi
setup "$b" & p1=$!
if [ -n "${BASE:-}" ]; then (cd "$BASE" && setup "$BASE/build-base") & p2=$!; fi
wait $p1 || { grep -E "error|FAILED" -A3 "$out/build-$(basename $b).log" | head -30; exit 1; }
[ -n "${BASE:-}" ] && { wait $p2 || echo "base build failed"; }
if [ "${1:-A}" = A ]; then
  rm -f "$TSR_CUDNN_CACHE"
  echo "== GPU tests (TSR_BENCH=gn)"
  TSR_BENCH=gn meson test -C $b --suite gpu --print-errorlogs >"$out/gputests.log" 2>&1
  grep -E "^ *[0-9]+/[0-9]+ |^Ok|^Fail" "$out/gputests.log"
  grep -hE "BENCH|rel rms|plan cache|plan text" $b/meson-logs/testlog.txt | grep -vE "conv .* rel rms" | head -40
  cp $b/meson-logs/testlog.txt "$out/testlog.txt"
  rm -f "$TSR_CUDNN_CACHE"
  run "AFTER decode 720p17, first start (plans timed)" 200 $cli bench decode --shape 720p17 --backend cuda --runs 3 --profile
  wc -l "$TSR_CUDNN_CACHE"
  run "AFTER decode 720p17, second start (remembered plans)" 150 $cli bench decode --shape 720p17 --backend cuda --runs 3 --profile
else
  if [ -n "${BASE:-}" ] && [ -x "$BASE/build-base/app/cli/tessera-cli" ]; then
    run "BEFORE (base) decode 720p17" 150 TSR_CUDNN_CACHE=off $BASE/build-base/app/cli/tessera-cli bench decode --shape 720p17 --backend cuda --runs 3 --profile
  fi
  run "decode 1080p21 (first start for its shapes)" 240 $cli bench decode --shape 1080p21 --backend cuda --runs 2 --profile
  run "encode 720p17 first start" 200 $cli bench encode --shape 720p17 --backend cuda --runs 3 --profile
  run "encode 720p17 second start" 150 $cli bench encode --shape 720p17 --backend cuda --runs 3 --profile
  if command -v compute-sanitizer >/dev/null; then
    echo "== compute-sanitizer memcheck, small golden decode"
    TSR_FIXTURES=${TSR_FIXTURES:-$PWD/../shared/fixtures} TSR_CUDNN_PLANS=1 TSR_CUDNN_CACHE=off timeout 200 compute-sanitizer --tool memcheck --error-exitcode 9 $b/tests/gpu/test_cuda_golden decode decode_16x2x8x12.safetensors 0 \
      >"$out/memcheck.log" 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY" "$out/memcheck.log"
  fi
  echo "== test_cuda_ops (this tree)"
  timeout 80 $b/tests/gpu/test_cuda_ops >"$out/ops.log" 2>&1; echo "test_cuda_ops exit $?"; tail -1 "$out/ops.log"
fi
