"""PyTorch 1.13 references for the small ops of core/ops (tests/test-ops-misc.c).

Writes OUT/<op>_<case>.pfref bundles (format in pfref.py): inputs, forward outputs, and the
gradients of sum(y * r) for a random r, saved as dy. Shapes and parameters are drawn from a
fixed seed, several cases per op, including odd and tiny sizes; shape parameters are stored as
scalar tensors. Usage: torch_ops_misc.py --out DIR"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pfref import write_bundle  # noqa: E402

CASES = 4


def sc(v):
    return torch.tensor(float(v))


def grads(y, inputs):
    """dy = r and the gradients of sum(y * r) for each input (zeros where unused)."""
    r = torch.randn_like(y)
    gs = torch.autograd.grad((y * r).sum(), inputs, allow_unused=True)
    return r, [g if g is not None else torch.zeros_like(x) for g, x in zip(gs, inputs)]


def rint(lo, hi):
    """Uniform integer in [lo, hi]."""
    return int(torch.randint(lo, hi + 1, ()).item())


def eltwise(out):
    sizes = [1, 7, 1000, 4099]
    for i, n in enumerate(sizes):
        x = torch.randn(n, requires_grad=True)
        y = F.relu(x)
        r, (dx,) = grads(y, [x])
        write_bundle(f"{out}/relu_{i}.pfref", {"n": sc(n), "x": x, "y": y, "dy": r, "dx": dx})

        slope = [0.01, 0.2, 0.01, 0.5][i]
        x = torch.randn(n, requires_grad=True)
        y = F.leaky_relu(x, slope)
        r, (dx,) = grads(y, [x])
        write_bundle(f"{out}/leaky_relu_{i}.pfref",
                     {"n": sc(n), "slope": sc(slope), "x": x, "y": y, "dy": r, "dx": dx})

        # wide range: both saturated tails must stay accurate
        x = (torch.randn(n) * 6).requires_grad_()
        y = torch.sigmoid(x)
        r, (dx,) = grads(y, [x])
        write_bundle(f"{out}/sigmoid_{i}.pfref", {"n": sc(n), "x": x, "y": y, "dy": r, "dx": dx})

        a = torch.randn(n, requires_grad=True)
        b = torch.randn(n, requires_grad=True)
        y = a + b
        r, (da, db) = grads(y, [a, b])
        write_bundle(f"{out}/add_{i}.pfref",
                     {"n": sc(n), "a": a, "b": b, "y": y, "dy": r, "da": da, "db": db})


def resample(out):
    shapes = [(1, 2, 2), (3, 5, 7), (4, 8, 6), (2, 13, 11), (5, 1, 1), (2, 14, 14)]
    for i, (nc, h, w) in enumerate(shapes):
        if h >= 2 and w >= 2:
            if i == 2:
                # few distinct values: many ties, which must resolve like PyTorch
                x = torch.randint(0, 3, (nc, h, w)).float()
            else:
                x = torch.randn(nc, h, w)
            x.requires_grad_()
            y, idx = F.max_pool2d(x, 2, 2, return_indices=True)
            r, (dx,) = grads(y, [x])
            write_bundle(f"{out}/maxpool_{i}.pfref",
                         {"nc": sc(nc), "h": sc(h), "w": sc(w), "x": x, "y": y, "argmax": idx,
                          "dy": r, "dx": dx})
        for mode in ("nearest", "bilinear"):
            x = torch.randn(1, nc, h, w, requires_grad=True)
            if mode == "bilinear":
                y = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            else:
                y = F.interpolate(x, scale_factor=2, mode="nearest")
            r, (dx,) = grads(y, [x])
            write_bundle(f"{out}/{mode}_{i}.pfref",
                         {"nc": sc(nc), "h": sc(h), "w": sc(w), "x": x, "y": y, "dy": r, "dx": dx})


def channel(out):
    for i in range(CASES):
        n, hw = rint(1, 3), rint(1, 40)
        k = rint(1, 4)
        cs = [rint(1, 5) for _ in range(k)]
        xs = [torch.randn(n, c, hw, requires_grad=True) for c in cs]
        y = torch.cat(xs, 1)
        r, dxs = grads(y, xs)
        t = {"n": sc(n), "hw": sc(hw), "k": sc(k), "c": torch.tensor(cs, dtype=torch.float32)}
        t.update({f"x{j}": xs[j] for j in range(k)})
        t.update({"y": y, "dy": r})
        t.update({f"dx{j}": dxs[j] for j in range(k)})
        write_bundle(f"{out}/concat_{i}.pfref", t)

        # gather with repeated channels (the 3D front end picks emcal and hcal twice)
        n, c, hw = rint(1, 3), rint(2, 6), rint(1, 30)
        k = rint(1, 6)
        idx = torch.randint(0, c, (k,))
        x = torch.randn(n, c, hw, requires_grad=True)
        y = x[:, idx, :]
        r, (dx,) = grads(y, [x])
        write_bundle(f"{out}/gather_{i}.pfref",
                     {"n": sc(n), "c": sc(c), "hw": sc(hw), "k": sc(k), "idx": idx.float(),
                      "x": x, "y": y, "dy": r, "dx": dx})

        n, c, hw = rint(1, 4), rint(1, 17), [1, 9, 56 * 56, 31][i]
        x = torch.randn(n, c, hw, requires_grad=True)
        s = torch.rand(n, c, requires_grad=True)
        y = x * s[:, :, None]
        r, (dx, ds) = grads(y, [x, s])
        write_bundle(f"{out}/scale_{i}.pfref",
                     {"n": sc(n), "c": sc(c), "hw": sc(hw), "x": x, "s": s, "y": y, "dy": r,
                      "dx": dx, "ds": ds})

        x = (torch.randn(n, c, hw) + 0.5).requires_grad_()
        y = x.mean(2)
        r, (dx,) = grads(y, [x])
        write_bundle(f"{out}/avgpool_{i}.pfref",
                     {"n": sc(n), "c": sc(c), "hw": sc(hw), "x": x, "y": y, "dy": r, "dx": dx})


def layout(out):
    perms = [(1, 0, 2), (2, 0, 1), (0, 2, 1),
             (0, 2, 3, 1), (0, 3, 1, 2), (3, 2, 1, 0), (1, 0, 3, 2),
             (0, 2, 1, 3, 4), (4, 3, 0, 2, 1), (0, 1, 3, 4, 2)]
    for i, perm in enumerate(perms):
        shape = [rint(1, 7) for _ in perm]
        x = torch.randn(*shape, requires_grad=True)
        y = x.permute(*perm).contiguous()
        r, (dx,) = grads(y, [x])
        write_bundle(f"{out}/permute_{i}.pfref",
                     {"ndim": sc(len(perm)), "shape": torch.tensor(shape, dtype=torch.float32),
                      "perm": torch.tensor(perm, dtype=torch.float32), "x": x, "y": y, "dy": r,
                      "dx": dx})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(20240611)
    eltwise(args.out)
    resample(args.out)
    channel(args.out)
    layout(args.out)


if __name__ == "__main__":
    main()
