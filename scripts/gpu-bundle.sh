#!/bin/sh
# Pack a -Dgui=disabled build and the non-system shared libraries it loads into
# .dev/bundle.tar.xz, for running on a GPU machine that has CUDA, cuDNN and PyTorch
# but no GLib/HDF5/oneDNN/OpenBLAS (scripts/gpu-run.sh unpacks it there).
# CUDA libraries are not packed: the GPU machine's own are used.
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-gpu}
[ -d "$B" ] || meson setup "$B" -Dgui=disabled -Dnative=false >/dev/null
ninja -C "$B" >/dev/null
rm -rf .dev/stage && mkdir -p .dev/stage/lib .dev/stage/bin
cp "$B"/app/pflow .dev/stage/bin/
[ -x "$B/tests/grad-spread" ] && cp "$B/tests/grad-spread" .dev/stage/bin/
for t in $(cd "$B/tests" && ls test-cuda* | grep -v "\.p$"); do
  [ -x "$B/tests/$t" ] && cp "$B/tests/$t" .dev/stage/bin/
done
for f in .dev/stage/bin/*; do ldd "$f"; done | awk '/=> \//{print $3}' | sort -u |
  grep -v -E '/(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|ld-linux[^/]*)\.so|/usr/local/cuda|libcu|libnv' |
  while read -r l; do cp -L "$l" .dev/stage/lib/; done
tar -C .dev/stage -cJf .dev/bundle.tar.xz bin lib
ls -l .dev/bundle.tar.xz
