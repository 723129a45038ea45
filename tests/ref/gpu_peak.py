"""The GPU's measured ceilings for the benchmark table: float32, TF32 and bf16 matrix products
(8192^3, random data, CUDA events, median of 10 after 3 warm-ups) and device-to-device copy
bandwidth (bytes read + written). Prints one JSON object."""
import json
import torch


def timed(fn, reps=10, warm=3):
    for _ in range(warm):
        fn()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b) / 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    n = 8192
    x, y = torch.randn(n, n, device="cuda"), torch.randn(n, n, device="cuda")
    out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    for name, tf32 in (("fp32", False), ("tf32", True)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        out[name + "_gemm_tflops"] = 2 * n ** 3 / timed(lambda: x @ y) / 1e12
    torch.backends.cuda.matmul.allow_tf32 = False
    xb, yb = x.bfloat16(), y.bfloat16()
    out["bf16_gemm_tflops"] = 2 * n ** 3 / timed(lambda: xb @ yb) / 1e12
    del xb, yb
    src = torch.randn(512 * 1024 * 1024 // 4, device="cuda")  # 512 MiB
    dst = torch.empty_like(src)
    out["copy_gb_per_s"] = 2 * src.numel() * 4 / timed(lambda: dst.copy_(src)) / 1e9
    print(json.dumps(out))


if __name__ == "__main__":
    main()
