#!/bin/bash
# One call on the GPU machine: build the engine + CLI (no GUI/media/store), run the GPU test suite, then the
# benchmarks with the project's own kernels and with cuDNN convs, FP8 policies, and compute-sanitizer.
# Usage (repo root on the GPU machine): TSR_FIXTURES=dir OUT=dir bash tests/bench/device_all.sh
set -u
export PATH=/opt/torch/.venv/bin:$PATH
out=${OUT:-/tmp/out}; mkdir -p "$out"
export TSR_CUDNN_PLANS=${TSR_CUDNN_PLANS:-6}
b=build-gpu
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
git log --oneline -1 2>/dev/null | tee -a "$out/gpu.txt"
meson setup $b -Dsm_archs=90 -Dgui=disabled -Dmedia=disabled -Dstore=disabled -Dgolden_tests=false >"$out/setup.log" 2>&1 ||
    { tail -20 "$out/setup.log"; exit 1; }
ninja -C $b >"$out/build.log" 2>&1 || { grep -E "error|FAILED" "$out/build.log" | head -20; exit 1; }
cli=$b/app/cli/tessera-cli

echo "== GPU tests"
meson test -C $b --suite gpu --print-errorlogs >"$out/gputests.log" 2>&1; grep -E "^ *[0-9]+/[0-9]+ |^Ok|^Fail" "$out/gputests.log"
for c in 0 1; do
  echo "-- golden errors, TSR_CUDNN=$c"
  TSR_CUDNN=$c $b/tests/gpu/test_cuda_golden decode decode_16x3x16x24.safetensors 0 1 2>&1 | grep -iE "rel rms|max abs|fail" | head -4
done

bench() { # label, env..., args...
  local label=$1; shift
  echo "-- $label"
  timeout 150 env "$@" 2>&1 | tee -a "$out/bench.log" | tail -4
}
echo "== bench"
bench "decode 720p17 own"     TSR_CUDNN=0 $cli bench decode --shape 720p17 --backend cuda --runs 3
bench "decode 720p17 cudnn"   TSR_CUDNN=1 $cli bench decode --shape 720p17 --backend cuda --runs 3 --profile
bench "decode 1080p21 cudnn"  TSR_CUDNN=1 $cli bench decode --shape 1080p21 --backend cuda --runs 2
bench "encode 720p17 cudnn"   TSR_CUDNN=1 $cli bench encode --shape 720p17 --backend cuda --runs 3
bench "decode 720p17 cudnn fp8 fast" TSR_CUDNN=1 TSR_FP8=fast $cli bench decode --shape 720p17 --backend cuda --runs 3
for p in fast quality; do
  echo "-- golden error, cuDNN FP8 $p"
  TSR_CUDNN=1 TSR_FP8=$p $b/tests/gpu/test_cuda_golden decode decode_16x3x16x24.safetensors 0 2>&1 | grep -iE "rel rms" | head -2
done
if command -v compute-sanitizer >/dev/null; then
  echo "== compute-sanitizer memcheck, small golden decode"
  compute-sanitizer --tool memcheck --error-exitcode 9 $b/tests/gpu/test_cuda_golden decode decode_16x2x8x12.safetensors 0 \
    >"$out/memcheck.log" 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY" "$out/memcheck.log"
fi
