#!/usr/bin/env bash
# The README's two commands:
#   bash scripts/setup.sh run   install dependencies, build, start the control room (demo cluster)
#   bash scripts/setup.sh test  install dependencies, build, run the whole test suite
# Both are idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in
  run|test) shift ;;
  *) echo "usage: bash scripts/setup.sh run|test [args for meridian]" >&2; exit 2 ;;
esac

bash scripts/install-deps.sh
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
if [ ! -f build/CMakeCache.txt ]; then
  cmake --preset default
fi
cmake --build --preset default

if [ "$mode" = run ]; then
  # The README's run command always opens the demo cluster, even where a cluster profile was
  # saved; pass arguments (e.g. --endpoint URL) to do something else.
  [ $# -eq 0 ] && set -- --demo
  if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
    echo "setup: no display found; starting the control room under xvfb-run" \
         "(use 'build/bin/meridian --screenshot FILE' to see it)" >&2
    exec xvfb-run -a -s "-screen 0 1600x1000x24" build/bin/meridian "$@"
  fi
  exec build/bin/meridian "$@"
fi

ctest --preset default
