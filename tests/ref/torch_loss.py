"""PyTorch reference for core/ops/pf-loss.c (tests/test-loss.c).

Writes OUT/loss.pfref: for each case cK, the inputs (cK.pred, cK.target [n,1,h,w]), its
parameters (cK.lambda, cK.range) and, for each loss (mse, wmse, ssim, mix) and mode
(std = DESIGN.md §6, paper = the published code), cK.<loss>.<mode>.value and .grad, the
gradient taken by autograd. Computed in float64 so the reference is sharper than the float32
code under test.

The paper-mode functions are written like the published code: WMSE summed over dim 2 (the
eta rows, one weighted mean per phi column), and pytorch-ssim (Po-Hsun-Su) with a 1x11
window applied by F.conv2d(padding=window_size // 2) on both axes."""
import argparse
import os
import sys
from math import exp

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pfref import write_bundle  # noqa: E402


# ---- the published code (pytorch-ssim with a horizontal window, per-column WMSE) -----------
def gaussian(window_size, sigma):
    gauss = torch.Tensor([exp(-(x - window_size // 2) ** 2 / float(2 * sigma ** 2)) for x in range(window_size)])
    return gauss / gauss.sum()


def create_window_1x11(window_size, channel):
    _1D_window = gaussian(window_size, 1.5).unsqueeze(1)
    _2D_window = _1D_window.t().float().unsqueeze(0).unsqueeze(0)  # [1, 1, 1, 11]
    window = _2D_window.expand(channel, 1, 1, window_size).contiguous()
    return window


def _ssim_paper(img1, img2, window, window_size, channel, data_range=1.0):
    mu1 = F.conv2d(img1, window, padding=window_size // 2, groups=channel)
    mu2 = F.conv2d(img2, window, padding=window_size // 2, groups=channel)
    mu1_sq = mu1.pow(2)
    mu2_sq = mu2.pow(2)
    mu1_mu2 = mu1 * mu2
    sigma1_sq = F.conv2d(img1 * img1, window, padding=window_size // 2, groups=channel) - mu1_sq
    sigma2_sq = F.conv2d(img2 * img2, window, padding=window_size // 2, groups=channel) - mu2_sq
    sigma12 = F.conv2d(img1 * img2, window, padding=window_size // 2, groups=channel) - mu1_mu2
    C1 = (0.01 * data_range) ** 2  # pytorch-ssim: 0.01**2 (data range 1)
    C2 = (0.03 * data_range) ** 2
    ssim_map = ((2 * mu1_mu2 + C1) * (2 * sigma12 + C2)) / ((mu1_sq + mu2_sq + C1) * (sigma1_sq + sigma2_sq + C2))
    return ssim_map.mean()


def ssim_paper(img1, img2, data_range=1.0, window_size=11):
    channel = img1.size(1)
    window = create_window_1x11(window_size, channel).type_as(img1)
    return _ssim_paper(img1, img2, window, window_size, channel, data_range)


def wmse_paper(pred, target):
    weight = target
    return torch.mean(torch.sum(weight * (pred - target) ** 2, dim=2) / (torch.sum(weight, dim=2) + 1e-8))


# ---- the definitions of DESIGN.md §6 ---------------------------------------------------------
def ssim_std(img1, img2, data_range=1.0, window_size=11):
    g = gaussian(window_size, 1.5).double().unsqueeze(1)
    window = g.mm(g.t()).unsqueeze(0).unsqueeze(0).type_as(img1)  # [1, 1, 11, 11]
    mu1 = F.conv2d(img1, window)  # valid positions only
    mu2 = F.conv2d(img2, window)
    s11 = F.conv2d(img1 * img1, window) - mu1 * mu1
    s22 = F.conv2d(img2 * img2, window) - mu2 * mu2
    s12 = F.conv2d(img1 * img2, window) - mu1 * mu2
    C1 = (0.01 * data_range) ** 2
    C2 = (0.03 * data_range) ** 2
    m = ((2 * mu1 * mu2 + C1) * (2 * s12 + C2)) / ((mu1 * mu1 + mu2 * mu2 + C1) * (s11 + s22 + C2))
    return m.mean()  # every image has the same map size: mean over map and batch


def wmse_std(pred, target):
    num = (target * (pred - target) ** 2).sum(dim=(1, 2, 3))
    den = target.sum(dim=(1, 2, 3)) + 1e-8
    return (num / den).mean()


def loss_value(kind, mode, p, y, lam, rng):
    wmse = wmse_paper if mode == "paper" else wmse_std
    ssim = ssim_paper if mode == "paper" else ssim_std
    if kind == "mse":
        return F.mse_loss(p, y)
    if kind == "wmse":
        return wmse(p, y)
    if kind == "ssim":
        return 1 - ssim(p, y, rng)
    return wmse(p, y) + lam * (1 - ssim(p, y, rng))


def calo_image(gen, shape, occupancy):
    """Sparse non-negative images: most pixels 0, the rest exponential energies."""
    hit = torch.rand(shape, generator=gen, dtype=torch.float64) < occupancy
    e = -torch.log(torch.rand(shape, generator=gen, dtype=torch.float64)) * 0.3
    return torch.where(hit, e, torch.zeros_like(e))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(26)
    # (n, h, w, occupancy, lambda, data range)
    cases = [
        (2, 56, 56, 0.25, 0.05, 1.0),
        (3, 17, 23, 0.3, 0.05, 1.0),
        (1, 11, 11, 0.5, 0.05, 1.0),
        (2, 20, 13, 0.8, 0.3, 2.0),
    ]
    out = {"window": gaussian(11, 1.5)}
    for k, (n, h, w, occ, lam, rng) in enumerate(cases):
        y = calo_image(gen, (n, 1, h, w), occ)
        # a prediction that is partly right and partly wrong, with its own empty pixels
        p = 0.7 * y + calo_image(gen, (n, 1, h, w), occ)
        p = p.float().double()
        y = y.float().double()
        out["c%d.pred" % k] = p
        out["c%d.target" % k] = y
        out["c%d.lambda" % k] = [lam]
        out["c%d.range" % k] = [rng]
        for kind in ("mse", "wmse", "ssim", "mix"):
            for mode in ("std", "paper"):
                pp = p.clone().requires_grad_(True)
                v = loss_value(kind, mode, pp, y, lam, rng)
                v.backward()
                out["c%d.%s.%s.value" % (k, kind, mode)] = [v.item()]
                out["c%d.%s.%s.grad" % (k, kind, mode)] = pp.grad
    out["ncases"] = [len(cases)]
    write_bundle(os.path.join(args.out, "loss.pfref"), out)


if __name__ == "__main__":
    main()
