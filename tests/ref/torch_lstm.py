"""Reference bundles for tests/test-lstm.c: torch.nn.LSTM (batch_first=True) forward and backward.

Writes OUT/index.pfref (n_cases) and OUT/caseK.pfref for K < n_cases, each holding
  B, T, I, H, L, has_h0c0, has_dhn                       sizes and flags (float32 scalars)
  x [B,T,I], w (flat, parameter order of lstm.parameters()), h0, c0 [L,B,H] (if has_h0c0),
  dy [B,T,H], dhn, dcn [L,B,H] (if has_dhn)                inputs
  y, hn, cn, dx, dw, dh0, dc0 (dh0/dc0 only if has_h0c0)   outputs of torch
The loss is sum(y*dy) (+ sum(hn*dhn) + sum(cn*dcn)), so its gradients are the backward of
those upstream gradients. Inputs are drawn in float32 and the reference runs in float64 on
the same values, so the C float32 result is compared with an almost exact answer."""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pfref import write_bundle  # noqa: E402


def make_case(rng, B, T, I, H, L, has_h0c0, has_dhn):
    lstm = torch.nn.LSTM(I, H, num_layers=L, batch_first=True)
    k = 1.0 / np.sqrt(H)
    with torch.no_grad():
        for p in lstm.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-k, k, size=p.shape).astype(np.float32)))
    lstm = lstm.double()

    def f32(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    x = f32(B, T, I)
    dy = f32(B, T, H)
    t = {"B": B, "T": T, "I": I, "H": H, "L": L,
         "has_h0c0": int(has_h0c0), "has_dhn": int(has_dhn), "x": x, "dy": dy}
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    if has_h0c0:
        h0, c0 = f32(L, B, H, scale=0.5), f32(L, B, H, scale=0.5)
        t["h0"], t["c0"] = h0, c0
        h0t = torch.tensor(h0, dtype=torch.float64, requires_grad=True)
        c0t = torch.tensor(c0, dtype=torch.float64, requires_grad=True)
        y, (hn, cn) = lstm(xt, (h0t, c0t))
    else:
        y, (hn, cn) = lstm(xt)
    loss = (y * torch.from_numpy(dy).double()).sum()
    if has_dhn:
        dhn, dcn = f32(L, B, H), f32(L, B, H)
        t["dhn"], t["dcn"] = dhn, dcn
        loss = loss + (hn * torch.from_numpy(dhn).double()).sum() \
                    + (cn * torch.from_numpy(dcn).double()).sum()
    loss.backward()
    t["w"] = torch.cat([p.detach().flatten() for p in lstm.parameters()])
    t["y"], t["hn"], t["cn"], t["dx"] = y, hn, cn, xt.grad
    t["dw"] = torch.cat([p.grad.flatten() for p in lstm.parameters()])
    if has_h0c0:
        t["dh0"], t["dc0"] = h0t.grad, c0t.grad
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=26)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    cases = []
    # Every combination of depth and optional states, at random small sizes.
    for L in (1, 2):
        for has_h0c0 in (False, True):
            for has_dhn in (False, True):
                B, T, I, H = (int(rng.integers(1, 5)), int(rng.integers(1, 9)),
                              int(rng.integers(1, 20)), int(rng.integers(1, 20)))
                cases.append((B, T, I, H, L, has_h0c0, has_dhn))
    # Sizes that exercise the 8-wide dot product tails, and the decoder shape (I == H,
    # initial state given, gradients flowing into h0/c0) at the model's width.
    cases.append((3, 11, 37, 29, 2, True, True))
    cases.append((2, 56, 224, 224, 2, True, True))
    for k, c in enumerate(cases):
        write_bundle(os.path.join(args.out, "case%d.pfref" % k), make_case(rng, *c))
    write_bundle(os.path.join(args.out, "index.pfref"), {"n_cases": len(cases)})


if __name__ == "__main__":
    main()
