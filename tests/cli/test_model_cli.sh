#!/usr/bin/env bash
# make-model -> info round trip through both formats: the full SeedVR2-shaped VAE has 250 tensors and
# 250,648,227 parameters with the SeedVR2 configuration; the same content gives the same digest in both
# containers; halves, --json, models, --help and error exits behave.
set -uo pipefail
cli=${TSR_CLI:?TSR_CLI must name tessera-cli}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
fails=0
check() { # description, command...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what" >&2; fails=$((fails + 1)); fi
}
has() { grep -qE -- "$2" "$1"; }

for fmt in safetensors gguf; do
  "$cli" make-model -o "m.$fmt" --format "$fmt" >/dev/null || { echo "FAIL make-model $fmt" >&2; exit 1; }
  "$cli" info "m.$fmt" > "info.$fmt.txt" || { echo "FAIL info $fmt" >&2; exit 1; }
  t="info.$fmt.txt"
  check "$fmt: format" has "$t" "^format: +$fmt "
  check "$fmt: 250 tensors" has "$t" '^tensors: +250$'
  check "$fmt: 250,648,227 parameters" has "$t" '^parameters: +250,648,227$'
  check "$fmt: full VAE" has "$t" '^kind: +full VAE'
  check "$fmt: SeedVR2 config" has "$t" 'in 3, out 3, latent 16, blocks 128/256/512/512, resnets per block encoder 2 decoder 3'
  check "$fmt: temporal layers" has "$t" 'encoder downsamplers 1,2; decoder upsamplers 0,1$'
  check "$fmt: halves" has "$t" '^halves: +encoder, decoder$'
  check "$fmt: no problems" has "$t" '^problems: +none$'
  "$cli" info "m.$fmt" --json > "info.$fmt.json"
  check "$fmt: json counts" has "info.$fmt.json" '"tensors":250,"parameters":250648227'
  check "$fmt: json kind" has "info.$fmt.json" '"kind":"full VAE"'
done
d1=$(grep '^digest:' info.safetensors.txt | awk '{print $2}')
d2=$(grep '^digest:' info.gguf.txt | awk '{print $2}')
check "digest is 16 hex digits" test "${#d1}" -eq 16
check "same content, same digest in both formats" test "$d1" = "$d2"
rm -f m.safetensors m.gguf

"$cli" make-model -o dec.gguf --format gguf --config small --halves decoder --dtype q8_0 >/dev/null
"$cli" info dec.gguf > dec.txt
check "small q8_0 decoder: kind" has dec.txt '^kind: +decoder only'
check "small q8_0 decoder: blocks" has dec.txt 'blocks 32/32/64/64'
check "small q8_0 decoder: Q8_0 tensors" has dec.txt 'Q8_0: '
"$cli" make-model -o enc.safetensors --config small --halves encoder --dtype bf16 >/dev/null
"$cli" info enc.safetensors > enc.txt
check "small bf16 encoder: kind" has enc.txt '^kind: +encoder only'
check "small bf16 encoder: dtype" has enc.txt 'BF16: 104 tensors'

# the digest covers the data: change one byte near the end of the data section
before=$("$cli" info enc.safetensors | awk '/^digest:/ {print $2}')
size=$(wc -c < enc.safetensors)
printf '\x7f' | dd of=enc.safetensors bs=1 seek=$((size - 100)) conv=notrunc 2>/dev/null
after=$("$cli" info enc.safetensors | awk '/^digest:/ {print $2}')
check "digest changes with one data byte" test "$before" != "$after"

echo junk > broken.safetensors
"$cli" models --dir . > models.txt
check "models: decoder listed" has models.txt 'decoder only +gguf .*dec.gguf'
check "models: encoder listed" has models.txt 'encoder only +safetensors .*enc.safetensors'
check "models: broken file explained" has models.txt 'broken.safetensors  -- '
"$cli" models --dir . --json > models.json
check "models --json" has models.json '"kind":"decoder only"'

"$cli" info broken.safetensors > /dev/null 2> err.txt
rc=$?
check "info on a broken file fails" test $rc -ne 0
check "one-line reason" test "$(wc -l < err.txt)" -eq 1
"$cli" info missing.safetensors > /dev/null 2>&1
check "info on a missing file fails" test $? -ne 0
"$cli" make-model > /dev/null 2>&1
check "make-model without -o fails" test $? -ne 0
"$cli" make-model -o x.safetensors --dtype q8_0 > /dev/null 2>&1
check "q8_0 safetensors refused" test $? -ne 0
for c in info make-model models; do
  "$cli" "$c" --help > help.txt
  check "$c --help" has help.txt '^usage: tessera-cli'
done
[ $fails -eq 0 ] || { echo "$fails checks failed" >&2; exit 1; }
