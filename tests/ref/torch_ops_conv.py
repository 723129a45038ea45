"""PyTorch reference for tests/test-ops-conv.c: conv2d, conv3d, BatchNorm2d, linear, bmm, softmax.

Writes one bundle per case, named OP-NN.pfref (NN = 00, 01, ... without gaps), into --out.
Inputs are drawn in float32 with a fixed seed; the reference is then computed in float64 from
those same float32 values, so the bundle holds the exact answer rounded once to float32 and the
C test measures only its own error. Gradients are those of L = sum(y * dy) for a random dy.
Shape parameters are stored as scalar tensors (exact in float32 below 2^24)."""
import argparse
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pfref import write_bundle  # noqa: E402


def leaf(t):
    """float32 draw -> float64 leaf that requires grad (same values)."""
    return t.double().requires_grad_(True)


def backward_with_random_dy(y):
    dy = torch.randn(y.shape).double()
    (y * dy).sum().backward()
    return dy


class Writer:
    def __init__(self, out):
        self.out = out
        self.count = {}

    def write(self, op, tensors):
        missing = [k for k, v in tensors.items() if v is None]
        assert not missing, "%s: no value for %s" % (op, missing)
        i = self.count.get(op, 0)
        self.count[op] = i + 1
        write_bundle(os.path.join(self.out, "%s-%02d.pfref" % (op, i)),
                     {k: (torch.tensor(float(v)) if isinstance(v, (int, float, bool)) else v)
                      for k, v in tensors.items()})


def conv2d_cases(wr):
    # n, c_in, h, w, c_out, kh, kw, sh, sw, ph, pw, bias
    cases = [
        (2, 4, 9, 9, 5, 5, 5, 1, 1, 2, 2, True),     # the model's 5x5 'same' conv
        (3, 3, 7, 11, 2, 3, 3, 1, 1, 1, 1, False),   # 3x3 same, no bias, odd sizes
        (2, 2, 10, 8, 3, 2, 2, 2, 2, 0, 0, True),    # U-Net down-sampling 2x2 stride 2
        (1, 5, 6, 7, 4, 1, 1, 1, 1, 0, 0, True),     # 1x1 conv (attention Q/K/V)
        (2, 3, 13, 9, 4, 3, 5, 2, 3, 2, 1, True),    # anisotropic kernel, stride, padding
        (1, 2, 8, 8, 3, 7, 7, 1, 1, 3, 3, False),    # 7x7 same (front end)
        (2, 1, 5, 6, 2, 4, 3, 3, 2, 3, 2, True),     # padding as large as the kernel allows
    ]
    for (n, ci, h, w, co, kh, kw, sh, sw, ph, pw, has_b) in cases:
        x = leaf(torch.randn(n, ci, h, w))
        wt = leaf(torch.randn(co, ci, kh, kw) / math.sqrt(ci * kh * kw))
        b = leaf(torch.randn(co)) if has_b else None
        y = F.conv2d(x, wt, b, stride=(sh, sw), padding=(ph, pw))
        dy = backward_with_random_dy(y)
        t = dict(n=n, c_in=ci, h=h, w=w, c_out=co, kh=kh, kw=kw, sh=sh, sw=sw, ph=ph, pw=pw,
                 x=x, weight=wt, y=y, dy=dy, dx=x.grad, dweight=wt.grad)
        if has_b:
            t.update(bias=b, dbias=b.grad)
        wr.write("conv2d", t)


def conv3d_cases(wr):
    # n, c_in, d, h, w, c_out, (kd, kh, kw), (sd, sh, sw), (pd, ph, pw), bias
    cases = [
        # the 3D front end of DESIGN.md section 5: Conv3d 1->2 on a depth-3 stack
        (2, 1, 3, 8, 9, 2, (3, 3, 3), (1, 1, 1), (0, 1, 1), True),
        (2, 1, 3, 8, 9, 2, (3, 5, 5), (1, 1, 1), (0, 2, 2), True),
        (2, 1, 3, 8, 9, 2, (3, 7, 7), (1, 1, 1), (0, 3, 3), True),
        # general kernel / stride / padding
        (2, 3, 5, 6, 7, 4, (2, 3, 1), (2, 1, 2), (1, 2, 0), False),
        (1, 2, 4, 5, 5, 3, (3, 3, 3), (1, 2, 1), (1, 1, 1), True),
    ]
    for (n, ci, d, h, w, co, k, s, p, has_b) in cases:
        x = leaf(torch.randn(n, ci, d, h, w))
        wt = leaf(torch.randn(co, ci, *k) / math.sqrt(ci * k[0] * k[1] * k[2]))
        b = leaf(torch.randn(co)) if has_b else None
        y = F.conv3d(x, wt, b, stride=s, padding=p)
        dy = backward_with_random_dy(y)
        t = dict(n=n, c_in=ci, d=d, h=h, w=w, c_out=co, kd=k[0], kh=k[1], kw=k[2],
                 sd=s[0], sh=s[1], sw=s[2], pd=p[0], ph=p[1], pw=p[2],
                 x=x, weight=wt, y=y, dy=dy, dx=x.grad, dweight=wt.grad)
        if has_b:
            t.update(bias=b, dbias=b.grad)
        wr.write("conv3d", t)


def batchnorm_cases(wr):
    # n, c, h, w, eps, momentum
    cases = [
        (4, 3, 5, 5, 1e-5, 0.1),
        (2, 8, 7, 3, 1e-5, 0.1),
        (3, 1, 4, 4, 1e-3, 0.3),
        (1, 5, 2, 3, 1e-5, 0.1),    # batch of one: statistics over hw only
        (5, 2, 1, 1, 1e-5, 0.5),    # 1x1 planes (BN after a dense layer)
    ]
    for (n, c, h, w, eps, mom) in cases:
        # a shifted, scaled input so the statistics are not trivially (0, 1)
        x = leaf(torch.randn(n, c, h, w) * 2.0 + 0.5)
        gamma = torch.rand(c) + 0.5
        beta = torch.randn(c)
        rm_in = torch.randn(c)
        rv_in = torch.rand(c) + 0.5
        bn = torch.nn.BatchNorm2d(c, eps=eps, momentum=mom).double()
        with torch.no_grad():
            bn.running_mean.copy_(rm_in.double())
            bn.running_var.copy_(rv_in.double())
        with torch.no_grad():
            bn.weight.copy_(gamma)
            bn.bias.copy_(beta)
        bn.train()
        y = bn(x)
        dy = backward_with_random_dy(y)
        xd = x.detach()
        mean = xd.mean(dim=(0, 2, 3))
        var = xd.var(dim=(0, 2, 3), unbiased=False)
        y_infer = F.batch_norm(xd, rm_in.double(), rv_in.double(), gamma.double(), beta.double(),
                               training=False, eps=eps)
        wr.write("batchnorm", dict(
            n=n, c=c, hw=h * w, eps=eps, momentum=mom, x=x, gamma=gamma, beta=beta,
            running_mean_in=rm_in, running_var_in=rv_in, y=y,
            running_mean=bn.running_mean, running_var=bn.running_var,
            save_mean=mean, save_invstd=1.0 / torch.sqrt(var + eps),
            dy=dy, dx=x.grad, dgamma=bn.weight.grad, dbeta=bn.bias.grad, y_infer=y_infer))


def linear_cases(wr):
    # m, in, out, bias
    for (m, fin, fout, has_b) in [(7, 5, 3, True), (1, 16, 9, False), (56, 12, 12, True),
                                  (10, 1, 4, True)]:
        x = leaf(torch.randn(m, fin))
        wt = leaf(torch.randn(fout, fin) / math.sqrt(fin))
        b = leaf(torch.randn(fout)) if has_b else None
        y = F.linear(x, wt, b)
        dy = backward_with_random_dy(y)
        t = dict(m=m, n_in=fin, n_out=fout, x=x, weight=wt, y=y, dy=dy, dx=x.grad,
                 dweight=wt.grad)
        if has_b:
            t.update(bias=b, dbias=b.grad)
        wr.write("linear", t)


def bmm_cases(wr):
    shapes = [(3, 4, 5, 6), (2, 7, 3, 1), (1, 9, 9, 8)]  # batch, m, n, k
    for (batch, m, n, k) in shapes:
        for ta in (False, True):
            for tb in (False, True):
                a = leaf(torch.randn(batch, k, m) if ta else torch.randn(batch, m, k))
                b = leaf(torch.randn(batch, n, k) if tb else torch.randn(batch, k, n))
                opa = a.transpose(1, 2) if ta else a
                opb = b.transpose(1, 2) if tb else b
                c = torch.bmm(opa, opb)
                assert torch.allclose(c, torch.matmul(opa, opb))
                dc = backward_with_random_dy(c)
                wr.write("bmm", dict(batch=batch, m=m, n=n, k=k, trans_a=int(ta), trans_b=int(tb),
                                     a=a, b=b, c=c, dc=dc, da=a.grad, db=b.grad))


def softmax_cases(wr):
    # rows, cols, scale, input magnitude
    cases = [
        (5, 7, 1.0, 1.0),
        (56, 56, 1.0 / math.sqrt(32), 3.0),    # row attention: 56 tokens, C = 32
        (14, 196, 1.0, 1.0),                   # spatial attention over 14x14, no scaling
        (4, 9, 1.0 / math.sqrt(8), 40.0),      # large logits: needs the max subtraction
        (3, 1, 0.5, 1.0),                      # a single column: y = 1, dx = 0
    ]
    for (rows, cols, scale, mag) in cases:
        x = leaf(torch.randn(rows, cols) * mag)
        y = torch.softmax(x * scale, dim=-1)
        dy = backward_with_random_dy(y)
        wr.write("softmax", dict(rows=rows, cols=cols, scale=scale, x=x, y=y, dy=dy, dx=x.grad))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(1234)
    wr = Writer(args.out)
    conv2d_cases(wr)
    conv3d_cases(wr)
    batchnorm_cases(wr)
    linear_cases(wr)
    bmm_cases(wr)
    softmax_cases(wr)


if __name__ == "__main__":
    main()
