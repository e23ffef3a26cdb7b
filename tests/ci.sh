#!/usr/bin/env bash
# The whole test run (README: the "test" command; .ci/run calls it):
# bootstrap, then a warnings-as-errors build with every test, then a sanitizer build (ASan + UBSan)
# running the unit tests again. Prints one closing line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash installer/linux/bootstrap.sh || exit 1

pass=0 fail=0 skip=0
count() { # parse meson's summary from a testlog
  local log=$1
  local p f s t
  p=$(grep -E '^Ok:' "$log" | awk '{print $2}'); f=$(grep -E '^Fail:' "$log" | awk '{print $2}')
  s=$(grep -E '^Skipped:' "$log" | awk '{print $2}'); t=$(grep -E '^Timeout:' "$log" | awk '{print $2}')
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0} + ${t:-0})); skip=$((skip + ${s:-0}))
}

setup() { # dir, options...
  local dir=$1; shift
  if [ -d "$dir" ]; then meson setup --reconfigure "$dir" "$@" >/dev/null; else meson setup "$dir" "$@" >/dev/null; fi
}

status=0
echo "== build (warnings are errors)"
setup build-ci --werror -Dbuildtype=debugoptimized || exit 1
meson compile -C build-ci || exit 1
meson test -C build-ci --print-errorlogs --num-processes 2 | tee /tmp/tessera-test.log || status=1
count /tmp/tessera-test.log

echo "== sanitizers (ASan + UBSan), unit suites"
setup build-asan --werror -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug -Dgolden_tests=false \
  -Dgui=disabled || exit 1
meson compile -C build-asan || exit 1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --num-processes 2 --no-suite gpu --no-suite golden | tee /tmp/tessera-asan.log || status=1
count /tmp/tessera-asan.log

echo "== fuzz (libFuzzer + ASan/UBSan, ${TSR_FUZZ_SECONDS:-20} s per loader target; tests/fuzz/README.md)"
if command -v clang >/dev/null 2>&1; then
  CC=clang setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized \
    -Dc_args=-fsanitize=fuzzer-no-link -Dgui=disabled -Dmedia=disabled -Dstore=disabled -Dcuda=disabled \
    -Dgolden_tests=false || exit 1
  ninja -C build-fuzz tests/fuzz/fuzz_safetensors tests/fuzz/fuzz_gguf tests/unit/test_malformed >/dev/null || exit 1
  seeds=$(mktemp -d)
  (cd "$seeds" && mkdir all safetensors gguf && "$root/build-fuzz/tests/unit/test_malformed" all >/dev/null 2>&1)
  for t in safetensors gguf; do
    cp "$seeds"/all/*."$t" "$seeds/$t/"
    if "build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="${TSR_FUZZ_SECONDS:-20}" -max_len=8192 "$seeds/$t" \
         > "/tmp/tessera-fuzz-$t.log" 2>&1; then
      echo "fuzz_$t: $(grep -E '^Done [0-9]+ runs' "/tmp/tessera-fuzz-$t.log")"; pass=$((pass + 1))
    else
      tail -30 "/tmp/tessera-fuzz-$t.log"; echo "fuzz_$t FAILED"; fail=$((fail + 1))
    fi
  done
  rm -rf "$seeds"
else
  echo "clang not found: fuzzing skipped"; skip=$((skip + 2))
fi

echo "== windows (MinGW-w64 cross build, unit tests + golden decode under wine, NSIS install/uninstall)"
if command -v x86_64-w64-mingw32-gcc-posix >/dev/null && command -v wine >/dev/null && command -v makensis >/dev/null; then
  bash tests/installer/windows.sh build-win | tee /tmp/tessera-windows.log || status=1
  count /tmp/tessera-windows.log
else
  echo "windows step skipped: mingw-w64, wine or nsis missing"; skip=$((skip + 1))
fi

[ $fail -gt 0 ] && status=1
echo "${pass} passed, ${fail} failed, ${skip} skipped"
exit $status
