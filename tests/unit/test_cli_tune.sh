#!/bin/sh
# tessera-cli tune on the CPU backend: the first run times the candidate plans on a probe and stores the
# winner; the second run with the same key starts from the store without timing; --retune times again.
set -u
cli="$1"
db="${TMPDIR:-/tmp}/tsr-tune-$$.db"
rm -f "$db" "$db-wal" "$db-shm"
args="--backend cpu --model builtin:small --latent-shape 16x3x6x10 --budget 3M --store $db"
first=$("$cli" tune $args) || { echo "first tune failed"; exit 1; }
second=$("$cli" tune $args) || { echo "second tune failed"; exit 1; }
third=$("$cli" tune $args --retune) || { echo "retune failed"; exit 1; }
rm -f "$db" "$db-wal" "$db-shm"
echo "$first" | head -1
echo "$second" | head -1
echo "$third" | head -1
echo "$first" | head -1 | grep -q '^tuned in' || { echo "first run did not tune"; exit 1; }
echo "$second" | head -1 | grep -q '^tuned plan from the store' || { echo "second run did not use the store"; exit 1; }
echo "$third" | head -1 | grep -q '^tuned in' || { echo "--retune did not tune"; exit 1; }
[ "$(echo "$first" | tail -n +2)" = "$(echo "$second" | tail -n +2)" ] || { echo "stored plan differs"; exit 1; }
exit 0
