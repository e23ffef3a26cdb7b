#!/usr/bin/env bash
# Bootstrap, build and run Tessera (README: the "run" command). With a display and the GTK app built, the
# app starts; otherwise (no display, or a build without GTK) the CLI runs its default demo job.
# TESSERA_RUN=cli forces the CLI demo, TESSERA_RUN=gui the app.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash installer/linux/bootstrap.sh
if [ -d build ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
meson compile -C build >/dev/null
mode=${TESSERA_RUN:-auto}
if [ "$mode" = auto ]; then
  mode=cli
  if [ -x build/ui/tessera ] && { [ -n "${WAYLAND_DISPLAY:-}" ] || [ -n "${DISPLAY:-}" ]; }; then mode=gui; fi
fi
if [ "$mode" = gui ]; then
  exec ./build/ui/tessera "$@"
fi
[ -x build/ui/tessera ] && echo "(no display: running the CLI demo; the GTK app is build/ui/tessera)" >&2
exec ./build/app/cli/tessera-cli demo "$@"
