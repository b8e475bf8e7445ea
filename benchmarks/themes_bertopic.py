"""BERTopic side by side with the recommended theme discovery, on the same USE vectors (issue #26).

BERTopic (Grootendorst 2022) is run as its users run it -- UMAP to 5 dimensions, HDBSCAN, c-TF-IDF --
but on our precomputed USE vectors (``embeddings=``; no model is downloaded), over the cn and ru
articles of each feed (controls are not theme members, as in our stage). Two readings of its topics:
``topics`` (a topic is a theme) and ``topics x 7-day bins`` (a topic's articles in one weekly bin are
a theme, the ``topics_over_time`` reading a reader of a timeline makes). Measured with
:mod:`detector.evaluate.theme_metrics`: the campaign rule on ``campaigns_2024`` / ``campaigns_2022``,
and B-cubed F1 of file E's narratives injected into the real 2022 background
(:func:`themes_designs.e_in_background`), beside the recommended design on the same feed.

BERTopic needs its own environment (it pins torch through sentence-transformers)::

    python3 -m venv /work/venvs/bertopic
    /work/venvs/bertopic/bin/pip install torch==2.13.0 bertopic==0.17.4 pyarrow
    PYTHONPATH=.:benchmarks /work/venvs/bertopic/bin/python benchmarks/themes_bertopic.py \
        --data ../shared/data --cache /tmp/themes-lab --json benchmarks/results/themes_bertopic.json

The vectors in ``--cache`` are the ones ``benchmarks/themes_designs.py`` writes (run it first).
Prints a table and writes the figures with the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
from themes_common import (
    DAY,
    THEME_BLOCS,
    Feed,
    e_in_background,
    e_vectors,
    evaluate,
    load_feed,
    members_frame,
    recommended_labels,
)

from detector.evaluate.theme_metrics import bcubed


def bertopic_labels(feed: Feed, rows: np.ndarray, min_topic_size: int, seed: int) -> np.ndarray:
    """BERTopic topics (-1 = outlier) of ``rows``, on the feed's own vectors."""
    from bertopic import BERTopic
    from hdbscan import HDBSCAN
    from umap import UMAP

    docs = (feed.articles["title"] + "\n" + feed.articles["text"]).iloc[rows].str.slice(0, 2000).tolist()
    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
    hdbscan = HDBSCAN(min_cluster_size=min_topic_size, metric="euclidean", cluster_selection_method="eom")
    model = BERTopic(umap_model=umap, hdbscan_model=hdbscan, calculate_probabilities=False)
    topics, _ = model.fit_transform(docs, embeddings=feed.vectors[rows])
    return np.asarray(topics, dtype=np.int64)


def time_binned(labels: np.ndarray, times: np.ndarray, bin_days: float) -> np.ndarray:
    """A topic's articles in one ``bin_days`` bin form one theme (outliers stay -1)."""
    bins = ((times - times.min()) // (bin_days * DAY)).astype(np.int64)
    keyed = np.where(labels >= 0, labels * 10_000 + bins, -1)
    _, dense = np.unique(keyed, return_inverse=True)
    return np.where(labels >= 0, dense, -1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/themes-lab"), help="vector cache folder")
    parser.add_argument(
        "--store", type=Path, default=None, help="embedding store copy, if vectors are missing"
    )
    parser.add_argument(
        "--min-topic-size", type=int, default=10, help="BERTopic min_topic_size (its default 10)"
    )
    parser.add_argument("--seed", type=int, default=0, help="UMAP and injection seed")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    results: list[dict[str, object]] = []
    feeds = {n: load_feed(args.data, n, args.cache, args.store) for n in ("campaigns_2024", "campaigns_2022")}
    vectors_e = e_vectors(args.data, args.cache, args.store)
    efeed, truth_labels = e_in_background(args.data, feeds["campaigns_2022"], vectors_e, 28.0, args.seed)
    rows = np.flatnonzero(efeed.articles["bloc"].isin(THEME_BLOCS).to_numpy())
    for method, labelling in (
        ("recommended", lambda: recommended_labels(efeed, rows)),
        ("BERTopic topics", lambda: bertopic_labels(efeed, rows, args.min_topic_size, args.seed)),
    ):
        started = time.process_time()
        lab = labelling()
        score = bcubed([int(x) if x >= 0 else None for x in lab], list(truth_labels[rows]))
        results.append({
            "feed": efeed.name, "method": method, "cpu_s": round(time.process_time() - started, 1),
            "bcubed_precision": score.precision, "bcubed_recall": score.recall, "bcubed_f1": score.f1,
            "labelled": score.n_items,
        })  # fmt: skip
        print(results[-1], flush=True)
    for name, feed in feeds.items():
        rows = np.flatnonzero(feed.articles["bloc"].isin(THEME_BLOCS).to_numpy())
        started = time.process_time()
        labels = bertopic_labels(feed, rows, args.min_topic_size, args.seed)
        cpu = time.process_time() - started
        for reading, lab in (
            ("topics", labels),
            ("topics x 7-day bins", time_binned(labels, feed.times[rows], 7)),
        ):
            figures = evaluate(feed, members_frame(feed, lab, rows))
            results.append({"feed": name, "method": f"BERTopic {reading}", "cpu_s": round(cpu, 1), **figures})
            print(results[-1], flush=True)
    table = pd.DataFrame(results)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.round(3).to_string(index=False))
    if args.json:
        machine = {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        }
        payload = {
            "machine": machine,
            "load_before": round(load, 2),
            "load_after": round(os.getloadavg()[0], 2),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**payload, "results": results}, indent=2, default=str))


if __name__ == "__main__":
    main()
