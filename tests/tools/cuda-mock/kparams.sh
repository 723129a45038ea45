#!/bin/sh
# kparams.sh SRC_ROOT OUT_FILE — the parameter sizes of every kernel of SRC_ROOT/kernels/*.cu,
# one line per kernel: "mangled_name size0 size1 ...", read from the PTX nvcc makes of each file
# (the .param list of each .entry). The mock (PF_MOCK_KPARAMS) uses it to print the kernel
# arguments that are structs passed by value; the demangled name gives the other sizes.
set -eu
src=$1
out=$2
nvcc=${NVCC:-/usr/local/cuda/bin/nvcc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
glib=$(pkg-config --cflags-only-I glib-2.0)
: > "$out"
for f in "$src"/kernels/*.cu; do
  b=$(basename "$f" .cu)
  # the same include paths as kernels/meson.build; device code only
  "$nvcc" -ptx -std=c++17 -arch=compute_90 -I"$src/core/ops" -I"$src/core/util" \
    -I"$src/core/nn" -I"$src/core/sim" -I"$src/kernels" $glib -diag-suppress=1217 \
    "$f" -o "$tmp/$b.ptx"
  awk '
    /\.entry / {
      name = $0; sub(/.*\.entry /, "", name); sub(/\(.*/, "", name);
      line = name; inparams = 1; next
    }
    inparams && /\.param/ {
      s = 0
      if ($0 ~ /\.(u64|s64|b64|f64)/) s = 8
      else if ($0 ~ /\.(u32|s32|b32|f32)/) s = 4
      else if ($0 ~ /\.(u16|s16|b16|f16)/) s = 2
      else if ($0 ~ /\.(u8|s8|b8)/) s = 1
      if (match($0, /\[[0-9]+\]/)) s = s * substr($0, RSTART + 1, RLENGTH - 2)
      line = line " " s; next
    }
    inparams && /^\)/ { print line; inparams = 0 }
  ' "$tmp/$b.ptx" >> "$out"
done
