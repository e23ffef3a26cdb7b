#!/usr/bin/env bash
# suite 'cli': the options decode and encode share (app/cli/cli_tensor_cmd.c) on their safetensors paths:
# both option forms reach the run, usage errors exit 2 with the command's message, failures leave no output.
set -u
cli=${TSR_CLI:?TSR_CLI not set}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }
usage_err() { # what expected-text args...
  local what=$1 want=$2; shift 2
  "$cli" "$@" >/dev/null 2>"$dir/err"; local rc=$?
  check "$what: exit 2 and '$want'" "[ $rc -eq 2 ] && grep -q -- \"$want\" \"$dir/err\""
}

"$cli" demo --small --threads 2 -o "$dir" >/dev/null || { echo "FAIL demo"; exit 1; }
V=$dir/tessera-demo.safetensors
# --name=value and --name value, flags from the shared set (-q, --raw), command-specific options beside them
"$cli" encode --model=builtin:small --video="$V" --output "$dir/lat.safetensors" -q --backend=cpu --threads 2 \
  --chunk=4 --raw --seed 3 >"$dir/enc.txt" 2>&1
check "encode, mixed option forms" "grep -q 'latent 16x2x8x12' '$dir/enc.txt'"
check "encode --raw writes unscaled" "grep -a -q '\"tessera.latent_scale\":\"unscaled\"' '$dir/lat.safetensors'"
"$cli" decode --latent "$dir/lat.safetensors" --model builtin:small -o="$dir/vid.safetensors" --quiet --tile 32 \
  --tile-from=2 --chunk 1 --backend cpu >"$dir/dec.txt" 2>&1
check "decode, mixed option forms" "grep -q 'video 3x5x64x96' '$dir/dec.txt'"
# deep tiles: the head cached (default) or run again per tile and pass give the same file
"$cli" decode --latent "$dir/lat.safetensors" --model builtin:small -o "$dir/deep1.safetensors" -q --deep-tile 32 \
  --deep-passes 2 --backend cpu --threads 2 >/dev/null 2>&1
"$cli" decode --latent "$dir/lat.safetensors" --model builtin:small -o "$dir/deep2.safetensors" -q --deep-tile 32 \
  --deep-passes 2 --no-head-cache --backend cpu --threads 2 >/dev/null 2>&1
check "decode --deep-tile: head cache == --no-head-cache" "[ -s '$dir/deep1.safetensors' ] && cmp -s '$dir/deep1.safetensors' '$dir/deep2.safetensors'"

usage_err "decode without --model" "--model, --latent and -o are required" decode --latent "$dir/lat.safetensors" -o "$dir/x.safetensors"
usage_err "encode without -o" "--model, --video and -o are required" encode --model builtin:small --video "$V"
usage_err "decode unknown option" "unknown option '--frobnicate'" decode --model builtin:small --latent "$dir/lat.safetensors" -o "$dir/x.safetensors" --frobnicate
usage_err "encode unknown option" "unknown option '--tile-from'" encode --model builtin:small --video "$V" -o "$dir/x.safetensors" --tile-from 2
usage_err "decode --tile-from -2" "must not be negative" decode --model builtin:small --latent "$dir/lat.safetensors" -o "$dir/x.safetensors" --tile-from -2
usage_err "encode --tile -1" "--tile must not be negative" encode --model builtin:small --video "$V" -o "$dir/x.safetensors" --tile -1
usage_err "decode --chunk -1" "--chunk must be 0" decode --model builtin:small --latent "$dir/lat.safetensors" -o "$dir/x.safetensors" --chunk=-1
"$cli" decode --model builtin:small --latent "$dir/lat.safetensors" -o "$dir/x.safetensors" --threads 2>"$dir/err"
check "missing value: exit 2" "[ $? -eq 2 ] && grep -q 'option --threads needs a value' '$dir/err'"
"$cli" encode --model builtin:small --video "$V" -o "$dir/x.safetensors" --chunk four 2>"$dir/err"
check "non-integer value: exit 2" "[ $? -eq 2 ] && grep -q 'needs an integer' '$dir/err'"
"$cli" decode --model builtin:small --latent "$dir/lat.safetensors" -o "$dir/x.safetensors" --backend gpu9 2>"$dir/err"
check "unknown backend: exit 1" "[ $? -eq 1 ] && grep -q \"unknown backend 'gpu9'\" '$dir/err'"
"$cli" decode --help >"$dir/help.txt"; check "decode --help" "[ $? -eq 0 ] && grep -q 'usage: tessera-cli decode' '$dir/help.txt'"
"$cli" encode -h >"$dir/help.txt"; check "encode -h" "[ $? -eq 0 ] && grep -q 'usage: tessera-cli encode' '$dir/help.txt'"
check "failed runs left no output" "[ ! -e '$dir/x.safetensors' ]"
echo "$fails failed"
[ $fails -eq 0 ]
