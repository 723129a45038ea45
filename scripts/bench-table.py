"""Markdown table of scripts/bench-gpu.sh's results (OUTDIR/train.jsonl, peak.json, sim.txt)."""
import json
import sys
from pathlib import Path


def main():
    out = Path(sys.argv[1])
    peak = json.loads((out / "peak.json").read_text() or "{}")
    fp32 = peak.get("fp32_gemm_tflops")
    print("GPU: %s; measured float32 GEMM %.1f TFLOP/s, TF32 %.1f, copy %.0f GB/s (torch %s)\n" % (
        peak.get("device", "?"), fp32 or 0, peak.get("tf32_gemm_tflops", 0), peak.get("copy_gb_per_s", 0),
        peak.get("torch", "?")))
    print("| model | scale | batch | params | pflow train/s | torch train/s | ratio | pflow infer/s | torch infer/s | ratio | GFLOP/step | train TFLOP/s | of fp32 peak | graph |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for line in (out / "train.jsonl").read_text().splitlines():
        r = json.loads(line)
        if "error" in r:
            print("| %s | %s | | | failed: %s |||||||||" % (r["model"], r["scale"] or "-", r["error"]))
            continue
        step = 3 * r["forward_flops_per_batch"] / 1e9
        tfl = r["train_gflops"] / 1e3
        print("| %s | %s | %d | %d | %.0f | %s | %s | %.0f | %s | %s | %.1f | %.2f | %s | %s |" % (
            r["model"], r["scale"] or "-", r["batch"], r["params"], r["train_samples_per_s"],
            "%.0f" % r["torch_train_samples_per_s"] if "torch_train_samples_per_s" in r else "-",
            "%.2fx" % r["train_ratio_vs_torch"] if "train_ratio_vs_torch" in r else "-",
            r["infer_samples_per_s"],
            "%.0f" % r["torch_infer_samples_per_s"] if "torch_infer_samples_per_s" in r else "-",
            "%.2fx" % r["infer_ratio_vs_torch"] if "infer_ratio_vs_torch" in r else "-",
            step, tfl, "%.0f%%" % (100 * tfl / fp32) if fp32 else "-",
            "yes" if r.get("cuda_graph", "").startswith("recorded") else "no"))
    sim = out / "sim.txt"
    if sim.exists():
        print("\nSimulator:\n```\n" + sim.read_text().strip() + "\n```")


if __name__ == "__main__":
    main()
