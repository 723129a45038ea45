#!/bin/bash
# One call on a GPU machine: the CUDA tests; the command line end to end on the GPU (simulate,
# train in fp32 and bf16 and on the CPU for comparison, evaluate on both devices, predict, a
# two-run ablation); then what is named in
# $GPU_BENCH (a list of "model:scale" pairs, default cnn:1) timed against PyTorch with a
# per-layer profile. Logs go to gpu-logs.tgz in $OUT (the device tool) or ./gpu-out.
# GPU_E2E=0 skips the end-to-end runs, GPU_F64=0 the float64 gradient comparison.
D=${OUT:-gpu-out}; O=/tmp/gpu-logs; mkdir -p "$O" "$D"
nvidia-smi -L
source "$(dirname "$0")/gpu-run.sh"
export PFLOW_SOURCE_DIR=$PWD PFLOW_PYTHON=$(command -v python3)
pflow devices 2>&1 | tee "$O/devices.txt"
for t in /tmp/pf/bin/test-cuda*; do
  timeout 300 $t --tap > "$O/$(basename $t).log" 2>&1
  echo "$(basename $t): rc $? $(grep -c '^ok' "$O/$(basename $t).log") ok, $(grep -c '^not ok' "$O/$(basename $t).log") not ok"
  grep -E '^not ok|Bail|ERROR|CRITICAL' "$O/$(basename $t).log" | head -5
done
# the GPU's gradients at scale 4 against PyTorch in float64 (docs/cuda-backend.md, "Unverified")
if [ "${GPU_F64:-1}" != 0 ]; then
  for be in cuda cuda-bf16; do
    timeout 200 grad-spread cnn 4 $be /tmp/grad-$be.pfref > "$O/grad-spread-$be.log" 2>&1 &&
      timeout 200 python3 tests/ref/grad_f64.py cnn 4 /tmp/grad-$be.pfref --device cuda >> "$O/grad-spread-$be.log" 2>&1
    echo "grad-spread cnn 4 $be: rc $?"; tail -3 "$O/grad-spread-$be.log"
  done
fi
if [ "${GPU_E2E:-1}" != 0 ]; then
  E=/tmp/e2e; rm -rf $E; mkdir -p $E
  step () { local name=$1; shift; timeout 240 "$@" > "$O/e2e-$name.log" 2>&1; echo "e2e $name: rc $?"; tail -2 "$O/e2e-$name.log"; }
  step simulate pflow simulate --device cuda --events 3000 -q -o $E/d.h5
  for dev in cuda:fp32 cuda:bf16 cpu:fp32; do
    step "train-${dev/:/-}" pflow train --data $E/d.h5 --device ${dev%:*} --precision ${dev#*:} \
      --epochs 3 --patience 0 -q --out $E/run-${dev/:/-}
  done
  # the same checkpoint evaluated on both devices: the reports' WMSE should agree to ~1e-5
  step eval pflow eval -m $E/run-cuda-fp32/best.h5 -d $E/d.h5 --device cuda -o $E/eval
  step eval-cpu pflow eval -m $E/run-cuda-fp32/best.h5 -d $E/d.h5 --device cpu -o $E/eval-cpu
  step predict pflow predict -m $E/run-cuda-fp32/best.h5 -d $E/d.h5 --device cuda -o $E/pred.h5
  # the earlier family on the GPU: SAGAN's gain and residual (cnn-sa), then its checkpoint back
  step train-cnn-sa pflow train --data $E/d.h5 --device cuda --model cnn-sa --epochs 1 -q \
    --out $E/run-cnn-sa
  step eval-cnn-sa pflow eval -m $E/run-cnn-sa/best.h5 -d $E/d.h5 --device cuda -o $E/eval-cnn-sa
  step ablate pflow ablate -d $E/d.h5 --device cuda --variants cnn,3d --scales 1 --epochs 1 -q \
    -o $E/ablate
  for f in $E/run-*/log.csv; do cp "$f" "$O/$(basename "$(dirname "$f")").csv"; done
  cp $E/eval/report.json "$O/e2e-report.json" 2>/dev/null
  cp $E/eval-cpu/report.json "$O/e2e-report-cpu.json" 2>/dev/null
  cp $E/ablate/ablation.md "$O/e2e-ablation.md" 2>/dev/null
fi
for mb in ${GPU_BENCH:-cnn:1}; do
  m=${mb%:*}; s=${mb#*:}
  timeout 200 pflow bench train --backend cuda --model $m --scale $s --loss ${GPU_LOSS:-wmse} --steps 20 ${GPU_BENCH_ARGS:-} 2>&1 | tee -a "$O/bench.log" | grep -v "^  *[a-z0-9_.]* *[a-z_0-9]* *cuda" | tail -6
done
tar -C "$O" -czf "$D/gpu-logs.tgz" .
