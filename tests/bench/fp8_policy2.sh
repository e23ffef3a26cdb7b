#!/bin/sh
# Second FP8 pass on a GPU machine (after the policy table was set from fp8_policy.sh): activation statistics,
# the table's policies measured on both goldens (whole clip, 1-frame chunks, two-pass vs delayed activation scale),
# decode 720p17 per FP8 precision and scale mode (bf16 and 1080p21: fp8_policy.sh; kept short for the device budget).
# Usage: TSR_FIXTURES=dir sh tests/bench/fp8_policy2.sh BINDIR OUTDIR
set -u
bin=$1
o=$2
: "${TSR_FIXTURES:?}"
t0=$(date +%s)
echo "== test_cuda_fp8 (FP8 conv vs quantised-operand reference; two-pass and delayed scale)"
timeout 60 "$bin/test_cuda_fp8" 2>&1 | tail -4
echo "== activation statistics under TSR_FP8=all"
TSR_CUDA_GRAPHS=0 TSR_FP8=all TSR_FP8_STATS=1 timeout 60 "$bin/test_cuda_golden" decode decode_16x3x16x24.safetensors 0 2>&1 |
    grep fp8-stats >"$o/stats.log"
wc -l <"$o/stats.log"
echo "== policies ($(($(date +%s) - t0)) s)"
timeout 120 "$bin/fp8_scan" "$o" - policies >"$o/policies.md" 2>"$o/scan.err"
echo "fp8_scan rc=$?"
cat "$o/policies.md"
echo "== decode benchmarks ($(($(date +%s) - t0)) s)"
for shape in 720p17; do
    runs=3
    [ "$shape" = 1080p21 ] && runs=2
    for cfg in fp8-fast fp8-quality fp8-fast:delayed fp8-quality:delayed; do
        prec=${cfg%%:*}
        sc=""
        [ "$prec" != "$cfg" ] && sc=delayed || sc=two-pass  # at the run: delayed was opt-in, now the default
        r=$(TSR_FP8_SCALE=$sc timeout 90 "$bin/tessera-cli" bench decode --shape $shape --backend cuda --runs $runs \
            --warmup 1 --precision $prec --json 2>&1 | tail -1)
        echo "$shape $cfg $r" >>"$o/bench.log"
        echo "$shape $cfg $(echo "$r" | grep -o '"median_s":[0-9.]*,"best_s":[0-9.]*')"
    done
done
echo "== done in $(($(date +%s) - t0)) s"
