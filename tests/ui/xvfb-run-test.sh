#!/bin/sh
# Runs one UI test hermetically under Xvfb: temporary XDG dirs, in-memory GSettings, no a11y bus
# (GTK_A11Y=test: like "none" it talks to no AT-SPI bus, but it keeps accessible names so tests can check them),
# warnings fatal. Usage: xvfb-run-test.sh PROGRAM [ARGS...]
set -eu
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tessera-ui-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/data" "$tmp/config" "$tmp/cache" "$tmp/runtime"
chmod 700 "$tmp/runtime"
export XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache"
export XDG_RUNTIME_DIR="$tmp/runtime" HOME="$tmp" TSR_TEST_TMP="$tmp"
export GSETTINGS_BACKEND=memory GTK_A11Y=${TSR_GTK_A11Y:-test} NO_AT_BRIDGE=1 G_DEBUG=fatal-warnings
export GDK_BACKEND=x11 GSK_RENDERER=cairo LIBGL_ALWAYS_SOFTWARE=1
unset DISPLAY WAYLAND_DISPLAY
if ! command -v xvfb-run >/dev/null 2>&1; then echo "skipped: no xvfb-run"; exit 77; fi
status=0
xvfb-run -a -s "-screen 0 1280x800x24" "$@" || status=$?
exit $status
