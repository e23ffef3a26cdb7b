#!/bin/sh
# Build and run the conv bench on the GPU machine: tests/bench/conv_bench.sh [reps]
# Needs nvcc; cuDNN is optional (found through TSR_CUDNN_LIB or the python package nvidia-cudnn-cu13).
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp}/conv_bench
mkdir -p "$out"
if [ -z "$TSR_CUDNN_LIB" ]; then
    lib=$(find / -name 'libcudnn.so.9*' -not -path '*/proc/*' 2>/dev/null | head -1)
    [ -n "$lib" ] && export TSR_CUDNN_LIB="$lib" && export LD_LIBRARY_PATH="$(dirname "$lib"):$LD_LIBRARY_PATH"
fi
echo "cudnn: ${TSR_CUDNN_LIB:-none}"
mkdir -p "$out/obj"
cat > "$out/obj/tsr_config.h" <<EOC
#define TSR_VERSION "bench"
EOC
for f in engine/core/common.c engine/core/fp8.c engine/backend/cuda/cudnn.c; do
    gcc -std=c11 -O2 -D_GNU_SOURCE -I"$root/engine" -I"$out/obj" -c "$root/$f" -o "$out/obj/$(basename "$f" .c).o"
done
nvcc -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -I"$root/engine" -I"$root/kernels" -I"$out/obj" \
    "$root/tests/bench/conv_bench.cu" "$root/kernels/conv_fp8.cu" "$out"/obj/*.o -ldl -o "$out/conv_bench"
"$out/conv_bench" "${1:-10}"
