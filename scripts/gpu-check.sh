#!/bin/bash
# One call on a GPU machine: CUDA tests, a sanitizer pass and the scale-1 benchmark.
# Logs go to $OUT (the device tool) or ./gpu-out.
O=${OUT:-gpu-out}; mkdir -p "$O"
nvidia-smi -L; nvcc --version | tail -1
source "$(dirname "$0")/gpu-run.sh"
export PFLOW_SOURCE_DIR=$PWD PFLOW_PYTHON=$(command -v python3)
ldd /tmp/pf/bin/test-cuda | grep -E 'not found|libcu' 
for t in test-cuda test-cuda-graph test-cuda-sim; do
  [ -x /tmp/pf/bin/$t ] && timeout 180 /tmp/pf/bin/$t --tap 2>&1 | tee "$O/$t.log" | grep -E '^(not ok|ok|# )' | head -60
done
timeout 200 compute-sanitizer --tool memcheck /tmp/pf/bin/test-cuda > "$O/sanitizer.log" 2>&1; tail -5 "$O/sanitizer.log"
timeout 120 pflow bench train --backend cuda --model cnn --scale 1 --loss wmse --steps 20 2>&1 | tee "$O/bench.log" | tail -15
