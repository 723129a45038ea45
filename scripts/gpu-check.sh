#!/bin/bash
# One call on a GPU machine: the CUDA tests, then what is named in $GPU_BENCH (a list of
# "model:scale" pairs, default cnn:1) timed against PyTorch with a per-layer profile.
# Logs go to gpu-logs.tgz in $OUT (the device tool) or ./gpu-out.
D=${OUT:-gpu-out}; O=/tmp/gpu-logs; mkdir -p "$O" "$D"
nvidia-smi -L
source "$(dirname "$0")/gpu-run.sh"
export PFLOW_SOURCE_DIR=$PWD PFLOW_PYTHON=$(command -v python3)
for t in /tmp/pf/bin/test-cuda*; do
  timeout 300 $t --tap > "$O/$(basename $t).log" 2>&1
  echo "$(basename $t): rc $? $(grep -c '^ok' "$O/$(basename $t).log") ok, $(grep -c '^not ok' "$O/$(basename $t).log") not ok"
  grep -E '^not ok|Bail|ERROR|CRITICAL' "$O/$(basename $t).log" | head -5
done
for mb in ${GPU_BENCH:-cnn:1}; do
  m=${mb%:*}; s=${mb#*:}
  timeout 200 pflow bench train --backend cuda --model $m --scale $s --loss ${GPU_LOSS:-wmse} --steps 20 ${GPU_BENCH_ARGS:-} 2>&1 | tee -a "$O/bench.log" | grep -v "^  *[a-z0-9_.]* *[a-z_0-9]* *cuda" | tail -6
done
tar -C "$O" -czf "$D/gpu-logs.tgz" .
