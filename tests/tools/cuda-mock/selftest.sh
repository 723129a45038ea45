#!/bin/sh
# selftest.sh — builds the mock and selftest.c in a temporary folder and checks that every
# flag selftest.c provokes is in its trace.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cuda=${CUDA:-/usr/local/cuda}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -Wall -fPIC -shared -fvisibility=hidden -I"$cuda/include" -o "$tmp/libcuda-mock.so" \
    "$here/cuda-mock.c" -lpthread
gcc -O0 -I"$cuda/include" -o "$tmp/selftest" "$here/selftest.c" -L"$tmp" -lcuda-mock \
    -Wl,-rpath,"$tmp"
PF_MOCK_TRACE="$tmp/trace" "$tmp/selftest"
fail=0
for flag in '!OOB(dst' '!UNSAFE-IN-CAPTURE' '!PAGEABLE-IN-CAPTURE' '!OOB(C' \
            '!INVALID-TYPE-COMBINATION' '!FMA-MATH-ON-bf16' '!OVERLAP(y,x)' '!GRAPH-USES-FREED'; do
  if grep -qF -- "$flag" "$tmp/trace"; then
    echo "ok    $flag"
  else
    echo "MISS  $flag"
    fail=1
  fi
done
[ $fail = 0 ] || { echo "--- trace"; cat "$tmp/trace"; }
exit $fail
