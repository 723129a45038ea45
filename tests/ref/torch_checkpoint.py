"""Loads a pflow checkpoint into PyTorch with h5py (the README's recipe) and predicts.

    torch_checkpoint.py --ckpt CKPT.h5 --in INPUTS.pfref --out DIR

INPUTS.pfref holds `inputs`: float32 [4, N, S, S] in GeV, channel-major (emcal, hcal, trk_n,
trk_p), as pflow's predictor takes them. Writes DIR/pred.pfref with `pred` [N, S, S] in GeV."""
import argparse
import os
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pfref  # noqa: E402
import torch_models  # noqa: E402


def load_checkpoint(path):
    """The docs/checkpoint.md snippet: model, normalisation constants."""
    with h5py.File(path, "r") as f:
        model = torch_models.Scaled(f.attrs["model"], int(f.attrs["scale"]))
        state = {k: torch.from_numpy(v[()]) for k, v in f["state_dict"].items()}
        lo, hi = float(f.attrs["norm_min"]), float(f.attrs["norm_max"])
    missing, unexpected = model.load_state_dict(state, strict=False)
    # pflow keeps no BatchNorm step counter; everything else must match
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    return model.eval(), lo, hi


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model, lo, hi = load_checkpoint(a.ckpt)
    x = pfref.read_bundle(a.inp)["inputs"]                    # [4, N, S, S] GeV
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(1, 0, 2, 3)))
    lo32, r32 = torch.tensor(lo, dtype=torch.float32), torch.tensor(hi - lo, dtype=torch.float32)
    with torch.no_grad():
        y = model((x - lo32) / r32) * r32 + lo32               # normalised -> GeV
    pfref.write_bundle(os.path.join(a.out, "pred.pfref"), {"pred": y[:, 0]})


if __name__ == "__main__":
    main()
