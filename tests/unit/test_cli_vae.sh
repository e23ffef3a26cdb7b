#!/usr/bin/env bash
# tessera-cli demo / encode / decode end to end on the small built-in model, and clear failures.
set -u
cli=${TSR_CLI:?TSR_CLI not set}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$cli" demo --small --threads 2 -o "$dir" >"$dir/demo.txt" || fail "demo"
grep -q "decoded latent 16x2x8x12 -> video 3x5x64x96" "$dir/demo.txt" || fail "demo output: $(cat "$dir/demo.txt")"
"$cli" encode --model builtin:small --video "$dir/tessera-demo.safetensors" -o "$dir/lat.safetensors" --quiet \
  --backend cpu >"$dir/enc.txt" || fail "encode"
grep -q "latent 16x2x8x12" "$dir/enc.txt" || fail "encode shape: $(cat "$dir/enc.txt")"
"$cli" encode --model builtin:small --video "$dir/tessera-demo.safetensors" -o "$dir/post.safetensors" --quiet \
  --posterior --chunk 8 >"$dir/post.txt" || fail "encode --posterior"
grep -q "posterior 32x2x8x12" "$dir/post.txt" || fail "posterior shape"
"$cli" decode --model builtin:small --latent "$dir/lat.safetensors" -o "$dir/video.safetensors" --quiet --chunk 2 \
  >"$dir/dec.txt" || fail "decode"
grep -q "video 3x5x64x96" "$dir/dec.txt" || fail "decode shape"

# a video is not a latent: clear error, exit 1
"$cli" decode --model builtin:small --latent "$dir/tessera-demo.safetensors" -o "$dir/x.safetensors" 2>"$dir/err.txt"
[ $? -eq 1 ] || fail "decode of a video should fail"
grep -q "3 channels, the model expects 16" "$dir/err.txt" || fail "wrong-channels message: $(cat "$dir/err.txt")"
"$cli" encode --model builtin:small --video "$dir/lat.safetensors" -o "$dir/x.safetensors" 2>"$dir/err2.txt"
[ $? -eq 1 ] || fail "encode of a latent should fail"
grep -q "expected 3 (RGB)" "$dir/err2.txt" || fail "encode wrong-channels message: $(cat "$dir/err2.txt")"
"$cli" decode --model builtin:small --latent "$dir/missing.safetensors" -o "$dir/x.safetensors" 2>/dev/null
[ $? -eq 1 ] || fail "missing file should fail"
"$cli" encode --model builtin:small --video "$dir/tessera-demo.safetensors" -o "$dir/x.safetensors" --chunk 3 2>/dev/null
[ $? -eq 2 ] || fail "--chunk 3 is a usage error"
[ ! -e "$dir/x.safetensors" ] || fail "failed runs must not leave output"
echo ok
