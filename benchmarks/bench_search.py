"""Benchmark of the similarity-search core against the alternatives (a script, not a test).

    python -m benchmarks.bench_search --quick        # < 2 minutes: N = 10k, 100k; d = 512
    python -m benchmarks.bench_search                  # N = 10k, 100k, 1M; d = 384, 512

Per (data, d, N): numpy brute force, scikit-learn NearestNeighbors (brute, cosine), FAISS flat,
IVF (several nprobe), IVF-SQ8, HNSW (several efSearch): build seconds, index memory (RSS delta
from /proc/self/status; tracemalloc cannot see FAISS's C++ allocations), queries/s, recall@10
against FAISS flat. Plus the machine's float32 GEMM peak (large numpy matmul, same run), the
exact search's GFLOP/s against it, a range-search row, the time-windowed cross-bloc rows (ours
vs search-then-mask vs an index per bucket vs unfiltered), and FAISS flat under each
OPENBLAS_CORETYPE (one subprocess per setting: OpenBLAS reads it when it loads).
Writes ``benchmarks/results/search_<date>.json``; ``plot_search.py`` draws it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from sklearn.neighbors import NearestNeighbors

from benchmarks.realdata import random_unit, real_like, real_vectors
from detector.index import VectorIndex, set_threads, windowed_search

HERE = Path(__file__).resolve().parent
DAY = 86_400


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def gemm_peak(threads: int) -> float:
    """Best float32 GEMM GFLOP/s of numpy's BLAS over a few 4096³ products."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4096, 4096), dtype=np.float32)
    a @ a  # warm-up: thread pool, page faults
    best = min(_timed(lambda: a @ a)[0] for _ in range(3))
    return 2 * 4096**3 / best / 1e9


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def numpy_knn(base: np.ndarray, queries: np.ndarray, k: int, chunk: int = 100_000) -> np.ndarray:
    """Brute force: matmul per base chunk, argpartition, merge; returns top-k ids."""
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_i = np.zeros((len(queries), 0), np.int64)
    for start in range(0, len(base), chunk):
        s = queries @ base[start : start + chunk].T
        kk = min(k, s.shape[1])
        part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        best_s = np.hstack([best_s, np.take_along_axis(s, part, axis=1)])
        best_i = np.hstack([best_i, part + start])
        keep = np.argsort(-best_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(best_s, keep, axis=1), np.take_along_axis(best_i, keep, axis=1)
    return best_i


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    hits = sum(len(np.intersect1d(f[:k], t)) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def bench_methods(
    base: np.ndarray, queries: np.ndarray, k: int, args: argparse.Namespace, peak: float
) -> list[dict[str, Any]]:
    n, d = base.shape
    rows: list[dict[str, Any]] = []
    # Exact reference first: FAISS flat.
    before = rss_mib()
    build, flat = _timed(lambda: VectorIndex("flat", threads=args.threads).fit(base))
    mem = rss_mib() - before
    t, exact = _timed(lambda: flat.search(queries, k))
    truth = exact.ids
    gflops = 2 * len(queries) * n * d / t / 1e9
    rows.append(_row("faiss flat", build, mem, len(queries), t, 1.0, gflops=gflops, peak=peak))

    # The rest run fewer queries at large N where they are slow; recall is against the same truth.
    nq_slow = len(queries) if n <= 100_000 else args.slow_queries
    t, ids = _timed(lambda: numpy_knn(base, queries[:nq_slow], k))
    rows.append(_row("numpy brute", 0.0, 0.0, nq_slow, t, recall(ids, truth[:nq_slow])))
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="cosine", n_jobs=args.threads)
    build, _ = _timed(lambda: nn.fit(base))
    t, (_, ids) = _timed(lambda: nn.kneighbors(queries[:nq_slow]))
    rows.append(_row("sklearn brute cosine", build, 0.0, nq_slow, t, recall(ids, truth[:nq_slow])))
    nn = None  # free before the next build
    gc.collect()

    # Range search with the threshold that gives ~k results per query on average.
    threshold = float(np.quantile(exact.similarities[:, -1], 0.5))
    t, res = _timed(lambda: flat.range_search(queries, threshold))
    rows.append(
        _row(
            f"faiss flat range ≥{threshold:.3f}",
            0.0,
            0.0,
            len(queries),
            t,
            1.0,
            mean_hits=len(res.ids) / len(queries),
        )
    )
    flat = None  # free before the next build
    gc.collect()

    for kind, knob, values in (
        ("ivf", "nprobe", args.nprobe),
        ("ivf_sq8", "nprobe", args.nprobe[1:2] if n <= args.sq8_max_n else []),
        ("hnsw", "hnsw_ef_search", args.ef_search),
    ):
        if (kind == "hnsw" and n > args.hnsw_max_n) or not values:
            continue
        before = rss_mib()
        build, index = _timed(lambda kind=kind: VectorIndex(kind, threads=args.threads).fit(base))
        mem = rss_mib() - before
        for value in values:
            setattr(index, knob, value)
            t, found = _timed(lambda index=index: index.search(queries, k))
            label = f"faiss {kind} {'nprobe' if knob == 'nprobe' else 'ef'}={value}"
            rows.append(_row(label, build, mem, len(queries), t, recall(found.ids, truth)))
        if kind.startswith("ivf"):
            rows[-1]["nlist"] = index.index_.nlist
        del index
        gc.collect()
    return rows


def _row(
    method: str, build: float, mem: float, nq: int, t: float, rec: float, **extra: Any
) -> dict[str, Any]:
    row = {"method": method, "build_s": round(build, 3), "mem_mib": round(mem, 1), "queries": nq}
    row |= {"qps": round(nq / t, 1), "recall@10": round(rec, 4)}
    if "gflops" in extra:
        extra = {
            "gflops": round(extra["gflops"], 1),
            "of_gemm_peak": round(extra["gflops"] / extra["peak"], 3),
        }
    print("  ", row | extra, flush=True)  # as it comes: a long run shows progress
    return row | extra


def then_mask(
    index: VectorIndex, queries: np.ndarray, qt: np.ndarray, bt: np.ndarray, k: int, k_mask: int, lag: int
) -> np.ndarray:
    """Search-then-mask: the whole base for ``k_mask`` rows, then drop out-of-window ones."""
    found = index.search(queries, k_mask)
    gap = np.abs(bt[np.clip(found.ids, 0, None)] - qt[:, None])
    s = np.where((found.ids >= 0) & (gap <= lag), found.similarities, -np.inf)
    return np.take_along_axis(found.ids, np.argsort(-s, axis=1)[:, :k], axis=1)


def per_bucket(
    base: np.ndarray, queries: np.ndarray, qt: np.ndarray, bt: np.ndarray, k: int, lag: int
) -> None:
    """An index per 6 h query bucket: copy the bucket's candidate slice into its own flat index."""
    buckets = qt // (6 * 3600)
    for b in np.unique(buckets):
        group = np.flatnonzero(buckets == b)
        lo = np.searchsorted(bt, qt[group].min() - lag)
        hi = np.searchsorted(bt, qt[group].max() + lag, side="right")
        sub = faiss.IndexFlatIP(base.shape[1])
        sub.add(base[lo:hi])
        sub.search(queries[group], min(hi - lo, 4 * k))


def bench_windowed(base: np.ndarray, queries: np.ndarray, k: int, threads: int) -> list[dict[str, Any]]:
    """Cross-bloc windowed search (queries: one bloc, base: the other; lag 72 h; base in time order).

    Two time layouts: base and queries spread over 365 days (a query sees ~1.6% of the base), and
    over 1 day (every query sees every row: the filter's pure overhead). Rows: ours (6 h and 18 h
    buckets), search-then-mask (k' sized for 4× the expected window share; exact share reported),
    an index per bucket, and the unfiltered search of the same base.
    """
    rng = np.random.default_rng(7)
    n, nq, lag = len(base), len(queries), 72 * 3600
    index = VectorIndex("flat", threads=threads).fit(base)
    out: list[dict[str, Any]] = []
    for span_days in (365, 1):
        bt = np.sort(rng.integers(0, span_days * DAY, n))
        qt = rng.integers(0, span_days * DAY, nq)
        t_all, _ = _timed(lambda: index.search(queries, k))
        t_ours, ours = _timed(lambda: windowed_search(index, queries, qt, bt, k, lag))  # noqa: B023
        t_18, _ = _timed(lambda: windowed_search(index, queries, qt, bt, k, lag, 18 * 3600))  # noqa: B023
        k_mask = min(n, int(4 * k * max(1.0, span_days * DAY / (2 * lag))))
        t_mask, masked = _timed(lambda: then_mask(index, queries, qt, bt, k, k_mask, lag))  # noqa: B023
        t_bucket, _ = _timed(lambda: per_bucket(base, queries, qt, bt, k, lag))  # noqa: B023
        exact = float(np.mean([set(a) == set(b) for a, b in zip(masked, ours.ids, strict=True)]))
        span = f"{span_days} d span"
        for method, t in (
            (f"windowed ours, 6 h buckets ({span})", t_ours),
            (f"windowed ours, 18 h buckets ({span})", t_18),
            (f"search-then-mask k'={k_mask} ({span})", t_mask),
            (f"index per 6 h bucket ({span})", t_bucket),
            (f"unfiltered flat ({span})", t_all),
        ):
            out.append({"method": method, "qps": round(nq / t, 1), "cost_vs_unfiltered": round(t / t_all, 2)})
        out[-3]["exact_share"] = round(exact, 4)
    return out


CORETYPE_PROBE = """
import time, numpy as np, faiss, ctypes, glob, os
faiss.omp_set_num_threads({threads})
lib = glob.glob(os.path.join(os.path.dirname(faiss.__file__), '..', 'faiss_cpu.libs', 'libopenblas*'))
name = ctypes.CDLL(lib[0]).openblas_get_corename if lib else None
if name: name.restype = ctypes.c_char_p
rng = np.random.default_rng(0)
b = rng.standard_normal(({n}, {d}), dtype=np.float32); q = rng.standard_normal((1000, {d}), dtype=np.float32)
ix = faiss.IndexFlatIP({d}); ix.add(b); ix.search(q[:100], 10)
best = min((lambda t: (ix.search(q, 10), time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(3))
print((name().decode() if name else '?'), 1000 / best, 2 * 1000 * {n} * {d} / best / 1e9)
"""


def bench_coretype(args: argparse.Namespace, n: int, d: int) -> list[dict[str, Any]]:
    rows = []
    for core in ("", "Haswell", "Zen", "SkylakeX", "Sandybridge"):
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        if core:
            env["OPENBLAS_CORETYPE"] = core
        code = CORETYPE_PROBE.format(threads=args.threads, n=n, d=d)
        proc = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode == 0:
            corename, qps, gflops = proc.stdout.split()
            rows.append(
                {
                    "OPENBLAS_CORETYPE": core or "(unset)",
                    "core_used": corename,
                    "qps": round(float(qps), 1),
                    "gflops": round(float(gflops), 1),
                }
            )
        else:
            rows.append(
                {"OPENBLAS_CORETYPE": core, "error": f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"}
            )
        print("  coretype", rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="N = 10k, 100k, real-like, d = 512 (< 2 min)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dims", type=int, nargs="+", default=[384, 512])
    parser.add_argument("--data", nargs="+", default=["real-like", "random"], choices=["real-like", "random"])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument(
        "--slow-queries", type=int, default=200, help="queries for numpy/sklearn above N = 100k"
    )
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--ef-search", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--hnsw-max-n", type=int, default=100_000, help="skip HNSW above this N (slow build)")
    parser.add_argument("--sq8-max-n", type=int, default=100_000, help="skip IVF-SQ8 above this N")
    parser.add_argument("--real-texts", type=int, default=6000)
    parser.add_argument("--no-coretype", action="store_true", help="skip the OPENBLAS_CORETYPE probe")
    parser.add_argument("--coretype-n", type=int, default=200_000, help="base size of the coretype probe")
    parser.add_argument("--tag", default="", help="suffix of the JSON file name")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.dims, args.data = [10_000, 100_000], [512], ["real-like"]
        args.nprobe, args.ef_search, args.hnsw_max_n, args.sq8_max_n = [8, 32], [64], 10_000, 10_000
        args.coretype_n = 20_000
    set_threads(args.threads)
    started = time.perf_counter()
    peak = gemm_peak(args.threads)
    print(f"float32 GEMM peak (numpy, {args.threads} threads): {peak:.1f} GFLOP/s", flush=True)
    real = real_vectors(args.real_texts)
    results: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        },
        "faiss": faiss.__version__,
        "numpy": np.__version__,
        "threads": args.threads,
        "k": args.k,
        "env": {key: os.environ.get(key) for key in ("OMP_WAIT_POLICY", "OPENBLAS_CORETYPE")},
        "gemm_peak_gflops": round(peak, 1),
        "runs": [],
        "windowed": [],
        "coretype": [],
    }
    for d in args.dims:
        for data in args.data:
            for n in args.sizes:
                seed = n + d
                make = (
                    (lambda m, s, d=d: real_like(real, m, d, s))
                    if data == "real-like"
                    else (lambda m, s, d=d: random_unit(m, d, s))
                )
                base, queries = make(n, seed), make(args.queries, seed + 1)
                print(f"\n== {data} d={d} N={n:,} ==", flush=True)
                rows = bench_methods(base, queries, args.k, args, peak)
                results["runs"].append({"data": data, "d": d, "n": n, "rows": rows})
                if data == "real-like" and d == max(args.dims):
                    w = bench_windowed(base, queries, args.k, args.threads)
                    for r in w:
                        print("   windowed", r, flush=True)
                    results["windowed"].append({"data": data, "d": d, "n": n, "rows": w})
                del base, queries
                gc.collect()
                write(results, args)  # after every run: a long run stopped early keeps its rows
    if not args.no_coretype:
        results["coretype"] = bench_coretype(args, args.coretype_n, 512)
    # The machine is shared: a second peak measurement shows how much the load moved.
    results["gemm_peak_end_gflops"] = round(gemm_peak(args.threads), 1)
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(f"\nwrote {write(results, args)} in {results['seconds']} s")


def write(results: dict[str, Any], args: argparse.Namespace) -> Path:
    args.out.mkdir(parents=True, exist_ok=True)
    tag = ("_quick" if args.quick else "") + (f"_{args.tag}" if args.tag else "")
    path = args.out / f"search_{results['date']}{tag}.json"
    path.write_text(json.dumps(results, indent=1))
    return path


if __name__ == "__main__":
    main()
