#!/bin/bash
# One device call for feat/frames: build, the GPU suite (frame groups == whole chunks bit for bit with graphs in
# tests/gpu/test_cuda_frames.c), then decode 720p17 and 1080p21 with frame groups off (4 = a 1-latent-frame
# chunk's frames) / 2 / 1: median time, arena high-water, device free-memory low-water, and `tessera-cli plan`'s
# prediction for the same settings (arena part: state + activations + workspace; the weights are outside the
# arena); then, time permitting, encode 720p17 with groups 4 (off) / 2 / 1. The cuDNN plan choices are timed once per shape and remembered in the build folder for the later rows.
# Usage (repo root on the GPU machine, fixtures in ../shared/fixtures):
#   OUT=dir bash tests/bench/device_frames.sh [all|bench]
# Local smoke test of the table on the CPU backend: BACKEND=cpu SHAPES="16x2x8x12" bash tests/bench/device_frames.sh bench
set -u
step=${1:-all}
out=${OUT:-/tmp/out}; mkdir -p "$out"
b=${BUILD:-build-gpu}
cli=$b/app/cli/tessera-cli
backend=${BACKEND:-cuda}
shapes=${SHAPES:-"720p17 1080p21"}
export TSR_FIXTURES=${TSR_FIXTURES:-$PWD/../shared/fixtures}
export TSR_CUDNN_CACHE=${TSR_CUDNN_CACHE:-$PWD/$b/cudnn-plans.txt}
t0=$(date +%s)
if [ "$step" = all ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
  { { [ -d $b ] || meson setup $b -Dsm_archs=90 -Dgui=disabled -Dmedia=disabled -Dstore=disabled -Dgolden_tests=false \
      >"$out/setup.log" 2>&1; } && ninja -C $b -j16 >"$out/build.log" 2>&1; } ||
    { grep -E "error|FAILED" -A3 "$out/build.log" "$out/setup.log" | head -30; exit 1; }
  echo "build done after $(( $(date +%s) - t0 )) s"
  timeout 240 meson test -C $b --suite gpu --num-processes 1 --print-errorlogs >"$out/gputests.log" 2>&1
  echo "GPU suite exit $? after $(( $(date +%s) - t0 )) s"
  grep -E "^ *[0-9]+/[0-9]+ |^Ok|^Fail" "$out/gputests.log"
  grep -hE "frame group|checks, " $b/meson-logs/testlog.txt | head -20
  cp $b/meson-logs/testlog.txt "$out/testlog.txt"
fi

num() { grep -oE "\"$1\": *[0-9.]+" "$2" | head -1 | grep -oE '[0-9.]+$'; }
gib() { awk -v x="${1:-0}" 'BEGIN{printf "%.2f", x/1073741824}'; }
rows=$out/rows.txt; : >"$rows"
for s in $shapes; do
  case $s in 720p17) lat=16x5x90x160; sel="--shape $s";; 1080p21) lat=16x6x135x240; sel="--shape $s";;
    *) lat=$s; sel="--latent-shape $s";; esac
  for g in 4 2 1; do
    timeout 200 $cli bench decode $sel --backend $backend --runs 3 --frame-group $g --json >"$out/cur.json" 2>"$out/cur.err"
    rc=$?
    cat "$out/cur.json" >>"$out/bench.jsonl"; cat "$out/cur.err" >>"$out/bench.err"
    $cli plan --budget 1T --latent-shape $lat --chunk 1 --frame-group $g --json >"$out/plan.json"
    med=$(num median_s "$out/cur.json"); peak=$(num arena_peak_bytes "$out/cur.json")
    low=$(num device_free_low_bytes "$out/cur.json"); tot=$(num device_total_bytes "$out/cur.json")
    pst=$(num state_device "$out/plan.json"); pact=$(num activations "$out/plan.json")
    pws=$(num workspace "$out/plan.json"); pfg=$(num frame_group "$out/plan.json")
    pred=$(awk -v a="${pst:-0}" -v b="${pact:-0}" -v c="${pws:-0}" 'BEGIN{printf "%.0f", a+b+c}')
    ratio=$(awk -v p="$pred" -v m="${peak:-0}" 'BEGIN{if (m > 0) printf "%.3f", p/m; else print "-"}')
    printf "| %-7s | %d | %s | %8s s | %6s GiB | %6s GiB of %s | %6s GiB (act %s) | %s | rc %d | %d s |\n" "$s" "$g" \
      "${pfg:-?}" "${med:-?}" "$(gib "$peak")" "$(gib "$low")" "$(gib "$tot")" "$(gib "$pred")" "$(gib "$pact")" \
      "$ratio" $rc $(( $(date +%s) - t0 )) | tee -a "$rows"
  done
done
# encode 720p17 (chunks of 5 and 4 frames): no plan model for the encoder; only while the call has time left
erows=$out/erows.txt; : >"$erows"
for g in 4 2 1; do
  [ $(( $(date +%s) - t0 )) -gt ${ENC_AFTER:-470} ] && { echo "encode rows skipped (time)"; break; }
  timeout 120 $cli bench encode --shape 720p17 --backend $backend --runs 3 --frame-group $g --json >"$out/cur.json" \
    2>"$out/cur.err"
  rc=$?
  cat "$out/cur.json" >>"$out/bench.jsonl"; cat "$out/cur.err" >>"$out/bench.err"
  printf "| encode 720p17 | %d | %8s s | %6s GiB | rc %d | %d s |\n" $g "$(num median_s "$out/cur.json")" \
    "$(gib "$(num arena_peak_bytes "$out/cur.json")")" $rc $(( $(date +%s) - t0 )) | tee -a "$erows"
done
echo
echo "| shape | --frame-group | plan's group | median | arena peak | device free low-water | predicted arena (plan) | predicted/measured | | elapsed |"
echo "|---|---|---|---|---|---|---|---|---|---|"
cat "$rows"
echo "| work | --frame-group | median | arena peak | | elapsed |"
cat "$erows"
