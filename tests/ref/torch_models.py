"""PyTorch modules of the pflow model zoo (DESIGN.md §5), written from the specification.

Their state_dict names are the names pflow gives its parameters and buffers (core/nn/
pf-model-scaled.c), so a pflow checkpoint loads into them, and the parity and benchmark scripts
run exactly the same architecture in both."""
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


def build(name, scale):
    if name not in VARIANTS:
        raise SystemExit("unknown model %r (known: %s)" % (name, ", ".join(VARIANTS)))
    return Scaled(name, scale)


def param_count(model):
    return sum(p.numel() for p in model.parameters())
