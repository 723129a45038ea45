"""What the GPU's reduced-precision modes should cost, emulated on the CPU in float64 with
PyTorch (docs/cuda-backend.md, "Precision"; the tolerances of tests/test-cuda-precision.c).

bf16: every convolution's x, w and dy rounded to bfloat16, its y, dx and dw rounded again (what
cuDNN's bf16 kernels with float32 accumulation, as pf-cuda-conv.cu calls them, do up to the
order of the sums); GEMMs with bf16 operands and a float32 result (cuBLAS's FAST_16BF).
tf32: operands rounded to 10 explicit mantissa bits, results float32.
Prints the relative (L2) error against float64 of the test-cuda-precision op shapes, then of a
whole MIX step's loss and gradients for cnn, 3d and rowatt at scale 1 (batch 4, 24x24).
    /usr/bin/python3 tests/ref/precision_emu.py"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_loss import loss_value  # noqa: E402
from torch_models import build  # noqa: E402

F = torch.nn.functional


def to_bf16(t):
    return t.to(torch.bfloat16).to(t.dtype)


def to_tf32(t):
    """Round to nearest even at 10 explicit mantissa bits (via float32's bits)."""
    i = t.float().view(torch.int32)
    i = (i + 0xFFF + ((i >> 13) & 1)) & ~0x1FFF
    return i.view(torch.float32).to(t.dtype)


def to_fp32(t):
    return t.float().to(t.dtype)


def rel(a, b):
    return float((a - b).norm() / b.norm())


def op_case(name, x, w, dy, op, rnd, out):
    x, w, dy = x.double(), w.double(), dy.double()
    xe, we = x.clone().requires_grad_(), w.clone().requires_grad_()
    y = op(xe, we)
    y.backward(dy)
    xr, wr = rnd(x).requires_grad_(), rnd(w).requires_grad_()
    y2 = op(xr, wr)
    y2.backward(rnd(dy))
    print("%-12s forward %.2e  dx %.2e  dw %.2e" % (
        name, rel(out(y2.detach()), y.detach()), rel(out(xr.grad), xe.grad), rel(out(wr.grad), we.grad)))


def ops():
    torch.manual_seed(0)
    c2 = lambda a, b: F.conv2d(a, b, padding=1)  # noqa: E731
    c3 = lambda a, b: F.conv3d(a, b, padding=1)  # noqa: E731
    lin = lambda a, b: a @ b.t()  # noqa: E731
    cases = (("conv2d", c2, (4, 16, 20, 20), (32, 16, 3, 3), (4, 32, 20, 20), True),
             ("conv3d", c3, (2, 4, 6, 12, 12), (8, 4, 3, 3, 3), (2, 8, 6, 12, 12), True),
             ("linear", lin, (64, 300), (96, 300), (64, 96), False))
    for name, op, xs, ws, ys, conv in cases:
        x, w, dy = torch.rand(xs) * 2 - 1, torch.rand(ws) - 0.5, torch.rand(ys) * 2 - 1
        op_case(name + " bf16", x, w, dy, op, to_bf16, to_bf16 if conv else to_fp32)
        op_case(name + " tf32", x, w, dy, op, to_tf32, to_fp32)


def bf16_conv(conv):
    """conv with bf16 operands and results, and the same in its backward."""
    class Conv(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, b, kw):
            ctx.save_for_backward(x, w)
            ctx.kw, ctx.has_b = kw, b is not None
            y = to_bf16(conv(to_bf16(x), to_bf16(w), None, **kw))
            return y + b.view(1, -1, *([1] * (x.dim() - 2))) if b is not None else y

        @staticmethod
        def backward(ctx, dy):
            x, w = ctx.saved_tensors
            with torch.enable_grad():
                xr, wr = to_bf16(x).requires_grad_(), to_bf16(w).requires_grad_()
                dx, dw = torch.autograd.grad(conv(xr, wr, None, **ctx.kw), (xr, wr), to_bf16(dy))
            db = dy.sum(dim=[0] + list(range(2, dy.dim()))) if ctx.has_b else None
            return to_bf16(dx), to_bf16(dw), db, None

    def f(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        return Conv.apply(x, w, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups))
    return f


def step(model, emulate):
    torch.manual_seed(3)
    m = build(model, 1).double().train()
    g = torch.Generator().manual_seed(5)
    s = (4, 4, 24, 24)
    x = torch.rand(s, generator=g, dtype=torch.float64) * (torch.rand(s, generator=g, dtype=torch.float64) < 0.3)
    s = (4, 1, 24, 24)
    y = torch.rand(s, generator=g, dtype=torch.float64) * (torch.rand(s, generator=g, dtype=torch.float64) < 0.3)
    saved = F.conv2d, F.conv3d, F.linear, torch.bmm
    if emulate:
        F.conv2d, F.conv3d = bf16_conv(saved[0]), bf16_conv(saved[1])
        F.linear = lambda a, w, b=None: to_bf16(a) @ to_bf16(w).t() + (b if b is not None else 0)
        torch.bmm = lambda a, b: saved[3](to_bf16(a), to_bf16(b))
    try:
        loss = loss_value("mix", "std", m(x), y, 0.05, 1.0)
        loss.backward()
    finally:
        F.conv2d, F.conv3d, F.linear, torch.bmm = saved
    return loss.item(), torch.cat([p.grad.reshape(-1) for p in m.parameters()])


def main():
    ops()
    for model in ("cnn", "3d", "rowatt"):
        l0, g0 = step(model, False)
        l1, g1 = step(model, True)
        print("%-6s bf16 MIX step: loss %.2e  gradients %.2e" % (model, abs(l1 - l0) / abs(l0), rel(g1, g0)))


if __name__ == "__main__":
    main()
