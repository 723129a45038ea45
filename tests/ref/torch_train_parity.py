"""End-to-end parity: N Adam steps of a pflow model in PyTorch from pflow's initial weights.

Reads IN.pfref (every parameter and buffer under its state_dict name, the batch `x` and `y`,
scalars `steps`, `lr`, `lambda`, `scale`, `variant_index`), trains in float32 exactly as
pflow's training step does (train-mode BatchNorm, loss MIX = WMSE + lambda (1 - SSIM) by
DESIGN.md §6, Adam with PyTorch defaults), and writes OUT/losses.pfref with the loss of every
step and the final parameters."""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pfref import read_bundle, write_bundle  # noqa: E402
from torch_loss import loss_value  # noqa: E402
from torch_models import VARIANTS, build  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--in", dest="inp", required=True)
    args = ap.parse_args()
    torch.set_num_threads(2)
    b = read_bundle(args.inp)
    variant = VARIANTS[int(b["variant_index"][0])]
    model = build(variant, int(b["scale"][0]))
    state = model.state_dict()
    for k in state:
        if k.endswith("num_batches_tracked"):
            continue
        if k not in b:
            raise SystemExit("pflow bundle lacks %s" % k)
        if tuple(state[k].shape) != tuple(b[k].shape):
            raise SystemExit("%s: torch %s, pflow %s" % (k, tuple(state[k].shape), b[k].shape))
        state[k] = torch.from_numpy(b[k].copy())
    model.load_state_dict(state)
    model.train()
    x = torch.from_numpy(b["x"].copy())
    y = torch.from_numpy(b["y"].copy())
    lam = float(b["lambda"][0])
    opt = torch.optim.Adam(model.parameters(), lr=float(b["lr"][0]))
    losses = []
    for _ in range(int(b["steps"][0])):
        opt.zero_grad()
        loss = loss_value("mix", "std", model(x), y, lam, 1.0)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    out = {"losses": torch.tensor(losses, dtype=torch.float64)}
    for k, v in model.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            out[k] = v
    write_bundle(os.path.join(args.out, "losses.pfref"), out)


if __name__ == "__main__":
    main()
