#!/usr/bin/env python3
"""trace-check.py TRACE... — element-count checks of kernel launches in cuda-mock traces.

The mock checks the bounds of every cuDNN and cuBLAS operand itself (it knows their
descriptors); a kernel's pointers it can only print. For the element-wise kernels below the
element count is an argument, so this script checks, for each launch, that every pointer
argument plus count * element size stays inside the buffer it points into (the sizes come from
the trace's cudaMalloc lines). It prints each violation and a count of the launches checked,
and the balance of created and destroyed objects (descriptors, handles, streams, events,
graphs, buffers) at the end of the run: what was never released.
"""
import re
import sys

# kernel -> (index of the element count, [(pointer argument index, bytes per element)])
KERNELS = {
    "to_bf16_kernel": (0, [(1, 4), (2, 2)]),
    "from_bf16_kernel": (0, [(1, 2), (2, 4)]),
    "fill_kernel": (0, [(2, 4)]),
    "axpy_kernel": (0, [(2, 4), (3, 4)]),
    "relu_forward_kernel": (0, [(1, 4), (2, 4)]),
    "relu_mask_kernel": (0, [(1, 4), (2, 4)]),
    "relu_backward_kernel": (0, [(1, 4), (2, 4), (3, 4)]),
    "sigmoid_forward_kernel": (0, [(1, 4), (2, 4)]),
    "sigmoid_backward_kernel": (0, [(1, 4), (2, 4), (3, 4)]),
    "add_forward_kernel": (0, [(1, 4), (2, 4), (3, 4)]),
    "leaky_forward_kernel": (0, [(2, 4), (3, 4)]),
    "leaky_backward_kernel": (0, [(2, 4), (3, 4), (4, 4)]),
    "adam_kernel": (0, [(1, 4), (2, 4), (3, 4), (4, 4)]),
    "bn_apply_kernel": (0, [(3, 4), (5, 4)]),
    "bias_relu_kernel": (0, [(4, 4)]),
    "bn_backward_dx_kernel": (0, [(3, 4), (7, 4), (8, 4), (10, 4)]),
    "dropout_backward_kernel": (0, [(2, 1), (3, 4), (4, 4)]),
    "add_bias_rows_kernel": (0, [(3, 4)]),
    "gap_backward_kernel": (0, [(3, 4)]),
    "channel_scale_kernel": (0, [(2, 4), (4, 4)]),
}

MALLOC = re.compile(r"^(?:cap\| )?cudaMalloc(?:Host)? (buf|host)(\d+) bytes=(\d+)")
LAUNCH = re.compile(r"^(?:cap\| )?launch (\S+) grid=\S+ block=\S+ smem=\d+ stream=\S+ \((.*)\)")
PTR = re.compile(r"^(buf|host)(\d+)\+(\d+)$")


def split_args(s):
    """top-level comma split (struct arguments are {...})"""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


PAIRS = [
    ("tensor descriptors", "cudnnCreateTensorDescriptor ", "cudnnDestroyTensorDescriptor "),
    ("filter descriptors", "cudnnCreateFilterDescriptor ", "cudnnDestroyFilterDescriptor "),
    ("conv descriptors", "cudnnCreateConvolutionDescriptor ", "cudnnDestroyConvolutionDescriptor "),
    ("device buffers", "cudaMalloc ", "cudaFree buf"),
    ("pinned buffers", "cudaMallocHost ", "cudaFreeHost host"),
    ("streams", "cudaStreamCreateWithFlags ", "cudaStreamDestroy "),
    ("events", "cudaEventCreateWithFlags ", "cudaEventDestroy "),
    ("graph execs", "cudaGraphInstantiate ", "cudaGraphExecDestroy "),
    ("cudnn handles", "cudnnCreate dnn", "cudnnDestroy dnn"),
    ("cublas handles", "cublasCreate ", "cublasDestroy "),
]


def check(path):
    sizes = {}
    checked = bad = 0
    made = {k: 0 for k, _, _ in PAIRS}
    gone = {k: 0 for k, _, _ in PAIRS}
    with open(path) as f:
        for no, line in enumerate(f, 1):
            for k, a, b in PAIRS:
                if line.startswith(a):
                    made[k] += 1
                elif line.startswith(b):
                    gone[k] += 1
            m = MALLOC.match(line)
            if m:
                sizes[(m.group(1), int(m.group(2)))] = int(m.group(3))
                continue
            m = LAUNCH.match(line)
            if not m:
                continue
            name = re.sub(r"<.*>$", "", m.group(1))
            if name not in KERNELS:
                continue
            args = split_args(m.group(2))
            ci, ptrs = KERNELS[name]
            try:
                n = int(args[ci])
            except (ValueError, IndexError):
                print(f"{path}:{no}: {name}: cannot read the count")
                bad += 1
                continue
            checked += 1
            for pi, es in ptrs:
                p = PTR.match(args[pi]) if pi < len(args) else None
                if not p:
                    if pi < len(args) and args[pi] == "NULL":
                        continue
                    print(f"{path}:{no}: {name}: argument {pi} is {args[pi] if pi < len(args) else '?'}")
                    bad += 1
                    continue
                key = (p.group(1), int(p.group(2)))
                off = int(p.group(3))
                size = sizes.get(key)
                if size is None:
                    print(f"{path}:{no}: {name}: {p.group(0)} of an unknown buffer")
                    bad += 1
                elif off + n * es > size:
                    print(f"{path}:{no}: {name}: argument {pi} {p.group(0)} + {n} x {es} bytes "
                          f"= {off + n * es} > {size} bytes of {key[0]}{key[1]}")
                    bad += 1
    left = ", ".join(f"{made[k] - gone[k]} {k}" for k, _, _ in PAIRS if made[k] != gone[k])
    print(f"{path}: {checked} launches checked, {bad} problems; not released: {left or 'nothing'}")
    return bad


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    total = sum(check(p) for p in sys.argv[1:])
    sys.exit(1 if total else 0)
