#!/usr/bin/env bash
# Builds pflow (if needed) and runs the whole test suite; the last line is
# "N passed, N failed, N skipped", counting every GLib test case (TAP line).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${PFLOW_BUILD_DIR:-build}

if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" || { echo "0 passed, 1 failed"; exit 1; }
fi
if ! ninja -C "$BUILD"; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
meson test -C "$BUILD" --print-errorlogs --num-processes 1 "$@"
rc=$?
/usr/bin/python3 scripts/count-tests.py "$BUILD/meson-logs/testlog.json" || rc=1
exit $rc
