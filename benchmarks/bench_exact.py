"""Exact search at N = 1M against the machine's GEMM peak, measured side by side (a script).

    python -m benchmarks.bench_exact                 # N = 1M, d = 512, 1,000 queries, 3 rounds
    python -m benchmarks.bench_exact --n 200000      # smaller, faster

Why a second script beside ``bench_search.py``: on this shared 2-core machine the float32 GEMM
peak itself drifts during a long run (177 GFLOP/s at the start of the 1M run of 2026-11-23, 138 at
its end), so "share of peak" is only meaningful when the peak is measured right next to the search
it divides. Each round here measures: GEMM peak, FAISS flat with FAISS's default BLAS block sizes
and with the (query x database) block sizes of ``--blocks``, numpy brute force, GEMM peak again; every
search's share is against the mean of the two peaks around its round. Prints a table and writes
``benchmarks/results/exact_<date>[_tag].json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from benchmarks.bench_search import gemm_peak, numpy_knn
from benchmarks.realdata import random_unit
from detector.index.core import BLAS_DATABASE_BLOCK, BLAS_QUERY_BLOCK

HERE = Path(__file__).resolve().parent


def flat_qps(index: faiss.IndexFlatIP, queries: np.ndarray, k: int, blocks: tuple[int, int] | None) -> float:
    """Queries/s of one exact search; ``blocks`` = (query block, database block) of FAISS's BLAS
    path (None: FAISS's defaults)."""
    default = faiss.cvar.distance_compute_blas_query_bs, faiss.cvar.distance_compute_blas_database_bs
    if blocks is not None:
        faiss.cvar.distance_compute_blas_query_bs, faiss.cvar.distance_compute_blas_database_bs = blocks
    try:
        start = time.perf_counter()
        index.search(queries, k)
        return len(queries) / (time.perf_counter() - start)
    finally:
        faiss.cvar.distance_compute_blas_query_bs, faiss.cvar.distance_compute_blas_database_bs = default


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--numpy-queries", type=int, default=300, help="numpy is slow: fewer queries")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--blocks",
        nargs="+",
        default=[f"{BLAS_QUERY_BLOCK}x{BLAS_DATABASE_BLOCK}", "1024x16384"],
        help="query x database block sizes; the first default is what detector.index uses",
    )
    parser.add_argument("--tag", default="")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()

    faiss.omp_set_num_threads(args.threads)  # not set_threads: that also sets our block sizes
    base = random_unit(args.n, args.d, seed=0)
    queries = random_unit(args.queries, args.d, seed=1)
    index = faiss.IndexFlatIP(args.d)
    index.add(base)
    flops_per_query = 2 * args.n * args.d
    defaults = f"{faiss.cvar.distance_compute_blas_query_bs}x{faiss.cvar.distance_compute_blas_database_bs}"
    variants: list[tuple[str, tuple[int, int] | None]] = [
        (f"faiss flat, blocks {defaults} (FAISS default)", None),
        *[(f"faiss flat, blocks {b}", (int(b.split("x")[0]), int(b.split("x")[1]))) for b in args.blocks],
    ]
    flat_qps(index, queries[:100], args.k, None)  # warm-up: thread pool, page faults
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        before = gemm_peak(args.threads)
        # The order rotates each round, so no variant always runs first (warm caches, turbo).
        order = variants[r % len(variants) :] + variants[: r % len(variants)]
        measured = {name: flat_qps(index, queries, args.k, block) for name, block in order}
        qps = {name: measured[name] for name, _ in variants}
        start = time.perf_counter()
        numpy_knn(base, queries[: args.numpy_queries], args.k)
        qps["numpy brute (matmul + argpartition)"] = args.numpy_queries / (time.perf_counter() - start)
        after = gemm_peak(args.threads)
        peak = (before + after) / 2
        shares = {m: q * flops_per_query / 1e9 / peak for m, q in qps.items()}
        rounds.append({"round": r, "peak_before": round(before, 1), "peak_after": round(after, 1), "qps": qps,
                       "share_of_peak": shares})  # fmt: skip

    print(f"N = {args.n:,}, d = {args.d}, k = {args.k}, {args.threads} threads, {args.rounds} rounds, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'method':44s} {'q/s (median)':>13s} {'GFLOP/s':>8s} {'of peak':>8s} {'vs numpy':>9s}")
    numpy_qps = float(np.median([r["qps"]["numpy brute (matmul + argpartition)"] for r in rounds]))
    summary = []
    for method in rounds[0]["qps"]:
        q = float(np.median([r["qps"][method] for r in rounds]))
        share = float(np.median([r["share_of_peak"][method] for r in rounds]))
        gflops = q * flops_per_query / 1e9
        summary.append({"method": method, "qps": round(q, 1), "gflops": round(gflops, 1),
                        "share_of_peak": round(share, 3), "vs_numpy": round(q / numpy_qps, 2)})  # fmt: skip
        print(f"{method:44s} {q:13.1f} {gflops:8.1f} {share:8.0%} {q / numpy_qps:8.2f}x")
    peaks = [p for r in rounds for p in (r["peak_before"], r["peak_after"])]
    print(f"GEMM peak over the run: {min(peaks):.0f}–{max(peaks):.0f} GFLOP/s; the 4x-numpy target needs "
          f"{4 * numpy_qps * flops_per_query / 1e9:.0f} GFLOP/s")  # fmt: skip
    result = {"date": dt.date.today().isoformat(), "n": args.n, "d": args.d, "k": args.k,
              "queries": args.queries, "threads": args.threads, "faiss": faiss.__version__,
              "load_average": os.getloadavg(), "rounds": rounds, "summary": summary}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"exact_{result['date']}{'_' + args.tag if args.tag else ''}.json"
    path.write_text(json.dumps(result, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
