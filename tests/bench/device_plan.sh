#!/bin/bash
# The planner's plans on the GPU (run through the device tool from the repository root, $OUT set):
#   bash tests/bench/device_plan.sh probe   build, GPU op/tiled/OOM test, PSNR and drift at 1080p, a 1080p
#                                           planned decode at 16 GiB, tune twice (the steps RESULTS.md reports)
# Longer runs: build-gpu/tests/bench/bench_plan caps LT LH LW CAP_GIB... (e.g. 6 135 240 16 12 8 for 1080p 21 f).
# Logs and JSON go to $OUT; a short table is printed last.
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
export PATH=/opt/torch/.venv/bin:$PATH
b=build-gpu
store=disabled
if [ -f .sqlite/usr/include/sqlite3.h ]; then # libsqlite3 unpacked from the Debian packages (the GPU machine has none)
  pc=.sqlite/usr/lib/x86_64-linux-gnu/pkgconfig
  sed -i "s|^prefix=.*|prefix=$PWD/.sqlite/usr|" $pc/sqlite3.pc
  export PKG_CONFIG_PATH=$PWD/$pc LD_LIBRARY_PATH=$PWD/.sqlite/usr/lib/x86_64-linux-gnu
  store=enabled
fi
t0=$(date +%s)
meson setup $b -Dsm_archs=90 -Dgui=disabled -Dmedia=disabled -Dstore=$store -Dgolden_tests=false >"$OUT/setup.log" 2>&1 ||
  { tail -20 "$OUT/setup.log"; exit 1; }
ninja -C $b >"$OUT/build.log" 2>&1 || { grep -E "error" "$OUT/build.log" | head -20; exit 1; }
echo "build: $(( $(date +%s) - t0 )) s"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
bp=$b/tests/bench/bench_plan
case "${1:-probe}" in
probe)
  timeout 40 $b/tests/gpu/test_cuda_tiled >"$OUT/test_cuda_tiled.log" 2>&1
  echo "test_cuda_tiled rc=$?"; grep -E "CUDA|checks|CHECK|REQUIRE" "$OUT/test_cuda_tiled.log" | head -16
  timeout 50 $bp psnr 2 135 240 1024 "$OUT" >"$OUT/psnr.json" 2>"$OUT/psnr.err"; echo "psnr rc=$?"
  timeout 75 $bp caps 2 135 240 16 >"$OUT/caps_5f.json" 2>"$OUT/caps_5f.err"; echo "caps 5f rc=$?"
  for i in 1 2; do
    timeout 30 $b/app/cli/tessera-cli tune --latent-shape 16x6x135x240 --budget 40G --store "$OUT/tune.db" \
      --probe-frames 1 >"$OUT/tune$i.txt" 2>&1; echo "tune $i rc=$?"; head -1 "$OUT/tune$i.txt"
  done
  rm -f "$OUT"/tune.db*
  ;;
esac
echo "== results"
cat "$OUT"/*.json 2>/dev/null
tail -3 "$OUT"/*.err 2>/dev/null
