#!/bin/sh
# tessera-cli quantize on a small synthetic model: FP8 weights + scales, about half the size, loadable.
set -e
cli=${TSR_CLI:?}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
"$cli" make-model -o "$d/m.safetensors" --config small --dtype f16 >/dev/null
"$cli" quantize "$d/m.safetensors" -o "$d/q.safetensors"
"$cli" info "$d/q.safetensors" > "$d/info.txt"
grep -q "F8_E4M3" "$d/info.txt"
a=$(wc -c < "$d/m.safetensors"); b=$(wc -c < "$d/q.safetensors")
[ "$b" -lt $((a * 6 / 10)) ] || { echo "quantised file $b bytes, f16 $a"; exit 1; }
