"""The PyTorch peer of `pflow bench train`: the same architecture (torch_models.py), batch,
loss (MIX = WMSE + 0.05 (1 - SSIM) by default, DESIGN.md §6) and optimiser (Adam), timed the same way
(median of the timed steps after warm-up). Prints `torch_train_samples_per_s X` and
`torch_infer_samples_per_s Y`."""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_loss import loss_value  # noqa: E402
from torch_models import build  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="cnn")
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=56)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--loss", default="mix", choices=("mse", "wmse", "ssim", "mix"))
    ap.add_argument("--precision", default="fp32", choices=("fp32", "tf32", "bf16"),
                    help="fp32: no tensor cores; tf32: TF32 in cuDNN and cuBLAS (PyTorch's default "
                         "for cuDNN convolutions); bf16: autocast to bfloat16, as `pflow --precision bf16`")
    args = ap.parse_args()
    # Like for like: float32 unless asked (PyTorch itself lets cuDNN convolutions use TF32).
    tf32 = args.precision == "tf32"
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    # bf16: products under autocast, the loss in float32 (pflow keeps losses in float32)
    autocast = torch.autocast(device_type=args.device.split(":")[0], dtype=torch.bfloat16,
                              enabled=args.precision == "bf16")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    model = build(args.model, args.scale).to(dev)
    x = torch.rand(args.batch, 4, args.size, args.size, device=dev) * (torch.rand(args.batch, 4, args.size, args.size, device=dev) < 0.4)
    y = torch.rand(args.batch, 1, args.size, args.size, device=dev) * (torch.rand(args.batch, 1, args.size, args.size, device=dev) < 0.4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3 * args.batch / 200)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def train_step():
        opt.zero_grad()
        with autocast:
            pred = model(x)
        loss = loss_value(args.loss, "std", pred.float(), y, 0.05, 1.0)
        loss.backward()
        opt.step()

    model.train()
    times = []
    for i in range(args.warmup + args.steps):
        sync()
        t0 = time.perf_counter()
        train_step()
        sync()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    train = args.batch / statistics.median(times)
    model.eval()
    times = []
    with torch.no_grad(), autocast:
        for i in range(args.warmup + args.steps):
            sync()
            t0 = time.perf_counter()
            model(x)
            sync()
            if i >= args.warmup:
                times.append(time.perf_counter() - t0)
    infer = args.batch / statistics.median(times)
    print("torch_version %s" % torch.__version__)
    print("torch_train_samples_per_s %.3f" % train)
    print("torch_infer_samples_per_s %.3f" % infer)


if __name__ == "__main__":
    main()
