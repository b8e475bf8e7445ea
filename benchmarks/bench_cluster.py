"""Clustering cost per window size: the default sync-graph vs HDBSCAN (raw 512-d and PCA-50).

Data: real USE-multilingual embeddings of the dev corpus 2022 window (shared/data/events feed,
14k articles), cached in a DuckDB store; windows larger than the corpus are built by adding
seeded Gaussian noise (sigma 0.05) to resampled real vectors, with real blocs and timestamps
spread over 72 h. Each (method, size) runs in a fresh subprocess so peak RSS is its own.

    python benchmarks/bench_cluster.py            # sizes 1k, 10k, 50k, 100k
    python benchmarks/bench_cluster.py --quick    # sizes 1k, 5k

Prints a table and writes benchmarks/results/cluster_<date>.json. Machine: 2 cores, 24 GiB.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from detector.config import load_config
from detector.embed.embedding import EmbeddingStage
from detector.narratives.cluster import WindowClusterer
from detector.narratives.density import Hdbscan
from detector.pipeline.daily import read_feeds
from detector.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
FEED = ROOT.parent / "shared" / "data" / "events" / "events_2022_feed.csv"
CACHE = ROOT / "benchmarks" / ".cache" / "bench.duckdb"
# Plain HDBSCAN on raw 512-d vectors needs minutes at 20k points (FINDINGS.md): not run above this.
RAW_HDBSCAN_MAX = 10_000


def real_corpus() -> tuple[np.ndarray, np.ndarray]:
    config = load_config(ROOT / "configs" / "default.toml")
    articles = read_feeds(config, [str(FEED)]).articles
    stage = EmbeddingStage(**config.arguments("embed"))
    with Store(CACHE) as db:
        db.upsert_articles(articles)
        vectors = stage.vectors(db, articles)
    return vectors, articles["bloc"].to_numpy()


def window(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vectors, blocs = real_corpus()
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(vectors), size=size, replace=size > len(vectors))
    x = vectors[pick] + (0.05 * rng.standard_normal((size, vectors.shape[1])) if size > len(vectors) else 0)
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    times = np.sort(rng.integers(0, 72 * 3600, size)).astype(np.int64)
    return x, blocs[pick], times


def _measure(method: str, size: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    x, blocs, times = window(size)
    clusterer = {
        "sync-graph": WindowClusterer(),
        "hdbscan-pca50": WindowClusterer(Hdbscan(pca_dims=50)),
        "hdbscan-raw": WindowClusterer(Hdbscan(pca_dims=0)),
    }[method]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    labels, _ = clusterer.cluster_window(x, blocs, times)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put(
        {
            "method": method, "size": size, "seconds": round(seconds, 3),
            "peak_rss_mb": round(peak / 1024, 1), "rss_growth_mb": round((peak - base) / 1024, 1),
            "clusters": int(labels.max() + 1), "clustered_share": round(float((labels >= 0).mean()), 4),
            "labels": labels.tolist(),
        }
    )  # fmt: skip


def measure(method: str, size: int) -> dict[str, object]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_measure, args=(method, size, queue))
    process.start()
    result: dict[str, object] = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="sizes 1k and 5k only")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000, 100_000])
    parser.add_argument(
        "--hdbscan-max", type=int, default=100_000, help="skip HDBSCAN (PCA-50) above this window size"
    )
    args = parser.parse_args()
    real_corpus()  # fill the embedding cache once, outside the timed runs
    sizes = [1_000, 5_000] if args.quick else args.sizes
    rows = []
    for size in sizes:
        methods = ["sync-graph"]
        methods += ["hdbscan-pca50"] if size <= args.hdbscan_max else []
        methods += ["hdbscan-raw"] if size <= RAW_HDBSCAN_MAX else []
        results = {}
        for method in methods:
            results[method] = measure(method, size)
            print({k: v for k, v in results[method].items() if k != "labels"}, flush=True)
        labels = {m: results[m].pop("labels") for m in methods}
        for method in methods:
            if "hdbscan-raw" in labels:
                ari = adjusted_rand_score(labels["hdbscan-raw"], labels[method])
                results[method]["ari_vs_raw_hdbscan"] = round(float(ari), 4)
            rows.append(results[method])
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    out = ROOT / "benchmarks" / "results" / f"cluster_{date.today():%Y%m%d}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": "2 cores, 24 GiB", "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
