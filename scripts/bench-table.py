"""Markdown table of scripts/bench-gpu.sh's results (OUTDIR/train.jsonl, peak.json, sim.txt)."""
import json
import sys
from pathlib import Path


def main():
    out = Path(sys.argv[1])
    peak = json.loads((out / "peak.json").read_text() or "{}")
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    # the ceiling of the precision the products ran in (bench-gpu.sh runs one precision)
    precision = next((r["precision"] for r in rows if "precision" in r), "fp32")
    ceiling = peak.get(precision + "_gemm_tflops")
    print("GPU: %s; measured GEMM TFLOP/s: float32 %.1f, TF32 %.1f, bf16 %.1f; copy %.0f GB/s (torch %s)" % (
        peak.get("device", "?"), peak.get("fp32_gemm_tflops", 0), peak.get("tf32_gemm_tflops", 0),
        peak.get("bf16_gemm_tflops", 0), peak.get("copy_gb_per_s", 0), peak.get("torch", "?")))
    print("Products in %s for both peers; \"of peak\" is of the measured %s GEMM.\n" % (precision, precision))
    print("| model | scale | batch | params | pflow train/s | torch train/s | ratio | pflow infer/s | torch infer/s | ratio | GFLOP/step | train TFLOP/s | of peak | graph |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
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
            step, tfl, "%.0f%%" % (100 * tfl / ceiling) if ceiling else "-",
            "yes" if r.get("cuda_graph", "").startswith("recorded") else "no"))
    sim = out / "sim.txt"
    if sim.exists():
        print("\nSimulator:\n```\n" + sim.read_text().strip() + "\n```")


if __name__ == "__main__":
    main()
