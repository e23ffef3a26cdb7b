#!/usr/bin/env bash
# suite 'cli': `decode --budget` starts from the plan `tune` stored for the same key (CPU backend, builtin model):
# it says "tuned plan from the store" and runs that plan; --no-tuned, another budget or a request the plan does not
# fit (another fixed chunk) plan afresh; the host budget and the budget's usage errors.
set -u
cli=${TSR_CLI:?TSR_CLI not set}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }
db=$dir/store.db
dec() { # name args...: decode lat.safetensors to $dir/<name>.safetensors, stderr in $dir/<name>.err
  local name=$1; shift
  "$cli" decode --backend cpu --model builtin:small --latent "$dir/lat.safetensors" --raw -q \
    -o "$dir/$name.safetensors" "$@" >/dev/null 2>"$dir/$name.err"
}

"$cli" demo --small --threads 2 -o "$dir" >/dev/null || { echo "FAIL demo"; exit 1; }
"$cli" encode --model builtin:small --video "$dir/tessera-demo.safetensors" -o "$dir/lat.safetensors" -q \
  --backend cpu --threads 2 --raw >/dev/null 2>&1 || { echo "FAIL encode"; exit 1; }
"$cli" tune --backend cpu --model builtin:small --latent-shape 16x2x8x12 --budget 3M --store "$db" >"$dir/tune.txt" 2>&1
check "tune stores a plan" "[ $? -eq 0 ] && grep -q '^tuned in' '$dir/tune.txt'"
cat "$dir/tune.txt"

dec tuned --budget 3M --store "$db"
check "decode --budget: exit 0" "[ $? -eq 0 ] && [ -s '$dir/tuned.safetensors' ]"
check "decode --budget says it uses the tuned plan" "grep -q '^tuned plan from the store: ' '$dir/tuned.err'"
cat "$dir/tuned.err"
# the plan that ran is the one tune chose: its tile grid (tiles AxB of ...) or its chunk
grid=$(sed -n 's/^  tiles \([0-9]*x[0-9]*\) of.*/\1/p' "$dir/tune.txt")
chunk=$(sed -n 's/^  chunk \([0-9]*\) latent.*/\1/p' "$dir/tune.txt")
check "the tuned plan's chunk ran" "grep -q '^tuned plan from the store: .*, chunk $chunk[,]' '$dir/tuned.err'"
[ -n "$grid" ] && check "the tuned plan's tiles ran" "grep -q '^tuned plan from the store: .* $grid tiles of' '$dir/tuned.err'"

dec fresh --budget 3M --store "$db" --no-tuned
check "--no-tuned plans afresh" "[ $? -eq 0 ] && grep -q '^planned: ' '$dir/fresh.err' && ! grep -q 'tuned plan' '$dir/fresh.err'"
# the same plan either way: the same frames
t=$(sed -n 's/^tuned plan from the store: //p' "$dir/tuned.err")
f=$(sed -n 's/^planned: //p' "$dir/fresh.err")
[ "$t" = "$f" ] && check "same plan, same video" "cmp -s '$dir/tuned.safetensors' '$dir/fresh.safetensors'"

dec other --budget 5M --store "$db"
check "another budget has no tuned plan" "[ $? -eq 0 ] && grep -q '^planned: ' '$dir/other.err' && ! grep -q 'tuned plan' '$dir/other.err'"
dec chunk2 --budget 3M --store "$db" --chunk 2
check "a fixed chunk the tuned plan lacks: planned afresh, with the reason" \
  "[ $? -eq 0 ] && grep -q 'does not fit; planned: .*chunk 2' '$dir/chunk2.err' && grep -q 'start plan is not used' '$dir/chunk2.err'"
dec nostore --budget 3M --store "$dir/none.db"
check "an empty store: planned" "[ $? -eq 0 ] && grep -q '^planned: ' '$dir/nostore.err'"

dec tile --budget 3M --tile 32
check "--budget with --tile: usage error" "[ $? -eq 2 ] && grep -q 'not with --tile' '$dir/tile.err'"
dec hb --budget 3M --host-budget lots
check "--host-budget garbage: usage error" "[ $? -eq 2 ] && grep -q -- '--host-budget needs a size' '$dir/hb.err'"
dec tiny --budget 3M --store "$db" --host-budget 1K
check "a host budget the tuned plan exceeds: not used" "grep -q 'start plan is not used' '$dir/tiny.err' && ! grep -q '^tuned plan' '$dir/tiny.err'"
echo "$fails failed"
[ $fails -eq 0 ]
