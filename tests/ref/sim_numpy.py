#!/usr/bin/python3
"""sim_numpy.py — a plain vectorised numpy implementation of the simulator (DESIGN.md §4).

It is written from the specification, not from pflow's C code, and draws its numbers with
numpy's generator, so it does not reproduce pflow's bits: test-sim compares the two
statistically, and `pflow bench` uses it as the speed peer.

As a module:  simulate(n_events, rng, **params) -> {"emcal": [N,S,S] float32, ...}
As a script:
  sim_numpy.py --events N --bench   prints  numpy_events_per_s <float>
  sim_numpy.py --events N --stats   prints  stats <channel> <mean> <std> <n>   (per-event sums)
  options: --bfield --nonlin --res-scale --seed --charged-range --wrap-phi --particles
"""
import argparse
import sys
import time

import numpy as np

DEFAULTS = dict(
    n_particles=1600, frac_pi0=0.25, frac_neutral_cum=0.5, eta_max=2.5, bfield=0.5,
    image_size=56, res_scale=1.0, trk_res=0.05, emc_res=0.05, hcal_res=0.1, nonlin=0.3,
    charged_range=0.9, wrap_phi=False, trk_threshold=0.1, emc_threshold=0.2,
    hcal_threshold=0.3, em_sampling=0.9, em_leak=0.1, had_emc_frac=0.1,
)
CHANNELS = ("emcal", "hcal", "trk_n", "trk_p", "truth")


def bin_index(x, lo, hi, n):
    """Bins as np.histogram2d: edges = linspace(lo, hi, n + 1), bin i holds e_i <= x < e_{i+1},
    the last bin also holds x == hi; -1 for values outside [lo, hi] (or NaN).
    (A floor guess corrected against the edges: the same answer as searchsorted, faster.)"""
    edges = np.linspace(lo, hi, n + 1)
    with np.errstate(invalid="ignore"):
        g = np.floor((x - lo) * (n / (hi - lo)))
        idx = np.clip(np.nan_to_num(g, nan=0.0), 0, n - 1).astype(np.intp)
    idx -= x < edges[idx]
    idx += (x >= edges[idx + 1]) & (idx < n - 1)
    inside = (x >= lo) & (x <= hi)  # False for NaN
    return np.where(inside, idx, -1)


def _hist(n_events, size, row, col, w):
    """Per-event 2-D histograms of weights w at (row, col); entries with -1 are dropped
    (sent to one extra bin that is cut off)."""
    npix = size * size
    ev = np.arange(n_events)[:, None] * npix
    flat = np.where((row >= 0) & (col >= 0), ev + row * size + col, n_events * npix)
    h = np.bincount(flat.ravel(), weights=w.ravel(), minlength=n_events * npix + 1)
    return h[:-1].reshape(n_events, size, size)


def simulate(n_events, rng, **kw):
    p = dict(DEFAULTS)
    p.update({k: v for k, v in kw.items() if not k.startswith("_")})
    npart, size = p["n_particles"], p["image_size"]
    eta_max, scale, nl = p["eta_max"], p["res_scale"], p["nonlin"]
    shape = (n_events, npart)

    e = np.abs(rng.normal(0.0, 1.0, shape) + rng.normal(0.0, 2.0, shape))
    u = rng.uniform(size=shape)
    em = u < p["frac_pi0"]
    charged = u >= p["frac_neutral_cum"]
    q = np.where(charged, np.where(rng.uniform(size=shape) < 0.5, 1.0, -1.0), 0.0)
    f = np.where(charged, p["charged_range"], 1.0)
    eta = (rng.uniform(size=shape) - 0.5) * 2.0 * eta_max * f
    phi = (rng.uniform(size=shape) - 0.5) * 2.0 * np.pi * f

    row = bin_index(eta, -eta_max, eta_max, size)
    col = bin_index(phi, -np.pi, np.pi, size)
    out = {"truth": _hist(n_events, size, row, col, e)}

    # tracker: charged above threshold, at the generated phi
    has_trk = charged & (e > p["trk_threshold"])
    w_trk = e * rng.normal(1.0, p["trk_res"] * scale, shape)
    out["trk_p"] = _hist(n_events, size, row, col, np.where(has_trk & (q > 0), w_trk, 0.0))
    out["trk_n"] = _hist(n_events, size, row, col, np.where(has_trk & (q < 0), w_trk, 0.0))

    # magnetic field: neutral particles keep their phi
    with np.errstate(divide="ignore", invalid="ignore"):
        phic = phi + np.where(charged, q * p["bfield"] / e, 0.0)
    if p["wrap_phi"]:
        phic = np.mod(phic + np.pi, 2.0 * np.pi) - np.pi
    colc = bin_index(phic, -np.pi, np.pi, size)

    # Emcal, then Hcal on what is left
    pass_e = e > p["emc_threshold"]
    r_emc = rng.normal(1.0, p["emc_res"] * scale, shape)
    w_emc = np.where(em, (e - nl * np.sqrt(e)) * p["em_sampling"] * r_emc,
                     p["had_emc_frac"] * e * r_emc)
    w_emc = np.where(pass_e, w_emc, 0.0)
    rest = np.where(pass_e, np.where(em, e * p["em_leak"], e * (1.0 - p["had_emc_frac"])), e)
    r_hcal = rng.normal(1.0, p["hcal_res"] * scale, shape)
    w_hcal = np.where(rest > p["hcal_threshold"],
                      (rest - nl * np.sqrt(rest)) * p["em_sampling"] * r_hcal, 0.0)
    out["emcal"] = _hist(n_events, size, row, colc, w_emc)
    out["hcal"] = _hist(n_events, size, row, colc, w_hcal)

    if kw.get("_check_histogram2d"):
        # our histograms must equal np.histogram2d, the published code's call, including
        # values on the edges and outside the range
        rng_ = [[-eta_max, eta_max], [-np.pi, np.pi]]
        for c, ph, w in (("emcal", phic, w_emc), ("truth", phi, e)):
            ref, _, _ = np.histogram2d(eta[0], ph[0], bins=size, range=rng_, weights=w[0])
            assert np.allclose(ref, out[c][0], rtol=1e-12, atol=0), c + ": differs from histogram2d"
        edges = np.linspace(-np.pi, np.pi, size + 1)
        x = np.concatenate([edges, np.nextafter(edges, 10), np.nextafter(edges, -10),
                            [np.nan, -np.inf, np.inf], rng.uniform(-4, 4, 1000)])
        ref, _ = np.histogram(x[np.isfinite(x)], bins=size, range=(-np.pi, np.pi))
        b = bin_index(x, -np.pi, np.pi, size)
        assert np.array_equal(np.bincount(b[b >= 0], minlength=size), ref), "bin_index"
    return {k: v.astype(np.float32) for k, v in out.items()}


def simulate_chunked(n_events, seed, chunk=250, **kw):
    """Yields (first, images) in chunks to bound the memory of the per-particle arrays."""
    rng = np.random.default_rng(seed)
    for first in range(0, n_events, chunk):
        yield first, simulate(min(chunk, n_events - first), rng, **kw)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--stats", action="store_true")
    ap.add_argument("--bfield", type=float, default=DEFAULTS["bfield"])
    ap.add_argument("--nonlin", type=float, default=DEFAULTS["nonlin"])
    ap.add_argument("--res-scale", type=float, default=DEFAULTS["res_scale"])
    ap.add_argument("--charged-range", type=float, default=DEFAULTS["charged_range"])
    ap.add_argument("--particles", type=int, default=DEFAULTS["n_particles"])
    ap.add_argument("--wrap-phi", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="ignored (the C test helpers pass it)")
    a = ap.parse_args(argv)
    if a.events <= 0:
        ap.error("--events must be positive")
    params = dict(bfield=a.bfield, nonlin=a.nonlin, res_scale=a.res_scale,
                  charged_range=a.charged_range, n_particles=a.particles, wrap_phi=a.wrap_phi)

    if a.bench:
        size = DEFAULTS["image_size"]
        images = {c: np.empty((a.events, size, size), np.float32) for c in CHANNELS}
        t0 = time.perf_counter()
        for first, chunk in simulate_chunked(a.events, a.seed, **params):
            for c in CHANNELS:
                images[c][first:first + len(chunk[c])] = chunk[c]
        dt = time.perf_counter() - t0
        print(f"numpy_events_per_s {a.events / dt:.1f}")
    if a.stats or not a.bench:
        sums = {c: [] for c in CHANNELS}
        for first, chunk in simulate_chunked(a.events, a.seed, _check_histogram2d=True, **params):
            for c in CHANNELS:
                sums[c].append(chunk[c].astype(np.float64).sum(axis=(1, 2)))
        for c in CHANNELS:
            s = np.concatenate(sums[c])
            print(f"stats {c} {s.mean():.9g} {s.std(ddof=1):.9g} {len(s)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
