"""PyTorch modules of the pflow model zoo (DESIGN.md §5), written from the specification.

Their state_dict names are the names pflow gives its parameters and buffers (core/nn/
pf-model-scaled.c, pf-model-earlier.c), so a pflow checkpoint loads into them, and the parity and
benchmark scripts run exactly the same architecture in both. Run as a script, it is the PyTorch
side of tests/test-models.c (one forward and backward pass from pflow's weights)."""
import math

import torch
import torch.nn as nn

# scale -> (encoder widths, 3D-variant encoder widths, decoder hidden widths, decoder BN)
SCALES = {
    1: ([8, 32], [8, 32], [16], False),
    2: ([16, 32, 64], [32, 64], [16], False),
    3: ([64, 128, 256], [64, 128, 256], [64], True),
    4: ([64, 128, 256, 512], [64, 128, 256, 512], [128, 32], True),
    5: ([64, 128, 256, 512, 1024], [64, 128, 256, 512, 1024], [256, 64, 32], True),
}
PAPER_BATCH = {1: 200, 2: 200, 3: 200, 4: 128, 5: 80}
VARIANTS = ("cnn", "se", "rowatt", "3d", "se3d")


class SE(nn.Module):
    def __init__(self, c, reduction=16):
        super().__init__()
        r = max(c // reduction, 1)
        self.fc1 = nn.Linear(c, r, bias=False)
        self.fc2 = nn.Linear(r, c, bias=False)

    def forward(self, x):
        s = x.mean(dim=(2, 3))
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))
        return x * s[:, :, None, None]


class RowAttention(nn.Module):
    """Each eta row is a sequence of phi tokens of C features; single head, no residual."""

    def __init__(self, c):
        super().__init__()
        self.query = nn.Linear(c, c)
        self.key = nn.Linear(c, c)
        self.value = nn.Linear(c, c)

    def forward(self, x):
        b, c, h, w = x.shape
        t = x.permute(0, 2, 3, 1).reshape(b * h, w, c)
        q, k, v = self.query(t), self.key(t), self.value(t)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1)
        return (a @ v).reshape(b, h, w, c).permute(0, 3, 1, 2)


class Scaled(nn.Module):
    def __init__(self, variant="cnn", scale=1):
        super().__init__()
        enc, enc3d, dec, dec_bn = SCALES[scale]
        self.variant = variant
        self.is3d = variant in ("3d", "se3d")
        c = 4
        if self.is3d:
            self.front = nn.ModuleList(
                [nn.Conv3d(1, 2, (3, k, k), padding=(0, k // 2, k // 2)) for k in (3, 5, 7)])
            c = 12
        layers = []
        # the plain 3D variant has its own widths (they differ at scale 2); SE+3D keeps the
        # CNN's, as its published parameter counts require
        for width in (enc3d if variant == "3d" else enc):
            layers += [nn.Conv2d(c, width, 5, padding=2), nn.BatchNorm2d(width), nn.ReLU()]
            c = width
        self.encoder = nn.Sequential(*layers)
        if variant in ("se", "se3d"):
            self.se = SE(c)
        if variant == "rowatt":
            self.attn = RowAttention(c)
        d = []
        for width in dec:
            d.append(nn.Conv2d(c, width, 5, padding=2))
            if dec_bn:
                d.append(nn.BatchNorm2d(width))
            d.append(nn.ReLU())
            c = width
        d.append(nn.Conv2d(c, 1, 5, padding=2))
        self.decoder = nn.Sequential(*d)

    def forward(self, x):
        if self.is3d:
            outs = []
            for idx in ([0, 1, 2], [0, 1, 3]):
                s = x[:, idx].unsqueeze(1)  # [B, 1, 3, H, W]
                outs += [conv(s).squeeze(2) for conv in self.front]
            x = torch.cat(outs, dim=1)
        x = self.encoder(x)
        if hasattr(self, "se"):
            x = self.se(x)
        if hasattr(self, "attn"):
            x = self.attn(x)
        return self.decoder(x)


# ---- the earlier family (core/nn/pf-model-earlier.c: the choices where §5 is open are listed
# at the top of that file, and made the same way here) ----------------------------------------
EARLIER = ("mlp", "cnn-se", "cnn3d", "cnn-sa", "unet", "unet-sa", "lstm")


class MLP(nn.Module):
    """Per pixel 4 -> 1024 -> 1024 -> 1 as 1x1 convs, ReLU after the hidden layers."""

    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Conv2d(4, 1024, 1), nn.ReLU(), nn.Conv2d(1024, 1024, 1), nn.ReLU(),
                                 nn.Conv2d(1024, 1, 1))

    def forward(self, x):
        return self.mlp(x)


class EarlierCNN(nn.Module):
    """Front end (3/5/7 convs to 6 channels, or the 3D one to 12), encoder 32, 64 (BN ReLU),
    optional SE, decoder 64 -> 16 ReLU -> 1, sigmoid."""

    def __init__(self, front3d=False, se=False):
        super().__init__()
        self.front3d = front3d
        if front3d:
            self.front = nn.ModuleList(
                [nn.Conv3d(1, 2, (3, k, k), padding=(0, k // 2, k // 2)) for k in (3, 5, 7)])
        else:
            self.front = nn.ModuleList([nn.Conv2d(4, 2, k, padding=k // 2) for k in (3, 5, 7)])
        c = 12 if front3d else 6
        self.encoder = nn.Sequential(nn.Conv2d(c, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU(),
                                     nn.Conv2d(32, 64, 5, padding=2), nn.BatchNorm2d(64), nn.ReLU())
        if se:
            self.se = SE(64)
        self.decoder = nn.Sequential(nn.Conv2d(64, 16, 5, padding=2), nn.ReLU(),
                                     nn.Conv2d(16, 1, 5, padding=2))

    def forward(self, x):
        if self.front3d:
            outs = []
            for idx in ([0, 1, 2], [0, 1, 3]):
                s = x[:, idx].unsqueeze(1)
                outs += [conv(s).squeeze(2) for conv in self.front]
        else:
            outs = [conv(x) for conv in self.front]
        x = self.encoder(torch.cat(outs, dim=1))
        if hasattr(self, "se"):
            x = self.se(x)
        return torch.sigmoid(self.decoder(x))


class SpatialAttention(nn.Module):
    """SAGAN's block: 1x1 conv Q, K, V (C -> C), softmax(Q^T K) over the keys without scaling,
    gamma V A^T + x with a learnt scalar gamma starting at 0."""

    def __init__(self, c):
        super().__init__()
        self.query = nn.Conv2d(c, c, 1)
        self.key = nn.Conv2d(c, c, 1)
        self.value = nn.Conv2d(c, c, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = (m(x).reshape(b, c, h * w) for m in (self.query, self.key, self.value))
        a = torch.softmax(torch.bmm(q.transpose(1, 2), k), dim=-1)
        return self.gamma * torch.bmm(v, a.transpose(1, 2)).reshape(b, c, h, w) + x


class SelfAttentionCNN(nn.Module):
    """Conv3x3 4->64, pool, 64->128, pool, 128->256 (ReLU each), attention, bilinear x2 with
    conv 256->128 ReLU, x2 with 128->64 ReLU, conv 64->1. With unet=True, each up-sampling
    conv's output is concatenated with the encoder output of that size and reduced by a 1x1."""

    def __init__(self, unet=False):
        super().__init__()
        self.enc1 = nn.Conv2d(4, 64, 3, padding=1)
        self.enc2 = nn.Conv2d(64, 128, 3, padding=1)
        self.enc3 = nn.Conv2d(128, 256, 3, padding=1)
        self.attn = SpatialAttention(256)
        self.dec1 = nn.Conv2d(256, 128, 3, padding=1)
        self.dec2 = nn.Conv2d(128, 64, 3, padding=1)
        self.unet = unet
        if unet:
            self.skip1 = nn.Conv2d(256, 128, 1)
            self.skip2 = nn.Conv2d(128, 64, 1)
        self.out = nn.Conv2d(64, 1, 3, padding=1)

    def forward(self, x):
        up = lambda t: nn.functional.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
        e1 = torch.relu(self.enc1(x))
        e2 = torch.relu(self.enc2(nn.functional.max_pool2d(e1, 2)))
        x = torch.relu(self.enc3(nn.functional.max_pool2d(e2, 2)))
        x = self.attn(x)
        x = torch.relu(self.dec1(up(x)))
        if self.unet:
            x = self.skip1(torch.cat([x, e2], dim=1))
        x = torch.relu(self.dec2(up(x)))
        if self.unet:
            x = self.skip2(torch.cat([x, e1], dim=1))
        return self.out(x)


def unet_block(c_in, c_out, dropout):
    p = (0.3, 0.4) if dropout else (0.0, 0.0)
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.Dropout(p[0]),
                         nn.LeakyReLU(0.01), nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out),
                         nn.Dropout(p[1]), nn.LeakyReLU(0.01))


class UNet(nn.Module):
    def __init__(self, dropout=True):
        super().__init__()
        self.c1 = unet_block(4, 64, dropout)
        self.down = nn.Sequential(nn.Conv2d(64, 128, 2, stride=2), nn.LeakyReLU(0.01))
        self.c2 = unet_block(128, 128, dropout)
        self.up = nn.Conv2d(128, 64, 1)
        self.c5 = unet_block(128, 64, dropout)
        self.out = nn.Conv2d(64, 1, 3, padding=1)

    def forward(self, x):
        c1 = self.c1(x)
        x = self.c2(self.down(c1))
        x = self.up(nn.functional.interpolate(x, scale_factor=2, mode="nearest"))
        x = self.c5(torch.cat([x, c1], dim=1))
        return torch.sigmoid(self.out(x))


class SequenceModel(nn.Module):
    """Eta rows as tokens [emcal, hcal, trk_n, trk_p rows]; LSTM encoder, LSTM decoder fed its
    outputs and started from its final state; Linear(224 -> W) per row."""

    def __init__(self, size=56, hidden=224):
        super().__init__()
        self.encoder = nn.LSTM(4 * size, hidden, 2, batch_first=True)
        self.decoder = nn.LSTM(hidden, hidden, 2, batch_first=True)
        self.head = nn.Linear(hidden, size)

    def forward(self, x):
        b, c, h, w = x.shape
        t = x.permute(0, 2, 1, 3).reshape(b, h, c * w)
        y, state = self.encoder(t)
        y, _ = self.decoder(y, state)
        return self.head(y).reshape(b, 1, h, w)


def build_earlier(name, size=56, dropout=True):
    if name == "mlp":
        return MLP()
    if name in ("cnn-se", "cnn3d"):
        return EarlierCNN(front3d=name == "cnn3d", se=name == "cnn-se")
    if name in ("cnn-sa", "unet-sa"):
        return SelfAttentionCNN(unet=name == "unet-sa")
    if name == "unet":
        return UNet(dropout)
    if name == "lstm":
        return SequenceModel(size)
    raise SystemExit("unknown model %r (known: %s)" % (name, ", ".join(VARIANTS + EARLIER)))


def build(name, scale, size=56, dropout=True):
    """A model by pflow's name; scale is ignored by the earlier family, size by the scaled one."""
    if name in EARLIER:
        return build_earlier(name, size, dropout)
    if name not in VARIANTS:
        raise SystemExit("unknown model %r (known: %s)" % (name, ", ".join(VARIANTS + EARLIER)))
    return Scaled(name, scale)


def param_count(model):
    return sum(p.numel() for p in model.parameters())


# ---- parity: one forward and backward pass from pflow's weights (tests/test-models.c) --------
ALL = VARIANTS + EARLIER


def parity(inp, out):
    """IN holds every parameter and buffer under its state_dict name, the batch `x`, the output
    gradient `dy` and scalars `model_index` (into ALL), `scale`, `size`, `dropout`, `training`.
    OUT gets the output `y`, `grad.NAME` for every parameter and `state.NAME` for every buffer
    after the pass (BatchNorm's running statistics)."""
    from pfref import read_bundle, write_bundle

    b = read_bundle(inp)
    model = build(ALL[int(b["model_index"][0])], int(b["scale"][0]), int(b["size"][0]),
                  bool(b["dropout"][0]))
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
    model.train(bool(b["training"][0]))
    y = model(torch.from_numpy(b["x"].copy()))
    y.backward(torch.from_numpy(b["dy"].copy()))
    res = {"y": y}
    for k, p in model.named_parameters():
        res["grad." + k] = p.grad if p.grad is not None else torch.zeros_like(p)
    for k, v in model.named_buffers():
        if not k.endswith("num_batches_tracked"):
            res["state." + k] = v
    write_bundle(out, res)


if __name__ == "__main__":
    import argparse
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description="forward/backward parity bundles for test-models")
    ap.add_argument("--out", required=True)
    ap.add_argument("--in", dest="inp", action="append", required=True)
    args = ap.parse_args()
    torch.set_num_threads(2)
    for i, path in enumerate(args.inp):
        parity(path, os.path.join(args.out, "out%d.pfref" % i))
