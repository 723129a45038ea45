#!/bin/bash
# Every model family at every scale, at the paper's batch sizes: pflow's CUDA backend against
# PyTorch (CUDA, eager) on the same architecture and batch in the same run, training and
# inference samples/s, FLOPs per step and the fraction of the GPU's measured peak;
# then the GPU simulator against the CPU one. One go; needs a GPU, PyTorch with CUDA and a
# pflow built with CUDA.
#   scripts/bench-gpu.sh [OUTDIR] [SCALES]      (SCALES default "1 2 3 4 5")
# Environment: PFLOW (the binary, default build/app/pflow), PFLOW_PYTHON (PyTorch's python),
# LOSS (default mix), STEPS (default 10), PRECISION (fp32, tf32 or bf16 for both peers; default
# fp32), ONLY_SCALED=1
# (skip the earlier family and the simulator); PF_CUDA_UNFUSED_ATTENTION=1 runs pflow's row
# attention as separate bmm and softmax ops (docs/cuda-backend.md), to compare with the fused.
set -u
cd "$(dirname "$0")/.."
O=${1:-bench-gpu-out}
SCALES=${2:-1 2 3 4 5}
PFLOW=${PFLOW:-build/app/pflow}
PY=${PFLOW_PYTHON:-python3}
export PFLOW_SOURCE_DIR=${PFLOW_SOURCE_DIR:-$PWD} PFLOW_PYTHON=$PY
mkdir -p "$O"
: > "$O/train.jsonl"
$PY tests/ref/gpu_peak.py > "$O/peak.json" || echo '{}' > "$O/peak.json"
run () {
  local line
  line=$(timeout 300 "$PFLOW" bench train --backend cuda --model "$1" --scale "$2" --loss "${LOSS:-mix}" \
         --steps "${STEPS:-10}" --precision "${PRECISION:-fp32}" --json 2> "$O/err-$1-$2.txt" | tail -1)
  if [ "${line:0:1}" = "{" ]; then echo "$line" >> "$O/train.jsonl"
  else echo "{\"model\": \"$1\", \"scale\": $2, \"error\": \"$(tail -1 "$O/err-$1-$2.txt" | tr -d '"\\')\"}" >> "$O/train.jsonl"; fi
}
for s in $SCALES; do
  for m in cnn se rowatt 3d se3d; do run $m $s; done
done
if [ "${ONLY_SCALED:-0}" != 1 ]; then
  for m in mlp cnn-se cnn3d cnn-sa unet unet-sa lstm; do run $m 0; done
  timeout 300 "$PFLOW" bench sim --backend cuda > "$O/sim.txt" 2>&1
fi
$PY scripts/bench-table.py "$O" | tee "$O/table.md"
