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
    "faiss ivf nprobe=16",
    "faiss ivf nprobe=64",
    "faiss hnsw ef=64",
)


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
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
