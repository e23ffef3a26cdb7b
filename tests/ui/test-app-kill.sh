#!/bin/sh
# The real app under Xvfb: a clip given on the command line is queued and started (--start), the app is
# killed (SIGKILL) mid-job, then restarted: the job shows as interrupted, no half-written output remains,
# and the final output does not exist. Screenshots of the real X screen go to $TSR_ARTEFACTS.
# Runs inside xvfb-run-test.sh (DISPLAY set, temporary XDG dirs). Usage: test-app-kill.sh TESSERA_BINARY
set -u
app=$1
clip="${TSR_CLIPS:-}/Eyes_212x120.mp4"
[ -f "$clip" ] || { echo "skipped: no clip"; exit 77; }
work="$TSR_TEST_TMP/kill"
mkdir -p "$work" "${TSR_ARTEFACTS:=$work}"
cp "$clip" "$work/clip.mp4"
query() { # the one job's state column
  if command -v sqlite3 >/dev/null; then sqlite3 "$1" "SELECT state FROM queue"
  else python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT state FROM queue").fetchone()[0])' "$1"; fi
}
command -v sqlite3 >/dev/null || command -v python3 >/dev/null || { echo "skipped: no sqlite3 or python3"; exit 77; }
shot() { command -v import >/dev/null && import -window root "$TSR_ARTEFACTS/$1" 2>/dev/null || true; }
export TESSERA_TEST_JOB=copy TESSERA_TEST_JOB_DELAY_MS=400
"$app" --start "$work/clip.mp4" &
pid=$!
sleep 3
shot app-1-running.png
[ -f "$work/clip_tessera.mp4.part" ] || { echo "FAIL: no partial output while running"; kill -9 $pid; exit 1; }
kill -9 $pid
wait $pid 2>/dev/null
db="$XDG_DATA_HOME/tessera/tessera.db"
state=$(query "$db")
[ "$state" = 1 ] || { echo "FAIL: state after kill is $state, want 1 (running)"; exit 1; }

"$app" &
pid=$!
sleep 3
shot app-2-restarted-interrupted.png
kill -TERM $pid
wait $pid 2>/dev/null
state=$(query "$db")
[ "$state" = 6 ] || { echo "FAIL: state after restart is $state, want 6 (interrupted)"; exit 1; }
[ ! -e "$work/clip_tessera.mp4.part" ] || { echo "FAIL: partial output left behind"; exit 1; }
[ ! -e "$work/clip_tessera.mp4" ] || { echo "FAIL: output exists for an interrupted job"; exit 1; }
echo "ok: interrupted job recovered, no half-written output"
