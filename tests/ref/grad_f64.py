"""How far each backend's gradients are from float64: reads the bundle that
`grad-spread MODEL SCALE OTHER BUNDLE` (tests/tools/grad-spread.c) writes — the initial weights
under their state_dict names, the batch x, y, lambda, and `grad.<backend>.<name>` for each
backend — runs the same training-mode forward and MIX loss in float64 with PyTorch, and prints
each parameter's relative error (L2) per backend, then over all parameters.
    python3 tests/ref/grad_f64.py MODEL SCALE BUNDLE [--device cuda]"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pfref import read_bundle  # noqa: E402
from torch_loss import loss_value  # noqa: E402
from torch_models import build  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("scale", type=int)
    ap.add_argument("bundle")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    dev = torch.device(args.device)
    b = read_bundle(args.bundle)
    model = build(args.model, args.scale)
    state = model.state_dict()
    for k in state:
        if k.endswith("num_batches_tracked"):
            continue
        if k not in b:
            raise SystemExit("the bundle lacks %s" % k)
        state[k] = torch.from_numpy(b[k].copy()).reshape(state[k].shape)
    model.load_state_dict(state)
    model = model.double().to(dev).train()
    x = torch.from_numpy(b["x"].copy()).double().to(dev)
    y = torch.from_numpy(b["y"].copy()).double().to(dev)
    loss = loss_value("mix", "std", model(x), y, float(b["lambda"][0]), 1.0)
    loss.backward()
    print("float64 loss %.12g" % loss.item())
    backends = sorted({k.split(".")[1] for k in b if k.startswith("grad.")})
    print("%-24s %10s %12s" % ("parameter", "|g| f64", "  ".join("%10s" % be for be in backends)))
    tot = {be: [0.0, 0.0] for be in backends}
    for n, p in model.named_parameters():
        ref = p.grad.detach().cpu().reshape(-1)
        r2 = float((ref * ref).sum())
        errs = []
        for be in backends:
            g = torch.from_numpy(b["grad.%s.%s" % (be, n)].copy()).double().reshape(-1)
            d2 = float(((g - ref) ** 2).sum())
            tot[be][0] += d2
            tot[be][1] += r2
            errs.append((d2 / r2) ** 0.5 if r2 > 0 else float("nan"))
        print("%-24s %10.3g %s" % (n, r2 ** 0.5, "  ".join("%10.3g" % e for e in errs)))
    for be in backends:
        print("all parameters, %s: rel err %.3g" % (be, (tot[be][0] / tot[be][1]) ** 0.5))


if __name__ == "__main__":
    main()
