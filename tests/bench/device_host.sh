#!/bin/bash
# One call on the GPU machine for the host-path work (feat/cudahost): build, GPU tests (op checks incl. the
# transfer ops and the gated profile, goldens, chunked == whole), benches with the profile, the old ungated
# profile for comparison, compute-sanitizer memcheck. Each step has its own time limit so the call ends
# inside the device budget; logs under $OUT, a short table last.
# Usage (repo root on the GPU machine, fixtures at ../shared/fixtures): OUT=dir bash tests/bench/device_host.sh
set -u
out=${OUT:-/tmp/out}; mkdir -p "$out"
b=build-gpu
T0=$(date +%s)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
meson setup $b -Dsm_archs=90 -Dgui=disabled -Dmedia=disabled -Dstore=disabled -Dgolden_tests=false \
  >"$out/setup.log" 2>&1 || { tail -20 "$out/setup.log"; exit 1; }
ninja -C $b app/cli/tessera-cli tests/gpu/test_cuda_ops tests/gpu/test_cuda_golden tests/gpu/test_cuda_graphs >"$out/build.log" 2>&1 ||
  { grep -E "error|FAILED" "$out/build.log" | head -20; exit 1; }
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
grep -E "mismatch|profile:|stats:|FAIL|fail" "$out/ops.log" | head -12
step graphs 60 $b/tests/gpu/test_cuda_graphs
grep -E "graphs|differ" "$out/graphs.log" | head -4
step dec720 45 $cli bench decode --shape 720p17 --backend cuda --runs 3 --profile
step dec720_nograph 30 env TSR_CUDA_GRAPHS=0 $cli bench decode --shape 720p17 --backend cuda --runs 3
step enc720 40 $cli bench encode --shape 720p17 --backend cuda --runs 3 --profile
step enc720_nograph 25 env TSR_CUDA_GRAPHS=0 $cli bench encode --shape 720p17 --backend cuda --runs 3
step dec1080 55 $cli bench decode --shape 1080p21 --backend cuda --runs 2 --profile
step enc1080 40 $cli bench encode --shape 1080p21 --backend cuda --runs 2 --profile
step golden_dec2 30 $b/tests/gpu/test_cuda_golden decode decode_16x2x8x12.safetensors 0 1
step golden_dec3 30 $b/tests/gpu/test_cuda_golden decode decode_16x3x16x24.safetensors 0 1 2
step golden_enc 30 $b/tests/gpu/test_cuda_golden encode encode_3x9x32x48.safetensors 0 4
step ungated720 30 env TSR_CUDA_PROFILE_GATE=0 $cli bench decode --shape 720p17 --backend cuda --runs 1 --profile
if command -v compute-sanitizer >/dev/null; then
  step memcheck 45 compute-sanitizer --tool memcheck --error-exitcode 9 $b/tests/gpu/test_cuda_golden decode \
    decode_16x2x8x12.safetensors 0
  grep -E "ERROR SUMMARY" "$out/memcheck.log"
fi
for f in dec720 dec720_nograph enc720 enc720_nograph dec1080 enc1080 ungated720; do
  echo "== $f"; grep -E "^\| (decode|encode) |^\| [0-9]|device busy|host / not|^\| conv|^\| group|^\| attention|^\| transfer|^\| causal|^\| depth|^\| add|graphs in" "$out/$f.log"
done
grep -hiE "rel rms|max abs|chunk" "$out"/golden_*.log | head -12
echo "== steps"; cat "$sum"; echo "total $(( $(date +%s) - T0 )) s"
