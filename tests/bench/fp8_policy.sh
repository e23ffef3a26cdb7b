#!/bin/sh
# FP8 quality, precision policy and speed on a GPU machine, in one go (tests/bench/RESULTS.md "FP8 precision
# policy"). Usage: TSR_FIXTURES=dir sh tests/bench/fp8_policy.sh BINDIR OUTDIR
#   BINDIR holds tessera-cli, test_cuda_ops, test_cuda_golden, fp8_scan (a -Dsm_archs=90 build).
# Steps: GPU op tests; bf16 golden; activation statistics of every FP8 conv (per-tensor vs per-channel scale);
# fp8_scan (per-layer sensitivity, policies, greedy layer sets, weights alone through a quantised file); decode
# 720p17 / 1080p21 with bf16, the table's fp8-fast / fp8-quality and the scan's greedy sets.
set -u
bin=$1
o=$2
: "${TSR_FIXTURES:?}"
t0=$(date +%s)
echo "== test_cuda_ops"
timeout 120 "$bin/test_cuda_ops" >"$o/ops.log" 2>&1
echo "test_cuda_ops rc=$? ($(tail -1 "$o/ops.log"))"
echo "== golden bf16 (whole clip, 1-frame chunks)"
timeout 60 "$bin/test_cuda_golden" decode decode_16x3x16x24.safetensors 0 1 2>&1 | tail -3
echo "== quantised model file"
"$bin/tessera-cli" make-model -o /tmp/m.safetensors --dtype f32 >/dev/null 2>&1 &&
    "$bin/tessera-cli" quantize /tmp/m.safetensors -o /tmp/q.safetensors 2>&1 | tail -1
echo "== activation statistics under TSR_FP8=all ($(($(date +%s) - t0)) s)"
TSR_CUDA_GRAPHS=0 TSR_FP8=all TSR_FP8_STATS=1 timeout 60 "$bin/test_cuda_golden" decode decode_16x3x16x24.safetensors 0 \
    >"$o/stats.log" 2>&1
grep -c fp8-stats "$o/stats.log"
echo "== fp8_scan ($(($(date +%s) - t0)) s)"
timeout 200 "$bin/fp8_scan" "$o" /tmp/q.safetensors >"$o/scan.md" 2>"$o/scan.err"
echo "fp8_scan rc=$?"
tail -3 "$o/scan.err"
echo "== decode benchmarks ($(($(date +%s) - t0)) s)"
for shape in 720p17 1080p21; do
    runs=3
    [ "$shape" = 1080p21 ] && runs=2
    for cfg in bf16 fp8-fast fp8-quality set_40 set_36; do
        case $cfg in
        set_*) ovr=$(cat "$o/$cfg.txt" 2>/dev/null || echo none); prec=bf16 ;;
        *) ovr=""; prec=$cfg ;;
        esac
        r=$(TSR_FP8="$ovr" timeout 90 "$bin/tessera-cli" bench decode --shape $shape --backend cuda --runs $runs \
            --warmup 1 --precision $prec --json 2>&1 | tail -1)
        echo "$shape $cfg $r" | tee -a "$o/bench.log" | cut -c1-200
    done
done
TSR_FP8="" "$bin/tessera-cli" bench decode --shape 720p17 --backend cuda --runs 1 --warmup 0 \
    --precision fp8-quality >"$o/bench_layers.txt" 2>&1
echo "== done in $(($(date +%s) - t0)) s"
