"""PyTorch reference for core/nn/pf-optim.c and pf-init.c (tests/test-optim.c).

Writes OUT/optim.pfref:
  adam.p0 [n], adam.grads [steps, n], adam.lr_e4 [steps] (lr * 1e4), adam.p [steps, n] (parameters after
  each step), adam.m, adam.v [n] (final moments): torch.optim.Adam, float32, defaults.
  steplr.<k>.cfg = (base_lr * 1e4, step_size, gamma * 10), steplr.<k>.lr [epochs]: the lr in effect
  during each epoch with torch.optim.lr_scheduler.StepLR.
  fan.<k>.shape, fan.<k>.fan_in: torch.nn.init._calculate_fan_in_and_fan_out.
  layer.<name>.absmax: the largest |value| of a torch-initialised parameter, .fan_in and
  .count (a check that the default bound is 1/sqrt(fan_in))."""
import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pfref import write_bundle  # noqa: E402


def adam_reference(out):
    gen = torch.Generator().manual_seed(26)
    n, steps = 1003, 20  # odd size: exercises vector tails
    p = torch.randn(n, generator=gen)
    grads = torch.randn(steps, n, generator=gen) * torch.logspace(-4, 1, n)  # spread of scales
    grads[:, :7] = 0  # parameters that get no gradient
    grads[5:9, 100:200] = 0  # or none for a while
    out["adam.p0"] = p.clone()
    param = nn.Parameter(p.clone())
    opt = torch.optim.Adam([param], lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                           amsgrad=False)
    lrs, after = [], []
    for t in range(steps):
        if t == 10:
            for g in opt.param_groups:
                g["lr"] = 3e-4  # lr changed in the middle, as a scheduler does
        param.grad = grads[t].clone()
        opt.step()
        lrs.append(opt.param_groups[0]["lr"])
        after.append(param.detach().clone())
    st = opt.state[param]
    out["adam.grads"] = grads
    # lr * 1e4 is a small integer: the C side gets the exact double back as lr_e4 / 1e4
    out["adam.lr_e4"] = [round(lr * 1e4) for lr in lrs]
    out["adam.p"] = torch.stack(after)
    out["adam.m"] = st["exp_avg"]
    out["adam.v"] = st["exp_avg_sq"]


def steplr_reference(out):
    # (lr * 1e4, step_size, gamma * 10): integers, exact in the float32 bundle
    cfgs = [(10, 30, 5), (20, 7, 7), (100, 1, 9)]
    for k, (lr_e4, step, gamma_10) in enumerate(cfgs):
        lr, gamma = lr_e4 / 1e4, gamma_10 / 10
        param = nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([param], lr=lr)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=step, gamma=gamma)
        lrs = []
        for _ in range(100):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        out["steplr.%d.cfg" % k] = [lr_e4, step, gamma_10]
        # float32 storage: the C side compares with a relative tolerance
        out["steplr.%d.lr" % k] = lrs


def fan_reference(out):
    shapes = [(32, 8, 5, 5), (2, 1, 3, 5, 5), (2, 1, 3, 7, 7), (16, 32), (1, 1024, 5, 5),
              (224 * 4, 224), (64, 12, 5, 5), (7, 3)]
    for k, s in enumerate(shapes):
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(torch.empty(s))
        out["fan.%d.shape" % k] = list(s)
        out["fan.%d.fan_in" % k] = [fan_in]


def layer_reference(out):
    torch.manual_seed(26)
    layers = {
        "conv2d": nn.Conv2d(64, 128, 5, padding=2),
        "conv3d": nn.Conv3d(1, 2, (3, 7, 7)),
        "linear": nn.Linear(1024, 256),
    }
    for name, m in layers.items():
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
        for pname in ("weight", "bias"):
            t = getattr(m, pname)
            out["layer.%s.%s.absmax" % (name, pname)] = [t.detach().abs().max().item()]
            out["layer.%s.%s.count" % (name, pname)] = [t.numel()]
            out["layer.%s.%s.fan_in" % (name, pname)] = [fan_in]
    lstm = nn.LSTM(224, 224, num_layers=2)
    amax = max(p.detach().abs().max().item() for p in lstm.parameters())
    out["layer.lstm.absmax"] = [amax]
    out["layer.lstm.hidden"] = [224]
    bn = nn.BatchNorm2d(32)
    out["layer.bn.weight"] = bn.weight
    out["layer.bn.bias"] = bn.bias
    out["layer.bn.running_mean"] = bn.running_mean
    out["layer.bn.running_var"] = bn.running_var


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = {}
    adam_reference(out)
    steplr_reference(out)
    fan_reference(out)
    out["nfan"] = [sum(1 for k in out if k.startswith("fan.") and k.endswith(".fan_in"))]
    out["nsteplr"] = [sum(1 for k in out if k.startswith("steplr.") and k.endswith(".cfg"))]
    layer_reference(out)
    write_bundle(os.path.join(args.out, "optim.pfref"), out)


if __name__ == "__main__":
    main()
