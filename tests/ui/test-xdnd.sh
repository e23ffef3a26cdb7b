#!/bin/sh
# A real XDND drag between two X clients under Xvfb: drag-source (a GtkDragSource offering a GdkFileList)
# is dragged with xdotool onto the Tessera window; the clip must become a queued job (checked in the queue
# database after the app exits). Usage (inside xvfb-run-test.sh): test-xdnd.sh TESSERA DRAG_SOURCE
set -u
app=$1 source=$2
clip="${TSR_CLIPS:-}/Eyes_212x120.mp4"
[ -f "$clip" ] || { echo "skipped: no clip"; exit 77; }
command -v xdotool >/dev/null || { echo "skipped: no xdotool"; exit 77; }
: "${TSR_ARTEFACTS:=$TSR_TEST_TMP}"
mkdir -p "$TSR_ARTEFACTS"
"$app" & app_pid=$!
"$source" "$clip" & src_pid=$!
trap 'kill $app_pid $src_pid 2>/dev/null' EXIT
wid_src= wid_app=
for i in $(seq 50); do
  wid_src=$(xdotool search --onlyvisible --name '^Tessera drag source$' 2>/dev/null | head -1)
  wid_app=$(xdotool search --onlyvisible --name '^Tessera$' 2>/dev/null | head -1)
  [ -n "$wid_src" ] && [ -n "$wid_app" ] && break
  sleep 0.2
done
[ -n "$wid_src" ] && [ -n "$wid_app" ] || { echo "FAIL: windows did not appear"; exit 1; }
xdotool windowmove "$wid_app" 330 0
xdotool windowmove "$wid_src" 0 0
sleep 1
xdotool mousemove 150 100 mousedown 1
for x in 160 180 220 300 400 500 600 700; do xdotool mousemove "$x" 200; sleep 0.15; done
sleep 0.5
xdotool mouseup 1
sleep 1.5
command -v import >/dev/null && import -window root "$TSR_ARTEFACTS/xdnd-after-drop.png" 2>/dev/null
kill -TERM $app_pid; wait $app_pid 2>/dev/null
db="$XDG_DATA_HOME/tessera/tessera.db"
if command -v sqlite3 >/dev/null; then n=$(sqlite3 "$db" "SELECT count(*) FROM queue WHERE input LIKE '%/Eyes_212x120.mp4'")
else n=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM queue WHERE input LIKE ?", ("%/" + sys.argv[2].split("/")[-1],)).fetchone()[0])' "$db" "$clip"); fi
[ "$n" = 1 ] || { echo "FAIL: the dragged clip is not in the queue ($n rows)"; exit 1; }
echo "ok: XDND drop created the job"
