#!/usr/bin/env bash
# Compares the device code of two revisions without a GPU: every kernels/*.cu of REV and of the
# working tree is compiled to PTX (sm_90, as the build does), and each kernel's instructions
# are compared with register numbers and labels taken out. A refactor of device code that should
# change nothing must print "identical" for every kernel it touched; "reordered" means the same
# instructions in another order (read the diff); "DIFFERS" needs a look or a GPU run.
# Usage: scripts/ptx-diff.sh [REV]   (default HEAD; the working tree is the other side)
set -euo pipefail
cd "$(dirname "$0")/.."
REV=${1:-HEAD}
NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/old" "$REV" >/dev/null 2>&1
ptx () {  # ROOT OUTDIR
  mkdir -p "$2"
  for f in "$1"/kernels/*.cu; do
    "$NVCC" -O3 -std=c++17 -arch=sm_90 -I"$1"/core/ops -I"$1"/core/util -I"$1"/core/nn \
      -I"$1"/core/sim -I"$1"/kernels $(pkg-config --cflags glib-2.0) -diag-suppress=1217 \
      -ptx "$f" -o "$2/$(basename "$f" .cu).ptx"
  done
}
ptx "$work/old" "$work/ptx-old" &
ptx "$PWD" "$work/ptx-new" &
wait
/usr/bin/python3 scripts/ptx-diff.py "$work/ptx-old" "$work/ptx-new"
