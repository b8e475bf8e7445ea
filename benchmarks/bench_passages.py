"""What passage-level matching costs on the dev corpus's 2022 window (issue #12).

Splits every article of the feed with the default ``[passages]`` settings (statistics over the
whole feed), then, for the articles published in ``[--since, --until)``: embeds article units and
passage units into fresh stores (so nothing is cached), compares the cross-bloc windowed k-NN over
article vectors with the same search over passage vectors, and times the article-pair roll-up
(:func:`detector.embed.passage_pairs.best_passage_pairs`) on the article k-NN edges. Wall and CPU seconds are
both recorded: on shared cores the CPU seconds are the steadier measure of the work.

    python -m benchmarks.bench_passages [--feed PATH] [--since DATE] [--until DATE]

Prints a table and writes ``benchmarks/results/passages_2022.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from detector.config import Config
from detector.embed.embedding import EmbeddingStage
from detector.embed.passage_pairs import best_passage_pairs
from detector.embed.passages import PassageStage
from detector.index import CrossBlocSearcher, VectorIndex
from detector.store.store import Store
from detector.times import epoch_seconds

FEED = Path("/work/shared/data/events/events_2022_feed.csv")
RESULTS = Path(__file__).resolve().parent / "results" / "passages_2022.json"
K = 10
LAG_HOURS = 72.0
ROLLUP_PAIRS = 100_000


def timed(fn: Any, *args: Any) -> tuple[Any, dict[str, float]]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return result, {"wall": round(time.perf_counter() - wall, 2), "cpu": round(time.process_time() - cpu, 2)}


def split_stats(passages: pd.DataFrame, n_articles: int) -> dict[str, Any]:
    counts = passages.groupby("article_pos").size().reindex(range(n_articles), fill_value=0).to_numpy()
    return {
        "articles": n_articles,
        "articles_split": int((passages["kind"] != "whole").groupby(passages["article_pos"]).any().sum()),
        "passages": len(passages),
        "passages_per_article": {
            "mean": round(float(counts.mean()), 2),
            "p95": float(np.percentile(counts, 95)),
            "max": int(counts.max()),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feed", type=Path, default=FEED)
    parser.add_argument("--since", default="2022-01-01", help="first day embedded and searched (UTC)")
    parser.add_argument("--until", default="2023-01-01", help="day after the last one (UTC)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    # Other jobs share the cores: the load average says how far to trust the seconds below.
    load_before = os.getloadavg()[0]
    feed = pd.read_csv(args.feed, dtype=str, keep_default_na=False)
    feed["published_at"] = pd.to_datetime(feed["published_at"], utc=True, format="ISO8601")
    config = Config()
    embedding = EmbeddingStage(**config.arguments("embed"))
    settings = config.arguments("passages")
    stage = PassageStage(**settings, embedding=embedding)

    feed_passages, split_s = timed(stage.passages, feed)
    whole_feed = split_stats(feed_passages, len(feed))
    since, until = pd.Timestamp(args.since, tz="UTC"), pd.Timestamp(args.until, tz="UTC")
    articles = feed[(feed["published_at"] >= since) & (feed["published_at"] < until)].reset_index(drop=True)
    passages = stage.passages(articles)
    timed_window = split_stats(passages, len(articles))
    article_texts = set(embedding.texts(articles))
    shared = int(passages["text"].isin(article_texts).sum())

    _, load_s = timed(embedding.embedder.encode, ["warm-up"])  # model load, kept out of the timings
    with tempfile.TemporaryDirectory() as tmp:
        with Store(Path(tmp) / "articles.duckdb") as db:
            article_vectors, article_s = timed(embedding.vectors, db, articles)
        with Store(Path(tmp) / "passages.duckdb") as db:
            passage_vectors, passage_s = timed(stage.vectors, db, passages)
            _, rerun_s = timed(stage.vectors, db, passages)

    blocs = articles["bloc"].to_numpy()
    times = epoch_seconds(articles["published_at"])
    pos = passages["article_pos"].to_numpy()
    searcher = CrossBlocSearcher(VectorIndex(**config.arguments("index")))
    edges, knn_article_s = timed(searcher.neighbours, article_vectors, blocs, times, K, LAG_HOURS)
    passage_edges, knn_passage_s = timed(
        searcher.neighbours, passage_vectors, blocs[pos], times[pos], K, LAG_HOURS
    )
    query, candidate = edges["source"].to_numpy(), edges["target"].to_numpy()
    (sims, _, _), rollup_s = timed(best_passage_pairs, passage_vectors, pos, query, candidate)
    raised = sims > edges["similarity"].to_numpy() + 1e-6
    # Roll-up at scale: 100k random article pairs over the whole feed's passage layout
    # (random unit vectors; the cost depends on passage counts, not on the values).
    rng = np.random.default_rng(0)
    layout = feed_passages["article_pos"].to_numpy()
    noise = rng.standard_normal((len(layout), passage_vectors.shape[1])).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    pairs = rng.integers(0, len(feed), (2, ROLLUP_PAIRS))
    _, rollup_100k_s = timed(best_passage_pairs, noise, layout, pairs[0], pairs[1])

    result = {
        "feed": str(args.feed),
        "settings": settings,
        "load_average_1min": {"start": round(load_before, 1), "end": round(os.getloadavg()[0], 1)},
        "whole_feed": whole_feed,
        "timed_window": {"since": args.since, "until": args.until, **timed_window},
        "passage_texts_shared_with_article_texts": shared,
        "seconds": {
            "model_load": load_s,
            "split": split_s,
            "embed_article_unit": article_s,
            "embed_passage_unit": passage_s,
            "passage_vectors_cached_rerun": rerun_s,
            "knn_articles": knn_article_s,
            "knn_passages": knn_passage_s,
            "rollup_best_passage_pairs": rollup_s,
            "rollup_100k_random_pairs_whole_feed": rollup_100k_s,
        },
        "vector_mib": {
            "articles": round(article_vectors.nbytes / 2**20, 1),
            "passages": round(passage_vectors.nbytes / 2**20, 1),
        },
        "knn": {
            "k": K,
            "lag_hours": LAG_HOURS,
            "article_edges": len(edges),
            "passage_edges": len(passage_edges),
        },
        "rollup": {
            "pairs": len(edges),
            "pairs_per_wall_second": round(len(edges) / max(rollup_s["wall"], 1e-9)),
            "pairs_raised_by_a_passage": int(raised.sum()),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    w, per = result["timed_window"], whole_feed["passages_per_article"]
    rows = [
        ("load average start / end", "{start} / {end}".format(**result["load_average_1min"])),
        (
            "feed: articles (split) / passages",
            f"{len(feed)} ({whole_feed['articles_split']}) / {len(feed_passages)}",
        ),
        ("feed: passages per article mean / p95 / max", f"{per['mean']} / {per['p95']} / {per['max']}"),
        (f"{args.since}..{args.until}: articles (split)", f"{w['articles']} ({w['articles_split']})"),
        (f"{args.since}..{args.until}: passages", f"{w['passages']} (shared with article texts: {shared})"),
        *((f"seconds wall / cpu: {k}", "{wall} / {cpu}".format(**v)) for k, v in result["seconds"].items()),
        ("vectors MiB articles / passages", "{articles} / {passages}".format(**result["vector_mib"])),
        ("k-NN edges articles / passages", f"{len(edges)} / {len(passage_edges)}"),
        ("roll-up pairs per wall second", str(result["rollup"]["pairs_per_wall_second"])),
        ("pairs where a passage beats the article vector", str(int(raised.sum()))),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"-> {RESULTS}")


if __name__ == "__main__":
    main()
