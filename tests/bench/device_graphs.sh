#!/bin/bash
# Second GPU call of feat/cudahost: op checks, graphs == eager, benches with CUDA graphs on and off, the old
# (cold, ungated) profile for comparison, a golden with graphs active, memcheck. Logs under $OUT.
# Usage (repo root on the GPU machine, fixtures at ../shared/fixtures): OUT=dir bash tests/bench/device_graphs.sh
set -u
out=${OUT:-/tmp/out}; mkdir -p "$out"
b=build-gpu
T0=$(date +%s)
meson setup $b -Dsm_archs=90 -Dgui=disabled -Dmedia=disabled -Dstore=disabled -Dgolden_tests=false \
  >"$out/setup.log" 2>&1 || { tail -20 "$out/setup.log"; exit 1; }
ninja -C $b app/cli/tessera-cli tests/gpu/test_cuda_ops tests/gpu/test_cuda_golden tests/gpu/test_cuda_graphs \
  >"$out/build.log" 2>&1 || { grep -E "error|FAILED" "$out/build.log" | head -20; exit 1; }
echo "build done at +$(( $(date +%s) - T0 )) s"
cli=$b/app/cli/tessera-cli
sum="$out/summary.txt"; : >"$sum"
step() { # label, seconds, command...
  local label=$1 lim=$2; shift 2
  local t=$(date +%s)
  timeout "$lim" "$@" >"$out/$label.log" 2>&1; local rc=$?
  echo "| $label | rc $rc | $(( $(date +%s) - t )) s |" | tee -a "$sum"
}
export TSR_FIXTURES=$(cd ../shared/fixtures 2>/dev/null && pwd)
step ops 60 $b/tests/gpu/test_cuda_ops
grep -E "mismatch|profile:|stats:|FAIL|fail|checks" "$out/ops.log" | head -12
step graphs 60 $b/tests/gpu/test_cuda_graphs
grep -E "graphs|differ|FAIL|checks" "$out/graphs.log" | head -6
step dec720 30 $cli bench decode --shape 720p17 --backend cuda --runs 5
step dec720_nograph 30 env TSR_CUDA_GRAPHS=0 $cli bench decode --shape 720p17 --backend cuda --runs 5
step enc720 30 $cli bench encode --shape 720p17 --backend cuda --runs 5
step enc720_nograph 30 env TSR_CUDA_GRAPHS=0 $cli bench encode --shape 720p17 --backend cuda --runs 5
step dec1080 40 $cli bench decode --shape 1080p21 --backend cuda --runs 2 --json
step enc1080 30 $cli bench encode --shape 1080p21 --backend cuda --runs 3 --json
step cold_ungated 30 env TSR_CUDA_PROFILE=1 TSR_CUDA_PROFILE_GATE=0 $cli bench decode --shape 720p17 --backend cuda --warmup 0 --runs 1
step golden_dec3 40 $b/tests/gpu/test_cuda_golden decode decode_16x3x16x24.safetensors 0 1 2
if command -v compute-sanitizer >/dev/null; then
  step memcheck 90 compute-sanitizer --tool memcheck --error-exitcode 9 $b/tests/gpu/test_cuda_golden decode \
    decode_16x2x8x12.safetensors 0 1
  tail -4 "$out/memcheck.log"
fi
for f in dec720 dec720_nograph enc720 enc720_nograph; do
  echo "== $f"; grep -E "^\| (decode|encode) |^\| 0\.|graphs in" "$out/$f.log"
done
for f in dec1080 enc1080; do echo "== $f"; grep -E "^\{" "$out/$f.log"; done
echo "== cold ungated profile (the old way)"; grep -E "^\| |^cuda profile" "$out/cold_ungated.log" | head -12
grep -hiE "rel rms|max abs" "$out"/golden_dec3.log | head -6
echo "== steps"; cat "$sum"; echo "total $(( $(date +%s) - T0 )) s"
