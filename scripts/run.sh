#!/usr/bin/env bash
# Installs what pflow needs (Debian 12), builds it, and runs the main job: the workbench when a
# display is available and the workbench is built, a headless demo otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD=${PFLOW_BUILD_DIR:-build}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD"
ninja -C "$BUILD"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$BUILD/app/gui/pflow-workbench" ]; then
  exec "$BUILD/app/gui/pflow-workbench"
fi

echo "== pflow headless demo (no display or no workbench build) =="
mkdir -p out
PFLOW="$BUILD/app/pflow"
echo "-- simulate the two published datasets (B = 0.00 and 0.50, 10,000 events each)"
"$PFLOW" simulate --preset paper -o out
echo "-- what the B = 0.50 set holds"
"$PFLOW" info out/Gauss_S1.00_NL0.30_B0.50.h5
echo "-- simulator speed against the numpy reference"
"$PFLOW" bench sim --events 2000 --repeat 3
echo "-- training speed of the scale-1 CNN against PyTorch"
"$PFLOW" bench train --model cnn --scale 1 --batch 200 --steps 5
echo "-- a short training run of the scale-1 CNN (4 epochs on 1,600 events), then its evaluation against the baseline"
"$PFLOW" train --data out/Gauss_S1.00_NL0.30_B0.50.h5 --events 2000 --model cnn --scale 1 \
  --batch 50 --lr 1e-3 --epochs 4 --out out/cnn-s1 -q
"$PFLOW" eval --model out/cnn-s1/best.h5 --data out/Gauss_S1.00_NL0.30_B0.50.h5 -q
echo "Figures and report: out/cnn-s1/eval-test/"
