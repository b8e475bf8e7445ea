"""Scaling plot (queries/s against N) from the JSON files of ``bench_search.py``.

python -m benchmarks.plot_search            # reads benchmarks/results/search_*.json
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = (
    "faiss flat",
    "numpy brute",
    "sklearn brute cosine",
    "faiss ivf nprobe=8",
    "faiss ivf nprobe=32",
    "faiss hnsw ef=64",
)


def tables(paths: list[Path]) -> str:
    """Markdown tables of every run and the windowed rows, for benchmarks/README.md."""
    out = []
    for path in paths:
        results = json.loads(path.read_text())
        out.append(f"### {path.name} (GEMM peak {results['gemm_peak_gflops']} GFLOP/s)\n")
        for run in results["runs"]:
            out.append(f"**{run['data']}, d = {run['d']}, N = {run['n']:,}**\n")
            out.append("| method | build s | index MiB (RSS Δ) | queries | q/s | recall@10 | note |")
            out.append("|---|---|---|---|---|---|---|")
            for r in run["rows"]:
                note = ""
                if "of_gemm_peak" in r:
                    note = f"{r['gflops']} GFLOP/s = {r['of_gemm_peak']:.0%} of GEMM peak"
                elif "mean_hits" in r:
                    note = f"{r['mean_hits']:.1f} hits/query"
                elif "nlist" in r:
                    note = f"nlist {r['nlist']}"
                out.append(
                    f"| {r['method']} | {r['build_s']} | {r['mem_mib']} | {r['queries']} | {r['qps']} "
                    f"| {r['recall@10']} | {note} |"
                )
            out.append("")
        for block in results["windowed"]:
            out.append(f"**time-windowed cross-bloc, lag 72 h, N = {block['n']:,}**\n")
            out.append("| method | q/s | cost vs unfiltered | exact share |")
            out.append("|---|---|---|---|")
            for r in block["rows"]:
                out.append(
                    f"| {r['method']} | {r['qps']} | {r['cost_vs_unfiltered']} | {r.get('exact_share', '')} |"
                )
            out.append("")
        for r in results["coretype"]:
            out.append(f"- OPENBLAS_CORETYPE {r}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="real-like")
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--out", type=Path, default=RESULTS / "search_scaling.png")
    args = parser.parse_args()
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for path in sorted(RESULTS.glob("search_*.json")):
        for run in json.loads(path.read_text())["runs"]:
            if run["data"] != args.data or run["d"] != args.d:
                continue
            for row in run["rows"]:
                if row["method"] in METHODS:
                    series[row["method"]].append((run["n"], row["qps"]))
    fig, ax = plt.subplots(figsize=(6, 4))
    for method in METHODS:
        if series[method]:
            n, qps = zip(*sorted(series[method]), strict=True)
            ax.plot(n, qps, marker="o", label=method)
    ax.set(xscale="log", yscale="log", xlabel="N (base vectors)", ylabel="queries/s (k = 10)")
    ax.set_title(f"{args.data} d={args.d}, 2 shared cores (noisy)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(tables(sorted(RESULTS.glob("search_*.json"))))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
