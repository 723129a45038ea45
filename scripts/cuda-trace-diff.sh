#!/bin/bash
# Runs the same GPU workloads against two pflow builds with the call-tracing CUDA mock
# (tests/tools/cuda-mock, no GPU needed) and diffs the traces of the CUDA runtime, cuDNN and
# cuBLAS calls: did a host-side change alter which library calls the backend makes, or their
# arguments? It checks calls and arguments, not numbers (tests/tools/cuda-mock/README.md).
#
#   scripts/cuda-trace-diff.sh OLD_BUILD NEW_BUILD OUTDIR
#
# Both builds: meson setup BUILD -Dgui=disabled -Dnative=false -Dcuda=enabled; ninja -C BUILD
# app/pflow. Their source trees are read from BUILD/meson-info (the kernels' PTX gives the
# sizes of struct arguments). OUTDIR gets:
#   old/NAME.trace new/NAME.trace     the raw traces (and NAME.log, the program's output)
#   diff/NAME.diff                    diff of the normalised traces (empty: same calls)
#   new-only/NAME.trace               new-build-only runs (NEW_ONLY below, e.g. --precision)
#   noise/NAME.diff                   the new build run twice (mock noise; should be empty)
#   flags.txt                         every "!" the mock raised (bounds, capture, types ...)
#   checks.txt                        trace-check.py: element-wise kernels' counts vs buffers
#   summary.txt                       one line per workload
# Environment: MODELS (default: every model), LOSSES (default "mse wmse ssim mix"),
# NEW_ONLY (extra "name|args" runs of the new build alone; default: bf16 and tf32 on cnn, 3d,
# rowatt and lstm, and a bf16 training), NOISE=0 to skip the noise runs (the new build twice).
# Besides the pairs with the same arguments, old --tf32 is paired with new --precision tf32.
set -u
if [ $# -ne 3 ]; then
  sed -n '2,21p' "$0"
  exit 2
fi
OLD=$(realpath "$1")
NEW=$(realpath "$2")
OUT=$(realpath -m "$3")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MOCKDIR=$ROOT/tests/tools/cuda-mock
CUDA=${CUDA:-/usr/local/cuda}

mkdir -p "$OUT"/{old,new,diff,new-only,noise,work}
MOCK=$OUT/libcuda-mock.so

# ---- the mock ----------------------------------------------------------------------------
gcc -O2 -g -Wall -Wextra -Wno-unused-parameter -fPIC -shared -fvisibility=hidden \
    -I"$CUDA/include" -o "$MOCK" "$MOCKDIR/cuda-mock.c" -lpthread || exit 1

srcdir () {
  python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['directories']['source'])" \
    "$1/meson-info/meson-info.json"
}
OLDSRC=$(srcdir "$OLD")
NEWSRC=$(srcdir "$NEW")

# every CUDA symbol either binary imports must be the mock's, or the real library would run
nm -D --defined-only "$MOCK" | awk '{print $3}' | sort > "$OUT/work/mock-symbols"
for b in "$OLD" "$NEW"; do
  missing=$(nm -D --undefined-only "$b/app/pflow" | awk '{print $2}' | sed 's/@.*//' |
            grep -E '^(__cuda|cuda|cudnn|cublas)' | sort | comm -23 - "$OUT/work/mock-symbols")
  if [ -n "$missing" ]; then
    echo "the mock lacks symbols $b/app/pflow imports: $missing" >&2
    exit 1
  fi
  if nm "$b/app/pflow" 2>/dev/null | grep -q cudart_static; then
    echo "$b/app/pflow links libcudart statically: LD_PRELOAD cannot interpose it" >&2
    exit 1
  fi
done

# and the dynamic linker must bind them to the mock (all at once: LD_BIND_NOW)
for b in "$OLD" "$NEW"; do
  other=$(LD_BIND_NOW=1 LD_DEBUG=bindings LD_PRELOAD="$MOCK" "$b/app/pflow" models 2>&1 |
          grep "binding file $b/app/pflow " | grep -E '`(__cuda|cuda|cudnn|cublas)' |
          grep -v " to $MOCK " || true)
  if [ -n "$other" ]; then
    echo "CUDA symbols of $b/app/pflow not bound to the mock:" >&2
    echo "$other" >&2
    exit 1
  fi
done

echo "kernel parameter sizes (PTX) ..."
"$MOCKDIR/kparams.sh" "$OLDSRC" "$OUT/work/kparams-old.txt" || exit 1
"$MOCKDIR/kparams.sh" "$NEWSRC" "$OUT/work/kparams-new.txt" || exit 1

# ---- running ------------------------------------------------------------------------------
# run SIDE NAME DIR ARGS...: one pflow run under the mock, in its own folder
run () {
  local side=$1 name=$2 dir=$3
  shift 3
  local build kp
  if [ "$side" = old ]; then build=$OLD; kp=$OUT/work/kparams-old.txt
  else build=$NEW; kp=$OUT/work/kparams-new.txt; fi
  local wd=$OUT/work/$side-$name
  rm -rf "$wd"
  mkdir -p "$wd"
  (cd "$wd" && PF_MOCK_TRACE="$OUT/$dir/$name.trace" PF_MOCK_KPARAMS="$kp" LD_PRELOAD="$MOCK" \
     timeout 600 "$build/app/pflow" "$@" > "$OUT/$dir/$name.log" 2>&1)
  echo $? > "$OUT/$dir/$name.rc"
}

# the normal form the diff compares: descriptor creations dropped (the Set line names the
# descriptor and its contents), runs of descriptor destructions sorted, "# via" comments cut
normalise () {
  awk '
    function flush() { if (n) { cmd = "sort"; for (i = 1; i <= n; i++) print buf[i] | cmd; close(cmd); n = 0 } }
    { sub(/  # via .*/, "") }
    /^cudnnCreate(Tensor|Filter|Convolution)Descriptor / { next }
    /^cudnnDestroy(Tensor|Filter|Convolution)Descriptor / { buf[++n] = $0; next }
    { flush(); print }
    END { flush() }' "$1"
}

: > "$OUT/summary.txt"
compare () {
  local name=$1
  normalise "$OUT/old/$name.trace" > "$OUT/work/$name.old.n" 2>/dev/null || : > "$OUT/work/$name.old.n"
  normalise "$OUT/new/$name.trace" > "$OUT/work/$name.new.n" 2>/dev/null || : > "$OUT/work/$name.new.n"
  diff "$OUT/work/$name.old.n" "$OUT/work/$name.new.n" > "$OUT/diff/$name.diff"
  printf '%-22s rc old %s new %s  lines old %6d new %6d  diff lines %d\n' "$name" \
    "$(cat "$OUT/old/$name.rc")" "$(cat "$OUT/new/$name.rc")" \
    "$(wc -l < "$OUT/work/$name.old.n")" "$(wc -l < "$OUT/work/$name.new.n")" \
    "$(grep -c '^[<>]' "$OUT/diff/$name.diff")" | tee -a "$OUT/summary.txt"
}

# pair NAME ARGS...: the same arguments on both builds
pair () {
  local name=$1
  shift
  run old "$name" old "$@"
  run new "$name" new "$@"
  compare "$name"
}

# ---- workloads ----------------------------------------------------------------------------
MODELS=${MODELS:-cnn se rowatt 3d se3d mlp cnn-sa unet unet-sa lstm cnn3d cnn-se}
LOSSES=${LOSSES:-mse wmse ssim mix}
BENCH="bench train --backend cuda --steps 2 --warmup 1 --no-torch"

for m in $MODELS; do
  pair "bench-$m" $BENCH --model "$m" --scale 1
done
pair "bench-cnn-s3" $BENCH --model cnn --scale 3
pair "bench-3d-s3" $BENCH --model 3d --scale 3
for l in $LOSSES; do
  pair "bench-cnn-loss-$l" $BENCH --model cnn --scale 1 --loss "$l"
done

# cuDNN's heuristics instead of its trial runs (the _v7 queries)
PF_CUDA_CONV_HEURISTIC=1 pair "bench-cnn-heuristic" $BENCH --model cnn --scale 1
PF_CUDA_CONV_HEURISTIC=1 pair "bench-3d-heuristic" $BENCH --model 3d --scale 1

# a cuDNN that offers tensor-op algorithms first even under FMA math: FP32 must refuse them
PF_MOCK_OFFER_TENSOR_OP=1 pair "bench-3d-offer-tensor-op" $BENCH --model 3d --scale 1

# error paths: the 12th cudaMalloc of bench cnn is the growth of the convolution workspace (it
# fails in both builds), the 16th that of the scratch: since the headroom of _pf_cuda_grow, the
# new build asks for the headroom first and, refused, for the exact size, and goes on (the log
# says which failed)
PF_MOCK_FAIL_MALLOC=12 pair "bench-cnn-fail-malloc-12" $BENCH --model cnn --scale 1
PF_MOCK_FAIL_MALLOC=16 pair "bench-cnn-fail-malloc-16" $BENCH --model cnn --scale 1

# old --tf32 against new --precision tf32 (same meaning)
run old "bench-cnn-tf32" old $BENCH --model cnn --scale 1 --tf32
run new "bench-cnn-tf32" new $BENCH --model cnn --scale 1 --precision tf32
compare "bench-cnn-tf32"
run old "bench-rowatt-tf32" old $BENCH --model rowatt --scale 1 --tf32
run new "bench-rowatt-tf32" new $BENCH --model rowatt --scale 1 --precision tf32
compare "bench-rowatt-tf32"

# the simulator on the GPU (the file holds zeros: nothing is computed)
pair "simulate" simulate --device cuda --events 100 -q -o sim.h5

# a short training on a tiny dataset simulated on the CPU (without the mock), then eval and
# predict with each build's checkpoint
DATA=$OUT/work/tiny.h5
if [ ! -f "$DATA" ]; then
  "$NEW/app/pflow" simulate --events 300 -q -o "$DATA" > "$OUT/work/tiny.log" 2>&1 || {
    echo "cannot simulate $DATA" >&2; exit 1; }
fi
pair "train" train --device cuda -d "$DATA" -e 1 -q -o run
for side in old new; do
  ck=$OUT/work/$side-train/run/best.h5
  [ -f "$ck" ] || ck=$OUT/work/$side-train/run/last.h5
  cp "$ck" "$OUT/work/$side-ckpt.h5" 2>/dev/null || echo "no checkpoint from the $side training" >&2
done
for side in old new; do
  run $side "eval" $side eval -m "$OUT/work/$side-ckpt.h5" -d "$DATA" -q -o ev --samples 1
  run $side "predict" $side predict -m "$OUT/work/$side-ckpt.h5" -d "$DATA" -q -o pred.h5
done
compare "eval"
compare "predict"

# ---- the new build alone: precision modes ---------------------------------------------------
NEW_ONLY_DEFAULT=""
for m in cnn 3d rowatt lstm; do
  for p in bf16 tf32; do
    NEW_ONLY_DEFAULT+="bench-$m-$p|$BENCH --model $m --scale 1 --precision $p"$'\n'
  done
done
NEW_ONLY_DEFAULT+="train-bf16|train --device cuda -d $DATA -e 1 -q -o run --precision bf16"$'\n'
NEW_ONLY=${NEW_ONLY:-$NEW_ONLY_DEFAULT}
while IFS='|' read -r name args; do
  [ -n "$name" ] || continue
  # shellcheck disable=SC2086
  run new "$name" new-only $args
  printf '%-22s rc new %s  lines %d\n' "$name" "$(cat "$OUT/new-only/$name.rc")" \
    "$(wc -l < "$OUT/new-only/$name.trace")" | tee -a "$OUT/summary.txt"
done <<< "$NEW_ONLY"
# a cuDNN without bf16 algorithms: each convolution falls back to float32 and says so
PF_MOCK_NO_BF16=1 run new "bench-cnn-bf16-none" new-only $BENCH --model cnn --scale 1 --precision bf16
printf '%-22s rc new %s  lines %d  float32 fallbacks %d\n' bench-cnn-bf16-none \
  "$(cat "$OUT/new-only/bench-cnn-bf16-none.rc")" "$(wc -l < "$OUT/new-only/bench-cnn-bf16-none.trace")" \
  "$(grep -c 'runs in float32' "$OUT/new-only/bench-cnn-bf16-none.log")" | tee -a "$OUT/summary.txt"

# ---- noise: the new build twice ------------------------------------------------------------------
if [ "${NOISE:-1}" != 0 ]; then
  # cheap, representative ones
  for name in bench-cnn bench-lstm bench-unet-sa simulate; do
    case $name in
      simulate) run new "$name" noise simulate --device cuda --events 100 -q -o sim.h5 ;;
      *) run new "$name" noise $BENCH --model "${name#bench-}" --scale 1 ;;
    esac
    diff <(normalise "$OUT/new/$name.trace") <(normalise "$OUT/noise/$name.trace") > "$OUT/noise/$name.diff"
    printf 'noise %-16s diff lines %d\n' "$name" "$(grep -c '^[<>]' "$OUT/noise/$name.diff")" |
      tee -a "$OUT/summary.txt"
  done
fi

# ---- the mock's flags ---------------------------------------------------------------------------
# (a flag is "!" and capitals; the traces have no other "!")
grep -H -o '![A-Z][A-Z0-9_-]*' "$OUT"/old/*.trace "$OUT"/new/*.trace "$OUT"/new-only/*.trace \
  2>/dev/null | sort | uniq -c > "$OUT/flags.txt"
echo "flags raised: $(wc -l < "$OUT/flags.txt") kinds (flags.txt)" | tee -a "$OUT/summary.txt"
# element counts of the element-wise kernels (the bf16 conversions among them) against the
# buffers they point into
python3 "$MOCKDIR/trace-check.py" "$OUT"/old/*.trace "$OUT"/new/*.trace "$OUT"/new-only/*.trace \
  > "$OUT/checks.txt"
echo "kernel extent checks: $(grep -c ':[0-9]*: ' "$OUT/checks.txt") problems (checks.txt)" |
  tee -a "$OUT/summary.txt"
