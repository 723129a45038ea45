"""metrics_numpy.py — a plain numpy implementation of the pixel metrics of DESIGN.md §7, the
independent reference of tests/eval/test-metrics.c.

Reads a pfref bundle (tests/ref/pfref.py) with `truth`, `pred` [n, S, S] GeV, `edges` (lower
band edges) and `threshold`, and writes one with, for each band k and mode m (0 = own energy,
1 = paper_compat): res_mean/res_std/res_n [k], shift_mean_m/shift_std_m/shift_n_m/shift_undef_m
[k], plus `wmse` and `wmse_col`."""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref"))
from pfref import read_bundle, write_bundle  # noqa: E402


def band_masks(t, edges, threshold):
    """Masks of band k: edges[k] < t <= edges[k+1] (last band open), among t > threshold."""
    out = []
    for k, lo in enumerate(edges):
        m = (t > threshold) & (t > lo)
        if k + 1 < len(edges):
            m &= t <= edges[k + 1]
        out.append(m)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    b = read_bundle(a.inp)
    t = b["truth"].astype(np.float64)
    p = b["pred"].astype(np.float64)
    edges = [float(e) for e in b["edges"]]
    thr = float(b["threshold"][0])
    n, S, _ = t.shape

    out = {}
    num = (t * (p - t) ** 2).sum(axis=(1, 2))
    out["wmse"] = [np.mean(num / (t.sum(axis=(1, 2)) + 1e-8))]
    cn = (t * (p - t) ** 2).sum(axis=1)  # [n, S] per column
    out["wmse_col"] = [np.mean(cn / (t.sum(axis=1) + 1e-8))]

    masks = band_masks(t, edges, thr)
    ii, jj = np.meshgrid(np.arange(S), np.arange(S), indexing="ij")
    res_mean, res_std, res_n = [], [], []
    sh = {m: ([], [], [], []) for m in (0, 1)}
    for m in masks:
        r = (p[m] - t[m]) / t[m]
        res_n.append(r.size)
        res_mean.append(r.mean() if r.size else 0.0)
        res_std.append(r.std() if r.size else 0.0)
        for mode in (0, 1):
            d, undef = [], 0
            for e in range(n):
                me = m[e]
                if not me.any():
                    continue
                te, pe = t[e][me], p[e][me]
                ct = np.array([(ii[me] * te).sum(), (jj[me] * te).sum()]) / te.sum()
                den = te.sum() if mode == 1 else pe.sum()
                if not den > 0:
                    undef += 1
                    continue
                cp = np.array([(ii[me] * pe).sum(), (jj[me] * pe).sum()]) / den
                d.append(np.hypot(*(ct - cp)))
            d = np.array(d)
            sh[mode][0].append(d.mean() if d.size else 0.0)
            sh[mode][1].append(d.std() if d.size else 0.0)
            sh[mode][2].append(d.size)
            sh[mode][3].append(undef)
    out["res_mean"], out["res_std"], out["res_n"] = res_mean, res_std, res_n
    for mode in (0, 1):
        for name, v in zip(("shift_mean", "shift_std", "shift_n", "shift_undef"), sh[mode]):
            out["%s_%d" % (name, mode)] = v
    write_bundle(a.out, {k: np.array(v, dtype=np.float64) for k, v in out.items()})


if __name__ == "__main__":
    main()
