#!/usr/bin/env bash
# Bootstrap, build and run Tessera's default job (README: the "run" command).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash installer/linux/bootstrap.sh
if [ -d build ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
meson compile -C build >/dev/null
exec ./build/app/cli/tessera-cli demo "$@"
